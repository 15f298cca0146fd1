package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/runs"
)

func TestWorkersAndWaiting(t *testing.T) { eachDB(t, testWorkersAndWaiting) }

// testWorkersAndWaiting: serve's in-process worker is listed by GET
// /api/workers and on /workers (linked from the nav); a run asking for a
// device kind no live worker offers says so in the API and on its page; a
// bad device kind is refused naming the field; with --workers 0 nothing is
// listed and every queued run says it waits for a worker.
func testWorkersAndWaiting(t *testing.T, dialect migrations.Dialect) {
	a := setupOn(t, dialect, 1)
	code, b, _ := a.do(t, "GET", "/api/workers", "")
	var list struct {
		Workers []map[string]json.RawMessage `json:"workers"`
	}
	if err := json.Unmarshal(b, &list); code != http.StatusOK || err != nil || len(list.Workers) != 1 {
		t.Fatalf("GET /api/workers: %d %s", code, b)
	}
	for _, k := range []string{"name", "host", "devices", "version", "runs", "last_heartbeat", "state"} {
		if _, ok := list.Workers[0][k]; !ok {
			t.Errorf("worker lacks %q: %s", k, b)
		}
	}
	var ws struct{ Workers []runs.Worker }
	json.Unmarshal(b, &ws)
	w := ws.Workers[0]
	if w.Name != a.srv.trainer.Name() || !slices.Equal(w.Devices, []string{"cpu"}) || w.State != runs.WorkerIdle || w.Runs == nil {
		t.Fatalf("in-process worker %+v, want %q idle on cpu", w, a.srv.trainer.Name())
	}
	code, page, _ := a.do(t, "GET", "/workers", "")
	if code != http.StatusOK || !strings.Contains(string(page), w.Name) || !strings.Contains(string(page), `href="/workers"`) {
		t.Fatalf("/workers: %d, lists the worker and links itself: %v", code, strings.Contains(string(page), w.Name))
	}

	_, ids := a.create(t, `{"preset": "mnist-nn1", "overrides": {"epochs": 1, "train_limit": 300, "device": "gpu"}}`)
	r := a.run(t, ids[0])
	if r.Status != runs.StatusQueued || r.Worker != nil || r.Waiting == nil || *r.Waiting != "waiting for a gpu worker; none is connected" {
		t.Fatalf("gpu run: %s, worker %v, waiting %v", r.Status, r.Worker, r.Waiting)
	}
	if _, page, _ := a.do(t, "GET", "/runs/"+itoa(ids[0]), ""); !strings.Contains(string(page), "waiting for a gpu worker; none is connected") {
		t.Fatal("the run page does not say what the gpu run waits for")
	}
	code, b, _ = a.do(t, "POST", "/api/experiments", `{"preset": "mnist-nn1", "overrides": {"device": "tpu"}}`)
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(b), `"device"`) {
		t.Fatalf("device tpu: %d %s, want 422 naming device", code, b)
	}

	pages := setupOn(t, dialect, 0)
	if code, b, _ := pages.do(t, "GET", "/api/workers", ""); code != http.StatusOK || string(b) != "{\"workers\":[]}\n" {
		t.Fatalf("no workers: %d %s", code, b)
	}
	_, ids = pages.create(t, `{"preset": "mnist-nn1", "overrides": {"epochs": 1, "train_limit": 300}}`)
	if r := pages.run(t, ids[0]); r.Waiting == nil || *r.Waiting != "waiting for a worker; none is connected" {
		t.Fatalf("queued run without workers: waiting %v", r.Waiting)
	}
}

// TestBusyWorkerHandsBackJobs: a worker serves its devices' queues and the
// "any" queue, so it may claim a job while its only device trains a run; it
// hands that job back to the queue (River's snooze, no attempt used) for a
// worker with a device free, rather than holding it until its own device
// frees, and trains it later itself when no other worker took it.
func TestBusyWorkerHandsBackJobs(t *testing.T) {
	t.Parallel()
	a := setupCfg(t, Config{Workers: 1})
	_, long := a.create(t, `{"name": "long", "preset": "mnist-cnn2", "overrides": {"epochs": 40, "train_limit": 4000, "device": "cpu"}}`)
	a.waitFor(t, long[0], 2*time.Minute, func(r runs.Run) bool { return r.Status == runs.StatusRunning })
	_, short := a.create(t, `{"name": "short", "preset": "mnist-nn1", "overrides": {"epochs": 1, "train_limit": 300}}`)
	jobID, err := runs.NewStore(a.srv.db.Gorm).JobID(t.Context(), short[0])
	if err != nil || jobID == 0 {
		t.Fatalf("job of the short run: %d (%v)", jobID, err)
	}
	// Seen claimed, then handed back (available to every worker again, on
	// the same attempt) while the long run trains.
	var states []string
	var attempts []int
	handedBack := func() bool {
		n := len(states)
		return n >= 2 && states[n-2] == "running" && states[n-1] == "available"
	}
	deadline := time.Now().Add(30 * time.Second)
	for !handedBack() && time.Now().Before(deadline) {
		var state string
		var attempt int
		if err := a.srv.db.SQL.QueryRow(`SELECT state, attempt FROM river_job WHERE id = `+itoa(jobID)).Scan(&state, &attempt); err != nil {
			t.Fatal(err)
		}
		if len(states) == 0 || states[len(states)-1] != state {
			states, attempts = append(states, state), append(attempts, attempt)
		}
		if r := a.run(t, long[0]); r.Status != runs.StatusRunning {
			t.Fatalf("the long run ended (%s) before the short run's job was handed back; job states %v", r.Status, states)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !handedBack() {
		t.Fatalf("the short run's job was never handed back while the only device trained: states %v", states)
	}
	// River counts an attempt when it claims a job and takes it back on a
	// snooze; a job that failed waiting (its timeout) would keep it.
	if last := attempts[len(attempts)-1]; last != 0 {
		t.Errorf("the handed-back job is on attempt %d (states %v, attempts %v); a hand-back uses none", last, states, attempts)
	}
	if r := a.run(t, short[0]); r.Status != runs.StatusQueued {
		t.Fatalf("short run %s while the device trains the long one", r.Status)
	}
	if code, b, _ := a.do(t, "POST", "/api/runs/"+itoa(long[0])+"/cancel", ""); code != http.StatusOK {
		t.Fatalf("cancel: %d %s", code, b)
	}
	a.waitFor(t, short[0], 2*time.Minute, func(r runs.Run) bool { return r.Status == runs.StatusSucceeded })
}
