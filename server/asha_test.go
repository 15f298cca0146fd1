package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trainyard/trainyard/runs"
)

// TestASHASweepEndToEnd trains a real sweep with successive halving on
// SQLite, one run at a time: four learning rates of a small MLP on 300
// MNIST images, 4 epochs, rungs at epochs 1 and 2 (eta 2) by val_loss. The
// first run (a good rate) is alone at each rung and finishes; the two runs
// at a learning rate of 1e-7 learn nothing in an epoch and are stopped at
// the first rung: status stopped, their one epoch kept, the rung on the
// run, their weights as of the stop downloadable, the reason in the error.
// The experiment page shows where each run stopped.
func TestASHASweepEndToEnd(t *testing.T) {
	t.Parallel()
	a := setup(t, 1)
	id, ids := a.create(t, `{"name": "asha", "preset": "mnist-nn1", "overrides": {"epochs": 4, "batch_size": 32, "train_limit": 300, "seed": 3},
		"sweep": {"mode": "grid", "params": {"learning_rate": [0.003, 1e-7, 2e-7, 0.001]},
		"asha": {"metric": "val_loss", "min_epochs": 1, "eta": 2}}}`)
	if len(ids) != 4 {
		t.Fatalf("%d runs, want 4", len(ids))
	}
	final := map[int64]runs.Run{}
	for _, rid := range ids {
		final[rid] = a.waitFor(t, rid, 5*time.Minute, func(r runs.Run) bool { return r.Status.Done() })
	}
	if r := final[ids[0]]; r.Status != runs.StatusSucceeded || len(r.Epochs) != 4 || r.StopRung != 0 {
		t.Fatalf("first run: %s after %d epochs (rung %d): %s", r.Status, len(r.Epochs), r.StopRung, r.Error)
	}
	perRung := map[int]int{}
	for _, rid := range ids {
		r := final[rid]
		if r.Status != runs.StatusStopped {
			continue
		}
		perRung[r.StopRung]++
		if r.StopRung != 1 && r.StopRung != 2 || len(r.Epochs) != r.StopRung || r.FinishedAt == nil ||
			!strings.Contains(r.Error, "outside the top 1/2") || r.Test != nil {
			t.Fatalf("stopped run %d: rung %d, %d epochs, finished %v, test %v, %q", rid, r.StopRung, len(r.Epochs), r.FinishedAt, r.Test, r.Error)
		}
		// The job keeps the weights just after the run is marked stopped.
		code, b, _ := a.do(t, "GET", "/api/runs/"+itoa(rid)+"/weights", "")
		for deadline := time.Now().Add(30 * time.Second); code != http.StatusOK && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			code, b, _ = a.do(t, "GET", "/api/runs/"+itoa(rid)+"/weights", "")
		}
		if code != http.StatusOK {
			t.Fatalf("weights of stopped run %d: %d %s", rid, code, b)
		}
		if _, meta := readSafetensors(t, b); !strings.Contains(meta["spec"], `"learning_rate"`) {
			t.Fatalf("weights of stopped run %d carry no spec: %v", rid, meta)
		}
	}
	for _, i := range []int{1, 2} {
		if r := final[ids[i]]; r.Status != runs.StatusStopped || r.StopRung != 1 {
			t.Fatalf("run at learning rate %g: %s (rung %d), want stopped at the rung at epoch 1", r.Spec.LearningRate, r.Status, r.StopRung)
		}
	}
	t.Logf("stopped per rung: %v; run 4: %s (rung %d, %d epochs)", perRung, final[ids[3]].Status, final[ids[3]].StopRung, len(final[ids[3]].Epochs))

	// The runs table and its CSV filter by the new status.
	code, b, _ := a.do(t, "GET", "/api/runs?status=stopped", "")
	var page runs.Page
	if code != http.StatusOK || json.Unmarshal(b, &page) != nil || len(page.Runs) != perRung[1]+perRung[2] {
		t.Fatalf("GET /api/runs?status=stopped: %d %s", code, b)
	}
	code, b, _ = a.do(t, "GET", "/api/runs.csv?q=status+%3D+stopped", "")
	if code != http.StatusOK || !strings.Contains(string(b), ",stopped,1,") || !strings.Contains(strings.SplitN(string(b), "\n", 2)[0], "status,stop_rung") {
		t.Fatalf("runs.csv of stopped runs: %d %s", code, b)
	}
	code, b, _ = a.do(t, "GET", "/experiments/"+itoa(id), "")
	html := string(b)
	if code != http.StatusOK || !strings.Contains(html, `id="sweep-rungs"`) || !strings.Contains(html, `data-stop-rung="1"`) ||
		!strings.Contains(html, "stopped early at epoch 1") || !strings.Contains(html, "stopped early") {
		t.Fatalf("experiment page: %d, no rungs or stopped runs shown", code)
	}
	code, b, _ = a.do(t, "GET", "/runs/"+itoa(ids[1]), "")
	if code != http.StatusOK || !strings.Contains(string(b), `id="run-stopped"`) || !strings.Contains(string(b), `id="download-weights"`) {
		t.Fatalf("stopped run page: %d", code)
	}
	code, b, _ = a.do(t, "GET", "/?status=stopped", "")
	if code != http.StatusOK || !strings.Contains(string(b), `badge-stopped`) {
		t.Fatalf("home filtered by stopped: %d", code)
	}
}

// TestASHAValidation: a bad asha block answers 422 naming the field and its limit.
func TestASHAValidation(t *testing.T) {
	t.Parallel()
	a := setup(t, 0)
	for body, want := range map[string]string{
		`{"metric": "f1", "min_epochs": 1, "eta": 3}`:         `"sweep.asha.metric":"metric is val_loss, val_accuracy, loss or accuracy"`,
		`{"metric": "val_loss", "min_epochs": 0, "eta": 3}`:   `"sweep.asha.min_epochs":"min_epochs must be 1..1000"`,
		`{"metric": "val_loss", "min_epochs": 1, "eta": 1}`:   `"sweep.asha.eta":"eta must be 2..10"`,
		`{"metric": "val_loss", "min_epochs": 1, "eta": 11}`:  `"sweep.asha.eta":"eta must be 2..10"`,
		`{"metric": "val_loss", "min_epochs": 4, "eta": 3}`:   `"sweep.asha.min_epochs":"min_epochs 4 must be below the epochs of some point (at most 4)`,
		`{"metric": "val_loss", "min_epochs": 1, "eta": 2.5}`: `malformed JSON`,
		`{"metric": "val_loss", "min_epoch": 1, "eta": 2}`:    `malformed JSON: json: unknown field \"min_epoch\"`,
	} {
		code, b, _ := a.do(t, "POST", "/api/experiments", `{"preset": "mnist-nn1", "overrides": {"epochs": 4},
			"sweep": {"params": {"learning_rate": [0.001, 0.01]}, "asha": `+body+`}}`)
		if (code != http.StatusUnprocessableEntity && code != http.StatusBadRequest) || !strings.Contains(string(b), want) {
			t.Errorf("asha %s: %d %s, want %s", body, code, b, want)
		}
	}
	code, b, _ := a.do(t, "POST", "/api/experiments", `{"preset": "mnist-nn1", "overrides": {"epochs": 9},
		"sweep": {"params": {"learning_rate": [0.001, 0.01]}, "asha": {"metric": "val_accuracy", "min_epochs": 1, "eta": 3}}}`)
	if code != http.StatusCreated {
		t.Fatalf("good asha sweep: %d %s", code, b)
	}
	var resp createResponse
	json.Unmarshal(b, &resp)
	code, b, _ = a.do(t, "GET", "/api/experiments/"+itoa(resp.ID), "")
	if code != http.StatusOK || !strings.Contains(string(b), `"asha":{"metric":"val_accuracy","min_epochs":1,"eta":3}`) {
		t.Fatalf("experiment keeps its asha block: %d %s", code, b)
	}
}
