package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/trainyard/trainyard/server"
)

func cmdServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr, "Usage: trainyard serve [flags]\n\nRuns the web app, the queue and the trainer workers.")
	var cfg server.Config
	fs.StringVar(&cfg.Addr, "addr", envOr("ADDR", "127.0.0.1:8080"), "listen address (TRAINYARD_ADDR)")
	db := addDBFlags(fs)
	fs.IntVar(&cfg.Workers, "workers", envInt("WORKERS", 1), "runs trained at once; 0 only queues (TRAINYARD_WORKERS)")
	fs.Func("datasets", "folder CAPTCHA datasets may be imported from (repeatable)", func(dir string) error {
		cfg.DatasetRoots = append(cfg.DatasetRoots, dir)
		return nil
	})
	fs.DurationVar(&cfg.RescueAfter, "rescue-after", 5*time.Minute, "how long a run whose worker died waits before another worker resumes it")
	budget, err := addBudgetFlags(fs)
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.DataDir, cfg.DB = db.dataDir, db.db
	if err := budget.check(); err != nil {
		return err
	}
	cfg.MaxRunMemory, cfg.MaxParams = int64(budget.memory), budget.params
	if cfg.Workers < 0 {
		return fmt.Errorf("--workers must be >= 0, got %d", cfg.Workers)
	}
	cfg.Logger = logger(stderr)
	s, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	return s.Serve(ctx, func(addr string) {
		cfg.Logger.Info("trainyard is up", "url", "http://"+addr, "data_dir", cfg.DataDir, "database", s.Database(), "workers", cfg.Workers)
	})
}
