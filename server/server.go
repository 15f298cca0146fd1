package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/trainyard/trainyard/accounts"
	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/trainer"
)

// Config is everything `trainyard serve` needs. Flags override TRAINYARD_*
// environment variables, which override the defaults named here.
type Config struct {
	// Addr is the listen address (default 127.0.0.1:8080).
	Addr string
	// DataDir holds the SQLite file, checkpoints and weights (default ./data).
	DataDir string
	// DB is the PostgreSQL database to use (postgres://...) instead of the
	// SQLite file in DataDir (default empty: SQLite).
	DB string
	// Workers is how many runs train at once (default 1).
	Workers int
	// RescueAfter is how long a run may go without a heartbeat before another
	// worker takes it over (default 5 minutes).
	RescueAfter time.Duration
	// MaxBodyBytes caps request bodies (default 1 MiB).
	MaxBodyBytes int64
	// Logger receives request and worker logs (default slog.Default()).
	Logger *slog.Logger
	// DatasetRoots are the folders CAPTCHA datasets may be imported from
	// (--datasets, repeatable; default none: zip uploads only).
	DatasetRoots []string
	// MaxRunMemory is the memory budget of the runs this server trains, in
	// bytes (--max-run-memory; default the lower of half the machine's or
	// cgroup's memory and 8 GiB). A spec whose estimate exceeds it is
	// refused with 422.
	MaxRunMemory int64
	// MaxParams is the most parameters a model may have (--max-params;
	// default 100,000,000).
	MaxParams int64
	// Auth requires a login (or an API token) for every page and API call
	// (--auth; default off, which only loopback addresses allow).
	Auth bool
	// AllowedHosts are extra names the Host header may carry besides the
	// loopback names and the served address (--allowed-hosts; required on a
	// wildcard address such as 0.0.0.0).
	AllowedHosts []string
	// TLSCert and TLSKey are PEM files; with both, Serve speaks HTTPS.
	TLSCert, TLSKey string
	// WorkerName names the in-process workers (--name; default the host
	// name followed by "-serve", or -serve-2, ... while a live worker holds
	// that name).
	WorkerName string
	// Version is the build's version, recorded with the in-process workers.
	Version string
}

func (c *Config) defaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Server is a running trainyard: database, queue, workers and HTTP handlers.
type Server struct {
	cfg     Config
	db      *migrations.Database
	echo    *echo.Echo
	trainer *trainer.Trainer
	h       *handler
	// closing is closed when the server shuts down, ending open event streams.
	closing   chan struct{}
	closeOnce sync.Once
	// disconnect stops relaying run events through the database.
	disconnect func()
}

// handler holds what every HTTP handler needs.
type handler struct {
	exps    *experiments.Store
	runs    *runs.Store
	trainer *trainer.Trainer
	broker  *runs.Broker
	closing <-chan struct{}
	log     *slog.Logger

	datasets     *experiments.DatasetStore
	suites       *experiments.SuiteStore
	datasetRoots []string
	// evaluating and predicting let one evaluation and one prediction run
	// at a time.
	evaluating, predicting *slot

	accounts *accounts.Store
	auth     bool
	workers  *runs.WorkerStore
}

// New opens the data dir's database (applying migrations), builds the
// trainer pool and the router. Call Start to begin training, then serve Handler.
func New(ctx context.Context, cfg Config) (*Server, error) {
	cfg.defaults()
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	database, err := migrations.OpenDatabase(ctx, cfg.DataDir, cfg.DB)
	if err != nil {
		return nil, err
	}
	db := database.Gorm
	if n, err := runs.NewStore(db).Backfill(ctx); err != nil {
		database.Close()
		return nil, err
	} else if n > 0 {
		cfg.Logger.Info("filled the runs table's columns of older runs", "runs", n)
	}
	accts := accounts.NewStore(db)
	if err := checkExposure(ctx, cfg, accts); err != nil {
		database.Close()
		return nil, err
	}
	broker := runs.NewBroker()
	host, _ := os.Hostname()
	tr, err := trainer.New(db, database.River, broker, trainer.Config{
		DataDir: cfg.DataDir, Workers: cfg.Workers, RescueAfter: cfg.RescueAfter, Logger: cfg.Logger,
		MaxRunMemory: cfg.MaxRunMemory, MaxParams: cfg.MaxParams, Name: cfg.WorkerName, DefaultName: host + "-serve", Version: cfg.Version,
	})
	if err != nil {
		database.Close()
		return nil, err
	}
	s := &Server{cfg: cfg, db: database, trainer: tr, closing: make(chan struct{}), disconnect: func() {}}
	if database.Dialect == migrations.Postgres {
		// Runs trained by workers in other processes reach the pages' event
		// streams through the database's notifications.
		if s.disconnect, err = broker.Connect(ctx, database); err != nil {
			database.Close()
			return nil, err
		}
	}
	s.h = &handler{
		exps: experiments.NewStore(db), runs: runs.NewStore(db), trainer: tr, broker: broker,
		closing: s.closing, log: cfg.Logger,
		datasets: experiments.NewDatasetStore(db), datasetRoots: cfg.DatasetRoots,
		suites: experiments.NewSuiteStore(db), evaluating: newSlot("evaluation", 10), predicting: newSlot("prediction", 1),
		accounts: accts, auth: cfg.Auth, workers: runs.NewWorkerStore(db),
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.h.errorHandler
	e.IPExtractor = echo.ExtractIPDirect() // rate limits key on the peer, not on a header it may forge
	e.Use(middleware.Recover())
	e.Use(securityHeaders, hostGuard(cfg), crossOriginGuard())
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: fmt.Sprintf("%dB", cfg.MaxBodyBytes), Skipper: ownBodyLimit}))
	e.Use(s.h.authenticate)
	routes(e, s.h)
	s.echo = e
	return s, nil
}

// Database says which database the server uses: "sqlite" or "postgres".
func (s *Server) Database() migrations.Dialect { return s.db.Dialect }

// Handler is the HTTP handler of every page and API route.
func (s *Server) Handler() http.Handler { return s.echo }

// Start starts the trainer workers.
func (s *Server) Start(ctx context.Context) error { return s.trainer.Start(ctx) }

// Serve listens on the configured address until ctx ends, then shuts down:
// event streams close, HTTP requests finish, running jobs stop at a batch
// boundary (to resume on the next start) and the database closes.
func (s *Server) Serve(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	if err := s.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	srv := newHTTPServer(s.echo, defaultTimeouts, s.cfg.Logger)
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCert != "" {
			errc <- srv.ServeTLS(ln, s.cfg.TLSCert, s.cfg.TLSKey)
			return
		}
		errc <- srv.Serve(ln)
	}()
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		s.Close(context.Background())
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.closeOnce.Do(func() { close(s.closing) })
	herr := srv.Shutdown(shutdownCtx)
	cerr := s.Close(shutdownCtx)
	if errors.Is(herr, http.ErrServerClosed) {
		herr = nil
	}
	return errors.Join(herr, cerr)
}

// Close ends event streams, stops the workers and closes the database.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { close(s.closing) })
	err := s.trainer.Stop(ctx)
	s.disconnect()
	return errors.Join(err, s.db.Close())
}
