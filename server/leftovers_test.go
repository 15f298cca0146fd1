package server

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trainyard/trainyard/runs"
)

// TestWeightsWriteFailureFailsRun: when the weights file cannot be written
// (here a file sits where the weights folder should be), the run fails with
// a message that says so, without a path, and leaves no file behind: no
// half-written weights, no temporary file, no checkpoint.
func TestWeightsWriteFailureFailsRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "weights"), []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := setupCfg(t, Config{DataDir: dir, Workers: 1})
	_, ids := a.create(t, `{"preset": "mnist-nn1", "overrides": {"epochs": 2, "batch_size": 32, "train_limit": 500}}`)
	r := a.waitFor(t, ids[0], 2*time.Minute, func(r runs.Run) bool { return r.Status.Done() })
	if want := "could not write the weights file: not a directory"; r.Status != runs.StatusFailed || r.Error != want {
		t.Fatalf("run %s with error %q, want failed with %q", r.Status, r.Error, want)
	}
	if len(r.Epochs) != 2 || r.Test != nil || r.WeightsPath != "" {
		t.Fatalf("failed run: %d epochs, test %+v, weights %q", len(r.Epochs), r.Test, r.WeightsPath)
	}
	if code, _, _ := a.do(t, "GET", "/api/runs/"+itoa(ids[0])+"/weights", ""); code != http.StatusNotFound {
		t.Fatalf("weights of the failed run: %d", code)
	}
	var files []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.Contains(path, "checkpoints") || strings.Contains(d.Name(), ".tmp")) {
			files = append(files, path)
		}
		return nil
	})
	if len(files) > 0 {
		t.Fatalf("left behind: %v", files)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "weights")); err != nil || string(b) != "not a folder" {
		t.Fatalf("the file in the way changed: %q %v", b, err)
	}
}

// TestCheckpointsOfEndedRunsRemoved: cancelling a run deletes its
// checkpoints, and a server that starts deletes those that ended runs (or
// runs that no longer exist) left behind, keeping those of unfinished runs.
func TestCheckpointsOfEndedRunsRemoved(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ckpt := func(id string) string { return filepath.Join(dir, "checkpoints", "run-"+id) }
	a := setupCfg(t, Config{DataDir: dir, Workers: 1})
	_, ids := a.create(t, `{"preset": "mnist-nn1", "overrides": {"epochs": 200, "batch_size": 32, "train_limit": 500}}`)
	a.waitFor(t, ids[0], 2*time.Minute, func(r runs.Run) bool { return len(r.Epochs) >= 1 })
	if _, err := os.Stat(ckpt(itoa(ids[0]))); err != nil {
		t.Fatalf("no checkpoint after an epoch: %v", err)
	}
	if code, b, _ := a.do(t, "POST", "/api/runs/"+itoa(ids[0])+"/cancel", ""); code != http.StatusOK {
		t.Fatalf("cancel: %d %s", code, b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(ckpt(itoa(ids[0]))); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cancelled run's checkpoints are still there")
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, queued := a.create(t, `{"preset": "mnist-nn1", "overrides": {"epochs": 1, "train_limit": 500}}`)
	if err := a.srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	// Left behind by a process that died: a cancelled run's, a deleted
	// run's, and an unfinished run's checkpoint.
	for _, id := range []string{itoa(ids[0]), "999", itoa(queued[0])} {
		if err := os.MkdirAll(ckpt(id), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ckpt(id), "epoch-1.safetensors"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	setupCfg(t, Config{DataDir: dir, Workers: 0})
	for _, id := range []string{itoa(ids[0]), "999"} {
		if _, err := os.Stat(ckpt(id)); !os.IsNotExist(err) {
			t.Errorf("checkpoints of ended run %s kept after a start: %v", id, err)
		}
	}
	if _, err := os.Stat(ckpt(itoa(queued[0]))); err != nil {
		t.Errorf("checkpoints of the unfinished run removed: %v", err)
	}
}
