package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
)

const gib = 1 << 30

// mnistSpecJSON is an MNIST spec around the given layers.
func mnistSpecJSON(batch int, layers string) string {
	return fmt.Sprintf(`{"dataset": "mnist", "layers": [%s], "heads": 1, "optimizer": "adam", "epochs": 1,
		"batch_size": %d, "learning_rate": 0.001, "train_fraction": 0.5, "val_fraction": 0.2, "seed": 1}`, layers, batch)
}

// The probes: specs that once took the server down. Each must be
// refused with 422 naming the field and the limit, queue nothing, and leave
// the server answering.
func TestAdmissionRefusesSpecsThatDoNotFit(t *testing.T) {
	t.Parallel()
	a := setupCfg(t, Config{Workers: 1, MaxRunMemory: 8 * gib})
	manyLayers := strings.Repeat(`{"type": "dropout", "rate": 0.1},`, 5000) + `{"type": "dense", "units": 10, "activation": "softmax"}`
	cases := []struct {
		name string
		body string
		// want maps a field to the words its message must hold.
		want map[string][]string
	}{
		{
			name: "210 billion parameters",
			body: `{"name": "huge", "spec": ` + mnistSpecJSON(60000, `{"type": "conv2d", "filters": 4096, "kernel": 3, "padding": "same", "activation": "relu"},
				{"type": "flatten"}, {"type": "dense", "units": 65536, "activation": "relu"}, {"type": "dense", "units": 10, "activation": "softmax"}`) + `}`,
			want: map[string][]string{
				"layers[2].units": {"210,454,159,370 parameters", "this server allows at most 100,000,000",
					"needs about", "TiB of memory", "this server allows 8 GiB per run"},
			},
		},
		{
			name: "411 million parameters",
			body: `{"name": "wide", "spec": ` + mnistSpecJSON(256, `{"type": "conv2d", "filters": 64, "kernel": 3, "padding": "same", "activation": "relu"},
				{"type": "flatten"}, {"type": "dense", "units": 8192, "activation": "relu"}, {"type": "dense", "units": 10, "activation": "softmax"}`) + `}`,
			want: map[string][]string{
				"layers[2].units": {"411,132,554 parameters", "at most 100,000,000", "GiB of memory", "this server allows 8 GiB per run"},
			},
		},
		{
			name: "200,000 synthetic CAPTCHAs",
			body: `{"name": "many", "preset": "captcha-model1", "overrides": {"source": {"kind": "synthetic", "images": 200000, "seed": 1}}}`,
			want: map[string][]string{"source.images": {"10..50000"}},
		},
		{
			name: "5,002 layers",
			body: `{"name": "deep", "spec": ` + mnistSpecJSON(32, `{"type": "flatten"}, `+manyLayers) + `}`,
			want: map[string][]string{"layers": {"at most 64 layers", "5002"}},
		},
		{
			name: "a sweep with one point over the budget",
			body: `{"name": "sweep", "preset": "captcha-model1", "sweep": {"params": {"batch_size": [32, 8192]}}}`,
			want: map[string][]string{"sweep.params.batch_size": {"of memory; this server allows 8 GiB per run", "(at batch_size=8192)"}},
		},
		{
			name: "a name with a newline",
			body: `{"name": "two\nlines", "preset": "mnist-nn1"}`,
			want: map[string][]string{"name": {"control characters"}},
		},
		{
			name: "a name of 201 characters",
			body: `{"name": "` + strings.Repeat("é", 201) + `", "preset": "mnist-nn1"}`,
			want: map[string][]string{"name": {"at most 200 characters"}},
		},
	}
	for _, c := range cases {
		code, body, _ := a.do(t, "POST", "/api/experiments", c.body)
		if code != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422: %s", c.name, code, body)
			continue
		}
		var resp struct {
			Errors map[string]string `json:"errors"`
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatalf("%s: %v: %s", c.name, err, body)
		}
		for field, words := range c.want {
			msg, ok := resp.Errors[field]
			if !ok {
				t.Errorf("%s: no error for %q in %v", c.name, field, resp.Errors)
				continue
			}
			for _, w := range words {
				if !strings.Contains(msg, w) {
					t.Errorf("%s: %s = %q, want it to say %q", c.name, field, msg, w)
				}
			}
		}
		if len(body) > 4096 {
			t.Errorf("%s: a %d-byte answer; one error per field is short", c.name, len(body))
		}
	}
	// Alive, and nothing stored or queued.
	if code, body, _ := a.do(t, "GET", "/api/runs", ""); code != http.StatusOK {
		t.Errorf("runs after the refusals: %d %s", code, body)
	}
	for _, table := range []string{"experiments", "runs", "river_job"} {
		var n int
		if err := a.srv.db.SQL.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s rows after the refusals = %d (%v), want 0", table, n, err)
		}
	}
}

// The summary the form shows live carries the estimate in numbers and in
// words, and the limits a spec exceeds as field errors.
func TestSummaryShowsEstimateAndLimits(t *testing.T) {
	t.Parallel()
	a := setupCfg(t, Config{Workers: 0, MaxRunMemory: 2 * gib})
	p, _ := experiments.PresetByName("captcha-model1")
	spec, _ := json.Marshal(p.Spec)
	code, body, _ := a.do(t, "POST", "/api/summary", string(spec))
	if code != http.StatusOK {
		t.Fatalf("summary: %d %s", code, body)
	}
	var out summaryResponse
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	e := out.Estimate
	if e.Params != 866412 || e.MemoryBytes < 512<<20 || e.DatasetBytes <= 0 || e.ActivationBytes <= 0 {
		t.Errorf("estimate = %+v", e)
	}
	if e.FLOPsPerImage < 0.5e9 || e.FLOPsPerImage > 0.56e9 {
		t.Errorf("forward FLOPs per image = %g, want about 0.53e9", e.FLOPsPerImage)
	}
	if e.EpochSeconds <= 0 {
		t.Errorf("no time per epoch: the throughput was not measured (%+v)", e)
	}
	for _, w := range []string{"training memory 1.", "GiB", "0.53 GFLOP per image", "per epoch here"} {
		if !strings.Contains(out.EstimateText, w) {
			t.Errorf("estimate_text = %q, want it to say %q", out.EstimateText, w)
		}
	}
	if out.Limits.MaxRunMemoryBytes != 2*gib || out.Limits.MaxParams != experiments.DefaultMaxParams || len(out.Errors) != 0 {
		t.Errorf("limits %+v errors %v", out.Limits, out.Errors)
	}
	// Every field of the estimate is present, zero or not.
	var raw map[string]map[string]any
	json.Unmarshal(body, &raw)
	for _, k := range []string{"params", "weight_bytes", "optimizer_bytes", "gradient_bytes", "activation_bytes", "workspace_bytes",
		"dataset_bytes", "memory_bytes", "flops_per_image", "train_flops_per_image", "epoch_seconds", "memory_field"} {
		if _, ok := raw["estimate"][k]; !ok {
			t.Errorf("estimate has no %q: %s", k, body)
		}
	}

	big := p.Spec.Clone()
	big.BatchSize = 4096
	spec, _ = json.Marshal(big)
	_, body, _ = a.do(t, "POST", "/api/summary", string(spec))
	out = summaryResponse{}
	json.Unmarshal(body, &out)
	if msg := out.Errors["batch_size"]; !strings.Contains(msg, "of memory; this server allows 2 GiB per run") {
		t.Errorf("batch 4096 on a 2 GiB budget: errors %v", out.Errors)
	}
}

// The form re-renders with the limit next to the field that drives it.
func TestFormRefusesSpecOverBudget(t *testing.T) {
	t.Parallel()
	a := setupCfg(t, Config{Workers: 0, MaxRunMemory: 1 * gib})
	p, _ := experiments.PresetByName("captcha-model1")
	s := p.Spec.Clone()
	s.BatchSize = 1024
	spec, _ := json.Marshal(s)
	form := url.Values{"name": {"too big"}, "preset": {"captcha-model1"}, "repeats": {"1"}, "spec_json": {string(spec)}}
	res, err := http.PostForm(a.url+"/experiments", form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	page := b.String()
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "this server allows 1 GiB per run") {
		t.Errorf("form: %d, want 422 naming the budget", res.StatusCode)
	}
	if !strings.Contains(page, `id="model-estimate"`) || !strings.Contains(page, "training memory") {
		t.Error("the form does not show the estimate")
	}
}

// A worker checks again before it builds: a run queued under a larger
// budget fails with the reason on a server whose budget it exceeds.
func TestWorkerRefusesRunOverItsBudget(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := setupCfg(t, Config{DataDir: dir, Workers: 0})
	_, ids := a.create(t, nn1Quick)
	a.srv.Close(t.Context())

	b := setupCfg(t, Config{DataDir: dir, Workers: 1, RescueAfter: 6 * time.Second, MaxRunMemory: 128 << 20})
	r := b.waitFor(t, ids[0], time.Minute, func(r runs.Run) bool { return r.Status != runs.StatusQueued })
	if r.Status != runs.StatusFailed || !strings.Contains(r.Error, "this server allows 128 MiB per run") || len(r.Epochs) != 0 {
		t.Errorf("run = %s %q with %d epochs, want failed naming the budget", r.Status, r.Error, len(r.Epochs))
	}
}

// Runs that do not fit in the budget together train one after the other.
func TestRunsThatDoNotFitTogetherWait(t *testing.T) {
	t.Parallel()
	p, _ := experiments.PresetByName("mnist-nn1")
	spec := p.Spec.Clone()
	spec.Epochs, spec.TrainLimit = 1, 500
	est := spec.Estimate(experiments.Machine{Workers: runtime.GOMAXPROCS(0)})
	// Room for one such run, not two.
	a := setupCfg(t, Config{Workers: 2, RescueAfter: 6 * time.Second, MaxRunMemory: est.MemoryBytes * 3 / 2})
	_, ids := a.create(t, `{"name": "pair", "preset": "mnist-nn1", "overrides": {"epochs": 1, "train_limit": 500}, "repeats": 2}`)
	var done []runs.Run
	for _, id := range ids {
		done = append(done, a.waitFor(t, id, 2*time.Minute, func(r runs.Run) bool { return r.Status == runs.StatusSucceeded || r.Status == runs.StatusFailed }))
	}
	for _, r := range done {
		if r.Status != runs.StatusSucceeded || r.StartedAt == nil || r.FinishedAt == nil {
			t.Fatalf("run %d: %s %q", r.ID, r.Status, r.Error)
		}
	}
	first, second := done[0], done[1]
	if second.StartedAt.Before(*first.StartedAt) {
		first, second = second, first
	}
	if second.StartedAt.Before(*first.FinishedAt) {
		t.Errorf("run %d started at %v, before run %d finished at %v: both held the budget at once",
			second.ID, second.StartedAt, first.ID, first.FinishedAt)
	}
}
