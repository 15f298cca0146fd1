package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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

// convCase is one convolution's shapes: batch, channels, height and width of
// the input, filters, kernel size, padding and whether a ReLU is fused.
type convCase struct {
	n, c, h, w, o, k int
	pad              Padding
	relu             bool
}

var convCases = []convCase{
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
	// Rows of 16 (gridConv.rows16): a group of two and a lone sample, and
	// groups of four samples (13 rows) with a partial last one.
	{3, 16, 14, 14, 36, 5, Same, true},
	{5, 4, 13, 13, 8, 5, Same, true},
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

// TestGridConvRows16Chosen checks which layouts use rows of 16, so that the
// cases above exercise them: MNIST's 14x14 maps under a 5x5 filter and their
// input gradient do, 28x28 and 7x7 maps (whose grids waste less) do not.
func TestGridConvRows16Chosen(t *testing.T) {
	ks := defaultKernels
	for _, tc := range []struct {
		c, h, o, k, pad, ho int
		want                bool
	}{
		{16, 14, 36, 5, 2, 14, true}, // cnn2's second convolution
		{36, 14, 16, 5, 2, 14, true}, // its input gradient
		{4, 13, 8, 5, 2, 13, true},   // groups of four
		{1, 28, 16, 5, 2, 28, false}, // wider than 16
		{8, 7, 12, 3, 1, 7, false},   // one panel holds the grid
		{16, 14, 4, 5, 2, 14, false}, // fewer filters than a tile
	} {
		g := newGridConv(ks, tc.c, tc.h, tc.h, tc.o, tc.k, tc.k, tc.pad, tc.pad, tc.ho, tc.ho)
		want := tc.want && ks.hasOffKernel()
		if g.rows16 != want {
			t.Errorf("%+v: rows16 = %v, want %v", tc, g.rows16, want)
		}
		if g.rows16 && (g.group*g.ho)%4 != 0 {
			t.Errorf("%+v: a group of %d samples leaves a partial panel", tc, g.group)
		}
	}
}

// TestGridConvRows16SameBits checks that rows of 16 compute the very bits
// the grid does: each output sums the same products in the same order, only
// which columns are computed changes.
func TestGridConvRows16SameBits(t *testing.T) {
	ks := defaultKernels
	if !ks.hasOffKernel() {
		t.Skip("no AVX-512 kernels")
	}
	const n, c, h, o, k = 3, 16, 14, 36, 5
	rows := newGridConv(ks, c, h, h, o, k, k, 2, 2, h, h)
	grid := newGridConv(ks, c, h, h, o, k, k, 2, 2, h, h)
	if !rows.rows16 {
		t.Fatal("14x14 under a 5x5 filter does not use rows of 16")
	}
	grid.rows16, grid.group, grid.rs, grid.ldw = false, 1, grid.wp, grid.npan*panelW
	r := rand.New(rand.NewPCG(5, 5))
	x, w, b := randSlice(r, n*c*h*h), randSlice(r, o*c*k*k), randSlice(r, o)
	per := o * h * h
	got, want := make([]float32, n*per), make([]float32, n*per)
	rs, gs := rows.workerScratch(), grid.workerScratch()
	for i := 0; i < n; i += rows.group {
		e := min(n, i+rows.group)
		rows.forward(ks, x[i*c*h*h:e*c*h*h], w, b, flagRowBias|flagReLU, got[i*per:e*per], &rs[0])
	}
	for i := range n {
		grid.forward(ks, x[i*c*h*h:(i+1)*c*h*h], w, b, flagRowBias|flagReLU, want[i*per:(i+1)*per], &gs[0])
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("output %d: rows of 16 give %v, the grid %v", i, got[i], want[i])
		}
	}
}

// TestFilterBlocks checks that the forward kernel's blocks of six and four
// filters cover each filter once where the count allows, and end with an
// overlapping block of six where it is odd.
func TestFilterBlocks(t *testing.T) {
	for _, tc := range []struct {
		o    int
		want []rowBlock
	}{
		{6, []rowBlock{{0, 6}}},
		{8, []rowBlock{{0, 4}, {4, 4}}},
		{10, []rowBlock{{0, 6}, {6, 4}}},
		{16, []rowBlock{{0, 6}, {6, 6}, {12, 4}}},
		{20, []rowBlock{{0, 6}, {6, 6}, {12, 4}, {16, 4}}},
		{32, []rowBlock{{0, 6}, {6, 6}, {12, 6}, {18, 6}, {24, 4}, {28, 4}}},
		{36, []rowBlock{{0, 6}, {6, 6}, {12, 6}, {18, 6}, {24, 6}, {30, 6}}},
		{7, []rowBlock{{0, 6}, {1, 6}}},
		{17, []rowBlock{{0, 6}, {6, 6}, {11, 6}}},
	} {
		if got := filterBlocks(tc.o); !slices.Equal(got, tc.want) {
			t.Errorf("filterBlocks(%d) = %v, want %v", tc.o, got, tc.want)
		}
	}
}

// TestFilterBlocksSameBits checks that a convolution whose filters end in
// blocks of four (kern4x64OffAVX512) computes the same bits as with blocks
// of six only, on the grid and in rows of 16: each output is the same sum
// in the same order.
func TestFilterBlocksSameBits(t *testing.T) {
	ks := defaultKernels
	if !ks.hasOffKernel() {
		t.Skip("no AVX-512 kernels")
	}
	for _, tc := range []struct{ c, h, o, k int }{{1, 28, 8, 5}, {8, 14, 16, 3}, {3, 20, 10, 5}, {36, 14, 16, 5}, {4, 9, 20, 3}} {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			const n = 2
			c, h, o, k := tc.c, tc.h, tc.o, tc.k
			fours := newGridConv(ks, c, h, h, o, k, k, k/2, k/2, h, h)
			sixes := newGridConv(ks, c, h, h, o, k, k, k/2, k/2, h, h)
			sixes.rowBlocks = nil
			for i0 := 0; i0 < o; i0 += tileM {
				sixes.rowBlocks = append(sixes.rowBlocks, rowBlock{min(i0, o-tileM), tileM})
			}
			if slices.Equal(fours.rowBlocks, sixes.rowBlocks) {
				t.Fatalf("%d filters use no block of four: %v", o, fours.rowBlocks)
			}
			r := rand.New(rand.NewPCG(7, uint64(o)))
			x, w, b := randSlice(r, n*c*h*h), randSlice(r, o*c*k*k), randSlice(r, o)
			per := o * h * h
			run := func(g *gridConv) []float32 {
				y := make([]float32, n*per)
				s := g.workerScratch()
				for i := 0; i < n; i += g.group {
					e := min(n, i+g.group)
					g.forward(ks, x[i*c*h*h:e*c*h*h], w, b, flagRowBias|flagReLU, y[i*per:e*per], &s[0])
				}
				return y
			}
			got, want := run(fours), run(sixes)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("output %d: blocks of four give %v, of six %v", i, got[i], want[i])
				}
			}
		})
	}
}
