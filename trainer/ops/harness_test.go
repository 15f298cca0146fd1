package ops

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// buildMu serialises graph construction: gorgonia's node counter is global.
var buildMu sync.Mutex

// param is an input of a test graph with its values.
type param struct {
	shape []int
	data  []float32
}

func newParam(r *rand.Rand, scale float32, shape ...int) *param {
	d := make([]float32, prod(shape))
	for i := range d {
		d[i] = scale * float32(r.NormFloat64())
	}
	return &param{shape: shape, data: d}
}

// testGraph is a built graph: inputs, output, the cost sum(out*weights) and
// the gradients of the cost with respect to the inputs.
type testGraph struct {
	g      *gorgonia.ExprGraph
	nodes  []*gorgonia.Node
	tens   []*tensor.Dense
	out    *gorgonia.Node
	cost   *gorgonia.Node
	grads  gorgonia.Nodes
	vm     gorgonia.VM
	outVal *gorgonia.Node
}

// buildTest builds out = f(inputs...), cost = sum(out .* rw) with a fixed
// random rw, and gradients of cost for the inputs whose wrt flag is set.
func buildTest(t testing.TB, r *rand.Rand, params []*param, wrt []bool, f func(in []*gorgonia.Node) (*gorgonia.Node, error)) *testGraph {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	tg := &testGraph{g: gorgonia.NewGraph()}
	for i, p := range params {
		tt := tensor.New(tensor.WithShape(p.shape...), tensor.WithBacking(p.data))
		n := gorgonia.NodeFromAny(tg.g, tt, gorgonia.WithName(string(rune('a'+i))))
		tg.nodes = append(tg.nodes, n)
		tg.tens = append(tg.tens, tt)
	}
	out, err := f(tg.nodes)
	if err != nil {
		t.Fatal(err)
	}
	tg.out = out
	var rw *gorgonia.Node
	if out.IsScalar() {
		tg.cost = out
	} else {
		rwT := newParam(rand.New(rand.NewPCG(11, 13)), 1, []int(out.Shape())...)
		rw = gorgonia.NodeFromAny(tg.g, tensor.New(tensor.WithShape(rwT.shape...), tensor.WithBacking(rwT.data)), gorgonia.WithName("rw"))
		prodN, err := gorgonia.HadamardProd(out, rw)
		if err != nil {
			t.Fatal(err)
		}
		if tg.cost, err = gorgonia.Sum(prodN); err != nil {
			t.Fatal(err)
		}
	}
	var ws gorgonia.Nodes
	for i, w := range wrt {
		if w {
			ws = append(ws, tg.nodes[i])
		}
	}
	if len(ws) > 0 {
		if tg.grads, err = gorgonia.Grad(tg.cost, ws...); err != nil {
			t.Fatal(err)
		}
	}
	tg.vm = gorgonia.NewTapeMachine(tg.g)
	return tg
}

// run executes the graph and returns the cost, a copy of the output and
// copies of the gradients.
func (tg *testGraph) run(t testing.TB) (float64, []float32, [][]float32) {
	t.Helper()
	tg.vm.Reset()
	if err := tg.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	cost := scalarOf(t, tg.cost.Value())
	out := copyData(t, tg.out.Value())
	var grads [][]float32
	for _, g := range tg.grads {
		grads = append(grads, copyData(t, g.Value()))
	}
	return cost, out, grads
}

func scalarOf(t testing.TB, v gorgonia.Value) float64 {
	switch s := v.(type) {
	case *gorgonia.F32:
		return float64(*s)
	case *tensor.Dense:
		return float64(s.Float32s()[0])
	}
	t.Fatalf("not a scalar: %T", v)
	return 0
}

func copyData(t testing.TB, v gorgonia.Value) []float32 {
	switch s := v.(type) {
	case *gorgonia.F32:
		return []float32{float32(*s)}
	case *tensor.Dense:
		return append([]float32(nil), s.Float32s()...)
	}
	t.Fatalf("unexpected value %T", v)
	return nil
}

// assertClose fails when got and want differ by more than tol relative to
// the largest magnitude in want.
func assertClose(t testing.TB, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: length %d, want %d", what, len(got), len(want))
	}
	scale := 1e-3
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*scale || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s: element %d: got %v, want %v (scale %v)", what, i, got[i], want[i], scale)
		}
	}
}

// checkFiniteDiff compares the analytic gradients of tg with central finite
// differences of the cost on up to samples elements of each input.
func checkFiniteDiff(t *testing.T, tg *testGraph, params []*param, wrt []bool, samples int, tol float64) {
	t.Helper()
	_, _, grads := tg.run(t)
	gi := 0
	r := rand.New(rand.NewPCG(7, 7))
	for pi, p := range params {
		if !wrt[pi] {
			continue
		}
		g := grads[gi]
		gi++
		num := make([]float32, 0, samples)
		ana := make([]float32, 0, samples)
		skipped := 0
		for s := 0; s < samples; s++ {
			i := r.IntN(len(p.data))
			d1 := tg.centralDiff(t, p, i, 1e-2)
			d2 := tg.centralDiff(t, p, i, 4e-3)
			// Two step sizes that disagree mean a kink (ReLU, max) lies
			// within reach: the difference quotient is meaningless there.
			if math.Abs(d1-d2) > tol*(1+math.Abs(d1)) {
				skipped++
				continue
			}
			num = append(num, float32(d1))
			ana = append(ana, g[i])
		}
		if skipped > samples/2 {
			t.Fatalf("input %d: %d of %d finite-difference samples hit kinks", pi, skipped, samples)
		}
		assertClose(t, "finite differences of input "+string(rune('a'+pi)), ana, num, tol)
	}
}

// centralDiff returns the central difference quotient of the cost with
// respect to element i of p.
func (tg *testGraph) centralDiff(t *testing.T, p *param, i int, eps float32) float64 {
	old := p.data[i]
	p.data[i] = old + eps
	cp, _, _ := tg.run(t)
	p.data[i] = old - eps
	cm, _, _ := tg.run(t)
	p.data[i] = old
	return (cp - cm) / float64(2*eps)
}
