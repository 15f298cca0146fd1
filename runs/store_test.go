package runs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/migrations/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// eachDB runs test once on each database, as parallel subtests.
func eachDB(t *testing.T, test func(t *testing.T, d migrations.Dialect)) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d migrations.Dialect) {
		t.Parallel()
		test(t, d)
	})
}

// setup returns the stores over a fresh, migrated database of dialect d.
func setup(t *testing.T, d migrations.Dialect) (*Store, *experiments.Store) {
	t.Helper()
	db := dbtest.Open(t, d).Gorm
	return NewStore(db), experiments.NewStore(db)
}

func newRun(t *testing.T, s *Store, es *experiments.Store) Run {
	t.Helper()
	ctx := context.Background()
	p, _ := experiments.PresetByName("mnist-nn1")
	e := experiments.Experiment{Name: "nn1", Preset: p.Name, Spec: p.Spec, Repeats: 1}
	if err := es.CreateExperiment(ctx, &e); err != nil {
		t.Fatal(err)
	}
	r, err := s.CreateRun(ctx, e.ID, p.Spec)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRunLifecycle(t *testing.T) { eachDB(t, testRunLifecycle) }

func testRunLifecycle(t *testing.T, dialect migrations.Dialect) {
	ctx := context.Background()
	s, es := setup(t, dialect)
	r := newRun(t, s, es)
	if r.Status != StatusQueued || r.ID == 0 {
		t.Fatalf("new run = %+v", r)
	}
	if _, err := s.Start(ctx, r.ID, "cpu", "w1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Start(ctx, r.ID, "cpu", "w1", time.Minute); !errors.Is(err, ErrBusy) {
		t.Fatalf("second start while the heartbeat is fresh: %v, want ErrBusy", err)
	}
	l, err := s.Start(ctx, r.ID, "cpu", "w1", -time.Second)
	if err != nil {
		t.Fatalf("take over a run whose heartbeat is stale: %v", err)
	}
	for _, e := range []Epoch{{Epoch: 1, Loss: 1, Seconds: 2}, {Epoch: 2, Loss: 0.5, Seconds: 3}, {Epoch: 2, Loss: 0.4, Seconds: 3}} {
		if err := s.RecordEpoch(ctx, l, e, nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Run(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusRunning || got.Device != "cpu" || got.StartedAt == nil || got.Experiment != "nn1" || got.Preset != "mnist-nn1" {
		t.Fatalf("running run = %+v", got)
	}
	if len(got.Epochs) != 2 || got.Epochs[1].Loss != 0.4 || got.TrainSeconds != 5 {
		t.Fatalf("epochs = %+v, train seconds %v; want 2 epochs, the second replaced, 5 s", got.Epochs, got.TrainSeconds)
	}
	if err := s.TruncateEpochs(ctx, l, 1); err != nil {
		t.Fatal(err)
	}
	if eps, _ := s.Epochs(ctx, r.ID); len(eps) != 1 {
		t.Fatalf("after truncate to 1: %d epochs", len(eps))
	}
	test := TestResult{Accuracy: 0.9, Confusion: [][]int{{1, 0}, {0, 1}}}
	if err := s.Succeed(ctx, l, test, Weights{Artifact: "weights/1.safetensors"}, nil); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Run(ctx, r.ID)
	if got.Status != StatusSucceeded || got.Test == nil || got.Test.Accuracy != 0.9 || got.WeightsPath != "weights/1.safetensors" || got.FinishedAt == nil {
		t.Fatalf("succeeded run = %+v", got)
	}
	if _, err := s.Cancel(ctx, r.ID); !errors.Is(err, ErrFinished) {
		t.Fatalf("cancel of a finished run: %v, want ErrFinished", err)
	}
	if err := s.Fail(ctx, l, "x"); !errors.Is(err, ErrFinished) {
		t.Fatalf("fail of a finished run: %v, want ErrFinished", err)
	}
	if got2, _ := s.Run(ctx, r.ID); got2.Status != StatusSucceeded || got2.Test.Accuracy != 0.9 {
		t.Fatalf("finished run changed: %+v", got2)
	}
}

func TestCancelAndNotFound(t *testing.T) { eachDB(t, testCancelAndNotFound) }

func testCancelAndNotFound(t *testing.T, dialect migrations.Dialect) {
	ctx := context.Background()
	s, es := setup(t, dialect)
	r := newRun(t, s, es)
	got, err := s.Cancel(ctx, r.ID)
	if err != nil || got.Status != StatusCancelled {
		t.Fatalf("cancel queued: %+v, %v", got, err)
	}
	if _, err := s.Start(ctx, r.ID, "cpu", "w1", time.Minute); !errors.Is(err, ErrFinished) {
		t.Fatalf("start of a cancelled run: %v, want ErrFinished", err)
	}
	if _, err := s.Run(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown run: %v", err)
	}
	if _, err := s.Cancel(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("cancel unknown run: %v", err)
	}
	if _, err := es.Experiment(ctx, 9999); !errors.Is(err, experiments.ErrNotFound) {
		t.Fatalf("unknown experiment: %v", err)
	}
}

func TestRunsFilterAndOrder(t *testing.T) { eachDB(t, testRunsFilterAndOrder) }

func testRunsFilterAndOrder(t *testing.T, dialect migrations.Dialect) {
	ctx := context.Background()
	s, es := setup(t, dialect)
	a, b, c := newRun(t, s, es), newRun(t, s, es), newRun(t, s, es)
	lb, err := s.Start(ctx, b.ID, "cpu", "w1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Fail(ctx, lb, "loss became NaN"); err != nil {
		t.Fatal(err)
	}
	all, err := s.Runs(ctx, Filter{})
	if err != nil || len(all) != 3 || all[0].ID != c.ID || all[2].ID != a.ID {
		t.Fatalf("all runs newest first: %+v, %v", all, err)
	}
	failed, _ := s.Runs(ctx, Filter{Status: StatusFailed})
	if len(failed) != 1 || failed[0].ID != b.ID || failed[0].Error != "loss became NaN" {
		t.Fatalf("failed runs: %+v", failed)
	}
	two, err := s.RunsWithEpochs(ctx, []int64{c.ID, a.ID})
	if err != nil || len(two) != 2 || two[0].ID != c.ID {
		t.Fatalf("by ids: %+v %v", two, err)
	}
	if _, err := s.RunsWithEpochs(ctx, []int64{a.ID, 777}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing id: %v", err)
	}
	counts, err := s.CountsByExperiment(ctx)
	if err != nil || len(counts) != 3 || counts[a.ExperimentID] != 1 {
		t.Fatalf("counts by experiment = %v, %v", counts, err)
	}
	exps, err := es.Experiments(ctx, 10)
	if err != nil || len(exps) != 3 || exps[0].Spec.Summarize().TotalParams != 203530 {
		t.Fatalf("experiments: %v %v", exps, err)
	}
}

func TestCompareMarksDifferences(t *testing.T) {
	t.Parallel()
	p, _ := experiments.PresetByName("mnist-nn1")
	a, b := p.Spec.Clone(), p.Spec.Clone()
	b.Epochs = 20
	c := Compare([]Run{
		{ID: 1, Spec: a, Epochs: []Epoch{{Epoch: 1, ValAccuracy: Float(0.9), Seconds: 2}, {Epoch: 2, ValAccuracy: Float(0.95), Seconds: 4}}, Test: &TestResult{Accuracy: 0.96}},
		{ID: 2, Spec: b},
	})
	diff := map[string]bool{}
	for _, r := range c.Params {
		diff[r.Name] = r.Differs
	}
	if !diff["Epochs"] || diff["Batch size"] || diff["Layer 2"] || diff["Parameters"] {
		t.Fatalf("differences = %v", diff)
	}
	s := c.Summary[0]
	if s.BestEpoch != 2 || *s.BestValAccuracy != 0.95 || s.TotalSeconds != 6 || s.SecondsPerEpoch != 3 || s.Params != 203530 || !s.HasTest {
		t.Fatalf("summary = %+v", s)
	}
	if c.Summary[1].HasTest || c.Summary[1].EpochsRun != 0 {
		t.Fatalf("summary of an unfinished run = %+v", c.Summary[1])
	}
}

// TestLeaseLost: once another attempt takes a run over, every write of the
// first attempt is refused with ErrLeaseLost and changes nothing, and its
// publish callbacks never run.
func TestLeaseLost(t *testing.T) { eachDB(t, testLeaseLost) }

func testLeaseLost(t *testing.T, dialect migrations.Dialect) {
	ctx := context.Background()
	s, es := setup(t, dialect)
	r := newRun(t, s, es)
	old, err := s.Start(ctx, r.ID, "cpu", "w1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecordEpoch(ctx, old, Epoch{Epoch: 1, Loss: 1}, nil); err != nil {
		t.Fatal(err)
	}
	// The first attempt stalls; its heartbeat goes stale and a second takes over.
	cur, err := s.Start(ctx, r.ID, "cpu", "w1", -time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Token == old.Token || cur.Checkpoint != 1 {
		t.Fatalf("take-over lease %+v after %+v, want a new token and checkpoint epoch 1", cur, old)
	}
	published := false
	publish := func() error { published = true; return nil }
	for name, write := range map[string]func() error{
		"heartbeat": func() error { return s.Heartbeat(ctx, old) },
		"epoch":     func() error { return s.RecordEpoch(ctx, old, Epoch{Epoch: 2, Loss: 9}, publish) },
		"truncate":  func() error { return s.TruncateEpochs(ctx, old, 0) },
		"succeed": func() error {
			return s.Succeed(ctx, old, TestResult{Accuracy: 0.1}, Weights{Artifact: "weights/x"}, publish)
		},
		"fail":    func() error { return s.Fail(ctx, old, "stale") },
		"release": func() error { return s.Release(ctx, old) },
	} {
		if err := write(); !errors.Is(err, ErrLeaseLost) {
			t.Errorf("%s by the stale attempt: %v, want ErrLeaseLost", name, err)
		}
	}
	if published {
		t.Error("a stale attempt's publish ran")
	}
	got, _ := s.Run(ctx, r.ID)
	if got.Status != StatusRunning || len(got.Epochs) != 1 || got.Epochs[0].Loss != 1 || got.Test != nil {
		t.Fatalf("run after the stale attempt's writes: %+v", got)
	}
	if err := s.Heartbeat(ctx, cur); err != nil {
		t.Fatalf("heartbeat of the holder: %v", err)
	}
	if err := s.Succeed(ctx, cur, TestResult{Accuracy: 0.9}, Weights{Artifact: "weights/1"}, publish); err != nil || !published {
		t.Fatalf("succeed by the holder: %v (published %v)", err, published)
	}
	if err := s.Heartbeat(ctx, cur); !errors.Is(err, ErrFinished) {
		t.Fatalf("heartbeat on a finished run: %v, want ErrFinished", err)
	}
}

// TestPublishErrorRollsBack: when putting the file in place fails, the
// epoch or the final status is not stored either.
func TestPublishErrorRollsBack(t *testing.T) { eachDB(t, testPublishErrorRollsBack) }

func testPublishErrorRollsBack(t *testing.T, dialect migrations.Dialect) {
	ctx := context.Background()
	s, es := setup(t, dialect)
	r := newRun(t, s, es)
	l, err := s.Start(ctx, r.ID, "cpu", "w1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	if err := s.RecordEpoch(ctx, l, Epoch{Epoch: 1}, func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("record epoch: %v", err)
	}
	if err := s.Succeed(ctx, l, TestResult{}, Weights{Artifact: "weights/1"}, func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("succeed: %v", err)
	}
	got, _ := s.Run(ctx, r.ID)
	if got.Status != StatusRunning || len(got.Epochs) != 0 || got.WeightsPath != "" {
		t.Fatalf("run after failed publishes: %+v", got)
	}
}

// TestThreeStopsFail: a run whose process died three times while training
// it fails at the next start instead of resuming again; a release (a clean
// shutdown) is not a stop.
func TestThreeStopsFail(t *testing.T) { eachDB(t, testThreeStopsFail) }

func testThreeStopsFail(t *testing.T, dialect migrations.Dialect) {
	ctx := context.Background()
	s, es := setup(t, dialect)
	r := newRun(t, s, es)
	l, err := s.Start(ctx, r.ID, "cpu", "w1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, l); err != nil {
		t.Fatal(err)
	}
	if l, err = s.Start(ctx, r.ID, "cpu", "w1", time.Minute); err != nil {
		t.Fatalf("start after a release: %v", err)
	}
	for k := 1; k <= 2; k++ {
		if err := s.RecordEpoch(ctx, l, Epoch{Epoch: k}, nil); err != nil {
			t.Fatal(err)
		}
		// The process dies; the next start finds the heartbeat stale.
		if l, err = s.Start(ctx, r.ID, "cpu", "w1", -time.Second); err != nil {
			t.Fatalf("start after stop %d: %v", k, err)
		}
	}
	if _, err := s.Start(ctx, r.ID, "cpu", "w1", -time.Second); !errors.Is(err, ErrGaveUp) {
		t.Fatalf("start after the third stop: %v, want ErrGaveUp", err)
	}
	got, _ := s.Run(ctx, r.ID)
	if want := "the process stopped 3 times while training this run (last epoch 2)"; got.Status != StatusFailed || got.Error != want {
		t.Fatalf("run %s %q, want failed %q", got.Status, got.Error, want)
	}
	if _, err := s.Start(ctx, r.ID, "cpu", "w1", -time.Second); !errors.Is(err, ErrFinished) {
		t.Fatalf("start of the failed run: %v", err)
	}
}

// TestTrainingCapInWholeBatches checks what the settings say about a
// training image cap that is not a multiple of the batch size.
func TestTrainingCapInWholeBatches(t *testing.T) {
	t.Parallel()
	p, _ := experiments.PresetByName("mnist-nn1")
	spec := p.Spec
	spec.TrainLimit, spec.BatchSize = 5000, 256
	var cap string
	for _, s := range Settings(spec) {
		if s.Name == "Training image cap" {
			cap = s.Value
		}
	}
	if cap != "5,000 images (5,120 trained per epoch in whole batches of 256)" {
		t.Errorf("cap setting = %q", cap)
	}
	if WholeBatches(5000, 250) != 5000 || WholeBatchesNote(5000, 250) != "" || WholeBatches(5000, 256) != 5120 {
		t.Error("whole batches wrong")
	}
}
