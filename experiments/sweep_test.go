package experiments

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func decodeSweep(t *testing.T, s string) Sweep {
	t.Helper()
	var sw Sweep
	if err := json.Unmarshal([]byte(s), &sw); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return sw
}

func TestSweepGrid(t *testing.T) {
	p, _ := PresetByName("mnist-cnn1")
	sw := decodeSweep(t, `{"mode": "grid", "params": {"learning_rate": [0.001, 0.0003], "epochs": {"uniform": [10, 30], "steps": 3}, "dropout": [0.25, 0.5]}}`)
	points, err := sw.Expand(p.Spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 12 {
		t.Fatalf("%d points, want 2x3x2", len(points))
	}
	seen := map[[3]float64]bool{}
	for _, pt := range points {
		s := pt.Spec
		key := [3]float64{s.LearningRate, float64(s.Epochs), s.Layers[4].Rate}
		if seen[key] {
			t.Fatalf("point %v twice", key)
		}
		seen[key] = true
		if pt.Values["epochs"] != float64(s.Epochs) || pt.Values["learning_rate"] != s.LearningRate {
			t.Fatalf("values %v do not match the spec", pt.Values)
		}
		if s.Epochs != 10 && s.Epochs != 20 && s.Epochs != 30 {
			t.Fatalf("epochs %d off the grid", s.Epochs)
		}
	}
	if p.Spec.Epochs == points[0].Spec.Epochs && p.Spec.Layers[4].Rate != 0.25 {
		t.Fatal("the base spec was changed")
	}
	// Log steps of a range.
	lr := decodeSweep(t, `{"params": {"learning_rate": {"log_uniform": [0.0001, 0.01], "steps": 3}, "layers[0].filters": [8, 16]}}`)
	points, err = lr.Expand(p.Spec)
	if err != nil || len(points) != 6 || points[1].Spec.LearningRate != 0.001 || points[2].Spec.LearningRate != 0.01 || points[3].Spec.Layers[0].Filters != 16 {
		t.Fatalf("log grid: %v %+v", err, points)
	}
}

func TestSweepRandomIsSeeded(t *testing.T) {
	p, _ := PresetByName("mnist-nn1")
	sw := decodeSweep(t, `{"mode": "random", "samples": 20, "params": {"learning_rate": {"log_uniform": [0.0001, 0.01]}, "layers[1].units": {"uniform": [32, 512]}, "batch_size": [64, 128]}}`)
	a, err := sw.Expand(p.Spec)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := sw.Expand(p.Spec)
	if len(a) != 20 {
		t.Fatalf("%d samples", len(a))
	}
	distinct := map[float64]bool{}
	for i := range a {
		s := a[i].Spec
		if s.LearningRate != b[i].Spec.LearningRate {
			t.Fatal("the same seed drew other points")
		}
		if s.LearningRate < 0.0001 || s.LearningRate > 0.01 || s.Layers[1].Units < 32 || s.Layers[1].Units > 512 || (s.BatchSize != 64 && s.BatchSize != 128) {
			t.Fatalf("point out of range: lr %g units %d batch %d", s.LearningRate, s.Layers[1].Units, s.BatchSize)
		}
		distinct[s.LearningRate] = true
	}
	if len(distinct) < 15 {
		t.Fatalf("only %d distinct learning rates in 20 draws", len(distinct))
	}
	other := p.Spec
	other.Seed++
	c, _ := sw.Expand(other)
	if c[0].Spec.LearningRate == a[0].Spec.LearningRate {
		t.Fatal("another seed drew the same first point")
	}
}

func TestSweepErrorsNameTheSetting(t *testing.T) {
	p, _ := PresetByName("mnist-nn1")
	for body, want := range map[string][2]string{
		`{"params": {"colour": [1]}}`:                                        {"sweep.params.colour", "cannot sweep"},
		`{"params": {"learning_rate": [0.001, -1]}}`:                         {"sweep.params.learning_rate", "learning_rate = -1"},
		`{"params": {"epochs": {"uniform": [10, 5], "steps": 2}}}`:           {"sweep.params.epochs", "low < high"},
		`{"params": {"learning_rate": {"log_uniform": [0, 1], "steps": 2}}}`: {"sweep.params.learning_rate", "low > 0"},
		`{"params": {"learning_rate": {"log_uniform": [0.001, 0.1]}}}`:       {"sweep.params.learning_rate", "steps"},
		`{"params": {"dropout": [0.5]}}`:                                     {"sweep.params.dropout", "no Dropout layer"},
		`{"params": {"layers[9].units": [5]}}`:                               {"sweep.params.layers[9].units", "has 3 layers"},
		`{"params": {"layers[0].units": [5]}}`:                               {"sweep.params.layers[0].units", "no units"},
		`{"mode": "random", "params": {"epochs": [1]}}`:                      {"sweep.samples", "1 to 1000"},
		`{"mode": "spiral", "params": {"epochs": [1]}}`:                      {"sweep.mode", "grid or random"},
		`{"params": {}}`: {"sweep.params", "at least one"},
		`{"params": {"epochs": [1], "asha": null}, "asha": {"metric": "x", "eta": 1}}`:          {"sweep.asha.eta", "2..10"},
		`{"params": {"epochs": [1]}, "asha": {"metric": "val_f1", "min_epochs": 1, "eta": 3}}`:  {"sweep.asha.metric", "val_loss, val_accuracy"},
		`{"params": {"epochs": [1]}, "asha": {"metric": "loss", "min_epochs": 0, "eta": 3}}`:    {"sweep.asha.min_epochs", "1..1000"},
		`{"params": {"epochs": [4, 8]}, "asha": {"metric": "loss", "min_epochs": 8, "eta": 2}}`: {"sweep.asha.min_epochs", "below the epochs of some point (at most 8)"},
	} {
		sw := decodeSweep(t, body)
		_, err := sw.Expand(p.Spec)
		var ve *ValidationError
		if !errors.As(err, &ve) || !strings.Contains(ve.Fields[want[0]], want[1]) {
			t.Errorf("%s: %v, want %s: ...%s...", body, err, want[0], want[1])
		}
	}
	big := `{"params": {"epochs": {"uniform": [1, 100], "steps": 100}, "batch_size": {"uniform": [1, 100], "steps": 100}}}`
	var ve *ValidationError
	if _, err := decodeSweep(t, big).Expand(p.Spec); !errors.As(err, &ve) || !strings.Contains(ve.Fields["sweep.params"], "over 1000 points") {
		t.Errorf("10,000-point grid: %v", err)
	}
	var sw Sweep
	if err := json.Unmarshal([]byte(`{"params": {"epochs": {"between": [1, 2]}}}`), &sw); err == nil {
		t.Error("unknown range kind accepted")
	}
}

func TestASHARungs(t *testing.T) {
	if got := (ASHA{MinEpochs: 1, Eta: 3}).Rungs(27); len(got) != 3 || got[0] != 1 || got[1] != 3 || got[2] != 9 {
		t.Fatalf("rungs = %v", got)
	}
	if got := (ASHA{MinEpochs: 5, Eta: 2}).Rungs(5); len(got) != 0 {
		t.Fatalf("rungs = %v", got)
	}
}

func TestASHAValidationMetricNeedsValidationSet(t *testing.T) {
	p, _ := PresetByName("mnist-nn1")
	spec := p.Spec.Clone()
	spec.ValFraction = 0
	sw := decodeSweep(t, `{"params": {"epochs": [4, 8]}, "asha": {"metric": "val_accuracy", "min_epochs": 2, "eta": 2}}`)
	var ve *ValidationError
	if _, err := sw.Expand(spec); !errors.As(err, &ve) || !strings.Contains(ve.Fields["sweep.asha.metric"], "val_fraction") {
		t.Fatalf("val_accuracy without a validation set: %v", err)
	}
	sw.ASHA.Metric = "accuracy"
	if _, err := sw.Expand(spec); err != nil {
		t.Fatalf("accuracy without a validation set: %v", err)
	}
}
