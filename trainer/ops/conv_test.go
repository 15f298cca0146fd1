package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// gorgoniaConv is the reference: gorgonia's Conv2d plus a broadcast bias and
// an optional Rectify.
func gorgoniaConv(x, w, b *gorgonia.Node, pad Padding, relu bool) (*gorgonia.Node, error) {
	ws := w.Shape()
	p := []int{0, 0}
	if pad == Same {
		p = []int{(ws[2] - 1) / 2, (ws[3] - 1) / 2}
	}
	y, err := gorgonia.Conv2d(x, w, tensor.Shape{ws[2], ws[3]}, p, []int{1, 1}, []int{1, 1})
	if err != nil {
		return nil, err
	}
	b4, err := gorgonia.Reshape(b, tensor.Shape{1, ws[0], 1, 1})
	if err != nil {
		return nil, err
	}
	if y, err = gorgonia.BroadcastAdd(y, b4, nil, []byte{0, 2, 3}); err != nil {
		return nil, err
	}
	if relu {
		return gorgonia.Rectify(y)
	}
	return y, nil
}

var convCases = []struct {
	n, c, h, w, o, k int
	pad              Padding
	relu             bool
}{
	{2, 1, 6, 7, 3, 3, Same, true},
	{3, 2, 7, 5, 7, 5, Same, false},
	{2, 3, 9, 8, 4, 3, Valid, true},
	{1, 2, 5, 6, 2, 1, Valid, false},
	{2, 4, 12, 11, 17, 3, Same, true},
	{5, 3, 10, 13, 8, 2, Same, false},
	// The MNIST shapes: several 64-pixel panels, a last partial one.
	{2, 1, 28, 28, 8, 5, Same, true},
	{2, 8, 14, 14, 16, 3, Valid, true},
	{2, 16, 14, 14, 36, 5, Same, false},
	// More than 64 filters: dy^T spans two packed panels.
	{2, 3, 9, 10, 70, 3, Same, true},
}

func TestConv2DAgainstGorgonia(t *testing.T) {
	def := defaultKernels
	defer func() { defaultKernels = def }()
	for _, ks := range kernelSets {
		defaultKernels = ks
		t.Run(ks.name, testConv2DAgainstGorgonia)
	}
}

func testConv2DAgainstGorgonia(t *testing.T) {
	for _, tc := range convCases {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, uint64(tc.k)))
			x := newParam(r, 1, tc.n, tc.c, tc.h, tc.w)
			w := newParam(r, 0.5, tc.o, tc.c, tc.k, tc.k)
			b := newParam(r, 0.5, tc.o)
			params := []*param{x, w, b}
			wrt := []bool{true, true, true}
			if tc.k%2 == 0 {
				// gorgonia pads symmetrically; only odd kernels compare.
				t.Skip("even kernel: no symmetric reference")
			}
			mine := buildTest(t, r, params, wrt, func(in []*gorgonia.Node) (*gorgonia.Node, error) {
				return conv2D(in[0], in[1], in[2], tc.pad, tc.relu, true)
			})
			ref := buildTest(t, rand.New(rand.NewPCG(3, uint64(tc.k))), params, wrt, func(in []*gorgonia.Node) (*gorgonia.Node, error) {
				return gorgoniaConv(in[0], in[1], in[2], tc.pad, tc.relu)
			})
			// Both graphs draw the same cost weights only if they draw them
			// first; use the same generator state.
			_, outM, gM := mine.run(t)
			_, outR, gR := ref.run(t)
			assertClose(t, "output", outM, outR, 1e-5)
			for i := range gM {
				assertClose(t, fmt.Sprintf("gradient %d", i), gM[i], gR[i], 1e-4)
			}
		})
	}
}

// TestConv2DFiniteDiff checks the gradients without the fused ReLU, whose
// kinks make float32 difference quotients unreliable; the ReLU mask is
// checked against gorgonia's Rectify above.
func TestConv2DFiniteDiff(t *testing.T) {
	for _, tc := range convCases {
		tc.relu = false
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, uint64(tc.o)))
			x := newParam(r, 1, tc.n, tc.c, tc.h, tc.w)
			w := newParam(r, 0.5, tc.o, tc.c, tc.k, tc.k)
			b := newParam(r, 0.5, tc.o)
			params := []*param{x, w, b}
			wrt := []bool{true, true, true}
			tg := buildTest(t, r, params, wrt, func(in []*gorgonia.Node) (*gorgonia.Node, error) {
				return conv2D(in[0], in[1], in[2], tc.pad, tc.relu, true)
			})
			checkFiniteDiff(t, tg, params, wrt, 20, 3e-2)
		})
	}
}
