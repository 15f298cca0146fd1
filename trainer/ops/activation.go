package ops

import (
	"fmt"
	"hash"
	"math"
	"math/rand/v2"
	"sync/atomic"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Mode switches the ops that behave differently in training and in
// evaluation (Dropout, BatchNorm) without rebuilding the graph. One Mode is
// shared by every such op of a model; the ops read it each time they run.
// The zero Mode is in training. It also holds the random generators of the
// ops that share it, so that their state can be saved with a checkpoint and
// restored (RandomState, SetRandomState).
type Mode struct {
	eval atomic.Bool
	// frozen counts the times the weights were declared unchanged from
	// here on: each switch into Infer from another mode and each
	// WeightsChanged. Ops that keep their weights prepared (packed for the
	// kernels) reuse them while in Infer and the count is the one they
	// prepared them at (prepared.reuse).
	frozen atomic.Uint64
	// infer is set by Infer: evaluation with forward passes only.
	infer atomic.Bool
	// sources are the dropout ops' generators, in the order they were built.
	sources []*rand.PCG
}

// NewMode returns a Mode in training.
func NewMode() *Mode { return &Mode{} }

// Train switches m to training: dropout drops, batch norm uses batch
// statistics and updates its running ones.
func (m *Mode) Train() {
	m.infer.Store(false)
	m.eval.Store(false)
}

// Eval switches m to evaluation: dropout passes its input through, batch norm
// uses its running statistics.
func (m *Mode) Eval() {
	m.infer.Store(false)
	m.eval.Store(true)
}

// Infer switches m to evaluation with forward passes only, until the next
// Train or Eval: no gradient is taken and the weights do not change (neither
// in place nor by an optimizer), so the ops may keep what they prepare from
// the weights between passes, and a convolution followed by max pooling
// writes only the pooled output. A gradient op that runs in this mode
// returns an error where it would need what was not written.
func (m *Mode) Infer() {
	if !m.infer.Load() {
		m.frozen.Add(1) // the weights may have changed since the last Infer
	}
	m.eval.Store(true)
	m.infer.Store(true)
}

// WeightsChanged tells the ops that the weights were written (loaded, set,
// or edited in place) while in Infer, so that what they prepared from the
// old weights is prepared again.
func (m *Mode) WeightsChanged() { m.frozen.Add(1) }

// inferring reports whether m is set and in Infer.
func (m *Mode) inferring() bool { return m != nil && m.infer.Load() }

// prepared remembers which weights an op prepared something from (packed
// them for the kernels, transformed them): their generation in Infer and
// where they lie.
type prepared struct {
	at uint64
	w  *float32
}

// reuse reports whether what was prepared from w can be used again: m is in
// Infer and neither the generation of weights nor w has changed since the
// last call. It records w as prepared when m is in Infer (the caller
// prepares it when reuse says no), and forgets it otherwise.
func (p *prepared) reuse(m *Mode, w []float32) bool {
	if !m.inferring() {
		p.w = nil
		return false
	}
	gen := m.frozen.Load()
	same := p.at == gen && p.w == &w[0]
	p.at, p.w = gen, &w[0]
	return same
}

// Training reports whether m is in training.
func (m *Mode) Training() bool { return !m.eval.Load() }

// RandomState returns the state of the random generators of every op built
// with m (the dropout masks still to be drawn), in the order they were built.
// Call it between training steps.
func (m *Mode) RandomState() ([]byte, error) {
	var out []byte
	for _, src := range m.sources {
		b, err := src.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("ops: random state: %w", err)
		}
		out = append(out, b...)
	}
	return out, nil
}

// SetRandomState restores the random generators from what RandomState
// returned for a model built the same way.
func (m *Mode) SetRandomState(b []byte) error {
	if len(m.sources) == 0 {
		if len(b) > 0 {
			return fmt.Errorf("ops: random state of %d bytes for ops without generators", len(b))
		}
		return nil
	}
	if len(b)%len(m.sources) != 0 {
		return fmt.Errorf("ops: random state of %d bytes does not split into %d generators", len(b), len(m.sources))
	}
	n := len(b) / len(m.sources)
	for i, src := range m.sources {
		if err := src.UnmarshalBinary(b[i*n : (i+1)*n]); err != nil {
			return fmt.Errorf("ops: random state of generator %d: %w", i+1, err)
		}
	}
	return nil
}

// unaryShape is the shape bookkeeping of an elementwise op.
type unaryShape struct{ shape []int }

func (u unaryShape) typ(inputs int) hm.Type {
	a := hm.TypeVariable('a')
	ts := make(hm.Types, inputs+1)
	for i := range ts {
		ts[i] = tensorType(len(u.shape), a)
	}
	return hm.NewFnType(ts...)
}

// reluOp is max(x, 0).
type reluOp struct {
	opBase
	unaryShape
	out buffer
}

// ReLU returns max(x, 0) elementwise.
func ReLU(x *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(&reluOp{unaryShape: unaryShape{shapeOf(x)}}, x)
}

func (op *reluOp) Arity() int    { return 1 }
func (op *reluOp) Type() hm.Type { return op.typ(1) }
func (op *reluOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape(append([]int(nil), op.shape...)), nil
}
func (op *reluOp) String() string        { return "ReLU" }
func (op *reluOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *reluOp) Hashcode() uint32      { return hashcode(op) }
func (op *reluOp) Do(inputs ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, len(inputs), 1); err != nil {
		return nil, err
	}
	x, _, err := f32(inputs[0])
	if err != nil {
		return nil, err
	}
	out := op.out.get(op.shape...)
	y := out.Float32s()
	for i, v := range x {
		y[i] = max(v, 0)
	}
	return out, nil
}
func (op *reluOp) DiffWRT(int) []bool { return []bool{true} }
func (op *reluOp) SymDiff(_ gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	dx, err := gorgonia.ApplyOp(&maskGradOp{unaryShape: op.unaryShape, name: "ReLUGrad"}, output, grad)
	return gorgonia.Nodes{dx}, err
}

// maskGradOp computes dy where y > 0 and 0 elsewhere, from (y, dy).
type maskGradOp struct {
	opBase
	unaryShape
	name string
	out  buffer
}

func (op *maskGradOp) Arity() int    { return 2 }
func (op *maskGradOp) Type() hm.Type { return op.typ(2) }
func (op *maskGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape(append([]int(nil), op.shape...)), nil
}
func (op *maskGradOp) String() string        { return op.name }
func (op *maskGradOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *maskGradOp) Hashcode() uint32      { return hashcode(op) }
func (op *maskGradOp) Do(inputs ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, len(inputs), 2); err != nil {
		return nil, err
	}
	y, _, err := f32(inputs[0])
	if err != nil {
		return nil, err
	}
	dy, _, err := f32(inputs[1])
	if err != nil {
		return nil, err
	}
	out := op.out.get(op.shape...)
	reluMask(true, y, dy, out.Float32s())
	return out, nil
}
func (op *maskGradOp) DiffWRT(int) []bool { return []bool{false, false} }
func (op *maskGradOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, errNoSecondOrder
}

// dropoutState is shared by a dropout op and its gradient op.
type dropoutState struct {
	rate  float32
	mode  *Mode
	rng   *rand.Rand
	scale []float32 // 0 or 1/(1-rate) per element, from the last training run
	train bool      // whether the last forward run was in training
}

// dropoutOp zeroes each element with probability rate in training and scales
// the kept ones by 1/(1-rate) (inverted dropout); in evaluation it copies its
// input.
type dropoutOp struct {
	opBase
	unaryShape
	st  *dropoutState
	out buffer
}

// Dropout returns x with each element zeroed with probability rate while mode
// is in training, the kept elements scaled by 1/(1-rate) so that the
// expected value is unchanged; while mode is in evaluation it returns x
// unchanged. seed seeds the op's own random generator. rate must be in
// [0, 1).
func Dropout(x *gorgonia.Node, rate float64, mode *Mode, seed uint64) (*gorgonia.Node, error) {
	if rate < 0 || rate >= 1 {
		return nil, fmt.Errorf("ops: Dropout rate %v is not in [0, 1)", rate)
	}
	if mode == nil {
		return nil, fmt.Errorf("ops: Dropout needs a Mode")
	}
	src := rand.NewPCG(seed, 0x9e3779b97f4a7c15)
	mode.sources = append(mode.sources, src)
	st := &dropoutState{rate: float32(rate), mode: mode, rng: rand.New(src)}
	return gorgonia.ApplyOp(&dropoutOp{unaryShape: unaryShape{shapeOf(x)}, st: st}, x)
}

func (op *dropoutOp) Arity() int    { return 1 }
func (op *dropoutOp) Type() hm.Type { return op.typ(1) }
func (op *dropoutOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape(append([]int(nil), op.shape...)), nil
}
func (op *dropoutOp) String() string        { return fmt.Sprintf("Dropout{%v}", op.st.rate) }
func (op *dropoutOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *dropoutOp) Hashcode() uint32      { return hashcode(op) }
func (op *dropoutOp) Do(inputs ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, len(inputs), 1); err != nil {
		return nil, err
	}
	x, _, err := f32(inputs[0])
	if err != nil {
		return nil, err
	}
	out := op.out.get(op.shape...)
	y := out.Float32s()
	st := op.st
	st.train = st.mode.Training() && st.rate > 0
	if !st.train {
		copy(y, x)
		return out, nil
	}
	st.scale = grow(st.scale, len(x))
	keep := 1 / (1 - st.rate)
	// An element is dropped when a uniform 32-bit draw falls below
	// rate * 2^32; each 64-bit draw serves two elements.
	thr := uint32(float64(st.rate) * (1 << 32))
	// Without branches (a drop is a coin flip the predictor cannot learn):
	// the sign of draw - thr, as a 64-bit difference, masks keep's bits.
	kb := math.Float32bits(keep)
	scaleOf := func(u uint32) float32 {
		drop := uint32((int64(u) - int64(thr)) >> 63) // all ones when u < thr
		return math.Float32frombits(kb &^ drop)
	}
	sc := st.scale[:len(x)]
	y = y[:len(x)]
	i := 0
	for ; i+2 <= len(x); i += 2 {
		u := st.rng.Uint64()
		s0, s1 := scaleOf(uint32(u)), scaleOf(uint32(u>>32))
		sc[i], sc[i+1] = s0, s1
		y[i], y[i+1] = x[i]*s0, x[i+1]*s1
	}
	if i < len(x) {
		s := scaleOf(uint32(st.rng.Uint64()))
		sc[i] = s
		y[i] = x[i] * s
	}
	return out, nil
}
func (op *dropoutOp) DiffWRT(int) []bool { return []bool{true} }
func (op *dropoutOp) SymDiff(_ gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	dx, err := gorgonia.ApplyOp(&dropoutGradOp{unaryShape: op.unaryShape, st: op.st}, output, grad)
	return gorgonia.Nodes{dx}, err
}

// dropoutGradOp scales dy by the mask of the last forward run, from (y, dy).
type dropoutGradOp struct {
	opBase
	unaryShape
	st  *dropoutState
	out buffer
}

func (op *dropoutGradOp) Arity() int    { return 2 }
func (op *dropoutGradOp) Type() hm.Type { return op.typ(2) }
func (op *dropoutGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape(append([]int(nil), op.shape...)), nil
}
func (op *dropoutGradOp) String() string        { return "DropoutGrad" }
func (op *dropoutGradOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *dropoutGradOp) Hashcode() uint32      { return hashcode(op) }
func (op *dropoutGradOp) Do(inputs ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, len(inputs), 2); err != nil {
		return nil, err
	}
	dy, _, err := f32(inputs[1])
	if err != nil {
		return nil, err
	}
	out := op.out.get(op.shape...)
	dx := out.Float32s()
	if !op.st.train {
		copy(dx, dy)
		return out, nil
	}
	for i, v := range dy {
		dx[i] = v * op.st.scale[i]
	}
	return out, nil
}
func (op *dropoutGradOp) DiffWRT(int) []bool { return []bool{false, false} }
func (op *dropoutGradOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, errNoSecondOrder
}
