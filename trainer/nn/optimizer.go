package nn

import (
	"fmt"
	"math"

	"github.com/trainyard/trainyard/experiments"
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
}

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
	return o
}

// step applies one update and zeroes the gradients.
func (o *optimizer) step() error {
	o.t++
	lrT := o.lr
	if o.adam {
		lrT = o.lr * math.Sqrt(1-math.Pow(o.beta2, float64(o.t))) / (1 - math.Pow(o.beta1, float64(o.t)))
	}
	b1, b2 := float32(o.beta1), float32(o.beta2)
	lr, eps := float32(lrT), float32(o.eps)
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
		if !o.adam {
			for j, gj := range g {
				w[j] -= lr * gj
				g[j] = 0
			}
			continue
		}
		m, v := o.m[i], o.v[i]
		for j, gj := range g {
			m[j] = b1*m[j] + (1-b1)*gj
			v[j] = b2*v[j] + (1-b2)*gj*gj
			w[j] -= lr * m[j] / (float32(math.Sqrt(float64(v[j]))) + eps)
			g[j] = 0
		}
	}
	return nil
}
