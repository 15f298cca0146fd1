package nn

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/trainer/dataset"
)

// randomSet returns n random images of the spec's input shape with random
// labels for every head.
func randomSet(spec experiments.Spec, n int, seed uint64) *dataset.Set {
	c, h, w := spec.InputShape()
	rng := rand.New(rand.NewPCG(seed, 1))
	s := &dataset.Set{X: make([]float32, n*c*h*w), Y: make([]int32, n*spec.Heads), N: n, C: c, H: h, W: w, Heads: spec.Heads}
	for i := range s.X {
		s.X[i] = rng.Float32()
	}
	for i := range s.Y {
		s.Y[i] = int32(rng.IntN(spec.Classes()))
	}
	for k := range spec.Classes() {
		s.Classes = append(s.Classes, string(rune('A'+k)))
	}
	return s
}

func TestFitCancel(t *testing.T) {
	t.Parallel()
	spec := preset(t, "mnist-nn1")
	spec.BatchSize = 16
	train := randomSet(spec, 160, 1)
	m, err := Build(spec, spec.BatchSize)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	batches := 0
	err = m.Fit(ctx, train, nil, 0, Hooks{OnBatch: func(p Progress) {
		batches++
		if p.Batch == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || batches != 3 {
		t.Errorf("got %v after %d batches, want context.Canceled after 3", err, batches)
	}
}

func TestFitNaN(t *testing.T) {
	t.Parallel()
	spec := preset(t, "mnist-nn1")
	spec.BatchSize = 8
	train := randomSet(spec, 64, 2)
	bad := 37
	for i := range train.Pixels(bad) {
		train.Pixels(bad)[i] = float32(math.NaN())
	}
	m, err := Build(spec, spec.BatchSize)
	if err != nil {
		t.Fatal(err)
	}
	err = m.Fit(context.Background(), train, nil, 0, Hooks{})
	var de *DivergedError
	if !errors.As(err, &de) || !errors.Is(err, ErrDiverged) || de.Epoch != 1 {
		t.Fatalf("got %v, want a DivergedError in epoch 1", err)
	}
	if !strings.Contains(err.Error(), "loss became NaN at epoch 1") || !strings.Contains(err.Error(), "lower learning rate") {
		t.Errorf("message %q", err)
	}
}

func TestFitOnEpochError(t *testing.T) {
	t.Parallel()
	spec := preset(t, "mnist-nn1")
	spec.BatchSize = 32
	m, err := Build(spec, spec.BatchSize)
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	n := 0
	err = m.Fit(context.Background(), randomSet(spec, 64, 3), nil, 27, Hooks{OnEpoch: func(e runs.Epoch) error {
		n++
		if e.Epoch != 28 {
			t.Errorf("first epoch %d, want 28 when resuming from 27", e.Epoch)
		}
		return stop
	}})
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("got %v after %d epochs", err, n)
	}
}

// TestMultiHead trains a small 4-head CAPTCHA-shaped model with batch
// normalisation, dropout and both callbacks, and checks the multi-head
// metrics and that saved weights (with moving statistics) load back exactly.
func TestMultiHead(t *testing.T) {
	t.Parallel()
	spec := experiments.Spec{
		Dataset: experiments.DatasetCaptcha, Source: &experiments.Source{Kind: experiments.SourceSynthetic, Images: 100},
		Preprocessing: experiments.PreDenoise, Heads: 4, Optimizer: experiments.OptAdam, Epochs: 6, BatchSize: 16,
		LearningRate: 0.01, TrainFraction: 0.8, ValFraction: 0.2, Seed: 5,
		Layers: []experiments.Layer{
			{Type: experiments.LayerConv2D, Filters: 4, Kernel: 3, Padding: experiments.PadValid, Activation: experiments.ActReLU},
			{Type: experiments.LayerBatchNorm},
			{Type: experiments.LayerMaxPool2D, Pool: 4},
			{Type: experiments.LayerFlatten},
			{Type: experiments.LayerDropout, Rate: 0.5},
			{Type: experiments.LayerDense, Units: 19, Activation: experiments.ActSoftmax},
		},
		EarlyStopping: &experiments.EarlyStopping{Patience: 1, RestoreBest: true},
		ReduceLR:      &experiments.ReduceLR{Factor: 0.5, Patience: 1, MinLR: 1e-4},
	}
	train, val := randomSet(spec, 40, 6), randomSet(spec, 20, 7)
	m, err := Build(spec, spec.BatchSize)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.NumParams(), spec.Summarize().TrainableParams; got != want {
		t.Errorf("%d trainable values, summary says %d", got, want)
	}
	var epochs []runs.Epoch
	err = m.Fit(context.Background(), train, val, 0, Hooks{OnEpoch: func(e runs.Epoch) error {
		epochs = append(epochs, e)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(epochs[0].Heads) != 4 {
		t.Fatalf("epoch metrics have %d heads", len(epochs[0].Heads))
	}
	// Random labels: the validation loss soon stops improving, so early
	// stopping should end training before 6 epochs and restore the best.
	if len(epochs) == spec.Epochs {
		t.Logf("early stopping did not trigger: %+v", epochs)
	}
	if mm := m.Weights()["batch_normalization_1.moving_mean"].Data; mm[0] == 0 {
		t.Error("moving mean never moved")
	}
	test := randomSet(spec, 37, 8)
	res, err := m.Evaluate(test)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, row := range res.Confusion {
		for _, c := range row {
			total += c
		}
	}
	mean := 0.0
	for _, p := range res.PerPosition {
		mean += p / 4
	}
	if total != 37*4 || len(res.PerPosition) != 4 || res.Accuracy != *res.ImageAccuracy || math.Abs(mean-*res.CharAccuracy) > 1e-12 {
		t.Errorf("confusion total %d, per position %v, accuracy %v image %v char %v", total, res.PerPosition, res.Accuracy, *res.ImageAccuracy, *res.CharAccuracy)
	}
	if len(res.Misclassified) == 0 || len(res.Misclassified[0].Truth) != 4 {
		t.Errorf("misclassified %+v", res.Misclassified)
	}
	var buf bytes.Buffer
	if err := m.WriteWeights(&buf); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(&buf, 7)
	if err != nil {
		t.Fatal(err)
	}
	res2, err := loaded.Evaluate(test)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Loss != res.Loss || *res2.CharAccuracy != *res.CharAccuracy {
		t.Errorf("after load: loss %v char %v, want %v %v", res2.Loss, *res2.CharAccuracy, res.Loss, *res.CharAccuracy)
	}
	probs, err := loaded.Predict(test.X[:2*test.Size()], 2)
	if err != nil || len(probs) != 2 || len(probs[0]) != 4*19 {
		t.Fatalf("predict: %v, %d", err, len(probs))
	}
	for h := range 4 {
		s := float32(0)
		for _, p := range probs[0][h*19 : (h+1)*19] {
			s += p
		}
		if math.Abs(float64(s)-1) > 1e-4 {
			t.Errorf("head %d probabilities sum to %v", h, s)
		}
	}
}

func TestReadWeightsErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "\x08\x00\x00\x00\x00\x00\x00\x00{}      ", "\xff\xff\xff\xff\xff\xff\xff\xff"} {
		if _, _, err := ReadWeights(strings.NewReader(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	spec := preset(t, "mnist-nn1")
	other := preset(t, "mnist-nn2")
	m, _ := Build(spec, 1)
	o, _ := Build(other, 1)
	if err := o.SetWeights(m.Weights()); err == nil {
		t.Error("weights of another shape accepted")
	}
}

// TestMultiHeadEpochAccuracyIsImageAccuracy checks that an epoch's accuracy
// and val_accuracy of a multi-head model are image accuracies (every head
// right), as the test result's accuracy is, and that the character
// accuracies are recorded beside them: the last epoch's validation metrics
// equal an evaluation of the same weights on the validation set.
func TestMultiHeadEpochAccuracyIsImageAccuracy(t *testing.T) {
	t.Parallel()
	spec := experiments.Spec{
		Dataset: experiments.DatasetCaptcha, Source: &experiments.Source{Kind: experiments.SourceSynthetic, Images: 100},
		Preprocessing: experiments.PreDenoise, Heads: 4, Optimizer: experiments.OptAdam, Epochs: 2, BatchSize: 16,
		LearningRate: 0.01, TrainFraction: 0.8, ValFraction: 0.2, Seed: 3,
		Layers: []experiments.Layer{
			{Type: experiments.LayerMaxPool2D, Pool: 4},
			{Type: experiments.LayerFlatten},
			{Type: experiments.LayerDense, Units: 19, Activation: experiments.ActSoftmax},
		},
	}
	// Heads 2-4 always read class 0, head 1 is random: characters are mostly
	// right while whole images rarely are, so the two accuracies differ.
	train, val := randomSet(spec, 64, 11), randomSet(spec, 40, 12)
	for _, s := range []*dataset.Set{train, val} {
		for i := range s.N {
			for h := 1; h < 4; h++ {
				s.Y[i*4+h] = 0
			}
		}
	}
	m, err := Build(spec, spec.BatchSize)
	if err != nil {
		t.Fatal(err)
	}
	var last runs.Epoch
	if err := m.Fit(context.Background(), train, val, 0, Hooks{OnEpoch: func(e runs.Epoch) error { last = e; return nil }}); err != nil {
		t.Fatal(err)
	}
	if last.Accuracy == nil || last.CharAccuracy == nil || last.ValAccuracy == nil || last.ValCharAccuracy == nil {
		t.Fatalf("missing metrics: %+v", last)
	}
	res, err := m.Evaluate(val)
	if err != nil {
		t.Fatal(err)
	}
	if *last.ValAccuracy != res.Accuracy || *last.ValCharAccuracy != *res.CharAccuracy {
		t.Errorf("epoch val accuracy %v, val char accuracy %v; evaluation says image %v, char %v",
			*last.ValAccuracy, *last.ValCharAccuracy, res.Accuracy, *res.CharAccuracy)
	}
	if *last.ValCharAccuracy <= *last.ValAccuracy {
		t.Errorf("val char accuracy %v should exceed image accuracy %v on this data", *last.ValCharAccuracy, *last.ValAccuracy)
	}
	mean, lowest := 0.0, 1.0
	for _, h := range last.Heads {
		mean += h.Accuracy / 4
		lowest = min(lowest, h.Accuracy)
	}
	if math.Abs(*last.CharAccuracy-mean) > 1e-12 || *last.Accuracy > lowest {
		t.Errorf("train accuracy %v, char accuracy %v; heads %+v", *last.Accuracy, *last.CharAccuracy, last.Heads)
	}
}
