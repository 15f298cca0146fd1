package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"testing"
)

// TestBenchJSON runs `trainyard bench --json` on the smallest model and
// checks that it prints exactly one object with every field set.
func TestBenchJSON(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"bench", "--model", "nn1", "--batch", "32", "--steps", "2", "--json"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	var res benchResult
	if err := dec.Decode(&res); err != nil {
		t.Fatal(err)
	}
	if dec.More() {
		t.Errorf("more than one JSON value: %q", out.String())
	}
	if res.Model != "nn1" || res.Batch != 32 || res.TrainSamplesPerS <= 0 || res.InferSamplesPerS <= 0 || res.PeakRSSBytes <= 0 {
		t.Errorf("got %+v", res)
	}
	// nn1 per training image: forward 2 x 203,264 multiply-adds, the weight
	// gradients as much again, the second layer's input gradient, Adam.
	if perImage := res.GFLOPS * 1e9 / res.TrainSamplesPerS; perImage < 0.8e6 || perImage > 0.85e6 {
		t.Errorf("%.0f training FLOPs per image, want about 0.83 million", perImage)
	}
	if res.PeakGFLOPS <= 0 || res.PeakFraction <= 0 || res.PeakFraction != res.GFLOPS/res.PeakGFLOPS {
		t.Errorf("peak %.1f GFLOP/s, fraction %v", res.PeakGFLOPS, res.PeakFraction)
	}
	if err := run(context.Background(), []string{"bench", "--model", "nope"}, io.Discard, io.Discard); err == nil {
		t.Error("an unknown model was accepted")
	}
}

// TestBenchLatency times one image on one core and leaves GOMAXPROCS as it was.
func TestBenchLatency(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"bench", "--model", "nn1", "--batch", "16", "--steps", "3", "--latency", "--json"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var res benchResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.LatencyMs <= 0 {
		t.Errorf("latency = %v ms, want > 0", res.LatencyMs)
	}
	if after := runtime.GOMAXPROCS(0); after != before {
		t.Errorf("GOMAXPROCS %d after bench, was %d", after, before)
	}
}

// TestBenchStopsOnSignal checks that bench gives up when its context ends
// (Ctrl-C, SIGTERM) instead of timing on: a cancelled context stops the
// CAPTCHA model, whose 10,000 training steps would take an hour.
func TestBenchStopsOnSignal(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	err := run(ctx, []string{"bench", "--model", "captcha2", "--steps", "10000", "--json"}, &out, io.Discard)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("bench with a cancelled context returned %v, want context.Canceled", err)
	}
	if out.Len() != 0 {
		t.Fatalf("bench printed %q after being stopped", out.String())
	}
}
