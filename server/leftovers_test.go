package server

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trainyard/trainyard/runs"
)

// runArtifacts lists the names of run id's artifacts, complete or not.
func (a *testApp) runArtifacts(t *testing.T, id int64) []string {
	t.Helper()
	return a.artifactNames(t, fmt.Sprintf("runs/%d/%%", id), false)
}

// artifactsLike lists the names of the artifacts, complete or not, whose
// names are LIKE pattern.
func (a *testApp) artifactsLike(t *testing.T, pattern string) []string {
	t.Helper()
	return a.artifactNames(t, pattern, false)
}

// artifactNames lists the names of the artifacts whose names are LIKE
// pattern: the complete ones only, or also those still being written.
func (a *testApp) artifactNames(t *testing.T, pattern string, completeOnly bool) []string {
	t.Helper()
	q, args := "SELECT name FROM artifacts WHERE name LIKE ?", []any{pattern}
	if completeOnly {
		q, args = q+" AND complete = ?", append(args, true)
	}
	var names []string
	if err := a.srv.db.Gorm.Raw(q+" ORDER BY name", args...).Scan(&names).Error; err != nil {
		t.Fatal(err)
	}
	return names
}

// TestWeightsWriteFailureFailsRun: when the weights cannot be stored (here a
// trigger refuses their chunks, as a full disk would), the run fails with a
// message that says so, and leaves nothing behind: no half-written weights,
// no checkpoint.
func TestWeightsWriteFailureFailsRun(t *testing.T) {
	t.Parallel()
	a := setupCfg(t, Config{Workers: 1})
	if err := a.srv.db.Gorm.Exec(`CREATE TRIGGER full_disk BEFORE INSERT ON artifact_chunks
		WHEN (SELECT name FROM artifacts WHERE id = NEW.artifact_id) LIKE '%weights%'
		BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`).Error; err != nil {
		t.Fatal(err)
	}
	_, ids := a.create(t, `{"preset": "mnist-nn1", "overrides": {"epochs": 2, "batch_size": 32, "train_limit": 500}}`)
	r := a.waitFor(t, ids[0], 2*time.Minute, func(r runs.Run) bool { return r.Status.Done() })
	if want := "could not write the weights: "; r.Status != runs.StatusFailed || !strings.HasPrefix(r.Error, want) || !strings.Contains(r.Error, "disk is full") {
		t.Fatalf("run %s with error %q, want failed with %q...", r.Status, r.Error, want)
	}
	if len(r.Epochs) != 2 || r.Test != nil || r.WeightsPath != "" || r.WeightsSHA256 != nil {
		t.Fatalf("failed run: %d epochs, test %+v, weights %q %v", len(r.Epochs), r.Test, r.WeightsPath, r.WeightsSHA256)
	}
	if code, _, _ := a.do(t, "GET", "/api/runs/"+itoa(ids[0])+"/weights", ""); code != http.StatusNotFound {
		t.Fatalf("weights of the failed run: %d", code)
	}
	if left := a.runArtifacts(t, ids[0]); len(left) > 0 {
		t.Fatalf("left behind: %q", left)
	}
}

// TestCheckpointsOfEndedRunsRemoved: a run's checkpoint is an artifact
// while it trains and goes when it is cancelled. Checkpoint folders an older
// version left under the data dir are moved into the database at start for
// runs not yet ended, and removed for the others (ended, or deleted).
func TestCheckpointsOfEndedRunsRemoved(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ckpt := func(id string) string { return filepath.Join(dir, "checkpoints", "run-"+id) }
	a := setupCfg(t, Config{DataDir: dir, Workers: 1})
	_, ids := a.create(t, `{"preset": "mnist-nn1", "overrides": {"epochs": 200, "batch_size": 32, "train_limit": 500}}`)
	a.waitFor(t, ids[0], 2*time.Minute, func(r runs.Run) bool { return len(r.Epochs) >= 1 })
	// Complete ones only: the next epoch's checkpoint may be streaming in,
	// invisible until its commit replaces this one.
	if got := a.artifactNames(t, fmt.Sprintf("runs/%d/%%", ids[0]), true); !slices.Equal(got, []string{fmt.Sprintf("runs/%d/checkpoint", ids[0])}) {
		t.Fatalf("artifacts after an epoch: %q", got)
	}
	if code, b, _ := a.do(t, "POST", "/api/runs/"+itoa(ids[0])+"/cancel", ""); code != http.StatusOK {
		t.Fatalf("cancel: %d %s", code, b)
	}
	// Gone with the cancel; a checkpoint the worker was writing then is
	// refused at its commit and removed.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got := a.runArtifacts(t, ids[0])
		if len(got) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cancelled run's checkpoint is still there: %q", got)
		}
	}
	// Long enough that the worker cannot finish it before the server
	// closes: one epoch of 500 images trains in a few milliseconds.
	_, queued := a.create(t, `{"preset": "mnist-nn1", "overrides": {"epochs": 200, "train_limit": 500}}`)
	if err := a.srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	// Left behind by an older version: a cancelled run's, a deleted run's,
	// and an unfinished run's checkpoint folders.
	for _, id := range []string{itoa(ids[0]), "999", itoa(queued[0])} {
		if err := os.MkdirAll(ckpt(id), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ckpt(id), "epoch-1.safetensors"), []byte("checkpoint of "+id), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b := setupCfg(t, Config{DataDir: dir, Workers: 0})
	for _, id := range []string{itoa(ids[0]), "999", itoa(queued[0])} {
		if _, err := os.Stat(ckpt(id)); !os.IsNotExist(err) {
			t.Errorf("checkpoint folder of run %s kept after a start: %v", id, err)
		}
	}
	if got := b.runArtifacts(t, ids[0]); len(got) > 0 {
		t.Errorf("the cancelled run's checkpoint was stored: %q", got)
	}
	if got := b.runArtifacts(t, queued[0]); !slices.Equal(got, []string{fmt.Sprintf("runs/%d/checkpoint", queued[0])}) {
		t.Errorf("the unfinished run's artifacts: %q, want its checkpoint", got)
	}
}
