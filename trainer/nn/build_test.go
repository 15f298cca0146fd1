package nn

import (
	"context"
	"testing"

	"github.com/trainyard/trainyard/trainer/dataset"
)

// TestPresetParamCounts checks that the graphs of the presets hold exactly
// the trainable values their summaries count.
func TestPresetParamCounts(t *testing.T) {
	t.Parallel()
	want := map[string]int{"mnist-nn1": 203530, "mnist-nn2": 407050, "mnist-cnn1": 297706, "mnist-cnn2": 242062}
	for name, n := range want {
		spec := preset(t, name)
		m, err := Build(spec, 2)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := m.NumParams(); got != n {
			t.Errorf("%s: %d trainable values, want %d", name, got, n)
		}
		if got := spec.Summarize().TrainableParams; got != n {
			t.Errorf("%s: summary says %d", name, got)
		}
	}
}

// TestCNNPresetsTrain runs a few steps of both MNIST CNNs to check that their
// graphs train and evaluate end to end, including a partial last batch.
func TestCNNPresetsTrain(t *testing.T) {
	t.Parallel()
	full, _ := mnist(t)
	for _, name := range []string{"mnist-cnn1", "mnist-cnn2"} {
		spec := preset(t, name)
		spec.Epochs = 1
		spec.BatchSize = 32
		spec.TrainLimit = 100
		spec.ValFraction = 0.001
		train, val := dataset.Split(full, spec)
		m, err := Build(spec, spec.BatchSize)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Fit(context.Background(), train, val, 0, Hooks{}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		res, err := m.Evaluate(val)
		if err != nil {
			t.Fatal(err)
		}
		if res.Images != val.N {
			t.Errorf("%s: evaluated %d of %d images", name, res.Images, val.N)
		}
	}
}

// TestSetWeightsReachesKeptPacking checks that weights set while a model
// evaluates replace those its dense layers keep packed between passes: after
// SetWeights the model's logits are those of the model the weights came from.
func TestSetWeightsReachesKeptPacking(t *testing.T) {
	spec := preset(t, "mnist-nn1")
	a, err := Build(spec, 8)
	if err != nil {
		t.Fatal(err)
	}
	spec.Seed++
	b, err := Build(spec, 8)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 8*a.size)
	for i := range x {
		x[i] = float32(i%13) / 13
	}
	before, err := a.Logits(x, 8)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetWeights(b.Weights()); err != nil {
		t.Fatal(err)
	}
	got, err := a.Logits(x, 8)
	if err != nil {
		t.Fatal(err)
	}
	want, err := b.Logits(x, 8)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i][0] != want[i][0] || got[i][len(got[i])-1] != want[i][len(want[i])-1] {
			t.Fatalf("image %d: logits %v after SetWeights, want %v (before: %v)", i, got[i], want[i], before[i])
		}
	}
}
