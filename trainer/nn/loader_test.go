package nn

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/trainer/dataset"
)

// flatHeadsSpec is a 4-head model whose first layer flattens the images, so
// that the fast engine reads them through its flat view (Model.xFlat), with
// dropout and both callbacks.
func flatHeadsSpec(epochs int) experiments.Spec {
	return experiments.Spec{
		Dataset: experiments.DatasetCaptcha, Source: &experiments.Source{Kind: experiments.SourceSynthetic, Images: 100},
		Preprocessing: experiments.PreDenoise, Heads: 4, Optimizer: experiments.OptAdam, Epochs: epochs, BatchSize: 16,
		LearningRate: 0.01, TrainFraction: 0.8, ValFraction: 0.2, Seed: 9,
		Layers: []experiments.Layer{
			{Type: experiments.LayerFlatten},
			{Type: experiments.LayerDense, Units: 16, Activation: experiments.ActReLU},
			{Type: experiments.LayerDropout, Rate: 0.3},
			{Type: experiments.LayerDense, Units: 19, Activation: experiments.ActSoftmax},
		},
		ReduceLR: &experiments.ReduceLR{Factor: 0.5, Patience: 1, MinLR: 1e-4},
	}
}

// pipelineRun is what a model trained and evaluated: its epochs without
// their timings (as JSON, which writes each float so that it reads back to
// the same bits), its weights' hash, its test loss and confusion matrix,
// and the bits of its predictions.
type pipelineRun struct {
	epochs    []string
	weights   [32]byte
	testLoss  uint64
	confusion string
	predicted []uint32
	loaders   int
}

func trainForPipeline(t *testing.T, spec experiments.Spec, engine Engine, sequential bool) pipelineRun {
	t.Helper()
	train, val, test := randomSet(spec, 100, 1), randomSet(spec, 37, 2), randomSet(spec, 45, 3)
	m, err := BuildWith(spec, spec.BatchSize, Options{Engine: engine})
	if err != nil {
		t.Fatal(err)
	}
	m.sequential = sequential
	var r pipelineRun
	m.onLoader = func(<-chan struct{}) { r.loaders++ }
	err = m.Fit(context.Background(), train, val, 0, Hooks{OnEpoch: func(e runs.Epoch) error {
		e.Seconds = 0
		b, err := json.Marshal(e)
		r.epochs = append(r.epochs, string(b))
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	r.weights = weightsSum(t, m)
	res, err := m.Evaluate(test)
	if err != nil {
		t.Fatal(err)
	}
	r.testLoss = math.Float64bits(res.Loss)
	conf, _ := json.Marshal(res.Confusion)
	r.confusion = string(conf)
	probs, err := m.Predict(test.X, test.N)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		for _, v := range p {
			r.predicted = append(r.predicted, math.Float32bits(v))
		}
	}
	return r
}

// TestPipelineMatchesSequential trains models for three epochs with the
// next batch loading on the loader goroutine, and again loading each batch
// in place before its step: the epoch metrics, the weights, the test
// evaluation and the predictions agree bit for bit. The sets do not divide
// into batches, so the partial last batches are covered too.
func TestPipelineMatchesSequential(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		spec   experiments.Spec
		engine Engine
	}{
		{"cnn/fast", resumeSpec(3), EngineFast},
		{"cnn/builtin", resumeSpec(3), EngineBuiltin},
		{"flat-heads/fast", flatHeadsSpec(3), EngineFast},
		{"flat-heads/builtin", flatHeadsSpec(3), EngineBuiltin},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			seq := trainForPipeline(t, c.spec, c.engine, true)
			pipe := trainForPipeline(t, c.spec, c.engine, false)
			if seq.loaders != 0 {
				t.Errorf("the sequential run started %d loader goroutines", seq.loaders)
			}
			// Per epoch: training and validation, then Evaluate and Predict.
			if want := 2*c.spec.Epochs + 2; pipe.loaders != want {
				t.Errorf("the pipelined run started %d loader goroutines, want %d", pipe.loaders, want)
			}
			if len(pipe.epochs) != len(seq.epochs) {
				t.Fatalf("%d epochs pipelined, %d sequential", len(pipe.epochs), len(seq.epochs))
			}
			for i := range seq.epochs {
				if pipe.epochs[i] != seq.epochs[i] {
					t.Errorf("epoch %d pipelined\n%s\nsequential\n%s", i+1, pipe.epochs[i], seq.epochs[i])
				}
			}
			if pipe.weights != seq.weights {
				t.Error("the weights differ")
			}
			if pipe.testLoss != seq.testLoss || pipe.confusion != seq.confusion {
				t.Errorf("test loss %v confusion %s, sequential %v %s", math.Float64frombits(pipe.testLoss), pipe.confusion,
					math.Float64frombits(seq.testLoss), seq.confusion)
			}
			if len(pipe.predicted) != len(seq.predicted) {
				t.Fatalf("%d predicted values, sequential %d", len(pipe.predicted), len(seq.predicted))
			}
			for i := range seq.predicted {
				if pipe.predicted[i] != seq.predicted[i] {
					t.Fatalf("prediction value %d: %v, sequential %v", i, math.Float32frombits(pipe.predicted[i]), math.Float32frombits(seq.predicted[i]))
				}
			}
		})
	}
}

// TestFitEndsItsLoaders checks that every loader goroutine Fit starts has
// returned by the time Fit does, however Fit ends: ctx cancelled in the
// middle of an epoch, an error from OnEpoch, a diverged loss, early
// stopping, and the last epoch.
func TestFitEndsItsLoaders(t *testing.T) {
	t.Parallel()
	stop := errors.New("stop")
	cases := []struct {
		name    string
		prepare func(spec *experiments.Spec, train *dataset.Set)
		hooks   func(cancel context.CancelFunc) Hooks
		want    func(error) bool
		stopped bool // EarlyStopping ends training before the last epoch
	}{
		{"cancelled mid-epoch", nil, func(cancel context.CancelFunc) Hooks {
			return Hooks{OnBatch: func(p Progress) {
				if p.Epoch == 2 && p.Batch == 3 {
					cancel()
				}
			}}
		}, func(err error) bool { return errors.Is(err, context.Canceled) }, false},
		{"OnEpoch error", nil, func(context.CancelFunc) Hooks {
			return Hooks{OnEpoch: func(e runs.Epoch) error {
				if e.Epoch == 2 {
					return stop
				}
				return nil
			}}
		}, func(err error) bool { return errors.Is(err, stop) }, false},
		{"diverged", func(_ *experiments.Spec, train *dataset.Set) {
			for i := range train.Pixels(37) {
				train.Pixels(37)[i] = float32(math.NaN())
			}
		}, nil, func(err error) bool { return errors.Is(err, ErrDiverged) }, false},
		{"early stopping", func(spec *experiments.Spec, _ *dataset.Set) {
			spec.EarlyStopping = &experiments.EarlyStopping{Patience: 1, MinDelta: 100}
		}, nil, func(err error) bool { return err == nil }, true},
		{"last epoch", nil, nil, func(err error) bool { return err == nil }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			spec := preset(t, "mnist-nn1")
			spec.BatchSize, spec.Epochs = 8, 3
			train, val := randomSet(spec, 64, 4), randomSet(spec, 20, 5)
			if c.prepare != nil {
				c.prepare(&spec, train)
			}
			m, err := Build(spec, spec.BatchSize)
			if err != nil {
				t.Fatal(err)
			}
			var done []<-chan struct{}
			m.onLoader = func(d <-chan struct{}) { done = append(done, d) }
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var hooks Hooks
			if c.hooks != nil {
				hooks = c.hooks(cancel)
			}
			err = m.Fit(ctx, train, val, 0, hooks)
			if !c.want(err) {
				t.Fatalf("Fit = %v", err)
			}
			if m.fit.stopped != c.stopped {
				t.Errorf("stopped early: %v, want %v", m.fit.stopped, c.stopped)
			}
			if len(done) == 0 {
				t.Fatal("Fit started no loader goroutine")
			}
			if o := m.otherSlot(); o == m.in || m.first == m.spare || (m.in != m.first && m.in != m.spare) {
				t.Error("the loader's slot is the one bound to the graph")
			}
			for i, d := range done {
				select {
				case <-d:
				default:
					t.Errorf("loader %d of %d still runs after Fit returned", i+1, len(done))
				}
			}
		})
	}
}

// TestLoaderPanicIsError checks that a panic while gathering a batch on the
// loader goroutine reaches the pass as an error naming the batch, and that
// the goroutine has ended once the loader is closed.
func TestLoaderPanicIsError(t *testing.T) {
	t.Parallel()
	spec := preset(t, "mnist-nn1")
	m, err := Build(spec, 4)
	if err != nil {
		t.Fatal(err)
	}
	var done <-chan struct{}
	m.onLoader = func(d <-chan struct{}) { done = d }
	l := m.newLoader(5, func(b int, s *inputSlot) {
		if b == 2 {
			var idx []int
			_ = idx[b]
		}
		s.x.Float32s()[0] = float32(b)
	})
	for b := range 2 {
		if err := l.load(); err != nil {
			t.Fatalf("batch %d: %v", b+1, err)
		}
		if got := m.in.x.Float32s()[0]; got != float32(b) {
			t.Errorf("batch %d bound a slot holding batch %v", b+1, got)
		}
	}
	err = l.load()
	l.close()
	if err == nil || !strings.Contains(err.Error(), "loading batch 3") || !strings.Contains(err.Error(), "index out of range") {
		t.Errorf("third batch: %v", err)
	}
	select {
	case <-done:
	default:
		t.Error("the loader goroutine still runs after close")
	}
}
