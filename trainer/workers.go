package trainer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
)

// Queue is the River queue of the runs that ask for device kind: runs that
// take any device use River's default queue (where runs queued before
// device kinds existed wait too), the others "cpu" or "gpu".
func Queue(kind string) string {
	switch kind {
	case experiments.DeviceCPU, experiments.DeviceGPU:
		return kind
	}
	return river.QueueDefault
}

// queues are the River queues a trainer with devices serves: the default
// queue (runs that take any device) on every device, and each kind's own
// queue on the devices of that kind. A job fetched waits for a free device.
func queues(devices []string, workers int) map[string]river.QueueConfig {
	perKind := map[string]int{}
	for _, d := range devices {
		perKind[experiments.DeviceKind(d)]++
	}
	n := min(workers, len(devices))
	q := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: n}}
	for kind, count := range perKind {
		q[Queue(kind)] = river.QueueConfig{MaxWorkers: min(n, count)}
	}
	return q
}

// CheckDevices refuses devices this build cannot train on: it trains on
// CPUs only ("cpu", once per run that may train at once); a GPU ("cuda:0",
// "gpu") needs an engine this build does not have.
func CheckDevices(devices []string) error {
	for _, d := range devices {
		switch experiments.DeviceKind(d) {
		case experiments.DeviceCPU:
		case experiments.DeviceGPU:
			return fmt.Errorf("device %q: this build of trainyard has no GPU engine (it trains on CPUs only); use --devices cpu", d)
		default:
			return fmt.Errorf("device %q: unknown; a device is \"cpu\" (repeat it, comma-separated, for runs at once: cpu,cpu)", d)
		}
	}
	return nil
}

// MaxWorkerName is the longest worker name.
const MaxWorkerName = 100

// CheckWorkerName refuses a worker name that is empty, too long, or has
// characters other than letters, digits and ._-:@.
func CheckWorkerName(name string) error {
	if name == "" || len(name) > MaxWorkerName {
		return fmt.Errorf("worker name must be 1..%d characters, got %d", MaxWorkerName, len(name))
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' || r == ':' || r == '@'
		if !ok {
			return fmt.Errorf("worker name %q: use letters, digits and . _ - : @ only", name)
		}
	}
	return nil
}

// Name is the name of this process's workers: Config.Name, or the default
// name Start registered.
func (t *Trainer) Name() string {
	if t.cfg.Name == "" {
		return t.cfg.DefaultName
	}
	return t.cfg.Name
}

// workerBeat is how often the worker registry hears from this process.
func (t *Trainer) workerBeat() time.Duration {
	return min(max(t.cfg.RescueAfter/6, 200*time.Millisecond), 5*time.Second)
}

// register records this process's workers in the registry and keeps their
// heartbeat until deregister. An explicit name that a live worker holds is
// refused after waiting three heartbeats (a process that died holds its
// name until then, so a restart right after a crash goes through); a
// default name that a live worker holds gets a suffix instead.
func (t *Trainer) register(ctx context.Context) error {
	w := runs.Worker{Host: t.host, Devices: t.cfg.Devices, Version: t.cfg.Version, Heartbeat: t.workerBeat()}
	if t.cfg.Name == "" {
		for i := 1; ; i++ {
			w.Name = t.cfg.DefaultName
			if i > 1 {
				w.Name = fmt.Sprintf("%s-%d", t.cfg.DefaultName, i)
			}
			err := t.workers.Register(ctx, w, t.instance)
			if err == nil {
				break
			}
			if !errors.Is(err, runs.ErrWorkerNameTaken) || i >= 100 {
				return err
			}
		}
		t.cfg.Name = w.Name
	} else {
		w.Name = t.cfg.Name
		deadline := time.Now().Add((runs.LostAfterBeats + 1) * t.workerBeat())
		for waited := false; ; waited = true {
			err := t.workers.Register(ctx, w, t.instance)
			if err == nil {
				break
			}
			if !errors.Is(err, runs.ErrWorkerNameTaken) {
				return err
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%w: give this one another name (--name)", err)
			}
			if !waited {
				t.cfg.Logger.Info("waiting for the name to be free (a live worker holds it, or one that died)", "worker", w.Name)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(t.workerBeat() / 2):
			}
		}
	}
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(t.workerBeat())
		defer tick.Stop()
		for {
			select {
			case <-bctx.Done():
				return
			case <-tick.C:
			}
			err := t.workers.Beat(bctx, t.cfg.Name, t.instance)
			if errors.Is(err, runs.ErrNotFound) {
				// Counted lost (a long stall) and forgotten: register again.
				err = t.workers.Register(bctx, w, t.instance)
			}
			if err != nil && bctx.Err() == nil {
				t.cfg.Logger.Warn("worker heartbeat", "worker", t.cfg.Name, "err", err)
			}
		}
	}()
	t.stopBeat = func() {
		cancel()
		<-done
	}
	return nil
}

// deregister stops the registry heartbeat and removes this process's entry.
func (t *Trainer) deregister(ctx context.Context) {
	if t.stopBeat == nil {
		return
	}
	t.stopBeat()
	t.stopBeat = nil
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := t.workers.Deregister(ctx, t.cfg.Name, t.instance); err != nil {
		t.cfg.Logger.Warn("deregister worker", "worker", t.cfg.Name, "err", err)
	}
}
