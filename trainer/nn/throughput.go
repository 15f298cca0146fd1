package nn

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/trainyard/trainyard/experiments"
)

// Throughput is what MeasureThroughput measured.
type Throughput struct {
	// TrainSamplesPerS is training throughput after warm-up: forward,
	// backward and optimizer step, the same trainStep Fit runs.
	TrainSamplesPerS float64
	// InferSamplesPerS is evaluation throughput: the forward pass Evaluate
	// and Predict run (dropout off, moving statistics), plus a softmax.
	InferSamplesPerS float64
}

// MeasureThroughput builds spec for batch images with opts, exactly as a run
// would, fills its input with random pixels and labels, and times steps
// training steps after two untimed warm-up steps, then steps evaluation
// passes likewise. steps <= 0 means 20. Each timing goes on past steps until
// at least minTime has passed, so that a model whose step takes a fraction of
// a millisecond is not timed over a few milliseconds, where one scheduler
// hiccup halves the figure. It stops with ctx's error when ctx is done.
func MeasureThroughput(ctx context.Context, spec experiments.Spec, batch, steps int, minTime time.Duration, opts Options) (Throughput, error) {
	if steps <= 0 {
		steps = 20
	}
	m, err := BuildWith(spec, batch, opts)
	if err != nil {
		return Throughput{}, err
	}
	m.fillRandom(rand.New(rand.NewPCG(42, 42)))
	var res Throughput
	correct := make([]int, len(m.logits))
	m.setTraining(true)
	res.TrainSamplesPerS, err = timeSteps(ctx, batch, steps, minTime, func() error {
		_, _, err := m.trainStep(correct)
		return err
	})
	if err != nil {
		return res, err // trainStep's errors say where they come from
	}

	m.setInference()
	probs := make([]float32, batch*m.classes)
	res.InferSamplesPerS, err = timeSteps(ctx, batch, steps, minTime, func() error {
		defer m.evalVM.Reset()
		if err := m.evalVM.RunAll(); err != nil {
			return err
		}
		for _, node := range m.logits {
			z, err := float32s(node.Value())
			if err != nil {
				return err
			}
			softmaxRows(probs, z[:batch*m.classes], m.classes)
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("nn: evaluation step: %w", err)
	}
	return res, nil
}

// timeSteps runs step twice untimed, then times it for steps runs and at
// least minTime, and returns the rate in samples per second for batch
// samples a step. It stops with ctx's error when ctx is done.
func timeSteps(ctx context.Context, batch, steps int, minTime time.Duration, step func() error) (float64, error) {
	const warmup = 2
	var start time.Time
	timed := 0
	for i := 0; i < warmup+steps || time.Since(start) < minTime; i++ {
		if i == warmup {
			start = time.Now()
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if err := step(); err != nil {
			return 0, err
		}
		if i >= warmup {
			timed++
		}
	}
	return float64(timed*batch) / time.Since(start).Seconds(), nil
}

// fillRandom fills the bound input slot with random pixels in [0, 1) and
// random class labels.
func (m *Model) fillRandom(r *rand.Rand) {
	for i, x := 0, m.in.x.Float32s(); i < len(x); i++ {
		x[i] = r.Float32()
	}
	for _, lt := range m.in.labels {
		for i, l := 0, lt.Float32s(); i < len(l); i++ {
			l[i] = float32(r.IntN(m.classes))
		}
	}
}
