package runs

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/migrations"
)

func TestStopAtRung(t *testing.T) { eachDB(t, testStopAtRung) }

// testStopAtRung: six runs of one sweep reach the rung at epoch 2 with
// val_loss 0.1 ... 0.6; at eta 3 the best two go on. Of the four others, the
// running ones stop with the rung and a message, the finished one stays
// succeeded; a stopped run's lease is gone (its attempt's writes get
// ErrFinished, a new Start cannot revive it, Cancel refuses it), and its
// epochs stay. Runs of another experiment are not counted.
func testStopAtRung(t *testing.T, d migrations.Dialect) {
	ctx := context.Background()
	s, es := setup(t, d)
	p, _ := experiments.PresetByName("mnist-nn1")
	e := experiments.Experiment{Name: "sweep", Spec: p.Spec, Repeats: 1}
	if err := es.CreateExperiment(ctx, &e); err != nil {
		t.Fatal(err)
	}
	other := newRun(t, s, es) // another experiment's run, worse than all
	lo, err := s.Start(ctx, other.ID, "cpu", "w1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	s.RecordEpoch(ctx, lo, Epoch{Epoch: 2, Loss: 1, ValLoss: Float(9)}, nil)
	var ids []int64
	leases := map[int64]Lease{}
	for i := range 6 {
		r, err := s.CreateRun(ctx, e.ID, p.Spec)
		if err != nil {
			t.Fatal(err)
		}
		l, err := s.Start(ctx, r.ID, "cpu", "w1", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for ep := 1; ep <= 2; ep++ {
			if err := s.RecordEpoch(ctx, l, Epoch{Epoch: ep, Loss: 1, ValLoss: Float(float64(i+1) / 10)}, nil); err != nil {
				t.Fatal(err)
			}
		}
		ids = append(ids, r.ID)
		leases[r.ID] = l
	}
	// The worst run had already finished: it is left as it is.
	if err := s.Succeed(ctx, leases[ids[5]], TestResult{Accuracy: 0.5}, Weights{}, nil); err != nil {
		t.Fatal(err)
	}
	a := experiments.ASHA{Metric: "val_loss", MinEpochs: 2, Eta: 3}
	rung, err := s.StopAtRung(ctx, e.ID, a, 2)
	if err != nil {
		t.Fatal(err)
	}
	if rung.Reached != 6 || rung.Kept != 2 || rung.Threshold != 0.2 || !slices.Equal(rung.Stopped, ids[2:5]) {
		t.Fatalf("rung = %+v, want 6 reached, 2 kept at 0.2, stopped %v", rung, ids[2:5])
	}
	for i, id := range ids {
		r, err := s.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want := map[bool]Status{true: StatusRunning, false: StatusStopped}[i < 2]
		if i == 5 {
			want = StatusSucceeded
		}
		if r.Status != want {
			t.Fatalf("run %d (val_loss 0.%d) is %s, want %s", i, i+1, r.Status, want)
		}
		if want == StatusStopped {
			if r.StopRung != 2 || r.FinishedAt == nil || len(r.Epochs) != 2 || !strings.Contains(r.Error, "outside the top 1/3") {
				t.Fatalf("stopped run = rung %d, finished %v, %d epochs, %q", r.StopRung, r.FinishedAt, len(r.Epochs), r.Error)
			}
			if !r.Status.Done() {
				t.Fatal("stopped is not a final status")
			}
		}
	}
	stopped := leases[ids[2]]
	if err := s.RecordEpoch(ctx, stopped, Epoch{Epoch: 3, Loss: 1}, nil); !errors.Is(err, ErrFinished) {
		t.Fatalf("stale attempt records an epoch of a stopped run: %v, want ErrFinished", err)
	}
	if err := s.Heartbeat(ctx, stopped); !errors.Is(err, ErrFinished) {
		t.Fatalf("heartbeat of a stopped run: %v, want ErrFinished", err)
	}
	if err := s.Succeed(ctx, stopped, TestResult{}, Weights{}, nil); !errors.Is(err, ErrFinished) {
		t.Fatalf("stale attempt succeeds a stopped run: %v, want ErrFinished", err)
	}
	if _, err := s.Start(ctx, ids[2], "cpu", "w1", -time.Second); !errors.Is(err, ErrFinished) {
		t.Fatalf("start a stopped run: %v, want ErrFinished", err)
	}
	if _, err := s.Cancel(ctx, ids[2]); !errors.Is(err, ErrFinished) {
		t.Fatalf("cancel a stopped run: %v, want ErrFinished", err)
	}
	// A second decision at the same rung changes nothing; runs stay stopped.
	if again, err := s.StopAtRung(ctx, e.ID, a, 2); err != nil || len(again.Stopped) != 0 {
		t.Fatalf("second decision: %+v, %v", again, err)
	}
	// Higher is better for accuracy: with eta 2, one run of two is kept.
	if err := s.KeepStoppedWeights(ctx, ids[2], Weights{Artifact: "weights/run-x.safetensors"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.KeepStoppedWeights(ctx, ids[2], Weights{Artifact: "weights/other"}, nil); !errors.Is(err, ErrFinished) {
		t.Fatalf("weights of a stopped run kept twice: %v", err)
	}
	if err := s.KeepStoppedWeights(ctx, ids[0], Weights{Artifact: "weights/other"}, nil); !errors.Is(err, ErrFinished) {
		t.Fatalf("weights kept for a running run: %v", err)
	}
	page, err := s.List(ctx, ListQuery{Status: StatusStopped, Limit: 10})
	if err != nil || len(page.Runs) != 3 || page.Runs[0].StopRung != 2 {
		t.Fatalf("stopped runs listed: %d, %v", len(page.Runs), err)
	}
	page, err = s.List(ctx, ListQuery{Q: "status = stopped and epochs >= 1", Limit: 10})
	if err != nil || len(page.Runs) != 3 {
		t.Fatalf("query status = stopped: %d runs, %v", len(page.Runs), err)
	}
}

func TestStopAtRungHigherIsBetter(t *testing.T) { eachDB(t, testStopAtRungHigherIsBetter) }

func testStopAtRungHigherIsBetter(t *testing.T, d migrations.Dialect) {
	ctx := context.Background()
	s, es := setup(t, d)
	a, b := newRun(t, s, es), Run{}
	var err error
	if b, err = s.CreateRun(ctx, a.ExperimentID, a.Spec); err != nil {
		t.Fatal(err)
	}
	for id, acc := range map[int64]float64{a.ID: 0.9, b.ID: 0.8} {
		l, err := s.Start(ctx, id, "cpu", "w1", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RecordEpoch(ctx, l, Epoch{Epoch: 1, Loss: 1, Accuracy: Float(acc)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	rung, err := s.StopAtRung(ctx, a.ExperimentID, experiments.ASHA{Metric: "accuracy", MinEpochs: 1, Eta: 2}, 1)
	if err != nil || !slices.Equal(rung.Stopped, []int64{b.ID}) {
		t.Fatalf("rung = %+v, %v; want run %d (accuracy 0.8) stopped", rung, err, b.ID)
	}
	// The first run to reach a rung alone is kept.
	if rung, err := s.StopAtRung(ctx, a.ExperimentID, experiments.ASHA{Metric: "accuracy", MinEpochs: 1, Eta: 2}, 7); err != nil || rung.Reached != 0 || len(rung.Stopped) != 0 {
		t.Fatalf("empty rung = %+v, %v", rung, err)
	}
}
