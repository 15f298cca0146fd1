package trainer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
)

// Submission is one experiment to store and the specs of its runs, one run
// per spec; SubmitMany fills Runs. An experiment that already has an ID is
// stored already: its new runs are added to it (a re-queued suite member).
type Submission struct {
	Experiment *experiments.Experiment
	Specs      []experiments.Spec
	Runs       []runs.Run
}

// SubmitMany stores and queues several experiments (each with its runs and
// one River job per run) in one transaction. Either all of it is stored or,
// on any error, none of it: no experiment, run or job is left.
//
// Every spec must fit this trainer's limits (Admit); the first that does not
// is returned as a *experiments.ValidationError and nothing is stored.
func (t *Trainer) SubmitMany(ctx context.Context, subs []*Submission) error {
	return t.submit(ctx, subs, nil)
}

// SubmitSuite stores and queues the experiments of subs as SubmitMany does
// and, in the same transaction, the suite su grouping them: the experiment
// of subs[i] becomes the member keys[i]. On any error nothing is stored.
func (t *Trainer) SubmitSuite(ctx context.Context, su *experiments.Suite, subs []*Submission, keys []string) error {
	if len(keys) != len(subs) {
		return fmt.Errorf("submit suite: %d keys for %d experiments", len(keys), len(subs))
	}
	return t.submit(ctx, subs, func(tx *gorm.DB) error {
		if su.Members == nil {
			su.Members = map[string]int64{}
		}
		for i, k := range keys {
			su.Members[k] = subs[i].Experiment.ID
		}
		return experiments.NewSuiteStore(tx).CreateSuite(ctx, su)
	})
}

// submit is SubmitMany with then, when not nil, called last in its transaction.
func (t *Trainer) submit(ctx context.Context, subs []*Submission, then func(tx *gorm.DB) error) error {
	for _, s := range subs {
		for _, spec := range s.Specs {
			if _, err := t.Admit(ctx, spec); err != nil {
				return err
			}
		}
	}
	return t.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		sqlTx, ok := tx.Statement.ConnPool.(*sql.Tx)
		if !ok {
			return errors.New("submit: no SQL transaction under gorm")
		}
		exps, rs := t.exps.WithTx(tx), t.runs.WithTx(tx)
		for _, s := range subs {
			if s.Experiment.ID == 0 {
				if err := exps.CreateExperiment(ctx, s.Experiment); err != nil {
					return err
				}
			}
			s.Runs = s.Runs[:0]
			for _, spec := range s.Specs {
				r, err := rs.CreateRun(ctx, s.Experiment.ID, spec)
				if err != nil {
					return err
				}
				res, err := t.client.InsertTx(ctx, sqlTx, TrainArgs{RunID: r.ID}, &river.InsertOpts{Queue: Queue(spec.DeviceKindOf())})
				if err != nil {
					return fmt.Errorf("queue run %d: %w", r.ID, err)
				}
				if err := rs.SetJobID(ctx, r.ID, res.Job.ID); err != nil {
					return err
				}
				s.Runs = append(s.Runs, r)
			}
		}
		if then != nil {
			return then(tx)
		}
		return nil
	})
}
