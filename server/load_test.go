package server

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trainyard/trainyard/runs"
)

// TestLoadWhileTraining puts 50 clients on pages and the API and holds 20
// event streams open for 20 seconds while a run trains. Every request must
// succeed, every stream must carry progress, and the run must record every
// epoch once. Latencies are logged (go test -v -run TestLoadWhileTraining
// ./server/), never asserted: CI machines are noisy.
func TestLoadWhileTraining(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: 20 s")
	}
	const (
		clients  = 50
		streams  = 20
		duration = 20 * time.Second
		epochs   = 60
	)
	a := setup(t, 1)
	expID, ids := a.create(t, `{"name": "under load", "preset": "mnist-nn1", "overrides": {"epochs": 60, "batch_size": 128, "train_limit": 30000, "seed": 3}}`)
	id := ids[0]
	a.waitFor(t, id, time.Minute, func(r runs.Run) bool { return r.Status == runs.StatusRunning })

	paths := []string{
		"/", "/runs/" + itoa(id), "/experiments/" + itoa(expID), "/compare?runs=" + itoa(id), "/datasets",
		"/experiments/new", "/api/runs", "/api/runs/" + itoa(id), "/api/experiments", "/api/experiments/" + itoa(expID),
		"/api/compare?runs=" + itoa(id), "/api/presets",
	}
	// The streams live until the load ends; opening them may take a minute.
	streamCtx, stopStreams := context.WithTimeout(context.Background(), time.Minute+duration)
	defer stopStreams()
	var streamsWG sync.WaitGroup
	loadStart := time.Now()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients + streams}}

	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  []string
		requests  atomic.Int64
		wg        sync.WaitGroup
	)
	fail := func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 20 {
			failures = append(failures, msg)
		}
	}

	// Event streams, opened before the load starts (each has its first
	// event): each must see progress while the run trains under the load.
	progress := make([]atomic.Int64, streams)
	opened := make(chan struct{}, streams)
	for i := range streams {
		streamsWG.Go(func() {
			req, _ := http.NewRequestWithContext(streamCtx, "GET", a.url+"/api/runs/"+itoa(id)+"/events", nil)
			res, err := client.Do(req)
			if err != nil {
				fail("stream: " + err.Error())
				opened <- struct{}{}
				return
			}
			defer res.Body.Close()
			if res.StatusCode != http.StatusOK {
				fail("stream: " + res.Status)
				opened <- struct{}{}
				return
			}
			sc := bufio.NewScanner(res.Body)
			first := true
			for sc.Scan() {
				if first && strings.HasPrefix(sc.Text(), "data:") {
					first = false
					opened <- struct{}{}
				}
				if sc.Text() == "event: progress" {
					progress[i].Add(1)
				}
			}
			if first {
				opened <- struct{}{}
			}
		})
	}
	for range streams {
		<-opened
	}
	loadStart = time.Now()
	ctx, stop := context.WithTimeout(context.Background(), duration)
	defer stop()

	for c := range clients {
		wg.Go(func() {
			mine := make([]time.Duration, 0, 1024)
			for n := c; ctx.Err() == nil; n++ {
				path := paths[n%len(paths)]
				req, _ := http.NewRequestWithContext(context.WithoutCancel(ctx), "GET", a.url+path, nil)
				start := time.Now()
				res, err := client.Do(req)
				if err != nil {
					fail(path + ": " + err.Error())
					continue
				}
				_, err = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				mine = append(mine, time.Since(start))
				requests.Add(1)
				if res.StatusCode != http.StatusOK || err != nil {
					fail(path + ": " + res.Status)
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	stopStreams()
	streamsWG.Wait()

	if len(failures) > 0 {
		t.Errorf("%d+ failed requests, first: %s", len(failures), strings.Join(failures, "; "))
	}
	for i := range progress {
		if progress[i].Load() == 0 {
			t.Errorf("event stream %d carried no progress in %s", i, duration)
		}
	}
	slices.Sort(latencies)
	if len(latencies) == 0 {
		t.Fatal("no request finished")
	}
	pct := func(p float64) time.Duration { return latencies[int(p*float64(len(latencies)-1))] }
	t.Logf("%d requests in %s (%.0f req/s) by %d clients beside %d event streams: p50 %s, p99 %s, max %s",
		requests.Load(), duration, float64(requests.Load())/duration.Seconds(), clients, streams,
		pct(0.5).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), latencies[len(latencies)-1].Round(time.Millisecond))

	r := a.waitFor(t, id, 5*time.Minute, func(r runs.Run) bool { return r.Status.Done() })
	if r.Status != runs.StatusSucceeded {
		t.Fatalf("run ended %s: %s", r.Status, r.Error)
	}
	t.Logf("the run finished %s after the load began (the load lasted %s)", r.FinishedAt.Sub(loadStart).Round(100*time.Millisecond), duration)
	if len(r.Epochs) != epochs {
		t.Fatalf("%d epochs recorded, want %d", len(r.Epochs), epochs)
	}
	for i, e := range r.Epochs {
		if e.Epoch != i+1 {
			t.Fatalf("epoch %d recorded as %d", i+1, e.Epoch)
		}
	}
}
