package nn

import (
	"fmt"
	"math"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/trainer/ops"
)

// optimizer updates the model's parameters from their gradients in place:
// Adam with Keras's defaults (beta1 0.9, beta2 0.999, epsilon 1e-7, the
// bias correction folded into the step size) or plain SGD.
type optimizer struct {
	adam   bool
	lr     float64
	beta1  float64
	beta2  float64
	eps    float64
	t      int
	m, v   [][]float32
	params []*param
	// The step's values for update, the update of one parameter over a
	// range of its values, made once so that handing it to ops.ParallelFor
	// allocates nothing.
	cur    stepVals
	update func(w, lo, hi int)
}

// stepVals is what update reads: one parameter, its gradient and moments,
// and the step's factors.
type stepVals struct {
	w, g, m, v      []float32
	lr, b1, b2, eps float32
}

// parallelMin is the fewest values of a parameter whose update is split
// over the processors: below it the hand-off costs more than it saves.
var parallelMin = 1 << 14

func newOptimizer(spec experiments.Spec, params []*param) *optimizer {
	o := &optimizer{adam: spec.Optimizer == experiments.OptAdam, lr: spec.LearningRate,
		beta1: 0.9, beta2: 0.999, eps: 1e-7, params: params}
	if o.adam {
		for _, p := range params {
			n := len(p.data())
			o.m = append(o.m, make([]float32, n))
			o.v = append(o.v, make([]float32, n))
		}
	}
	o.update = o.updateRange
	return o
}

// updateRange updates values [lo, hi) of the parameter in o.cur.
func (o *optimizer) updateRange(_, lo, hi int) {
	c := &o.cur
	w, g := c.w[lo:hi], c.g[lo:hi:hi]
	if !o.adam {
		for j, gj := range g {
			w[j] -= c.lr * gj
			g[j] = 0
		}
		return
	}
	m, v := c.m[lo:hi], c.v[lo:hi]
	b1, b2, lr, eps := c.b1, c.b2, c.lr, c.eps
	for j, gj := range g {
		m[j] = b1*m[j] + (1-b1)*gj
		v[j] = b2*v[j] + (1-b2)*gj*gj
		w[j] -= lr * m[j] / (float32(math.Sqrt(float64(v[j]))) + eps)
		g[j] = 0
	}
}

// step applies one update and zeroes the gradients.
func (o *optimizer) step() error {
	o.t++
	lrT := o.lr
	if o.adam {
		lrT = o.lr * math.Sqrt(1-math.Pow(o.beta2, float64(o.t))) / (1 - math.Pow(o.beta1, float64(o.t)))
	}
	o.cur = stepVals{lr: float32(lrT), b1: float32(o.beta1), b2: float32(o.beta2), eps: float32(o.eps)}
	for i, p := range o.params {
		gv, err := p.node.Grad()
		if err != nil {
			return fmt.Errorf("nn: gradient of %s: %w", p.name, err)
		}
		g, err := float32s(gv)
		if err != nil {
			return err
		}
		w := p.data()
		if len(g) != len(w) {
			return fmt.Errorf("nn: gradient of %s has %d values, want %d", p.name, len(g), len(w))
		}
		o.cur.w, o.cur.g = w, g
		if o.adam {
			o.cur.m, o.cur.v = o.m[i], o.v[i]
		}
		// Each value's update depends on that value alone: the split
		// gives the same bits.
		if len(w) < parallelMin {
			o.updateRange(0, 0, len(w))
		} else {
			ops.ParallelFor(len(w), o.update)
		}
	}
	return nil
}
