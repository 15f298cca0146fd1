package nn

import (
	"context"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
)

// newBenchModel builds a preset as runs build it, with random images and
// labels loaded and two warm-up steps done, so that what follows is the
// steady state.
func newBenchModel(tb testing.TB, name string, opts Options) *Model {
	tb.Helper()
	spec := preset(tb, name)
	m, err := BuildWith(spec, spec.BatchSize, opts)
	if err != nil {
		tb.Fatal(err)
	}
	m.fillRandom(rand.New(rand.NewPCG(1, 2)))
	m.setTraining(true)
	correct := make([]int, len(m.logits))
	for range 2 {
		if _, _, err := m.trainStep(correct); err != nil {
			tb.Fatal(err)
		}
	}
	return m
}

// BenchmarkTrainStepCNN2 is one training step (forward, backward, Adam) of
// MNIST CNN 2 built from its preset, batch 256; with -benchmem its allocs/op
// and B/op show what a steady-state step allocates. The built-in engine is
// there to compare.
func BenchmarkTrainStepCNN2(b *testing.B) {
	for _, e := range engines {
		b.Run(e.String(), func(b *testing.B) {
			m := newBenchModel(b, "mnist-cnn2", Options{Engine: e})
			correct := make([]int, len(m.logits))
			b.ReportAllocs()
			cpu0 := cpuNanos()
			b.ResetTimer()
			for range b.N {
				if _, _, err := m.trainStep(correct); err != nil {
					b.Fatal(err)
				}
			}
			cpu := cpuNanos() - cpu0
			b.ReportMetric(float64(b.N*m.batch)/b.Elapsed().Seconds(), "samples/s")
			b.ReportMetric(float64(cpu)/1e6/float64(b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkFitCNN2 is MNIST CNN 2's training through Fit, one op per batch:
// the batch gathered from a shuffled set of b.N batches of random images,
// then trained. "pipelined" gathers the next batch while the current one
// trains, as Fit does; "sequential" gathers each before its step. Its
// allocs/op and B/op are a step's and a gather's, with what is made once
// (the permutation, the loader goroutine, the second input slot) spread
// over the batches.
func BenchmarkFitCNN2(b *testing.B) {
	for _, mode := range []string{"pipelined", "sequential"} {
		b.Run(mode, func(b *testing.B) {
			m := newBenchModel(b, "mnist-cnn2", Options{})
			m.sequential = mode == "sequential"
			spec := m.spec
			spec.Epochs = 1
			m.spec = spec
			train := randomSet(spec, b.N*m.batch, 7)
			b.ReportAllocs()
			b.ResetTimer()
			if err := m.Fit(context.Background(), train, nil, 0, Hooks{}); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N*m.batch)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// BenchmarkGather is what the loader goroutine does per batch, and what
// Fit would do between steps without it: gather a shuffled batch of images
// and labels into an input slot.
func BenchmarkGather(b *testing.B) {
	for _, name := range []string{"mnist-cnn2", "captcha-model2"} {
		b.Run(name, func(b *testing.B) {
			spec := preset(b, name)
			m, err := Build(spec, spec.BatchSize)
			if err != nil {
				b.Fatal(err)
			}
			set := randomSet(spec, 8*m.batch, 3)
			perm := rand.New(rand.NewPCG(4, 5)).Perm(set.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				k := i % 8 * m.batch
				m.gather(m.in, set, perm[k:k+m.batch])
			}
		})
	}
}

// BenchmarkOneImage reads one CAPTCHA image with a batch-1 model on one
// core, as `trainyard bench --latency` does; cpu-ms/image is the process's
// CPU time per image, which other work on the machine disturbs less than the
// wall clock.
func BenchmarkOneImage(b *testing.B) {
	for _, name := range []string{"captcha-model1", "captcha-model2"} {
		b.Run(name, func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			m, err := Build(preset(b, name), 1)
			if err != nil {
				b.Fatal(err)
			}
			x := make([]float32, m.size)
			for i := range x {
				x[i] = float32(i%7) / 7
			}
			for range 2 {
				if _, err := m.Predict(x, 1); err != nil {
					b.Fatal(err)
				}
			}
			cpu0 := cpuNanos()
			b.ResetTimer()
			for b.Loop() {
				if _, err := m.Predict(x, 1); err != nil {
					b.Fatal(err)
				}
			}
			cpu := cpuNanos() - cpu0
			b.ReportMetric(float64(cpu)/1e6/float64(b.N), "cpu-ms/image")
		})
	}
}

// BenchmarkInference is one evaluation pass (the forward pass Evaluate and
// Predict run, moving statistics, no dropout) of each seed model at the
// batch `trainyard bench` uses: 256 for MNIST, 128 for CAPTCHA. cpu-ms/op
// is the process's CPU time per pass, which other work on the machine
// disturbs less than the wall clock.
//
//	go test -run '^$' -bench Inference -benchtime 20x ./trainer/nn/
func BenchmarkInference(b *testing.B) {
	for _, name := range []string{"mnist-nn1", "mnist-nn2", "mnist-cnn1", "mnist-cnn2", "captcha-model1", "captcha-model2"} {
		b.Run(name, func(b *testing.B) {
			batch := 256
			if name[:7] == "captcha" {
				batch = 128
			}
			m, err := BuildWith(preset(b, name), batch, Options{Engine: EngineFast})
			if err != nil {
				b.Fatal(err)
			}
			m.fillRandom(rand.New(rand.NewPCG(1, 2)))
			m.setInference()
			run := func() {
				if err := m.evalVM.RunAll(); err != nil {
					b.Fatal(err)
				}
				m.evalVM.Reset()
			}
			run()
			run()
			b.ReportAllocs()
			cpu0 := cpuNanos()
			b.ResetTimer()
			for b.Loop() {
				run()
			}
			cpu := cpuNanos() - cpu0
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "samples/s")
			b.ReportMetric(float64(cpu)/1e6/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuNanos is the CPU time (user and system) the process has used so far.
func cpuNanos() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
