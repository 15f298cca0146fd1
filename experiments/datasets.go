package experiments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// ErrDatasetNotFound is returned when an imported dataset does not exist.
var ErrDatasetNotFound = errors.New("dataset not found")

// Dataset is an imported, labelled CAPTCHA folder a Spec may train on
// (Source{Kind: "dataset", DatasetID: ID}).
type Dataset struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Images int    `json:"images"`
	// Path is the dataset's folder relative to the data dir, "/" separated.
	Path string `json:"path"`
	// Source is the folder it was imported from, empty for an uploaded zip.
	Source    string    `json:"source,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

type datasetRow struct {
	ID        int64 `gorm:"primaryKey"`
	Name      string
	Images    int
	Path      string
	Source    string
	CreatedAt time.Time
}

func (datasetRow) TableName() string { return "datasets" }

func (r datasetRow) dataset() Dataset {
	return Dataset{ID: r.ID, Name: r.Name, Images: r.Images, Path: r.Path, Source: r.Source, CreatedAt: r.CreatedAt}
}

// DatasetStore keeps imported datasets in the database.
type DatasetStore struct {
	db *gorm.DB
}

// NewDatasetStore returns a DatasetStore over db.
func NewDatasetStore(db *gorm.DB) *DatasetStore { return &DatasetStore{db: db} }

// CreateDataset stores d and sets its ID and CreatedAt.
func (s *DatasetStore) CreateDataset(ctx context.Context, d *Dataset) error {
	if d.CreatedAt.IsZero() {
		d.CreatedAt = time.Now().UTC()
	}
	row := datasetRow{Name: d.Name, Images: d.Images, Path: d.Path, Source: d.Source, CreatedAt: d.CreatedAt}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("create dataset: %w", err)
	}
	d.ID = row.ID
	return nil
}

// Dataset returns the dataset with the given id, or ErrDatasetNotFound.
func (s *DatasetStore) Dataset(ctx context.Context, id int64) (Dataset, error) {
	var row datasetRow
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Dataset{}, ErrDatasetNotFound
	}
	if err != nil {
		return Dataset{}, fmt.Errorf("dataset %d: %w", id, err)
	}
	return row.dataset(), nil
}

// DatasetBySource returns the dataset imported from the folder source, or
// ErrDatasetNotFound.
func (s *DatasetStore) DatasetBySource(ctx context.Context, source string) (Dataset, error) {
	var row datasetRow
	err := s.db.WithContext(ctx).Where("source = ? AND source <> ''", source).Order("id").Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Dataset{}, ErrDatasetNotFound
	}
	if err != nil {
		return Dataset{}, fmt.Errorf("dataset from %s: %w", source, err)
	}
	return row.dataset(), nil
}

// Datasets returns every dataset, newest first.
func (s *DatasetStore) Datasets(ctx context.Context) ([]Dataset, error) {
	var rows []datasetRow
	if err := s.db.WithContext(ctx).Order("id DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	out := make([]Dataset, len(rows))
	for i, r := range rows {
		out[i] = r.dataset()
	}
	return out, nil
}
