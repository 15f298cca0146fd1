package trainer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"golang.org/x/sync/semaphore"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/trainer/nn"
)

// admission is a trainer's memory budget: the runs it trains reserve their
// estimate against it before they load or build anything, and wait while
// the runs already reserved leave too little.
type admission struct {
	budget int64
	mem    *semaphore.Weighted

	measureOnce sync.Once
	measuring   sync.WaitGroup
	gflops      float64

	srcMu sync.Mutex
	// sources counts the admitted runs per cached CAPTCHA source; a source
	// no admitted run uses leaves the cache, so memory no reservation
	// covers is not kept.
	sources map[captchaKey]int
}

func newAdmission(budget int64) admission {
	return admission{budget: budget, mem: semaphore.NewWeighted(budget), sources: map[captchaKey]int{}}
}

// Limits are the caps this trainer admits runs under.
func (t *Trainer) Limits() experiments.Limits {
	return experiments.Limits{MaxMemoryBytes: t.cfg.MaxRunMemory, MaxParams: t.cfg.MaxParams}
}

// Estimate returns what training spec costs on this machine: memory from the
// spec, time from the throughput measured once when the trainer started (or
// the first time an estimate is asked for, when it has no workers).
func (t *Trainer) Estimate(ctx context.Context, spec experiments.Spec) experiments.Estimate {
	return t.estimate(ctx, spec, t.machine())
}

// estimate is Estimate on machine m.
func (t *Trainer) estimate(ctx context.Context, spec experiments.Spec, m experiments.Machine) experiments.Estimate {
	if spec.Source != nil && spec.Source.Kind == experiments.SourceDataset && spec.Source.DatasetID > 0 {
		if d, err := experiments.NewDatasetStore(t.db).Dataset(ctx, spec.Source.DatasetID); err == nil {
			m.DatasetImages = d.Images
		}
	}
	return spec.Estimate(m)
}

// Admit returns spec's estimate (without the time per epoch, which admission
// does not need and which waits for the throughput measurement), and a
// *experiments.ValidationError naming the field and both numbers when it
// exceeds this trainer's limits.
func (t *Trainer) Admit(ctx context.Context, spec experiments.Spec) (experiments.Estimate, error) {
	e := t.estimate(ctx, spec, experiments.Machine{Workers: runtime.GOMAXPROCS(0)})
	return e, e.Admit(t.Limits())
}

// machine is what estimates here are made for. The throughput is measured
// once: Start begins it before the workers fetch a job; without workers, the
// first estimate shown measures it.
func (t *Trainer) machine() experiments.Machine {
	t.measureOnce.Do(func() {
		t.gflops = measureGFLOPS()
		t.cfg.Logger.Info("measured training throughput", "gflops", fmt.Sprintf("%.1f", t.gflops))
	})
	return experiments.Machine{Workers: runtime.GOMAXPROCS(0), GFLOPS: t.gflops}
}

// measureGFLOPS times a few training steps of a small CNN (mnist-cnn2 at
// batch 128, about half a second) and returns the throughput in GFLOP/s as Estimate counts FLOPs;
// 0 when it cannot be measured.
func measureGFLOPS() float64 {
	p, ok := experiments.PresetByName("mnist-cnn2")
	if !ok {
		return 0
	}
	spec := p.Spec
	spec.BatchSize = 128
	tp, err := nn.MeasureThroughput(context.Background(), spec, spec.BatchSize, 3, 0, nn.Options{})
	if err != nil || tp.TrainSamplesPerS <= 0 {
		return 0
	}
	est := spec.Estimate(experiments.Machine{Workers: runtime.GOMAXPROCS(0)})
	return tp.TrainSamplesPerS * est.TrainFLOPsPerImage / 1e9
}

// setMemoryLimit sets the Go runtime's soft memory limit from the budget,
// with room for the server itself, unless GOMEMLIMIT says otherwise.
func (t *Trainer) setMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(t.budget + max(t.budget/4, 512<<20))
}

// How long a job waits for room in the budget before it snoozes, and for
// how long it snoozes.
const (
	reserveWait   = 10 * time.Second
	reserveSnooze = time.Second
)

// reserve checks run id's spec against this trainer's limits again, before
// anything is loaded or built, and reserves its memory estimate. While the
// runs already reserved leave too little room, the job waits a little and
// then snoozes (the run stays queued). A run that can never fit fails with
// the reason. The caller must call release when the run stops training. A
// run that is no longer queued or running reserves nothing.
func (t *Trainer) reserve(ctx context.Context, id int64) (release func(), err error) {
	r, err := t.runs.Run(ctx, id)
	if errors.Is(err, runs.ErrNotFound) {
		return func() {}, nil
	}
	if err != nil {
		return nil, err
	}
	if r.Status != runs.StatusQueued && r.Status != runs.StatusRunning {
		return func() {}, nil
	}
	est, err := t.Admit(ctx, r.Spec)
	if err != nil {
		return nil, t.refuse(ctx, id, err)
	}
	n := min(est.MemoryBytes, t.budget)
	// Wait a while for room, then give the slot back and come again later:
	// River's snooze costs no attempt, and a job that waits past its
	// timeout would be rescued.
	wait, cancel := context.WithTimeout(ctx, reserveWait)
	err = t.mem.Acquire(wait, n)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, river.JobSnooze(reserveSnooze)
	}
	key, cached := captchaKey{}, r.Spec.Dataset == experiments.DatasetCaptcha
	if cached {
		key = keyOf(r.Spec)
		t.srcMu.Lock()
		t.sources[key]++
		t.srcMu.Unlock()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			if cached {
				t.srcMu.Lock()
				if t.sources[key]--; t.sources[key] <= 0 {
					delete(t.sources, key)
					t.data.drop(key)
				}
				t.srcMu.Unlock()
			}
			t.mem.Release(n)
		})
	}, nil
}

// refuse fails run id, which can never fit this trainer's limits, with the
// reason: it takes the run's lease (as a start would) and fails it under
// that lease, so it cannot overwrite an attempt elsewhere.
func (t *Trainer) refuse(ctx context.Context, id int64, why error) error {
	msg := "refused before training: " + fieldText(why)
	lease, err := t.runs.Start(ctx, id, "", t.cfg.Name, t.cfg.RescueAfter/2)
	switch {
	case errors.Is(err, runs.ErrFinished), errors.Is(err, runs.ErrNotFound):
		return nil
	case errors.Is(err, runs.ErrBusy):
		return river.JobSnooze(t.cfg.RescueAfter / 2)
	case err != nil:
		return err
	}
	if err := t.runs.Fail(ctx, lease, msg); err != nil {
		return err
	}
	t.cfg.Logger.Warn("run refused", "run", id, "err", why)
	t.broker.Publish(runs.Event{RunID: id, Kind: runs.EventStatus, Data: runs.StatusChange{Status: runs.StatusFailed, Error: msg}})
	return river.JobCancel(why)
}

// fieldText writes a validation error's fields as "field: message; ...".
func fieldText(err error) string {
	var ve *experiments.ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	return ve.Joined(" ")
}
