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
