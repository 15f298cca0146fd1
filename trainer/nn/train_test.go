package nn

import (
	"bytes"
	"context"
	"testing"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/trainer/dataset"
)

func preset(t testing.TB, name string) experiments.Spec {
	t.Helper()
	p, ok := experiments.PresetByName(name)
	if !ok {
		t.Fatalf("no preset %s", name)
	}
	return p.Spec
}

func mnist(t *testing.T) (train, test *dataset.Set) {
	t.Helper()
	train, test, err := dataset.MNIST()
	if err != nil {
		t.Fatal(err)
	}
	return train, test
}

// TestTrainMNISTShort trains mnist-nn1 on 2,000 images for 2 epochs, checks
// the test accuracy on all 10,000 test images, and checks that saving and
// loading the weights gives exactly the same result.
func TestTrainMNISTShort(t *testing.T) {
	t.Parallel()
	full, test := mnist(t)
	spec := preset(t, "mnist-nn1")
	spec.Epochs = 2
	spec.TrainLimit = 2000
	spec.BatchSize = 64 // 32 steps per epoch; at 256 two epochs are only 16 steps
	spec.ValFraction = 0.02
	train, val := dataset.Split(full, spec)
	m, err := Build(spec, spec.BatchSize)
	if err != nil {
		t.Fatal(err)
	}
	var epochs []runs.Epoch
	batches := 0
	err = m.Fit(context.Background(), train, val, 0, Hooks{
		OnBatch: func(p Progress) { batches++ },
		OnEpoch: func(e runs.Epoch) error { epochs = append(epochs, e); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(epochs) != 2 || batches != 2*32 {
		t.Fatalf("got %d epochs and %d batches, want 2 and 64", len(epochs), batches)
	}
	t.Logf("epochs: %+v", epochs)
	if epochs[1].Loss >= epochs[0].Loss {
		t.Errorf("training loss did not fall: %v", epochs)
	}
	res, err := m.Evaluate(test)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("test accuracy %.4f loss %.4f, %.3f ms/image", res.Accuracy, res.Loss, res.MsPerImage)
	if res.Images != 10000 || res.Accuracy <= 0.85 {
		t.Errorf("test: %d images, accuracy %.4f, want 10000 and > 0.85", res.Images, res.Accuracy)
	}
	total := 0
	for _, row := range res.Confusion {
		for _, c := range row {
			total += c
		}
	}
	if total != 10000 || len(res.Misclassified) != maxExamples || res.Misclassified[0].PNG == "" {
		t.Errorf("confusion total %d, %d examples", total, len(res.Misclassified))
	}

	var buf bytes.Buffer
	if err := m.WriteWeights(&buf); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(bytes.NewReader(buf.Bytes()), 1000)
	if err != nil {
		t.Fatal(err)
	}
	res2, err := loaded.Evaluate(test)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Accuracy != res.Accuracy || res2.Loss-res.Loss > 1e-6 || res2.Loss-res.Loss < -1e-6 {
		t.Errorf("after load: accuracy %v loss %v, want %v %v", res2.Accuracy, res2.Loss, res.Accuracy, res.Loss)
	}
}
