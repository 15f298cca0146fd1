package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestConvPoolFusedMatchesApart checks the fused convolution and 2x2 max
// pooling of Conv2DIn against Conv2D and MaxPool2D run apart: in training
// the pooled output and every gradient (the pooling's choices carried over
// from the grid to the output plane, its gradient written over the
// convolution's output); in Eval
// and Infer the pooled output, the same bits. On the kernel with row
// offsets (8 to 36 filters) and the panel path (fewer filters than a tile),
// same and valid padding, even and odd sizes, with and without the ReLU,
// from the first pass and from the next with new input.
func TestConvPoolFusedMatchesApart(t *testing.T) {
	for _, tc := range []convCase{
		{3, 1, 28, 28, 8, 5, Same, true},
		{2, 16, 14, 14, 36, 5, Same, true},
		// Rows of 16: a group of two samples and a lone one; groups of four.
		{3, 16, 14, 14, 36, 5, Same, true},
		{5, 4, 13, 13, 8, 5, Same, false},
		{2, 3, 13, 17, 16, 3, Valid, false},
		{2, 2, 9, 11, 4, 3, Same, true},
		{1, 8, 7, 7, 12, 3, Valid, true},
	} {
		t.Run(fmt.Sprintf("%dx%dx%dx%d-o%d-k%d-%s-relu=%v", tc.n, tc.c, tc.h, tc.w, tc.o, tc.k, tc.pad, tc.relu), func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, uint64(tc.o)))
			// h computes x, so that the gradient reaches the convolution's input too.
			h := newParam(r, 1, tc.n, tc.c, tc.h, tc.w)
			w := newParam(r, 0.3, tc.o, tc.c, tc.k, tc.k)
			b := newParam(r, 0.3, tc.o)
			params, wrt := []*param{h, w, b}, []bool{true, true, true}
			mode := NewMode()
			input := func(h *gorgonia.Node) (*gorgonia.Node, error) { return ReLU(h) }
			var fused *gorgonia.Node
			mine := func(in []*gorgonia.Node) (*gorgonia.Node, error) {
				x, err := input(in[0])
				if err != nil {
					return nil, err
				}
				if fused, err = Conv2DIn(x, in[1], in[2], tc.pad, tc.relu, mode); err != nil {
					return nil, err
				}
				return MaxPool2D(fused, 2)
			}
			apart := func(in []*gorgonia.Node) (*gorgonia.Node, error) {
				x, err := input(in[0])
				if err != nil {
					return nil, err
				}
				y, err := Conv2D(x, in[1], in[2], tc.pad, tc.relu)
				if err != nil {
					return nil, err
				}
				return MaxPool2D(y, 2)
			}
			compare(t, params, wrt, mine, apart, 1e-5)
			if st := fused.Op().(*conv2dOp).st; st.pooledRun != st.fwdRuns || !st.choices {
				t.Fatal("the convolution did not pool with its choices in training")
			}
			pooled, ref := forwardOnly(t, params, mine), forwardOnly(t, params, apart)
			for round := range 2 {
				for _, m := range []func(){mode.Eval, mode.Infer} {
					m()
					got, want := pooled(), ref()
					if !slices.Equal(got, want) {
						t.Fatalf("pass %d, training %v: fused %v, apart %v", round+1, mode.Training(), got[:min(8, len(got))], want[:min(8, len(want))])
					}
				}
				for i := range h.data {
					h.data[i] = float32(r.NormFloat64())
				}
				mode.Train()
			}
		})
	}
}

// forwardOnly builds f over params in a graph without gradients and
// returns a function that runs it and copies its output.
func forwardOnly(t *testing.T, params []*param, f func(in []*gorgonia.Node) (*gorgonia.Node, error)) func() []float32 {
	t.Helper()
	g := gorgonia.NewGraph()
	var in []*gorgonia.Node
	for i, p := range params {
		in = append(in, gorgonia.NodeFromAny(g, tensor.New(tensor.WithShape(p.shape...), tensor.WithBacking(p.data)), gorgonia.WithName(string(rune('a'+i)))))
	}
	out, err := f(in)
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	t.Cleanup(func() { vm.Close() })
	return func() []float32 {
		t.Helper()
		defer vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return slices.Clone(out.Value().Data().([]float32))
	}
}

// TestConvPoolGradientRefusedAfterInfer checks that a gradient taken after a
// forward pass in Mode.Infer, which fuses the pooling into the convolution
// and keeps no choices, is an error rather than a gradient from stale choices,
// and that the same graph in Train gives one.
func TestConvPoolGradientRefusedAfterInfer(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	x := newParam(r, 1, 2, 4, 10, 10)
	w := newParam(r, 0.3, 8, 4, 3, 3)
	b := newParam(r, 0.3, 8)
	mode := NewMode()
	tg := buildTest(t, r, []*param{x, w, b}, []bool{false, true, true}, func(in []*gorgonia.Node) (*gorgonia.Node, error) {
		y, err := Conv2DIn(in[0], in[1], in[2], Same, true, mode)
		if err != nil {
			return nil, err
		}
		return MaxPool2D(y, 2)
	})
	mode.Infer()
	tg.vm.Reset()
	if err := tg.vm.RunAll(); err == nil || !strings.Contains(err.Error(), "Mode.Infer") {
		t.Fatalf("gradient after an inference pass: %v, want an error naming Mode.Infer", err)
	}
	mode.Train()
	if _, _, grads := tg.run(t); len(grads) == 0 {
		t.Fatal("no gradients in training")
	}
}

// TestWinogradInferFollowsWeights checks that a Winograd convolution in
// Mode.Infer, which reuses its transformed filters without comparing them,
// gives what Eval gives after the weights change: through WeightsChanged
// while in Infer, and through a switch out of Infer and back.
func TestWinogradInferFollowsWeights(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	x := newParam(r, 1, 8, 16, 12, 12)
	w := newParam(r, 0.3, 16, 16, 3, 3)
	b := newParam(r, 0.3, 16)
	g := gorgonia.NewGraph()
	node := func(p *param, name string) *gorgonia.Node {
		return gorgonia.NodeFromAny(g, tensor.New(tensor.WithShape(p.shape...), tensor.WithBacking(p.data)), gorgonia.WithName(name))
	}
	mode := NewMode()
	y, err := Conv2DIn(node(x, "x"), node(w, "w"), node(b, "b"), Same, true, mode)
	if err != nil {
		t.Fatal(err)
	}
	if y.Op().(*conv2dOp).st.wfwd == nil {
		if defaultKernels.kind != kindAVX512 {
			t.Skip("Winograd runs on AVX-512 only")
		}
		t.Fatal("the layer does not run with Winograd")
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	pass := func() []float32 {
		t.Helper()
		defer vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return slices.Clone(y.Value().Data().([]float32))
	}
	newWeights := func() {
		for i := range w.data {
			w.data[i] = 0.3 * float32(r.NormFloat64())
		}
	}
	for _, change := range []string{"WeightsChanged", "Eval and back"} {
		mode.Infer()
		before := pass()
		newWeights()
		if change == "WeightsChanged" {
			mode.WeightsChanged()
		} else {
			mode.Eval()
			mode.Infer()
		}
		got := pass()
		mode.Eval()
		want := pass()
		if !slices.Equal(got, want) {
			t.Fatalf("after %s: Infer gives %v, Eval %v (before the change: %v)", change, got[:4], want[:4], before[:4])
		}
	}
}

// TestConvIntoConvMatchesApart checks a convolution fed by another, both
// built with Conv2DIn: the second's input gradient is written over the
// first's output, with the first's ReLU mask applied from bits taken before
// (convState.prev). The output and every gradient match the two built with
// Conv2D (no sharing), on the direct and the Winograd path, with and
// without the first's ReLU, and the first's output buffer holds the
// gradient after the step.
func TestConvIntoConvMatchesApart(t *testing.T) {
	for _, tc := range []struct {
		n, c, h, w, o1, o2, k int
		relu1                 bool
		algo                  convAlgo
	}{
		{2, 3, 13, 17, 8, 12, 3, true, algoDirect},
		{3, 4, 11, 9, 16, 8, 5, false, algoDirect},
		{2, 16, 12, 14, 16, 16, 3, true, algoWinograd},
		{1, 16, 10, 10, 16, 16, 5, true, algoWinograd},
	} {
		t.Run(fmt.Sprintf("%dx%dx%dx%d-o%d-o%d-k%d-relu=%v-algo%d", tc.n, tc.c, tc.h, tc.w, tc.o1, tc.o2, tc.k, tc.relu1, tc.algo), func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(tc.o1)))
			h := newParam(r, 1, tc.n, tc.c, tc.h, tc.w)
			w1 := newParam(r, 0.3, tc.o1, tc.c, tc.k, tc.k)
			b1 := newParam(r, 0.3, tc.o1)
			w2 := newParam(r, 0.3, tc.o2, tc.o1, tc.k, tc.k)
			b2 := newParam(r, 0.3, tc.o2)
			params, wrt := []*param{h, w1, b1, w2, b2}, []bool{true, true, true, true, true}
			var first, second *gorgonia.Node
			build := func(mode *Mode) func(in []*gorgonia.Node) (*gorgonia.Node, error) {
				return func(in []*gorgonia.Node) (*gorgonia.Node, error) {
					x, err := ReLU(in[0]) // computed, so that gradients reach both convolutions' inputs
					if err != nil {
						return nil, err
					}
					c1, err := conv2DAlgo(x, in[1], in[2], Same, tc.relu1, true, tc.algo, mode)
					if err != nil {
						return nil, err
					}
					c2, err := conv2DAlgo(c1, in[3], in[4], Same, true, true, tc.algo, mode)
					if mode != nil {
						first, second = c1, c2
					}
					return c2, err
				}
			}
			compare(t, params, wrt, build(NewMode()), build(nil), 0)
			c1, c2 := first.Op().(*conv2dOp), second.Op().(*conv2dOp)
			if c2.st.prev != c1 {
				t.Fatal("the second convolution does not write its input gradient over the first's output")
			}
			if tc.relu1 && (c1.st.maskedRun != c1.st.fwdRuns || c1.st.masked != &c1.out.t.Float32s()[0]) {
				t.Fatal("the first convolution's output buffer does not hold its masked output gradient")
			}
		})
	}
}

// TestPositiveBits checks the bits of every kernel set against v > 0 on
// the values where the bit tricks could go wrong, and the masking with
// them against reluMask, over whole words and a partial last one.
func TestPositiveBits(t *testing.T) {
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -1, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		math.Float32frombits(0x7fffffff), math.Float32frombits(0xffffffff), math.Float32frombits(1), math.Float32frombits(0x80000001),
		math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32}
	r := rand.New(rand.NewPCG(9, 9))
	x := append([]float32(nil), special...)
	for len(x) < 1000 {
		x = append(x, float32(r.NormFloat64()))
	}
	dy0 := make([]float32, len(x))
	for i := range dy0 {
		dy0[i] = float32(r.NormFloat64())
	}
	want := reluMask(true, x, dy0, make([]float32, len(dy0)))
	for _, ks := range kernelSets {
		for _, n := range []int{64, 640, 1000} {
			bits := ks.positiveBits(x[:n], nil)
			for i, v := range x[:n] {
				if got := bits[i/64]>>(i%64)&1 == 1; got != (v > 0) {
					t.Fatalf("%s, %d values: bit %d of %v (%#x): %v, want %v", ks.name, n, i, v, math.Float32bits(v), got, v > 0)
				}
			}
			dy := slices.Clone(dy0[:n])
			ks.maskBits(dy, bits)
			for i := range dy {
				if math.Float32bits(dy[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s, %d values: masked %d: %v, want %v", ks.name, n, i, dy[i], want[i])
				}
			}
		}
	}
}
