package nn

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// This file holds the few gorgonia ops trainyard writes itself, where
// gorgonia's own are awkward or wrong: a per-channel bias add, and a
// numerically stable softmax cross-entropy with integer labels.

func float32s(v G.Value) ([]float32, error) {
	switch t := v.(type) {
	case *tensor.Dense:
		if t.Dtype() != tensor.Float32 {
			return nil, fmt.Errorf("nn: want float32 data, got %v", t.Dtype())
		}
		return t.Float32s(), nil
	case *G.F32:
		return []float32{float32(*t)}, nil
	}
	return nil, fmt.Errorf("nn: unexpected value %T", v)
}

// scalar32 is the one value of a scalar v, e.g. a loss.
func scalar32(v G.Value) (float32, error) {
	switch t := v.(type) {
	case *G.F32:
		return float32(*t), nil
	case *tensor.Dense:
		if t.Dtype() == tensor.Float32 && t.Size() == 1 {
			return t.Float32s()[0], nil
		}
	}
	return 0, fmt.Errorf("nn: want one float32 value, got %T", v)
}

func newDense(shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
}

func opHash(s fmt.Stringer) uint32 {
	h := fnv.New32a()
	fmt.Fprint(h, s.String())
	return h.Sum32()
}

// biasAddOp adds a bias vector along axis 1 of a 2-D (batch, units) or 4-D
// (batch, channels, h, w) tensor.
type biasAddOp struct{ dims int }

func (op biasAddOp) Arity() int { return 2 }
func (op biasAddOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t := G.TensorType{Dims: op.dims, Of: a}
	return hm.NewFnType(t, G.TensorType{Dims: 1, Of: a}, t)
}
func (op biasAddOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}
func (op biasAddOp) Do(in ...G.Value) (G.Value, error) {
	x, err := float32s(in[0])
	if err != nil {
		return nil, err
	}
	b, err := float32s(in[1])
	if err != nil {
		return nil, err
	}
	shape := in[0].Shape()
	out := newDense(shape...)
	y := out.Data().([]float32)
	ch := shape[1]
	inner := len(x) / (shape[0] * ch)
	for i := range x {
		y[i] = x[i] + b[(i/inner)%ch]
	}
	return out, nil
}
func (op biasAddOp) ReturnsPtr() bool      { return false }
func (op biasAddOp) CallsExtern() bool     { return false }
func (op biasAddOp) OverwritesInput() int  { return -1 }
func (op biasAddOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op biasAddOp) Hashcode() uint32      { return opHash(op) }
func (op biasAddOp) String() string        { return fmt.Sprintf("BiasAdd%dD", op.dims) }
func (op biasAddOp) DiffWRT(n int) []bool  { return []bool{true, true} }
func (op biasAddOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	db, err := G.ApplyOp(biasGradOp(op), grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{grad, db}, nil
}

// biasGradOp sums a gradient over every axis but 1: the bias's gradient.
type biasGradOp struct{ dims int }

func (op biasGradOp) Arity() int { return 1 }
func (op biasGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(G.TensorType{Dims: op.dims, Of: a}, G.TensorType{Dims: 1, Of: a})
}
func (op biasGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{in[0].(tensor.Shape)[1]}, nil
}
func (op biasGradOp) Do(in ...G.Value) (G.Value, error) {
	g, err := float32s(in[0])
	if err != nil {
		return nil, err
	}
	shape := in[0].Shape()
	ch := shape[1]
	inner := len(g) / (shape[0] * ch)
	out := newDense(ch)
	db := out.Data().([]float32)
	for i := 0; i < len(g); i += inner {
		c := (i / inner) % ch
		var s float32
		for _, v := range g[i : i+inner] {
			s += v
		}
		db[c] += s
	}
	return out, nil
}
func (op biasGradOp) ReturnsPtr() bool      { return false }
func (op biasGradOp) CallsExtern() bool     { return false }
func (op biasGradOp) OverwritesInput() int  { return -1 }
func (op biasGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op biasGradOp) Hashcode() uint32      { return opHash(op) }
func (op biasGradOp) String() string        { return fmt.Sprintf("BiasGrad%dD", op.dims) }

// xentOp is the mean softmax cross-entropy of (batch, classes) logits against
// integer class labels given as a float32 vector. It computes log-softmax by
// subtracting each row's maximum, so it neither overflows nor takes log(0).
type xentOp struct{}

func (op xentOp) Arity() int { return 2 }
func (op xentOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(G.TensorType{Dims: 2, Of: a}, G.TensorType{Dims: 1, Of: a}, a)
}
func (op xentOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return tensor.ScalarShape(), nil
}
func (op xentOp) Do(in ...G.Value) (G.Value, error) {
	z, err := float32s(in[0])
	if err != nil {
		return nil, err
	}
	labels, err := float32s(in[1])
	if err != nil {
		return nil, err
	}
	n, k := in[0].Shape()[0], in[0].Shape()[1]
	var sum float64
	for i := range n {
		lse := logSumExp(z[i*k : (i+1)*k])
		y := int(labels[i])
		if y < 0 || y >= k {
			return nil, fmt.Errorf("nn: label %d out of range 0..%d", y, k-1)
		}
		sum += lse - float64(z[i*k+y])
	}
	return G.NewF32(float32(sum / float64(n))), nil
}
func (op xentOp) ReturnsPtr() bool      { return false }
func (op xentOp) CallsExtern() bool     { return false }
func (op xentOp) OverwritesInput() int  { return -1 }
func (op xentOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op xentOp) Hashcode() uint32      { return opHash(op) }
func (op xentOp) String() string        { return "SoftmaxXent" }
func (op xentOp) DiffWRT(n int) []bool  { return []bool{true, false} }
func (op xentOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dz, err := G.ApplyOp(xentGradOp{}, in[0], in[1], grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dz, nil}, nil
}

// xentGradOp is the gradient of xentOp with respect to the logits:
// (softmax(z) - onehot(y)) / batch, times the incoming scalar gradient.
type xentGradOp struct{}

func (op xentGradOp) Arity() int { return 3 }
func (op xentGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t := G.TensorType{Dims: 2, Of: a}
	return hm.NewFnType(t, G.TensorType{Dims: 1, Of: a}, a, t)
}
func (op xentGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}
func (op xentGradOp) Do(in ...G.Value) (G.Value, error) {
	z, err := float32s(in[0])
	if err != nil {
		return nil, err
	}
	labels, err := float32s(in[1])
	if err != nil {
		return nil, err
	}
	g, err := float32s(in[2])
	if err != nil {
		return nil, err
	}
	n, k := in[0].Shape()[0], in[0].Shape()[1]
	out := newDense(n, k)
	dz := out.Data().([]float32)
	scale := g[0] / float32(n)
	for i := range n {
		row := z[i*k : (i+1)*k]
		lse := logSumExp(row)
		for j, v := range row {
			dz[i*k+j] = float32(math.Exp(float64(v)-lse)) * scale
		}
		if y := int(labels[i]); y >= 0 && y < k {
			dz[i*k+y] -= scale
		}
	}
	return out, nil
}
func (op xentGradOp) ReturnsPtr() bool      { return false }
func (op xentGradOp) CallsExtern() bool     { return false }
func (op xentGradOp) OverwritesInput() int  { return -1 }
func (op xentGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op xentGradOp) Hashcode() uint32      { return opHash(op) }
func (op xentGradOp) String() string        { return "SoftmaxXentGrad" }

// logSumExp returns log(sum(exp(z))) computed stably in float64.
func logSumExp(z []float32) float64 {
	m := z[0]
	for _, v := range z[1:] {
		if v > m {
			m = v
		}
	}
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v - m))
	}
	return float64(m) + math.Log(s)
}

// softmaxRows writes softmax of each row of classes values of z into p.
// One goroutine does it: a batch of 256 rows of 10 takes about 25 us, less
// than starting goroutines to share it costs.
func softmaxRows(p, z []float32, classes int) {
	for r := range len(z) / classes {
		softmaxInto(p[r*classes:(r+1)*classes], z[r*classes:(r+1)*classes])
	}
}

// softmaxInto writes softmax(z) into p, stably: one exponential per class,
// of z less its maximum, summed in float64.
func softmaxInto(p, z []float32) {
	m := z[0]
	for _, v := range z[1:] {
		if v > m {
			m = v
		}
	}
	var s float64
	for j, v := range z {
		e := math.Exp(float64(v - m))
		p[j] = float32(e)
		s += e
	}
	inv := 1 / s
	for j := range p[:len(z)] {
		p[j] = float32(float64(p[j]) * inv)
	}
}
