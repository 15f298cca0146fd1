package ops

import (
	"fmt"
	"hash"
	"math"

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

// reluMask writes dy masked by y > 0 into dst, or returns dy unchanged when
// the layer has no fused ReLU.
func reluMask(relu bool, y, dy, dst []float32) []float32 {
	if !relu {
		return dy
	}
	dst = dst[:len(dy)]
	y = y[:len(dy)]
	// A select on the bits compiles to a conditional move: a branch on y > 0
	// mispredicts half the time and cost six times as much.
	for i, v := range dy {
		b := math.Float32bits(v)
		if !(y[i] > 0) {
			b = 0
		}
		dst[i] = math.Float32frombits(b)
	}
	return dst
}

// convScratch is one worker's scratch space for the weight gradient.
type convScratch struct {
	pack, dwt, db []float32
	dyT           []float32 // dy^T packed on the grid, allocated zeroed; see gridConv.packDyT
}

// convState is shared by a convolution and its gradient ops.
type convState struct {
	g   convGeom
	ks  *kernels
	fwd *gridConv // the convolution itself
	bwd *gridConv // the input gradient: dy convolved with the flipped filters
	// wfwd and wbwd replace fwd and bwd (and the weight gradient) when the
	// layer runs with Winograd's F(2x2, 3x3) or F(2x2, 5x5); see winoUse.
	wfwd, wbwd *winoConv
	wflip      []float32 // (c, o, kh, kw) flipped filters for bwd
	scratch    []convScratch
	db         buffer // filled by the weight-gradient op, returned by the bias one
	// fwdRuns counts forward runs; maskedRun is the run whose output
	// gradient, the buffer at masked, has been masked by the fused ReLU in
	// place.
	fwdRuns, maskedRun int
	masked             *float32
	// mode, when set, is the model's training/evaluation switch, and the
	// convolution's output has no other consumer than the op that reads
	// it. When that is a 2x2 max pooling (pool, set by MaxPool2D), the
	// convolution pools each sample as it computes it, while the grid
	// output is in cache, and writes only the pooled output and, outside
	// Mode.Infer, the pooling's choices (choices). pooledRun is the
	// forward run it did so at, which tells the pooling ops.
	mode      *Mode
	pool      *maxPoolOp
	pooledRun int
	choices   bool
	// wino is the filters whose Winograd transform wfwd holds, in Mode.Infer.
	wino prepared
	// prev, when set, is the convolution (built with Conv2DIn) whose output
	// is this one's input. The input gradient is then written over that
	// output: once this convolution's weight gradient has read it, the
	// output is read again only for prev's ReLU mask, which the input
	// gradient applies itself from bits (x > 0) taken before it writes.
	prev *conv2dOp
	bits []uint64
}

// maskGrad applies the fused ReLU's mask to the output gradient dy in place,
// once per forward run. Masking is idempotent and dy's only readers are this
// convolution's gradient ops, so whichever runs first does it, unless the
// op that computed dy masked it already (markMasked).
func (s *convState) maskGrad(y, dy []float32) {
	if !s.g.relu || len(dy) == 0 || (s.maskedRun == s.fwdRuns && s.masked == &dy[0]) {
		return
	}
	parallelFor(len(dy), workers(), func(_, lo, hi int) {
		reluMask(true, y[lo:hi], dy[lo:hi], dy[lo:hi])
	})
	s.markMasked(dy)
}

// markMasked records that dy, the output gradient of this forward run, has
// had the ReLU's mask applied. A gradient that reaches the convolution in
// another buffer (summed with another consumer's, say) is masked again.
func (s *convState) markMasked(dy []float32) {
	if len(dy) > 0 {
		s.maskedRun, s.masked = s.fwdRuns, &dy[0]
	}
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
	return conv2DAlgo(x, w, b, pad, relu, gradX, algoAuto, nil)
}

// Conv2DIn is Conv2D for a model whose training and evaluation mode is
// mode, and whose output has a single consumer (as in a sequential model).
// When that is a MaxPool2D of 2x2 windows, the convolution pools each
// sample while it is in cache and the pooling op passes that on: the
// convolution's own output is not written, and the pooling's gradient is
// written into its buffer instead. When x is itself a Conv2DIn, the input
// gradient is written over x once the weight gradient has read it.
func Conv2DIn(x, w, b *gorgonia.Node, pad Padding, relu bool, mode *Mode) (*gorgonia.Node, error) {
	return conv2DAlgo(x, w, b, pad, relu, !isLeaf(x), algoAuto, mode)
}

// convAlgo selects how a convolution is computed.
type convAlgo int

const (
	algoAuto     convAlgo = iota // Winograd where winoUse says so, else direct
	algoDirect                   // on the padded grid (gridConv)
	algoWinograd                 // F(2x2, 3x3) or F(2x2, 5x5); 3x3 and 5x5 filters only
)

func conv2DAlgo(x, w, b *gorgonia.Node, pad Padding, relu, gradX bool, algo convAlgo, mode *Mode) (*gorgonia.Node, error) {
	g, err := newConvGeom(shapeOf(x), shapeOf(w), pad, relu)
	if err != nil {
		return nil, err
	}
	if bs := shapeOf(b); prod(bs) != g.o {
		return nil, fmt.Errorf("ops: Conv2D bias has shape %v, want (%d)", bs, g.o)
	}
	g.gradX = gradX
	st := &convState{g: g, ks: defaultKernels, mode: mode, pooledRun: -1}
	if p, ok := x.Op().(*conv2dOp); ok && gradX && mode != nil && p.st.mode != nil && p.st.pool == nil {
		st.prev = p
	}
	if algo == algoAuto && winoUse(st.ks, g.n, g.c, g.o, g.kh, g.kw, g.ho, g.wo) {
		algo = algoWinograd
	}
	if algo == algoWinograd {
		if !winoFilter(g.kh, g.kw) || g.o < tileM || g.c < tileM {
			return nil, fmt.Errorf("ops: Winograd F(2x2, 3x3) and F(2x2, 5x5) want 3x3 or 5x5 filters and at least %d channels, got %dx%d with %d and %d", tileM, g.kh, g.kw, g.c, g.o)
		}
		wk := winoKernelsFor(st.ks, g.kh)
		st.wfwd = newWinoConv(wk, g.n, g.c, g.h, g.w, g.o, g.padT, g.padL, g.ho, g.wo)
		if gradX {
			st.wbwd = newWinoConv(wk, g.n, g.o, g.ho, g.wo, g.c, g.kh-1-g.padT, g.kw-1-g.padL, g.h, g.w)
		}
	} else {
		st.fwd = newGridConv(st.ks, g.c, g.h, g.w, g.o, g.kh, g.kw, g.padT, g.padL, g.ho, g.wo)
		if gradX {
			st.bwd = newGridConv(st.ks, g.o, g.ho, g.wo, g.c, g.kh, g.kw, g.kh-1-g.padT, g.kw-1-g.padL, g.h, g.w)
		}
	}
	op := &conv2dOp{st: st}
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
	if op.st.wfwd != nil {
		op.st.wfwd.forward(x, w, b, g.relu, op.st.wino.reuse(op.st.mode, w), y)
		return out, nil
	}
	ks := op.st.ks
	flags := flagRowBias
	if g.relu {
		flags |= flagReLU
	}
	gc := op.st.fwd
	chw := g.c * g.h * g.w
	if p := op.st.pool; p != nil {
		frozen := op.st.mode.inferring()
		ps := p.st
		pooled := p.out.get(ps.n, ps.c, ps.ho, ps.wo)
		py := pooled.Float32s()
		var am []int32
		if !frozen {
			if len(ps.argmax) != len(py) {
				ps.argmax = make([]int32, len(py))
			}
			am = ps.argmax
		}
		per := g.o * ps.ho * ps.wo
		gc.parallelGroups(g.n, func(s *gridScratch, lo, hi int) {
			var choices []int32
			if am != nil {
				choices = am[lo*per : hi*per]
			}
			gc.forwardPool2(ks, x[lo*chw:hi*chw], w, b, flags, py[lo*per:hi*per], choices, s)
		})
		op.st.pooledRun, op.st.choices = op.st.fwdRuns, !frozen
		return out, nil
	}
	per := g.o * g.pixels
	gc.parallelGroups(g.n, func(s *gridScratch, lo, hi int) {
		gc.forward(ks, x[lo*chw:hi*chw], w, b, flags, y[lo*per:hi*per], s)
	})
	return out, nil
}

func (op *conv2dOp) DiffWRT(int) []bool { return []bool{op.st.g.gradX, true, true} }

func (op *conv2dOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if err := checkArity(op, len(inputs), 3); err != nil {
		return nil, err
	}
	x, w := inputs[0], inputs[1]
	dw, err := gorgonia.ApplyOp(&conv2dGradWOp{st: op.st}, x, output, grad)
	if err != nil {
		return nil, err
	}
	var dx *gorgonia.Node
	if op.st.g.gradX {
		if op.st.prev != nil {
			// dx overwrites x: dw, which reads x, is an input so that it
			// is computed first.
			dx, err = gorgonia.ApplyOp(&conv2dGradXOp{st: op.st}, w, output, grad, dw)
		} else {
			dx, err = gorgonia.ApplyOp(&conv2dGradXOp{st: op.st}, w, output, grad)
		}
		if err != nil {
			return nil, err
		}
	}
	db, err := gorgonia.ApplyOp(newStashOp("Conv2DGradB", &op.st.db, 4, op.st.g.o), dw)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx, dw, db}, nil
}

// conv2dGradXOp computes the gradient of a convolution with respect to its
// input from (w, y, dy).
// With convState.prev, a fourth input (the weight gradient) orders it after
// conv2dGradWOp, and dx is written over the input x.
type conv2dGradXOp struct {
	opBase
	st  *convState
	out buffer
}

func (op *conv2dGradXOp) Arity() int {
	if op.st.prev != nil {
		return 4
	}
	return 3
}
func (op *conv2dGradXOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	if op.st.prev != nil {
		return hm.NewFnType(tensorType(4, a), tensorType(4, a), tensorType(4, a), tensorType(4, a), tensorType(4, a))
	}
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
	if err := checkArity(op, len(inputs), op.Arity()); err != nil {
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
	var out *tensor.Dense
	prev := op.st.prev
	if prev != nil {
		// x, prev's output, becomes dx: keep prev's ReLU mask first.
		out = prev.out.get(g.n, g.c, g.h, g.w)
		if prev.st.g.relu {
			op.st.bits = op.st.ks.positiveBits(out.Float32s(), op.st.bits)
		}
	} else {
		out = op.out.get(g.n, g.c, g.h, g.w)
	}
	dx := out.Float32s()
	op.st.gradX(w, y, dy, dx)
	if prev != nil && prev.st.g.relu {
		op.st.ks.maskBits(dx, op.st.bits)
		prev.st.markMasked(dx)
	}
	return out, nil
}

// gradX writes into dx the gradient of the convolution's input from the
// filters w and the output gradient dy (masked by this convolution's ReLU
// here unless done already).
func (st *convState) gradX(w, y, dy, dx []float32) {
	g := &st.g
	ks := st.ks
	st.maskGrad(y, dy)
	// dx is the convolution of dy with the filters flipped in space and
	// transposed in channels: wflip[c, o, ky, kx] = w[o, c, kh-1-ky, kw-1-kx].
	kk := g.kh * g.kw
	st.wflip = grow(st.wflip, g.c*g.o*kk)
	wf := st.wflip
	for o := 0; o < g.o; o++ {
		for c := 0; c < g.c; c++ {
			src := w[(o*g.c+c)*kk : (o*g.c+c+1)*kk]
			dst := wf[(c*g.o+o)*kk : (c*g.o+o+1)*kk]
			for i, v := range src {
				dst[kk-1-i] = v
			}
		}
	}
	if st.wbwd != nil {
		st.wbwd.forward(dy, wf, nil, false, false, dx)
		return
	}
	gc := st.bwd
	sz, chw := g.o*g.pixels, g.c*g.h*g.w
	gc.parallelGroups(g.n, func(s *gridScratch, lo, hi int) {
		gc.forward(ks, dy[lo*sz:hi*sz], wf, nil, 0, dx[lo*chw:hi*chw], s)
	})
}

// positiveBits sets bit i of the returned bits (bits reused when long
// enough) where x[i] > 0: a ReLU's mask at one bit a value (NaN is not
// positive).
func (ks *kernels) positiveBits(x []float32, bits []uint64) []uint64 {
	n := (len(x) + 63) / 64
	if cap(bits) < n {
		bits = make([]uint64, n)
	}
	bits = bits[:n]
	byWords(len(x), func(lo, hi int) { ks.positiveWords(x[lo*64:hi*64], bits[lo:hi]) },
		func(full int) { positiveWordsGo(x[full*64:], bits[full:]) })
	return bits
}

// maskBits zeroes dy[i] where bit i of bits is clear, as reluMask does with
// the values the bits were taken from (+0 where masked).
func (ks *kernels) maskBits(dy []float32, bits []uint64) {
	byWords(len(dy), func(lo, hi int) { ks.maskWords(dy[lo*64:hi*64], bits[lo:hi]) },
		func(full int) { maskWordsGo(dy[full*64:], bits[full:]) })
}

// byWords splits the words of 64 values that n values make over the
// workers: whole gets ranges of whole words, tail the index of a partial
// last word, when there is one.
func byWords(n int, whole func(lo, hi int), tail func(full int)) {
	full := n / 64
	parallelFor((n+63)/64, workers(), func(_, lo, hi int) {
		if f := min(hi, full); f > lo {
			whole(lo, f)
		}
		if hi > full {
			tail(full)
		}
	})
}

// positiveWordsGo is positiveBits for the values of bits' words (the last
// word may be partial).
func positiveWordsGo(x []float32, bits []uint64) {
	for j := range bits {
		var word uint64
		for i, v := range x[j*64 : min(len(x), j*64+64)] {
			// v > 0 exactly when its bits are in 1..0x7f800000 (+Inf
			// included; zeros, negatives and NaN not): without a branch,
			// which would mispredict on half a ReLU's outputs.
			word |= ((uint64(math.Float32bits(v)-1) - 0x7f800000) >> 63) << i
		}
		bits[j] = word
	}
}

// maskWordsGo is maskBits for the values of bits' words.
func maskWordsGo(dy []float32, bits []uint64) {
	for j, word := range bits {
		part := dy[j*64 : min(len(dy), j*64+64)]
		for i, v := range part {
			part[i] = math.Float32frombits(math.Float32bits(v) & -(uint32(word>>i) & 1))
		}
	}
}

func (op *conv2dGradXOp) DiffWRT(int) []bool { return make([]bool, op.Arity()) }
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
	if op.st.wfwd != nil {
		op.st.maskGrad(y, dy)
		op.st.wfwd.gradW(x, dy, dw, db)
		return out, nil
	}
	scr := op.st.workerScratch()
	ks := op.st.ks
	// dW^T (ckk x o16) accumulates col (ckk x grid) * dy^T (grid x o), with
	// o rounded up to a multiple of 16 so that the kernels write it
	// directly. dy^T is packed once per sample in the kernel's B layout.
	gc := op.st.fwd
	gscr := gc.workerScratch()
	o16 := (g.o + 15) / 16 * 16
	npanO := (o16 + panelW - 1) / panelW
	nrb := (g.ckk + tileM - 1) / tileM
	sz := g.o * g.pixels
	used, _ := numRanges(g.n, len(scr))
	// With at most 48 filters, A's rows are read where they lie in the
	// padded input (no panel copies) by the 6x16, 6x32 or 6x48 kernel,
	// row by row of the output so that the grid's extra columns are
	// skipped, and dy^T holds the output's pixels only. A's row ckk is a
	// plane of ones, which gives the bias gradient in dW^T's row ckk.
	// Otherwise dy^T is laid out on the grid, with zero rows for its extra
	// columns, so that they add nothing to the panels' products.
	rows := ks.hasOffKernel() && o16 <= 48
	ld, rowsA := gc.wp, g.ckk
	if rows {
		ld, rowsA = g.wo, len(gc.offsW)
	}
	op.st.maskGrad(y, dy)
	parallelFor(g.n, len(scr), func(wi, lo, hi int) {
		s := &scr[wi]
		gs := &gscr[wi]
		gs.panel = grow(gs.panel, g.ckk*panelW)
		s.dwt = grow(s.dwt, rowsA*o16) // with rows: the bias row ckk, then scratch rows
		s.db = grow(s.db, g.o)
		if len(s.dyT) != npanO*gc.ngrid*panelW {
			s.dyT = make([]float32, npanO*gc.ngrid*panelW)
		}
		clear(s.dwt)
		clear(s.db)
		for n := lo; n < hi; n++ {
			gm := dy[n*sz : (n+1)*sz]
			gc.pad(x[n*g.c*g.h*g.w:(n+1)*g.c*g.h*g.w], gs.xpad)
			gc.packDyT(ks, gm, s.dyT, ld)
			if rows {
				// Chunks of whole output rows whose rows of dy^T stay
				// in L1 for every block of six taps.
				rc := max(1, gradWL1Rows/g.wo)
				for oy := 0; oy < g.ho; oy += rc {
					nr := min(rc, g.ho-oy)
					for i0 := 0; i0 < len(gc.offsW); i0 += tileM {
						ks.kRows(o16, g.wo, nr, gc.wp-g.wo, gs.xpad[oy*gc.wp:], gc.offsW[i0:i0+tileM], s.dyT[oy*g.wo*panelW:], panelW, s.dwt[i0*o16:], o16, flagAcc)
					}
				}
				continue
			}
			for o := 0; o < g.o; o++ {
				s.db[o] += sum32(gm[o*g.pixels : (o+1)*g.pixels])
			}
			for p := 0; p < gc.npan; p++ {
				j0 := p * panelW
				nc := min(panelW, gc.ngrid-j0)
				gc.buildPanel(gs.xpad, gs.panel, p)
				for q := 0; q < npanO; q++ {
					bq := s.dyT[(q*gc.ngrid+j0)*panelW:]
					ks.gemmPanel(g.ckk, min(panelW, o16-q*panelW), nc, gs.panel, panelW, 1, bq, s.dwt[q*panelW:], o16, nil, 0, flagAcc, 0, nrb)
				}
			}
		}
		if rows {
			copy(s.db, s.dwt[g.ckk*o16:g.ckk*o16+g.o])
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

// gradWL1Rows is how many rows of dy^T (o16 floats used of each 64) a
// weight-gradient kernel call spans: at most 18 KiB, which stay in L1 while
// every block of six filter taps reads them.
const gradWL1Rows = 96

// chunks splits n into about equal parts of at most most each and returns
// the part length.
func chunks(n, most int) int {
	parts := (n + most - 1) / most
	return (n + parts - 1) / parts
}

func (op *conv2dGradWOp) DiffWRT(int) []bool { return []bool{false, false, false} }
func (op *conv2dGradWOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, errNoSecondOrder
}

// sum32 returns the sum of v with eight partial sums, so that the adds do not
// wait on one another.
func sum32(v []float32) float32 {
	var s [8]float32
	i := 0
	for ; i+8 <= len(v); i += 8 {
		c := v[i : i+8 : i+8]
		s[0] += c[0]
		s[1] += c[1]
		s[2] += c[2]
		s[3] += c[3]
		s[4] += c[4]
		s[5] += c[5]
		s[6] += c[6]
		s[7] += c[7]
	}
	for ; i < len(v); i++ {
		s[i&7] += v[i]
	}
	return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}
