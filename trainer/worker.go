package trainer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/trainer/nn"
)

// TrainArgs is the River job that trains one run.
type TrainArgs struct {
	RunID int64 `json:"run_id"`
}

// Kind names the job for River.
func (TrainArgs) Kind() string { return "train" }

// InsertOpts lets a run survive several restarts of its process.
func (TrainArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 1000} }

// deviceBusySnooze is how long a job claimed while every device of its
// worker trains waits in the queue before a worker may claim it again.
const deviceBusySnooze = 2 * time.Second

// errCancelled is the cause of a training stopped because its run was cancelled.
var errCancelled = errors.New("run cancelled")

// errStopped is the cause of a training stopped because successive halving
// stopped its run at a rung.
var errStopped = errors.New("run stopped early")

type trainWorker struct {
	river.WorkerDefaults[TrainArgs]
	t *Trainer
}

// Work trains the job's run from its last checkpoint to the end. A run that
// was cancelled or already finished is left alone; a run another live worker
// holds is tried again later; a user cancel or a shutdown is not a failure.
func (w *trainWorker) Work(ctx context.Context, job *river.Job[TrainArgs]) error {
	t := w.t
	id := job.Args.RunID
	// Checked again and reserved before anything is loaded or built: runs
	// that do not fit in the budget together wait here.
	unreserve, err := t.reserve(ctx, id)
	if err != nil {
		return err
	}
	defer unreserve()
	// A worker serves the queue of each of its devices' kinds and the
	// "any" queue, so it may claim a job while every device it has trains:
	// such a job goes back to the queue at once (a snooze is no attempt),
	// for whichever worker has a device free, instead of waiting here.
	var device string
	select {
	case device = <-t.devices:
	default:
		return river.JobSnooze(deviceBusySnooze)
	}
	defer func() { t.devices <- device }()

	lease, err := t.runs.Start(ctx, id, device, t.cfg.Name, t.cfg.RescueAfter/2)
	switch {
	case errors.Is(err, runs.ErrFinished), errors.Is(err, runs.ErrNotFound):
		return nil
	case errors.Is(err, runs.ErrBusy):
		return river.JobSnooze(t.cfg.RescueAfter / 2)
	case errors.Is(err, runs.ErrGaveUp):
		// Its process died too often while training it (out of memory, say).
		t.removeCheckpoints(id)
		msg := err.Error()
		if r, rerr := t.runs.Run(ctx, id); rerr == nil {
			msg = r.Error
		}
		t.cfg.Logger.Error("run failed", "run", id, "err", msg)
		t.broker.Publish(runs.Event{RunID: id, Kind: runs.EventStatus, Data: runs.StatusChange{Status: runs.StatusFailed, Error: msg}})
		return river.JobCancel(err)
	case err != nil:
		return err
	}
	t.broker.Publish(runs.Event{RunID: id, Kind: runs.EventStatus, Data: runs.StatusChange{Status: runs.StatusRunning, Worker: t.cfg.Name}})

	trainCtx, release := t.trainContext(ctx, id)
	defer release()
	stopHeartbeat := t.startHeartbeat(ctx, lease)
	defer stopHeartbeat() // on every way out, panics included
	err = t.train(trainCtx, lease)
	stopHeartbeat()

	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, runs.ErrLeaseLost), errors.Is(context.Cause(trainCtx), runs.ErrLeaseLost):
		// This process stalled past the rescue time and another attempt took
		// the run over: stop without writing anything more. River tries the
		// job again later; that try finds the run busy or finished.
		t.cfg.Logger.Warn("run taken over by another attempt; this attempt stops without writing", "run", id)
		return fmt.Errorf("run %d: %w", id, runs.ErrLeaseLost)
	case errors.Is(err, runs.ErrFinished), errors.Is(err, errStopped),
		errors.Is(context.Cause(trainCtx), errCancelled), errors.Is(context.Cause(trainCtx), errStopped):
		// Ended elsewhere: cancelled by a person (here or in another
		// process), stopped early by successive halving, or finished by
		// the attempt that took it over.
		r, rerr := t.runs.Run(bg, id)
		switch {
		case rerr == nil && r.Status == runs.StatusStopped:
			t.keepStoppedWeights(bg, r)
			t.removeCheckpoints(id)
			return river.JobCancel(fmt.Errorf("run %d stopped early", id))
		case rerr == nil && r.Status != runs.StatusCancelled:
			t.cfg.Logger.Warn("run finished by another attempt; this attempt stops without writing", "run", id)
			return nil
		}
		t.removeCheckpoints(id)
		t.cfg.Logger.Info("run cancelled: training stopped", "run", id)
		return river.JobCancel(fmt.Errorf("run %d cancelled", id))
	case trainCtx.Err() != nil:
		// Stopped by shutdown or by River: release the run so the next
		// process resumes it from its checkpoint at once.
		if r, rerr := t.runs.Run(bg, id); rerr == nil && (r.Status == runs.StatusCancelled || r.Status == runs.StatusStopped) {
			if r.Status == runs.StatusStopped {
				t.keepStoppedWeights(bg, r)
			}
			t.removeCheckpoints(id)
			t.cfg.Logger.Info("run ended elsewhere: training stopped", "run", id, "status", r.Status)
			return river.JobCancel(fmt.Errorf("run %d %s", id, r.Status))
		}
		if rerr := t.runs.Release(bg, lease); rerr != nil {
			t.cfg.Logger.Warn("release run", "run", id, "err", rerr)
		} else {
			t.cfg.Logger.Info("run handed back: the next worker resumes it", "run", id)
		}
		return fmt.Errorf("run %d interrupted: %w", id, context.Cause(trainCtx))
	default:
		msg := userMessage(err)
		attrs := []any{"run", id, "err", err}
		var write *writeError
		if errors.As(err, &write) {
			attrs = append(attrs, "cause", write.err) // with the path
		}
		t.cfg.Logger.Error("training failed", attrs...)
		switch ferr := t.runs.Fail(bg, lease, msg); {
		case errors.Is(ferr, runs.ErrLeaseLost):
			t.cfg.Logger.Warn("run taken over by another attempt; this attempt stops without writing", "run", id)
			return fmt.Errorf("run %d: %w", id, runs.ErrLeaseLost)
		case ferr == nil:
			t.broker.Publish(runs.Event{RunID: id, Kind: runs.EventStatus, Data: runs.StatusChange{Status: runs.StatusFailed, Error: msg}})
		case !errors.Is(ferr, runs.ErrFinished):
			return ferr
		}
		t.removeCheckpoints(id)
		return river.JobCancel(err)
	}
}

// trainContext returns the context a run trains under. It ends when the run
// is cancelled (Trainer.Cancel; in another process, its status event through
// the database's notifications, River's cancel of the job, or else the
// heartbeat), when the trainer stops, or when River cancels the job,
// but not when River's job timeout passes: that timeout only tells River's
// rescuer when it may look at the job, and a live run answers with heartbeats.
func (t *Trainer) trainContext(ctx context.Context, id int64) (context.Context, func()) {
	out, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			cancel(context.Cause(ctx))
		}
	})
	t.mu.Lock()
	t.active[id] = cancel
	t.mu.Unlock()
	events, unsubscribe := t.broker.Subscribe(id)
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		for {
			select {
			case <-out.Done():
				return
			case e := <-events:
				if sc, ok := e.Data.(runs.StatusChange); ok && sc.Status == runs.StatusCancelled {
					cancel(errCancelled)
					return
				} else if ok && sc.Status == runs.StatusStopped {
					cancel(errStopped)
					return
				}
			}
		}
	}()
	return out, func() {
		stop()
		cancel(nil)
		<-watching
		unsubscribe()
		t.mu.Lock()
		delete(t.active, id)
		t.mu.Unlock()
		cancel(nil)
	}
}

// cancelActive stops the in-process training of run id, if any.
func (t *Trainer) cancelActive(id int64, cause error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cancel, ok := t.active[id]; ok {
		cancel(cause)
	}
}

// startHeartbeat sends the lease's heartbeat until the returned function is
// called (it may be called more than once; it waits for the last beat).
func (t *Trainer) startHeartbeat(ctx context.Context, l runs.Lease) func() {
	hbCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t.heartbeat(hbCtx, l)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}

// heartbeat refreshes the lease's heartbeat every rescue-after/6. When the
// run was cancelled (perhaps by another process) or taken over by another
// attempt, it stops the training.
func (t *Trainer) heartbeat(ctx context.Context, l runs.Lease) {
	tick := time.NewTicker(max(t.cfg.RescueAfter/6, 200*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			err := t.runs.Heartbeat(ctx, l)
			switch {
			case err == nil || ctx.Err() != nil:
			case errors.Is(err, runs.ErrLeaseLost):
				t.cfg.Logger.Warn("run taken over by another attempt", "run", l.RunID)
				t.cancelActive(l.RunID, runs.ErrLeaseLost)
				return
			case errors.Is(err, runs.ErrFinished):
				t.cancelActive(l.RunID, errCancelled)
				return
			default:
				t.cfg.Logger.Warn("heartbeat", "run", l.RunID, "err", err)
			}
		}
	}
}

// userMessage turns a training error into one line a person can act on.
func userMessage(err error) string {
	var diverged *nn.DivergedError
	if errors.As(err, &diverged) {
		return diverged.Error()
	}
	var write *writeError
	if errors.As(err, &write) {
		return write.Error()
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return "training failed: " + msg
}

// writeError is a failed write of a run's file (a checkpoint, the weights):
// its message says what could not be written and why, not where.
type writeError struct {
	what string
	err  error
}

func (e *writeError) Error() string {
	reason := e.err
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(e.err, &pe):
		reason = pe.Err
	case errors.As(e.err, &le):
		reason = le.Err
	}
	return fmt.Sprintf("could not write the %s: %v", e.what, reason)
}

func (e *writeError) Unwrap() error { return e.err }

// train runs the lease's run to the end: resume or build, fit, evaluate,
// save (see Training). Every write goes through the lease, so an attempt
// that lost its run stops at its next write with runs.ErrLeaseLost.
func (t *Trainer) train(ctx context.Context, lease runs.Lease) error {
	id := lease.RunID
	run, err := t.runs.Run(ctx, id)
	if err != nil {
		return err
	}
	asha, err := t.ashaOf(ctx, run)
	if err != nil {
		return err
	}
	data, err := t.data.splits(run.Spec)
	if err != nil {
		return err
	}
	tr := &Training{Spec: run.Spec, Data: data, ProgressEvery: 250 * time.Millisecond}
	if from := lease.Checkpoint; from > 0 {
		model, err := t.loadCheckpoint(ctx, id, from, run.Spec.BatchSize)
		if err != nil {
			t.cfg.Logger.Warn("checkpoint unreadable, starting over", "run", id, "epoch", from, "err", err)
		} else {
			tr.Model, tr.From = model, from
			for _, e := range run.Epochs {
				if e.Epoch <= from {
					tr.Epochs = append(tr.Epochs, e)
				}
			}
		}
	}
	if err := t.runs.TruncateEpochs(ctx, lease, tr.From); err != nil {
		return err
	}
	tr.OnProgress = func(p runs.Progress) {
		t.broker.Publish(runs.Event{RunID: id, Kind: runs.EventProgress, Data: p})
	}
	tr.OnEpoch = func(e runs.Epoch) error {
		if err := t.saveCheckpoint(ctx, lease, tr.Model, e); err != nil {
			return err
		}
		t.broker.Publish(runs.Event{RunID: id, Kind: runs.EventEpoch, Data: e})
		if asha != nil && asha.rungs[e.Epoch] {
			return t.applyRung(ctx, run, asha.ASHA, e.Epoch)
		}
		return nil
	}
	test, err := tr.Run(ctx)
	if err != nil {
		return err
	}
	if err := t.saveWeights(ctx, lease, tr.Model, test); err != nil {
		return err
	}
	t.broker.Publish(runs.Event{RunID: id, Kind: runs.EventStatus, Data: runs.StatusChange{Status: runs.StatusSucceeded}})
	return nil
}

func loadModel(path string, batch int) (*nn.Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return nn.Load(f, batch)
}
