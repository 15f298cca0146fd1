package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/trainyard/trainyard/artifacts"
	"github.com/trainyard/trainyard/experiments"
)

// ErrActive is returned when a queued or running run (or an experiment with
// one) is asked to be deleted: cancel it first.
var ErrActive = errors.New("the run is queued or running: cancel it first")

// setSpecColumns copies what the runs table sorts and filters on from the spec.
func (r *runRow) setSpecColumns(spec experiments.Spec) {
	r.Params = spec.Summarize().TotalParams
	r.Epochs, r.BatchSize, r.LearningRate = spec.Epochs, spec.BatchSize, spec.LearningRate
	r.Optimizer, r.Dataset, r.Seed = spec.Optimizer, spec.Dataset, spec.Seed
}

// Backfill fills the runs table's columns of runs stored before they existed
// (params = 0), a batch at a time; it returns how many it filled.
func (s *Store) Backfill(ctx context.Context) (int, error) {
	filled := 0
	for {
		var rows []runRow
		if err := s.db.WithContext(ctx).Table("runs").Select("id, spec, test").Where("params = 0").Order("id").Limit(500).Find(&rows).Error; err != nil {
			return filled, fmt.Errorf("backfill runs: %w", err)
		}
		if len(rows) == 0 {
			return filled, nil
		}
		for _, r := range rows {
			var spec experiments.Spec
			cols := map[string]any{"params": -1} // a spec that cannot be read is not tried again
			if err := json.Unmarshal([]byte(r.Spec), &spec); err == nil {
				var row runRow
				row.setSpecColumns(spec)
				cols = map[string]any{"params": max(row.Params, 1), "epochs": row.Epochs, "batch_size": row.BatchSize,
					"learning_rate": row.LearningRate, "optimizer": row.Optimizer, "dataset": row.Dataset, "seed": row.Seed,
					"best_val_accuracy": gorm.Expr("(SELECT MAX(val_accuracy) FROM epochs WHERE run_id = ?)", r.ID)}
			}
			if r.Test != nil {
				var test TestResult
				if err := json.Unmarshal([]byte(*r.Test), &test); err == nil {
					cols["test_accuracy"] = test.Accuracy
				}
			}
			if err := s.db.WithContext(ctx).Table("runs").Where("id = ?", r.ID).Updates(cols).Error; err != nil {
				return filled, fmt.Errorf("backfill run %d: %w", r.ID, err)
			}
			filled++
		}
	}
}

// SetTagsNote replaces the run's tags (when tags is not nil) and note (when
// note is not nil); check them with experiments.NormalizeTags and CheckNote first.
func (s *Store) SetTagsNote(ctx context.Context, id int64, tags []string, note *string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Table("runs").Where("id = ?", id).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		if note != nil {
			if err := tx.Table("runs").Where("id = ?", id).Update("note", *note).Error; err != nil {
				return err
			}
		}
		if tags != nil {
			return experiments.ReplaceTags(tx, "run_tags", "run_id", id, tags)
		}
		return nil
	})
}

// Tags returns the run's tags, sorted.
func (s *Store) Tags(ctx context.Context, id int64) ([]string, error) {
	t, err := s.tagsOf(ctx, "run_tags", "run_id", []int64{id})
	if err != nil {
		return nil, err
	}
	if t[id] == nil {
		return []string{}, nil
	}
	return t[id], nil
}

// Delete deletes finished runs with their epochs and tags, in one
// transaction; it returns ErrActive, deleting nothing, when one is queued or
// running, and ErrNotFound when one does not exist. The caller removes their
// files under the data dir (weights of runs trained before weights moved into
// the database) afterwards; their artifacts (ArtifactPrefix) go in the same
// transaction.
func (s *Store) Delete(ctx context.Context, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var found []runRow
		if err := tx.Table("runs").Select("id, status").Where("id IN ?", ids).Find(&found).Error; err != nil {
			return err
		}
		if len(found) != len(ids) {
			return ErrNotFound
		}
		for _, r := range found {
			if !Status(r.Status).Done() {
				return fmt.Errorf("run %d: %w", r.ID, ErrActive)
			}
		}
		for _, id := range ids {
			if _, err := artifacts.NewStore(tx).DeletePrefix(ctx, ArtifactPrefix(id)); err != nil {
				return err
			}
		}
		// Epochs and tags go with their run (ON DELETE CASCADE).
		return tx.Exec("DELETE FROM runs WHERE id IN ?", ids).Error
	})
}

// DeleteExperiment deletes an experiment with all its runs, their epochs and
// tags and artifacts, in one transaction, and returns the deleted runs (for
// their files).
// It returns ErrActive, deleting nothing, while one of its runs is queued or running.
func (s *Store) DeleteExperiment(ctx context.Context, id int64) ([]Run, error) {
	var deleted []Run
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Table("experiments").Where("id = ?", id).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return experiments.ErrNotFound
		}
		var rows []runRow
		if err := tx.Table("runs").Select("id, status, weights_path, spec").Where("experiment_id = ?", id).Find(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			if !Status(r.Status).Done() {
				return fmt.Errorf("run %d of experiment %d: %w", r.ID, id, ErrActive)
			}
			deleted = append(deleted, Run{ID: r.ID, Status: Status(r.Status), WeightsPath: r.WeightsPath})
			if _, err := artifacts.NewStore(tx).DeletePrefix(ctx, ArtifactPrefix(r.ID)); err != nil {
				return err
			}
		}
		if err := tx.Exec("DELETE FROM runs WHERE experiment_id = ?", id).Error; err != nil {
			return err
		}
		return tx.Exec("DELETE FROM experiments WHERE id = ?", id).Error
	})
	return deleted, err
}
