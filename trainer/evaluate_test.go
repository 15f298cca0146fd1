package trainer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/trainer/captcha"
	"github.com/trainyard/trainyard/trainer/nn"
)

// tinyCaptchaSpec is a small 4-head CAPTCHA model that builds and runs fast.
func tinyCaptchaSpec() experiments.Spec {
	p, _ := experiments.PresetByName("captcha-model2")
	s := p.Spec
	s.Source = &experiments.Source{Kind: experiments.SourceSynthetic, Images: 40, Seed: 2}
	s.Layers = []experiments.Layer{
		{Type: experiments.LayerConv2D, Filters: 4, Kernel: 3, Padding: experiments.PadSame, Activation: experiments.ActReLU},
		{Type: experiments.LayerMaxPool2D, Pool: 4},
		{Type: experiments.LayerBatchNorm},
		{Type: experiments.LayerFlatten},
		{Type: experiments.LayerDense, Units: 19, Activation: experiments.ActSoftmax},
	}
	s.BatchSize, s.Epochs = 16, 1
	return s
}

func TestEvaluateFileMatchesModel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m, err := nn.Build(tinyCaptchaSpec(), 16)
	if err != nil {
		t.Fatal(err)
	}
	wpath := filepath.Join(dir, "w.safetensors")
	f, err := os.Create(wpath)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.WriteWeights(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	data := filepath.Join(dir, "data")
	if err := captcha.WriteDir(data, 20, 5); err != nil {
		t.Fatal(err)
	}
	got, err := EvaluateFile(context.Background(), wpath, data)
	if err != nil {
		t.Fatal(err)
	}
	// In chunks of 7 images (20 = 7 + 7 + 6), the same numbers.
	loaded, err := LoadWeights(wpath)
	if err != nil {
		t.Fatal(err)
	}
	chunked, err := evaluateFolder(context.Background(), loaded, data, "dn", 7)
	if err != nil {
		t.Fatal(err)
	}
	if chunked.Images != 20 || *chunked.ImageAccuracy != *got.ImageAccuracy || *chunked.CharAccuracy != *got.CharAccuracy {
		t.Fatalf("in chunks %+v, whole %+v", chunked, got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := EvaluateFile(ctx, wpath, data); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled evaluation: %v, want context.Canceled", err)
	}
	samples, _ := captcha.Generate(20, 5)
	set, err := CaptchaSet(samples, "dn")
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Evaluate(set)
	if err != nil {
		t.Fatal(err)
	}
	if got.Images != 20 || got.ImageAccuracy == nil || *got.ImageAccuracy != *want.ImageAccuracy || *got.CharAccuracy != *want.CharAccuracy {
		t.Fatalf("eval %+v, model says image %v char %v", got, want.ImageAccuracy, want.CharAccuracy)
	}
	if _, err := EvaluateFile(context.Background(), wpath, ""); err == nil {
		t.Fatal("a CAPTCHA model without --data must fail")
	}
}
