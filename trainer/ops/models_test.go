package ops

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// layerKind names a layer of a benchmark model.
type layerKind int

const (
	convSame layerKind = iota
	convValid
	pool
	dropout
	batchNorm
	fullyConnected
	fullyConnectedReLU
)

// layer is one layer of a benchmark model: a kind with its size (filters,
// units, pool size), kernel size or dropout rate.
type layer struct {
	kind   layerKind
	size   int
	kernel int
	rate   float64
}

// modelDef is one of the seed report's models.
type modelDef struct {
	c, h, w      int // input
	classes      int // per head
	heads        int
	defaultBatch int
	layers       []layer
}

func conv(kind layerKind, filters, k int) layer { return layer{kind: kind, size: filters, kernel: k} }

// modelDefFor returns one of the six models of the seed report, as the
// benchmark builds them. The final dense layer of each head is added by
// buildModel.
func modelDefFor(name string) (modelDef, bool) {
	defs := map[string]modelDef{
		"nn1": {c: 1, h: 28, w: 28, classes: 10, heads: 1, defaultBatch: 256, layers: []layer{{kind: fullyConnectedReLU, size: 256}}},
		"nn2": {c: 1, h: 28, w: 28, classes: 10, heads: 1, defaultBatch: 256, layers: []layer{{kind: fullyConnectedReLU, size: 512}}},
		"cnn1": {c: 1, h: 28, w: 28, classes: 10, heads: 1, defaultBatch: 256, layers: []layer{
			conv(convSame, 8, 5), {kind: pool, size: 2}, conv(convValid, 16, 3), {kind: dropout, rate: 0.25}, {kind: fullyConnectedReLU, size: 128},
		}},
		"cnn2": {c: 1, h: 28, w: 28, classes: 10, heads: 1, defaultBatch: 256, layers: []layer{
			conv(convSame, 16, 5), {kind: pool, size: 2}, conv(convSame, 36, 5), {kind: pool, size: 2}, {kind: dropout, rate: 0.25},
			{kind: fullyConnectedReLU, size: 128}, {kind: dropout, rate: 0.5},
		}},
		"captcha1": {c: 3, h: 50, w: 130, classes: 19, heads: 4, defaultBatch: 128, layers: []layer{
			conv(convSame, 32, 5), conv(convValid, 32, 3), {kind: pool, size: 2},
			conv(convSame, 64, 5), conv(convValid, 64, 3), {kind: batchNorm}, {kind: pool, size: 2},
			conv(convSame, 128, 3), conv(convValid, 128, 3), {kind: pool, size: 2},
			{kind: dropout, rate: 0.5},
		}},
		"captcha2": {c: 1, h: 50, w: 130, classes: 19, heads: 4, defaultBatch: 128, layers: []layer{
			conv(convSame, 32, 5), conv(convValid, 32, 3), {kind: pool, size: 2},
			conv(convSame, 64, 5), conv(convValid, 64, 3), {kind: pool, size: 2}, {kind: dropout, rate: 0.5},
			conv(convSame, 128, 3), conv(convValid, 128, 3), {kind: pool, size: 2},
			conv(convSame, 128, 3), conv(convValid, 256, 3), {kind: batchNorm}, {kind: pool, size: 2},
			{kind: dropout, rate: 0.5},
		}},
	}
	d, ok := defs[name]
	return d, ok
}

// ModelNames lists the test models, in the seed report's order.
func ModelNames() []string { return []string{"nn1", "nn2", "cnn1", "cnn2", "captcha1", "captcha2"} }

// model is a built benchmark model.
type model struct {
	def        modelDef
	g          *gorgonia.ExprGraph
	x          *tensor.Dense   // input batch, filled in place
	labels     []*tensor.Dense // one per head, filled in place
	logits     []*gorgonia.Node
	probs      []*gorgonia.Node // inference only
	cost       *gorgonia.Node   // training only
	learnables gorgonia.Nodes
	mode       *Mode
	params     int
}

// glorot returns a Glorot-uniform initialised float32 tensor.
func glorot(r *rand.Rand, fanIn, fanOut int, shape ...int) *tensor.Dense {
	lim := math.Sqrt(6 / float64(fanIn+fanOut))
	d := make([]float32, prod(shape))
	for i := range d {
		d[i] = float32((2*r.Float64() - 1) * lim)
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
}

// buildModel builds the named model for the given batch: with train, the
// summed softmax cross-entropy of its heads and its gradients; without, a
// softmax per head. Callers must hold no other gorgonia graph construction
// at the same time (see buildLock in the caller).
func buildModel(name string, batch int, train bool, seed uint64) (*model, error) {
	def, ok := modelDefFor(name)
	if !ok {
		return nil, fmt.Errorf("ops: unknown model %q (want one of %v)", name, ModelNames())
	}
	r := rand.New(rand.NewPCG(seed, 1))
	m := &model{def: def, g: gorgonia.NewGraph(), mode: NewMode()}
	if !train {
		m.mode.Eval()
	}
	m.x = tensor.New(tensor.WithShape(batch, def.c, def.h, def.w), tensor.Of(tensor.Float32))
	x := gorgonia.NodeFromAny(m.g, m.x, gorgonia.WithName("x"))
	param := func(name string, t *tensor.Dense) *gorgonia.Node {
		n := gorgonia.NodeFromAny(m.g, t, gorgonia.WithName(name))
		m.learnables = append(m.learnables, n)
		m.params += t.Size()
		return n
	}
	zeros := func(n int) *tensor.Dense { return tensor.New(tensor.WithShape(n), tensor.Of(tensor.Float32)) }
	ones := func(n int) *tensor.Dense {
		t := zeros(n)
		for i := range t.Float32s() {
			t.Float32s()[i] = 1
		}
		return t
	}
	var err error
	for i, l := range def.layers {
		s := shapeOf(x)
		switch l.kind {
		case convSame, convValid:
			pad := Same
			if l.kind == convValid {
				pad = Valid
			}
			fanIn, fanOut := s[1]*l.kernel*l.kernel, l.size*l.kernel*l.kernel
			w := param(fmt.Sprintf("conv%d_w", i), glorot(r, fanIn, fanOut, l.size, s[1], l.kernel, l.kernel))
			b := param(fmt.Sprintf("conv%d_b", i), zeros(l.size))
			x, err = Conv2D(x, w, b, pad, true)
		case pool:
			x, err = MaxPool2D(x, l.size)
		case dropout:
			x, err = Dropout(x, l.rate, m.mode, seed+uint64(i))
		case batchNorm:
			gamma := param(fmt.Sprintf("bn%d_gamma", i), ones(s[1]))
			beta := param(fmt.Sprintf("bn%d_beta", i), zeros(s[1]))
			x, err = BatchNorm(x, gamma, beta, NewBNState(s[1]), m.mode)
			m.params += 2 * s[1] // running mean and variance, as Keras counts them
		case fullyConnected, fullyConnectedReLU:
			in := prod(s[1:])
			w := param(fmt.Sprintf("dense%d_w", i), glorot(r, in, l.size, in, l.size))
			b := param(fmt.Sprintf("dense%d_b", i), zeros(l.size))
			x, err = Dense(x, w, b, l.kind == fullyConnectedReLU)
		}
		if err != nil {
			return nil, fmt.Errorf("ops: model %s layer %d: %w", name, i, err)
		}
	}
	in := prod(shapeOf(x)[1:])
	var losses []*gorgonia.Node
	for h := 0; h < def.heads; h++ {
		w := param(fmt.Sprintf("head%d_w", h), glorot(r, in, def.classes, in, def.classes))
		b := param(fmt.Sprintf("head%d_b", h), zeros(def.classes))
		z, err := Dense(x, w, b, false)
		if err != nil {
			return nil, err
		}
		m.logits = append(m.logits, z)
		if !train {
			p, err := Softmax(z)
			if err != nil {
				return nil, err
			}
			m.probs = append(m.probs, p)
			continue
		}
		lt := tensor.New(tensor.WithShape(batch), tensor.Of(tensor.Int32))
		m.labels = append(m.labels, lt)
		ln := gorgonia.NodeFromAny(m.g, lt, gorgonia.WithName(fmt.Sprintf("labels%d", h)))
		loss, err := SoftmaxCrossEntropy(z, ln)
		if err != nil {
			return nil, err
		}
		losses = append(losses, loss)
	}
	if !train {
		return m, nil
	}
	m.cost = losses[0]
	for _, l := range losses[1:] {
		if m.cost, err = gorgonia.Add(m.cost, l); err != nil {
			return nil, err
		}
	}
	if _, err = gorgonia.Grad(m.cost, m.learnables...); err != nil {
		return nil, fmt.Errorf("ops: model %s gradients: %w", name, err)
	}
	return m, nil
}

// fillRandom fills the model's inputs and labels with synthetic data.
func (m *model) fillRandom(r *rand.Rand) {
	xs := m.x.Float32s()
	for i := range xs {
		xs[i] = float32(r.Float64())
	}
	for _, l := range m.labels {
		for i := range l.Int32s() {
			l.Int32s()[i] = int32(r.IntN(m.def.classes))
		}
	}
}
