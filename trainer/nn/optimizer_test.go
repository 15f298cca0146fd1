package nn

import (
	"math"
	"testing"
)

// TestOptimizerSplitSameBits trains mnist-nn2 (407,050 parameters, most of
// them in ranges the update splits over the processors) for two steps with
// the update split and with it serial, from the same weights and batch, and
// checks that the weights and Adam's moments have the same bits.
func TestOptimizerSplitSameBits(t *testing.T) {
	run := func(min int) *Model {
		defer func(old int) { parallelMin = old }(parallelMin)
		parallelMin = min
		return newBenchModel(t, "mnist-nn2", Options{Engine: EngineFast}) // two steps on a fixed random batch
	}
	split, serial := run(1), run(math.MaxInt)
	same := func(what string, a, b []float32) {
		t.Helper()
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s[%d]: split %v, serial %v", what, i, a[i], b[i])
			}
		}
	}
	for i, p := range split.params {
		same(p.name, p.data(), serial.params[i].data())
		same(p.name+" m", split.opt.m[i], serial.opt.m[i])
		same(p.name+" v", split.opt.v[i], serial.opt.v[i])
	}
}
