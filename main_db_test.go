package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/migrations/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestServeOnPostgres starts the binary with --db on PostgreSQL (the data
// dir then holds only files): a run queued through the API trains and its
// weights download, and nothing creates a SQLite file.
func TestServeOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	u := dbtest.URL(t, migrations.Postgres)
	bin := buildBinary(t)
	dir := t.TempDir()
	url, _ := startServe(t, bin, dir, "--db", u)
	res, err := http.Post(url+"/api/experiments", "application/json",
		strings.NewReader(`{"preset": "mnist-nn1", "overrides": {"epochs": 2, "batch_size": 32, "train_limit": 1000}}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", res.StatusCode)
	}
	deadline := time.Now().Add(3 * time.Minute)
	var r runState
	for r = getRun(t, url); r.Status != "succeeded"; r = getRun(t, url) {
		if r.Status == "failed" || r.Status == "cancelled" || time.Now().After(deadline) {
			t.Fatalf("run %s with %d epochs, want succeeded", r.Status, len(r.Epochs))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(r.Epochs) != 2 {
		t.Fatalf("%d epochs recorded, want 2", len(r.Epochs))
	}
	res, err = http.Get(url + "/api/runs/1/weights")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || n < 1000 {
		t.Fatalf("weights: %d, %d bytes", res.StatusCode, n)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "*.db")); len(matches) > 0 {
		t.Fatalf("a SQLite file was made with --db: %v", matches)
	}
}
