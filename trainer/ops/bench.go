package ops

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"gorgonia.org/gorgonia"
)

// BenchResult is the outcome of BenchModel; its JSON form is what
// `trainyard bench` prints.
type BenchResult struct {
	Model string `json:"model"`
	Batch int    `json:"batch"`
	// TrainSamplesPerS is training throughput (forward, backward and Adam)
	// after warm-up.
	TrainSamplesPerS float64 `json:"train_samples_per_s"`
	// InferSamplesPerS is inference throughput (forward and softmax, dropout
	// off).
	InferSamplesPerS float64 `json:"infer_samples_per_s"`
	// PeakRSSBytes is the process's peak resident memory (VmHWM) at the end.
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
}

// trainStep is a model with its tape machine and optimiser.
type trainStep struct {
	m      *model
	vm     gorgonia.VM
	solver *Adam
	vgs    []gorgonia.ValueGrad
}

func newTrainStep(name string, batch int, seed uint64) (*trainStep, error) {
	m, err := buildModel(name, batch, true, seed)
	if err != nil {
		return nil, err
	}
	return &trainStep{
		m:      m,
		vm:     gorgonia.NewTapeMachine(m.g, gorgonia.BindDualValues(m.learnables...)),
		solver: NewAdam(0.001),
		vgs:    gorgonia.NodesToValueGrads(m.learnables),
	}, nil
}

// step runs one forward and backward pass and one Adam update.
func (t *trainStep) step() error {
	defer t.vm.Reset()
	if err := t.vm.RunAll(); err != nil {
		return err
	}
	return t.solver.Step(t.vgs)
}

// loss returns the cost of the last step.
func (t *trainStep) loss() float32 {
	v, _ := scalarF32(t.m.cost.Value())
	return v
}

// BenchModel measures training and inference throughput of one of the seed
// report's models (see ModelNames) on synthetic random data. batch <= 0
// uses the model's default (256 for MNIST, 128 for CAPTCHA); steps <= 0 uses
// 20. Two warm-up steps are not timed. It builds gorgonia graphs, so it must
// not run while another goroutine builds one.
func BenchModel(name string, batch, steps int) (BenchResult, error) {
	def, ok := modelDefFor(name)
	if !ok {
		return BenchResult{}, fmt.Errorf("ops: unknown model %q (want one of %v)", name, ModelNames())
	}
	if batch <= 0 {
		batch = def.defaultBatch
	}
	if steps <= 0 {
		steps = 20
	}
	res := BenchResult{Model: name, Batch: batch}
	r := rand.New(rand.NewPCG(42, 42))

	ts, err := newTrainStep(name, batch, 1)
	if err != nil {
		return res, err
	}
	ts.m.fillRandom(r)
	const warmup = 2
	var start time.Time
	for i := 0; i < warmup+steps; i++ {
		if i == warmup {
			start = time.Now()
		}
		if err := ts.step(); err != nil {
			return res, fmt.Errorf("ops: training step %d: %w", i, err)
		}
	}
	res.TrainSamplesPerS = float64(steps*batch) / time.Since(start).Seconds()
	ts = nil
	runtime.GC()

	m, err := buildModel(name, batch, false, 1)
	if err != nil {
		return res, err
	}
	m.fillRandom(r)
	vm := gorgonia.NewTapeMachine(m.g)
	for i := 0; i < warmup+steps; i++ {
		if i == warmup {
			start = time.Now()
		}
		if err := vm.RunAll(); err != nil {
			return res, fmt.Errorf("ops: inference step %d: %w", i, err)
		}
		vm.Reset()
	}
	res.InferSamplesPerS = float64(steps*batch) / time.Since(start).Seconds()
	res.PeakRSSBytes, err = PeakRSS()
	return res, err
}

// PeakRSS returns the process's peak resident set size (VmHWM from
// /proc/self/status) in bytes.
func PeakRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("ops: parsing VmHWM %q: %w", rest, err)
			}
			return kb * 1024, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("ops: no VmHWM in /proc/self/status")
}
