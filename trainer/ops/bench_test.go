package ops

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestModelsBuildAndTrain builds each benchmark model at a tiny batch and
// checks that a few steps on one fixed batch lower the loss.
func TestModelsBuildAndTrain(t *testing.T) {
	wantParams := map[string]int{"nn1": 203530, "nn2": 407050, "cnn1": 297706, "cnn2": 242062, "captcha1": 866412, "captcha2": 880300}
	for _, name := range ModelNames() {
		if testing.Short() && name[0] == 'c' && name[1] == 'a' {
			continue
		}
		buildMu.Lock()
		ts, err := newTrainStep(name, 4, 1)
		buildMu.Unlock()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		params := ts.m.params
		if params != wantParams[name] {
			t.Errorf("%s: %d parameters, the report says %d", name, params, wantParams[name])
		}
		ts.m.fillRandom(rand.New(rand.NewPCG(1, 1)))
		ts.m.mode.Eval() // no dropout noise: the loss must fall
		var first, last float32
		for i := 0; i < 5; i++ {
			if err := ts.step(); err != nil {
				t.Fatalf("%s step %d: %v", name, i, err)
			}
			if i == 0 {
				first = ts.loss()
			}
			last = ts.loss()
		}
		if math.IsNaN(float64(last)) || last >= first {
			t.Errorf("%s: loss went from %v to %v in 5 steps on one batch", name, first, last)
		}
	}
}

// TestTrainStepAllocations checks that a steady-state training step of CNN
// model 2 allocates almost nothing.
func TestTrainStepAllocations(t *testing.T) {
	buildMu.Lock()
	ts, err := newTrainStep("cnn2", 8, 1)
	buildMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	ts.m.fillRandom(rand.New(rand.NewPCG(1, 1)))
	for i := 0; i < 2; i++ {
		if err := ts.step(); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(5, func() {
		if err := ts.step(); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("allocations per step: %v", allocs)
	if allocs > 400 {
		t.Fatalf("a training step allocates %v times", allocs)
	}
}

// BenchmarkTrainStepCNN2 measures one training step (forward, backward,
// Adam) of CNN model 2 at batch 256 and reports its allocations.
func BenchmarkTrainStepCNN2(b *testing.B) { benchTrainStep(b, "cnn2", 256) }

// BenchmarkTrainStep measures a training step of each seed model at its
// default batch. cpu-ms/step is the process's CPU time per step, which a
// machine shared with other work disturbs less than the wall clock.
func BenchmarkTrainStep(b *testing.B) {
	for _, name := range ModelNames() {
		def, _ := modelDefFor(name)
		b.Run(name, func(b *testing.B) { benchTrainStep(b, name, def.defaultBatch) })
	}
}

func benchTrainStep(b *testing.B, name string, batch int) {
	buildMu.Lock()
	ts, err := newTrainStep(name, batch, 1)
	buildMu.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	ts.m.fillRandom(rand.New(rand.NewPCG(1, 1)))
	for i := 0; i < 2; i++ {
		if err := ts.step(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		if err := ts.step(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(batch)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/step")
}
