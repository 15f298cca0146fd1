package ops

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// denseState is shared by a dense layer and its gradient ops.
type denseState struct {
	xShape   []int
	n, in, o int
	relu     bool
	gradX    bool
	ks       *kernels
	pack     []float32
	mask     []float32
	db       buffer
	// mode, when set, lets the forward pass keep w packed for the kernels
	// between passes in Mode.Infer: packed is what pack holds.
	mode   *Mode
	packed prepared
}

// denseOp computes y = relu?(x * w + b) with x flattened to (N, in).
type denseOp struct {
	opBase
	st  *denseState
	out buffer
}

// Dense returns x * w + b, followed by a ReLU when relu is true. x is (N, ...)
// and is flattened to (N, in), so a convolution output needs no reshape; w is
// (in, out) as in Keras; b is (out). The output is (N, out). The gradient with
// respect to x is only computed when x is itself computed by an op.
func Dense(x, w, b *gorgonia.Node, relu bool) (*gorgonia.Node, error) {
	return dense(x, w, b, relu, !isLeaf(x), nil)
}

// DenseIn is Dense for a model whose training and evaluation mode is mode:
// in Infer the weights, packed for the kernels once, are reused from one
// forward pass to the next until the mode changes or Mode.WeightsChanged is
// called.
func DenseIn(x, w, b *gorgonia.Node, relu bool, mode *Mode) (*gorgonia.Node, error) {
	return dense(x, w, b, relu, !isLeaf(x), mode)
}

func dense(x, w, b *gorgonia.Node, relu, gradX bool, mode *Mode) (*gorgonia.Node, error) {
	xs, ws := shapeOf(x), shapeOf(w)
	if len(xs) < 2 || len(ws) != 2 {
		return nil, fmt.Errorf("ops: Dense wants x (N,...) and w (in,out), got %v and %v", xs, ws)
	}
	st := &denseState{xShape: append([]int(nil), xs...), n: xs[0], in: prod(xs[1:]), o: ws[1], relu: relu, gradX: gradX, ks: defaultKernels, mode: mode}
	if ws[0] != st.in {
		return nil, fmt.Errorf("ops: Dense input has %d features but w has %d rows", st.in, ws[0])
	}
	if bs := shapeOf(b); prod(bs) != st.o {
		return nil, fmt.Errorf("ops: Dense bias has shape %v, want (%d)", bs, st.o)
	}
	return gorgonia.ApplyOp(&denseOp{st: st}, x, w, b)
}

func (op *denseOp) Arity() int { return 3 }
func (op *denseOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(tensorType(len(op.st.xShape), a), tensorType(2, a), tensorType(1, a), tensorType(2, a))
}
func (op *denseOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.st.n, op.st.o}, nil
}
func (op *denseOp) String() string        { return fmt.Sprintf("Dense{%d,relu=%v}", op.st.o, op.st.relu) }
func (op *denseOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *denseOp) Hashcode() uint32      { return hashcode(op) }

func (op *denseOp) Do(inputs ...gorgonia.Value) (gorgonia.Value, error) {
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
	s := op.st
	out := op.out.get(s.n, s.o)
	flags := flagColBias
	if s.relu {
		flags |= flagReLU
	}
	if s.n < tileM {
		s.ks.denseRows(s.n, s.in, s.o, x, w, b, s.relu, out.Float32s())
		return out, nil
	}
	if s.packed.reuse(s.mode, w) {
		flags |= flagPackedB
	}
	s.ks.gemm(false, false, s.n, s.o, s.in, x, s.in, w, s.o, out.Float32s(), s.o, b, flags, &s.pack, workers())
	return out, nil
}

// denseRows computes y (n x o) = x (n x in) * w (in x o) + b, with a ReLU
// when relu is set, one row of x at a time, reading w where it lies (the
// kernels' rowAxpy). With fewer rows than the kernels' tile (a model that
// reads one image) packing w into panels on every pass would cost more than
// the multiply, and the kernels' tile of rows would be mostly padding.
func (ks *kernels) denseRows(n, in, o int, x, w, b []float32, relu bool, y []float32) {
	for i := 0; i < n; i++ {
		acc := y[i*o : (i+1)*o]
		copy(acc, b[:o])
		ks.rowAxpy(x[i*in:(i+1)*in], w, o, o, acc)
		if relu {
			for j, v := range acc {
				acc[j] = max(v, 0)
			}
		}
	}
}

// rowAxpy adds x (k values) times w (k rows ldw floats apart, n columns)
// to acc (n values).
func rowAxpy(x, w []float32, ldw, n int, acc []float32) {
	for k, xv := range x {
		row := w[k*ldw : k*ldw+n]
		for j, wv := range row {
			acc[j] += xv * wv
		}
	}
}

func (op *denseOp) DiffWRT(int) []bool { return []bool{op.st.gradX, true, true} }
func (op *denseOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if err := checkArity(op, len(inputs), 3); err != nil {
		return nil, err
	}
	var dx *gorgonia.Node
	var err error
	if op.st.gradX {
		if dx, err = gorgonia.ApplyOp(&denseGradOp{st: op.st, wrtX: true}, inputs[1], output, grad); err != nil {
			return nil, err
		}
	}
	dw, err := gorgonia.ApplyOp(&denseGradOp{st: op.st}, inputs[0], output, grad)
	if err != nil {
		return nil, err
	}
	db, err := gorgonia.ApplyOp(newStashOp("DenseGradB", &op.st.db, 2, op.st.o), dw)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx, dw, db}, nil
}

// denseGradOp computes the gradient of a dense layer with respect to x (from
// w, y, dy) or, with wrtX false, with respect to w (from x, y, dy), filling
// the bias gradient as a by-product.
type denseGradOp struct {
	opBase
	st   *denseState
	wrtX bool
	mask []float32
	pack []float32
	out  buffer
}

func (op *denseGradOp) Arity() int { return 3 }
func (op *denseGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	if op.wrtX {
		return hm.NewFnType(tensorType(2, a), tensorType(2, a), tensorType(2, a), tensorType(len(op.st.xShape), a))
	}
	return hm.NewFnType(tensorType(len(op.st.xShape), a), tensorType(2, a), tensorType(2, a), tensorType(2, a))
}
func (op *denseGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	if op.wrtX {
		return tensor.Shape(append([]int(nil), op.st.xShape...)), nil
	}
	return tensor.Shape{op.st.in, op.st.o}, nil
}
func (op *denseGradOp) String() string {
	if op.wrtX {
		return "DenseGradX"
	}
	return "DenseGradW"
}
func (op *denseGradOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *denseGradOp) Hashcode() uint32      { return hashcode(op) }

func (op *denseGradOp) Do(inputs ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, len(inputs), 3); err != nil {
		return nil, err
	}
	a, _, err := f32(inputs[0])
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
	s := op.st
	if s.relu {
		op.mask = grow(op.mask, len(dy))
	}
	g := reluMask(s.relu, y, dy, op.mask)
	if op.wrtX {
		out := op.out.get(s.xShape...)
		// dx (n x in) = g (n x o) * w^T, w stored (in x o).
		s.ks.gemm(false, true, s.n, s.in, s.o, g, s.o, a, s.o, out.Float32s(), s.in, nil, 0, &op.pack, workers())
		return out, nil
	}
	out := op.out.get(s.in, s.o)
	// dw (in x o) = x^T (in x n) * g (n x o).
	s.ks.gemm(true, false, s.in, s.o, s.n, a, s.in, g, s.o, out.Float32s(), s.o, nil, 0, &op.pack, workers())
	db := s.db.get(s.o).Float32s()
	clear(db)
	for i := 0; i < s.n; i++ {
		for j, v := range g[i*s.o : (i+1)*s.o] {
			db[j] += v
		}
	}
	return out, nil
}

func (op *denseGradOp) DiffWRT(int) []bool { return []bool{false, false, false} }
func (op *denseGradOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, errNoSecondOrder
}
