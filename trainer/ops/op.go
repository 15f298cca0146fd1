package ops

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"runtime"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// errNotTensor is returned when an op receives something other than a dense
// float32 tensor.
var errNotTensor = errors.New("ops: expected a dense float32 tensor")

// opBase holds the methods every op in this package shares. Every op is
// unique per instance: its hash includes its address, so gorgonia never merges
// two of them (two dropout layers on one input must draw different masks).
type opBase struct{}

func (opBase) ReturnsPtr() bool     { return false }
func (opBase) CallsExtern() bool    { return false }
func (opBase) OverwritesInput() int { return -1 }

// writeHash writes a hash that identifies op by name and address.
func writeHash(h hash.Hash, op fmt.Stringer) {
	fmt.Fprintf(h, "trainyard.%s@%p", op.String(), op)
}

// hashcode returns the 32-bit FNV hash of writeHash.
func hashcode(op fmt.Stringer) uint32 {
	h := fnv.New32a()
	writeHash(h, op)
	return h.Sum32()
}

// tensorType returns the gorgonia type of a float tensor of the given rank,
// using the type variable a.
func tensorType(dims int, a hm.TypeVariable) hm.Type {
	if dims == 0 {
		return a
	}
	return &gorgonia.TensorType{Dims: dims, Of: a}
}

// buffer is an output or scratch tensor an op owns and reuses across steps.
type buffer struct{ t *tensor.Dense }

// get returns the buffer's tensor with the given shape, allocating it the
// first time and whenever the shape changes.
func (b *buffer) get(shape ...int) *tensor.Dense {
	if b.t == nil || !sameShape(b.t.Shape(), shape) {
		b.t = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape...))
	}
	return b.t
}

func sameShape(s tensor.Shape, want []int) bool {
	if len(s) != len(want) {
		return false
	}
	for i := range s {
		if s[i] != want[i] {
			return false
		}
	}
	return true
}

// grow returns s with length n, reallocating only when its capacity is short.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// f32 returns the float32 data of a value that must be a dense float32 tensor.
func f32(v gorgonia.Value) ([]float32, tensor.Shape, error) {
	d, ok := v.(*tensor.Dense)
	if !ok || d.Dtype() != tensor.Float32 {
		return nil, nil, fmt.Errorf("%w, got %T", errNotTensor, v)
	}
	return d.Float32s(), d.Shape(), nil
}

// scalarF32 reads a float32 scalar value (a *gorgonia.F32 or a one-element
// tensor).
func scalarF32(v gorgonia.Value) (float32, error) {
	switch s := v.(type) {
	case *gorgonia.F32:
		return float32(*s), nil
	case *tensor.Dense:
		if s.Dtype() == tensor.Float32 && s.Size() == 1 {
			return s.Float32s()[0], nil
		}
	}
	return 0, fmt.Errorf("ops: expected a float32 scalar, got %T", v)
}

// workers returns how many goroutines the ops split work across.
func workers() int { return runtime.GOMAXPROCS(0) }

// checkArity returns an error unless got == want.
func checkArity(op fmt.Stringer, got, want int) error {
	if got != want {
		return fmt.Errorf("ops: %s takes %d inputs, got %d", op, want, got)
	}
	return nil
}

// isLeaf reports whether n is a graph input (a node no op computes). Ops do
// not compute gradients for leaf data inputs such as the image batch.
func isLeaf(n *gorgonia.Node) bool { return n.Op() == nil }

// shapeOf returns the shape of a node as a plain slice.
func shapeOf(n *gorgonia.Node) []int { return []int(n.Shape()) }

// prod returns the product of s.
func prod(s []int) int {
	p := 1
	for _, v := range s {
		p *= v
	}
	return p
}

// errNoSecondOrder is returned when asked to differentiate a gradient op.
var errNoSecondOrder = errors.New("ops: gradient ops are not differentiable")

// stashOp returns a tensor another op filled as a by-product (a bias
// gradient, say). Its single input is that op's output: it only orders the
// two, its value is not read.
type stashOp struct {
	opBase
	name    string
	from    *buffer
	depDims int
	shape   []int
}

func newStashOp(name string, from *buffer, depDims int, shape ...int) *stashOp {
	return &stashOp{name: name, from: from, depDims: depDims, shape: shape}
}

func (op *stashOp) Arity() int { return 1 }
func (op *stashOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(tensorType(op.depDims, a), tensorType(len(op.shape), a))
}
func (op *stashOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape(append([]int(nil), op.shape...)), nil
}
func (op *stashOp) String() string        { return op.name }
func (op *stashOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *stashOp) Hashcode() uint32      { return hashcode(op) }
func (op *stashOp) Do(inputs ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, len(inputs), 1); err != nil {
		return nil, err
	}
	if op.from.t == nil {
		return nil, fmt.Errorf("ops: %s ran before the op that fills it", op.name)
	}
	return op.from.t, nil
}
func (op *stashOp) DiffWRT(int) []bool { return []bool{false} }
func (op *stashOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, errNoSecondOrder
}
