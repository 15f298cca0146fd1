package experiments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// ErrNotFound is returned when an experiment does not exist.
var ErrNotFound = errors.New("experiment not found")

// Experiment is a named Spec a person submitted, with how many runs (seeds) it asked for.
type Experiment struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Preset    string    `json:"preset"`
	Spec      Spec      `json:"spec"`
	Repeats   int       `json:"repeats"`
	CreatedAt time.Time `json:"created_at"`
	Note      string    `json:"note"`
	// Sweep is the sweep the experiment's runs were expanded from, or nil.
	Sweep *Sweep `json:"sweep"`
	// CreatedBy is the user name of whoever submitted it ("" without accounts).
	CreatedBy string `json:"created_by"`
}

type experimentRow struct {
	ID        int64 `gorm:"primaryKey"`
	Name      string
	Preset    string
	Spec      string
	Repeats   int
	CreatedAt time.Time
	Note      string
	Sweep     *string
	CreatedBy string
}

func (experimentRow) TableName() string { return "experiments" }

func (r experimentRow) experiment() (Experiment, error) {
	e := Experiment{ID: r.ID, Name: r.Name, Preset: r.Preset, Repeats: r.Repeats, CreatedAt: r.CreatedAt, Note: r.Note, CreatedBy: r.CreatedBy}
	if err := json.Unmarshal([]byte(r.Spec), &e.Spec); err != nil {
		return Experiment{}, fmt.Errorf("experiment %d: decode spec: %w", r.ID, err)
	}
	if r.Sweep != nil {
		e.Sweep = new(Sweep)
		if err := json.Unmarshal([]byte(*r.Sweep), e.Sweep); err != nil {
			return Experiment{}, fmt.Errorf("experiment %d: decode sweep: %w", r.ID, err)
		}
	}
	return e, nil
}

// Store keeps experiments in the database.
type Store struct {
	db *gorm.DB
}

// NewStore returns a Store over db.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// WithTx returns a Store whose statements run inside tx.
func (s *Store) WithTx(tx *gorm.DB) *Store { return &Store{db: tx} }

// CreateExperiment stores e and sets its ID and CreatedAt.
func (s *Store) CreateExperiment(ctx context.Context, e *Experiment) error {
	spec, err := json.Marshal(e.Spec)
	if err != nil {
		return fmt.Errorf("encode spec: %w", err)
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now().UTC()
	}
	row := experimentRow{Name: e.Name, Preset: e.Preset, Spec: string(spec), Repeats: e.Repeats, CreatedAt: e.CreatedAt, CreatedBy: e.CreatedBy}
	if e.Sweep != nil {
		b, err := json.Marshal(e.Sweep)
		if err != nil {
			return fmt.Errorf("encode sweep: %w", err)
		}
		sw := string(b)
		row.Sweep = &sw
	}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("create experiment: %w", err)
	}
	e.ID = row.ID
	return nil
}

// Experiment returns the experiment with the given id, or ErrNotFound.
func (s *Store) Experiment(ctx context.Context, id int64) (Experiment, error) {
	var row experimentRow
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Experiment{}, ErrNotFound
	}
	if err != nil {
		return Experiment{}, fmt.Errorf("experiment %d: %w", id, err)
	}
	return row.experiment()
}

// Experiments returns up to limit experiments, newest first.
func (s *Store) Experiments(ctx context.Context, limit int) ([]Experiment, error) {
	var rows []experimentRow
	if err := s.db.WithContext(ctx).Order("id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("experiments: %w", err)
	}
	out := make([]Experiment, 0, len(rows))
	for _, r := range rows {
		e, err := r.experiment()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
