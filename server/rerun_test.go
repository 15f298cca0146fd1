package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestRerunWithChanges opens the experiment form filled with a stored run's spec.
func TestRerunWithChanges(t *testing.T) {
	t.Parallel()
	a := setup(t, 0)
	_, ids := a.create(t, `{"name": "tuned", "preset": "mnist-cnn1", "overrides": {"epochs": 7, "learning_rate": 0.0031, "batch_size": 96, "seed": 42}}`)
	code, b, _ := a.do(t, "GET", "/runs/"+itoa(ids[0]), "")
	if code != http.StatusOK || !strings.Contains(string(b), `href="/experiments/new?from_run=`+itoa(ids[0])+`"`) {
		t.Fatalf("run page: %d, no re-run link", code)
	}
	code, b, _ = a.do(t, "GET", "/experiments/new?from_run="+itoa(ids[0]), "")
	page := string(b)
	if code != http.StatusOK {
		t.Fatalf("form: %d", code)
	}
	for _, want := range []string{`value="tuned (re-run of #` + itoa(ids[0]) + `)"`, `id="epochs"`, `value="7"`, `value="0.0031"`, `value="96"`, `value="42"`} {
		if !strings.Contains(page, want) {
			t.Errorf("form lacks %s", want)
		}
	}
	if code, _, _ := a.do(t, "GET", "/experiments/new?from_run=999", ""); code != http.StatusNotFound {
		t.Errorf("unknown run: %d", code)
	}
	if code, b, _ := a.do(t, "GET", "/experiments/new?from_run=abc", ""); code != http.StatusBadRequest || !strings.Contains(string(b), "from_run") {
		t.Errorf("bad run id: %d", code)
	}
}
