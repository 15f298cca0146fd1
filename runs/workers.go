package runs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/trainyard/trainyard/experiments"
)

// Worker states: a worker that sent a heartbeat lately is busy while it
// trains a run and idle otherwise; one that missed LostAfterBeats
// heartbeats is lost (its process died, or its machine is unreachable).
const (
	WorkerIdle = "idle"
	WorkerBusy = "busy"
	WorkerLost = "lost"
)

// LostAfterBeats is how many heartbeats a worker may miss before it counts as lost.
const LostAfterBeats = 3

// forgetLostAfter is how long a lost worker stays listed.
const forgetLostAfter = 24 * time.Hour

// ErrWorkerNameTaken is returned by Register when a live worker already
// holds the name.
var ErrWorkerNameTaken = errors.New("a live worker already has this name")

// Worker is a process that trains runs: `trainyard worker`, or the
// in-process workers of `trainyard serve`.
type Worker struct {
	Name    string   `json:"name"`
	Host    string   `json:"host"`
	Devices []string `json:"devices"`
	Version string   `json:"version"`
	// Runs are the runs it trains now.
	Runs          []int64   `json:"runs"`
	StartedAt     time.Time `json:"started_at"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
	// Heartbeat is how often it sends a heartbeat.
	Heartbeat time.Duration `json:"-"`
	// State is idle, busy or lost.
	State string `json:"state"`
}

// Offers reports whether the worker is live and has a device of kind
// (experiments.DeviceAny, DeviceCPU or DeviceGPU).
func (w Worker) Offers(kind string) bool {
	if w.State == WorkerLost {
		return false
	}
	for _, d := range w.Devices {
		if kind == experiments.DeviceAny || experiments.DeviceKind(d) == kind {
			return true
		}
	}
	return false
}

type workerRow struct {
	Name             string `gorm:"primaryKey"`
	Host             string
	Devices          string
	Version          string
	Instance         string
	HeartbeatSeconds float64
	StartedAt        time.Time
	LastHeartbeat    time.Time
}

func (workerRow) TableName() string { return "workers" }

// WorkerStore keeps the registry of workers in the database.
type WorkerStore struct {
	db *gorm.DB
}

// NewWorkerStore returns a WorkerStore over db.
func NewWorkerStore(db *gorm.DB) *WorkerStore { return &WorkerStore{db: db} }

// Register records a starting worker under w.Name for the process whose
// random token is instance. It returns ErrWorkerNameTaken when another
// process holds the name and is not lost; a lost one's entry is replaced.
// Workers lost for a day are forgotten.
func (s *WorkerStore) Register(ctx context.Context, w Worker, instance string) error {
	now := time.Now().UTC()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("last_heartbeat < ?", now.Add(-forgetLostAfter)).Delete(&workerRow{}).Error; err != nil {
			return fmt.Errorf("forget lost workers: %w", err)
		}
		var cur workerRow
		err := tx.Where("name = ?", w.Name).Take(&cur).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
		case err != nil:
			return fmt.Errorf("worker %s: %w", w.Name, err)
		case cur.Instance != instance && !lost(cur, now):
			return fmt.Errorf("worker %q on %s (last heartbeat %s ago): %w", w.Name, cur.Host,
				now.Sub(cur.LastHeartbeat).Round(time.Second), ErrWorkerNameTaken)
		}
		row := workerRow{Name: w.Name, Host: w.Host, Devices: strings.Join(w.Devices, ","), Version: w.Version,
			Instance: instance, HeartbeatSeconds: w.Heartbeat.Seconds(), StartedAt: now, LastHeartbeat: now}
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
			return fmt.Errorf("register worker %s: %w", w.Name, err)
		}
		return nil
	})
}

// Beat records the heartbeat of the worker name's process instance. It
// returns ErrNotFound when the entry is gone or belongs to another process
// (this one was lost and its name taken over).
func (s *WorkerStore) Beat(ctx context.Context, name, instance string) error {
	res := s.db.WithContext(ctx).Model(&workerRow{}).Where("name = ? AND instance = ?", name, instance).
		Update("last_heartbeat", time.Now().UTC())
	if res.Error != nil {
		return fmt.Errorf("worker %s heartbeat: %w", name, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// Deregister removes the worker name's entry if process instance holds it.
func (s *WorkerStore) Deregister(ctx context.Context, name, instance string) error {
	if err := s.db.WithContext(ctx).Where("name = ? AND instance = ?", name, instance).Delete(&workerRow{}).Error; err != nil {
		return fmt.Errorf("deregister worker %s: %w", name, err)
	}
	return nil
}

// Workers returns every registered worker by name, with its state and the
// runs it trains now (running runs whose latest attempt is its and that hold a lease).
func (s *WorkerStore) Workers(ctx context.Context) ([]Worker, error) {
	var rows []workerRow
	if err := s.db.WithContext(ctx).Order("name").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("workers: %w", err)
	}
	var running []struct {
		ID     int64
		Worker string
	}
	if err := s.db.WithContext(ctx).Table("runs").Select("id, worker").
		Where("status = ? AND lease <> '' AND worker IS NOT NULL", string(StatusRunning)).Order("id").Scan(&running).Error; err != nil {
		return nil, fmt.Errorf("workers' runs: %w", err)
	}
	now := time.Now().UTC()
	out := make([]Worker, 0, len(rows))
	for _, r := range rows {
		w := Worker{Name: r.Name, Host: r.Host, Devices: []string{}, Version: r.Version, Runs: []int64{},
			StartedAt: r.StartedAt, LastHeartbeat: r.LastHeartbeat,
			Heartbeat: time.Duration(r.HeartbeatSeconds * float64(time.Second))}
		if r.Devices != "" {
			w.Devices = strings.Split(r.Devices, ",")
		}
		for _, run := range running {
			if run.Worker == r.Name {
				w.Runs = append(w.Runs, run.ID)
			}
		}
		switch {
		case lost(r, now):
			w.State = WorkerLost
		case len(w.Runs) > 0:
			w.State = WorkerBusy
		default:
			w.State = WorkerIdle
		}
		out = append(out, w)
	}
	return out, nil
}

// Waiting says why a queued run asking for device kind is not starting when
// no live worker in workers offers that kind, or returns "" when one does.
func Waiting(workers []Worker, kind string) string {
	if slices.ContainsFunc(workers, func(w Worker) bool { return w.Offers(kind) }) {
		return ""
	}
	if kind == experiments.DeviceAny || kind == "" {
		return "waiting for a worker; none is connected"
	}
	return fmt.Sprintf("waiting for a %s worker; none is connected", kind)
}

// lost reports whether the worker missed LostAfterBeats heartbeats by now.
func lost(r workerRow, now time.Time) bool {
	beat := time.Duration(r.HeartbeatSeconds * float64(time.Second))
	if beat <= 0 {
		beat = 5 * time.Second
	}
	return now.Sub(r.LastHeartbeat) > LostAfterBeats*beat
}
