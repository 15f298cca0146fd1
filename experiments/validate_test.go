package experiments

import (
	"errors"
	"testing"
)

func TestValidateNamesEveryFieldAtOnce(t *testing.T) {
	t.Parallel()
	p, _ := PresetByName("mnist-cnn1")
	s := p.Spec.Clone()
	s.Epochs = 0
	s.BatchSize = 70000
	s.LearningRate = 11
	s.Optimizer = "rmsprop"
	s.ValFraction = 0.6
	s.Layers[0].Kernel = 40 // larger than the 28x28 input
	s.Layers[4].Rate = 1.5
	err := s.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate() = %v, want a *ValidationError", err)
	}
	want := map[string]string{
		"epochs":           "epochs must be 1..1000",
		"batch_size":       "batch size must be 1..60000",
		"learning_rate":    "learning rate must be > 0 and <= 10",
		"optimizer":        `optimizer must be "adam" or "sgd"`,
		"val_fraction":     "training and validation fractions together must be <= 1",
		"layers[0].kernel": "kernel must be 1..28 (the layer's input is 28x28)",
		"layers[4].rate":   "rate must be >= 0 and < 1",
	}
	for k, msg := range want {
		if ve.Fields[k] != msg {
			t.Errorf("field %s: got %q, want %q", k, ve.Fields[k], msg)
		}
	}
	if len(ve.Fields) != len(want) {
		t.Errorf("got %d errors %v, want %d", len(ve.Fields), ve.Fields, len(want))
	}
}

func TestValidateLayerStructure(t *testing.T) {
	t.Parallel()
	base, _ := PresetByName("mnist-nn1")
	cases := []struct {
		name  string
		edit  func(*Spec)
		field string
	}{
		{"dense on image", func(s *Spec) { s.Layers = s.Layers[1:] }, "layers[0].type"},
		{"wrong output width", func(s *Spec) { s.Layers[2].Units = 12 }, "layers[2]"},
		{"no layers", func(s *Spec) { s.Layers = nil }, "layers"},
		{"unknown type", func(s *Spec) { s.Layers[1].Type = "lstm" }, "layers[1].type"},
		{"softmax inside", func(s *Spec) { s.Layers[1].Activation = ActSoftmax }, "layers[1].activation"},
		{"conv after flatten", func(s *Spec) {
			s.Layers = append([]Layer{flatten(), conv(4, 3, PadSame)}, s.Layers[1:]...)
		}, "layers[1].type"},
		{"bad padding", func(s *Spec) {
			s.Layers = append([]Layer{{Type: LayerConv2D, Filters: 4, Kernel: 3, Padding: "full"}}, s.Layers...)
		}, "layers[0].padding"},
		{"pool too big", func(s *Spec) { s.Layers = append([]Layer{pool(29)}, s.Layers...) }, "layers[0].pool"},
		{"bad dataset", func(s *Spec) { s.Dataset = "cifar" }, "dataset"},
		{"negative cap", func(s *Spec) { s.TrainLimit = -1 }, "train_limit"},
	}
	for _, c := range cases {
		s := base.Spec.Clone()
		c.edit(&s)
		var ve *ValidationError
		if err := s.Validate(); !errors.As(err, &ve) || ve.Fields[c.field] == "" {
			t.Errorf("%s: Validate() = %v, want an error on %s", c.name, err, c.field)
		}
	}
}

func TestSummaryShapes(t *testing.T) {
	t.Parallel()
	p, _ := PresetByName("mnist-cnn2")
	sum := p.Spec.Summarize()
	want := []string{"(None, 28, 28, 16)", "(None, 14, 14, 16)", "(None, 14, 14, 36)", "(None, 7, 7, 36)", "(None, 7, 7, 36)",
		"(None, 1764)", "(None, 128)", "(None, 128)", "(None, 10)"}
	for i, l := range sum.Layers {
		if l.OutputShape != want[i] {
			t.Errorf("layer %d %s: shape %s, want %s", i, l.Name, l.OutputShape, want[i])
		}
	}
	if sum.Layers[0].Name != "conv2d_1" || sum.Layers[1].Name != "max_pooling2d_1" || sum.TrainableParams != sum.TotalParams {
		t.Errorf("summary = %+v", sum)
	}
	m1, _ := PresetByName("captcha-model1")
	s1 := m1.Spec.Summarize()
	if s1.TotalParams-s1.TrainableParams != 128 { // BatchNorm(64)'s moving mean and variance
		t.Errorf("captcha-model1 non-trainable = %d, want 128", s1.TotalParams-s1.TrainableParams)
	}
}
