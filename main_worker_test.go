package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/migrations/dbtest"
	"github.com/trainyard/trainyard/runs"
)

// startWorker starts `trainyard worker` on db with one CPU device under
// name, and returns once it is up.
func startWorker(t *testing.T, bin, db, dataDir, name string) *served {
	t.Helper()
	cmd := exec.Command(bin, "worker", "--db", db, "--data-dir", dataDir, "--devices", "cpu", "--name", name, "--rescue-after", "6s")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	p := &served{cmd: cmd}
	up := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			p.mu.Lock()
			p.log = append(p.log, sc.Text())
			p.mu.Unlock()
			if strings.Contains(sc.Text(), "trainyard worker is up") {
				once.Do(func() { close(up) })
			}
		}
	}()
	select {
	case <-up:
		return p
	case <-time.After(60 * time.Second):
		t.Fatalf("trainyard worker %s did not come up", name)
	}
	return nil
}

// queue creates an experiment of runs NN1 runs with the overrides and returns their ids.
func queue(t *testing.T, url string, repeats int, overrides string) []int64 {
	t.Helper()
	return createRuns(t, url, fmt.Sprintf(`{"preset": "mnist-nn1", "repeats": %d, "overrides": %s}`, repeats, overrides), repeats)
}

func listWorkers(t *testing.T, url string) map[string]runs.Worker {
	t.Helper()
	res, err := http.Get(url + "/api/workers")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Workers []runs.Worker `json:"workers"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	m := map[string]runs.Worker{}
	for _, w := range out.Workers {
		m[w.Name] = w
	}
	return m
}

// sseCounts reads a run's event stream until its final status and counts
// each kind of event; the progress events' arrival times come with it.
func sseCounts(t *testing.T, url string, id int64) (counts map[string]int, progressAt []time.Time, statuses []string) {
	t.Helper()
	res, err := http.Get(fmt.Sprintf("%s/api/runs/%d/events", url, id))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	counts = map[string]int{}
	sc := bufio.NewScanner(res.Body)
	kind := ""
	for sc.Scan() {
		line := sc.Text()
		if k, ok := strings.CutPrefix(line, "event: "); ok {
			kind = k
			counts[kind]++
			if kind == "progress" {
				progressAt = append(progressAt, time.Now())
			}
		}
		d, ok := strings.CutPrefix(line, "data: ")
		if ok && kind == "status" {
			statuses = append(statuses, d)
		}
		if ok && kind == "status" && (strings.Contains(d, `"succeeded"`) || strings.Contains(d, `"failed"`) || strings.Contains(d, `"cancelled"`)) {
			return counts, progressAt, statuses
		}
	}
	return counts, progressAt, statuses
}

// TestRemoteWorkersOnPostgres runs `serve --workers 0` and `trainyard
// worker` processes on one PostgreSQL database, each with a data dir of its
// own (checkpoints and weights live in the database): a run waits with a word when no worker offers
// its device; four runs spread over two workers, each recording its
// worker; a remotely trained run's event stream carries progress and
// epochs; a worker killed with SIGKILL mid-run loses its run to the other,
// which resumes from the checkpoint in the database with every epoch once and
// whose weights download from the server with the sha256 the worker
// recorded; a cancel reaches
// the remote worker; SIGTERM hands a run over at once and deregisters.
func TestRemoteWorkersOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	db := dbtest.URL(t, migrations.Postgres)
	bin := buildBinary(t)
	dir := t.TempDir()
	srv := startServer(t, bin, dir, "--db", db, "--workers", "0")
	url := srv.url

	// No worker yet: the run says what it waits for, in the API and on its page.
	gpu := queue(t, url, 1, `{"epochs": 1, "train_limit": 300, "device": "gpu"}`)[0]
	if r := fetchRun(t, url, gpu); r.Status != "queued" || r.Worker != nil || r.Waiting == nil || *r.Waiting != "waiting for a gpu worker; none is connected" {
		t.Fatalf("gpu run without workers: %+v", r)
	}
	res, err := http.Get(fmt.Sprintf("%s/runs/%d", url, gpu))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(page), "waiting for a gpu worker; none is connected") {
		t.Fatal("the run page does not say what the gpu run waits for")
	}

	w1 := startWorker(t, bin, db, t.TempDir(), "w1")
	w2 := startWorker(t, bin, db, t.TempDir(), "w2")
	ws := listWorkers(t, url)
	if len(ws) != 2 || ws["w1"].State == "lost" || !slices.Equal(ws["w2"].Devices, []string{"cpu"}) || ws["w1"].Version == "" {
		t.Fatalf("workers: %+v", ws)
	}
	if r := fetchRun(t, url, gpu); r.Waiting == nil || r.Status != "queued" {
		t.Fatalf("gpu run with two cpu workers: %+v, want still waiting with a word", r)
	}

	// Four small runs over both workers; the first one's stream is read live.
	start := time.Now()
	ids := queue(t, url, 4, `{"epochs": 3, "batch_size": 32, "train_limit": 600}`)
	type stream struct {
		counts     map[string]int
		progressAt []time.Time
		statuses   []string
	}
	streamed := make(chan stream, 1)
	go func() {
		c, at, st := sseCounts(t, url, ids[0])
		streamed <- stream{c, at, st}
	}()
	workersUsed := map[string]bool{}
	var pickup []time.Duration
	for _, id := range ids {
		r := waitRun(t, url, id, 4*time.Minute, "succeed", func(r runs.Run) bool { return r.Status == "succeeded" })
		if r.Worker == nil || (*r.Worker != "w1" && *r.Worker != "w2") || len(r.Epochs) != 3 || r.Waiting != nil {
			t.Fatalf("run %d: %+v", id, r)
		}
		workersUsed[*r.Worker] = true
		pickup = append(pickup, r.StartedAt.Sub(r.CreatedAt))
	}
	twoWorkers := time.Since(start)
	if len(workersUsed) != 2 {
		t.Errorf("4 runs trained on %v, want both workers", workersUsed)
	}
	s := <-streamed
	if s.counts["epoch"] != 3 || s.counts["progress"] < 1 {
		t.Errorf("the stream of a remotely trained run carried %v, want progress and 3 epochs", s.counts)
	}
	if !slices.ContainsFunc(s.statuses, func(d string) bool {
		return strings.Contains(d, `"status":"running"`) && (strings.Contains(d, `"worker":"w1"`) || strings.Contains(d, `"worker":"w2"`))
	}) {
		t.Errorf("no status event names the worker: %q", s.statuses)
	}
	gap := time.Duration(0)
	for i := 1; i < len(s.progressAt); i++ {
		gap = max(gap, s.progressAt[i].Sub(s.progressAt[i-1]))
	}
	t.Logf("4 runs on two new workers: %s; queued to started: %v; stream %v, longest gap between progress events %s",
		twoWorkers.Round(time.Millisecond), pickup, s.counts, gap.Round(time.Millisecond))
	// The same again on the two warm workers (data cached, throughput measured).
	start = time.Now()
	for i, id := range queue(t, url, 4, `{"epochs": 3, "batch_size": 32, "train_limit": 600}`) {
		r := waitRun(t, url, id, 4*time.Minute, "succeed", func(r runs.Run) bool { return r.Status == "succeeded" })
		if i == 0 {
			t.Logf("queued to started on an idle warm worker: %s", r.StartedAt.Sub(r.CreatedAt).Round(time.Millisecond))
		}
	}
	twoWorkers = time.Since(start)

	// SIGKILL of the worker that trains a run: the other resumes it.
	long := `{"epochs": 8, "batch_size": 16, "train_limit": 3000}`
	id := queue(t, url, 1, long)[0]
	r := waitRun(t, url, id, 2*time.Minute, "train 2 epochs", func(r runs.Run) bool { return len(r.Epochs) >= 2 && r.Worker != nil })
	victim, other := w1, w2
	if *r.Worker == "w2" {
		victim, other = w2, w1
	}
	victim.cmd.Process.Kill()
	victim.cmd.Wait()
	r = waitRun(t, url, id, 3*time.Minute, "be resumed and succeed", func(r runs.Run) bool { return r.Status == "succeeded" })
	if len(r.Epochs) != 8 {
		t.Fatalf("resumed run recorded %d epochs, want 8", len(r.Epochs))
	}
	for i, e := range r.Epochs {
		if e.Epoch != i+1 {
			t.Fatalf("epochs %v, want 1..8 once each", r.Epochs)
		}
	}
	otherName := "w1"
	if other == w2 {
		otherName = "w2"
	}
	if *r.Worker != otherName {
		t.Fatalf("resumed run's worker %q, want %q", *r.Worker, otherName)
	}
	if r.WeightsSHA256 == nil {
		t.Fatal("the resumed run recorded no weights sha256")
	}
	res, err = http.Get(fmt.Sprintf("%s/api/runs/%d/weights", url, id))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	downloadStart := time.Now()
	n, _ := io.Copy(h, res.Body)
	downloadTime := time.Since(downloadStart)
	res.Body.Close()
	if got := hex.EncodeToString(h.Sum(nil)); res.StatusCode != http.StatusOK || n < 1000 || got != *r.WeightsSHA256 {
		t.Fatalf("weights of the resumed run: %d, %d bytes, sha256 %s, recorded %s", res.StatusCode, n, got, *r.WeightsSHA256)
	}
	t.Logf("weights of the resumed run: %d bytes in %s, sha256 as recorded", n, downloadTime.Round(time.Microsecond))
	if ws := listWorkers(t, url); ws[otherName].State == "lost" {
		t.Fatalf("the live worker counts as lost: %+v", ws)
	}

	// A cancel made through the server reaches the remote worker.
	w3 := startWorker(t, bin, db, t.TempDir(), "w3")
	id = queue(t, url, 1, `{"epochs": 200, "batch_size": 16, "train_limit": 3000}`)[0]
	r = waitRun(t, url, id, 2*time.Minute, "train", func(r runs.Run) bool { return len(r.Epochs) >= 1 && r.Worker != nil })
	trainer := other
	if *r.Worker == "w3" {
		trainer = w3
	}
	cancelled := time.Now()
	res, err = http.Post(fmt.Sprintf("%s/api/runs/%d/cancel", url, id), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if r = fetchRun(t, url, id); r.Status != "cancelled" {
		t.Fatalf("after cancel: %s", r.Status)
	}
	line := fmt.Sprintf("run=%d", id)
	for len(filter(trainer.logged("training stopped"), line)) == 0 {
		if time.Since(cancelled) > 30*time.Second {
			t.Fatalf("worker %s did not stop the cancelled run:\n%s", *r.Worker, strings.Join(trainer.logged(""), "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("cancel of a remote run: training stopped %s after the request", time.Since(cancelled).Round(time.Millisecond))

	// SIGTERM hands the run over at once; the worker deregisters.
	id = queue(t, url, 1, long)[0]
	r = waitRun(t, url, id, 2*time.Minute, "train 2 epochs", func(r runs.Run) bool { return len(r.Epochs) >= 2 && r.Worker != nil })
	leaving, staying, stayingName := w3, other, otherName
	if *r.Worker != "w3" {
		leaving, staying, stayingName = other, w3, "w3"
	}
	leavingName := *r.Worker
	leaving.cmd.Process.Signal(syscall.SIGTERM)
	if err := leaving.cmd.Wait(); err != nil {
		t.Fatalf("worker %s after SIGTERM: %v", leavingName, err)
	}
	if len(leaving.logged("handed back")) == 0 {
		t.Errorf("worker %s did not log handing its run back", leavingName)
	}
	r = waitRun(t, url, id, 2*time.Minute, "be taken over", func(r runs.Run) bool { return r.Worker != nil && *r.Worker == stayingName })
	r = waitRun(t, url, id, 3*time.Minute, "succeed", func(r runs.Run) bool { return r.Status == "succeeded" })
	if len(r.Epochs) != 8 {
		t.Fatalf("handed-over run recorded %d epochs, want 8", len(r.Epochs))
	}
	if ws := listWorkers(t, url); len(ws) != 2 || ws[leavingName].Name != "" || ws[stayingName].State == "lost" {
		t.Fatalf("after SIGTERM of %s: %+v, want it gone and %s live (the killed one lost)", leavingName, ws, stayingName)
	}
	_ = staying

	// The same four runs on one worker, for comparison.
	start = time.Now()
	for _, id := range queue(t, url, 4, `{"epochs": 3, "batch_size": 32, "train_limit": 600}`) {
		waitRun(t, url, id, 4*time.Minute, "succeed", func(r runs.Run) bool { return r.Status == "succeeded" })
	}
	t.Logf("4 runs on one warm worker: %s (two warm workers: %s)", time.Since(start).Round(time.Millisecond), twoWorkers.Round(time.Millisecond))
}

func filter(lines []string, s string) []string {
	var out []string
	for _, l := range lines {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}
