package ops

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BNState holds a batch normalisation layer's running statistics and
// hyper-parameters. Mean and Var are ordinary tensors of shape (C) so they
// can be saved with the weights and loaded back (copy into their backing
// arrays); they live outside the graph and survive new VMs.
type BNState struct {
	// Mean is the running mean per channel, initially 0.
	Mean *tensor.Dense
	// Var is the running variance per channel, initially 1.
	Var *tensor.Dense
	// Momentum weighs the old running value: new = Momentum*old +
	// (1-Momentum)*batch. Keras's default is 0.99.
	Momentum float32
	// Epsilon is added to the variance before the square root. Keras's
	// default is 0.001.
	Epsilon float32
}

// NewBNState returns the state of a batch normalisation over channels
// channels with Keras's defaults (momentum 0.99, epsilon 0.001).
func NewBNState(channels int) *BNState {
	v := make([]float32, channels)
	for i := range v {
		v[i] = 1
	}
	return &BNState{
		Mean:     tensor.New(tensor.WithShape(channels), tensor.Of(tensor.Float32)),
		Var:      tensor.New(tensor.WithShape(channels), tensor.WithBacking(v)),
		Momentum: 0.99,
		Epsilon:  0.001,
	}
}

// bnShared is shared by a batch norm op and its gradient ops.
type bnShared struct {
	state         *BNState
	mode          *Mode
	shape         []int
	n, c, inner   int
	mean, invstd  []float32 // statistics the last forward run used
	dgamma, dbeta buffer
}

// batchNormOp normalises x per channel (axis 1) and applies gamma and beta.
type batchNormOp struct {
	opBase
	sh  *bnShared
	out buffer
}

// BatchNorm returns gamma * (x - mean) / sqrt(var + eps) + beta per channel,
// where channels are axis 1 of x ((N,C,H,W) or (N,C)). In training (mode)
// mean and var are the batch's (biased variance) and state's running
// statistics are updated with its momentum (the running variance uses the
// unbiased batch variance, as Keras's fused kernel and PyTorch do); in
// evaluation state's running statistics are used. gamma and beta are (C).
func BatchNorm(x, gamma, beta *gorgonia.Node, state *BNState, mode *Mode) (*gorgonia.Node, error) {
	xs := shapeOf(x)
	if len(xs) < 2 {
		return nil, fmt.Errorf("ops: BatchNorm wants x (N,C,...), got %v", xs)
	}
	if state == nil || mode == nil {
		return nil, fmt.Errorf("ops: BatchNorm needs a state and a mode")
	}
	c := xs[1]
	if prod(shapeOf(gamma)) != c || prod(shapeOf(beta)) != c || state.Mean.Size() != c || state.Var.Size() != c {
		return nil, fmt.Errorf("ops: BatchNorm over %d channels: gamma, beta and state must have %d elements", c, c)
	}
	sh := &bnShared{state: state, mode: mode, shape: append([]int(nil), xs...), n: xs[0], c: c, inner: prod(xs[2:]),
		mean: make([]float32, c), invstd: make([]float32, c)}
	return gorgonia.ApplyOp(&batchNormOp{sh: sh}, x, gamma, beta)
}

func (op *batchNormOp) Arity() int { return 3 }
func (op *batchNormOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	d := len(op.sh.shape)
	return hm.NewFnType(tensorType(d, a), tensorType(1, a), tensorType(1, a), tensorType(d, a))
}
func (op *batchNormOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape(append([]int(nil), op.sh.shape...)), nil
}
func (op *batchNormOp) String() string        { return "BatchNorm" }
func (op *batchNormOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *batchNormOp) Hashcode() uint32      { return hashcode(op) }

func (op *batchNormOp) Do(inputs ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, len(inputs), 3); err != nil {
		return nil, err
	}
	x, _, err := f32(inputs[0])
	if err != nil {
		return nil, err
	}
	gamma, _, err := f32(inputs[1])
	if err != nil {
		return nil, err
	}
	beta, _, err := f32(inputs[2])
	if err != nil {
		return nil, err
	}
	sh := op.sh
	out := op.out.get(sh.shape...)
	y := out.Float32s()
	st := sh.state
	rm, rv := st.Mean.Float32s(), st.Var.Float32s()
	train := sh.mode.Training()
	m := sh.n * sh.inner
	parallelFor(sh.c, workers(), func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			var mean, invstd float64
			if train {
				var sum float64
				for n := 0; n < sh.n; n++ {
					sum += sum64(x[(n*sh.c+c)*sh.inner : (n*sh.c+c+1)*sh.inner])
				}
				mean = sum / float64(m)
				var ss float64
				for n := 0; n < sh.n; n++ {
					ss += sqDev64(x[(n*sh.c+c)*sh.inner:(n*sh.c+c+1)*sh.inner], mean)
				}
				variance := ss / float64(m)
				invstd = 1 / math.Sqrt(variance+float64(st.Epsilon))
				unbiased := variance
				if m > 1 {
					unbiased = ss / float64(m-1)
				}
				rm[c] = st.Momentum*rm[c] + (1-st.Momentum)*float32(mean)
				rv[c] = st.Momentum*rv[c] + (1-st.Momentum)*float32(unbiased)
			} else {
				mean = float64(rm[c])
				invstd = 1 / math.Sqrt(float64(rv[c])+float64(st.Epsilon))
			}
			sh.mean[c], sh.invstd[c] = float32(mean), float32(invstd)
			scale := gamma[c] * float32(invstd)
			shift := beta[c] - float32(mean)*scale
			for n := 0; n < sh.n; n++ {
				off := (n*sh.c + c) * sh.inner
				for i, v := range x[off : off+sh.inner] {
					y[off+i] = v*scale + shift
				}
			}
		}
	})
	return out, nil
}

func (op *batchNormOp) DiffWRT(int) []bool { return []bool{true, true, true} }
func (op *batchNormOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if err := checkArity(op, len(inputs), 3); err != nil {
		return nil, err
	}
	dx, err := gorgonia.ApplyOp(&batchNormGradOp{sh: op.sh, train: op.sh.mode}, inputs[0], inputs[1], output, grad)
	if err != nil {
		return nil, err
	}
	d := len(op.sh.shape)
	dg, err := gorgonia.ApplyOp(newStashOp("BatchNormGradGamma", &op.sh.dgamma, d, op.sh.c), dx)
	if err != nil {
		return nil, err
	}
	db, err := gorgonia.ApplyOp(newStashOp("BatchNormGradBeta", &op.sh.dbeta, d, op.sh.c), dx)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx, dg, db}, nil
}

// batchNormGradOp computes the input gradient of a batch norm from (x,
// gamma, y, dy) and fills the gamma and beta gradients.
type batchNormGradOp struct {
	opBase
	sh    *bnShared
	train *Mode
	out   buffer
}

func (op *batchNormGradOp) Arity() int { return 4 }
func (op *batchNormGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	d := len(op.sh.shape)
	return hm.NewFnType(tensorType(d, a), tensorType(1, a), tensorType(d, a), tensorType(d, a), tensorType(d, a))
}
func (op *batchNormGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape(append([]int(nil), op.sh.shape...)), nil
}
func (op *batchNormGradOp) String() string        { return "BatchNormGrad" }
func (op *batchNormGradOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *batchNormGradOp) Hashcode() uint32      { return hashcode(op) }

func (op *batchNormGradOp) Do(inputs ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, len(inputs), 4); err != nil {
		return nil, err
	}
	x, _, err := f32(inputs[0])
	if err != nil {
		return nil, err
	}
	gamma, _, err := f32(inputs[1])
	if err != nil {
		return nil, err
	}
	dy, _, err := f32(inputs[3])
	if err != nil {
		return nil, err
	}
	sh := op.sh
	out := op.out.get(sh.shape...)
	dx := out.Float32s()
	dgamma := sh.dgamma.get(sh.c).Float32s()
	dbeta := sh.dbeta.get(sh.c).Float32s()
	train := op.train.Training()
	m := float32(sh.n * sh.inner)
	parallelFor(sh.c, workers(), func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			mean, invstd := sh.mean[c], sh.invstd[c]
			var sdy, sdyx float64
			for n := 0; n < sh.n; n++ {
				off := (n*sh.c + c) * sh.inner
				a, b := gradSums64(dy[off:off+sh.inner], x[off:off+sh.inner], mean, invstd)
				sdy += a
				sdyx += b
			}
			dbeta[c], dgamma[c] = float32(sdy), float32(sdyx)
			k := gamma[c] * invstd
			a, b := float32(0), float32(0)
			if train {
				a, b = float32(sdy)/m, float32(sdyx)/m
			}
			for n := 0; n < sh.n; n++ {
				off := (n*sh.c + c) * sh.inner
				xs := x[off : off+sh.inner]
				for i, g := range dy[off : off+sh.inner] {
					xhat := (xs[i] - mean) * invstd
					dx[off+i] = k * (g - a - xhat*b)
				}
			}
		}
	})
	return out, nil
}

func (op *batchNormGradOp) DiffWRT(int) []bool { return []bool{false, false, false, false} }
func (op *batchNormGradOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, errNoSecondOrder
}

// The sums below keep four partial sums so that the adds do not wait on
// one another (one float64 chain is one add per four cycles).

// sum64 returns the sum of v in float64.
func sum64(v []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(v); i += 4 {
		c := v[i : i+4 : i+4]
		s0 += float64(c[0])
		s1 += float64(c[1])
		s2 += float64(c[2])
		s3 += float64(c[3])
	}
	for ; i < len(v); i++ {
		s0 += float64(v[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// sqDev64 returns the sum of (v - mean)^2 in float64.
func sqDev64(v []float32, mean float64) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(v); i += 4 {
		c := v[i : i+4 : i+4]
		d0, d1, d2, d3 := float64(c[0])-mean, float64(c[1])-mean, float64(c[2])-mean, float64(c[3])-mean
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(v); i++ {
		d := float64(v[i]) - mean
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// gradSums64 returns the sums of dy and of dy * (x - mean) * invstd.
func gradSums64(dy, x []float32, mean, invstd float32) (float64, float64) {
	x = x[:len(dy)]
	var a0, a1, b0, b1 float64
	i := 0
	for ; i+2 <= len(dy); i += 2 {
		g0, g1 := dy[i], dy[i+1]
		a0 += float64(g0)
		a1 += float64(g1)
		b0 += float64(g0) * float64((x[i]-mean)*invstd)
		b1 += float64(g1) * float64((x[i+1]-mean)*invstd)
	}
	if i < len(dy) {
		g := dy[i]
		a0 += float64(g)
		b0 += float64(g) * float64((x[i]-mean)*invstd)
	}
	return a0 + a1, b0 + b1
}
