package nn

import (
	"math"
	"testing"

	"github.com/trainyard/trainyard/experiments"
)

func TestEarlyStopper(t *testing.T) {
	t.Parallel()
	// Keras: patience 2, min_delta 0.01 on val_loss.
	e := NewEarlyStopper(&experiments.EarlyStopping{Patience: 2, MinDelta: 0.01})
	losses := []float64{1.0, 0.8, 0.795, 0.7, 0.71, 0.695, 0.72}
	wantImproved := []bool{true, true, false, true, false, false, false}
	wantStop := []bool{false, false, false, false, false, true, true}
	for i, l := range losses {
		improved, stop := e.Observe(i+1, l)
		if improved != wantImproved[i] || stop != wantStop[i] {
			t.Errorf("epoch %d loss %v: improved %v stop %v, want %v %v", i+1, l, improved, stop, wantImproved[i], wantStop[i])
		}
		if stop {
			break
		}
	}
	if best, epoch := e.Best(); best != 0.7 || epoch != 4 {
		t.Errorf("best %v at %d, want 0.7 at 4", best, epoch)
	}

	// Patience 0 stops at the first epoch without improvement, never the first.
	z := NewEarlyStopper(&experiments.EarlyStopping{Patience: 0})
	if _, stop := z.Observe(1, 1); stop {
		t.Error("stopped on the first epoch")
	}
	if _, stop := z.Observe(2, 1); !stop {
		t.Error("patience 0 did not stop on a plateau")
	}
	// NaN never improves.
	nan := NewEarlyStopper(&experiments.EarlyStopping{Patience: 5})
	if improved, _ := nan.Observe(1, math.NaN()); improved {
		t.Error("NaN counted as an improvement")
	}
	if NewEarlyStopper(nil) != nil {
		t.Error("nil config gave a stopper")
	}
}

func TestLRReducer(t *testing.T) {
	t.Parallel()
	r := NewLRReducer(&experiments.ReduceLR{Factor: 0.5, Patience: 2, MinLR: 0.0003})
	losses := []float64{1.0, 0.9, 0.9, 0.89995, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8}
	want := []float64{0.001, 0.001, 0.001, 0.0005, 0.0005, 0.0005, 0.0005, 0.00025 + 0.00005, 0.0003, 0.0003, 0.0003, 0.0003}
	lr := 0.001
	for i, l := range losses {
		lr = r.Observe(l, lr)
		if math.Abs(lr-want[i]) > 1e-12 {
			t.Fatalf("epoch %d loss %v: lr %v, want %v", i+1, l, lr, want[i])
		}
	}
}
