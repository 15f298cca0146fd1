package trainer

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
	"gorm.io/gorm"

	"github.com/trainyard/trainyard/artifacts"
	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
)

// Config configures the trainer pool.
type Config struct {
	// DataDir holds checkpoints and weights files.
	DataDir string
	// Workers is how many runs train at once (default 1; 0 queues without training).
	Workers int
	// RescueAfter is how long a job may stay running without a heartbeat
	// before River hands it to another worker (default 5 minutes).
	RescueAfter time.Duration
	// Logger receives what the workers do (default slog.Default()).
	Logger *slog.Logger
	// Devices are the devices runs train on, one entry per run that may
	// train at once on it (default: "cpu" once per worker). A worker holds
	// one for the length of a run and records it on the run; with fewer
	// entries than workers, the rest wait. A GPU would join later as its own
	// entry (say "cuda:0"), once nn has an engine for it that the worker
	// picks from the device name.
	Devices []string
	// MaxRunMemory is the memory budget, in bytes, of the runs this
	// trainer trains: a run whose estimate exceeds it is refused, and runs
	// that do not fit in it together wait (default DefaultRunMemory: the
	// lower of half the machine's or cgroup's memory and 8 GiB).
	MaxRunMemory int64
	// MaxParams is the most parameters a model may have (default
	// experiments.DefaultMaxParams, 100M).
	MaxParams int64
	// Name names this process's workers in the workers table and on the
	// runs they train. A live worker elsewhere under the same name keeps
	// this one from starting.
	Name string
	// DefaultName is the name when Name is empty (default: the host name);
	// while a live worker holds it, the first free of DefaultName-2,
	// DefaultName-3, ... is taken instead.
	DefaultName string
	// Version is the build's version, shown on the workers page.
	Version string
}

// Trainer queues runs and trains them on a pool of River workers.
type Trainer struct {
	cfg     Config
	db      *gorm.DB
	exps    *experiments.Store
	runs    *runs.Store
	arts    *artifacts.Store
	broker  *runs.Broker
	client  *river.Client[*sql.Tx]
	devices chan string
	data    *dataCache
	models  modelCache
	// datasetMu serializes the dataset cache's changes in this process.
	datasetMu sync.Mutex

	// The registry entry of this process's workers (when Workers > 0).
	workers  *runs.WorkerStore
	host     string
	instance string
	stopBeat func()

	mu sync.Mutex
	// active holds the cancel functions of the runs training in this process.
	active map[int64]context.CancelCauseFunc

	admission
}

// New returns a Trainer over the database db, with River's driver over the
// same connections (so jobs are inserted in gorm's transactions), that
// publishes run events to broker. Call Start to begin training.
func New(db *gorm.DB, driver riverdriver.Driver[*sql.Tx], broker *runs.Broker, cfg Config) (*Trainer, error) {
	if cfg.RescueAfter <= 0 {
		cfg.RescueAfter = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("workers must be >= 0, got %d", cfg.Workers)
	}
	if cfg.MaxRunMemory < 0 || cfg.MaxParams < 0 {
		return nil, fmt.Errorf("the run memory budget and the parameter cap must be >= 0")
	}
	if cfg.MaxRunMemory == 0 {
		cfg.MaxRunMemory = DefaultRunMemory()
	}
	if cfg.MaxParams == 0 {
		cfg.MaxParams = experiments.DefaultMaxParams
	}
	if len(cfg.Devices) == 0 {
		for range max(cfg.Workers, 1) {
			cfg.Devices = append(cfg.Devices, "cpu")
		}
	}
	if err := CheckDevices(cfg.Devices); err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	if cfg.DefaultName == "" {
		cfg.DefaultName = host
	}
	name := cfg.Name
	if name == "" {
		name = cfg.DefaultName
	}
	if err := CheckWorkerName(name); err != nil {
		return nil, err
	}
	t := &Trainer{
		cfg:      cfg,
		db:       db,
		exps:     experiments.NewStore(db),
		runs:     runs.NewStore(db),
		arts:     artifacts.NewStore(db),
		broker:   broker,
		devices:  make(chan string, max(cfg.Workers, len(cfg.Devices), 1)),
		data:     newDataCache(),
		active:   map[int64]context.CancelCauseFunc{},
		workers:  runs.NewWorkerStore(db),
		host:     host,
		instance: rand.Text(),
	}
	t.admission = newAdmission(cfg.MaxRunMemory)
	t.data.datasetDir = t.DatasetDir
	for _, d := range cfg.Devices {
		t.devices <- d
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &trainWorker{t: t}); err != nil {
		return nil, err
	}
	rc := &river.Config{
		Logger:               cfg.Logger.With("component", "river"),
		Workers:              workers,
		RescueStuckJobsAfter: cfg.RescueAfter,
		FetchPollInterval:    500 * time.Millisecond,
		// River rescues only jobs with a timeout, and only once it has passed.
		// A training job outlives it on purpose (Work ignores the deadline and
		// sends heartbeats instead); a rescued copy of a live job finds the
		// heartbeat fresh and snoozes, a copy of a dead one resumes the run.
		JobTimeout:  cfg.RescueAfter / 2,
		RetryPolicy: quickRetry{},
	}
	if cfg.Workers > 0 {
		rc.Queues = queues(cfg.Devices, cfg.Workers)
	}
	client, err := river.NewClient(driver, rc)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	t.client = client
	return t, nil
}

// Start starts the workers; it returns at once. It first moves weights
// and checkpoints that an older version kept as files into the database.
func (t *Trainer) Start(ctx context.Context) error {
	if err := t.importLegacyFiles(ctx); err != nil {
		t.cfg.Logger.Warn("move files into the database", "err", err)
	}
	// What writers that died mid-write left (an ended run's go with it).
	if _, err := t.arts.DeleteIncomplete(ctx, time.Hour); err != nil {
		t.cfg.Logger.Warn("delete incomplete artifacts", "err", err)
	}
	if t.cfg.Workers == 0 {
		return nil
	}
	if err := t.register(ctx); err != nil {
		return err
	}
	t.setMemoryLimit()
	t.measuring.Add(1)
	go func() {
		defer t.measuring.Done()
		t.machine() // the throughput, measured while no run trains yet
	}()
	return t.client.Start(ctx)
}

// Stop stops fetching new jobs, cancels running ones (they resume from their
// last checkpoint on the next start) and waits for the workers to return.
func (t *Trainer) Stop(ctx context.Context) error {
	if t.cfg.Workers == 0 {
		return nil
	}
	t.measuring.Wait()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	t.mu.Lock()
	for _, stop := range t.active {
		stop(errShutdown)
	}
	t.mu.Unlock()
	err := t.client.StopAndCancel(ctx)
	t.deregister(ctx)
	return err
}

// Submit stores the experiment, one queued run per spec, and one River job
// per run, all in one transaction.
func (t *Trainer) Submit(ctx context.Context, e *experiments.Experiment, specs []experiments.Spec) ([]runs.Run, error) {
	sub := &Submission{Experiment: e, Specs: specs}
	if err := t.SubmitMany(ctx, []*Submission{sub}); err != nil {
		return nil, err
	}
	return sub.Runs, nil
}

// Cancel cancels a queued or running run: the run is marked cancelled at once
// and a training job stops between two batches.
func (t *Trainer) Cancel(ctx context.Context, id int64) (runs.Run, error) {
	r, err := t.runs.Cancel(ctx, id)
	if err != nil {
		return runs.Run{}, err
	}
	t.cancelActive(id, errCancelled)
	// A worker that still holds the run can no longer record a checkpoint
	// (the run is cancelled), so its checkpoints can go now.
	t.removeCheckpoints(id)
	if job, err := t.runs.JobID(ctx, id); err == nil && job > 0 {
		if _, err := t.client.JobCancel(ctx, job); err != nil {
			t.cfg.Logger.Warn("cancel job", "run", id, "job", job, "err", err)
		}
	}
	t.broker.Publish(runs.Event{RunID: id, Kind: runs.EventStatus, Data: runs.StatusChange{Status: runs.StatusCancelled}})
	return r, nil
}

// errShutdown is the cause of a training stopped because the trainer stops.
var errShutdown = errors.New("trainer stopping")

// quickRetry retries a job a second after an interrupted attempt: training
// failures never retry (the worker cancels them), so a retry is always a
// restart or a rescue, and the run should go on at once.
type quickRetry struct{}

func (quickRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(time.Second) }
