package trainer

import (
	"context"
	"fmt"
	"slices"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
)

// runASHA is the successive halving a run trains under: its sweep's
// settings and the rungs (epochs) the run passes.
type runASHA struct {
	experiments.ASHA
	rungs map[int]bool
}

// ashaOf returns the successive halving of the run's sweep, or nil when its
// experiment has none.
func (t *Trainer) ashaOf(ctx context.Context, r runs.Run) (*runASHA, error) {
	e, err := t.exps.Experiment(ctx, r.ExperimentID)
	if err != nil {
		return nil, fmt.Errorf("run %d: %w", r.ID, err)
	}
	if e.Sweep == nil || e.Sweep.ASHA == nil {
		return nil, nil
	}
	a := &runASHA{ASHA: *e.Sweep.ASHA, rungs: map[int]bool{}}
	for _, ep := range a.Rungs(r.Spec.Epochs) {
		a.rungs[ep] = true
	}
	return a, nil
}

// applyRung runs successive halving at the rung the run just reached: the
// sweep's running runs outside the top 1/eta there are stopped (the store
// marks them stopped, so their attempts, here or in another process, can
// write nothing more), the ones training in this process stop between two
// batches through the same path as a cancel, and each gets a status event.
// It returns errStopped when the run itself was stopped. A failure to decide
// is logged, not fatal: the run trains on.
func (t *Trainer) applyRung(ctx context.Context, r runs.Run, a experiments.ASHA, epoch int) error {
	rung, err := t.runs.StopAtRung(context.WithoutCancel(ctx), r.ExperimentID, a, epoch)
	if err != nil {
		t.cfg.Logger.Warn("successive halving", "run", r.ID, "epoch", epoch, "err", err)
		return nil
	}
	t.cfg.Logger.Info("successive halving", "experiment", r.ExperimentID, "rung", epoch, "reached", rung.Reached,
		"kept", rung.Kept, "stopped", rung.Stopped)
	for _, id := range rung.Stopped {
		msg := ""
		if sr, err := t.runs.Run(context.WithoutCancel(ctx), id); err == nil {
			msg = sr.Error
		}
		t.cancelActive(id, errStopped)
		t.broker.Publish(runs.Event{RunID: id, Kind: runs.EventStatus, Data: runs.StatusChange{Status: runs.StatusStopped, Error: msg}})
	}
	if slices.Contains(rung.Stopped, r.ID) {
		return errStopped
	}
	return nil
}

// keepStoppedWeights turns a stopped run's last checkpoint (the epoch it
// had recorded when it stopped) into its weights, so a stopped run keeps its
// epochs and its weights as of the stop. Without a readable checkpoint the
// run keeps no weights (logged).
func (t *Trainer) keepStoppedWeights(ctx context.Context, r runs.Run) {
	if len(r.Epochs) == 0 || r.WeightsPath != "" {
		return
	}
	last := r.Epochs[len(r.Epochs)-1].Epoch
	model, err := t.loadCheckpoint(ctx, r.ID, last, r.Spec.BatchSize)
	if err == nil {
		err = t.saveStoppedWeights(ctx, r.ID, model)
	}
	if err != nil {
		t.cfg.Logger.Warn("stopped run keeps no weights", "run", r.ID, "err", err)
	}
}
