package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/runs"
)

// TestWeightsFileOfOlderVersion: a run whose weights an older version kept
// as a file under the data dir (weights_path relative to it, no sha256) gets
// them moved into the database at start: the file goes, the run records the
// sha256, and the download answers the same bytes with it as ETag.
func TestWeightsFileOfOlderVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := setupCfg(t, Config{DataDir: dir, Workers: 1})
	_, ids := a.create(t, `{"preset": "mnist-nn1", "overrides": {"epochs": 1, "train_limit": 500}}`)
	id := ids[0]
	if r := a.waitFor(t, id, 2*time.Minute, func(r runs.Run) bool { return r.Status.Done() }); r.Status != runs.StatusSucceeded {
		t.Fatalf("run %s: %s", r.Status, r.Error)
	}
	code, weights, _ := a.do(t, "GET", fmt.Sprintf("/api/runs/%d/weights", id), "")
	if code != http.StatusOK {
		t.Fatalf("weights: %d", code)
	}
	if err := a.srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Make it what an older version left: a file, and the run naming it.
	rel := fmt.Sprintf("weights/run-%d.safetensors", id)
	os.MkdirAll(filepath.Join(dir, "weights"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, rel), weights, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := migrations.OpenDatabase(context.Background(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Gorm.Exec("DELETE FROM artifacts").Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Gorm.Exec("UPDATE runs SET weights_path = ?, weights_sha256 = NULL WHERE id = ?", rel, id).Error; err != nil {
		t.Fatal(err)
	}
	db.Close()

	b := setupCfg(t, Config{DataDir: dir, Workers: 0})
	sum := sha256.Sum256(weights)
	want := hex.EncodeToString(sum[:])
	r := decode[runs.Run](t, func() []byte { _, body, _ := b.do(t, "GET", fmt.Sprintf("/api/runs/%d", id), ""); return body }())
	if r.WeightsSHA256 == nil || *r.WeightsSHA256 != want {
		t.Fatalf("weights_sha256 %v after start, want %s", r.WeightsSHA256, want)
	}
	if _, err := os.Stat(filepath.Join(dir, rel)); !os.IsNotExist(err) {
		t.Errorf("the weights file is still there: %v", err)
	}
	code, got, h := b.do(t, "GET", fmt.Sprintf("/api/runs/%d/weights", id), "")
	if code != http.StatusOK || string(got) != string(weights) || h.Get("ETag") != `"`+want+`"` {
		t.Fatalf("download after the move: %d, %d bytes, ETag %s", code, len(got), h.Get("ETag"))
	}
}
