package ops

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestConvPoolInferMatchesEval checks the fused convolution and 2x2 max
// pooling of Mode.Infer against the same graph in Eval, where each op runs on
// its own: the pooled outputs are the same bits, on the kernel with row
// offsets (8 and 16 filters) and the panel path (fewer filters than a
// tile), same and valid padding, even and odd sizes, with and without the
// ReLU, from the first pass and from the next with new input.
func TestConvPoolInferMatchesEval(t *testing.T) {
	for _, tc := range []struct {
		n, c, h, w, o, k int
		pad              Padding
		relu             bool
	}{
		{3, 1, 28, 28, 8, 5, Same, true},
		{2, 16, 14, 14, 36, 5, Same, true},
		{2, 3, 13, 17, 16, 3, Valid, false},
		{2, 2, 9, 11, 4, 3, Same, true},
		{1, 8, 7, 7, 12, 3, Valid, true},
	} {
		t.Run(fmt.Sprintf("%dx%dx%dx%d-o%d-k%d-%s-relu=%v", tc.n, tc.c, tc.h, tc.w, tc.o, tc.k, tc.pad, tc.relu), func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, uint64(tc.o)))
			x := newParam(r, 1, tc.n, tc.c, tc.h, tc.w)
			w := newParam(r, 0.3, tc.o, tc.c, tc.k, tc.k)
			b := newParam(r, 0.3, tc.o)
			g := gorgonia.NewGraph()
			node := func(p *param, name string) *gorgonia.Node {
				return gorgonia.NodeFromAny(g, tensor.New(tensor.WithShape(p.shape...), tensor.WithBacking(p.data)), gorgonia.WithName(name))
			}
			mode := NewMode()
			y, err := Conv2DIn(node(x, "x"), node(w, "w"), node(b, "b"), tc.pad, tc.relu, mode)
			if err != nil {
				t.Fatal(err)
			}
			p, err := MaxPool2D(y, 2)
			if err != nil {
				t.Fatal(err)
			}
			vm := gorgonia.NewTapeMachine(g)
			defer vm.Close()
			pass := func() []float32 {
				t.Helper()
				defer vm.Reset()
				if err := vm.RunAll(); err != nil {
					t.Fatal(err)
				}
				return slices.Clone(p.Value().Data().([]float32))
			}
			for round := range 2 {
				mode.Eval()
				want := pass()
				mode.Infer()
				got := pass()
				if st := y.Op().(*conv2dOp).st; st.pooledRun != st.fwdRuns {
					t.Fatal("the convolution did not pool in Infer")
				}
				if !slices.Equal(got, want) {
					t.Fatalf("pass %d: Infer's pooled output differs from Eval's:\n%v\n%v", round+1, got[:min(8, len(got))], want[:min(8, len(want))])
				}
				for i := range x.data {
					x.data[i] = float32(r.NormFloat64())
				}
			}
		})
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
