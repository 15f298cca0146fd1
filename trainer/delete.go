package trainer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"gorm.io/gorm"

	"github.com/trainyard/trainyard/artifacts"
	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
)

// DeleteRun deletes a finished run r, as the caller read it: its row,
// epochs, tags and artifacts (weights, checkpoint) in the database, then
// any file an older version kept for it. A run queued or running when it
// is deleted is refused with runs.ErrActive (cancel it first).
func (t *Trainer) DeleteRun(ctx context.Context, r runs.Run) error {
	if err := t.runs.Delete(ctx, r.ID); err != nil {
		return err
	}
	t.removeRunFiles(r)
	return nil
}

// DeleteExperiment deletes an experiment and all its runs with their files;
// it is refused with runs.ErrActive while one of them is queued or running.
func (t *Trainer) DeleteExperiment(ctx context.Context, id int64) error {
	deleted, err := t.runs.DeleteExperiment(ctx, id)
	if err != nil {
		return err
	}
	for _, r := range deleted {
		t.removeRunFiles(r)
	}
	return nil
}

// removeRunFiles removes what a deleted run may have left on disk from an
// older version (its weights file, a checkpoint folder); its artifacts went
// with its row. The database no longer names these files, so a failure
// only leaves garbage, which is logged.
func (t *Trainer) removeRunFiles(r runs.Run) {
	paths := []string{t.legacyCheckpointDir(r.ID)}
	if r.WeightsPath != "" && r.WeightsPath != runs.WeightsArtifact(r.ID) && filepath.IsLocal(filepath.FromSlash(r.WeightsPath)) {
		paths = append(paths, filepath.Join(t.cfg.DataDir, filepath.FromSlash(r.WeightsPath)))
	}
	for _, p := range paths {
		if err := os.RemoveAll(p); err != nil {
			t.cfg.Logger.Warn("remove files of a deleted run", "run", r.ID, "path", p, "err", err)
		}
	}
}

// ErrDatasetInUse is returned by DeleteDataset while a queued or running
// run trains on the dataset.
var ErrDatasetInUse = errors.New("a queued or running run trains on it")

// DeleteDataset deletes an imported dataset: its row and its stored zip in
// one transaction, then this process's cached copy (or an older version's
// folder). Finished runs trained on it keep their results. It is refused
// with ErrDatasetInUse while a queued or running run uses it.
func (t *Trainer) DeleteDataset(ctx context.Context, id int64) error {
	d, err := experiments.NewDatasetStore(t.db).Dataset(ctx, id)
	if err != nil {
		return err
	}
	for _, st := range []runs.Status{runs.StatusQueued, runs.StatusRunning} {
		active, err := t.runs.Runs(ctx, runs.Filter{Status: st})
		if err != nil {
			return err
		}
		for _, r := range active {
			if src := r.Spec.Source; src != nil && src.Kind == experiments.SourceDataset && src.DatasetID == id {
				return fmt.Errorf("dataset %d: run %d: %w", id, r.ID, ErrDatasetInUse)
			}
		}
	}
	err = t.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := experiments.NewDatasetStore(tx).DeleteDataset(ctx, id); err != nil {
			return err
		}
		if d.SHA256 == nil {
			return nil
		}
		if err := t.arts.WithTx(tx).Delete(ctx, d.Path); err != nil && !errors.Is(err, artifacts.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if d.SHA256 != nil {
		t.datasetMu.Lock()
		err = os.RemoveAll(filepath.Join(t.datasetCache(), *d.SHA256))
		t.datasetMu.Unlock()
	} else if filepath.IsLocal(filepath.FromSlash(d.Path)) {
		err = os.RemoveAll(filepath.Join(t.cfg.DataDir, filepath.FromSlash(d.Path)))
	}
	if err != nil {
		t.cfg.Logger.Warn("remove files of a deleted dataset", "dataset", id, "err", err)
	}
	t.data.dropDataset(id)
	return nil
}
