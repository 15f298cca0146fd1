package trainer

import (
	"context"
	"os"
	"path/filepath"

	"github.com/trainyard/trainyard/runs"
)

// DeleteRun deletes a finished run: its row, epochs, tags and artifacts
// (weights, checkpoint) in the database, then any file an older version
// kept for it. A queued or running run is
// refused with runs.ErrActive (cancel it first).
func (t *Trainer) DeleteRun(ctx context.Context, id int64) error {
	r, err := t.runs.Run(ctx, id)
	if err != nil {
		return err
	}
	if err := t.runs.Delete(ctx, id); err != nil {
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
