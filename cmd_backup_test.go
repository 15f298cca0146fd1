package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trainyard/trainyard/runs"
)

// TestBackupWhileTraining backs up the data dir of a running `trainyard
// serve` while a run trains, restores the file into a new data dir as the
// README says, and serves it: the finished run and its weights (same
// sha256) are there, and the run that was training resumes and finishes with
// every epoch once.
func TestBackupWhileTraining(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	dir := t.TempDir()
	url, cmd := startServe(t, bin, dir)
	done := createLeaseRun(t, url, `{"preset": "mnist-nn1", "overrides": {"epochs": 1, "batch_size": 32, "train_limit": 1000}}`)
	if r := waitRun(t, url, done, 4*time.Minute, "finish", finished); r.Status != "succeeded" {
		t.Fatalf("first run %s", r.Status)
	}
	weights := download(t, fmt.Sprintf("%s/api/runs/%d/weights", url, done))
	training := createLeaseRun(t, url, `{"preset": "mnist-nn1", "overrides": {"epochs": 6, "batch_size": 16, "train_limit": 3000}}`)
	waitRun(t, url, training, 4*time.Minute, "1 epoch", func(r runs.Run) bool { return len(r.Epochs) >= 1 })

	out := filepath.Join(t.TempDir(), "backup.tar")
	b, err := exec.Command(bin, "backup", "--data-dir", dir, "--out", out).CombinedOutput()
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, b)
	}
	t.Logf("%s", strings.TrimSpace(string(b)))
	after := fetchRun(t, url, training)
	if after.Status != "running" {
		t.Fatalf("the run is %s after the backup, want still running (the backup must be taken while it trains)", after.Status)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	restored := t.TempDir()
	if b, err := exec.Command("tar", "-xf", out, "-C", restored).CombinedOutput(); err != nil {
		t.Fatalf("restore: %v\n%s", err, b)
	}
	url, _ = startServe(t, bin, restored)
	if r := fetchRun(t, url, done); r.Status != "succeeded" || len(r.Epochs) != 1 {
		t.Fatalf("restored finished run: %s with %d epochs", r.Status, len(r.Epochs))
	}
	if got := download(t, fmt.Sprintf("%s/api/runs/%d/weights", url, done)); got != weights {
		t.Fatalf("restored weights sha256 %s, want %s", got, weights)
	}
	r := waitRun(t, url, training, 4*time.Minute, "finish", finished)
	if r.Status != "succeeded" || len(r.Epochs) != 6 {
		t.Fatalf("restored training run: %s with %d epochs, want succeeded with 6", r.Status, len(r.Epochs))
	}
	for i, e := range r.Epochs {
		if e.Epoch != i+1 {
			t.Fatalf("epoch %d recorded at position %d", e.Epoch, i)
		}
	}
	download(t, fmt.Sprintf("%s/api/runs/%d/weights", url, training))
}

func TestBackupRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "b.tar")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"backup", "--data-dir", dir}, "--out"},
		{[]string{"backup", "--data-dir", dir, "--out", out, "--db", "postgres://trainyard@db.example/trainyard"}, "pg_dump"},
		{[]string{"backup", "--data-dir", dir, "--out", out}, "no database"},
	}
	for _, c := range cases {
		err := run(t.Context(), c.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error naming %q", c.args, err, c.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a refused backup left %d files (%s...) and should leave none", len(entries), entries[0].Name())
	}
}

// download returns the sha256 of what GET url answers, failing unless 200.
func download(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, res.Body); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, res.StatusCode, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
