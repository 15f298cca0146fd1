package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestSweepAPI queues a grid sweep and a random one through the API and
// checks the runs it stored; bad sweeps answer 422 naming the setting.
func TestSweepAPI(t *testing.T) {
	t.Parallel()
	a := setup(t, 0)
	id, ids := a.create(t, `{"name": "lr sweep", "preset": "mnist-nn1", "repeats": 2, "overrides": {"epochs": 3, "seed": 5},
		"sweep": {"mode": "grid", "params": {"learning_rate": [0.001, 0.0003], "layers[1].units": [64, 128, 256]}}}`)
	if len(ids) != 12 {
		t.Fatalf("%d runs, want 2 rates x 3 widths x 2 repeats", len(ids))
	}
	type point struct {
		lr    float64
		units int
	}
	seeds := map[point][]int64{}
	for _, rid := range ids {
		r := a.run(t, rid)
		seeds[point{r.Spec.LearningRate, r.Spec.Layers[1].Units}] = append(seeds[point{r.Spec.LearningRate, r.Spec.Layers[1].Units}], r.Spec.Seed)
		if r.Spec.Epochs != 3 {
			t.Fatalf("run %d: epochs %d", rid, r.Spec.Epochs)
		}
	}
	if len(seeds) != 6 {
		t.Fatalf("points = %v", seeds)
	}
	for p, s := range seeds {
		if len(s) != 2 || s[0] == s[1] || (s[0] != 5 && s[1] != 5) {
			t.Fatalf("point %v seeds %v, want 5 and 6", p, s)
		}
	}
	code, b, _ := a.do(t, "GET", "/api/experiments/"+itoa(id), "")
	var e struct {
		Sweep struct {
			Mode   string                     `json:"mode"`
			Params map[string]json.RawMessage `json:"params"`
		} `json:"sweep"`
	}
	if code != http.StatusOK || json.Unmarshal(b, &e) != nil || e.Sweep.Mode != "grid" || string(e.Sweep.Params["learning_rate"]) != "[0.001,0.0003]" {
		t.Fatalf("experiment: %d %s", code, b)
	}

	_, ids = a.create(t, `{"name": "random", "preset": "mnist-nn1", "overrides": {"epochs": 1},
		"sweep": {"mode": "random", "samples": 4, "params": {"learning_rate": {"log_uniform": [0.0001, 0.01]}}}}`)
	if len(ids) != 4 {
		t.Fatalf("random sweep: %d runs", len(ids))
	}

	for body, field := range map[string]string{
		`{"preset": "mnist-nn1", "sweep": {"params": {"learning_rate": [0.001, -0.5]}}}`:                                "sweep.params.learning_rate",
		`{"preset": "mnist-nn1", "sweep": {"params": {"momentum": [0.9]}}}`:                                             "sweep.params.momentum",
		`{"preset": "mnist-nn1", "sweep": {"mode": "random", "params": {"epochs": [1, 2]}}}`:                            "sweep.samples",
		`{"preset": "mnist-nn1", "repeats": 20, "sweep": {"mode": "random", "samples": 60, "params": {"epochs": [1]}}}`: "sweep",
	} {
		code, b, _ := a.do(t, "POST", "/api/experiments", body)
		if code != http.StatusUnprocessableEntity || !strings.Contains(string(b), `"`+field+`"`) {
			t.Errorf("%s: %d %s, want 422 naming %s", body, code, b, field)
		}
	}
	if code, _, _ := a.do(t, "POST", "/api/experiments", `{"preset": "mnist-nn1", "sweep": {"params": {"epochs": {"between": [1, 2]}}}}`); code != http.StatusBadRequest {
		t.Errorf("malformed sweep: %d", code)
	}
}
