package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/trainer/ops"
)

// tinyNet is a small graph around the layers under test: a learnable input
// x, the layers, a flatten, and heads output layers with cross-entropy.
type tinyNet struct {
	m  *Model
	vm G.VM
}

// engines are the two ways Build can build a model; tests run on both.
var engines = []Engine{EngineFast, EngineBuiltin}

func newTinyNet(t *testing.T, engine Engine, shape []int, heads, classes int, layers ...layerBuilder) *tinyNet {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	m := &Model{engine: engine, batch: shape[0], classes: classes, g: G.NewGraph(), spec: experiments.Spec{Heads: heads}, mode: ops.NewMode(), in: &inputSlot{}}
	m.mode.Eval()
	b := &builder{m: m, rng: rand.New(rand.NewPCG(7, 7)), counts: map[string]int{}}
	x := newDense(shape...)
	for i, d := range x.Data().([]float32) {
		_ = d
		x.Data().([]float32)[i] = float32(b.rng.NormFloat64())
	}
	cur := b.param("x", x)
	// The fast ops compute no gradient for a leaf input (the image batch):
	// adding zero makes x an inner node whose gradient they do compute.
	cur, err := G.Add(cur, G.NewConstant(newDense(shape...), G.WithName("zero")))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		if cur, err = l.build(b, cur); err != nil {
			t.Fatal(err)
		}
	}
	if cur, err = (flattenLayer{}).build(b, cur); err != nil {
		t.Fatal(err)
	}
	if err := m.buildHeads(b, cur, experiments.Layer{Units: classes}); err != nil {
		t.Fatal(err)
	}
	for h, lt := range m.in.labels {
		for j := range m.batch {
			lt.Data().([]float32)[j] = float32((j + h) % classes)
		}
	}
	var learn G.Nodes
	for _, p := range m.params {
		learn = append(learn, p.node)
	}
	if _, err := G.Grad(m.cost, learn...); err != nil {
		t.Fatal(err)
	}
	return &tinyNet{m: m, vm: G.NewTapeMachine(m.g, G.BindDualValues(learn...))}
}

func (n *tinyNet) cost(t *testing.T) float64 {
	t.Helper()
	defer n.vm.Reset()
	if err := n.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	v, err := float32s(n.m.cost.Value())
	if err != nil {
		t.Fatal(err)
	}
	return float64(v[0])
}

// check compares every gradient of the net with central finite differences.
func (n *tinyNet) check(t *testing.T) {
	t.Helper()
	base := n.cost(t)
	analytic := map[string][]float32{}
	for _, p := range n.m.params {
		g, err := p.node.Grad()
		if err != nil {
			t.Fatal(err)
		}
		d, _ := float32s(g)
		analytic[p.name] = append([]float32(nil), d...)
	}
	const eps = 1e-3
	checked, skipped := 0, 0
	for _, p := range n.m.params {
		w := p.data()
		for j := range w {
			orig := w[j]
			w[j] = orig + eps
			up := n.cost(t)
			w[j] = orig - eps
			down := n.cost(t)
			w[j] = orig
			num := (up - down) / (2 * eps)
			// A ReLU or max-pool kink within eps makes the one-sided slopes
			// disagree; the central difference is meaningless there.
			if fwd, bwd := (up-base)/eps, (base-down)/eps; math.Abs(fwd-bwd) > 5e-3+0.05*math.Abs(num) {
				skipped++
				continue
			}
			checked++
			got := float64(analytic[p.name][j])
			if math.Abs(got-num) > 2e-3+2e-2*math.Abs(num) {
				t.Errorf("%s[%d]: gradient %.6f, finite difference %.6f", p.name, j, got, num)
			}
		}
	}
	if skipped > checked/10 {
		t.Errorf("%d values at kinks, only %d checked", skipped, checked)
	}
}

func TestGradients(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		shape   []int
		heads   int
		layers  []layerBuilder
		prepare func(m *Model)
	}{
		{name: "dense", shape: []int{3, 5}, heads: 1, layers: []layerBuilder{denseLayer{units: 4, relu: true}}},
		{name: "dense-linear", shape: []int{2, 3}, heads: 1, layers: []layerBuilder{denseLayer{units: 3}}},
		{name: "conv-same", shape: []int{2, 2, 5, 5}, heads: 1, layers: []layerBuilder{convLayer{filters: 3, kernel: 3, same: true, relu: true}}},
		{name: "conv-same-norelu", shape: []int{2, 2, 5, 5}, heads: 1, layers: []layerBuilder{convLayer{filters: 3, kernel: 3, same: true}}},
		{name: "conv-same-b1", shape: []int{1, 2, 5, 5}, heads: 1, layers: []layerBuilder{convLayer{filters: 3, kernel: 3, same: true, relu: true}}},
		{name: "conv-same-c1", shape: []int{2, 1, 5, 5}, heads: 1, layers: []layerBuilder{convLayer{filters: 3, kernel: 3, same: true, relu: true}}},
		{name: "conv-valid", shape: []int{2, 2, 5, 4}, heads: 1, layers: []layerBuilder{convLayer{filters: 2, kernel: 3}}},
		{name: "conv-same-even", shape: []int{1, 1, 4, 4}, heads: 1, layers: []layerBuilder{convLayer{filters: 2, kernel: 2, same: true}}},
		{name: "maxpool", shape: []int{2, 2, 5, 5}, heads: 1, layers: []layerBuilder{poolLayer{size: 2}}},
		{name: "flatten", shape: []int{2, 3, 2, 2}, heads: 1, layers: []layerBuilder{flattenLayer{}}},
		{name: "dropout", shape: []int{3, 6}, heads: 1, layers: []layerBuilder{dropoutLayer{rate: 0.4}},
			prepare: func(m *Model) { m.dropouts[0].sample(rand.New(rand.NewPCG(1, 2))) }},
		{name: "batchnorm-4d", shape: []int{3, 2, 3, 3}, heads: 1, layers: []layerBuilder{batchNormLayer{}},
			prepare: func(m *Model) { m.setTraining(true) }},
		{name: "batchnorm-2d", shape: []int{4, 3}, heads: 1, layers: []layerBuilder{denseLayer{units: 3}, batchNormLayer{}},
			prepare: func(m *Model) { m.setTraining(true) }},
		{name: "batchnorm-eval", shape: []int{2, 3}, heads: 1, layers: []layerBuilder{batchNormLayer{}}},
		{name: "multi-head", shape: []int{3, 4}, heads: 3, layers: []layerBuilder{denseLayer{units: 5, relu: true}}},
	}
	for _, e := range engines {
		for _, c := range cases {
			if e == EngineFast && c.name == "dropout" {
				// The fast dropout draws a new mask every run, so finite
				// differences cannot see its gradient; TestEnginesAgree
				// checks it against the built-in mask instead.
				continue
			}
			t.Run(e.String()+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				n := newTinyNet(t, e, c.shape, c.heads, 3, c.layers...)
				if c.prepare != nil {
					c.prepare(n.m)
				}
				n.check(t)
			})
		}
	}
}

// TestDropoutMask checks the mask's statistics: about rate of the values
// are zero and the others are 1/(1-rate), so the expected output is the input.
func TestDropoutMask(t *testing.T) {
	t.Parallel()
	d := &dropoutMask{rate: 0.25, t: tensor.New(tensor.WithShape(100000), tensor.Of(tensor.Float32))}
	d.sample(rand.New(rand.NewPCG(1, 1)))
	var zeros int
	var sum float64
	for _, v := range d.t.Data().([]float32) {
		if v == 0 {
			zeros++
		} else if math.Abs(float64(v)-1/0.75) > 1e-6 {
			t.Fatalf("kept value %v, want %v", v, 1/0.75)
		}
		sum += float64(v)
	}
	if f := float64(zeros) / 100000; math.Abs(f-0.25) > 0.01 {
		t.Errorf("dropped %.3f, want 0.25", f)
	}
	if mean := sum / 100000; math.Abs(mean-1) > 0.01 {
		t.Errorf("mean %.3f, want 1", mean)
	}
	d.ones()
	for _, v := range d.t.Data().([]float32) {
		if v != 1 {
			t.Fatal("eval mask is not all ones")
		}
	}
}

// TestConvForward compares convolutions with a direct loop, for Keras's
// "same" padding with odd and even kernels and for "valid", on both engines.
func TestConvForward(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		testConvForward(t, e)
	}
}

func testConvForward(t *testing.T, e Engine) {
	for _, c := range []struct {
		k    int
		same bool
	}{{3, true}, {2, true}, {4, true}, {3, false}} {
		const cin, h, w, f = 2, 5, 6, 3
		n := newTinyNet(t, e, []int{1, cin, h, w}, 1, 3, convLayer{filters: f, kernel: c.k, same: c.same})
		n.cost(t)
		x := n.m.params[0].data()
		wt := n.m.params[1].data()
		// The conv output is the flatten's input: find it by shape.
		oh, ow, top := h-c.k+1, w-c.k+1, 0
		if c.same {
			oh, ow, top = h, w, (c.k-1)/2
		}
		var out []float32
		for _, node := range n.m.g.AllNodes() {
			if s := node.Shape(); len(s) == 4 && s[1] == f && s[2] == oh && s[3] == ow && node.Value() != nil {
				if _, ok := node.Op().(biasAddOp); ok || strings.HasPrefix(node.Op().String(), "Conv2D{") {
					out, _ = float32s(node.Value())
				}
			}
		}
		if out == nil {
			t.Fatalf("%v k=%d same=%v: conv output not found", e, c.k, c.same)
		}
		for o := range f {
			for i := range oh {
				for j := range ow {
					var s float64
					for ci := range cin {
						for di := range c.k {
							for dj := range c.k {
								yi, xj := i+di-top, j+dj-top
								if yi < 0 || yi >= h || xj < 0 || xj >= w {
									continue
								}
								s += float64(x[(ci*h+yi)*w+xj]) * float64(wt[((o*cin+ci)*c.k+di)*c.k+dj])
							}
						}
					}
					if got := float64(out[(o*oh+i)*ow+j]); math.Abs(got-s) > 1e-4 {
						t.Fatalf("%v k=%d same=%v: out[%d,%d,%d] = %v, want %v", e, c.k, c.same, o, i, j, got, s)
					}
				}
			}
		}
	}
}
