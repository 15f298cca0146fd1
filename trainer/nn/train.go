package nn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/trainer/dataset"
)

// Progress reports where training is within an epoch, after each batch.
type Progress struct {
	Epoch, Epochs  int
	Batch, Batches int
	Images         int // images trained on so far this epoch
	ImagesPerSec   float64
	Elapsed        time.Duration // since the epoch began
}

// Hooks are Fit's callbacks. Both may be nil.
type Hooks struct {
	// OnBatch is called after every training batch.
	OnBatch func(Progress)
	// OnEpoch is called after every epoch with its metrics; an error from it
	// stops training and Fit returns it.
	OnEpoch func(runs.Epoch) error
}

// Fit trains epochs from+1 .. spec.Epochs (from > 0 resumes after a
// checkpoint of epoch from: with a model from LoadCheckpoint it goes on
// exactly as if it had never stopped), shuffling the training set each epoch
// with spec.Seed+epoch. A last partial batch is filled up with images from the
// start of the epoch's order, so every image is trained on each epoch.
// While one batch trains, a goroutine of Fit's own gathers the next one
// (loader.go); it has ended whenever Fit returns, and the batches, hence the
// weights and metrics, are bit for bit those of loading one batch at a time.
//
// After each epoch Fit measures validation loss and accuracy in evaluation
// mode, calls hooks.OnEpoch, and applies EarlyStopping and ReduceLROnPlateau
// (Keras semantics) on the validation loss, or on the training loss when val
// is empty. It checks ctx between batches and returns ctx.Err() when it is
// done. A loss that becomes NaN or infinite stops training with a
// *DivergedError (errors.Is(err, ErrDiverged)).
func (m *Model) Fit(ctx context.Context, train, val *dataset.Set, from int, hooks Hooks) error {
	if err := m.checkSet(train); err != nil {
		return fmt.Errorf("nn: training set: %w", err)
	}
	if train.N == 0 {
		return errors.New("nn: the training set is empty")
	}
	if val != nil && val.N > 0 {
		if err := m.checkSet(val); err != nil {
			return fmt.Errorf("nn: validation set: %w", err)
		}
	}
	if m.fit == nil || m.fit.epoch != from {
		m.fit = &fitState{epoch: from, stopper: NewEarlyStopper(m.spec.EarlyStopping), reducer: NewLRReducer(m.spec.ReduceLR)}
	}
	fs := m.fit
	if fs.stopped {
		// Resumed from the checkpoint of the epoch EarlyStopping stopped at.
		return fs.restoreBest(m)
	}
	heads := len(m.logits)
	batches := (train.N + m.batch - 1) / m.batch
	for epoch := from + 1; epoch <= m.spec.Epochs; epoch++ {
		start := time.Now()
		st, err := m.trainEpoch(ctx, train, epoch, start, hooks.OnBatch)
		if err != nil {
			return err
		}

		ep := runs.Epoch{Epoch: epoch, LearningRate: m.opt.lr}
		headMetrics := make([]runs.HeadMetrics, heads)
		charRight := 0
		for h := range heads {
			headMetrics[h].Loss = st.lossSum[h] / float64(batches)
			headMetrics[h].Accuracy = float64(st.correct[h]) / float64(st.seen)
			ep.Loss += headMetrics[h].Loss
			charRight += st.correct[h]
		}
		ep.Accuracy = runs.Float(float64(st.allRight) / float64(st.seen))
		if heads > 1 {
			ep.CharAccuracy = runs.Float(float64(charRight) / float64(st.seen*heads))
		}
		monitor := ep.Loss
		if val != nil && val.N > 0 {
			res, err := m.forwardSet(val)
			if err != nil {
				return err
			}
			ep.ValLoss, ep.ValAccuracy = runs.Float(res.loss()), runs.Float(res.imageAccuracy())
			if heads > 1 {
				ep.ValCharAccuracy = runs.Float(res.charAccuracy())
			}
			for h := range heads {
				headMetrics[h].ValLoss = res.headLoss[h] / float64(val.N)
				headMetrics[h].ValAccuracy = float64(res.headRight[h]) / float64(val.N)
			}
			monitor = *ep.ValLoss
		}
		ep.Heads = []runs.HeadMetrics{}
		if heads > 1 {
			ep.Heads = headMetrics
		}
		ep.Seconds = time.Since(start).Seconds()
		// The callbacks see the epoch before OnEpoch does, so that a
		// checkpoint written there holds their counters after it.
		fs.epoch = epoch
		if fs.stopper != nil {
			improved, stop := fs.stopper.Observe(epoch, monitor)
			if improved && m.spec.EarlyStopping.RestoreBest {
				fs.best = m.Weights()
			}
			fs.stopped = stop
		}
		if fs.reducer != nil && !fs.stopped {
			m.opt.lr = fs.reducer.Observe(monitor, m.opt.lr)
		}
		if hooks.OnEpoch != nil {
			if err := hooks.OnEpoch(ep); err != nil {
				return err
			}
		}
		if fs.stopped {
			return fs.restoreBest(m)
		}
	}
	return nil
}

// epochSums are a training epoch's running totals: each head's summed
// batch losses and correct predictions, the images trained on, and those
// whose every head was right.
type epochSums struct {
	lossSum        []float64
	correct        []int
	seen, allRight int
}

// trainEpoch trains one epoch over train in the order of its seeded
// permutation, the next batch loading while the current one trains (see
// loader.go). It leaves the model in evaluation mode and its loader
// goroutine ended, whichever way it returns.
func (m *Model) trainEpoch(ctx context.Context, train *dataset.Set, epoch int, start time.Time, onBatch func(Progress)) (epochSums, error) {
	heads := len(m.logits)
	batches := (train.N + m.batch - 1) / m.batch
	seed := m.spec.Seed + int64(epoch)
	m.rng = rand.New(rand.NewPCG(uint64(seed), 0x64726f70))
	perm := dataset.Permutation(train.N, seed)
	st := epochSums{lossSum: make([]float64, heads), correct: make([]int, heads)}
	m.setTraining(true)
	defer m.setTraining(false)
	idx := make([]int, m.batch) // the loader's alone
	loader := m.newLoader(batches, func(b int, s *inputSlot) {
		for j := range idx {
			idx[j] = perm[(b*m.batch+j)%train.N]
		}
		m.gather(s, train, idx)
	})
	defer loader.close()
	for b := range batches {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		if err := loader.load(); err != nil {
			return st, err
		}
		losses, right, err := m.trainStep(st.correct)
		if err != nil {
			return st, err
		}
		total := 0.0
		for h, l := range losses {
			st.lossSum[h] += l
			total += l
		}
		if math.IsNaN(total) || math.IsInf(total, 0) {
			return st, &DivergedError{Epoch: epoch, Batch: b + 1, Loss: total}
		}
		st.seen += m.batch
		st.allRight += right
		if onBatch != nil {
			el := time.Since(start)
			onBatch(Progress{Epoch: epoch, Epochs: m.spec.Epochs, Batch: b + 1, Batches: batches,
				Images: min((b+1)*m.batch, train.N), ImagesPerSec: float64(st.seen) / el.Seconds(), Elapsed: el})
		}
	}
	return st, nil
}

// fitState is what Fit carries from one epoch to the next besides the
// weights and the optimizer: the callbacks' counters and the weights
// EarlyStopping would restore. WriteCheckpoint saves it, LoadCheckpoint
// restores it.
type fitState struct {
	epoch   int // the last epoch finished
	stopper *EarlyStopper
	reducer *LRReducer
	best    map[string]Tensor
	stopped bool // EarlyStopping stopped after epoch
}

func (fs *fitState) restoreBest(m *Model) error {
	if fs.best == nil {
		return nil
	}
	return m.SetWeights(fs.best)
}

// LearningRate is the optimizer's current learning rate.
func (m *Model) LearningRate() float64 { return m.opt.lr }

// SetLearningRate changes the optimizer's learning rate, e.g. when resuming
// a run whose learning rate was reduced.
func (m *Model) SetLearningRate(lr float64) { m.opt.lr = lr }

// trainStep runs forward and backward on the loaded batch, updates the
// weights, adds each head's correct predictions to correct and returns each
// head's mean loss and the number of images whose every head was right. The
// losses are the model's own buffer, valid until the next step.
func (m *Model) trainStep(correct []int) ([]float64, int, error) {
	for _, d := range m.dropouts {
		d.sample(m.rng)
	}
	defer m.trainVM.Reset()
	if err := m.trainVM.RunAll(); err != nil {
		return nil, 0, fmt.Errorf("nn: training step: %w", err)
	}
	if len(m.stepLoss) != len(m.losses) {
		m.stepLoss = make([]float64, len(m.losses))
		m.wrong = make([]bool, m.batch)
	}
	losses, wrong := m.stepLoss, m.wrong
	clear(wrong)
	for h, l := range m.losses {
		v, err := scalar32(l.Value())
		if err != nil {
			return nil, 0, err
		}
		losses[h] = float64(v)
		z, err := float32s(m.logits[h].Value())
		if err != nil {
			return nil, 0, err
		}
		labels := m.in.labels[h].Float32s()
		for i := range m.batch {
			if argmax(z[i*m.classes:(i+1)*m.classes]) == int(labels[i]) {
				correct[h]++
			} else {
				wrong[i] = true
			}
		}
	}
	if err := m.opt.step(); err != nil {
		return nil, 0, err
	}
	right := 0
	for _, w := range wrong {
		if !w {
			right++
		}
	}
	return losses, right, nil
}

// setInference switches to evaluation for forward passes only (ops.Mode's
// Infer): no gradient and no weight update until the next setTraining.
func (m *Model) setInference() {
	m.mode.Infer()
	m.setLayers(false)
}

// setTraining switches dropout and batch normalisation between training and
// evaluation behaviour.
func (m *Model) setTraining(on bool) {
	if on {
		m.mode.Train()
	} else {
		m.mode.Eval()
	}
	m.setLayers(on)
}

// setLayers switches the built-in engine's dropout and batch normalisation.
func (m *Model) setLayers(on bool) {
	for _, n := range m.norms {
		n.training = on
	}
	if !on {
		for _, d := range m.dropouts {
			d.ones()
		}
	}
}

// checkSet reports whether s fits the model's input and heads.
func (m *Model) checkSet(s *dataset.Set) error {
	if s == nil {
		return errors.New("no dataset")
	}
	if err := s.Validate(); err != nil {
		return err
	}
	c, h, w := m.spec.InputShape()
	if s.C != c || s.H != h || s.W != w {
		return fmt.Errorf("images are %dx%dx%d but the model takes %dx%dx%d", s.C, s.H, s.W, c, h, w)
	}
	if s.Heads != len(m.logits) {
		return fmt.Errorf("the set has %d labels per image but the model has %d heads", s.Heads, len(m.logits))
	}
	if len(s.Classes) > m.classes {
		return fmt.Errorf("the set has %d classes but the model predicts %d", len(s.Classes), m.classes)
	}
	return nil
}

func argmax(z []float32) int {
	best := 0
	for j, v := range z {
		if v > z[best] {
			best = j
		}
	}
	return best
}
