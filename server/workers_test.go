package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

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
