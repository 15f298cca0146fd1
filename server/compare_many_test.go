package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trainyard/trainyard/runs"
)

// seedFinishedRuns queues n runs in experiments of perExp runs each (a
// learning-rate sweep, so every run differs) and records epochs of made-up
// metrics through the run store, as a worker would: run i's validation
// accuracy climbs by 0.1 - i/1000 per epoch from 0.5, each epoch taking
// 1 + i/10 seconds, then it succeeds. It returns the run ids in order.
func seedFinishedRuns(t *testing.T, a *testApp, n, perExp, epochs int) []int64 {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	for e := 0; len(ids) < n; e++ {
		k := min(perExp, n-len(ids))
		lrs := make([]string, k)
		for i := range lrs {
			lrs[i] = fmt.Sprintf("0.00%d", i+1)
		}
		_, got := a.create(t, fmt.Sprintf(`{"name": "exp %d", "preset": "mnist-nn1", "overrides": {"epochs": %d},
			"sweep": {"params": {"learning_rate": [%s]}}}`, e, epochs, strings.Join(lrs, ", ")))
		ids = append(ids, got...)
	}
	st := a.srv.h.runs
	for i, id := range ids {
		l, err := st.Start(ctx, id, "cpu", "w1", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for ep := 1; ep <= epochs; ep++ {
			acc := min(0.5+float64(ep)*(0.1-float64(i)/1000), 1)
			if err := st.RecordEpoch(ctx, l, runs.Epoch{Epoch: ep, Loss: 1 / float64(ep), Accuracy: runs.Float(acc), ValLoss: runs.Float(1.1 / float64(ep)),
				ValAccuracy: runs.Float(acc - 0.01), LearningRate: 0.001, Seconds: 1 + float64(i)/10}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Succeed(ctx, l, runs.TestResult{Images: 100, Accuracy: 0.9, Confusion: [][]int{}, Classes: []string{}}, runs.Weights{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func joinIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = itoa(id)
	}
	return strings.Join(parts, ",")
}

// TestCompareHundredRunsAcrossExperiments: compare takes up to 100 runs
// from several experiments; each summary row has the time to the target
// validation accuracy (null when never reached); a 101st run and a bad
// target answer 400 naming the parameter.
func TestCompareHundredRunsAcrossExperiments(t *testing.T) {
	t.Parallel()
	a := setup(t, 0)
	ids := seedFinishedRuns(t, a, 101, 25, 5)
	code, b, _ := a.do(t, "GET", "/api/compare?target=0.95&runs="+joinIDs(ids[:100]), "")
	var c struct {
		runs.Comparison
		Groups []runs.Group `json:"groups"`
	}
	if code != http.StatusOK || json.Unmarshal(b, &c) != nil {
		t.Fatalf("compare 100: %d %.300s", code, b)
	}
	if len(c.Summary) != 100 || c.Target != 0.95 || !strings.Contains(string(b), `"time_to_target":null`) {
		t.Fatalf("compare 100: %d rows, target %v", len(c.Summary), c.Target)
	}
	exps := map[int64]bool{}
	for _, r := range c.Runs {
		exps[r.ExperimentID] = true
	}
	if len(exps) != 4 {
		t.Fatalf("runs from %d experiments, want 4", len(exps))
	}
	// Run 0 climbs 0.1 per epoch from 0.5: val 0.59, 0.69, 0.79, 0.89, 0.99:
	// 0.95 at epoch 5 after 5 x 1 s. Run 60 climbs 0.04: never.
	if s := c.Summary[0]; s.TimeToTarget == nil || *s.TimeToTarget != 5 || *s.TargetEpoch != 5 {
		t.Fatalf("run 0 time to 95%%: %v epoch %v", s.TimeToTarget, s.TargetEpoch)
	}
	if s := c.Summary[60]; s.TimeToTarget != nil || s.TargetEpoch != nil {
		t.Fatalf("run 60 reached 95%%: %v", *s.TimeToTarget)
	}
	code, b, _ = a.do(t, "GET", "/api/compare?runs="+joinIDs(ids[:3]), "")
	if code != http.StatusOK || !strings.Contains(string(b), `"target":0.9`) {
		t.Fatalf("default target: %d %.200s", code, b)
	}
	for q, want := range map[string]string{
		"runs=" + joinIDs(ids):                     `runs: compare at most 100 runs`,
		"runs=" + joinIDs(ids[:2]) + "&target=1.5": `target: \"1.5\" is not a validation accuracy`,
		"runs=" + joinIDs(ids[:2]) + "&target=x":   `target: \"x\" is not a validation accuracy`,
	} {
		code, b, _ := a.do(t, "GET", "/api/compare?"+q, "")
		if code != http.StatusBadRequest || !strings.Contains(string(b), want) {
			t.Errorf("%.40s: %d %s, want 400 %s", q, code, b, want)
		}
	}
	code, b, _ = a.do(t, "GET", "/compare?target=0.95&runs="+joinIDs(ids[:100]), "")
	html := string(b)
	if code != http.StatusOK || strings.Count(html, "data-time-to") != 100 || !strings.Contains(html, `id="target"`) ||
		!strings.Contains(html, `value="95"`) || !strings.Contains(html, `id="x-time"`) {
		t.Fatalf("compare page of 100 runs: %d", code)
	}
	code, _, _ = a.do(t, "GET", "/compare?runs="+joinIDs(ids[:2])+",999999", "")
	if code != http.StatusOK {
		t.Fatalf("compare with a missing run: %d", code)
	}
}
