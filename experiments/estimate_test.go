package experiments

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestEstimateOfPresets(t *testing.T) {
	t.Parallel()
	for _, p := range Presets() {
		e := p.Spec.Estimate(Machine{Workers: 2, GFLOPS: 50})
		sum := p.Spec.Summarize()
		if e.Params != int64(sum.TotalParams) || e.Trainable != int64(sum.TrainableParams) {
			t.Errorf("%s: params %d/%d, summary says %d/%d", p.Name, e.Params, e.Trainable, sum.TotalParams, sum.TrainableParams)
		}
		if e.WeightBytes != 4*e.Params || e.OptimizerBytes != 8*e.Trainable || e.GradientBytes != 8*e.Trainable {
			t.Errorf("%s: weights %d, Adam %d, gradients %d for %d/%d params", p.Name, e.WeightBytes, e.OptimizerBytes, e.GradientBytes, e.Params, e.Trainable)
		}
		parts := e.WeightBytes + e.OptimizerBytes + e.GradientBytes + e.ActivationBytes + e.WorkspaceBytes + e.CheckpointBytes + e.DatasetBytes
		if e.MemoryBytes < parts || e.ActivationBytes <= 0 || e.DatasetBytes <= 0 {
			t.Errorf("%s: memory %d below its parts %d (%+v)", p.Name, e.MemoryBytes, parts, e)
		}
		if e.FLOPsPerImage <= 0 || e.TrainFLOPsPerImage < 2*e.FLOPsPerImage || e.EpochSeconds <= 0 {
			t.Errorf("%s: FLOPs %g / %g, epoch %g s", p.Name, e.FLOPsPerImage, e.TrainFLOPsPerImage, e.EpochSeconds)
		}
	}
}

func TestEstimateNumbers(t *testing.T) {
	t.Parallel()
	p, _ := PresetByName("captcha-model1")
	e := p.Spec.Estimate(Machine{Workers: 1})
	// The six convolutions: 31.2 + 113.2 + 157.3 + 100.6 + 50.3 + 77.0 MFLOP forward.
	if e.FLOPsPerImage < 0.52e9 || e.FLOPsPerImage > 0.54e9 {
		t.Errorf("captcha-model1 forward FLOPs = %g, want 0.53e9", e.FLOPsPerImage)
	}
	if e.EpochSeconds != 0 || strings.Contains(e.Text(), "per epoch") {
		t.Errorf("without a measured throughput: %g s, %q", e.EpochSeconds, e.Text())
	}
	// 2,000 images, 400 kept for testing, 1,280 + 320 of the rest per epoch.
	if e.TrainImages != 1280 || e.ValImages != 320 {
		t.Errorf("epoch images %d + %d, want 1280 + 320", e.TrainImages, e.ValImages)
	}
	fast := p.Spec.Estimate(Machine{Workers: 1, GFLOPS: 100})
	slow := p.Spec.Estimate(Machine{Workers: 1, GFLOPS: 50})
	if fast.EpochSeconds <= 0 || slow.EpochSeconds != 2*fast.EpochSeconds {
		t.Errorf("epoch at 100 GFLOP/s %g s, at 50 %g s", fast.EpochSeconds, slow.EpochSeconds)
	}

	// Memory grows with the batch (activations) and the workers (scratch).
	big := p.Spec.Clone()
	big.BatchSize *= 4
	if b := big.Estimate(Machine{Workers: 1}); b.ActivationBytes < 3*e.ActivationBytes || b.MemoryField != "batch_size" {
		t.Errorf("batch x4: activations %d -> %d, driven by %q", e.ActivationBytes, b.ActivationBytes, b.MemoryField)
	}
	if w := p.Spec.Estimate(Machine{Workers: 8}); w.WorkspaceBytes <= e.WorkspaceBytes {
		t.Errorf("8 workers: workspace %d, 1 worker %d", w.WorkspaceBytes, e.WorkspaceBytes)
	}
	sgd := p.Spec.Clone()
	sgd.Optimizer = OptSGD
	if s := sgd.Estimate(Machine{}); s.OptimizerBytes != 0 {
		t.Errorf("SGD keeps %d bytes of optimizer state", s.OptimizerBytes)
	}

	// More images, more memory, driven by the source once they dominate.
	many := p.Spec.Clone()
	many.Source = &Source{Kind: SourceSynthetic, Images: 40000, Seed: 1}
	m := many.Estimate(Machine{Workers: 1})
	if m.DatasetBytes < 15*e.DatasetBytes || m.MemoryField != "source.images" {
		t.Errorf("40,000 images: dataset %d bytes (2,000: %d), driven by %q", m.DatasetBytes, e.DatasetBytes, m.MemoryField)
	}
	imported := p.Spec.Clone()
	imported.Source = &Source{Kind: SourceDataset, DatasetID: 3}
	if d := imported.Estimate(Machine{Workers: 1, DatasetImages: 2000}); d.DatasetBytes != e.DatasetBytes {
		t.Errorf("an imported dataset of 2,000 images holds %d bytes, the synthetic source %d", d.DatasetBytes, e.DatasetBytes)
	}
}

// hugeSpec is the probe: 210,454,159,370 parameters.
func hugeSpec() Spec {
	p, _ := PresetByName("mnist-nn1")
	s := p.Spec.Clone()
	s.BatchSize = 60000
	s.Layers = []Layer{conv(4096, 3, PadSame), flatten(), dense(65536, ActReLU), dense(10, ActSoftmax)}
	return s
}

func TestAdmitNamesFieldAndBothNumbers(t *testing.T) {
	t.Parallel()
	s := hugeSpec()
	if err := s.Validate(); err != nil {
		t.Fatalf("the probe is a valid spec: %v", err)
	}
	e := s.Estimate(Machine{Workers: 2})
	if e.Params != 210454159370 || e.ParamsField != "layers[2].units" {
		t.Fatalf("params %d in %q", e.Params, e.ParamsField)
	}
	err := e.Admit(Limits{MaxMemoryBytes: 8 << 30, MaxParams: DefaultMaxParams})
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Admit = %v, want a *ValidationError", err)
	}
	// The weights, their gradients, Adam's moments and their copies dominate:
	// the layer holding them drives the memory too.
	if e.MemoryField != "layers[2].units" {
		t.Errorf("memory driven by %q", e.MemoryField)
	}
	got := ve.Fields["layers[2].units"]
	if !strings.HasPrefix(got, "the model has 210,454,159,370 parameters; this server allows at most 100,000,000; needs about ") ||
		!strings.HasSuffix(got, " TiB of memory; this server allows 8 GiB per run") || len(ve.Fields) != 1 {
		t.Errorf("errors %v", ve.Fields)
	}
	// At a smaller batch, with a smaller layer, the batch drives it.
	s.Layers[2].Units = 16
	e = s.Estimate(Machine{Workers: 2})
	err = e.Admit(Limits{MaxMemoryBytes: 8 << 30, MaxParams: DefaultMaxParams})
	if !errors.As(err, &ve) || !strings.HasPrefix(ve.Fields["batch_size"], "needs about ") || !strings.HasSuffix(ve.Fields["batch_size"], "iB of memory; this server allows 8 GiB per run") {
		t.Errorf("batch 60,000 with 4,096 filters: %v", err)
	}
	if err := e.Admit(Limits{}); err != nil {
		t.Errorf("no limits: %v", err)
	}
	p, _ := PresetByName("captcha-model2")
	if err := p.Spec.Estimate(Machine{Workers: 2}).Admit(Limits{MaxMemoryBytes: 8 << 30, MaxParams: DefaultMaxParams}); err != nil {
		t.Errorf("a preset is refused: %v", err)
	}
}

func TestValidateFixedCaps(t *testing.T) {
	t.Parallel()
	p, _ := PresetByName("captcha-model1")
	s := p.Spec.Clone()
	s.Source.Images = MaxSynthetic
	if err := s.Validate(); err != nil {
		t.Errorf("%d synthetic images: %v", MaxSynthetic, err)
	}
	s.Source.Images = MaxSynthetic + 1
	var ve *ValidationError
	if err := s.Validate(); !errors.As(err, &ve) || ve.Fields["source.images"] != "synthetic images must be 10..50000" {
		t.Errorf("%d synthetic images: %v", MaxSynthetic+1, err)
	}

	deep := func(n int) Spec {
		m, _ := PresetByName("mnist-nn1")
		s := m.Spec.Clone()
		s.Layers = []Layer{flatten()}
		for len(s.Layers) < n-1 {
			s.Layers = append(s.Layers, dense(16, ActReLU))
		}
		s.Layers = append(s.Layers, dense(10, ActSoftmax))
		return s
	}
	if err := deep(MaxLayers).Validate(); err != nil {
		t.Errorf("%d layers: %v", MaxLayers, err)
	}
	err := deep(5002).Validate()
	if !errors.As(err, &ve) || ve.Fields["layers"] != "a model has at most 64 layers; this one has 5002" || len(ve.Fields) != 1 {
		t.Errorf("5,002 layers: %v", err)
	}
}

func TestCheckName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"CNN 1, 50 epochs":           "",
		strings.Repeat("é", 200):     "",
		strings.Repeat("é", 201):     "name must be at most 200 characters; it has 201",
		"two\nlines":                 "name must not contain control characters (found U+000A)",
		"bell\a":                     "name must not contain control characters (found U+0007)",
		"bad \xff byte":              "name must be UTF-8 text",
		"next-line \u0085 separator": "name must not contain control characters (found U+0085)",
	} {
		if got := CheckName(name); got != want {
			t.Errorf("CheckName(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestEstimateText(t *testing.T) {
	t.Parallel()
	e := Estimate{MemoryBytes: 1 << 30, FLOPsPerImage: 0.53e9, EpochSeconds: 40.2}
	if got, want := e.Text(), "training memory 1 GiB, 0.53 GFLOP per image, about 40 s per epoch here"; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
	for b, want := range map[int64]string{0: "0 B", 1000: "1000 B", 1536: "1.5 KiB", 8 << 30: "8 GiB", 1100 << 20: "1.1 GiB", 900 << 20: "900 MiB"} {
		if got := FormatBytes(b); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", b, got, want)
		}
	}
	// Below a second the digits stay, so an epoch of 0.13 s does not read
	// "1 s" beside a total of 4 s.
	for sec, want := range map[float64]string{0.013: "0.01 s", 0.13: "0.1 s", 0.6: "0.6 s", 0.97: "1 s", 40.2: "40 s", 600: "10 min", 9000: "2.5 h", 3 * 86400: "3 days"} {
		if got := FormatSeconds(sec); got != want {
			t.Errorf("FormatSeconds(%g) = %q, want %q", sec, got, want)
		}
	}
	if got := Thousands(210454159370); got != "210,454,159,370" {
		t.Errorf("Thousands = %q", got)
	}
}

// A hostile spec (within what JSON can say) still gives an estimate that
// JSON can carry: no overflow to negative or infinite numbers.
func TestEstimateOfHostileSpec(t *testing.T) {
	t.Parallel()
	s := hugeSpec()
	s.Heads = 1 << 40
	s.BatchSize = 1 << 62
	s.Layers = append([]Layer{conv(4096, 28, PadSame)}, s.Layers...)
	e := s.Estimate(Machine{Workers: 1 << 20, GFLOPS: 1e-300})
	if e.MemoryBytes <= 0 || e.ActivationBytes < 0 || e.EpochSeconds < 0 {
		t.Errorf("estimate %+v", e)
	}
	if _, err := json.Marshal(e); err != nil {
		t.Errorf("JSON: %v", err)
	}
}
