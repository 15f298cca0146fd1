package nn

import (
	"math"

	"github.com/trainyard/trainyard/experiments"
)

// EarlyStopper is Keras's EarlyStopping on a loss (lower is better), as pure
// logic: feed it each epoch's monitored value and it says whether that was
// an improvement and whether to stop.
type EarlyStopper struct {
	// Patience is the number of epochs without improvement to wait.
	Patience int
	// MinDelta is the smallest decrease that counts as an improvement.
	MinDelta float64

	best      float64
	bestEpoch int
	wait      int
	seen      int
}

// NewEarlyStopper returns a stopper configured from the spec's settings, or
// nil when es is nil.
func NewEarlyStopper(es *experiments.EarlyStopping) *EarlyStopper {
	if es == nil {
		return nil
	}
	return &EarlyStopper{Patience: es.Patience, MinDelta: math.Abs(es.MinDelta)}
}

// Observe records the monitored value of an epoch. improved is true when it
// beat the best so far by more than MinDelta; stop is true when Patience
// epochs in a row have not improved (never on the first epoch observed).
func (e *EarlyStopper) Observe(epoch int, value float64) (improved, stop bool) {
	if e.seen == 0 {
		e.best = math.Inf(1)
	}
	e.seen++
	e.wait++
	if value < e.best-e.MinDelta {
		e.best, e.bestEpoch, e.wait = value, epoch, 0
		return true, false
	}
	return false, e.wait >= e.Patience && e.seen > 1
}

// Best returns the best value seen and the epoch it came from (0 if none).
func (e *EarlyStopper) Best() (value float64, epoch int) { return e.best, e.bestEpoch }

// LRReducer is Keras's ReduceLROnPlateau on a loss, as pure logic: feed it
// each epoch's monitored value and the current learning rate and it returns
// the learning rate for the next epoch.
type LRReducer struct {
	// Factor multiplies the learning rate on a plateau.
	Factor float64
	// Patience is the number of epochs without improvement to wait.
	Patience int
	// MinLR is the floor of the learning rate.
	MinLR float64
	// MinDelta is the smallest decrease that counts as an improvement
	// (Keras's default 1e-4).
	MinDelta float64

	best float64
	wait int
	seen bool
}

// NewLRReducer returns a reducer configured from the spec's settings, or nil
// when r is nil.
func NewLRReducer(r *experiments.ReduceLR) *LRReducer {
	if r == nil {
		return nil
	}
	return &LRReducer{Factor: r.Factor, Patience: r.Patience, MinLR: r.MinLR, MinDelta: 1e-4}
}

// Observe records the monitored value of an epoch trained at lr and returns
// the learning rate to use next.
func (r *LRReducer) Observe(value, lr float64) float64 {
	if !r.seen {
		r.best, r.seen = math.Inf(1), true
	}
	if value < r.best-r.MinDelta {
		r.best, r.wait = value, 0
		return lr
	}
	r.wait++
	if r.wait >= r.Patience {
		// Keras compares with the floor in float32.
		if float32(lr) > float32(r.MinLR) {
			r.wait = 0
			return max(lr*r.Factor, r.MinLR)
		}
	}
	return lr
}

// callbackState is an EarlyStopper's or LRReducer's counters as saved in a
// checkpoint; Best is a float64's bits, as it may be +Inf.
type callbackState struct {
	Best      uint64 `json:"best_bits"`
	BestEpoch int    `json:"best_epoch"`
	Wait      int    `json:"wait"`
	Seen      int    `json:"seen"`
}

func (e *EarlyStopper) state() callbackState {
	return callbackState{Best: math.Float64bits(e.best), BestEpoch: e.bestEpoch, Wait: e.wait, Seen: e.seen}
}

func (e *EarlyStopper) restore(s callbackState) {
	e.best, e.bestEpoch, e.wait, e.seen = math.Float64frombits(s.Best), s.BestEpoch, s.Wait, s.Seen
}

func (r *LRReducer) state() callbackState {
	s := callbackState{Best: math.Float64bits(r.best), Wait: r.wait}
	if r.seen {
		s.Seen = 1
	}
	return s
}

func (r *LRReducer) restore(s callbackState) {
	r.best, r.wait, r.seen = math.Float64frombits(s.Best), s.Wait, s.Seen > 0
}
