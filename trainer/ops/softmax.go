package ops

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// softmaxRows writes the softmax of each row of z (n x k) into p and returns
// the sum over rows of log(sum(exp(z))) - z[label] when labels is non-nil.
func softmaxRows(z, p []float32, n, k int, label func(i int) int) float64 {
	var loss float64
	for i := 0; i < n; i++ {
		row := z[i*k : (i+1)*k]
		pr := p[i*k : (i+1)*k]
		mx := row[0]
		for _, v := range row {
			mx = max(mx, v)
		}
		var sum float64
		for j, v := range row {
			e := math.Exp(float64(v - mx))
			pr[j] = float32(e)
			sum += e
		}
		inv := float32(1 / sum)
		for j := range pr {
			pr[j] *= inv
		}
		if label != nil {
			loss += math.Log(sum) + float64(mx) - float64(row[label(i)])
		}
	}
	return loss
}

// sceState is shared by a softmax cross-entropy op and its gradient op.
type sceState struct {
	n, k   int
	labelT hm.Type // type of the labels tensor's elements
	probs  []float32
	labels []int32
}

// softmaxCEOp is the mean over the batch of -log(softmax(logits)[label]).
type softmaxCEOp struct {
	opBase
	st  *sceState
	val gorgonia.F32
}

// SoftmaxCrossEntropy returns the mean over the batch of the cross-entropy
// between softmax(logits) and integer class labels, computed stably from the
// logits (log-sum-exp). logits is (N, K); labels is a (N) tensor node of
// float32 or int32 class indices in [0, K). The result is a scalar; the
// losses of several heads are summed with gorgonia.Add.
func SoftmaxCrossEntropy(logits, labels *gorgonia.Node) (*gorgonia.Node, error) {
	ls, ys := shapeOf(logits), shapeOf(labels)
	if len(ls) != 2 || prod(ys) != ls[0] {
		return nil, fmt.Errorf("ops: SoftmaxCrossEntropy wants logits (N,K) and labels (N), got %v and %v", ls, ys)
	}
	st := &sceState{n: ls[0], k: ls[1], labelT: labels.Dtype()}
	return gorgonia.ApplyOp(&softmaxCEOp{st: st}, logits, labels)
}

func (op *softmaxCEOp) Arity() int { return 2 }
func (op *softmaxCEOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(tensorType(2, a), &gorgonia.TensorType{Dims: 1, Of: op.st.labelT}, a)
}
func (op *softmaxCEOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.ScalarShape(), nil
}
func (op *softmaxCEOp) String() string        { return "SoftmaxCrossEntropy" }
func (op *softmaxCEOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *softmaxCEOp) Hashcode() uint32      { return hashcode(op) }

// readLabels copies integer class labels out of a float32 or int32 tensor,
// checking their range.
func readLabels(v gorgonia.Value, dst []int32, k int) error {
	d, ok := v.(*tensor.Dense)
	if !ok || d.Size() != len(dst) {
		return fmt.Errorf("ops: labels must be a tensor of %d elements, got %T", len(dst), v)
	}
	switch d.Dtype() {
	case tensor.Float32:
		for i, f := range d.Float32s() {
			dst[i] = int32(f)
		}
	case tensor.Int32:
		copy(dst, d.Int32s())
	default:
		return fmt.Errorf("ops: labels must be float32 or int32, got %v", d.Dtype())
	}
	for i, l := range dst {
		if l < 0 || int(l) >= k {
			return fmt.Errorf("ops: label %d of sample %d is outside [0, %d)", l, i, k)
		}
	}
	return nil
}

func (op *softmaxCEOp) Do(inputs ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, len(inputs), 2); err != nil {
		return nil, err
	}
	z, _, err := f32(inputs[0])
	if err != nil {
		return nil, err
	}
	st := op.st
	if len(st.labels) != st.n {
		st.labels = make([]int32, st.n)
	}
	if err := readLabels(inputs[1], st.labels, st.k); err != nil {
		return nil, err
	}
	st.probs = grow(st.probs, st.n*st.k)
	loss := softmaxRows(z, st.probs, st.n, st.k, func(i int) int { return int(st.labels[i]) })
	op.val = gorgonia.F32(loss / float64(st.n))
	return &op.val, nil
}

func (op *softmaxCEOp) DiffWRT(int) []bool { return []bool{true, false} }
func (op *softmaxCEOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if err := checkArity(op, len(inputs), 2); err != nil {
		return nil, err
	}
	dz, err := gorgonia.ApplyOp(&softmaxCEGradOp{st: op.st}, output, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dz, nil}, nil
}

// softmaxCEGradOp computes (softmax - onehot) * dloss / N from (loss, dloss).
type softmaxCEGradOp struct {
	opBase
	st  *sceState
	out buffer
}

func (op *softmaxCEGradOp) Arity() int { return 2 }
func (op *softmaxCEGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a, tensorType(2, a))
}
func (op *softmaxCEGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.st.n, op.st.k}, nil
}
func (op *softmaxCEGradOp) String() string        { return "SoftmaxCrossEntropyGrad" }
func (op *softmaxCEGradOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *softmaxCEGradOp) Hashcode() uint32      { return hashcode(op) }
func (op *softmaxCEGradOp) Do(inputs ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, len(inputs), 2); err != nil {
		return nil, err
	}
	g, err := scalarF32(inputs[1])
	if err != nil {
		return nil, err
	}
	st := op.st
	out := op.out.get(st.n, st.k)
	dz := out.Float32s()
	s := g / float32(st.n)
	for i := 0; i < st.n; i++ {
		for j := 0; j < st.k; j++ {
			dz[i*st.k+j] = st.probs[i*st.k+j] * s
		}
		dz[i*st.k+int(st.labels[i])] -= s
	}
	return out, nil
}
func (op *softmaxCEGradOp) DiffWRT(int) []bool { return []bool{false, false} }
func (op *softmaxCEGradOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, errNoSecondOrder
}

// softmaxOp is the row-wise softmax for inference.
type softmaxOp struct {
	opBase
	n, k int
	out  buffer
}

// Softmax returns the softmax of each row of logits (N, K), for inference;
// it has no gradient (train through SoftmaxCrossEntropy).
func Softmax(logits *gorgonia.Node) (*gorgonia.Node, error) {
	ls := shapeOf(logits)
	if len(ls) != 2 {
		return nil, fmt.Errorf("ops: Softmax wants logits (N,K), got %v", ls)
	}
	return gorgonia.ApplyOp(&softmaxOp{n: ls[0], k: ls[1]}, logits)
}

func (op *softmaxOp) Arity() int { return 1 }
func (op *softmaxOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(tensorType(2, a), tensorType(2, a))
}
func (op *softmaxOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.n, op.k}, nil
}
func (op *softmaxOp) String() string        { return "Softmax" }
func (op *softmaxOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *softmaxOp) Hashcode() uint32      { return hashcode(op) }
func (op *softmaxOp) Do(inputs ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, len(inputs), 1); err != nil {
		return nil, err
	}
	z, _, err := f32(inputs[0])
	if err != nil {
		return nil, err
	}
	out := op.out.get(op.n, op.k)
	softmaxRows(z, out.Float32s(), op.n, op.k, nil)
	return out, nil
}
func (op *softmaxOp) DiffWRT(int) []bool { return []bool{false} }
func (op *softmaxOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, fmt.Errorf("ops: Softmax is for inference; train with SoftmaxCrossEntropy")
}
