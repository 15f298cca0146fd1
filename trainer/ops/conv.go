package ops

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Padding selects how Conv2D pads its input.
type Padding int

const (
	// Valid uses no padding: the output shrinks by kernel size minus one.
	Valid Padding = iota
	// Same pads with zeros so the output has the input's height and width
	// (for even kernels the extra row and column go at the bottom and right,
	// as in Keras).
	Same
)

func (p Padding) String() string {
	if p == Same {
		return "same"
	}
	return "valid"
}

// convGeom is the geometry of one stride-1 convolution.
type convGeom struct {
	n, c, h, w  int // input
	o, kh, kw   int // filters
	padT, padL  int
	ho, wo      int // output
	ckk, pixels int // c*kh*kw, ho*wo
	relu, gradX bool
}

func newConvGeom(xs, ws []int, pad Padding, relu bool) (convGeom, error) {
	if len(xs) != 4 || len(ws) != 4 {
		return convGeom{}, fmt.Errorf("ops: Conv2D wants x (N,C,H,W) and w (O,C,KH,KW), got %v and %v", xs, ws)
	}
	g := convGeom{n: xs[0], c: xs[1], h: xs[2], w: xs[3], o: ws[0], kh: ws[2], kw: ws[3], relu: relu}
	if ws[1] != g.c {
		return g, fmt.Errorf("ops: Conv2D input has %d channels but the kernel expects %d", g.c, ws[1])
	}
	switch pad {
	case Same:
		g.padT, g.padL = (g.kh-1)/2, (g.kw-1)/2
		g.ho, g.wo = g.h, g.w
	case Valid:
		g.ho, g.wo = g.h-g.kh+1, g.w-g.kw+1
	default:
		return g, fmt.Errorf("ops: unknown padding %d", pad)
	}
	if g.ho <= 0 || g.wo <= 0 || g.kh <= 0 || g.kw <= 0 {
		return g, fmt.Errorf("ops: Conv2D kernel %dx%d does not fit input %dx%d", g.kh, g.kw, g.h, g.w)
	}
	g.ckk = g.c * g.kh * g.kw
	g.pixels = g.ho * g.wo
	return g, nil
}

// im2col writes panel p of the columns of one sample x (C,H,W) in the
// packed layout the GEMM kernel reads as B (rows c*kh*kw, columns ho*wo):
// for each row, the 64 consecutive output pixels [64p, 64p+64), zero beyond
// the last pixel. panel has room for c*kh*kw*64 floats.
func (g *convGeom) im2col(x []float32, panel []float32, p int) {
	j0 := p * panelW
	nc := min(panelW, g.pixels-j0)
	kk := 0
	for c := 0; c < g.c; c++ {
		xc := x[c*g.h*g.w : (c+1)*g.h*g.w]
		for ky := 0; ky < g.kh; ky++ {
			for kx := 0; kx < g.kw; kx++ {
				row := panel[kk*panelW : kk*panelW+panelW]
				kk++
				off := kx - g.padL
				oy, ox := j0/g.wo, j0%g.wo
				j := 0
				for j < nc {
					seg := min(g.wo-ox, nc-j)
					out := row[j : j+seg]
					iy := oy + ky - g.padT
					if iy < 0 || iy >= g.h {
						clear(out)
					} else {
						src := xc[iy*g.w : (iy+1)*g.w]
						// ix = ox+off must lie in [0, w).
						lo := max(0, -off-ox)      // first valid index in out
						hi := min(seg, g.w-off-ox) // one past the last
						if hi <= lo {
							clear(out)
						} else {
							clear(out[:lo])
							copy(out[lo:hi], src[ox+off+lo:ox+off+hi])
							clear(out[hi:])
						}
					}
					j += seg
					oy++
					ox = 0
				}
				clear(row[nc:])
			}
		}
	}
}

// col2im adds the column gradient dcol (rows c*kh*kw, columns ho*wo, row
// major) into the input gradient dx (C,H,W) of one sample.
func (g *convGeom) col2im(dcol []float32, dx []float32) {
	kk := 0
	for c := 0; c < g.c; c++ {
		dxc := dx[c*g.h*g.w : (c+1)*g.h*g.w]
		for ky := 0; ky < g.kh; ky++ {
			for kx := 0; kx < g.kw; kx++ {
				row := dcol[kk*g.pixels : (kk+1)*g.pixels]
				kk++
				off := kx - g.padL
				oxLo := max(0, -off)
				oxHi := min(g.wo, g.w-off)
				if oxHi <= oxLo {
					continue
				}
				for oy := 0; oy < g.ho; oy++ {
					iy := oy + ky - g.padT
					if iy < 0 || iy >= g.h {
						continue
					}
					src := row[oy*g.wo+oxLo : oy*g.wo+oxHi]
					dst := dxc[iy*g.w+oxLo+off : iy*g.w+oxHi+off]
					for i, v := range src {
						dst[i] += v
					}
				}
			}
		}
	}
}

// reluMask writes dy masked by y > 0 into dst, or returns dy unchanged when
// the layer has no fused ReLU.
func reluMask(relu bool, y, dy, dst []float32) []float32 {
	if !relu {
		return dy
	}
	dst = dst[:len(dy)]
	for i, v := range dy {
		if y[i] > 0 {
			dst[i] = v
		} else {
			dst[i] = 0
		}
	}
	return dst
}

// convScratch is one worker's scratch space.
type convScratch struct {
	col, pack, dcol, dwt, db []float32
}

// convState is shared by a convolution and its gradient ops.
type convState struct {
	g       convGeom
	ks      *kernels
	scratch []convScratch
	db      buffer // filled by the weight-gradient op, returned by the bias one
	// fwdRuns counts forward runs; maskedRun is the run whose output
	// gradient has been masked by the fused ReLU in place.
	fwdRuns, maskedRun int
}

// maskGrad applies the fused ReLU's mask to the output gradient dy in place,
// once per forward run. Masking is idempotent and dy's only readers are this
// convolution's gradient ops, so whichever runs first does it.
func (s *convState) maskGrad(y, dy []float32) {
	if !s.g.relu || s.maskedRun == s.fwdRuns {
		return
	}
	parallelFor(len(dy), workers(), func(_, lo, hi int) {
		reluMask(true, y[lo:hi], dy[lo:hi], dy[lo:hi])
	})
	s.maskedRun = s.fwdRuns
}

func (s *convState) workerScratch() []convScratch {
	if w := workers(); len(s.scratch) != w {
		s.scratch = make([]convScratch, w)
	}
	return s.scratch
}

// conv2dOp computes y = relu?(conv(x, w) + b) for stride 1.
type conv2dOp struct {
	opBase
	st  *convState
	out buffer
}

// Conv2D returns the stride-1 convolution of x (N,C,H,W) with filters w
// (O,C,KH,KW) plus bias b (O), followed by a ReLU when relu is true. pad is
// Same or Valid. The gradient with respect to x is only computed when x is
// itself computed by an op (not for the graph's input batch).
func Conv2D(x, w, b *gorgonia.Node, pad Padding, relu bool) (*gorgonia.Node, error) {
	return conv2D(x, w, b, pad, relu, !isLeaf(x))
}

func conv2D(x, w, b *gorgonia.Node, pad Padding, relu, gradX bool) (*gorgonia.Node, error) {
	g, err := newConvGeom(shapeOf(x), shapeOf(w), pad, relu)
	if err != nil {
		return nil, err
	}
	if bs := shapeOf(b); prod(bs) != g.o {
		return nil, fmt.Errorf("ops: Conv2D bias has shape %v, want (%d)", bs, g.o)
	}
	g.gradX = gradX
	op := &conv2dOp{st: &convState{g: g, ks: defaultKernels}}
	return gorgonia.ApplyOp(op, x, w, b)
}

func (op *conv2dOp) Arity() int { return 3 }
func (op *conv2dOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(tensorType(4, a), tensorType(4, a), tensorType(1, a), tensorType(4, a))
}
func (op *conv2dOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	g := &op.st.g
	return tensor.Shape{g.n, g.o, g.ho, g.wo}, nil
}
func (op *conv2dOp) String() string {
	g := &op.st.g
	return fmt.Sprintf("Conv2D{%dx%d,pad=%d,%d,relu=%v}", g.kh, g.kw, g.padT, g.padL, g.relu)
}
func (op *conv2dOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *conv2dOp) Hashcode() uint32      { return hashcode(op) }

func (op *conv2dOp) Do(inputs ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, len(inputs), 3); err != nil {
		return nil, err
	}
	x, _, err := f32(inputs[0])
	if err != nil {
		return nil, err
	}
	w, _, err := f32(inputs[1])
	if err != nil {
		return nil, err
	}
	b, _, err := f32(inputs[2])
	if err != nil {
		return nil, err
	}
	g := &op.st.g
	op.st.fwdRuns++
	out := op.out.get(g.n, g.o, g.ho, g.wo)
	y := out.Float32s()
	scr := op.st.workerScratch()
	ks := op.st.ks
	flags := flagRowBias
	if g.relu {
		flags |= flagReLU
	}
	npan := (g.pixels + panelW - 1) / panelW
	nrb := (g.o + tileM - 1) / tileM
	parallelFor(g.n, len(scr), func(wi, lo, hi int) {
		s := &scr[wi]
		s.col = grow(s.col, g.ckk*panelW)
		for n := lo; n < hi; n++ {
			xn := x[n*g.c*g.h*g.w : (n+1)*g.c*g.h*g.w]
			yn := y[n*g.o*g.pixels:]
			for p := 0; p < npan; p++ {
				g.im2col(xn, s.col, p)
				j0 := p * panelW
				ks.gemmPanel(g.o, min(panelW, g.pixels-j0), g.ckk, w, g.ckk, 1, s.col, yn[j0:], g.pixels, b, j0, flags, 0, nrb)
			}
		}
	})
	return out, nil
}

func (op *conv2dOp) DiffWRT(int) []bool { return []bool{op.st.g.gradX, true, true} }

func (op *conv2dOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if err := checkArity(op, len(inputs), 3); err != nil {
		return nil, err
	}
	x, w := inputs[0], inputs[1]
	var dx *gorgonia.Node
	var err error
	if op.st.g.gradX {
		if dx, err = gorgonia.ApplyOp(&conv2dGradXOp{st: op.st}, w, output, grad); err != nil {
			return nil, err
		}
	}
	dw, err := gorgonia.ApplyOp(&conv2dGradWOp{st: op.st}, x, output, grad)
	if err != nil {
		return nil, err
	}
	db, err := gorgonia.ApplyOp(newStashOp("Conv2DGradB", &op.st.db, 4, op.st.g.o), dw)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx, dw, db}, nil
}

// conv2dGradXOp computes the gradient of a convolution with respect to its
// input from (w, y, dy).
type conv2dGradXOp struct {
	opBase
	st  *convState
	out buffer
}

func (op *conv2dGradXOp) Arity() int { return 3 }
func (op *conv2dGradXOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(tensorType(4, a), tensorType(4, a), tensorType(4, a), tensorType(4, a))
}
func (op *conv2dGradXOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	g := &op.st.g
	return tensor.Shape{g.n, g.c, g.h, g.w}, nil
}
func (op *conv2dGradXOp) String() string        { return "Conv2DGradX" }
func (op *conv2dGradXOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *conv2dGradXOp) Hashcode() uint32      { return hashcode(op) }

func (op *conv2dGradXOp) Do(inputs ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, len(inputs), 3); err != nil {
		return nil, err
	}
	w, _, err := f32(inputs[0])
	if err != nil {
		return nil, err
	}
	y, _, err := f32(inputs[1])
	if err != nil {
		return nil, err
	}
	dy, _, err := f32(inputs[2])
	if err != nil {
		return nil, err
	}
	g := &op.st.g
	out := op.out.get(g.n, g.c, g.h, g.w)
	dx := out.Float32s()
	scr := op.st.workerScratch()
	ks := op.st.ks
	npan := (g.pixels + panelW - 1) / panelW
	nrb := (g.ckk + tileM - 1) / tileM
	sz := g.o * g.pixels
	op.st.maskGrad(y, dy)
	parallelFor(g.n, len(scr), func(wi, lo, hi int) {
		s := &scr[wi]
		s.pack = grow(s.pack, packedSize(g.o, g.pixels))
		s.dcol = grow(s.dcol, g.ckk*g.pixels)
		for n := lo; n < hi; n++ {
			gm := dy[n*sz : (n+1)*sz]
			packB(g.o, g.pixels, gm, g.pixels, 1, s.pack, 0, npan)
			ks.gemmPanels(g.ckk, g.pixels, g.o, w, 1, g.ckk, s.pack, s.dcol, g.pixels, nil, 0, 0, nrb, 0, npan)
			dxn := dx[n*g.c*g.h*g.w : (n+1)*g.c*g.h*g.w]
			clear(dxn)
			g.col2im(s.dcol, dxn)
		}
	})
	return out, nil
}

func (op *conv2dGradXOp) DiffWRT(int) []bool { return []bool{false, false, false} }
func (op *conv2dGradXOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, errNoSecondOrder
}

// conv2dGradWOp computes the gradient of a convolution with respect to its
// filters from (x, y, dy), and the bias gradient as a by-product.
type conv2dGradWOp struct {
	opBase
	st  *convState
	out buffer
}

func (op *conv2dGradWOp) Arity() int { return 3 }
func (op *conv2dGradWOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(tensorType(4, a), tensorType(4, a), tensorType(4, a), tensorType(4, a))
}
func (op *conv2dGradWOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	g := &op.st.g
	return tensor.Shape{g.o, g.c, g.kh, g.kw}, nil
}
func (op *conv2dGradWOp) String() string        { return "Conv2DGradW" }
func (op *conv2dGradWOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *conv2dGradWOp) Hashcode() uint32      { return hashcode(op) }

func (op *conv2dGradWOp) Do(inputs ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, len(inputs), 3); err != nil {
		return nil, err
	}
	x, _, err := f32(inputs[0])
	if err != nil {
		return nil, err
	}
	y, _, err := f32(inputs[1])
	if err != nil {
		return nil, err
	}
	dy, _, err := f32(inputs[2])
	if err != nil {
		return nil, err
	}
	g := &op.st.g
	out := op.out.get(g.o, g.c, g.kh, g.kw)
	dw := out.Float32s()
	dbT := op.st.db.get(g.o)
	db := dbT.Float32s()
	scr := op.st.workerScratch()
	ks := op.st.ks
	// dW^T (ckk x o16) accumulates col (ckk x pixels) * dy^T (pixels x o),
	// one panel of 64 pixels at a time, with o rounded up to a multiple of 16
	// so that the kernels write it directly.
	o16 := (g.o + 15) / 16 * 16
	npanPix := (g.pixels + panelW - 1) / panelW
	npanO := (o16 + panelW - 1) / panelW
	nrb := (g.ckk + tileM - 1) / tileM
	sz := g.o * g.pixels
	used, _ := numRanges(g.n, len(scr))
	op.st.maskGrad(y, dy)
	parallelFor(g.n, len(scr), func(wi, lo, hi int) {
		s := &scr[wi]
		s.col = grow(s.col, g.ckk*panelW)
		s.pack = grow(s.pack, packedSize(panelW, o16))
		s.dwt = grow(s.dwt, g.ckk*o16)
		s.db = grow(s.db, g.o)
		clear(s.dwt)
		clear(s.db)
		for n := lo; n < hi; n++ {
			gm := dy[n*sz : (n+1)*sz]
			for o := 0; o < g.o; o++ {
				var sum float32
				for _, v := range gm[o*g.pixels : (o+1)*g.pixels] {
					sum += v
				}
				s.db[o] += sum
			}
			xn := x[n*g.c*g.h*g.w : (n+1)*g.c*g.h*g.w]
			for p := 0; p < npanPix; p++ {
				j0 := p * panelW
				nc := min(panelW, g.pixels-j0)
				g.im2col(xn, s.col, p)
				packB(nc, g.o, gm[j0:], 1, g.pixels, s.pack, 0, npanO)
				a := s.col
				ks.gemmPanels(g.ckk, o16, nc, a, panelW, 1, s.pack, s.dwt, o16, nil, flagAcc, 0, nrb, 0, npanO)
			}
		}
	})
	clear(db)
	for o := 0; o < g.o; o++ {
		for k := 0; k < g.ckk; k++ {
			var sum float32
			for wi := 0; wi < used; wi++ {
				sum += scr[wi].dwt[k*o16+o]
			}
			dw[o*g.ckk+k] = sum
		}
		for wi := 0; wi < used; wi++ {
			db[o] += scr[wi].db[o]
		}
	}
	return out, nil
}

func (op *conv2dGradWOp) DiffWRT(int) []bool { return []bool{false, false, false} }
func (op *conv2dGradWOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, errNoSecondOrder
}
