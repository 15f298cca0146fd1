package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/trainer/ops"
)

// buildMu serialises graph construction: gorgonia numbers nodes with a global
// counter that is not safe for concurrent use.
var buildMu sync.Mutex

// Model is a Spec turned into a gorgonia graph with its weights, a training
// machine and an evaluation machine (forward only) over the same nodes, and an
// optimizer. A Model is not safe for concurrent use.
type Model struct {
	spec    experiments.Spec
	engine  Engine
	batch   int
	classes int
	size    int // values per input image

	g      *G.ExprGraph
	x      *G.Node
	xFlat  *G.Node   // the fast engine's flat view of x, when the model flattens it first
	labels []*G.Node // one per head, (batch) class indexes as float32
	logits []*G.Node // one per head, (batch, classes)
	losses []*G.Node // one per head, scalar mean cross-entropy
	cost   *G.Node

	// first and spare are the model's two input slots (see loader.go):
	// first made with the graph, spare when a pass of several batches first
	// needs it. in is the one bound to x, xFlat and labels.
	first, spare, in *inputSlot

	params   []*param
	dropouts []*dropoutMask // built-in engine only
	norms    []*batchNorm
	mode     *ops.Mode // the fast engine's training/evaluation switch

	trainVM G.VM
	evalVM  G.VM
	opt     *optimizer
	rng     *rand.Rand
	fit     *fitState // nil until Fit or LoadCheckpoint

	stepLoss []float64 // trainStep's per-head losses, reused
	wrong    []bool    // trainStep's per-image "some head was wrong", reused

	// sequential loads every batch on the caller's goroutine, as a check
	// that the pipeline changes nothing; onLoader, when set, gets the done
	// channel of each loader goroutine started. Both are for tests.
	sequential bool
	onLoader   func(done <-chan struct{})
}

// param is one trainable tensor of the model.
type param struct {
	name  string
	shape []int
	node  *G.Node
}

// data is the parameter's values; Float32s, unlike Data, boxes nothing, so
// the optimizer's step allocates nothing.
func (p *param) data() []float32 { return p.node.Value().(*tensor.Dense).Float32s() }

// Spec returns a copy of the spec the model was built from.
func (m *Model) Spec() experiments.Spec { return m.spec.Clone() }

// BatchSize is the number of images the model's graph takes at once.
func (m *Model) BatchSize() int { return m.batch }

// NumParams is the number of trainable float32 values in the graph.
func (m *Model) NumParams() int {
	n := 0
	for _, p := range m.params {
		n += len(p.data())
	}
	return n
}

// Engine reports which ops the model's graph is built from.
func (m *Model) Engine() Engine { return m.engine }

// Build turns spec into a model whose graph takes batch images at a time,
// with the default (fast) engine. It is the one place a Spec becomes a
// graph. Weights are Glorot-uniform and biases zero, as in Keras, drawn from
// spec.Seed.
func Build(spec experiments.Spec, batch int) (*Model, error) {
	return BuildWith(spec, batch, Options{})
}

// BuildWith is Build with options, e.g. Options{Engine: EngineBuiltin} to
// build the model from gorgonia's built-in ops for checking.
func BuildWith(spec experiments.Spec, batch int, opts Options) (m *Model, err error) {
	if opts.Engine != EngineFast && opts.Engine != EngineBuiltin {
		return nil, fmt.Errorf("nn: unknown engine %v", opts.Engine)
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if batch < 1 {
		return nil, fmt.Errorf("nn: batch size must be >= 1, got %d", batch)
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	defer func() {
		// gorgonia panics on some graph errors (NewTapeMachine on a failed
		// compile); turn those into errors rather than crash a worker.
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("nn: building the graph: %v", r)
		}
	}()

	c, h, w := spec.InputShape()
	m = &Model{
		spec:    spec.Clone(),
		engine:  opts.Engine,
		batch:   batch,
		classes: spec.Classes(),
		size:    c * h * w,
		g:       G.NewGraph(),
		rng:     rand.New(rand.NewPCG(uint64(spec.Seed), 0x64726f70)), // "drop"
		mode:    ops.NewMode(),
	}
	m.mode.Eval() // as the built-in engine: Fit switches to training
	m.in = &inputSlot{x: newDense(batch, c, h, w)}
	m.first = m.in
	m.x = G.NewTensor(m.g, tensor.Float32, 4, G.WithShape(batch, c, h, w), G.WithName("x"), G.WithValue(m.in.x))

	b := &builder{m: m, rng: rand.New(rand.NewPCG(uint64(spec.Seed), 0x696e6974)), counts: map[string]int{}} // "init"
	cur := m.x
	last := len(spec.Layers) - 1
	for i, l := range spec.Layers[:last] {
		lb, err := layerFor(l)
		if err != nil {
			return nil, fmt.Errorf("nn: layer %d: %w", i+1, err)
		}
		b.layers = i + 1
		if cur, err = lb.build(b, cur); err != nil {
			return nil, fmt.Errorf("nn: layer %d (%s): %w", i+1, l.Type, err)
		}
	}
	if cur.Dims() != 2 {
		return nil, errors.New("nn: the output layer needs flat input: add a flatten layer before it")
	}
	if err := m.buildHeads(b, cur, spec.Layers[last]); err != nil {
		return nil, err
	}

	var learn G.Nodes
	for _, p := range m.params {
		learn = append(learn, p.node)
	}
	if _, err := G.Grad(m.cost, learn...); err != nil {
		return nil, fmt.Errorf("nn: differentiating the graph: %w", err)
	}
	m.trainVM = G.NewTapeMachine(m.g, G.BindDualValues(learn...))
	if m.xFlat != nil {
		flat, ok := m.xFlat.Value().(*tensor.Dense)
		if !ok {
			return nil, fmt.Errorf("nn: the flat input holds %T", m.xFlat.Value())
		}
		m.in.xFlat = flat
	}

	inputs := G.Nodes{m.x}
	if m.xFlat != nil {
		inputs = G.Nodes{m.xFlat}
	}
	for _, d := range m.dropouts {
		inputs = append(inputs, d.node)
	}
	prog, locMap, err := G.CompileFunction(m.g, inputs, m.logits)
	if err != nil {
		return nil, fmt.Errorf("nn: compiling the evaluation graph: %w", err)
	}
	m.evalVM = G.NewTapeMachine(m.g, G.WithPrecompiled(prog, locMap))
	m.opt = newOptimizer(spec, m.params)
	return m, nil
}

// buildHeads adds the output layer once per head on the same trunk, each with
// its own labels and cross-entropy, and sums the losses into the cost.
func (m *Model) buildHeads(b *builder, trunk *G.Node, l experiments.Layer) error {
	name := b.name(experiments.LayerDense)
	heads := max(m.spec.Heads, 1)
	for h := range heads {
		n := name
		if heads > 1 {
			n = fmt.Sprintf("%s.head_%d", name, h+1)
		}
		logits, err := denseLayer{units: l.Units}.apply(b, trunk, n)
		if err != nil {
			return fmt.Errorf("nn: output layer: %w", err)
		}
		lt := newDense(m.batch)
		label := G.NewVector(m.g, tensor.Float32, G.WithShape(m.batch), G.WithName(fmt.Sprintf("labels_%d", h+1)), G.WithValue(lt))
		var loss *G.Node
		if b.fast() {
			loss, err = ops.SoftmaxCrossEntropy(logits, label)
		} else {
			loss, err = G.ApplyOp(xentOp{}, logits, label)
		}
		if err != nil {
			return fmt.Errorf("nn: loss: %w", err)
		}
		m.labels = append(m.labels, label)
		m.in.labels = append(m.in.labels, lt)
		m.logits = append(m.logits, logits)
		m.losses = append(m.losses, loss)
		if m.cost == nil {
			m.cost = loss
		} else if m.cost, err = G.Add(m.cost, loss); err != nil {
			return fmt.Errorf("nn: summing head losses: %w", err)
		}
	}
	return nil
}

// builder carries what layer builders share: the model under construction,
// the initialiser's random source and the Keras-style name counters.
type builder struct {
	m      *Model
	rng    *rand.Rand
	counts map[string]int
	layers int // layers built so far, to seed each fast dropout differently
}

// fast reports whether the model is built from trainer/ops.
func (b *builder) fast() bool { return b.m.engine == EngineFast }

var kerasStems = map[string]string{
	experiments.LayerDense:     "dense",
	experiments.LayerConv2D:    "conv2d",
	experiments.LayerBatchNorm: "batch_normalization",
}

// name returns the next Keras-style layer name for a layer type, e.g. "dense_2".
func (b *builder) name(layerType string) string {
	stem := kerasStems[layerType]
	b.counts[stem]++
	return fmt.Sprintf("%s_%d", stem, b.counts[stem])
}

// glorot adds a trainable tensor drawn from the Glorot-uniform distribution.
func (b *builder) glorot(name string, fanIn, fanOut int, shape ...int) *G.Node {
	t := newDense(shape...)
	limit := math.Sqrt(6 / float64(fanIn+fanOut))
	for i, d := 0, t.Data().([]float32); i < len(d); i++ {
		d[i] = float32((b.rng.Float64()*2 - 1) * limit)
	}
	return b.param(name, t)
}

// constant adds a trainable tensor filled with v.
func (b *builder) constant(name string, v float32, shape ...int) *G.Node {
	t := newDense(shape...)
	for i, d := 0, t.Data().([]float32); i < len(d); i++ {
		d[i] = v
	}
	return b.param(name, t)
}

func (b *builder) param(name string, t *tensor.Dense) *G.Node {
	shape := append([]int(nil), t.Shape()...)
	n := G.NewTensor(b.m.g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(t))
	b.m.params = append(b.m.params, &param{name: name, shape: shape, node: n})
	return n
}

// layerBuilder adds one layer to the graph and returns its output.
type layerBuilder interface {
	build(b *builder, in *G.Node) (*G.Node, error)
}

// layerFor returns the builder of one layer of a Spec.
func layerFor(l experiments.Layer) (layerBuilder, error) {
	switch l.Type {
	case experiments.LayerDense:
		return denseLayer{units: l.Units, relu: l.Activation == experiments.ActReLU}, nil
	case experiments.LayerConv2D:
		return convLayer{filters: l.Filters, kernel: l.Kernel, same: l.Padding == experiments.PadSame, relu: l.Activation == experiments.ActReLU}, nil
	case experiments.LayerMaxPool2D:
		return poolLayer{size: l.Pool}, nil
	case experiments.LayerDropout:
		return dropoutLayer{rate: l.Rate}, nil
	case experiments.LayerFlatten:
		return flattenLayer{}, nil
	case experiments.LayerBatchNorm:
		return batchNormLayer{}, nil
	}
	return nil, fmt.Errorf("unknown layer type %q", l.Type)
}

// denseLayer is x·W + b with W of shape (in, units), as in Keras, and an
// optional ReLU.
type denseLayer struct {
	units int
	relu  bool
}

func (l denseLayer) build(b *builder, in *G.Node) (*G.Node, error) {
	if in.Dims() != 2 {
		return nil, errors.New("dense needs flat input: add a flatten layer before it")
	}
	return l.apply(b, in, b.name(experiments.LayerDense))
}

func (l denseLayer) apply(b *builder, in *G.Node, name string) (*G.Node, error) {
	n := in.Shape()[1]
	w := b.glorot(name+".weight", n, l.units, n, l.units)
	bias := b.constant(name+".bias", 0, l.units)
	if b.fast() {
		return ops.DenseIn(in, w, bias, l.relu, b.m.mode)
	}
	out, err := G.Mul(in, w)
	if err != nil {
		return nil, err
	}
	if out, err = G.ApplyOp(biasAddOp{dims: 2}, out, bias); err != nil {
		return nil, err
	}
	if l.relu {
		return G.Rectify(out)
	}
	return out, nil
}

// convLayer is a stride-1 2-D convolution with weights of shape
// (filters, in channels, k, k), as in PyTorch, a bias and an optional ReLU.
// "same" padding matches Keras, also for even kernels (which pad one more at
// the bottom and right).
type convLayer struct {
	filters, kernel int
	same, relu      bool
}

func (l convLayer) build(b *builder, in *G.Node) (*G.Node, error) {
	if in.Dims() != 4 {
		return nil, errors.New("conv2d needs image input")
	}
	name := b.name(experiments.LayerConv2D)
	cin, h, w := in.Shape()[1], in.Shape()[2], in.Shape()[3]
	k := l.kernel
	wt := b.glorot(name+".weight", cin*k*k, l.filters*k*k, l.filters, cin, k, k)
	bias := b.constant(name+".bias", 0, l.filters)
	if b.fast() {
		pad := ops.Valid
		if l.same {
			pad = ops.Same
		}
		return ops.Conv2DIn(in, wt, bias, pad, l.relu, b.m.mode)
	}
	pad := 0
	if l.same {
		pad = k / 2
	}
	out, err := G.Conv2d(in, wt, tensor.Shape{k, k}, []int{pad, pad}, []int{1, 1}, []int{1, 1})
	if err != nil {
		return nil, err
	}
	if l.same && k%2 == 0 {
		// Symmetric padding of k/2 gives one row and column too many at the
		// top and left compared with Keras: drop them.
		if out, err = G.Slice(out, nil, nil, G.S(1, h+1), G.S(1, w+1)); err != nil {
			return nil, err
		}
	}
	if out, err = G.ApplyOp(biasAddOp{dims: 4}, out, bias); err != nil {
		return nil, err
	}
	if l.relu {
		return G.Rectify(out)
	}
	return out, nil
}

// poolLayer is max pooling with a square window and stride equal to the
// window, dropping leftover rows and columns (floor), as in Keras.
type poolLayer struct{ size int }

func (l poolLayer) build(b *builder, in *G.Node) (*G.Node, error) {
	if in.Dims() != 4 {
		return nil, errors.New("maxpool2d needs image input")
	}
	if l.size == 1 {
		return in, nil
	}
	if b.fast() {
		return ops.MaxPool2D(in, l.size)
	}
	return G.MaxPool2D(in, tensor.Shape{l.size, l.size}, []int{0, 0}, []int{l.size, l.size})
}

// flattenLayer reshapes (batch, c, h, w) to (batch, c*h*w), channel-major.
type flattenLayer struct{}

func (flattenLayer) build(b *builder, in *G.Node) (*G.Node, error) {
	if in.Dims() == 2 {
		return in, nil
	}
	s := in.Shape()
	if b.fast() {
		if in == b.m.x {
			// The image batch itself: a second input node viewing the same
			// values as (batch, c*h*w) costs nothing per step and keeps the
			// next layer from computing a gradient for the images.
			t := tensor.New(tensor.WithShape(s[0], s.TotalSize()/s[0]), tensor.WithBacking(b.m.in.x.Float32s()))
			b.m.xFlat = G.NewMatrix(b.m.g, tensor.Float32, G.WithShape(t.Shape()...), G.WithName("x_flat"), G.WithValue(t))
			return b.m.xFlat, nil
		}
		return G.ApplyOp(newFlattenOp(s, false), in)
	}
	return G.Reshape(in, tensor.Shape{s[0], s.TotalSize() / s[0]})
}

// dropoutLayer is inverted dropout: the input is multiplied by a mask input
// that holds Bernoulli(1-rate)/(1-rate) values while training and ones while
// evaluating, so switching modes needs no new graph and the gradient is the
// mask itself.
type dropoutLayer struct{ rate float64 }

// dropoutMask is a dropout layer's mask input.
type dropoutMask struct {
	rate float64
	node *G.Node
	t    *tensor.Dense
}

func (l dropoutLayer) build(b *builder, in *G.Node) (*G.Node, error) {
	if l.rate <= 0 {
		return in, nil
	}
	if b.fast() {
		// Each dropout layer gets its own stream, fixed by the seed and the
		// layer's position.
		seed := uint64(b.m.spec.Seed)*0x9e3779b97f4a7c15 + uint64(b.layers)
		return ops.Dropout(in, l.rate, b.m.mode, seed)
	}
	shape := append([]int(nil), in.Shape()...)
	t := newDense(shape...)
	fill(t.Data().([]float32), 1)
	mask := G.NewTensor(b.m.g, tensor.Float32, len(shape), G.WithShape(shape...),
		G.WithName(fmt.Sprintf("dropout_mask_%d", len(b.m.dropouts)+1)), G.WithValue(t))
	b.m.dropouts = append(b.m.dropouts, &dropoutMask{rate: l.rate, node: mask, t: t})
	return G.HadamardProd(in, mask)
}

// sample fills the mask for a training step.
func (d *dropoutMask) sample(rng *rand.Rand) {
	keep := 1 - d.rate
	scale := float32(1 / keep)
	for i, m := 0, d.t.Data().([]float32); i < len(m); i++ {
		if rng.Float64() < keep {
			m[i] = scale
		} else {
			m[i] = 0
		}
	}
}

// ones fills the mask for evaluation.
func (d *dropoutMask) ones() { fill(d.t.Data().([]float32), 1) }

func fill(s []float32, v float32) {
	for i := range s {
		s[i] = v
	}
}
