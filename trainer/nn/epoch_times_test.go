package nn

import (
	"context"
	"os"
	"testing"

	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/trainer/dataset"
)

// TestEpochTimes trains one epoch of each MNIST preset on its full split
// (30,000 training and 12,000 validation images) with both engines and logs
// the epoch's seconds (validation included) and accuracies. It takes a few
// minutes, so it runs only with TRAINYARD_EPOCH_TIMES=1:
//
//	TRAINYARD_EPOCH_TIMES=1 go test -run TestEpochTimes -v ./trainer/nn/
func TestEpochTimes(t *testing.T) {
	if os.Getenv("TRAINYARD_EPOCH_TIMES") == "" {
		t.Skip("set TRAINYARD_EPOCH_TIMES=1 to time an epoch of each MNIST preset")
	}
	full, _ := mnist(t)
	for _, name := range []string{"mnist-nn1", "mnist-nn2", "mnist-cnn1", "mnist-cnn2"} {
		spec := preset(t, name)
		spec.Epochs = 1
		train, val := dataset.Split(full, spec)
		for _, e := range engines {
			m, err := BuildWith(spec, spec.BatchSize, Options{Engine: e})
			if err != nil {
				t.Fatal(err)
			}
			var ep runs.Epoch
			if err := m.Fit(context.Background(), train, val, 0, Hooks{OnEpoch: func(x runs.Epoch) error { ep = x; return nil }}); err != nil {
				t.Fatal(err)
			}
			t.Logf("%-10s %-7s %d train + %d val images: epoch %6.1f s, accuracy %.4f, val accuracy %.4f",
				name, e, train.N, val.N, ep.Seconds, *ep.Accuracy, *ep.ValAccuracy)
		}
	}
}
