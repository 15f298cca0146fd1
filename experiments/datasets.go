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
	// Path names the artifact holding the dataset (a zip of labels.csv and
	// its images, "datasets/....zip"); for a dataset imported by an older
	// version and not yet moved into the database (SHA256 null), its folder
	// relative to the data dir.
	Path string `json:"path"`
	// SHA256 is the sha256 of the stored zip, null until it is stored.
	SHA256 *string `json:"sha256"`
	// Source is the folder it was imported from, empty for an uploaded zip.
	Source    string    `json:"source,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

type datasetRow struct {
	ID        int64 `gorm:"primaryKey"`
	Name      string
	Images    int
	Path      string
	SHA256    *string `gorm:"column:sha256"`
	Source    string
	CreatedAt time.Time
}

func (datasetRow) TableName() string { return "datasets" }

func (r datasetRow) dataset() Dataset {
	return Dataset{ID: r.ID, Name: r.Name, Images: r.Images, Path: r.Path, SHA256: r.SHA256, Source: r.Source, CreatedAt: r.CreatedAt}
}

// DatasetStore keeps imported datasets in the database.
type DatasetStore struct {
	db *gorm.DB
}

// NewDatasetStore returns a DatasetStore over db (a transaction too).
func NewDatasetStore(db *gorm.DB) *DatasetStore { return &DatasetStore{db: db} }

// SetStored records that dataset id is now the artifact path with the given
// sha256 (it moved from a folder under the data dir into the database).
func (s *DatasetStore) SetStored(ctx context.Context, id int64, path, sha256 string) error {
	res := s.db.WithContext(ctx).Model(&datasetRow{}).Where("id = ?", id).Updates(map[string]any{"path": path, "sha256": sha256})
	if res.Error != nil {
		return fmt.Errorf("dataset %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrDatasetNotFound
	}
	return nil
}

// FolderDatasets returns the datasets still kept as folders under the data
// dir (imported by an older version), oldest first.
func (s *DatasetStore) FolderDatasets(ctx context.Context) ([]Dataset, error) {
	var rows []datasetRow
	if err := s.db.WithContext(ctx).Where("sha256 IS NULL").Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	out := make([]Dataset, len(rows))
	for i, r := range rows {
		out[i] = r.dataset()
	}
	return out, nil
}

// CreateDataset stores d and sets its ID and CreatedAt.
func (s *DatasetStore) CreateDataset(ctx context.Context, d *Dataset) error {
	if d.CreatedAt.IsZero() {
		d.CreatedAt = time.Now().UTC()
	}
	row := datasetRow{Name: d.Name, Images: d.Images, Path: d.Path, SHA256: d.SHA256, Source: d.Source, CreatedAt: d.CreatedAt}
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

// DeleteDataset deletes the dataset's row; ErrDatasetNotFound when there is none.
func (s *DatasetStore) DeleteDataset(ctx context.Context, id int64) error {
	res := s.db.WithContext(ctx).Where("id = ?", id).Delete(&datasetRow{})
	if res.Error != nil {
		return fmt.Errorf("delete dataset %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrDatasetNotFound
	}
	return nil
}
