package experiments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// ErrSuiteNotFound is returned when a suite does not exist.
var ErrSuiteNotFound = errors.New("suite not found")

// Suite is a group of experiments queued together, such as the seed report's.
type Suite struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
	// Members maps each member's key ("nn1-30") to its experiment.
	Members map[string]int64 `json:"members"`
}

type suiteRow struct {
	ID        int64 `gorm:"primaryKey"`
	Name      string
	Kind      string
	CreatedAt time.Time
}

func (suiteRow) TableName() string { return "suites" }

type suiteMemberRow struct {
	SuiteID      int64
	ExperimentID int64
	Key          string
}

func (suiteMemberRow) TableName() string { return "suite_experiments" }

// SuiteStore keeps suites in the database.
type SuiteStore struct {
	db *gorm.DB
}

// NewSuiteStore returns a SuiteStore over db.
func NewSuiteStore(db *gorm.DB) *SuiteStore { return &SuiteStore{db: db} }

// WithTx returns a SuiteStore that works inside the transaction tx.
func (s *SuiteStore) WithTx(tx *gorm.DB) *SuiteStore { return &SuiteStore{db: tx} }

// CreateSuite stores s with its members and sets its ID and CreatedAt.
func (s *SuiteStore) CreateSuite(ctx context.Context, su *Suite) error {
	if su.CreatedAt.IsZero() {
		su.CreatedAt = time.Now().UTC()
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row := suiteRow{Name: su.Name, Kind: su.Kind, CreatedAt: su.CreatedAt}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("create suite: %w", err)
		}
		su.ID = row.ID
		for key, exp := range su.Members {
			if err := tx.Create(&suiteMemberRow{SuiteID: row.ID, ExperimentID: exp, Key: key}).Error; err != nil {
				return fmt.Errorf("suite member %s: %w", key, err)
			}
		}
		return nil
	})
}

// Suite returns the suite with the given id and its members, or ErrSuiteNotFound.
func (s *SuiteStore) Suite(ctx context.Context, id int64) (Suite, error) {
	var row suiteRow
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Suite{}, ErrSuiteNotFound
	}
	if err != nil {
		return Suite{}, fmt.Errorf("suite %d: %w", id, err)
	}
	var members []suiteMemberRow
	if err := s.db.WithContext(ctx).Where("suite_id = ?", id).Find(&members).Error; err != nil {
		return Suite{}, fmt.Errorf("suite %d members: %w", id, err)
	}
	su := Suite{ID: row.ID, Name: row.Name, Kind: row.Kind, CreatedAt: row.CreatedAt, Members: map[string]int64{}}
	for _, m := range members {
		su.Members[m.Key] = m.ExperimentID
	}
	return su, nil
}

// Suites returns up to limit suites, newest first, with their members.
func (s *SuiteStore) Suites(ctx context.Context, limit int) ([]Suite, error) {
	var rows []suiteRow
	if err := s.db.WithContext(ctx).Order("id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("suites: %w", err)
	}
	out := make([]Suite, 0, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]int64, len(rows))
	byID := make(map[int64]int, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
		byID[r.ID] = i
		out = append(out, Suite{ID: r.ID, Name: r.Name, Kind: r.Kind, CreatedAt: r.CreatedAt, Members: map[string]int64{}})
	}
	var members []suiteMemberRow
	if err := s.db.WithContext(ctx).Where("suite_id IN ?", ids).Find(&members).Error; err != nil {
		return nil, fmt.Errorf("suite members: %w", err)
	}
	for _, m := range members {
		out[byID[m.SuiteID]].Members[m.Key] = m.ExperimentID
	}
	return out, nil
}
