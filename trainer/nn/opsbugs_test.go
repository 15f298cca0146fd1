package nn

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/trainyard/trainyard/trainer/ops"
)

// TestOpsFusedReLUKeepsNaN checks that ops.Dense with the fused ReLU keeps
// NaN, as ops.ReLU, the portable Go kernel and PyTorch do. It once mapped NaN
// to 0 on AVX-512 (VMAXPS returns its second source when either is NaN), so
// a model whose first-layer weights turned NaN silently output its biases
// with a finite loss instead of stopping with ErrDiverged.
func TestOpsFusedReLUKeepsNaN(t *testing.T) {
	buildMu.Lock()
	g := G.NewGraph()
	xv := tensor.New(tensor.WithShape(8, 4), tensor.WithBacking(make([]float32, 32)))
	xv.Float32s()[0] = float32(math.NaN())
	wv := tensor.New(tensor.WithShape(4, 16), tensor.WithBacking(make([]float32, 64)))
	for i := range wv.Float32s() {
		wv.Float32s()[i] = 1
	}
	x := G.NewMatrix(g, tensor.Float32, G.WithShape(8, 4), G.WithValue(xv))
	w := G.NewMatrix(g, tensor.Float32, G.WithShape(4, 16), G.WithValue(wv))
	b := G.NewVector(g, tensor.Float32, G.WithShape(16), G.WithValue(newDense(16)))
	y, err := ops.Dense(x, w, b, true)
	buildMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	if v := y.Value().Data().([]float32)[0]; !math.IsNaN(float64(v)) {
		t.Errorf("relu(NaN) = %v on %s, want NaN", v, ops.KernelName())
	}
}
