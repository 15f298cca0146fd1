package runs

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/trainyard/trainyard/experiments"
)

func groupRun(t *testing.T, id int64, epochs int, lr float64, seed int64, valAcc []float64, testAcc float64) Run {
	t.Helper()
	p, _ := experiments.PresetByName("mnist-nn1")
	spec := p.Spec
	spec.Epochs, spec.LearningRate, spec.Seed = epochs, lr, seed
	r := Run{ID: id, Experiment: "e", Preset: p.Name, Status: StatusSucceeded, Spec: spec, Test: &TestResult{Accuracy: testAcc}}
	for i, v := range valAcc {
		r.Epochs = append(r.Epochs, Epoch{Epoch: i + 1, ValAccuracy: Float(v), Seconds: 1})
	}
	return r
}

func TestSummarize(t *testing.T) {
	s := Summarize([]float64{0.9, 0.92, 0.94})
	if s.N != 3 || math.Abs(*s.Mean-0.92) > 1e-12 || math.Abs(*s.Std-0.02) > 1e-12 || *s.Min != 0.9 || *s.Max != 0.94 {
		t.Fatalf("stats = %+v", s)
	}
	one := Summarize([]float64{0.5})
	if one.N != 1 || *one.Mean != 0.5 || one.Std != nil {
		t.Fatalf("one value: %+v, want std null", one)
	}
	none := Summarize(nil)
	b, err := json.Marshal(none)
	if err != nil || string(b) != `{"mean":null,"std":null,"min":null,"max":null,"n":0}` {
		t.Fatalf("no values: %s %v", b, err)
	}
}

func TestGroupByEpochs(t *testing.T) {
	rs := []Run{
		groupRun(t, 1, 50, 0.001, 1, []float64{0.5, 0.7}, 0.90),
		groupRun(t, 2, 100, 0.001, 1, []float64{0.6, 0.8}, 0.95),
		groupRun(t, 3, 50, 0.001, 2, []float64{0.7, 0.9}, 0.92),
		groupRun(t, 4, 100, 0.001, 2, []float64{0.6}, 0.97),
	}
	gs, err := GroupBy(rs, []string{"epochs"})
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 2 || gs[0].Label != "epochs 50" || gs[1].Label != "epochs 100" {
		t.Fatalf("groups = %+v", gs)
	}
	if got := gs[0].Runs; len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Fatalf("50-epoch group runs = %v", got)
	}
	if gs[0].Key["epochs"] != float64(50) {
		t.Fatalf("key = %v", gs[0].Key)
	}
	st := gs[0].Stats["test_accuracy"]
	if st.N != 2 || math.Abs(*st.Mean-0.91) > 1e-12 || math.Abs(*st.Std-math.Sqrt(0.0002)) > 1e-12 {
		t.Fatalf("50-epoch test accuracy = %+v", st)
	}
	// The 100-epoch band: epoch 1 from both runs, epoch 2 from one (std null).
	b := gs[1].Bands["val_accuracy"]
	if len(b.Epochs) != 2 || b.N[0] != 2 || b.N[1] != 1 || math.Abs(b.Mean[0]-0.6) > 1e-12 || b.Std[1] != nil || b.Std[0] == nil {
		t.Fatalf("100-epoch val band = %+v", b)
	}

	// Without keys, runs that differ only by seed group together.
	seeds, err := GroupBy(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(seeds) != 2 || len(seeds[0].Runs) != 2 || len(seeds[0].Key) != 0 {
		t.Fatalf("seed groups = %+v", seeds)
	}
	two, err := GroupBy(rs, []string{"epochs", "seed"})
	if err != nil || len(two) != 4 || two[0].Label != "epochs 50, seed 1" {
		t.Fatalf("by epochs and seed: %v %+v", err, two)
	}

	_, err = GroupBy(rs, []string{"epochs", "colour"})
	var uk *UnknownGroupKeyError
	if !errors.As(err, &uk) || uk.Key != "colour" || !strings.Contains(err.Error(), "learning_rate") {
		t.Fatalf("unknown key: %v", err)
	}
}
