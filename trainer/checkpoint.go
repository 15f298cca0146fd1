package trainer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"github.com/trainyard/trainyard/artifacts"
	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/trainer/nn"
)

// Every read and write of a run's checkpoint and weights is here. Both live
// in the artifact store (runs.CheckpointArtifact, runs.WeightsArtifact), so
// any process that reaches the database resumes a run or serves its weights.
// They are streamed in and out a chunk at a time and committed in the
// transaction that records the epoch or the success under the run's lease:
// an attempt that lost its run can never replace them.

// saveCheckpoint stores m's checkpoint as the run's checkpoint and records
// epoch e, together, while the lease holds the run.
func (t *Trainer) saveCheckpoint(ctx context.Context, l runs.Lease, m *nn.Model, e runs.Epoch) error {
	ctx = context.WithoutCancel(ctx)
	_, err := t.storeArtifact(ctx, runs.CheckpointArtifact(l.RunID), m.WriteCheckpoint, func(tx *gorm.DB, _ artifacts.Artifact) error {
		return t.runs.WithTx(tx).RecordEpoch(ctx, l, e, nil)
	})
	return leaseOrWrite(err, "checkpoint")
}

// saveWeights stores m's weights as the run's weights and marks the run
// succeeded with test and the weights' sha256, together, while the lease
// holds the run. The run's checkpoint goes in the same transaction.
func (t *Trainer) saveWeights(ctx context.Context, l runs.Lease, m *nn.Model, test runs.TestResult) error {
	ctx = context.WithoutCancel(ctx)
	_, err := t.storeArtifact(ctx, runs.WeightsArtifact(l.RunID), m.WriteWeights, func(tx *gorm.DB, a artifacts.Artifact) error {
		return t.runs.WithTx(tx).Succeed(ctx, l, test, runs.Weights{Artifact: a.Name, SHA256: a.SHA256}, nil)
	})
	return leaseOrWrite(err, "weights")
}

// saveStoppedWeights stores m's weights as the weights of run id, which
// successive halving stopped, while it is stopped and has none.
func (t *Trainer) saveStoppedWeights(ctx context.Context, id int64, m *nn.Model) error {
	_, err := t.storeArtifact(ctx, runs.WeightsArtifact(id), m.WriteWeights, func(tx *gorm.DB, a artifacts.Artifact) error {
		return t.runs.WithTx(tx).KeepStoppedWeights(ctx, id, runs.Weights{Artifact: a.Name, SHA256: a.SHA256}, nil)
	})
	return err
}

// storeArtifact stores what write writes as the artifact name and commits
// it together with what record writes in the same transaction; an error
// from record leaves the stored artifact as it was.
func (t *Trainer) storeArtifact(ctx context.Context, name string, write func(io.Writer) error, record func(*gorm.DB, artifacts.Artifact) error) (artifacts.Artifact, error) {
	w, err := t.arts.Create(ctx, name)
	if err != nil {
		return artifacts.Artifact{}, err
	}
	if err := write(w); err != nil {
		w.Abort()
		return artifacts.Artifact{}, err
	}
	return w.Commit(record)
}

// leaseOrWrite passes a lost lease or an ended run on as it is and makes
// any other error a writeError of what.
func leaseOrWrite(err error, what string) error {
	if err == nil || errors.Is(err, runs.ErrLeaseLost) || errors.Is(err, runs.ErrFinished) {
		return err
	}
	return &writeError{what, err}
}

// loadCheckpoint rebuilds run id's model from its stored checkpoint, which
// must hold epoch want, with the given batch size.
func (t *Trainer) loadCheckpoint(ctx context.Context, id int64, want, batch int) (*nn.Model, error) {
	r, err := t.arts.Open(ctx, runs.CheckpointArtifact(id))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	m, at, err := nn.LoadCheckpoint(r, batch)
	if err == nil && at != want {
		err = fmt.Errorf("the checkpoint holds epoch %d", at)
	}
	return m, err
}

// removeCheckpoints deletes run id's checkpoint, once it ended (ending a
// run in the store deletes it too; this also clears a folder of checkpoint
// files left by an older version).
func (t *Trainer) removeCheckpoints(id int64) {
	err := t.arts.Delete(context.Background(), runs.CheckpointArtifact(id))
	if err != nil && !errors.Is(err, artifacts.ErrNotFound) {
		t.cfg.Logger.Warn("remove checkpoint", "run", id, "err", err)
	}
	if err := os.RemoveAll(t.legacyCheckpointDir(id)); err != nil {
		t.cfg.Logger.Warn("remove checkpoints", "run", id, "err", err)
	}
}

// OpenWeights opens the stored weights of a succeeded (or stopped) run, or returns an
// error wrapping ErrNoWeights. Weights still in a file under the data dir
// (trained before weights moved into the database) are moved into the
// store first.
func (t *Trainer) OpenWeights(ctx context.Context, r runs.Run) (*artifacts.Reader, error) {
	if (r.Status != runs.StatusSucceeded && r.Status != runs.StatusStopped) || r.WeightsPath == "" {
		return nil, fmt.Errorf("run %d has no weights: it is %s: %w", r.ID, r.Status, ErrNoWeights)
	}
	name := r.WeightsPath
	if name != runs.WeightsArtifact(r.ID) {
		a, err := t.importWeightsFile(ctx, r.ID, r.WeightsPath)
		if err != nil {
			t.cfg.Logger.Warn("weights file", "run", r.ID, "err", err)
			return nil, fmt.Errorf("the weights of run %d are missing: %w", r.ID, ErrNoWeights)
		}
		name = a.Name
	}
	rd, err := t.arts.Open(ctx, name)
	if errors.Is(err, artifacts.ErrNotFound) {
		return nil, fmt.Errorf("the weights of run %d are missing: %w", r.ID, ErrNoWeights)
	}
	return rd, err
}

// ErrNoWeights is wrapped by the error of OpenWeights for a run without weights.
var ErrNoWeights = errors.New("no weights")

// loadRunModel loads a succeeded run's model from its stored weights with
// the given batch size (0: the spec's, at most 256).
func (t *Trainer) loadRunModel(ctx context.Context, r runs.Run, batch int) (*nn.Model, error) {
	rd, err := t.OpenWeights(ctx, r)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return nn.Load(rd, batch)
}

// importWeightsFile moves the weights file rel (relative to the data dir)
// of run id into the artifact store and records it on the run.
func (t *Trainer) importWeightsFile(ctx context.Context, id int64, rel string) (artifacts.Artifact, error) {
	if !filepath.IsLocal(filepath.FromSlash(rel)) {
		return artifacts.Artifact{}, fmt.Errorf("weights path %q is not inside the data dir", rel)
	}
	path := filepath.Join(t.cfg.DataDir, filepath.FromSlash(rel))
	f, err := os.Open(path)
	if err != nil {
		return artifacts.Artifact{}, err
	}
	defer f.Close()
	copyFile := func(w io.Writer) error {
		_, err := io.Copy(w, f)
		return err
	}
	a, err := t.storeArtifact(ctx, runs.WeightsArtifact(id), copyFile, func(tx *gorm.DB, a artifacts.Artifact) error {
		return t.runs.WithTx(tx).SetWeights(ctx, id, runs.Weights{Artifact: a.Name, SHA256: a.SHA256})
	})
	if err != nil {
		return a, err
	}
	f.Close()
	os.Remove(path)
	return a, nil
}

// importLegacyFiles moves what an older version kept as files under the
// data dir into the artifact store, once: the weights files of succeeded
// runs, imported datasets' folders, and the last checkpoint of each run not
// yet ended. A file that
// cannot be moved is logged and left where it is.
func (t *Trainer) importLegacyFiles(ctx context.Context) error {
	files, err := t.runs.LegacyWeights(ctx)
	if err != nil {
		return err
	}
	for id, rel := range files {
		if _, err := t.importWeightsFile(ctx, id, rel); err != nil {
			t.cfg.Logger.Warn("move weights file into the database", "run", id, "err", err)
		}
	}
	if err := t.importLegacyDatasets(ctx); err != nil {
		return err
	}
	return t.importLegacyCheckpoints(ctx)
}

// legacyCheckpointDir is where an older version kept run id's checkpoints.
func (t *Trainer) legacyCheckpointDir(id int64) string {
	return filepath.Join(t.cfg.DataDir, "checkpoints", fmt.Sprintf("run-%d", id))
}

// importLegacyCheckpoints stores the newest checkpoint file of each run
// that has not ended (resume checks the epoch it holds) and deletes the
// checkpoint folders.
func (t *Trainer) importLegacyCheckpoints(ctx context.Context) error {
	entries, err := os.ReadDir(filepath.Join(t.cfg.DataDir, "checkpoints"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		n, ok := strings.CutPrefix(e.Name(), "run-")
		id, err := strconv.ParseInt(n, 10, 64)
		if !ok || err != nil || !e.IsDir() {
			continue
		}
		if r, err := t.runs.Run(ctx, id); err == nil && !r.Status.Done() {
			if err := t.importCheckpointFile(ctx, id); err != nil {
				t.cfg.Logger.Warn("move checkpoint into the database", "run", id, "err", err)
				continue
			}
		}
		if err := os.RemoveAll(t.legacyCheckpointDir(id)); err != nil {
			t.cfg.Logger.Warn("remove checkpoints", "run", id, "err", err)
		}
	}
	return nil
}

// importCheckpointFile stores the newest epoch-K.safetensors of run id's
// folder as its checkpoint.
func (t *Trainer) importCheckpointFile(ctx context.Context, id int64) error {
	dir := t.legacyCheckpointDir(id)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var epochs []int
	for _, e := range entries {
		var k int
		if _, err := fmt.Sscanf(e.Name(), "epoch-%d.safetensors", &k); err == nil && e.Type().IsRegular() {
			epochs = append(epochs, k)
		}
	}
	if len(epochs) == 0 {
		return nil
	}
	f, err := os.Open(filepath.Join(dir, fmt.Sprintf("epoch-%d.safetensors", slices.Max(epochs))))
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = t.arts.Put(ctx, runs.CheckpointArtifact(id), f)
	return err
}
