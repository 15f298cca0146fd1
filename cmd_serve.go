package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trainyard/trainyard/server"
	"github.com/trainyard/trainyard/trainer"
)

func cmdServe(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := serveConfig(args, stderr)
	if err != nil {
		return err
	}
	s, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	return s.Serve(ctx, func(addr string) {
		scheme := "http://"
		if cfg.TLSCert != "" {
			scheme = "https://"
		}
		cfg.Logger.Info("trainyard is up", "url", scheme+addr, "auth", cfg.Auth, "data_dir", cfg.DataDir, "database", s.Database(), "workers", cfg.Workers,
			"datasets", strings.Join(cfg.DatasetRoots, string(os.PathListSeparator)))
	})
}

// serveConfig reads serve's flags over its TRAINYARD_* variables.
// TRAINYARD_DATASETS is a list of folders separated like PATH (":" on
// Unix); any --datasets flag replaces it.
func serveConfig(args []string, stderr io.Writer) (server.Config, error) {
	fs := newFlagSet("serve", stderr, "Usage: trainyard serve [flags]\n\nRuns the web app, the queue and the trainer workers.")
	var cfg server.Config
	var flagRoots []string
	fs.StringVar(&cfg.Addr, "addr", envOr("ADDR", "127.0.0.1:8080"), "listen address (TRAINYARD_ADDR)")
	db := addDBFlags(fs)
	fs.IntVar(&cfg.Workers, "workers", envInt("WORKERS", 1), "runs trained at once in this process; 0 serves pages and the API only, runs train on `trainyard worker`s (TRAINYARD_WORKERS)")
	fs.StringVar(&cfg.WorkerName, "name", envOr("WORKER_NAME", ""), "name of this process's workers on the workers page and their runs (TRAINYARD_WORKER_NAME; default HOST-serve)")
	fs.Func("datasets", "folder CAPTCHA datasets may be imported from (repeatable; TRAINYARD_DATASETS, \":\"-separated)", func(dir string) error {
		flagRoots = append(flagRoots, dir)
		return nil
	})
	fs.DurationVar(&cfg.RescueAfter, "rescue-after", 5*time.Minute, "how long a run whose worker died waits before another worker resumes it")
	budget, err := addBudgetFlags(fs)
	if err != nil {
		return cfg, err
	}
	fs.BoolVar(&cfg.Auth, "auth", envOr("AUTH", "") == "1", "require a login or an API token for every page and API call (TRAINYARD_AUTH=1)")
	fs.Func("allowed-hosts", "extra host names (comma-separated, name or name:port) the Host header may carry; required on 0.0.0.0", func(v string) error {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				cfg.AllowedHosts = append(cfg.AllowedHosts, h)
			}
		}
		return nil
	})
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "PEM certificate file: serve HTTPS (with --tls-key)")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "PEM private key file of --tls-cert")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	cfg.DataDir, cfg.DB = db.dataDir, db.db
	if err := budget.check(); err != nil {
		return cfg, err
	}
	cfg.MaxRunMemory, cfg.MaxParams = int64(budget.memory), budget.params
	if cfg.Workers < 0 {
		return cfg, fmt.Errorf("--workers must be >= 0, got %d", cfg.Workers)
	}
	cfg.DatasetRoots = flagRoots
	if len(flagRoots) == 0 {
		for _, dir := range filepath.SplitList(envOr("DATASETS", "")) {
			if dir != "" {
				cfg.DatasetRoots = append(cfg.DatasetRoots, dir)
			}
		}
	}
	if cfg.WorkerName != "" {
		if err := trainer.CheckWorkerName(cfg.WorkerName); err != nil {
			return cfg, fmt.Errorf("--name: %w", err)
		}
	}
	cfg.Version = version()
	cfg.Logger = logger(stderr)
	return cfg, nil
}
