package nn

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trainyard/trainyard/experiments"
)

// readmeSnippet returns the numpy code the README shows for loading weights.
func readmeSnippet(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- load-weights.py")
	if !ok {
		t.Fatal("README has no load-weights.py snippet")
	}
	_, rest, _ = strings.Cut(rest, "```python\n")
	code, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("the README's snippet has no end")
	}
	return code
}

// TestWeightsLoadInNumpy writes the weights of a CAPTCHA-shaped model (an
// even and an odd same-padded convolution, batch normalisation with moving
// statistics, pooling, flatten, dense and four heads) and of an MNIST MLP,
// runs the README's numpy code on the files and a few images, and checks its
// logits against trainyard's to 1e-4. It also checks the file names the layout.
func TestWeightsLoadInNumpy(t *testing.T) {
	t.Parallel()
	py := "/usr/bin/python3" // Debian's, where python3-numpy installs
	_, err := os.Stat(py)
	if err != nil {
		py, err = exec.LookPath("python3")
	}
	if err == nil {
		err = exec.Command(py, "-c", "import numpy").Run()
	}
	if err != nil && os.Getenv("CI") != "" {
		t.Fatalf("python3 with numpy is missing in CI (.ci/run installs python3-numpy): %v", err)
	}
	noPython := err
	captcha := experiments.Spec{
		Dataset: experiments.DatasetCaptcha, Source: &experiments.Source{Kind: experiments.SourceSynthetic, Images: 100},
		Preprocessing: experiments.PreDenoise, Heads: 4, Optimizer: experiments.OptAdam, Epochs: 1, BatchSize: 4,
		LearningRate: 0.01, TrainFraction: 0.8, ValFraction: 0.2, Seed: 9,
		Layers: []experiments.Layer{
			{Type: experiments.LayerConv2D, Filters: 3, Kernel: 4, Padding: experiments.PadSame, Activation: experiments.ActReLU},
			{Type: experiments.LayerBatchNorm},
			{Type: experiments.LayerMaxPool2D, Pool: 3},
			{Type: experiments.LayerConv2D, Filters: 4, Kernel: 3, Padding: experiments.PadValid, Activation: experiments.ActReLU},
			{Type: experiments.LayerMaxPool2D, Pool: 2},
			{Type: experiments.LayerFlatten},
			{Type: experiments.LayerDense, Units: 16, Activation: experiments.ActReLU},
			{Type: experiments.LayerDropout, Rate: 0.3},
			{Type: experiments.LayerDense, Units: 19, Activation: experiments.ActSoftmax},
		},
	}
	mlp := preset(t, "mnist-nn1")
	mlp.BatchSize = 4
	for name, spec := range map[string]experiments.Spec{"captcha": captcha, "mnist": mlp} {
		m, err := Build(spec, spec.BatchSize)
		if err != nil {
			t.Fatal(err)
		}
		// Random weights everywhere, moving statistics included, so no
		// tensor is left at a value that would hide a wrong layout.
		rng := rand.New(rand.NewPCG(7, 7))
		w := m.Weights()
		for k, v := range w {
			for i := range v.Data {
				v.Data[i] = float32(rng.NormFloat64() * 0.3)
				if strings.HasSuffix(k, "moving_variance") {
					v.Data[i] = 0.5 + rng.Float32()
				}
			}
		}
		if err := m.SetWeights(w); err != nil {
			t.Fatal(err)
		}
		const n = 3
		c, h, wd := spec.InputShape()
		x := make([]float32, n*c*h*wd)
		for i := range x {
			x[i] = float32(rng.IntN(256)) / 255
		}
		want, err := m.Logits(x, n)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		var buf bytes.Buffer
		if err := m.WriteWeights(&buf); err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(buf.Bytes(), []byte(`"layout":"inputs: float32 NCHW`)) {
			t.Errorf("%s: the weights file's metadata names no layout", name)
		}
		if noPython != nil {
			continue
		}
		weights, images := filepath.Join(dir, "w.safetensors"), filepath.Join(dir, "x.f32")
		if err := os.WriteFile(weights, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		raw := make([]byte, 4*len(x))
		for i, v := range x {
			u := math.Float32bits(v)
			raw[4*i], raw[4*i+1], raw[4*i+2], raw[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
		}
		if err := os.WriteFile(images, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		script := readmeSnippet(t) + `
import sys
spec, t = load(sys.argv[1])
x = np.fromfile(sys.argv[2], "<f4").reshape((` + itoa(n) + `, ` + itoa(c) + `, ` + itoa(h) + `, ` + itoa(wd) + `)).astype(np.float64)
out = np.concatenate(logits(spec, {k: v.astype(np.float64) for k, v in t.items()}, x), axis=1)
print(json.dumps(out.tolist()))
`
		cmd := exec.Command(py, "-", weights, images)
		cmd.Stdin = strings.NewReader(script)
		stdout, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("%s: python: %v\n%s", name, err, stderr)
		}
		var got [][]float64
		if err := json.Unmarshal(stdout, &got); err != nil {
			t.Fatalf("%s: python printed %q: %v", name, stdout, err)
		}
		if len(got) != n {
			t.Fatalf("%s: %d rows from numpy, want %d", name, len(got), n)
		}
		worst := 0.0
		for i := range n {
			if len(got[i]) != len(want[i]) {
				t.Fatalf("%s: image %d: %d logits from numpy, %d from trainyard", name, i, len(got[i]), len(want[i]))
			}
			for j := range want[i] {
				worst = max(worst, math.Abs(got[i][j]-float64(want[i][j])))
			}
		}
		t.Logf("%s: largest difference between numpy's and trainyard's logits %.2g", name, worst)
		if worst > 1e-4 {
			t.Errorf("%s: numpy's logits differ from trainyard's by %.3g (> 1e-4)", name, worst)
		}
	}
	if noPython != nil {
		t.Skipf("layout checked; python3 with numpy is not installed (apt-get install python3-numpy): %v", noPython)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
