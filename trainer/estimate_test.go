package trainer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/trainer/nn"
)

// estimatePresetEnv names the preset a child process of
// TestMemoryEstimateHoldsForPresets trains.
const estimatePresetEnv = "TRAINYARD_ESTIMATE_PRESET"

// TestMemoryEstimateHoldsForPresets trains each seed preset for a few
// batches in a process of its own (this test binary run again) and holds its
// memory estimate against the live heap after a forced GC while it trains:
// the estimate must cover it and be at most 1.5 times it.
func TestMemoryEstimateHoldsForPresets(t *testing.T) {
	if os.Getenv(estimatePresetEnv) != "" {
		t.Skip("child process")
	}
	if testing.Short() {
		t.Skip("trains six models")
	}
	for _, name := range experiments.PresetNames() {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMemoryEstimateChild$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), estimatePresetEnv+"="+name)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			var live, est int64
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			for sc.Scan() {
				if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "MEMORY" {
					live, _ = strconv.ParseInt(f[1], 10, 64)
					est, _ = strconv.ParseInt(f[2], 10, 64)
				}
			}
			if live == 0 || est == 0 {
				t.Fatalf("child reported no measurement:\n%s", out)
			}
			ratio := float64(est) / float64(live)
			t.Logf("%s: estimate %.1f MiB, live heap %.1f MiB, ratio %.2f", name, mib(est), mib(live), ratio)
			if est < live {
				t.Errorf("%s: estimate %d bytes is below the live heap %d", name, est, live)
			}
			if ratio > 1.5 {
				t.Errorf("%s: estimate %d bytes is %.2f times the live heap %d (want <= 1.5)", name, est, ratio, live)
			}
		})
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// TestMemoryEstimateChild is the child of TestMemoryEstimateHoldsForPresets:
// it loads the preset's data and trains it as a worker does, forcing a GC
// during and after each of a few training steps, and prints the largest
// live heap and the estimate.
func TestMemoryEstimateChild(t *testing.T) {
	name := os.Getenv(estimatePresetEnv)
	if name == "" {
		t.Skip("runs only as a child of TestMemoryEstimateHoldsForPresets")
	}
	p, ok := experiments.PresetByName(name)
	if !ok {
		t.Fatalf("no preset %q", name)
	}
	spec := p.Spec
	est := spec.Estimate(experiments.Machine{Workers: runtime.GOMAXPROCS(0)})

	data, err := LoadSplits(spec)
	if err != nil {
		t.Fatal(err)
	}
	model, err := nn.Build(spec, spec.BatchSize)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var peak uint64
	measure := func() {
		runtime.GC()
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(s)
		mu.Lock()
		peak = max(peak, s[0].Value.Uint64())
		mu.Unlock()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Forced collections while the steps run catch what a step holds
	// only until it ends; the one after each step what it keeps.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			measure()
		}
	}()
	const steps = 3
	err = model.Fit(ctx, data.Train, data.Val, 0, nn.Hooks{OnBatch: func(p nn.Progress) {
		measure()
		if p.Batch >= steps {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Fit = %v, want it cancelled after %d steps", err, steps)
	}
	<-done
	runtime.KeepAlive(data)
	runtime.KeepAlive(model)
	fmt.Printf("MEMORY %d %d\n", peak, est.MemoryBytes)
}
