package ops

import "gorgonia.org/gorgonia"

// trainStep is a model with its tape machine and optimiser.
type trainStep struct {
	m      *model
	vm     gorgonia.VM
	solver *Adam
	vgs    []gorgonia.ValueGrad
}

func newTrainStep(name string, batch int, seed uint64) (*trainStep, error) {
	m, err := buildModel(name, batch, true, seed)
	if err != nil {
		return nil, err
	}
	return &trainStep{
		m:      m,
		vm:     gorgonia.NewTapeMachine(m.g, gorgonia.BindDualValues(m.learnables...)),
		solver: NewAdam(0.001),
		vgs:    gorgonia.NodesToValueGrads(m.learnables),
	}, nil
}

// step runs one forward and backward pass and one Adam update.
func (t *trainStep) step() error {
	defer t.vm.Reset()
	if err := t.vm.RunAll(); err != nil {
		return err
	}
	return t.solver.Step(t.vgs)
}

// loss returns the cost of the last step.
func (t *trainStep) loss() float32 {
	v, _ := scalarF32(t.m.cost.Value())
	return v
}
