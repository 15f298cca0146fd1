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

// TestAPIKeepsZeroAndUnknownMetrics checks the JSON contract: no result or
// metric field disappears because its value is zero, a value that is not
// known is null, and the standard deviation of a single run is null.
func TestAPIKeepsZeroAndUnknownMetrics(t *testing.T) {
	t.Parallel()
	a := setup(t, 0)
	ctx := context.Background()
	_, ids := a.create(t, `{"name": "captcha zero", "preset": "captcha-model1", "overrides": {"epochs": 1, "val_fraction": 0, "train_fraction": 0.8,
		"source": {"kind": "synthetic", "images": 100, "seed": 1}}}`)
	_, mnist := a.create(t, `{"name": "nn1", "preset": "mnist-nn1", "overrides": {"epochs": 1, "train_limit": 500}}`)
	st := a.srv.h.runs
	leases := map[int64]runs.Lease{}
	for _, id := range []int64{ids[0], mnist[0]} {
		l, err := st.Start(ctx, id, "cpu", "w1", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		leases[id] = l
	}
	// A CAPTCHA run without a validation set that got no image right.
	zero := runs.Float(0)
	if err := st.RecordEpoch(ctx, leases[ids[0]], runs.Epoch{Epoch: 1, Loss: 11.7, Accuracy: zero, CharAccuracy: runs.Float(0.06),
		Heads: make([]runs.HeadMetrics, 4), Seconds: 1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.Succeed(ctx, leases[ids[0]], runs.TestResult{Images: 20, Loss: 11.8, Accuracy: 0, ImageAccuracy: zero, CharAccuracy: zero,
		PerPosition: []float64{0, 0, 0, 0}, Confusion: [][]int{}, Classes: []string{}}, runs.Weights{Artifact: "weights/x.safetensors"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordEpoch(ctx, leases[mnist[0]], runs.Epoch{Epoch: 1, Loss: 0.5, Accuracy: runs.Float(0.9), ValLoss: runs.Float(0.4),
		ValAccuracy: runs.Float(0.91), Seconds: 1}, nil); err != nil {
		t.Fatal(err)
	}

	get := func(path string) map[string]any {
		t.Helper()
		code, b, _ := a.do(t, "GET", path, "")
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, b)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	has := func(what string, m map[string]any, key string, want any) {
		t.Helper()
		v, ok := m[key]
		if !ok {
			t.Errorf("%s: no %q key in %v", what, key, m)
		} else if fmt.Sprint(v) != fmt.Sprint(want) {
			t.Errorf("%s: %s = %v, want %v", what, key, v, want)
		}
	}
	r := get(fmt.Sprintf("/api/runs/%d", ids[0]))
	test := r["test"].(map[string]any)
	for key, want := range map[string]any{"accuracy": 0, "image_accuracy": 0, "char_accuracy": 0, "per_position": []any{0, 0, 0, 0},
		"best_val_accuracy": nil, "best_val_char_accuracy": nil, "best_epoch": 0, "ms_per_image": 0} {
		has("captcha test", test, key, want)
	}
	ep := r["epochs"].([]any)[0].(map[string]any)
	for key, want := range map[string]any{"accuracy": 0, "char_accuracy": 0.06, "val_loss": nil, "val_accuracy": nil, "val_char_accuracy": nil} {
		has("captcha epoch", ep, key, want)
	}
	m := get(fmt.Sprintf("/api/runs/%d", mnist[0]))
	mep := m["epochs"].([]any)[0].(map[string]any)
	for key, want := range map[string]any{"accuracy": 0.9, "val_accuracy": 0.91, "char_accuracy": nil, "val_char_accuracy": nil, "heads": []any{}} {
		has("mnist epoch", mep, key, want)
	}
	has("running run", m, "test", nil)

	// The epochs CSV names both accuracies and leaves unknown values empty.
	code, b, _ := a.do(t, "GET", fmt.Sprintf("/api/runs/%d/epochs.csv", ids[0]), "")
	if want := "epoch,loss,accuracy,val_loss,val_accuracy,char_accuracy,val_char_accuracy,learning_rate,seconds\n1,11.7,0,,,0.06,,0,1\n"; code != http.StatusOK || string(b) != want {
		t.Errorf("epochs.csv: %d %q, want %q", code, b, want)
	}
	code, b, _ = a.do(t, "GET", "/api/runs.csv", "")
	if code != http.StatusOK || !strings.Contains(string(b), "test_accuracy,best_val_accuracy,test_char_accuracy,best_val_char_accuracy") {
		t.Errorf("runs.csv: %d %.300s", code, b)
	}

	c := get(fmt.Sprintf("/api/compare?runs=%d,%d", ids[0], mnist[0]))
	sum := c["summary"].([]any)
	for key, want := range map[string]any{"test_accuracy": 0, "test_char_accuracy": 0, "best_val_accuracy": nil, "best_val_char_accuracy": nil, "ms_per_image": 0} {
		has("captcha summary", sum[0].(map[string]any), key, want)
	}
	for key, want := range map[string]any{"test_accuracy": nil, "best_val_accuracy": 0.91, "best_epoch": 1, "ms_per_image": nil} {
		has("mnist summary", sum[1].(map[string]any), key, want)
	}
	for _, g := range c["groups"].([]any) {
		stats := g.(map[string]any)["stats"].(map[string]any)
		for name, s := range stats {
			s := s.(map[string]any)
			has("group stat "+name, s, "std", nil)
			has("group stat "+name, s, "n", s["n"])
		}
	}
}
