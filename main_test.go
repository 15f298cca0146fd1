package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildBinary builds trainyard into a temp dir once per test.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "trainyard")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

var upLine = regexp.MustCompile(`url=(http://[0-9.:]+)`)

// startServe starts `trainyard serve` on a free port, with extra flags if
// any, and returns its URL and process.
func startServe(t *testing.T, bin, dataDir string, extra ...string) (string, *exec.Cmd) {
	t.Helper()
	p := startServer(t, bin, dataDir, extra...)
	return p.url, p.cmd
}

// served is a running `trainyard serve` process and what it logged.
type served struct {
	url string
	cmd *exec.Cmd

	mu  sync.Mutex
	log []string
}

// logged returns the lines the process has logged so far that contain s.
func (p *served) logged(s string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.log {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// startServer starts `trainyard serve` on a free port with --rescue-after 6s
// and the extra flags.
func startServer(t *testing.T, bin, dataDir string, extra ...string) *served {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--rescue-after", "6s"}, extra...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGCONT); cmd.Process.Kill(); cmd.Wait() })
	p := &served{cmd: cmd}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log = append(p.log, sc.Text())
			p.mu.Unlock()
			if m := upLine.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	select {
	case p.url = <-urls:
		return p
	case <-time.After(30 * time.Second):
		t.Fatal("trainyard serve did not come up")
	}
	return nil
}

type runState struct {
	Status string `json:"status"`
	Epochs []struct {
		Epoch int `json:"epoch"`
	} `json:"epochs"`
}

func getRun(t *testing.T, url string) runState {
	t.Helper()
	res, err := http.Get(url + "/api/runs/1")
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

// TestKilledProcessResumes kills `trainyard serve` with SIGKILL in the middle
// of a run; the next process on the same data dir resumes the run from its
// last checkpoint and finishes it, with every epoch recorded once.
func TestKilledProcessResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	url, cmd := startServe(t, bin, dir)
	res, err := http.Post(url+"/api/experiments", "application/json",
		strings.NewReader(`{"preset": "mnist-nn1", "overrides": {"epochs": 12, "batch_size": 16, "train_limit": 3000}}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", res.StatusCode)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for len(getRun(t, url).Epochs) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no 2 epochs in time")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	url, _ = startServe(t, bin, dir)
	before := getRun(t, url)
	if before.Status != "running" {
		t.Fatalf("after the kill the run is %s, want running", before.Status)
	}
	deadline = time.Now().Add(3 * time.Minute)
	var r runState
	for {
		r = getRun(t, url)
		if r.Status != "running" && r.Status != "queued" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run not finished after restart: %s with %d epochs", r.Status, len(r.Epochs))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if r.Status != "succeeded" || len(r.Epochs) != 12 {
		t.Fatalf("run %s with %d epochs, want succeeded with 12", r.Status, len(r.Epochs))
	}
	for i, e := range r.Epochs {
		if e.Epoch != i+1 {
			t.Fatalf("epochs = %v: epoch %d at position %d", r.Epochs, e.Epoch, i)
		}
	}
	t.Log(fmt.Sprintf("killed after %d epochs, finished with 12", len(before.Epochs)))
}

func TestHelpExplainsCommands(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	if err := run(t.Context(), []string{"--help"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"trainyard serve", "trainyard train", "--workers", "--preset"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if err := run(t.Context(), []string{"frobnicate"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Errorf("unknown command: %v", err)
	}
	if err := run(t.Context(), []string{"train", "--preset", "resnet"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "unknown preset") {
		t.Errorf("unknown preset: %v", err)
	}
}

// TestServeConfigFromEnvironment checks that serve takes its address, data
// dir and dataset folders from TRAINYARD_* variables, and that flags win.
func TestServeConfigFromEnvironment(t *testing.T) {
	t.Setenv("TRAINYARD_ADDR", "127.0.0.1:9123")
	t.Setenv("TRAINYARD_DATA_DIR", "/tmp/ty-data")
	t.Setenv("TRAINYARD_DATASETS", "/srv/a"+string(os.PathListSeparator)+"/srv/b")
	cfg, err := serveConfig(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9123" || cfg.DataDir != "/tmp/ty-data" || strings.Join(cfg.DatasetRoots, ",") != "/srv/a,/srv/b" {
		t.Errorf("from the environment: addr %q, data dir %q, datasets %q", cfg.Addr, cfg.DataDir, cfg.DatasetRoots)
	}
	cfg, err = serveConfig([]string{"--addr", "127.0.0.1:1", "--datasets", "/flag"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:1" || strings.Join(cfg.DatasetRoots, ",") != "/flag" {
		t.Errorf("flags: addr %q, datasets %q", cfg.Addr, cfg.DatasetRoots)
	}
}

// TestMakeRunHonoursSettings checks the command `make run` runs: it passes
// TRAINYARD_ADDR and TRAINYARD_DATASETS through (no --addr of its own that
// would override them), and ADDR= / DATASETS= on make's command line.
func TestMakeRunHonoursSettings(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	dryRun := func(env []string, args ...string) string {
		t.Helper()
		cmd := exec.Command("make", append([]string{"-n", "--no-print-directory", "run"}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make -n run: %v\n%s", err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return lines[len(lines)-1]
	}
	got := dryRun([]string{"TRAINYARD_ADDR=127.0.0.1:9124", "TRAINYARD_DATASETS=/srv/captchas"})
	if !strings.Contains(got, "TRAINYARD_ADDR='127.0.0.1:9124'") || !strings.Contains(got, "TRAINYARD_DATASETS='/srv/captchas'") ||
		strings.Contains(got, "--addr") {
		t.Errorf("make run with TRAINYARD_ADDR and TRAINYARD_DATASETS runs: %s", got)
	}
	got = dryRun(nil, "ADDR=127.0.0.1:9125", "DATASETS=/srv/x:/srv/y")
	if !strings.Contains(got, "TRAINYARD_ADDR='127.0.0.1:9125'") || !strings.Contains(got, "TRAINYARD_DATASETS='/srv/x:/srv/y'") {
		t.Errorf("make run ADDR= DATASETS= runs: %s", got)
	}
	got = dryRun([]string{"TRAINYARD_ADDR="})
	if !strings.Contains(got, "TRAINYARD_ADDR='127.0.0.1:8080'") || !strings.Contains(got, "TRAINYARD_DATA_DIR='./data'") {
		t.Errorf("make run's defaults: %s", got)
	}
}
