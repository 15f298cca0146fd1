package trainer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
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

// errCancelled is the cause of a training stopped because its run was cancelled.
var errCancelled = errors.New("run cancelled")

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
	var device string
	select {
	case device = <-t.devices:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { t.devices <- device }()

	err := t.runs.Start(ctx, id, device, t.cfg.RescueAfter/2)
	switch {
	case errors.Is(err, runs.ErrFinished), errors.Is(err, runs.ErrNotFound):
		return nil
	case errors.Is(err, runs.ErrBusy):
		return river.JobSnooze(t.cfg.RescueAfter / 2)
	case err != nil:
		return err
	}
	t.broker.Publish(runs.Event{RunID: id, Kind: runs.EventStatus, Data: runs.StatusChange{Status: runs.StatusRunning}})

	trainCtx, release := t.trainContext(ctx, id)
	defer release()
	hbCtx, stopHeartbeat := context.WithCancel(context.WithoutCancel(ctx))
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		t.heartbeat(hbCtx, id)
	}()
	err = t.train(trainCtx, id)
	stopHeartbeat()
	<-hbDone

	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	switch {
	case err == nil:
		return nil
	case trainCtx.Err() != nil:
		// Cancelled by the user (the run is already marked) or by shutdown:
		// release the run so the next process resumes it from its checkpoint.
		if r, rerr := t.runs.Run(bg, id); rerr == nil && r.Status == runs.StatusCancelled {
			return river.JobCancel(fmt.Errorf("run %d cancelled", id))
		}
		if rerr := t.runs.Release(bg, id); rerr != nil {
			t.cfg.Logger.Warn("release run", "run", id, "err", rerr)
		}
		return fmt.Errorf("run %d interrupted: %w", id, context.Cause(trainCtx))
	default:
		msg := userMessage(err)
		t.cfg.Logger.Error("training failed", "run", id, "err", err)
		if ferr := t.runs.Fail(bg, id, msg); ferr != nil && !errors.Is(ferr, runs.ErrFinished) {
			return ferr
		}
		t.broker.Publish(runs.Event{RunID: id, Kind: runs.EventStatus, Data: runs.StatusChange{Status: runs.StatusFailed, Error: msg}})
		return river.JobCancel(err)
	}
}

// trainContext returns the context a run trains under. It ends when the run
// is cancelled (Trainer.Cancel, or another process marking it cancelled, seen
// by the heartbeat), when the trainer stops, or when River cancels the job,
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
	return out, func() {
		stop()
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

func (t *Trainer) heartbeat(ctx context.Context, id int64) {
	tick := time.NewTicker(max(t.cfg.RescueAfter/6, 200*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := t.runs.Heartbeat(ctx, id); err != nil && ctx.Err() == nil {
				t.cfg.Logger.Warn("heartbeat", "run", id, "err", err)
			}
			// A run cancelled by another process stops here.
			if r, err := t.runs.Run(ctx, id); err == nil && r.Status == runs.StatusCancelled {
				t.cancelActive(id, errCancelled)
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
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return "training failed: " + msg
}

// train runs one run to the end: resume or build, fit, evaluate, save.
func (t *Trainer) train(ctx context.Context, id int64) error {
	run, err := t.runs.Run(ctx, id)
	if err != nil {
		return err
	}
	spec := run.Spec
	data, err := t.data.splits(spec)
	if err != nil {
		return err
	}
	ckptDir := filepath.Join(t.cfg.DataDir, "checkpoints", fmt.Sprintf("run-%d", id))
	from, ckpt := lastCheckpoint(ckptDir)
	var model *nn.Model
	if ckpt != "" {
		model, err = loadModel(ckpt, spec.BatchSize)
		if err != nil {
			t.cfg.Logger.Warn("checkpoint unreadable, starting over", "run", id, "err", err)
			from = 0
		}
	}
	if model == nil {
		from = 0
		if model, err = nn.Build(spec, spec.BatchSize); err != nil {
			return err
		}
	}
	if err := t.runs.TruncateEpochs(ctx, id, from); err != nil {
		return err
	}
	if from > 0 {
		// Carry the learning rate a plateau callback may have lowered.
		if done, err := t.runs.Epochs(ctx, id); err == nil && len(done) > 0 && done[len(done)-1].LearningRate > 0 {
			model.SetLearningRate(done[len(done)-1].LearningRate)
		}
	}

	var lastProgress time.Time
	hooks := nn.Hooks{
		OnBatch: func(p nn.Progress) {
			if time.Since(lastProgress) < 250*time.Millisecond && p.Batch != p.Batches {
				return
			}
			lastProgress = time.Now()
			t.broker.Publish(runs.Event{RunID: id, Kind: runs.EventProgress, Data: progress(p)})
		},
		OnEpoch: func(e runs.Epoch) error {
			// The epoch row first, then the checkpoint: a crash in between
			// repeats this epoch from the previous checkpoint, never counts it twice.
			if err := t.runs.RecordEpoch(context.WithoutCancel(ctx), id, e); err != nil {
				return err
			}
			if err := writeCheckpoint(ckptDir, e.Epoch, model); err != nil {
				return err
			}
			t.broker.Publish(runs.Event{RunID: id, Kind: runs.EventEpoch, Data: e})
			return nil
		},
	}
	if err := model.Fit(ctx, data.Train, data.Val, from, hooks); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	test, err := model.Evaluate(data.Test)
	if err != nil {
		return err
	}
	epochs, err := t.runs.Epochs(ctx, id)
	if err != nil {
		return err
	}
	for _, e := range epochs {
		if e.ValAccuracy > test.BestValAccuracy || test.BestEpoch == 0 {
			test.BestValAccuracy, test.BestEpoch = e.ValAccuracy, e.Epoch
		}
	}
	rel := filepath.ToSlash(filepath.Join("weights", fmt.Sprintf("run-%d.safetensors", id)))
	if err := writeWeights(filepath.Join(t.cfg.DataDir, rel), model); err != nil {
		return err
	}
	if err := t.runs.Succeed(ctx, id, test, rel); err != nil {
		if errors.Is(err, runs.ErrFinished) {
			return nil // cancelled at the last moment
		}
		return err
	}
	os.RemoveAll(ckptDir)
	t.broker.Publish(runs.Event{RunID: id, Kind: runs.EventStatus, Data: runs.StatusChange{Status: runs.StatusSucceeded}})
	return nil
}

func progress(p nn.Progress) runs.Progress {
	out := runs.Progress{Epoch: p.Epoch, Epochs: p.Epochs, Batch: p.Batch, Batches: p.Batches, ImagesPerSec: p.ImagesPerSec}
	if p.Batch > 0 && p.Batches > 0 {
		perBatch := p.Elapsed.Seconds() / float64(p.Batch)
		left := float64(p.Batches-p.Batch) + float64(p.Epochs-p.Epoch)*float64(p.Batches)
		out.ETASeconds = perBatch * left
	}
	return out
}

// lastCheckpoint returns the highest epoch checkpointed in dir and its file.
func lastCheckpoint(dir string) (int, string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, ""
	}
	var epochs []int
	for _, e := range entries {
		name := e.Name()
		if n, ok := strings.CutPrefix(name, "epoch-"); ok {
			if k, err := strconv.Atoi(strings.TrimSuffix(n, ".safetensors")); err == nil && strings.HasSuffix(n, ".safetensors") {
				epochs = append(epochs, k)
			}
		}
	}
	if len(epochs) == 0 {
		return 0, ""
	}
	sort.Ints(epochs)
	k := epochs[len(epochs)-1]
	return k, filepath.Join(dir, fmt.Sprintf("epoch-%d.safetensors", k))
}

func writeCheckpoint(dir string, epoch int, m *nn.Model) error {
	if err := writeWeights(filepath.Join(dir, fmt.Sprintf("epoch-%d.safetensors", epoch)), m); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != fmt.Sprintf("epoch-%d.safetensors", epoch) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

// writeWeights writes m's weights to path atomically: a temporary file renamed into place.
func writeWeights(path string, m *nn.Model) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := m.WriteWeights(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func loadModel(path string, batch int) (*nn.Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return nn.Load(f, batch)
}
