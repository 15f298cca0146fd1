package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"time"

	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/trainer"
)

// workerConfig is what `trainyard worker` needs.
type workerConfig struct {
	db      *dbFlags
	trainer trainer.Config
}

// cmdWorker trains queued runs from the PostgreSQL database without serving
// pages, until SIGINT or SIGTERM; then it hands its runs back at once (the
// next worker resumes them from their last checkpoint).
func cmdWorker(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := workerFlags(args, stderr)
	if err != nil {
		return err
	}
	database, err := cfg.db.open(ctx)
	if err != nil {
		return err
	}
	defer database.Close()
	broker := runs.NewBroker()
	disconnect, err := broker.Connect(ctx, database)
	if err != nil {
		return err
	}
	defer disconnect()
	tr, err := trainer.New(database.Gorm, database.River, broker, cfg.trainer)
	if err != nil {
		return err
	}
	if err := tr.Start(ctx); err != nil {
		return err
	}
	cfg.trainer.Logger.Info("trainyard worker is up", "name", tr.Name(), "devices", strings.Join(cfg.trainer.Devices, ","),
		"data_dir", cfg.db.dataDir, "version", cfg.trainer.Version)
	<-ctx.Done()
	cfg.trainer.Logger.Info("stopping: handing running runs back")
	return tr.Stop(context.Background())
}

// workerFlags reads worker's flags over its TRAINYARD_* variables.
func workerFlags(args []string, stderr io.Writer) (workerConfig, error) {
	fs := newFlagSet("worker", stderr, "Usage: trainyard worker --db postgres://... [flags]\n\nTrains queued runs on this machine's devices; serves no pages.")
	cfg := workerConfig{db: addDBFlags(fs)}
	devices := fs.String("devices", envOr("DEVICES", "cpu"), "devices to train on, comma-separated, one entry per run at once: cpu or cpu,cpu (TRAINYARD_DEVICES)")
	fs.StringVar(&cfg.trainer.Name, "name", envOr("WORKER_NAME", ""), "this worker's name on the workers page and on the runs it trains; unique among live workers (TRAINYARD_WORKER_NAME; default the host name, or HOST-2, ... while a live worker holds it)")
	fs.DurationVar(&cfg.trainer.RescueAfter, "rescue-after", 5*time.Minute, "how long a run whose worker died waits before another worker resumes it (the same on every worker)")
	budget, err := addBudgetFlags(fs)
	if err != nil {
		return cfg, err
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("worker takes no arguments, got %q", fs.Arg(0))
	}
	if !migrations.IsPostgresURL(cfg.db.db) {
		return cfg, errors.New("trainyard worker needs --db postgres://... (or TRAINYARD_DB): the SQLite file is one machine's; on one machine, `trainyard serve --workers N` trains in its own process")
	}
	if cfg.trainer.RescueAfter <= 0 {
		return cfg, fmt.Errorf("--rescue-after must be > 0, got %s", cfg.trainer.RescueAfter)
	}
	if err := budget.check(); err != nil {
		return cfg, err
	}
	for _, d := range strings.Split(*devices, ",") {
		if d = strings.TrimSpace(d); d != "" {
			cfg.trainer.Devices = append(cfg.trainer.Devices, d)
		}
	}
	if len(cfg.trainer.Devices) == 0 {
		return cfg, errors.New("--devices names no device: give cpu, or cpu,cpu for two runs at once")
	}
	if len(cfg.trainer.Devices) > 64 {
		return cfg, fmt.Errorf("--devices names %d devices, at most 64", len(cfg.trainer.Devices))
	}
	if err := trainer.CheckDevices(cfg.trainer.Devices); err != nil {
		return cfg, fmt.Errorf("--devices: %w", err)
	}
	if cfg.trainer.Name != "" {
		if err := trainer.CheckWorkerName(cfg.trainer.Name); err != nil {
			return cfg, fmt.Errorf("--name: %w", err)
		}
	}
	cfg.trainer.DataDir = cfg.db.dataDir
	cfg.trainer.Workers = len(cfg.trainer.Devices)
	cfg.trainer.MaxRunMemory, cfg.trainer.MaxParams = int64(budget.memory), budget.params
	cfg.trainer.Version = version()
	cfg.trainer.Logger = logger(stderr)
	return cfg, nil
}

// version is this build's version: the module version, else the VCS
// revision it was built from ("+dirty" with uncommitted changes).
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "devel"
	}
	return rev + dirty
}
