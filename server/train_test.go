package server

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/migrations/dbtest"
	"github.com/trainyard/trainyard/runs"
)

// TestTrainThroughQueue trains NN 1 on 2,000 images for 2 epochs through the
// real queue and workers, then checks what was stored and the weights file.
func TestTrainThroughQueue(t *testing.T) { eachDB(t, testTrainThroughQueue) }

func testTrainThroughQueue(t *testing.T, dialect migrations.Dialect) {
	a := setupOn(t, dialect, 1)
	_, ids := a.create(t, `{"name": "nn1 e2e", "preset": "mnist-nn1", "overrides": {"epochs": 2, "batch_size": 32, "train_limit": 2000, "seed": 1}}`)
	id := ids[0]

	// Watch the event stream while it trains: it must carry epochs and end with the final status.
	kinds := make(chan map[string]int, 1)
	go func() {
		seen := map[string]int{}
		defer func() { kinds <- seen }()
		res, err := http.Get(a.url + "/api/runs/" + itoa(id) + "/events")
		if err != nil {
			return
		}
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if k, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				seen[k]++
			}
			if strings.Contains(sc.Text(), `"status":"succeeded"`) {
				return
			}
		}
	}()

	r := a.waitFor(t, id, 3*time.Minute, func(r runs.Run) bool { return r.Status.Done() })
	if r.Status != runs.StatusSucceeded {
		t.Fatalf("run ended %s: %s", r.Status, r.Error)
	}
	if len(r.Epochs) != 2 || r.Epochs[0].Epoch != 1 || r.Epochs[1].Epoch != 2 {
		t.Fatalf("epochs = %+v", r.Epochs)
	}
	if r.Worker == nil || *r.Worker != a.srv.trainer.Name() || r.Waiting != nil {
		t.Fatalf("run's worker %v, waiting %v; want %q and nil", r.Worker, r.Waiting, a.srv.trainer.Name())
	}
	for _, e := range r.Epochs {
		if e.Loss <= 0 || e.ValAccuracy == nil || *e.ValAccuracy <= 0 || e.Seconds <= 0 || e.LearningRate != 0.001 {
			t.Errorf("epoch %+v has empty metrics", e)
		}
	}
	if r.Test == nil || r.Test.Accuracy <= 0.85 || r.Test.Images != 10000 {
		t.Fatalf("test result = %+v, want accuracy > 0.85 on 10,000 images", r.Test)
	}
	total := 0
	for _, row := range r.Test.Confusion {
		for _, n := range row {
			total += n
		}
	}
	if len(r.Test.Confusion) != 10 || total != 10000 || r.Test.MsPerImage <= 0 || len(r.Test.Misclassified) == 0 {
		t.Fatalf("confusion %dx? sums to %d, ms/image %v, %d misclassified", len(r.Test.Confusion), total, r.Test.MsPerImage, len(r.Test.Misclassified))
	}
	if r.Device != "cpu" || r.StartedAt == nil || r.FinishedAt == nil || r.TrainSeconds <= 0 {
		t.Fatalf("run = %+v", r)
	}

	code, b, h := a.do(t, "GET", "/api/runs/"+itoa(id)+"/weights", "")
	if code != http.StatusOK || !strings.Contains(h.Get("Content-Disposition"), ".safetensors") {
		t.Fatalf("weights: %d %s", code, h)
	}
	header, meta := readSafetensors(t, b)
	if !strings.Contains(meta["spec"], `"train_limit":2000`) {
		t.Fatalf("metadata spec = %q", meta["spec"])
	}
	if len(header) < 5 { // metadata + 2 weights + 2 biases
		t.Fatalf("weights header has %d entries", len(header))
	}
	select {
	case seen := <-kinds:
		if seen["epoch"] != 2 || seen["status"] < 2 {
			t.Errorf("event stream kinds = %v, want 2 epochs and the final status", seen)
		}
	case <-time.After(10 * time.Second):
		t.Error("event stream did not end after the run finished")
	}
	if code, _, _ := a.do(t, "POST", "/api/runs/"+itoa(id)+"/cancel", ""); code != http.StatusConflict {
		t.Errorf("cancel of a succeeded run: %d", code)
	}
}

// TestCancelRunning cancels a run mid-training: it stops between batches and stays cancelled.
func TestCancelRunning(t *testing.T) { eachDB(t, testCancelRunning) }

func testCancelRunning(t *testing.T, dialect migrations.Dialect) {
	a := setupOn(t, dialect, 1)
	_, ids := a.create(t, `{"preset": "mnist-nn1", "overrides": {"epochs": 200, "batch_size": 16, "train_limit": 4000}}`)
	id := ids[0]
	a.waitFor(t, id, time.Minute, func(r runs.Run) bool { return r.Status == runs.StatusRunning })
	code, b, _ := a.do(t, "POST", "/api/runs/"+itoa(id)+"/cancel", "")
	if code != http.StatusOK {
		t.Fatalf("cancel: %d %s", code, b)
	}
	r := a.run(t, id)
	time.Sleep(1500 * time.Millisecond)
	r2 := a.run(t, id)
	if r2.Status != runs.StatusCancelled || len(r2.Epochs) > len(r.Epochs)+1 {
		t.Fatalf("after cancel: status %s, epochs %d then %d", r2.Status, len(r.Epochs), len(r2.Epochs))
	}
}

// TestRestartFinishesRuns queues runs on one server, stops it mid-run, and
// checks that a second server on the same data dir finishes them without
// recording an epoch twice.
func TestRestartFinishesRuns(t *testing.T) { eachDB(t, testRestartFinishesRuns) }

func testRestartFinishesRuns(t *testing.T, dialect migrations.Dialect) {
	cfg := Config{DataDir: t.TempDir(), DB: dbtest.URL(t, dialect), Workers: 1}
	ctx := context.Background()
	a := setupCfg(t, cfg)
	_, ids := a.create(t, `{"preset": "mnist-nn1", "overrides": {"epochs": 4, "batch_size": 16, "train_limit": 3000}, "repeats": 2}`)
	// Wait for the first run to finish an epoch, then stop the process mid-run.
	a.waitFor(t, ids[0], 2*time.Minute, func(r runs.Run) bool { return len(r.Epochs) >= 1 })
	if err := a.srv.Close(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	b := setupCfg(t, cfg)
	for _, id := range ids {
		r := b.waitFor(t, id, 4*time.Minute, func(r runs.Run) bool { return r.Status.Done() })
		if r.Status != runs.StatusSucceeded {
			t.Fatalf("run %d after restart: %s %s", id, r.Status, r.Error)
		}
		if len(r.Epochs) != 4 {
			t.Fatalf("run %d: %d epochs recorded, want 4", id, len(r.Epochs))
		}
		for i, e := range r.Epochs {
			if e.Epoch != i+1 {
				t.Fatalf("run %d: epoch %d recorded at position %d", id, e.Epoch, i)
			}
		}
	}
}

// TestFailedRunShowsPlainMessage queues a run whose dataset is gone: it fails
// with one readable line on its page and in the API, never a stack trace.
func TestFailedRunShowsPlainMessage(t *testing.T) { eachDB(t, testFailedRunShowsPlainMessage) }

func testFailedRunShowsPlainMessage(t *testing.T, dialect migrations.Dialect) {
	a := setupOn(t, dialect, 1)
	_, ids := a.create(t, `{"preset": "captcha-model2", "overrides": {"epochs": 1, "source": {"kind": "dataset", "dataset_id": 999}}}`)
	r := a.waitFor(t, ids[0], time.Minute, func(r runs.Run) bool { return r.Status.Done() })
	if r.Status != runs.StatusFailed || !strings.Contains(r.Error, "999") || strings.Contains(r.Error, "\n") {
		t.Fatalf("run %s with error %q, want failed naming dataset 999 in one line", r.Status, r.Error)
	}
	t.Logf("error: %s", r.Error)
	code, b, _ := a.do(t, "GET", "/runs/"+itoa(ids[0]), "")
	page := string(b)
	if code != http.StatusOK || !strings.Contains(page, "999") || strings.Contains(page, "goroutine") || strings.Contains(page, ".go:") {
		t.Fatalf("failed run page: %d", code)
	}
	if code, _, _ := a.do(t, "GET", "/api/runs/"+itoa(ids[0])+"/weights", ""); code != http.StatusNotFound {
		t.Fatalf("weights of a failed run: %d", code)
	}
}
