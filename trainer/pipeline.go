package trainer

import (
	"context"
	"time"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/trainer/nn"
)

// Training is one model trained from its Spec to a test result: build (or
// resume), fit, evaluate, best validation epoch. It is the one pipeline of
// the River worker and of `trainyard train`; what each does with an epoch
// (record it and its checkpoint, or print it) goes in OnEpoch.
type Training struct {
	Spec experiments.Spec
	Data Splits
	// Model is the model to resume, trained for From epochs; nil builds a
	// new one from Spec. After Run it is the trained model.
	Model *nn.Model
	From  int
	// Epochs are the epochs recorded before From; Run appends the ones it
	// trains, and the test result names the best of them all.
	Epochs []runs.Epoch
	// OnProgress, when not nil, is called during an epoch, at most once per
	// ProgressEvery and after its last batch.
	OnProgress    func(runs.Progress)
	ProgressEvery time.Duration
	// OnEpoch, when not nil, is called after every epoch (Model then holds
	// that epoch's state, ready for a checkpoint); an error stops training.
	OnEpoch func(runs.Epoch) error
}

// Run trains the model for the epochs after From and evaluates it on the
// test set. It returns ctx's error when ctx ends first.
func (tr *Training) Run(ctx context.Context) (runs.TestResult, error) {
	if tr.Model == nil {
		m, err := nn.Build(tr.Spec, tr.Spec.BatchSize)
		if err != nil {
			return runs.TestResult{}, err
		}
		tr.Model, tr.From = m, 0
	}
	var last time.Time
	hooks := nn.Hooks{
		OnBatch: func(p nn.Progress) {
			if tr.OnProgress == nil || time.Since(last) < tr.ProgressEvery && p.Batch != p.Batches {
				return
			}
			last = time.Now()
			tr.OnProgress(progress(p))
		},
		OnEpoch: func(e runs.Epoch) error {
			if tr.OnEpoch != nil {
				if err := tr.OnEpoch(e); err != nil {
					return err
				}
			}
			tr.Epochs = append(tr.Epochs, e)
			return nil
		},
	}
	if err := tr.Model.Fit(ctx, tr.Data.Train, tr.Data.Val, tr.From, hooks); err != nil {
		return runs.TestResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return runs.TestResult{}, err
	}
	test, err := tr.Model.Evaluate(tr.Data.Test)
	if err != nil {
		return runs.TestResult{}, err
	}
	test.BestOf(tr.Epochs)
	return test, nil
}

// progress is what a run's page shows of p, with the time left for the
// rest of the run at this epoch's pace.
func progress(p nn.Progress) runs.Progress {
	out := runs.Progress{Epoch: p.Epoch, Epochs: p.Epochs, Batch: p.Batch, Batches: p.Batches, ImagesPerSec: p.ImagesPerSec}
	if p.Batch > 0 && p.Batches > 0 {
		perBatch := p.Elapsed.Seconds() / float64(p.Batch)
		left := float64(p.Batches-p.Batch) + float64(p.Epochs-p.Epoch)*float64(p.Batches)
		out.ETASeconds = perBatch * left
	}
	return out
}
