package nn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
)

// resumeSpec is a small model with every piece of training state: Adam,
// batch normalisation, dropout, EarlyStopping with restore-best and a
// ReduceLROnPlateau that lowers the rate during the run.
func resumeSpec(epochs int) experiments.Spec {
	return experiments.Spec{
		Dataset: experiments.DatasetMNIST, Heads: 1, Optimizer: experiments.OptAdam, Epochs: epochs, BatchSize: 16,
		LearningRate: 0.01, TrainFraction: 0.8, ValFraction: 0.2, Seed: 3,
		Layers: []experiments.Layer{
			{Type: experiments.LayerConv2D, Filters: 4, Kernel: 3, Padding: experiments.PadValid, Activation: experiments.ActReLU},
			{Type: experiments.LayerBatchNorm},
			{Type: experiments.LayerMaxPool2D, Pool: 2},
			{Type: experiments.LayerFlatten},
			{Type: experiments.LayerDropout, Rate: 0.3},
			{Type: experiments.LayerDense, Units: 10, Activation: experiments.ActSoftmax},
		},
		EarlyStopping: &experiments.EarlyStopping{Patience: 3, RestoreBest: true},
		ReduceLR:      &experiments.ReduceLR{Factor: 0.5, Patience: 1, MinLR: 1e-4},
	}
}

func weightsSum(t *testing.T, m *Model) [32]byte {
	t.Helper()
	var b bytes.Buffer
	if err := m.WriteWeights(&b); err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b.Bytes())
}

// TestCheckpointResumesExactly trains 6 epochs without a stop, and again
// stopping after every epoch: each time the checkpoint is written, the model
// thrown away and a new one loaded from the checkpoint. Both end with the
// same weights, bit for bit, and the same per-epoch metrics.
func TestCheckpointResumesExactly(t *testing.T) {
	t.Parallel()
	spec := resumeSpec(6)
	train, val := randomSet(spec, 96, 1), randomSet(spec, 32, 2)
	ctx := context.Background()

	whole, err := Build(spec, spec.BatchSize)
	if err != nil {
		t.Fatal(err)
	}
	var want []runs.Epoch
	if err := whole.Fit(ctx, train, val, 0, Hooks{OnEpoch: func(e runs.Epoch) error { want = append(want, e); return nil }}); err != nil {
		t.Fatal(err)
	}
	if want[len(want)-1].LearningRate >= spec.LearningRate {
		t.Fatalf("the learning rate was never reduced (%v): the test would not see the reducer's state", want[len(want)-1].LearningRate)
	}

	m, err := Build(spec, spec.BatchSize)
	if err != nil {
		t.Fatal(err)
	}
	var got []runs.Epoch
	from := 0
	for from < len(want) && !(m.fit != nil && m.fit.stopped) {
		var ckpt bytes.Buffer
		stopAfterOne := func(e runs.Epoch) error {
			got = append(got, e)
			if err := m.WriteCheckpoint(&ckpt); err != nil {
				return err
			}
			return errStopHere
		}
		if err := m.Fit(ctx, train, val, from, Hooks{OnEpoch: stopAfterOne}); err != errStopHere {
			t.Fatalf("fit from %d: %v", from, err)
		}
		m, from, err = LoadCheckpoint(&ckpt, spec.BatchSize)
		if err != nil {
			t.Fatalf("load checkpoint after epoch %d: %v", len(got), err)
		}
	}
	if err := m.Fit(ctx, train, val, from, Hooks{OnEpoch: func(e runs.Epoch) error { got = append(got, e); return nil }}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d epochs resumed, %d without a stop", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.Loss != g.Loss || !sameMetric(w.ValLoss, g.ValLoss) || !sameMetric(w.Accuracy, g.Accuracy) ||
			!sameMetric(w.ValAccuracy, g.ValAccuracy) || w.LearningRate != g.LearningRate {
			t.Errorf("epoch %d: resumed %+v, without a stop %+v", i+1, g, w)
		}
	}
	if weightsSum(t, m) != weightsSum(t, whole) {
		t.Fatal("resumed weights differ from the weights trained without a stop")
	}
}

var errStopHere = stopError("stopped on purpose")

type stopError string

func (e stopError) Error() string { return string(e) }

// TestLoadCheckpointRefusesWeights: a plain weights file is not a checkpoint.
func TestLoadCheckpointRefusesWeights(t *testing.T) {
	t.Parallel()
	m, err := Build(resumeSpec(2), 16)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := m.WriteWeights(&b); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadCheckpoint(&b, 16); err == nil || !strings.Contains(err.Error(), "not a checkpoint") {
		t.Fatalf("LoadCheckpoint of a weights file: %v", err)
	}
}

// sameMetric compares two optional metrics by value (both unknown, or equal).
func sameMetric(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
