package nn

import (
	"errors"
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/trainer/ops"
)

// Keras's BatchNormalization defaults.
const (
	bnMomentum = 0.99
	bnEpsilon  = 1e-3
)

// batchNorm is one batch-normalisation layer's state outside the graph: its
// moving statistics, which are saved with the weights, and whether the model
// is training. While training the layer normalises with the batch's mean and
// variance and moves the moving statistics towards them (moving = 0.99*moving
// + 0.01*batch, the variance Bessel-corrected as in TensorFlow's fused
// kernel); while evaluating it normalises with the moving statistics.
type batchNorm struct {
	name       string
	channels   int
	training   bool
	movingMean []float32
	movingVar  []float32
}

// batchNormLayer is Keras's BatchNormalization over axis 1 (channels).
type batchNormLayer struct{}

func (batchNormLayer) build(b *builder, in *G.Node) (*G.Node, error) {
	if in.Dims() != 2 && in.Dims() != 4 {
		return nil, errors.New("batchnorm needs (batch, units) or (batch, channels, h, w) input")
	}
	name := b.name(experiments.LayerBatchNorm)
	c := in.Shape()[1]
	gamma := b.constant(name+".weight", 1, c)
	beta := b.constant(name+".bias", 0, c)
	if b.fast() {
		// The moving statistics are the op's state tensors themselves, so
		// Weights and SetWeights read and write them in place.
		state := ops.NewBNState(c)
		state.Momentum, state.Epsilon = bnMomentum, bnEpsilon
		st := &batchNorm{name: name, channels: c, movingMean: state.Mean.Float32s(), movingVar: state.Var.Float32s()}
		b.m.norms = append(b.m.norms, st)
		return ops.BatchNorm(in, gamma, beta, state, b.m.mode)
	}
	st := &batchNorm{name: name, channels: c, movingMean: make([]float32, c), movingVar: make([]float32, c)}
	fill(st.movingVar, 1)
	b.m.norms = append(b.m.norms, st)
	return G.ApplyOp(bnOp{st: st, dims: in.Dims()}, in, gamma, beta)
}

// stats returns the per-channel mean and biased variance of x.
func (st *batchNorm) stats(x []float32, shape tensor.Shape) (mean, variance []float64, count int) {
	c := shape[1]
	inner := len(x) / (shape[0] * c)
	mean = make([]float64, c)
	variance = make([]float64, c)
	for i := 0; i < len(x); i += inner {
		ch := (i / inner) % c
		for _, v := range x[i : i+inner] {
			mean[ch] += float64(v)
		}
	}
	count = len(x) / c
	for ch := range mean {
		mean[ch] /= float64(count)
	}
	for i := 0; i < len(x); i += inner {
		ch := (i / inner) % c
		for _, v := range x[i : i+inner] {
			d := float64(v) - mean[ch]
			variance[ch] += d * d
		}
	}
	for ch := range variance {
		variance[ch] /= float64(count)
	}
	return mean, variance, count
}

// norm returns the mean and 1/sqrt(var+eps) the layer normalises with now.
func (st *batchNorm) norm(x []float32, shape tensor.Shape) (mean, invStd []float64) {
	if st.training {
		mean, variance, _ := st.stats(x, shape)
		invStd = make([]float64, len(variance))
		for i, v := range variance {
			invStd[i] = 1 / math.Sqrt(v+bnEpsilon)
		}
		return mean, invStd
	}
	mean = make([]float64, st.channels)
	invStd = make([]float64, st.channels)
	for i := range mean {
		mean[i] = float64(st.movingMean[i])
		invStd[i] = 1 / math.Sqrt(float64(st.movingVar[i])+bnEpsilon)
	}
	return mean, invStd
}

// bnOp normalises x per channel and applies gamma and beta.
type bnOp struct {
	st   *batchNorm
	dims int
}

func (op bnOp) Arity() int { return 3 }
func (op bnOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t := G.TensorType{Dims: op.dims, Of: a}
	v := G.TensorType{Dims: 1, Of: a}
	return hm.NewFnType(t, v, v, t)
}
func (op bnOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}
func (op bnOp) Do(in ...G.Value) (G.Value, error) {
	x, gamma, beta, err := bnInputs(in)
	if err != nil {
		return nil, err
	}
	shape := in[0].Shape()
	st := op.st
	mean, invStd := st.norm(x, shape)
	if st.training {
		_, variance, count := st.stats(x, shape)
		corr := float64(count) / float64(max(count-1, 1))
		for ch := range st.movingMean {
			st.movingMean[ch] = float32(bnMomentum*float64(st.movingMean[ch]) + (1-bnMomentum)*mean[ch])
			st.movingVar[ch] = float32(bnMomentum*float64(st.movingVar[ch]) + (1-bnMomentum)*variance[ch]*corr)
		}
	}
	out := newDense(shape...)
	y := out.Data().([]float32)
	c := shape[1]
	inner := len(x) / (shape[0] * c)
	for i := 0; i < len(x); i += inner {
		ch := (i / inner) % c
		s := float64(gamma[ch]) * invStd[ch]
		sh := float64(beta[ch]) - mean[ch]*s
		for j, v := range x[i : i+inner] {
			y[i+j] = float32(float64(v)*s + sh)
		}
	}
	return out, nil
}
func (op bnOp) ReturnsPtr() bool      { return false }
func (op bnOp) CallsExtern() bool     { return false }
func (op bnOp) OverwritesInput() int  { return -1 }
func (op bnOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op bnOp) Hashcode() uint32      { return opHash(op) }
func (op bnOp) String() string        { return "BatchNorm(" + op.st.name + ")" }
func (op bnOp) DiffWRT(n int) []bool  { return []bool{true, true, true} }
func (op bnOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	var grads G.Nodes
	for which := range 3 {
		n, err := G.ApplyOp(bnGradOp{st: op.st, dims: op.dims, which: which}, in[0], in[1], grad)
		if err != nil {
			return nil, err
		}
		grads = append(grads, n)
	}
	return grads, nil
}

func bnInputs(in []G.Value) (x, gamma, beta []float32, err error) {
	if x, err = float32s(in[0]); err != nil {
		return
	}
	if gamma, err = float32s(in[1]); err != nil {
		return
	}
	beta, err = float32s(in[2])
	return
}

// bnGradOp is the gradient of bnOp with respect to x (which 0), gamma (1) or
// beta (2), given x, gamma and the output's gradient dy.
type bnGradOp struct {
	st    *batchNorm
	dims  int
	which int
}

func (op bnGradOp) Arity() int { return 3 }
func (op bnGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t := G.TensorType{Dims: op.dims, Of: a}
	v := G.TensorType{Dims: 1, Of: a}
	if op.which == 0 {
		return hm.NewFnType(t, v, t, t)
	}
	return hm.NewFnType(t, v, t, v)
}
func (op bnGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s := in[0].(tensor.Shape)
	if op.which == 0 {
		return s.Clone(), nil
	}
	return tensor.Shape{s[1]}, nil
}
func (op bnGradOp) Do(in ...G.Value) (G.Value, error) {
	x, gamma, dy, err := bnInputs(in)
	if err != nil {
		return nil, err
	}
	shape := in[0].Shape()
	c := shape[1]
	inner := len(x) / (shape[0] * c)
	mean, invStd := op.st.norm(x, shape)
	sumDy := make([]float64, c)
	sumDyXhat := make([]float64, c)
	for i := 0; i < len(x); i += inner {
		ch := (i / inner) % c
		for j, v := range x[i : i+inner] {
			g := float64(dy[i+j])
			sumDy[ch] += g
			sumDyXhat[ch] += g * (float64(v) - mean[ch]) * invStd[ch]
		}
	}
	switch op.which {
	case 1:
		out := newDense(c)
		for ch, v := range sumDyXhat {
			out.Data().([]float32)[ch] = float32(v)
		}
		return out, nil
	case 2:
		out := newDense(c)
		for ch, v := range sumDy {
			out.Data().([]float32)[ch] = float32(v)
		}
		return out, nil
	}
	out := newDense(shape...)
	dx := out.Data().([]float32)
	n := float64(len(x) / c)
	for i := 0; i < len(x); i += inner {
		ch := (i / inner) % c
		s := float64(gamma[ch]) * invStd[ch]
		for j, v := range x[i : i+inner] {
			g := float64(dy[i+j])
			if op.st.training {
				xhat := (float64(v) - mean[ch]) * invStd[ch]
				g = g - sumDy[ch]/n - xhat*sumDyXhat[ch]/n
			}
			dx[i+j] = float32(s * g)
		}
	}
	return out, nil
}
func (op bnGradOp) ReturnsPtr() bool      { return false }
func (op bnGradOp) CallsExtern() bool     { return false }
func (op bnGradOp) OverwritesInput() int  { return -1 }
func (op bnGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op bnGradOp) Hashcode() uint32      { return opHash(op) }
func (op bnGradOp) String() string {
	return fmt.Sprintf("BatchNormGrad(%s,%d)", op.st.name, op.which)
}
