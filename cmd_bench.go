package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/trainer/nn"
	"github.com/trainyard/trainyard/trainer/ops"
)

// benchPresets maps bench's short model names to the seed report's presets.
var benchPresets = map[string]string{
	"nn1": "mnist-nn1", "nn2": "mnist-nn2", "cnn1": "mnist-cnn1", "cnn2": "mnist-cnn2",
	"captcha1": "captcha-model1", "captcha2": "captcha-model2",
}

// benchResult is bench's --json output, the same fields as
// bench/pytorch_baseline.py prints.
type benchResult struct {
	Model            string  `json:"model"`
	Batch            int     `json:"batch"`
	TrainSamplesPerS float64 `json:"train_samples_per_s"`
	InferSamplesPerS float64 `json:"infer_samples_per_s"`
	PeakRSSBytes     int64   `json:"peak_rss_bytes"`
	// GFLOPS is the model's useful training work per second: the FLOPs of
	// one training step counted from the spec (forward, backward and the
	// optimizer, as experiments.Spec.Estimate counts them; a Winograd layer
	// counts as the direct convolution it replaces) times train samples/s.
	GFLOPS float64 `json:"gflops"`
	// PeakGFLOPS is this machine's multiply-add peak on the same threads,
	// measured at start with trainyard's own fastest kernel (ops.PeakGFLOPS);
	// PeakFraction is GFLOPS / PeakGFLOPS.
	PeakGFLOPS   float64 `json:"peak_gflops"`
	PeakFraction float64 `json:"peak_fraction"`
	// LatencyMs is the median time to read one image on one core (--latency).
	LatencyMs float64 `json:"latency_ms_1core,omitempty"`
}

// cmdBench measures training and inference throughput of a seed model as
// runs build it (nn.Build of its preset's Spec) on synthetic data.
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", stderr, "Usage: trainyard bench --model NAME [flags]\n\n"+
		"Measures training and inference samples/s and peak memory of one seed model,\n"+
		"built from its preset as runs build it, on random data.\nModels: nn1, nn2, cnn1, cnn2, captcha1, captcha2.")
	model := fs.String("model", "cnn2", "model: nn1, nn2, cnn1, cnn2, captcha1 or captcha2")
	batch := fs.Int("batch", 0, "batch size (default: 256 for MNIST, 128 for CAPTCHA, as bench/pytorch_baseline.py)")
	steps := fs.Int("steps", 20, "timed steps after two warm-up steps")
	minTime := fs.Duration("min-time", time.Second, "time training and inference each for at least this long, beyond --steps if need be (as bench/pytorch_baseline.py --min-time)")
	engine := fs.String("engine", "fast", "ops to build with: fast (trainer/ops) or builtin (gorgonia's)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (go tool pprof) of the timed steps to this file")
	latency := fs.Bool("latency", false, "also time inference of one image at a time on one core (median of --steps)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	name, ok := benchPresets[*model]
	if !ok {
		return fmt.Errorf("unknown model %q (one of nn1, nn2, cnn1, cnn2, captcha1, captcha2)", *model)
	}
	p, ok := experiments.PresetByName(name)
	if !ok {
		return fmt.Errorf("no preset %s", name)
	}
	opts := nn.Options{Engine: nn.EngineFast}
	switch *engine {
	case "fast":
	case "builtin":
		opts.Engine = nn.EngineBuiltin
	default:
		return fmt.Errorf("unknown engine %q (fast or builtin)", *engine)
	}
	if *batch <= 0 {
		*batch = 256
		if strings.HasPrefix(name, "captcha") {
			*batch = 128
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	// A second of the kernel on every thread: the best of its windows is the
	// peak, and the CPUs are warm when the model's timing starts.
	peak := ops.PeakGFLOPS(runtime.GOMAXPROCS(0), time.Second)
	tp, err := nn.MeasureThroughput(ctx, p.Spec, *batch, *steps, *minTime, opts)
	if err != nil {
		return err
	}
	res := benchResult{Model: *model, Batch: *batch, TrainSamplesPerS: tp.TrainSamplesPerS, InferSamplesPerS: tp.InferSamplesPerS}
	res.GFLOPS = p.Spec.Estimate(experiments.Machine{Workers: 1}).TrainFLOPsPerImage * tp.TrainSamplesPerS / 1e9
	res.PeakGFLOPS = peak
	if peak > 0 {
		res.PeakFraction = res.GFLOPS / peak
	}
	if *latency {
		if res.LatencyMs, err = oneImageLatency(p.Spec, *steps, opts); err != nil {
			return err
		}
	}
	if res.PeakRSSBytes, err = ops.PeakRSS(); err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "%s (%s) batch %d, %s engine, %s kernel, %d threads:\n  train %.0f samples/s, infer %.0f samples/s, peak RSS %.0f MiB\n"+
		"  training %.1f GFLOP/s of the model's work, %.0f%% of this machine's measured peak (%.0f GFLOP/s)\n",
		*model, name, res.Batch, opts.Engine, ops.KernelName(), runtime.GOMAXPROCS(0),
		res.TrainSamplesPerS, res.InferSamplesPerS, float64(res.PeakRSSBytes)/(1<<20),
		res.GFLOPS, 100*res.PeakFraction, res.PeakGFLOPS)
	if *latency {
		fmt.Fprintf(stdout, "  one image on one core: %.2f ms (median of %d)\n", res.LatencyMs, *steps)
	}
	return nil
}

// oneImageLatency is the median time of reading one image with a batch-1
// model on one core, as a booking script would call it.
func oneImageLatency(spec experiments.Spec, n int, opts nn.Options) (float64, error) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	m, err := nn.BuildWith(spec, 1, opts)
	if err != nil {
		return 0, err
	}
	c, h, w := spec.InputShape()
	x := make([]float32, c*h*w)
	for i := range x {
		x[i] = float32(i%7) / 7
	}
	times := make([]float64, 0, n)
	for i := range n + 2 {
		start := time.Now()
		if _, err := m.Predict(x, 1); err != nil {
			return 0, err
		}
		if i >= 2 {
			times = append(times, float64(time.Since(start).Microseconds())/1000)
		}
	}
	sort.Float64s(times)
	return times[len(times)/2], nil
}
