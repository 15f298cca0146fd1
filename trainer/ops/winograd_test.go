package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
)

func randSlice32(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// TestWinogradTransformsMatchGo checks the AVX-512 transforms of F(2x2,
// 3x3) and F(2x2, 5x5) against their Go reference bit for bit: both compute
// in the same order.
func TestWinogradTransformsMatchGo(t *testing.T) {
	if defaultKernels.kind != kindAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	for _, rs := range []int{3, 5} {
		t.Run(fmt.Sprintf("%dx%d", rs, rs), func(t *testing.T) {
			asm, ref := winoKernelsFor(defaultKernels, rs), winoKernelsFor(kernelSets[0], rs)
			xi := (rs + 1) * (rs + 1)
			r := rand.New(rand.NewPCG(1, uint64(rs)))
			const pitch, plane, nc, cstride = 40, 260, 5, 20
			src := randSlice32(r, nc*plane+pitch*6+40)
			vGo := make([]float32, xi*nc*cstride+cstride)
			vAsm := make([]float32, len(vGo))
			ref.in(src[3:], pitch, plane, nc, vGo, cstride, nc*cstride)
			asm.in(src[3:], pitch, plane, nc, vAsm, cstride, nc*cstride)
			assertEqual(t, "input transform", vAsm, vGo)

			const no, ostride, yplane, ypitch = 7, 19, 90, 41
			m := randSlice32(r, xi*no*ostride+16)
			bias := randSlice32(r, no)
			for _, tc := range []struct {
				rows, cols int
				bias       []float32
				relu       bool
			}{{2, 32, bias, true}, {1, 7, nil, false}, {2, 13, bias, false}, {1, 32, nil, true}} {
				yGo := randSlice32(rand.New(rand.NewPCG(3, 3)), no*yplane)
				yAsm := append([]float32(nil), yGo...)
				ref.out(m, no*ostride, ostride, no, yGo, yplane, ypitch, tc.rows, tc.cols, tc.bias, tc.relu)
				asm.out(m, no*ostride, ostride, no, yAsm, yplane, ypitch, tc.rows, tc.cols, tc.bias, tc.relu)
				assertEqual(t, fmt.Sprintf("output transform %+v", tc), yAsm, yGo)
			}

			const o16, cnt = 32, 5
			const rp = 2 * 6 * o16
			dy := randSlice32(r, 2*rp)
			dGo := make([]float32, xi*cnt*o16)
			dAsm := make([]float32, len(dGo))
			bGo := randSlice32(r, o16)
			bAsm := append([]float32(nil), bGo...)
			ref.dy(dy, rp, cnt, o16, dGo, cnt*o16, bGo)
			asm.dy(dy, rp, cnt, o16, dAsm, cnt*o16, bAsm)
			assertEqual(t, "output-gradient transform", dAsm, dGo)
			assertEqual(t, "bias gradient", bAsm, bGo)
		})
	}
}

func assertEqual(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: element %d: got %v, want %v", what, i, got[i], want[i])
		}
	}
}

// winoCases are convolutions for Winograd: odd and even output sizes
// (partial tiles), tile rows longer than 16 tiles, channel counts that are
// not multiples of 6 or 16, more filters than one 64-column panel, and the
// CAPTCHA models' and mnist-cnn2's shapes, with 3x3 and 5x5 filters.
var winoCases = []struct {
	k, n, c, h, w, o int
	pad              Padding
	relu             bool
}{
	{3, 2, 6, 7, 9, 6, Same, true},
	{3, 3, 7, 8, 6, 10, Valid, false},
	{3, 2, 16, 5, 40, 17, Same, true},
	{3, 1, 13, 11, 35, 70, Valid, true},
	{3, 3, 20, 3, 3, 8, Same, false},
	{5, 2, 6, 7, 9, 6, Same, true},
	{5, 3, 7, 9, 8, 10, Valid, false},
	{5, 2, 16, 5, 40, 17, Same, true},
	{5, 1, 13, 11, 35, 70, Valid, true},
	{5, 3, 20, 3, 3, 8, Same, false},
	{3, 2, 32, 50, 34, 32, Valid, true},   // a strip of captcha1/2's first 3x3 layer
	{3, 2, 64, 24, 64, 64, Valid, true},   // captcha's second 3x3 layer
	{3, 4, 128, 4, 14, 256, Valid, false}, // captcha2's last layer
	{5, 3, 16, 14, 14, 36, Same, true},    // mnist-cnn2's second layer
	{5, 2, 32, 24, 70, 64, Same, true},    // captcha's 5x5 layer
}

// winoErrBound is the largest error of a Winograd convolution's output and
// gradients against the direct convolution, relative to the largest
// magnitude of the direct result, that the tests accept, by filter size.
// F(2x2, 3x3)'s transforms only add, subtract and halve, so its float32
// error stays within a few units of the direct sums' rounding (about 1e-6
// measured on these shapes, 5e-7 typical). F(2x2, 5x5)'s multiply by up to
// 5 and its filter transform by fractions down to 1/24: 2e-6 to 7e-6
// measured.
var winoErrBound = map[int]float64{3: 1e-5, 5: 3e-5}

// TestWinogradAgainstDirect compares the Winograd forward pass, input
// gradient and filter gradient with the direct convolution on the same
// inputs, with the Go and the AVX-512 transforms.
func TestWinogradAgainstDirect(t *testing.T) {
	def := defaultKernels
	defer func() { defaultKernels = def }()
	for _, ks := range kernelSets {
		if ks.kind == kindAVX2 {
			continue // the Go transforms are already covered by "generic"
		}
		defaultKernels = ks
		t.Run(ks.name, func(t *testing.T) {
			for _, tc := range winoCases {
				if ks.kind == kindGeneric && tc.c*tc.o*tc.h*tc.w > 64*64*24*64 {
					continue // the portable kernels are slow; the smaller shapes cover them
				}
				t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
					r := rand.New(rand.NewPCG(9, uint64(tc.c)))
					x := newParam(r, 1, tc.n, tc.c, tc.h, tc.w)
					w := newParam(r, float32(1/math.Sqrt(float64(tc.k*tc.k*tc.c))), tc.o, tc.c, tc.k, tc.k)
					b := newParam(r, 0.5, tc.o)
					params := []*param{x, w, b}
					wrt := []bool{true, true, true}
					run := func(algo convAlgo) ([]float32, [][]float32) {
						tg := buildTest(t, r, params, wrt, func(in []*gorgonia.Node) (*gorgonia.Node, error) {
							return conv2DAlgo(in[0], in[1], in[2], tc.pad, tc.relu, true, algo, nil)
						})
						_, out, grads := tg.run(t)
						return out, grads
					}
					outW, gW := run(algoWinograd)
					outD, gD := run(algoDirect)
					worst := relErr(outW, outD)
					for i := range gD {
						worst = max(worst, relErr(gW[i], gD[i]))
					}
					t.Logf("largest relative error %.2g", worst)
					assertClose(t, "output", outW, outD, winoErrBound[tc.k])
					for i, name := range []string{"dx", "dw", "db"} {
						assertClose(t, name, gW[i], gD[i], winoErrBound[tc.k])
					}
				})
			}
		})
	}
}

// relErr is the largest difference of got and want relative to want's
// largest magnitude.
func relErr(got, want []float32) float64 {
	var d, s float64
	for i := range want {
		d = max(d, math.Abs(float64(got[i]-want[i])))
		s = max(s, math.Abs(float64(want[i])))
	}
	return d / s
}

// TestWinogradFiniteDiff checks the Winograd gradients with finite
// differences, as every op's.
func TestWinogradFiniteDiff(t *testing.T) {
	for _, tc := range winoCases[:10] {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, uint64(tc.o)))
			x := newParam(r, 1, tc.n, tc.c, tc.h, tc.w)
			w := newParam(r, 0.5, tc.o, tc.c, tc.k, tc.k)
			b := newParam(r, 0.5, tc.o)
			params := []*param{x, w, b}
			wrt := []bool{true, true, true}
			tg := buildTest(t, r, params, wrt, func(in []*gorgonia.Node) (*gorgonia.Node, error) {
				return conv2DAlgo(in[0], in[1], in[2], tc.pad, false, true, algoWinograd, nil)
			})
			checkFiniteDiff(t, tg, params, wrt, 20, 3e-2)
		})
	}
}

// TestWinogradChosenByShape checks the rule that picks Winograd: 3x3 filters
// with at least winoMinChannels input and output channels or 5x5 filters
// with winoMinChannels5, on AVX-512 only,
// and enough tiles to fill its panels: the CAPTCHA models' small late
// layers take Winograd in a training batch but not one image at a time.
func TestWinogradChosenByShape(t *testing.T) {
	for _, ks := range kernelSets {
		for _, tc := range []struct {
			n, c, o, k, ho, wo int
			want               bool
		}{
			{128, 32, 32, 3, 48, 128, true},
			{128, 128, 256, 3, 2, 12, true},
			{128, 128, 128, 3, 4, 14, true},
			{1, 32, 32, 3, 48, 128, true},
			{1, 128, 128, 3, 9, 29, true},
			{1, 128, 128, 3, 4, 14, false},
			{1, 128, 256, 3, 2, 12, false},
			{128, 3, 32, 3, 50, 130, false},
			{128, 32, 8, 3, 48, 128, false},
			{128, 32, 64, 5, 24, 64, true},
			{1, 32, 64, 5, 24, 64, true},
			{64, 16, 36, 5, 14, 14, false},
			{128, 3, 32, 5, 50, 130, false},
			{128, 32, 64, 7, 24, 64, false},
		} {
			want := tc.want && ks.kind == kindAVX512
			if got := winoUse(ks, tc.n, tc.c, tc.o, tc.k, tc.k, tc.ho, tc.wo); got != want {
				t.Errorf("%s: winoUse(%+v) = %v, want %v", ks.name, tc, got, want)
			}
		}
	}
}

// TestWinogradFiltersFollowWeights checks that the transformed filters kept
// between passes follow any change of the weights, even of the last float
// only or of a zero's sign: after each change the Winograd output matches
// the direct convolution with the changed weights.
func TestWinogradFiltersFollowWeights(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 21))
	const n, c, h, wd, o = 2, 16, 7, 9, 16
	x := newParam(r, 1, n, c, h, wd)
	w := newParam(r, 0.1, o, c, 3, 3)
	b := newParam(r, 0.5, o)
	params, wrt := []*param{x, w, b}, []bool{false, false, false}
	build := func(algo convAlgo) *testGraph {
		return buildTest(t, r, params, wrt, func(in []*gorgonia.Node) (*gorgonia.Node, error) {
			return conv2DAlgo(in[0], in[1], in[2], Same, false, false, algo, nil)
		})
	}
	wino, direct := build(algoWinograd), build(algoDirect)
	for step, change := range []func(){
		func() {},
		func() {},
		func() { w.data[len(w.data)-1] += 0.5 },
		func() { w.data[0] = 0 },
		func() { w.data[0] = float32(math.Copysign(0, -1)) },
		func() { w.data[len(w.data)/2] *= -3 },
	} {
		change()
		_, got, _ := wino.run(t)
		_, want, _ := direct.run(t)
		assertClose(t, fmt.Sprintf("output after change %d", step), got, want, winoErrBound[3])
	}
}
