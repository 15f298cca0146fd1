package ops

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Adam is the Adam optimiser with Keras's defaults, as a gorgonia.Solver
// that allocates nothing after its first step (gorgonia's AdamSolver clones
// every gradient on every step). Like gorgonia's solvers it zeroes each
// gradient after using it, since the tape machine accumulates into them.
type Adam struct {
	// LearnRate is the step size; Keras's default is 0.001.
	LearnRate float64
	// Beta1 and Beta2 are the decay rates of the moment estimates (0.9 and
	// 0.999).
	Beta1, Beta2 float64
	// Epsilon guards the division (Keras: 1e-7).
	Epsilon float64

	iter int
	m, v [][]float32
}

// NewAdam returns Adam with learning rate lr and Keras's other defaults.
func NewAdam(lr float64) *Adam {
	return &Adam{LearnRate: lr, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7}
}

// Step applies one update to every model parameter from its gradient.
func (a *Adam) Step(model []gorgonia.ValueGrad) error {
	if a.m == nil {
		a.m = make([][]float32, len(model))
		a.v = make([][]float32, len(model))
	}
	if len(model) != len(a.m) {
		return fmt.Errorf("ops: Adam was stepped with %d parameters, then %d", len(a.m), len(model))
	}
	a.iter++
	b1, b2 := float32(a.Beta1), float32(a.Beta2)
	lr := float32(a.LearnRate * math.Sqrt(1-math.Pow(a.Beta2, float64(a.iter))) / (1 - math.Pow(a.Beta1, float64(a.iter))))
	eps := float32(a.Epsilon)
	for i, p := range model {
		wt, ok := p.Value().(*tensor.Dense)
		if !ok || wt.Dtype() != tensor.Float32 {
			return fmt.Errorf("ops: Adam parameter %d is not a float32 tensor", i)
		}
		gv, err := p.Grad()
		if err != nil {
			return fmt.Errorf("ops: Adam parameter %d: %w", i, err)
		}
		gt, ok := gv.(*tensor.Dense)
		if !ok || gt.Dtype() != tensor.Float32 || gt.Size() != wt.Size() {
			return fmt.Errorf("ops: Adam gradient %d is not a float32 tensor of the weight's size", i)
		}
		w, g := wt.Float32s(), gt.Float32s()
		if len(a.m[i]) != len(w) {
			a.m[i] = make([]float32, len(w))
			a.v[i] = make([]float32, len(w))
		}
		m, v := a.m[i], a.v[i]
		for j, gj := range g {
			mj := b1*m[j] + (1-b1)*gj
			vj := b2*v[j] + (1-b2)*gj*gj
			m[j], v[j] = mj, vj
			w[j] -= lr * mj / (float32(math.Sqrt(float64(vj))) + eps)
			g[j] = 0
		}
	}
	return nil
}
