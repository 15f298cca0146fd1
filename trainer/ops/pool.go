package ops

import (
	"errors"
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// poolState is shared by a max pooling op and its gradient op: the forward
// pass records, for each output, the index of the chosen input.
type poolState struct {
	n, c, h, w, k, ho, wo int
	argmax                []int32
	ks                    *kernels
	// conv is the state of the convolution with a fused ReLU that computes
	// x, or nil. Its output is zero wherever it is not positive, so the
	// pooled output is positive exactly where the chosen input is: the
	// gradient op applies the convolution's ReLU mask as it routes dy and
	// tells conv so (convState.markMasked), sparing it a pass over dx.
	conv *convState
	// fusedIn is the convolution that computes this pooling itself
	// (convState.pool), or nil.
	fusedIn *convState
	// into, when set, is the output buffer of the convolution whose output
	// this pooling reads (built with Conv2DIn, so the pooling is its only
	// consumer): once pooled, that output is read again only for the ReLU
	// mask, which the gradient applies itself, so the gradient is written
	// over it instead of into a buffer of its own.
	into *buffer
}

// maxPoolOp is k x k max pooling with stride k; rows and columns that do not
// fill a window are dropped (Keras 'valid' pooling).
type maxPoolOp struct {
	opBase
	st  *poolState
	out buffer
}

// MaxPool2D returns k x k max pooling with stride k of x (N,C,H,W). The
// output is (N, C, H/k, W/k), rounded down.
func MaxPool2D(x *gorgonia.Node, k int) (*gorgonia.Node, error) {
	s := shapeOf(x)
	if len(s) != 4 {
		return nil, fmt.Errorf("ops: MaxPool2D wants x (N,C,H,W), got %v", s)
	}
	if k < 1 || s[2] < k || s[3] < k {
		return nil, fmt.Errorf("ops: MaxPool2D window %d does not fit input %v", k, s)
	}
	st := &poolState{n: s[0], c: s[1], h: s[2], w: s[3], k: k, ho: s[2] / k, wo: s[3] / k, ks: defaultKernels}
	op := &maxPoolOp{st: st}
	if c, ok := x.Op().(*conv2dOp); ok {
		if c.st.g.relu {
			st.conv = c.st
		}
		if k == 2 && c.st.mode != nil && c.st.fwd != nil && c.st.pool == nil {
			c.st.pool, st.fusedIn = op, c.st
		}
		if c.st.mode != nil {
			st.into = &c.out
		}
	}
	return gorgonia.ApplyOp(op, x)
}

func (op *maxPoolOp) Arity() int { return 1 }
func (op *maxPoolOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(tensorType(4, a), tensorType(4, a))
}
func (op *maxPoolOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	s := op.st
	return tensor.Shape{s.n, s.c, s.ho, s.wo}, nil
}
func (op *maxPoolOp) String() string        { return fmt.Sprintf("MaxPool2D{%d}", op.st.k) }
func (op *maxPoolOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *maxPoolOp) Hashcode() uint32      { return hashcode(op) }

func (op *maxPoolOp) Do(inputs ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, len(inputs), 1); err != nil {
		return nil, err
	}
	x, _, err := f32(inputs[0])
	if err != nil {
		return nil, err
	}
	s := op.st
	out := op.out.get(s.n, s.c, s.ho, s.wo)
	if c := s.fusedIn; c != nil && c.pooledRun == c.fwdRuns {
		return out, nil // pooled by the convolution in this run
	}
	y := out.Float32s()
	if len(s.argmax) != len(y) {
		s.argmax = make([]int32, len(y))
	}
	planes := s.n * s.c
	parallelFor(planes, workers(), func(_, lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			xp := x[pl*s.h*s.w : (pl+1)*s.h*s.w]
			yo := pl * s.ho * s.wo
			if s.k == 2 {
				s.ks.pool2Plane(xp, s.w, s.w, s.ho, s.wo, y[yo:yo+s.ho*s.wo], s.argmax[yo:yo+s.ho*s.wo])
				continue
			}
			for oy := 0; oy < s.ho; oy++ {
				for ox := 0; ox < s.wo; ox++ {
					best := oy*s.k*s.w + ox*s.k
					bv := xp[best]
					for dy := 0; dy < s.k; dy++ {
						row := (oy*s.k+dy)*s.w + ox*s.k
						for dx, v := range xp[row : row+s.k] {
							if v > bv {
								bv, best = v, row+dx
							}
						}
					}
					y[yo+oy*s.wo+ox] = bv
					s.argmax[yo+oy*s.wo+ox] = int32(best)
				}
			}
		}
	})
	return out, nil
}

func (op *maxPoolOp) DiffWRT(int) []bool { return []bool{true} }
func (op *maxPoolOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	dx, err := gorgonia.ApplyOp(&maxPoolGradOp{st: op.st}, output, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx}, nil
}

// maxPoolGradOp routes the output gradient to the inputs the forward pass
// chose. Its inputs are (y, dy); y, the pooled output, orders it after the
// forward pass and gives the fused ReLU's mask (poolState.conv).
type maxPoolGradOp struct {
	opBase
	st  *poolState
	out buffer
}

func (op *maxPoolGradOp) Arity() int { return 2 }
func (op *maxPoolGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(tensorType(4, a), tensorType(4, a), tensorType(4, a))
}
func (op *maxPoolGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	s := op.st
	return tensor.Shape{s.n, s.c, s.h, s.w}, nil
}
func (op *maxPoolGradOp) String() string        { return "MaxPool2DGrad" }
func (op *maxPoolGradOp) WriteHash(h hash.Hash) { writeHash(h, op) }
func (op *maxPoolGradOp) Hashcode() uint32      { return hashcode(op) }

func (op *maxPoolGradOp) Do(inputs ...gorgonia.Value) (gorgonia.Value, error) {
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
	s := op.st
	if c := s.fusedIn; c != nil && c.pooledRun == c.fwdRuns && !c.choices {
		return nil, errors.New("ops: MaxPool2D gradient after a forward pass in Mode.Infer, which keeps no choices: switch to Train or Eval first")
	}
	into := &op.out
	if s.into != nil {
		into = s.into
	}
	out := into.get(s.n, s.c, s.h, s.w)
	dx := out.Float32s()
	planes := s.n * s.c
	mask := s.conv != nil
	parallelFor(planes, workers(), func(_, lo, hi int) {
		if s.k == 2 {
			for pl := lo; pl < hi; pl++ {
				o := pl * s.ho * s.wo
				s.ks.pool2GradPlane(dy[o:o+s.ho*s.wo], y[o:o+s.ho*s.wo], s.argmax[o:o+s.ho*s.wo], s.w, s.h, s.ho, s.wo, mask, dx[pl*s.h*s.w:(pl+1)*s.h*s.w])
			}
			return
		}
		clear(dx[lo*s.h*s.w : hi*s.h*s.w])
		for pl := lo; pl < hi; pl++ {
			base := pl * s.h * s.w
			for i := pl * s.ho * s.wo; i < (pl+1)*s.ho*s.wo; i++ {
				if v := dy[i]; !mask || y[i] > 0 {
					dx[base+int(s.argmax[i])] += v
				}
			}
		}
	})
	if mask {
		s.conv.markMasked(dx)
	}
	return out, nil
}

// pool2Grad writes the gradient dx (h rows w apart) of one plane's 2x2
// pooling: each window's chosen input (argmax, an index in the plane) gets
// its dy and the others zero, as do the dropped odd row and column. With
// mask, dy counts only where the pooled output y is positive (a fused
// ReLU's mask; NaN is not positive). Each window is written whole with
// selects on the bits, without branches.
func pool2Grad(dy, y []float32, argmax []int32, w, h, ho, wo int, mask bool, dx []float32) {
	for oy := 0; oy < ho; oy++ {
		i0 := 2 * oy * w
		r0 := dx[i0 : i0+w]
		r1 := dx[i0+w : i0+2*w]
		dr := dy[oy*wo : oy*wo+wo]
		yr := y[oy*wo : oy*wo+wo]
		ar := argmax[oy*wo : oy*wo+wo]
		for ox, d := range dr {
			v := math.Float32bits(d)
			if mask && !(yr[ox] > 0) {
				v = 0
			}
			rel := uint32(ar[ox] - int32(i0+2*ox))
			r0[2*ox] = math.Float32frombits(v & eqZero(rel))
			r0[2*ox+1] = math.Float32frombits(v & eqZero(rel-1))
			r1[2*ox] = math.Float32frombits(v & eqZero(rel-uint32(w)))
			r1[2*ox+1] = math.Float32frombits(v & eqZero(rel-uint32(w)-1))
		}
		clear(r0[2*wo:])
		clear(r1[2*wo:])
	}
	clear(dx[2*ho*w : h*w])
}

// eqZero is all ones when u is zero and zero otherwise.
func eqZero(u uint32) uint32 { return ((u | -u) >> 31) - 1 }

func (op *maxPoolGradOp) DiffWRT(int) []bool { return []bool{false, false} }
func (op *maxPoolGradOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, errNoSecondOrder
}

// pool2 is 2x2 max pooling of one plane xp (rows w apart) into y (ho x wo),
// recording the index of each maximum in argmax, counted with rows iw apart:
// iw = w gives the index in xp, a smaller iw the index in the plane of which
// xp holds the rows with wider spacing (a convolution's grid). The maximum is the
// builtin max (NaN wins, as in PyTorch) and the index that of its first
// occurrence, chosen without branches: the generic loop's data-dependent
// branches cost five times as much on random data.
func pool2(xp []float32, w, iw, ho, wo int, y []float32, argmax []int32) {
	for oy := 0; oy < ho; oy++ {
		i0, ix := 2*oy*w, 2*oy*iw
		r0 := xp[i0 : i0+2*wo]
		r1 := xp[i0+w : i0+w+2*wo]
		yr := y[oy*wo : oy*wo+wo]
		ar := argmax[oy*wo : oy*wo+wo]
		for ox := range yr {
			a, b := r0[2*ox], r0[2*ox+1]
			c, d := r1[2*ox], r1[2*ox+1]
			m := max(a, b, c, d)
			i := int32(iw + 1)
			if c == m {
				i = int32(iw)
			}
			if b == m {
				i = 1
			}
			if a == m {
				i = 0
			}
			yr[ox] = m
			ar[ox] = int32(ix+2*ox) + i
		}
	}
}
