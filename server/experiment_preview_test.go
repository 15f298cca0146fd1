package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestExperimentPreview: POST /api/experiments/preview says how many runs a
// body queues and their estimated total time, or the 422 errors it would
// get (sweep.params.<name> for a point over the run budget), and stores
// nothing.
func TestExperimentPreview(t *testing.T) {
	t.Parallel()
	a := setup(t, 0)
	preview := func(body string) previewResponse {
		t.Helper()
		code, b, _ := a.do(t, "POST", "/api/experiments/preview", body)
		var out previewResponse
		if code != http.StatusOK || json.Unmarshal(b, &out) != nil || !strings.Contains(string(b), `"seconds":`) {
			t.Fatalf("preview %s: %d %s", body, code, b)
		}
		return out
	}
	p := preview(`{"preset": "mnist-nn1", "repeats": 3, "overrides": {"epochs": 2},
		"sweep": {"params": {"learning_rate": [0.001, 0.0003], "epochs": {"uniform": [2, 4], "steps": 3}}}}`)
	if p.Runs != 18 || p.Points != 6 || p.Repeats != 3 || p.Epochs != 3*2*(2+3+4) || len(p.Errors) != 0 || !strings.HasPrefix(p.Text, "Queues 18 runs (6 points × 3 seeds), 54 epochs") {
		t.Fatalf("grid preview = %+v", p)
	}
	if p.Seconds != nil && *p.Seconds <= 0 {
		t.Fatalf("estimated seconds %v", *p.Seconds)
	}
	p = preview(`{"preset": "mnist-nn1"}`)
	if p.Runs != 1 || p.Points != 1 || !strings.HasPrefix(p.Text, "Queues 1 run,") {
		t.Fatalf("plain preview = %+v", p)
	}
	p = preview(`{"name": "sweep", "preset": "captcha-model1", "sweep": {"params": {"batch_size": [32, 8192]}}}`)
	if p.Runs != 0 || !strings.Contains(p.Errors["sweep.params.batch_size"], "(at batch_size=8192)") {
		t.Fatalf("point over the budget: %+v", p)
	}
	p = preview(`{"preset": "mnist-nn1", "sweep": {"mode": "random", "samples": 0, "params": {"learning_rate": {"log_uniform": [0.0001, 0.01]}}}}`)
	if !strings.Contains(p.Errors["sweep.samples"], "1 to 1000") {
		t.Fatalf("random sweep without samples: %+v", p)
	}
	if code, _, _ := a.do(t, "POST", "/api/experiments/preview", `{"preset": "mnist-nn1", "colour": 1}`); code != http.StatusBadRequest {
		t.Fatalf("unknown field: %d", code)
	}
	if code, b, _ := a.do(t, "GET", "/api/runs", ""); code != http.StatusOK || !strings.Contains(string(b), `"runs":[]`) {
		t.Fatalf("a preview queued something: %s", b)
	}
}
