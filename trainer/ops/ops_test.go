package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// compare builds the same function with mine and ref and checks outputs and
// gradients agree.
func compare(t *testing.T, params []*param, wrt []bool, mine, ref func(in []*gorgonia.Node) (*gorgonia.Node, error), tol float64) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 1))
	m := buildTest(t, r, params, wrt, mine)
	f := buildTest(t, r, params, wrt, ref)
	_, outM, gM := m.run(t)
	_, outR, gR := f.run(t)
	assertClose(t, "output", outM, outR, tol)
	for i := range gM {
		assertClose(t, fmt.Sprintf("gradient %d", i), gM[i], gR[i], tol)
	}
}

func TestMaxPool2D(t *testing.T) {
	for _, tc := range [][5]int{{2, 3, 8, 8, 2}, {1, 2, 7, 9, 2}, {2, 2, 9, 10, 3}} {
		r := rand.New(rand.NewPCG(2, uint64(tc[4])))
		x := newParam(r, 1, tc[0], tc[1], tc[2], tc[3])
		params, wrt := []*param{x}, []bool{true}
		k := tc[4]
		mine := func(in []*gorgonia.Node) (*gorgonia.Node, error) { return MaxPool2D(in[0], k) }
		ref := func(in []*gorgonia.Node) (*gorgonia.Node, error) {
			return gorgonia.MaxPool2D(in[0], tensor.Shape{k, k}, []int{0, 0}, []int{k, k})
		}
		if tc[2]%k == 0 && tc[3]%k == 0 {
			// gorgonia rounds odd sizes differently; compare where both agree.
			compare(t, params, wrt, mine, ref, 1e-6)
		}
		tg := buildTest(t, r, params, wrt, mine)
		_, out, _ := tg.run(t)
		if want := tc[0] * tc[1] * (tc[2] / k) * (tc[3] / k); len(out) != want {
			t.Fatalf("%v: output has %d elements, want %d", tc, len(out), want)
		}
		checkFiniteDiff(t, tg, params, wrt, 20, 2e-2)
	}
}

func TestDense(t *testing.T) {
	for _, relu := range []bool{false, true} {
		for _, sz := range [][3]int{{5, 7, 3}, {13, 70, 17}, {32, 100, 70}} {
			r := rand.New(rand.NewPCG(4, uint64(sz[1])))
			x := newParam(r, 1, sz[0], sz[1])
			w := newParam(r, 0.3, sz[1], sz[2])
			b := newParam(r, 0.3, sz[2])
			params, wrt := []*param{x, w, b}, []bool{true, true, true}
			mine := func(in []*gorgonia.Node) (*gorgonia.Node, error) { return dense(in[0], in[1], in[2], relu, true, nil) }
			ref := func(in []*gorgonia.Node) (*gorgonia.Node, error) {
				y, err := gorgonia.Mul(in[0], in[1])
				if err != nil {
					return nil, err
				}
				if y, err = gorgonia.BroadcastAdd(y, in[2], nil, []byte{0}); err != nil {
					return nil, err
				}
				if relu {
					return gorgonia.Rectify(y)
				}
				return y, nil
			}
			compare(t, params, wrt, mine, ref, 1e-4)
			if !relu {
				checkFiniteDiff(t, buildTest(t, r, params, wrt, mine), params, wrt, 15, 2e-2)
			}
		}
	}
}

func TestDenseFlattens4D(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	x := newParam(r, 1, 3, 2, 3, 4)
	w := newParam(r, 0.3, 24, 5)
	b := newParam(r, 0.3, 5)
	params, wrt := []*param{x, w, b}, []bool{true, true, true}
	tg := buildTest(t, r, params, wrt, func(in []*gorgonia.Node) (*gorgonia.Node, error) {
		return dense(in[0], in[1], in[2], false, true, nil)
	})
	checkFiniteDiff(t, tg, params, wrt, 15, 2e-2)
}

func TestReLU(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	x := newParam(r, 1, 4, 3, 5)
	compare(t, []*param{x}, []bool{true},
		func(in []*gorgonia.Node) (*gorgonia.Node, error) { return ReLU(in[0]) },
		func(in []*gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.Rectify(in[0]) }, 1e-6)
}

func TestDropout(t *testing.T) {
	const rate = 0.25
	r := rand.New(rand.NewPCG(8, 8))
	x := newParam(r, 1, 64, 50)
	for i := range x.data {
		x.data[i] = 1
	}
	mode := NewMode()
	tg := buildTest(t, r, []*param{x}, []bool{true}, func(in []*gorgonia.Node) (*gorgonia.Node, error) {
		return Dropout(in[0], rate, mode, 1)
	})
	_, out, grads := tg.run(t)
	dropped := 0
	var sum float64
	for i, v := range out {
		switch {
		case v == 0:
			dropped++
			if grads[0][i] != 0 {
				t.Fatalf("dropped element %d has gradient %v", i, grads[0][i])
			}
		case math.Abs(float64(v)-1/(1-rate)) > 1e-6:
			t.Fatalf("kept element %d is %v, want %v", i, v, 1/(1-rate))
		}
		sum += float64(v)
	}
	frac := float64(dropped) / float64(len(out))
	if math.Abs(frac-rate) > 0.03 {
		t.Fatalf("dropped fraction %v, want about %v", frac, rate)
	}
	if mean := sum / float64(len(out)); math.Abs(mean-1) > 0.05 {
		t.Fatalf("mean after dropout %v, want about 1", mean)
	}
	// The gradient is the same mask times the cost weights: dx = rw * y / x.
	rw := newParam(rand.New(rand.NewPCG(11, 13)), 1, 64, 50).data
	for i := range out {
		if want := rw[i] * out[i]; math.Abs(float64(grads[0][i]-want)) > 1e-5 {
			t.Fatalf("gradient %d: %v, want %v", i, grads[0][i], want)
		}
	}
	// A second step draws a new mask.
	_, out2, _ := tg.run(t)
	same := 0
	for i := range out {
		if (out[i] == 0) == (out2[i] == 0) {
			same++
		}
	}
	if same == len(out) {
		t.Fatal("two training steps drew the same mask")
	}
	mode.Eval()
	_, out3, grads3 := tg.run(t)
	for i := range out3 {
		if out3[i] != 1 || grads3[0][i] != rw[i] {
			t.Fatalf("evaluation: element %d is %v with gradient %v, want 1 and %v", i, out3[i], grads3[0][i], rw[i])
		}
	}
}

func TestBatchNorm(t *testing.T) {
	for _, shape := range [][]int{{4, 3, 5, 6}, {16, 7}} {
		r := rand.New(rand.NewPCG(10, uint64(len(shape))))
		x := newParam(r, 2, shape...)
		for i := range x.data {
			x.data[i] += 3
		}
		gamma := newParam(r, 0.5, shape[1])
		beta := newParam(r, 0.5, shape[1])
		params, wrt := []*param{x, gamma, beta}, []bool{true, true, true}
		state := NewBNState(shape[1])
		mode := NewMode()
		tg := buildTest(t, r, params, wrt, func(in []*gorgonia.Node) (*gorgonia.Node, error) {
			return BatchNorm(in[0], in[1], in[2], state, mode)
		})
		_, out, _ := tg.run(t)
		// Each channel of the normalised output has mean beta and standard
		// deviation |gamma| (up to epsilon).
		inner := prod(shape[2:])
		for c := 0; c < shape[1]; c++ {
			var s, ss float64
			m := 0
			for n := 0; n < shape[0]; n++ {
				for _, v := range out[(n*shape[1]+c)*inner : (n*shape[1]+c+1)*inner] {
					s += float64(v)
					ss += float64(v) * float64(v)
					m++
				}
			}
			mean := s / float64(m)
			sd := math.Sqrt(ss/float64(m) - mean*mean)
			if math.Abs(mean-float64(beta.data[c])) > 1e-4 || math.Abs(sd-math.Abs(float64(gamma.data[c]))) > 2e-3 {
				t.Fatalf("%v channel %d: mean %v sd %v, want %v and %v", shape, c, mean, sd, beta.data[c], math.Abs(float64(gamma.data[c])))
			}
		}
		// One training step moved the running mean 1% of the way to ~3.
		if rm := state.Mean.Float32s()[0]; rm < 0.02 || rm > 0.04 {
			t.Fatalf("running mean after one step %v, want about 0.03", rm)
		}
		checkFiniteDiff(t, tg, params, wrt, 20, 3e-2)
		// Evaluation uses the running statistics.
		mode.Eval()
		state.Mean.Float32s()[0] = 1
		state.Var.Float32s()[0] = 4
		_, out, _ = tg.run(t)
		want := gamma.data[0]*(x.data[0]-1)/float32(math.Sqrt(4+0.001)) + beta.data[0]
		if math.Abs(float64(out[0]-want)) > 1e-5 {
			t.Fatalf("evaluation output %v, want %v", out[0], want)
		}
		checkFiniteDiff(t, tg, params, wrt, 10, 3e-2)
	}
}

func TestSoftmaxCrossEntropy(t *testing.T) {
	const n, k = 6, 5
	r := rand.New(rand.NewPCG(12, 12))
	z := newParam(r, 2, n, k)
	labels := &param{shape: []int{n}, data: []float32{0, 4, 2, 2, 1, 3}}
	params, wrt := []*param{z, labels}, []bool{true, false}
	mine := func(in []*gorgonia.Node) (*gorgonia.Node, error) { return SoftmaxCrossEntropy(in[0], in[1]) }
	oneHot := make([]float32, n*k)
	for i, l := range labels.data {
		oneHot[i*k+int(l)] = 1
	}
	ref := func(in []*gorgonia.Node) (*gorgonia.Node, error) {
		oh := gorgonia.NodeFromAny(in[0].Graph(), tensor.New(tensor.WithShape(n, k), tensor.WithBacking(oneHot)))
		sm, err := gorgonia.SoftMax(in[0])
		if err != nil {
			return nil, err
		}
		lg, err := gorgonia.Log(sm)
		if err != nil {
			return nil, err
		}
		p, err := gorgonia.HadamardProd(lg, oh)
		if err != nil {
			return nil, err
		}
		s, err := gorgonia.Sum(p)
		if err != nil {
			return nil, err
		}
		s, err = gorgonia.Neg(s)
		if err != nil {
			return nil, err
		}
		return gorgonia.Div(s, gorgonia.NewConstant(float32(n)))
	}
	compare(t, params, wrt, mine, ref, 1e-5)
	tg := buildTest(t, r, params, wrt, mine)
	checkFiniteDiff(t, tg, params, wrt, 20, 1e-2)

	// Large logits stay finite.
	for i := range z.data {
		z.data[i] *= 1000
	}
	loss, _, grads := tg.run(t)
	if math.IsNaN(loss) || math.IsInf(loss, 0) || math.IsNaN(float64(grads[0][0])) {
		t.Fatalf("loss %v, gradient %v with large logits", loss, grads[0][0])
	}

	// Out-of-range labels are an error, not a panic.
	labels.data[0] = k
	tg.vm.Reset()
	if err := tg.vm.RunAll(); err == nil {
		t.Fatal("label k was accepted")
	}
}

func TestSoftmax(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 13))
	z := newParam(r, 3, 4, 7)
	buildMu.Lock()
	g := gorgonia.NewGraph()
	zn := gorgonia.NodeFromAny(g, tensor.New(tensor.WithShape(4, 7), tensor.WithBacking(z.data)))
	p, err := Softmax(zn)
	buildMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	out := p.Value().(*tensor.Dense).Float32s()
	for i := 0; i < 4; i++ {
		var s float64
		for j := 0; j < 7; j++ {
			want := math.Exp(float64(z.data[i*7+j]))
			var den float64
			for jj := 0; jj < 7; jj++ {
				den += math.Exp(float64(z.data[i*7+jj]))
			}
			if math.Abs(float64(out[i*7+j])-want/den) > 1e-6 {
				t.Fatalf("softmax[%d,%d] = %v, want %v", i, j, out[i*7+j], want/den)
			}
			s += float64(out[i*7+j])
		}
		if math.Abs(s-1) > 1e-5 {
			t.Fatalf("row %d sums to %v", i, s)
		}
	}
}

// TestPool2Ties checks the branch-free 2x2 pooling against the plain scan
// (first maximum in row-major window order wins) on data full of ties, on a
// plane with an odd row and column that are dropped.
func TestPool2Ties(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	const h, w = 7, 9
	ho, wo := h/2, w/2
	x := make([]float32, h*w)
	for i := range x {
		x[i] = float32(r.IntN(3)) - 1
	}
	y := make([]float32, ho*wo)
	am := make([]int32, ho*wo)
	pool2(x, w, w, ho, wo, y, am)
	for oy := 0; oy < ho; oy++ {
		for ox := 0; ox < wo; ox++ {
			best := 2*oy*w + 2*ox
			for _, i := range []int{best + 1, best + w, best + w + 1} {
				if x[i] > x[best] {
					best = i
				}
			}
			if y[oy*wo+ox] != x[best] || int(am[oy*wo+ox]) != best {
				t.Fatalf("window (%d,%d): got %v at %d, want %v at %d", oy, ox, y[oy*wo+ox], am[oy*wo+ox], x[best], best)
			}
		}
	}
}

// TestPool2Kernels checks every kernel set's 2x2 pooling against the Go
// function pool2, value and index, on ties, NaNs, infinities and signed
// zeros, over widths that leave 0 to 15 outputs in the last 16-lane group.
func TestPool2Kernels(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -1, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	for _, ks := range kernelSets {
		for _, hw := range [][2]int{{2, 2}, {3, 3}, {5, 29}, {28, 28}, {14, 14}, {48, 128}, {7, 65}, {22, 62}, {4, 36}, {9, 98}} {
			h, w := hw[0], hw[1]
			ho, wo := h/2, w/2
			x := make([]float32, h*w)
			for i := range x {
				switch r.IntN(4) {
				case 0:
					x[i] = special[r.IntN(len(special))]
				case 1:
					x[i] = float32(r.IntN(3))
				default:
					x[i] = float32(r.NormFloat64())
				}
			}
			y, am := make([]float32, ho*wo), make([]int32, ho*wo)
			yw, amw := make([]float32, ho*wo), make([]int32, ho*wo)
			pool2(x, w, w, ho, wo, yw, amw)
			ks.pool2Plane(x, w, w, ho, wo, y, am)
			for i := range yw {
				same := y[i] == yw[i] || (math.IsNaN(float64(y[i])) && math.IsNaN(float64(yw[i])))
				if !same || am[i] != amw[i] {
					t.Fatalf("%s %dx%d: output %d: got %v at %d, want %v at %d", ks.name, h, w, i, y[i], am[i], yw[i], amw[i])
				}
			}
			// Indices counted in a narrower plane (rows iw apart), as a
			// convolution's grid output is pooled: window (oy, ox)'s
			// choice r*w+c must become r*iw+c.
			iw := max(2*wo, w-3)
			ks.pool2Plane(x, w, iw, ho, wo, y, am)
			for i, a := range amw {
				r, c := int(a)/w, int(a)%w
				if want := int32(r*iw + c); am[i] != want {
					t.Fatalf("%s %dx%d, indices %d apart: output %d at %d, want %d", ks.name, h, w, iw, i, am[i], want)
				}
			}
		}
	}
}

// TestPool2Grad checks the 2x2 pooling gradient of every kernel set against
// routing each dy to its chosen input, with and without the fused ReLU's
// mask, on ties and NaNs, over widths that leave 0 to 15 outputs in the last
// 16-lane group and planes with an odd row and column.
func TestPool2Grad(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	for _, ks := range kernelSets {
		for _, hw := range [][2]int{{2, 2}, {3, 3}, {7, 9}, {14, 14}, {28, 28}, {5, 30}, {4, 65}, {6, 62}, {48, 128}, {3, 99}, {22, 33}} {
			h, w := hw[0], hw[1]
			ho, wo := h/2, w/2
			x := make([]float32, h*w)
			for i := range x {
				switch r.IntN(5) {
				case 0:
					x[i] = float32(math.NaN())
				case 1:
					x[i] = float32(r.IntN(2))
				default:
					x[i] = float32(r.NormFloat64())
				}
			}
			y, am := make([]float32, ho*wo), make([]int32, ho*wo)
			pool2(x, w, w, ho, wo, y, am)
			dy := randSlice(r, ho*wo)
			for _, mask := range []bool{false, true} {
				want := make([]float32, h*w)
				for i, v := range dy {
					if !mask || y[i] > 0 {
						want[am[i]] += v
					}
				}
				got := make([]float32, h*w+16)
				for i := range got {
					got[i] = 7 // every element is written, none beyond
				}
				ks.pool2GradPlane(dy, y, am, w, h, ho, wo, mask, got[:h*w])
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%s %dx%d mask %v: dx[%d] = %v, want %v", ks.name, h, w, mask, i, got[i], want[i])
					}
				}
				for i := h * w; i < len(got); i++ {
					if got[i] != 7 {
						t.Fatalf("%s %dx%d: wrote beyond the plane at %d", ks.name, h, w, i)
					}
				}
			}
		}
	}
}

// TestConvReLUPoolGradient checks a convolution with a fused ReLU followed
// by max pooling, where the pooling's gradient applies the ReLU's mask,
// against gorgonia's Conv2d, Rectify and MaxPool2D (2x2, and 3x3 by the
// generic path).
func TestConvReLUPoolGradient(t *testing.T) {
	for _, k := range []int{2, 3} {
		r := rand.New(rand.NewPCG(8, uint64(k)))
		x := newParam(r, 1, 3, 2, 12, 12)
		w := newParam(r, 0.5, 5, 2, 3, 3)
		b := newParam(r, 0.5, 5)
		params, wrt := []*param{x, w, b}, []bool{true, true, true}
		mine := func(in []*gorgonia.Node) (*gorgonia.Node, error) {
			y, err := conv2D(in[0], in[1], in[2], Same, true, true)
			if err != nil {
				return nil, err
			}
			return MaxPool2D(y, k)
		}
		ref := func(in []*gorgonia.Node) (*gorgonia.Node, error) {
			y, err := gorgoniaConv(in[0], in[1], in[2], Same, true)
			if err != nil {
				return nil, err
			}
			return gorgonia.MaxPool2D(y, tensor.Shape{k, k}, []int{0, 0}, []int{k, k})
		}
		compare(t, params, wrt, mine, ref, 1e-4)
	}
}

// TestTranspose16 checks the AVX-512 transposition of packDyT and of the
// Winograd weight gradient (16x16 blocks in registers, the rest gathered)
// against the plain loop for every channel count up to 16, position counts
// around the block size and destination strides of 64 floats (packDyT) and
// others, and that it leaves the other floats of each row alone.
func TestTranspose16(t *testing.T) {
	for _, ks := range kernelSets {
		if !ks.transpose16(nil, 0, nil, 0, 0, panelW) {
			continue
		}
		r := rand.New(rand.NewPCG(8, 8))
		for _, ds := range []int{panelW, 16, 32, 48, 256} {
			for nch := 1; nch <= 16; nch++ {
				for _, n := range []int{1, 15, 16, 17, 33, 196} {
					pix := n + 3
					src := randSlice(r, nch*pix)
					dst := randSlice(r, n*ds)
					want := append([]float32(nil), dst...)
					for p := 0; p < n; p++ {
						for o := 0; o < nch; o++ {
							want[p*ds+o] = src[o*pix+p]
						}
					}
					if !ks.transpose16(src, pix, dst, n, nch, ds) {
						t.Fatalf("%s: transpose16 refused %d channels", ks.name, nch)
					}
					for i := range want {
						if dst[i] != want[i] {
							t.Fatalf("%s: %d channels, %d positions, stride %d: dst[%d] = %v, want %v", ks.name, nch, n, ds, i, dst[i], want[i])
						}
					}
				}
			}
		}
	}
}
