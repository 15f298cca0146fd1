package experiments

import (
	"fmt"
	"math"
)

// Machine is what a cost estimate needs to know about where a run trains.
// The trainer measures it once at start and hands it over; experiments
// itself measures nothing.
type Machine struct {
	// Workers is how many goroutines the training ops split a batch across
	// (GOMAXPROCS); each keeps its own scratch buffers. Below 1 counts as 1.
	Workers int
	// GFLOPS is the training throughput measured on this machine, in
	// billions of floating-point operations a second as FLOPsPerImage counts
	// them. 0 means not measured: the estimate then has no time per epoch.
	GFLOPS float64
	// DatasetImages is the number of images of an imported CAPTCHA dataset
	// (Source.Kind "dataset"); 0 when unknown.
	DatasetImages int
}

// Estimate is what training a Spec costs: its parameters, the memory a run
// holds at its peak and the arithmetic per image, as trainer/nn and
// trainer/ops really allocate and compute them (fast engine). Byte counts
// are in bytes; every field is always present in JSON.
type Estimate struct {
	// Params counts every value of the model's weights (batch-norm moving
	// statistics included); Trainable only those the optimizer updates.
	Params    int64 `json:"params"`
	Trainable int64 `json:"trainable_params"`
	// WeightBytes holds the weights; OptimizerBytes Adam's two moments (none
	// for SGD); GradientBytes the gradient of every trainable value, twice
	// (the op's output and gorgonia's accumulator).
	WeightBytes    int64 `json:"weight_bytes"`
	OptimizerBytes int64 `json:"optimizer_bytes"`
	GradientBytes  int64 `json:"gradient_bytes"`
	// ActivationBytes is every layer's output and input gradient at the
	// batch size, with the masks and indexes the backward pass keeps.
	ActivationBytes int64 `json:"activation_bytes"`
	// WorkspaceBytes is the ops' scratch: packed matrices, padded images
	// and per-worker partial gradients.
	WorkspaceBytes int64 `json:"workspace_bytes"`
	// CheckpointBytes is the copies of the weights a run holds besides:
	// the best weights early stopping may restore, and a checkpoint read
	// back and decoded when the run resumes.
	CheckpointBytes int64 `json:"checkpoint_bytes"`
	// DatasetBytes is the images the run holds in memory after
	// preprocessing: the cached source and the run's training and
	// validation copies.
	DatasetBytes int64 `json:"dataset_bytes"`
	// MemoryBytes is the most the run holds at once, loading included:
	// what admission compares with the budget.
	MemoryBytes int64 `json:"memory_bytes"`
	// FLOPsPerImage is one forward pass over one image; TrainFLOPsPerImage
	// adds the backward pass and the optimizer's share of a step.
	FLOPsPerImage      float64 `json:"flops_per_image"`
	TrainFLOPsPerImage float64 `json:"train_flops_per_image"`
	// TrainImages and ValImages are the images one epoch trains and
	// validates on.
	TrainImages int `json:"train_images"`
	ValImages   int `json:"val_images"`
	// EpochSeconds is the estimated time of one epoch on this machine, from
	// the measured throughput; 0 when the throughput is unknown.
	EpochSeconds float64 `json:"epoch_seconds"`
	// MemoryField names the spec field that drives MemoryBytes: the one to
	// change to need less ("batch_size", "layers[2].units", "source.images").
	MemoryField string `json:"memory_field"`
	// ParamsField names the field of the layer holding the most parameters.
	ParamsField string `json:"params_field"`
}

// Fixed costs of a run that do not depend on its model: the process's share
// for the graph, the tape machines and the runtime's own bookkeeping.
const runBaseBytes = 24 << 20

// MNIST's size as trainer/dataset holds it.
const (
	mnistTrain = 60000
	mnistTest  = 10000
)

// CAPTCHA sources are decoded one image per worker straight into the
// preprocessed set: a synthetic image is drawn at 140x48 grey, an imported
// one is at most 1024x1024 RGBA while it is decoded.
const (
	defaultSynthetic   = 2000
	syntheticRawBytes  = 140 * 48 * 2
	importedRawBytes   = 1024 * 1024 * 4
	captchaTestShare   = 0.2
	captchaLabelsBytes = 4 * 4
)

// Tile sizes of trainer/ops' matrix kernels: rows per micro-tile and the
// width of a packed panel.
const (
	opsTileM  = 6
	opsPanelW = 64
)

// Estimate returns what training s costs on machine m. It never fails: an
// invalid layer is counted with the shape Shapes gives it, so callers should
// Validate first and read the estimate of a valid spec.
func (s Spec) Estimate(m Machine) Estimate {
	w := int64(max(m.Workers, 1))
	n := int64(max(s.BatchSize, 1))
	shapes, _ := s.Shapes()
	heads := int64(max(s.Heads, 1))
	c, h, wd := s.InputShape()
	cur := Shape{C: c, H: h, W: wd}
	var e Estimate
	var act, work, fwd, bwd float64 // floats and FLOPs, as float64: hostile specs overflow int64
	var biggest int64 = -1
	var largest float64 // the largest activation tensor, in floats
	leaf := true        // the current node is the input batch (no gradient flows into it)
	upstream := false   // some layer before holds trainable values
	// The input batch and its labels, twice: trainer/nn's loader gathers
	// the next batch into a second slot while the current one trains.
	act += 2 * float64(n) * float64(cur.Size())
	act += 2 * float64(n) * float64(heads)
	for i, l := range s.Layers {
		if i >= len(shapes) {
			break
		}
		out := shapes[i].Out
		p := int64(shapes[i].Params)
		e.Params += p
		e.Trainable += int64(shapes[i].Trainable)
		if p > biggest {
			biggest = p
			e.ParamsField = paramsField(i, l)
		}
		in := float64(cur.Size())
		o := float64(out.Size())
		nf := float64(n)
		largest = max(largest, nf*o)
		last := i == len(s.Layers)-1
		switch l.Type {
		case LayerConv2D:
			if cur.Flat || out.Flat || out.H < 1 || out.W < 1 || l.Kernel < 1 {
				break
			}
			k := l.Kernel
			ckk := float64(cur.C * k * k)
			fl := 2 * ckk * float64(out.C) * float64(out.H*out.W)
			fwd += fl
			bwd += fl // weights
			act += nf * o
			f := gridGeom(k, out.C, out.H, out.W)
			o16 := float64((out.C + 15) / 16 * 16)
			offsW := math.Ceil((ckk+1)/opsTileM) * opsTileM // the im2col rows and the bias gradient's row of ones
			npanO := math.Ceil(o16 / opsPanelW)
			per := f.group*float64(cur.C+1)*f.plane + float64(out.C)*f.ldw + ckk*opsPanelW + // forward: padded inputs (and a plane of ones), output, a panel
				offsW*o16 + float64(out.C) + npanO*f.ngrid*opsPanelW // weight gradient: partial dW^T, db, packed dy^T
			if !leaf {
				bwd += fl
				if i > 0 && s.Layers[i-1].Type == LayerConv2D {
					// dx is written over the previous convolution's
					// output, whose ReLU mask is kept at a bit a value.
					act += nf * in / 32
				} else {
					act += nf * in // dx
				}
				act += float64(cur.C*out.C) * float64(k*k) // flipped filters
				b := gridGeom(k, cur.C, cur.H, cur.W)      // dy convolved with the flipped filters
				per += b.group*float64(out.C+1)*b.plane + float64(cur.C)*b.ldw + float64(out.C*k*k)*opsPanelW
			}
			direct := float64(w) * per
			if least := winoMinChannels(k); least > 0 && cur.C >= least && out.C >= least {
				// On AVX-512 such a layer may run with Winograd instead:
				// count whichever of the two needs more.
				wino := winoFloats(nf, float64(w), k, cur.C, out.C, out.H, out.W, true)
				if !leaf {
					wino += winoFloats(nf, float64(w), k, out.C, cur.C, cur.H, cur.W, false)
				}
				direct = max(direct, wino)
			}
			work += direct
		case LayerDense:
			if !cur.Flat {
				break
			}
			units := float64(l.Units)
			hs := 1.0
			if last {
				hs = float64(heads)
			}
			fl := 2 * in * units * hs
			fwd += fl
			bwd += fl
			relu := l.Activation == ActReLU && !last
			act += hs * nf * units                               // output
			work += hs * (packed(in, units) + packed(nf, units)) // forward and dW packs
			if relu {
				act += nf * units // the dW op's ReLU mask
			}
			if !leaf {
				bwd += fl
				act += hs * nf * in // dx per head
				work += hs * packed(units, in)
				if relu {
					act += nf * units // the dx op's ReLU mask
				}
				if last && heads > 1 {
					act += (hs - 1) * nf * in // gorgonia sums the heads' dx into new tensors
				}
			}
			if last {
				// Softmax cross-entropy: probabilities, labels, gradient.
				act += hs * (2*nf*units + nf)
				fwd += hs * 5 * units
			}
		case LayerMaxPool2D:
			if cur.Flat || l.Pool <= 1 {
				break
			}
			act += 2 * nf * o // output and argmax indexes
			fwd += in
			if upstream && (i == 0 || s.Layers[i-1].Type != LayerConv2D) {
				// The input gradient; after a convolution it is written
				// over the convolution's output instead.
				act += nf * in
			}
		case LayerDropout:
			if l.Rate <= 0 {
				break
			}
			act += 2 * nf * o // output and scales
			fwd += in
			if upstream {
				act += nf * in
			}
		case LayerFlatten:
			if leaf || cur.Flat {
				break // a view of the input batch, or nothing to do
			}
			act += nf * o
			if upstream {
				act += nf * in
			}
		case LayerBatchNorm:
			act += 2 * nf * o // output and input gradient
			fwd += 8 * in
			bwd += 8 * in
		}
		switch {
		case l.Type == LayerConv2D, l.Type == LayerDense, l.Type == LayerBatchNorm:
			upstream, leaf = true, false
		case l.Type == LayerMaxPool2D && l.Pool > 1, l.Type == LayerDropout && l.Rate > 0:
			leaf = false
			// A flatten of the input batch is a view that is still an input.
		}
		cur = out
	}
	e.WeightBytes = 4 * e.Params
	e.GradientBytes = 2 * 4 * e.Trainable
	if s.Optimizer != OptSGD {
		e.OptimizerBytes = 2 * 4 * e.Trainable
	}
	// A checkpoint holds the weights, Adam's moments and early stopping's
	// best weights; resuming reads the file and decodes it (two copies).
	inFile := 1.0
	if s.Optimizer != OptSGD {
		inFile += 2
	}
	best := 0.0
	if s.EarlyStopping != nil && s.EarlyStopping.RestoreBest {
		best = 1
	}
	e.CheckpointBytes = clampBytes((best + 2*(inFile+best)) * float64(e.WeightBytes))
	e.ActivationBytes = clampBytes(4 * act)
	// Headroom of one more largest activation: a collection that runs
	// while a step replaces a buffer counts the old and the new one, and a
	// run's memory must cover the heap the runtime really holds then.
	work += largest
	e.WorkspaceBytes = clampBytes(4 * work)
	held, load := s.datasetBytes(m, w)
	e.DatasetBytes = held
	e.TrainImages, e.ValImages = s.epochImages(m)
	model := float64(e.WeightBytes) + float64(e.GradientBytes) + float64(e.OptimizerBytes) +
		float64(e.ActivationBytes) + float64(e.WorkspaceBytes) + float64(e.CheckpointBytes)
	e.MemoryBytes = clampBytes(runBaseBytes + max(float64(held)+model, float64(load)))

	e.FLOPsPerImage = finite(fwd)
	e.TrainFLOPsPerImage = finite(fwd + bwd + 10*float64(e.Trainable)/float64(n))
	if m.GFLOPS > 0 && !math.IsInf(m.GFLOPS, 0) {
		batches := math.Ceil(float64(e.TrainImages) / float64(n))
		flops := batches*float64(n)*e.TrainFLOPsPerImage + float64(e.ValImages)*e.FLOPsPerImage
		e.EpochSeconds = finite(flops / (m.GFLOPS * 1e9))
	}
	e.MemoryField = s.memoryField(e, held, model)
	return e
}

// gridDims is the geometry trainer/ops gives one stride-1 convolution of
// o filters (its gridConv): the floats of a padded channel, of an output
// channel, the grid's positions, and the samples its scratch holds at once.
// An output at most 16 wide whose grid would compute more columns is
// computed in rows of 16, group samples at a time (on AVX-512; counted
// wherever, being the larger).
type gridDims struct{ plane, ldw, ngrid, group float64 }

func gridGeom(k, o, ho, wo int) gridDims {
	hp, wp := ho+k-1, wo+k-1
	ngrid := ho * wp
	ldw := (ngrid + opsPanelW - 1) / opsPanelW * opsPanelW
	plane := max(hp*wp, (k-1)*wp+k-1+ldw)
	group := 1
	if o >= opsTileM && wo <= 16 && 16*ho < ldw {
		for group*ho%4 != 0 {
			group++
		}
		ldw = group * ho * 16
		plane = max(plane, (hp-1)*wp+k-1+16)
	}
	return gridDims{plane: float64(plane), ldw: float64(ldw), ngrid: float64(ngrid), group: float64(group)}
}

// winoMinChannels is, by filter size, the fewest input and output channels
// trainer/ops runs a convolution with Winograd's F(2x2, 3x3) or F(2x2, 5x5)
// for (its winoMinChannels and winoMinChannels5), or 0 for sizes it never
// runs with Winograd.
func winoMinChannels(k int) int {
	switch k {
	case 3:
		return 16
	case 5:
		return 32
	}
	return 0
}

// winoFloats is what trainer/ops' Winograd F(2x2, k x k) convolution of n
// samples from c to o channels with an ho x wo output holds, in floats: the
// transformed filters and a copy of the filters they came from, its tile
// segments, and each of w workers' padded sample, transformed input and
// products, plus, for the forward one, the buffers of the weight gradient.
func winoFloats(n, w float64, k, c, o, ho, wo int, gradW bool) float64 {
	a := k + 1
	xi := a * a // positions of the transformed tile
	th, tw := (ho+1)/2, (wo+1)/2
	plane := float64((2*th + k - 1) * (2*tw + k - 1))
	cpad := float64((c + opsTileM - 1) / opsTileM * opsTileM)
	o16 := float64((o + 15) / 16 * 16)
	tb := float64(max(opsPanelW, min(4*opsPanelW, (1<<16)/(xi*(c+o))/opsPanelW*opsPanelW)))
	tbs := tb + 16
	segs := n * float64(th) * math.Ceil(float64(tw)/16) * 10 // five ints each
	x := float64(xi)
	per := float64(c)*plane + float64(32+a-2) + x*cpad*tbs + x*(float64(o)*tbs+16)
	if gradW {
		per += 4*float64(th*tw)*o16 + x*(tb*o16+16) + x*cpad*o16
	}
	return float64((xi+k*k)*c*o) + segs + w*per // transformed filters and the k*k floats they came from
}

// packed is the size of a k x n matrix packed in 64-column panels.
func packed(k, n float64) float64 { return math.Ceil(n/opsPanelW) * opsPanelW * k }

// finite keeps a count JSON can carry: hostile specs may overflow float64.
func finite(v float64) float64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return min(v, math.MaxFloat64)
}

func clampBytes(v float64) int64 {
	switch {
	case math.IsNaN(v) || v < 0:
		return 0
	case v >= math.MaxInt64/2:
		return math.MaxInt64 / 2
	}
	return int64(math.Ceil(v))
}

// paramsField is the field that sizes layer i's parameters.
func paramsField(i int, l Layer) string {
	switch l.Type {
	case LayerDense:
		return fmt.Sprintf("layers[%d].units", i)
	case LayerConv2D:
		return fmt.Sprintf("layers[%d].filters", i)
	}
	return fmt.Sprintf("layers[%d]", i)
}

// sourceImages is the number of images of the spec's dataset source.
func (s Spec) sourceImages(m Machine) int {
	switch s.Dataset {
	case DatasetMNIST:
		return mnistTrain + mnistTest
	case DatasetCaptcha:
		if s.Source != nil && s.Source.Kind == SourceDataset {
			return m.DatasetImages
		}
		if s.Source != nil && s.Source.Images > 0 {
			return s.Source.Images
		}
		return defaultSynthetic
	}
	return 0
}

// epochImages are the images one epoch trains and validates on, as
// trainer/dataset.Split draws them.
func (s Spec) epochImages(m Machine) (train, val int) {
	pool := s.sourceImages(m)
	if s.Dataset == DatasetMNIST {
		pool = mnistTrain
	} else if pool >= 2 {
		pool -= max(int(captchaTestShare*float64(pool)+0.5), 1)
	}
	tf := min(max(s.TrainFraction, 0), 1)
	vf := min(max(s.ValFraction, 0), 1)
	train = min(int(tf*float64(pool)), pool)
	val = min(int(vf*float64(pool)), pool-train)
	if s.TrainLimit > 0 && train > s.TrainLimit {
		train = s.TrainLimit
	}
	return train, val
}

// datasetBytes is what the run's images take in memory while it trains
// (held) and at the peak of loading them (load).
func (s Spec) datasetBytes(m Machine, workers int64) (held, load int64) {
	c, h, w := s.InputShape()
	img := float64(4 * c * h * w)
	train, val := s.epochImages(m)
	copies := float64(train+val) * (img + float64(4*max(s.Heads, 1)))
	all := float64(s.sourceImages(m))
	switch s.Dataset {
	case DatasetMNIST:
		// The decoded source stays cached; the raw files are read first.
		src := all * (img + 4)
		return clampBytes(src + copies), clampBytes(src + all*float64(h*w+1))
	case DatasetCaptcha:
		raw := float64(syntheticRawBytes)
		if s.Source != nil && s.Source.Kind == SourceDataset {
			raw = importedRawBytes
		}
		set := all * (img + captchaLabelsBytes)
		// Loading holds the preprocessed set, an image being decoded per
		// worker, and the split into cached rest and test copies;
		// training holds the cached copies and the run's own training and
		// validation copies.
		return clampBytes(set + copies), clampBytes(float64(workers)*raw + 2*set)
	}
	return 0, 0
}

// memoryField names what to change to need less memory: the batch size when
// the per-batch buffers dominate, the biggest layer when its weights do, the
// source when the images do.
func (s Spec) memoryField(e Estimate, data int64, model float64) string {
	perBatch := float64(e.ActivationBytes) + float64(e.WorkspaceBytes)
	weights := float64(e.WeightBytes + e.GradientBytes + e.OptimizerBytes + e.CheckpointBytes)
	switch {
	case float64(data) > perBatch && float64(data) > weights:
		if s.Dataset == DatasetCaptcha && s.Source != nil {
			if s.Source.Kind == SourceDataset {
				return "source.dataset_id"
			}
			return "source.images"
		}
		if s.Dataset == DatasetCaptcha {
			return "source"
		}
		return "train_fraction"
	case weights > perBatch && e.ParamsField != "":
		return e.ParamsField
	}
	return "batch_size"
}
