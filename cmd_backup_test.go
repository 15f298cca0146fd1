package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
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
	done := createRun(t, url, `{"preset": "mnist-nn1", "overrides": {"epochs": 1, "batch_size": 32, "train_limit": 1000}}`)
	if r := waitRun(t, url, done, func(r runState) bool { return r.Status != "queued" && r.Status != "running" }); r.Status != "succeeded" {
		t.Fatalf("first run %s", r.Status)
	}
	weights := download(t, url+"/api/runs/"+done+"/weights")
	training := createRun(t, url, `{"preset": "mnist-nn1", "overrides": {"epochs": 6, "batch_size": 16, "train_limit": 3000}}`)
	waitRun(t, url, training, func(r runState) bool { return len(r.Epochs) >= 1 })

	out := filepath.Join(t.TempDir(), "backup.tar")
	b, err := exec.Command(bin, "backup", "--data-dir", dir, "--out", out).CombinedOutput()
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, b)
	}
	t.Logf("%s", strings.TrimSpace(string(b)))
	after := getRunID(t, url, training)
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
	if r := getRunID(t, url, done); r.Status != "succeeded" || len(r.Epochs) != 1 {
		t.Fatalf("restored finished run: %s with %d epochs", r.Status, len(r.Epochs))
	}
	if got := download(t, url+"/api/runs/"+done+"/weights"); got != weights {
		t.Fatalf("restored weights sha256 %s, want %s", got, weights)
	}
	r := waitRun(t, url, training, func(r runState) bool { return r.Status != "queued" && r.Status != "running" })
	if r.Status != "succeeded" || len(r.Epochs) != 6 {
		t.Fatalf("restored training run: %s with %d epochs, want succeeded with 6", r.Status, len(r.Epochs))
	}
	for i, e := range r.Epochs {
		if e.Epoch != i+1 {
			t.Fatalf("epoch %d recorded at position %d", e.Epoch, i)
		}
	}
	download(t, url+"/api/runs/"+training+"/weights")
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

func createRun(t *testing.T, url, body string) string {
	t.Helper()
	res, err := http.Post(url+"/api/experiments", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var resp struct {
		Runs []int64 `json:"runs"`
	}
	if err := json.NewDecoder(res.Body).Decode(&resp); err != nil || res.StatusCode != http.StatusCreated || len(resp.Runs) != 1 {
		t.Fatalf("create: %d %v %v", res.StatusCode, resp, err)
	}
	return strconv.FormatInt(resp.Runs[0], 10)
}

func getRunID(t *testing.T, url, id string) runState {
	t.Helper()
	res, err := http.Get(url + "/api/runs/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r runState
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

func waitRun(t *testing.T, url, id string, ok func(runState) bool) runState {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	for {
		r := getRunID(t, url, id)
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s: still %s with %d epochs", id, r.Status, len(r.Epochs))
		}
		time.Sleep(200 * time.Millisecond)
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
