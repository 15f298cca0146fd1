package nn

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/trainer/dataset"
)

// runOnce runs one forward and backward pass of n and returns the cost, each
// head's logits and every parameter's gradient, copied.
func (n *tinyNet) runOnce(t *testing.T) (cost float64, logits [][]float32, grads map[string][]float32) {
	t.Helper()
	defer n.vm.Reset()
	if err := n.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	c, err := float32s(n.m.cost.Value())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range n.m.logits {
		z, err := float32s(l.Value())
		if err != nil {
			t.Fatal(err)
		}
		logits = append(logits, append([]float32(nil), z...))
	}
	grads = map[string][]float32{}
	for _, p := range n.m.params {
		g, err := p.node.Grad()
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		d, _ := float32s(g)
		grads[p.name] = append([]float32(nil), d...)
		clear(d) // the tape machine accumulates into gradients
	}
	return float64(c[0]), logits, grads
}

// close32 reports whether got is within float32 tolerance of want.
func close32(got, want float32) bool {
	return math.Abs(float64(got-want)) <= 1e-5+1e-4*math.Abs(float64(want))
}

func compareSlices(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if !close32(got[i], want[i]) {
			if bad < 3 {
				t.Errorf("%s[%d]: fast %v, built-in %v", what, i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 3 {
		t.Errorf("%s: %d of %d values differ", what, bad, len(got))
	}
}

// TestEnginesAgree builds every layer type with both engines from the same
// random input and weights and checks that outputs, losses, every gradient
// (the input's too) and batch normalisation's moving statistics agree, over
// two steps so the statistics move twice.
func TestEnginesAgree(t *testing.T) {
	t.Parallel()
	conv := func(f, k int, same, relu bool) layerBuilder {
		return convLayer{filters: f, kernel: k, same: same, relu: relu}
	}
	cases := []struct {
		name   string
		shape  []int
		heads  int
		train  bool
		layers []layerBuilder
	}{
		{name: "dense-relu", shape: []int{5, 7}, heads: 1, layers: []layerBuilder{denseLayer{units: 6, relu: true}}},
		{name: "dense-linear", shape: []int{4, 9}, heads: 1, layers: []layerBuilder{denseLayer{units: 5}}},
		{name: "conv-same-relu", shape: []int{3, 2, 7, 6}, heads: 1, layers: []layerBuilder{conv(4, 3, true, true)}},
		{name: "conv-same", shape: []int{2, 3, 6, 6}, heads: 1, layers: []layerBuilder{conv(3, 5, true, false)}},
		{name: "conv-same-even", shape: []int{2, 2, 5, 5}, heads: 1, layers: []layerBuilder{conv(3, 2, true, true)}},
		{name: "conv-valid", shape: []int{2, 2, 8, 7}, heads: 1, layers: []layerBuilder{conv(5, 3, false, true)}},
		{name: "conv-many-filters", shape: []int{2, 3, 9, 9}, heads: 1, layers: []layerBuilder{conv(70, 3, true, true)}},
		// 3x3 with 16 or more channels in and out: Winograd F(2x2, 3x3) on
		// AVX-512 (ops.winoUse), for the layer's output and all three gradients.
		{name: "conv-winograd", shape: []int{2, 3, 9, 11}, heads: 1, layers: []layerBuilder{
			conv(16, 3, true, true), conv(20, 3, false, true), conv(17, 3, true, false)}},
		// 5x5 with 32 or more channels in and out: F(2x2, 5x5).
		{name: "conv-winograd-5x5", shape: []int{2, 3, 9, 11}, heads: 1, layers: []layerBuilder{
			conv(32, 3, true, true), conv(32, 5, true, true), conv(33, 5, false, false)}},
		{name: "maxpool", shape: []int{2, 3, 7, 8}, heads: 1, layers: []layerBuilder{poolLayer{size: 2}}},
		{name: "maxpool-4", shape: []int{2, 2, 9, 9}, heads: 1, layers: []layerBuilder{poolLayer{size: 4}}},
		// Pooling right after a convolution with a fused ReLU applies the
		// ReLU's mask as it routes the gradient (ops.poolState.conv).
		{name: "conv-relu-pool", shape: []int{3, 2, 9, 11}, heads: 1, layers: []layerBuilder{
			conv(5, 3, true, true), poolLayer{size: 2}, conv(4, 3, true, true), poolLayer{size: 3}}},
		{name: "flatten-dense", shape: []int{3, 2, 3, 3}, heads: 1, layers: []layerBuilder{flattenLayer{}, denseLayer{units: 4, relu: true}}},
		{name: "dropout", shape: []int{6, 10}, heads: 1, train: true, layers: []layerBuilder{dropoutLayer{rate: 0.3}}},
		{name: "batchnorm-4d", shape: []int{4, 3, 3, 3}, heads: 1, train: true, layers: []layerBuilder{batchNormLayer{}}},
		{name: "batchnorm-2d", shape: []int{6, 5}, heads: 1, train: true, layers: []layerBuilder{denseLayer{units: 4}, batchNormLayer{}}},
		{name: "batchnorm-eval", shape: []int{3, 4}, heads: 1, layers: []layerBuilder{batchNormLayer{}}},
		{name: "cnn", shape: []int{4, 1, 12, 12}, heads: 1, train: true, layers: []layerBuilder{
			conv(6, 3, true, true), poolLayer{size: 2}, batchNormLayer{}, conv(8, 3, false, true), poolLayer{size: 2},
			flattenLayer{}, dropoutLayer{rate: 0.25}, denseLayer{units: 12, relu: true}}},
		{name: "multi-head", shape: []int{5, 6}, heads: 4, layers: []layerBuilder{denseLayer{units: 8, relu: true}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fast := newTinyNet(t, EngineFast, c.shape, c.heads, 5, c.layers...)
			ref := newTinyNet(t, EngineBuiltin, c.shape, c.heads, 5, c.layers...)
			for i, p := range fast.m.params {
				compareSlices(t, "initial "+p.name, p.data(), ref.m.params[i].data())
			}
			fast.m.setTraining(c.train)
			ref.m.setTraining(c.train)
			for step := range 2 {
				fc, fl, fg := fast.runOnce(t)
				copyDropoutMasks(t, fast, ref)
				rc, rl, rg := ref.runOnce(t)
				if !close32(float32(fc), float32(rc)) {
					t.Errorf("step %d: cost fast %v, built-in %v", step, fc, rc)
				}
				for h := range fl {
					compareSlices(t, "logits", fl[h], rl[h])
				}
				for name, g := range rg {
					compareSlices(t, "gradient of "+name, fg[name], g)
				}
				fw, rw := fast.m.Weights(), ref.m.Weights()
				for name, w := range rw {
					if strings.Contains(name, "moving_") {
						compareSlices(t, name, fw[name].Data, w.Data)
					}
				}
			}
		})
	}
}

// copyDropoutMasks gives the built-in net's dropout masks the values the fast
// net's dropout layers just drew, read off their outputs (y = x * mask).
func copyDropoutMasks(t *testing.T, fast, ref *tinyNet) {
	t.Helper()
	i := 0
	for _, node := range fast.m.g.AllNodes() {
		if node.Op() == nil || !strings.HasPrefix(node.Op().String(), "Dropout{") {
			continue
		}
		y, _ := float32s(node.Value())
		x, _ := float32s(dropoutInput(t, fast.m.g, node).Value())
		mask := ref.m.dropouts[i].t.Data().([]float32)
		for j := range mask {
			mask[j] = 0
			if x[j] != 0 {
				mask[j] = y[j] / x[j]
			}
		}
		i++
	}
	if i != len(ref.m.dropouts) {
		t.Fatalf("found %d fast dropouts, the built-in net has %d", i, len(ref.m.dropouts))
	}
}

// dropoutInput returns the node a dropout node reads.
func dropoutInput(t *testing.T, g *G.ExprGraph, node *G.Node) *G.Node {
	t.Helper()
	if it := g.From(node.ID()); it.Next() {
		return it.Node().(*G.Node)
	}
	t.Fatal("dropout has no input")
	return nil
}

// TestEnginesTrainAlike trains the same models with both engines on 2,000
// MNIST images for 2 epochs from the same seed and checks that they reach
// the same test accuracy, within the noise of different rounding and
// dropout masks.
func TestEnginesTrainAlike(t *testing.T) {
	t.Parallel()
	full, test := mnist(t)
	idx := make([]int, 2000)
	for i := range idx {
		idx[i] = i
	}
	test = test.Subset(idx)
	tinyCNN := preset(t, "mnist-cnn1")
	// No batch normalisation: in 62 steps its moving statistics (momentum
	// 0.99) are still far from the data's, so evaluation is poor with either
	// engine; TestEnginesAgree covers it.
	tinyCNN.Layers = []experiments.Layer{
		{Type: experiments.LayerConv2D, Filters: 8, Kernel: 3, Padding: experiments.PadSame, Activation: experiments.ActReLU},
		{Type: experiments.LayerMaxPool2D, Pool: 2},
		{Type: experiments.LayerFlatten},
		{Type: experiments.LayerDropout, Rate: 0.25},
		{Type: experiments.LayerDense, Units: 10, Activation: experiments.ActSoftmax},
	}
	// Two pooled convolutions of f filters, k1 and k2 wide, then softmax.
	twoConv := func(f, k1, k2 int) experiments.Spec {
		spec := preset(t, "mnist-cnn1")
		conv := func(k int) experiments.Layer {
			return experiments.Layer{Type: experiments.LayerConv2D, Filters: f, Kernel: k, Padding: experiments.PadSame, Activation: experiments.ActReLU}
		}
		pool := experiments.Layer{Type: experiments.LayerMaxPool2D, Pool: 2}
		spec.Layers = []experiments.Layer{conv(k1), pool, conv(k2), pool, {Type: experiments.LayerFlatten},
			{Type: experiments.LayerDense, Units: 10, Activation: experiments.ActSoftmax}}
		return spec
	}
	// Two 3x3 layers of 16 channels: the second runs with Winograd's
	// F(2x2, 3x3) on AVX-512. A 5x5 layer of 32 channels in and out runs
	// with F(2x2, 5x5).
	winoCNN, wino5CNN := twoConv(16, 3, 3), twoConv(32, 3, 5)
	for _, c := range []struct {
		name string
		spec experiments.Spec
		min  float64
	}{{"nn1", preset(t, "mnist-nn1"), 0.8}, {"tiny-cnn", tinyCNN, 0.7}, {"winograd-cnn", winoCNN, 0.7}, {"winograd-5x5-cnn", wino5CNN, 0.7}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			spec := c.spec
			spec.Epochs, spec.TrainLimit, spec.BatchSize, spec.ValFraction = 2, 2000, 64, 0.02
			spec.EarlyStopping, spec.ReduceLR = nil, nil
			train, val := dataset.Split(full, spec)
			acc := map[Engine]float64{}
			for _, e := range engines {
				m, err := BuildWith(spec, spec.BatchSize, Options{Engine: e})
				if err != nil {
					t.Fatal(err)
				}
				if err := m.Fit(context.Background(), train, val, 0, Hooks{}); err != nil {
					t.Fatal(err)
				}
				res, err := m.Evaluate(test)
				if err != nil {
					t.Fatal(err)
				}
				acc[e] = res.Accuracy
			}
			t.Logf("test accuracy: fast %.4f, built-in %.4f", acc[EngineFast], acc[EngineBuiltin])
			if acc[EngineFast] < c.min || acc[EngineBuiltin] < c.min || math.Abs(acc[EngineFast]-acc[EngineBuiltin]) > 0.02 {
				t.Errorf("accuracies fast %.4f, built-in %.4f: want both > %.2f and within 0.02", acc[EngineFast], acc[EngineBuiltin], c.min)
			}
		})
	}
}

// TestWeightsCrossEngine trains a multi-head CNN with batch normalisation on
// the built-in engine, writes its weights, loads them with Load (the fast
// engine) and checks that both evaluate a test set alike: the file layout
// and names, moving statistics included, are the same for both engines.
func TestWeightsCrossEngine(t *testing.T) {
	t.Parallel()
	spec := experiments.Spec{
		Dataset: experiments.DatasetCaptcha, Source: &experiments.Source{Kind: experiments.SourceSynthetic, Images: 100},
		Preprocessing: experiments.PreDenoise, Heads: 4, Optimizer: experiments.OptAdam, Epochs: 2, BatchSize: 8,
		LearningRate: 0.01, TrainFraction: 0.8, ValFraction: 0.2, Seed: 3,
		Layers: []experiments.Layer{
			{Type: experiments.LayerConv2D, Filters: 4, Kernel: 3, Padding: experiments.PadSame, Activation: experiments.ActReLU},
			{Type: experiments.LayerBatchNorm},
			{Type: experiments.LayerMaxPool2D, Pool: 4},
			{Type: experiments.LayerFlatten},
			{Type: experiments.LayerDropout, Rate: 0.5},
			{Type: experiments.LayerDense, Units: 19, Activation: experiments.ActSoftmax},
		},
	}
	ref, err := BuildWith(spec, spec.BatchSize, Options{Engine: EngineBuiltin})
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.Fit(context.Background(), randomSet(spec, 32, 1), nil, 0, Hooks{}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ref.WriteWeights(&buf); err != nil {
		t.Fatal(err)
	}
	fast, err := Load(&buf, 5)
	if err != nil {
		t.Fatal(err)
	}
	if fast.Engine() != EngineFast {
		t.Fatalf("Load built the %v engine", fast.Engine())
	}
	test := randomSet(spec, 23, 2)
	want, err := ref.Evaluate(test)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fast.Evaluate(test)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got.Loss-want.Loss) > 1e-4*math.Abs(want.Loss) || *got.CharAccuracy != *want.CharAccuracy {
		t.Errorf("fast engine after load: loss %v char accuracy %v, built-in %v %v", got.Loss, *got.CharAccuracy, want.Loss, *want.CharAccuracy)
	}
}
