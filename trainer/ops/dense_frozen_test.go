package ops

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestDenseInReusesPackedWeightsOnlyWhileFrozen checks the inference
// cache of DenseIn: in Mode.Infer a second pass gives the same output from
// the kept packing, and the output follows the weights again after
// WeightsChanged, after a switch to training and back, and in training,
// where every pass packs the weights it is given.
func TestDenseInReusesPackedWeightsOnlyWhileFrozen(t *testing.T) {
	const n, in, o = 12, 70, 130 // 130 columns: three panels, the last partial
	r := rand.New(rand.NewPCG(7, 7))
	fill := func(d []float32) {
		for i := range d {
			d[i] = r.Float32() - 0.5
		}
	}
	xT := tensor.New(tensor.WithShape(n, in), tensor.Of(tensor.Float32))
	wT := tensor.New(tensor.WithShape(in, o), tensor.Of(tensor.Float32))
	bT := tensor.New(tensor.WithShape(o), tensor.Of(tensor.Float32))
	fill(xT.Float32s())
	fill(wT.Float32s())
	fill(bT.Float32s())
	g := gorgonia.NewGraph()
	x := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(n, in), gorgonia.WithValue(xT), gorgonia.WithName("x"))
	w := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(in, o), gorgonia.WithValue(wT), gorgonia.WithName("w"))
	b := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(o), gorgonia.WithValue(bT), gorgonia.WithName("b"))
	mode := NewMode()
	y, err := DenseIn(x, w, b, false, mode)
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	check := func(what string) {
		t.Helper()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		defer vm.Reset()
		got := y.Value().Data().([]float32)
		xs, ws, bs := xT.Float32s(), wT.Float32s(), bT.Float32s()
		for i := range n {
			for j := range o {
				want := bs[j]
				for k := range in {
					want += xs[i*in+k] * ws[k*o+j]
				}
				if d := got[i*o+j] - want; d > 1e-4 || d < -1e-4 {
					t.Fatalf("%s: y[%d,%d] = %v, want %v", what, i, j, got[i*o+j], want)
				}
			}
		}
	}
	mode.Infer()
	check("first pass in inference")
	check("second pass in inference, from the kept packing")
	fill(wT.Float32s())
	mode.WeightsChanged()
	check("after WeightsChanged")
	mode.Train()
	fill(wT.Float32s())
	check("in training, weights changed in place")
	fill(wT.Float32s())
	check("in training again")
	mode.Eval()
	fill(wT.Float32s())
	check("in evaluation, weights changed in place")
	mode.Infer()
	check("back in inference")
	fill(xT.Float32s())
	check("new input, same weights")
}
