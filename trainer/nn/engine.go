package nn

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Engine selects which ops Build puts in a model's graph.
type Engine int

const (
	// EngineFast builds the hot layers from trainyard's own ops
	// (trainer/ops): convolutions, pooling, dense layers with a fused ReLU,
	// inverted dropout, batch normalisation and softmax cross-entropy, which
	// reuse their buffers from step to step and multiply matrices with
	// assembly kernels. It is the default.
	EngineFast Engine = iota
	// EngineBuiltin builds the same model from gorgonia's built-in ops and
	// nn's own reference ops (bias add, cross-entropy, batch norm, dropout
	// by mask). It is slower and allocates every step; it stays to check the
	// fast engine against.
	EngineBuiltin
)

func (e Engine) String() string {
	switch e {
	case EngineFast:
		return "fast"
	case EngineBuiltin:
		return "builtin"
	}
	return fmt.Sprintf("Engine(%d)", int(e))
}

// Options are Build's choices that do not belong in a Spec: they change how
// a model is computed, never what it computes (within float32 rounding).
type Options struct {
	// Engine picks the ops; the zero value is EngineFast.
	Engine Engine
}

// Both engines build the same weights with the same names, shapes and
// initial values (the Glorot draws come in the same order), so a weights
// file written by one loads into the other. Two things differ, by design:
//
//   - Dropout. The built-in engine multiplies by a mask input that Fit
//     redraws from spec.Seed+epoch, so a run resumed from a checkpoint draws
//     the same masks as one that never stopped. The fast engine's dropout
//     draws from its own generator, seeded from spec.Seed and the layer's
//     position when the model is built; a checkpoint saves the generators'
//     state (WriteCheckpoint), so a resumed run draws the same masks too.
//   - Rounding. The fast ops sum in a different order (blocked matrix
//     multiplies, float32 accumulators), so results agree with the built-in
//     ones to float32 tolerance, not bit for bit.

// flattenOp reshapes (N, ...) to (N, rest) by copying into a buffer it owns
// and reuses, so that the fast engine's flatten allocates nothing per step
// (gorgonia's Reshape clones its input every run). Its gradient copies the
// incoming gradient back into the input's shape.
type flattenOp struct {
	from, to []int
	grad     bool // whether this is the gradient (to -> from)
	out      *tensor.Dense
}

func newFlattenOp(from []int, grad bool) *flattenOp {
	n := 1
	for _, d := range from[1:] {
		n *= d
	}
	return &flattenOp{from: append([]int(nil), from...), to: []int{from[0], n}, grad: grad}
}

func (op *flattenOp) inShape() []int {
	if op.grad {
		return op.to
	}
	return op.from
}

func (op *flattenOp) outShape() []int {
	if op.grad {
		return op.from
	}
	return op.to
}

func (op *flattenOp) Arity() int { return 1 }
func (op *flattenOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(G.TensorType{Dims: len(op.inShape()), Of: a}, G.TensorType{Dims: len(op.outShape()), Of: a})
}
func (op *flattenOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape(append([]int(nil), op.outShape()...)), nil
}
func (op *flattenOp) Do(in ...G.Value) (G.Value, error) {
	x, err := float32s(in[0])
	if err != nil {
		return nil, err
	}
	if op.out == nil {
		op.out = newDense(op.outShape()...)
	}
	y := op.out.Data().([]float32)
	if len(x) != len(y) {
		return nil, fmt.Errorf("nn: %s got %d values, want %d", op, len(x), len(y))
	}
	copy(y, x)
	return op.out, nil
}
func (op *flattenOp) ReturnsPtr() bool      { return false }
func (op *flattenOp) CallsExtern() bool     { return false }
func (op *flattenOp) OverwritesInput() int  { return -1 }
func (op *flattenOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%s@%p", op, op) }
func (op *flattenOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}
func (op *flattenOp) String() string {
	if op.grad {
		return fmt.Sprintf("FlattenGrad%v", op.from)
	}
	return fmt.Sprintf("Flatten%v", op.from)
}
func (op *flattenOp) DiffWRT(int) []bool { return []bool{!op.grad} }
func (op *flattenOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	if op.grad {
		return nil, fmt.Errorf("nn: %s is not differentiable", op)
	}
	dx, err := G.ApplyOp(newFlattenOp(op.from, true), grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx}, nil
}
