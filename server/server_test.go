package server

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/migrations/dbtest"
	"github.com/trainyard/trainyard/runs"
)

// testApp is a server on a real database (a SQLite file in a temp dir, or a
// PostgreSQL database of the package's test cluster), behind a real listener.
type testApp struct {
	srv *Server
	url string
}

func TestMain(m *testing.M) { dbtest.Main(m) }

// eachDB runs test once on each database, as parallel subtests.
func eachDB(t *testing.T, test func(t *testing.T, d migrations.Dialect)) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d migrations.Dialect) {
		t.Parallel()
		test(t, d)
	})
}

// setup is a server on SQLite with the given number of workers.
func setup(t *testing.T, workers int) *testApp {
	return setupCfg(t, Config{Workers: workers})
}

// setupOn is a server on a fresh database of the dialect.
func setupOn(t *testing.T, dialect migrations.Dialect, workers int) *testApp {
	return setupCfg(t, Config{Workers: workers, DB: dbtest.URL(t, dialect)})
}

func (a *testApp) do(t *testing.T, method, path, body string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, a.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b, res.Header
}

func (a *testApp) create(t *testing.T, body string) (id int64, runIDs []int64) {
	t.Helper()
	code, b, _ := a.do(t, "POST", "/api/experiments", body)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, b)
	}
	var resp createResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatal(err)
	}
	return resp.ID, resp.Runs
}

func (a *testApp) run(t *testing.T, id int64) runs.Run {
	t.Helper()
	code, b, _ := a.do(t, "GET", "/api/runs/"+itoa(id), "")
	if code != http.StatusOK {
		t.Fatalf("get run %d: %d %s", id, code, b)
	}
	var r runs.Run
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// waitFor polls the run until ok says yes or the timeout passes.
func (a *testApp) waitFor(t *testing.T, id int64, timeout time.Duration, ok func(runs.Run) bool) runs.Run {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r := a.run(t, id)
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d: timed out in status %s (%s) with %d epochs", id, r.Status, r.Error, len(r.Epochs))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

const nn1Quick = `{"name": "quick", "preset": "mnist-nn1", "overrides": {"epochs": 2, "batch_size": 128, "learning_rate": 0.001, "train_limit": 2000, "seed": 1}, "repeats": 1}`

func TestCreateGetAndSummary(t *testing.T) { eachDB(t, testCreateGetAndSummary) }

func testCreateGetAndSummary(t *testing.T, dialect migrations.Dialect) {
	a := setupOn(t, dialect, 0)
	id, ids := a.create(t, `{"name": "nn1 x3", "preset": "mnist-nn1", "overrides": {"epochs": 1, "train_limit": 500, "seed": 7}, "repeats": 3}`)
	if len(ids) != 3 {
		t.Fatalf("runs = %v, want 3", ids)
	}
	code, b, _ := a.do(t, "GET", "/api/experiments/"+itoa(id), "")
	if code != http.StatusOK {
		t.Fatalf("get experiment: %d %s", code, b)
	}
	var e experimentJSON
	json.Unmarshal(b, &e)
	if e.Name != "nn1 x3" || e.Summary.TotalParams != 203530 || len(e.Summary.Layers) != 3 || e.Summary.Layers[1].OutputShape != "(None, 256)" {
		t.Fatalf("experiment = %+v", e)
	}
	if len(e.Runs) != 3 || e.Runs[0] != ids[0] {
		t.Fatalf("experiment runs = %v, want %v", e.Runs, ids)
	}
	for i, rid := range ids {
		r := a.run(t, rid)
		if r.Status != runs.StatusQueued || r.Spec.Epochs != 1 || r.Spec.TrainLimit != 500 || r.Spec.Seed != int64(7+i) || r.ExperimentID != id {
			t.Fatalf("run %d = %+v", rid, r)
		}
	}
	code, b, _ = a.do(t, "GET", "/api/presets", "")
	if code != http.StatusOK || !bytes.Contains(b, []byte(`"mnist-cnn2"`)) {
		t.Fatalf("presets: %d %s", code, b)
	}
	code, b, _ = a.do(t, "POST", "/api/summary", `{"dataset":"mnist","heads":1,"layers":[{"type":"flatten"},{"type":"dense","units":10,"activation":"softmax"}],"optimizer":"adam","epochs":0,"batch_size":1,"learning_rate":0.1,"train_fraction":0.5}`)
	if code != http.StatusOK || !bytes.Contains(b, []byte(`"total_params":7850`)) || !bytes.Contains(b, []byte(`"epochs":"epochs must be 1..1000"`)) {
		t.Fatalf("summary: %d %s", code, b)
	}
}

func TestCreateWithFullSpec(t *testing.T) { eachDB(t, testCreateWithFullSpec) }

func testCreateWithFullSpec(t *testing.T, dialect migrations.Dialect) {
	a := setupOn(t, dialect, 0)
	body := `{"name": "tiny cnn", "spec": {"dataset": "mnist", "heads": 1, "optimizer": "sgd", "epochs": 3, "batch_size": 32,
		"learning_rate": 0.01, "train_fraction": 0.5, "val_fraction": 0.2, "seed": 3,
		"layers": [{"type": "conv2d", "filters": 4, "kernel": 3, "padding": "valid", "activation": "relu"},
		           {"type": "maxpool2d", "pool": 2}, {"type": "flatten"}, {"type": "dense", "units": 10, "activation": "softmax"}]}}`
	id, ids := a.create(t, body)
	if id == 0 || len(ids) != 1 {
		t.Fatalf("id %d runs %v", id, ids)
	}
	r := a.run(t, ids[0])
	if r.Spec.Optimizer != "sgd" || len(r.Spec.Layers) != 4 || r.Spec.Summarize().TotalParams != 4*9+4+13*13*4*10+10 {
		t.Fatalf("run spec = %+v", r.Spec)
	}
}

func TestCreateInvalidStoresNothing(t *testing.T) { eachDB(t, testCreateInvalidStoresNothing) }

func testCreateInvalidStoresNothing(t *testing.T, dialect migrations.Dialect) {
	a := setupOn(t, dialect, 0)
	cases := []struct {
		name, body string
		code       int
		fields     []string
	}{
		{"every bad field at once", `{"preset": "mnist-cnn1", "overrides": {"epochs": 0, "batch_size": 60001, "learning_rate": 11,
			"layers": [{"type": "conv2d", "filters": 8, "kernel": 30, "padding": "same", "activation": "relu"}, {"type": "flatten"}, {"type": "dense", "units": 10, "activation": "softmax"}]}, "repeats": 21}`,
			422, []string{"epochs", "batch_size", "learning_rate", "layers[0].kernel", "repeats"}},
		{"unknown preset", `{"preset": "resnet"}`, 422, []string{"preset"}},
		{"unknown override", `{"preset": "mnist-nn1", "overrides": {"epoch": 3}}`, 422, []string{"overrides"}},
		{"neither preset nor spec", `{"name": "x"}`, 422, []string{"preset"}},
		{"malformed JSON", `{"preset": "mnist-nn1",`, 400, nil},
		{"wrong type", `{"preset": "mnist-nn1", "repeats": "two"}`, 400, nil},
	}
	for _, c := range cases {
		code, b, _ := a.do(t, "POST", "/api/experiments", c.body)
		if code != c.code {
			t.Errorf("%s: status %d, want %d (%s)", c.name, code, c.code, b)
			continue
		}
		var resp struct {
			Error  string            `json:"error"`
			Errors map[string]string `json:"errors"`
		}
		if err := json.Unmarshal(b, &resp); err != nil || resp.Error == "" {
			t.Errorf("%s: body %s is not a JSON error", c.name, b)
		}
		for _, f := range c.fields {
			if resp.Errors[f] == "" {
				t.Errorf("%s: no error on %s in %v", c.name, f, resp.Errors)
			}
		}
		if c.name == "every bad field at once" && resp.Errors["layers[0].kernel"] != "kernel must be 1..28 (the layer's input is 28x28)" {
			t.Errorf("kernel message = %q", resp.Errors["layers[0].kernel"])
		}
	}
	_, b, _ := a.do(t, "GET", "/api/experiments", "")
	if strings.TrimSpace(string(b)) != "[]" {
		t.Fatalf("experiments after invalid requests: %s", b)
	}
	_, b, _ = a.do(t, "GET", "/api/runs", "")
	if strings.TrimSpace(string(b)) != `{"runs":[],"next_cursor":null}` {
		t.Fatalf("runs after invalid requests: %s", b)
	}
}

func TestOversizedBody(t *testing.T) { eachDB(t, testOversizedBody) }

func testOversizedBody(t *testing.T, dialect migrations.Dialect) {
	a := setupOn(t, dialect, 0)
	big := `{"name": "` + strings.Repeat("x", 2<<20) + `", "preset": "mnist-nn1"}`
	code, b, _ := a.do(t, "POST", "/api/experiments", big)
	if code != http.StatusRequestEntityTooLarge || !bytes.Contains(b, []byte("too large")) {
		t.Fatalf("oversized body: %d %s", code, b)
	}
}

func TestNotFound(t *testing.T) { eachDB(t, testNotFound) }

func testNotFound(t *testing.T, dialect migrations.Dialect) {
	a := setupOn(t, dialect, 0)
	for _, p := range []string{"/api/runs/999", "/api/runs/abc", "/api/experiments/42", "/api/runs/999/weights", "/api/runs/999/events", "/api/compare?runs=999", "/api/nothing"} {
		code, b, h := a.do(t, "GET", p, "")
		if code != http.StatusNotFound || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || !bytes.Contains(b, []byte(`"error"`)) {
			t.Errorf("GET %s: %d %s %s", p, code, h.Get("Content-Type"), b)
		}
	}
	if code, b, _ := a.do(t, "POST", "/api/runs/999/cancel", ""); code != http.StatusNotFound {
		t.Errorf("cancel unknown: %d %s", code, b)
	}
	for _, p := range []string{"/runs/999", "/experiments/999", "/no/such/page", "/compare?runs=999"} {
		code, b, h := a.do(t, "GET", p, "")
		if code != http.StatusNotFound || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !bytes.Contains(b, []byte("<html")) {
			t.Errorf("GET %s: %d %s", p, code, h.Get("Content-Type"))
		}
	}
}

func TestCancelQueuedAndCompare(t *testing.T) { eachDB(t, testCancelQueuedAndCompare) }

func testCancelQueuedAndCompare(t *testing.T, dialect migrations.Dialect) {
	a := setupOn(t, dialect, 0)
	_, r1 := a.create(t, `{"preset": "mnist-nn1", "overrides": {"epochs": 30}}`)
	_, r2 := a.create(t, `{"preset": "mnist-nn1", "overrides": {"epochs": 20}}`)
	code, b, _ := a.do(t, "POST", "/api/runs/"+itoa(r1[0])+"/cancel", "")
	if code != http.StatusOK || a.run(t, r1[0]).Status != runs.StatusCancelled {
		t.Fatalf("cancel: %d %s", code, b)
	}
	if code, b, _ := a.do(t, "POST", "/api/runs/"+itoa(r1[0])+"/cancel", ""); code != http.StatusConflict {
		t.Fatalf("second cancel: %d %s", code, b)
	}
	if a.run(t, r2[0]).Status != runs.StatusQueued {
		t.Fatal("cancel touched another run")
	}
	code, b, _ = a.do(t, "GET", "/api/compare?runs="+itoa(r1[0])+","+itoa(r2[0]), "")
	if code != http.StatusOK {
		t.Fatalf("compare: %d %s", code, b)
	}
	var c runs.Comparison
	json.Unmarshal(b, &c)
	if len(c.Summary) != 2 || c.Summary[0].RunID != r1[0] {
		t.Fatalf("compare summary = %+v", c.Summary)
	}
	for _, p := range c.Params {
		if (p.Name == "Epochs") != p.Differs {
			t.Errorf("param %s differs=%v values %v", p.Name, p.Differs, p.Values)
		}
	}
	if code, _, _ := a.do(t, "GET", "/api/compare?runs=x,1", ""); code != http.StatusBadRequest {
		t.Errorf("compare with a bad id: %d", code)
	}
	code, page, _ := a.do(t, "GET", "/compare?runs="+itoa(r1[0])+","+itoa(r2[0]), "")
	if code != http.StatusOK || !bytes.Contains(page, []byte(`id="summary"`)) {
		t.Errorf("compare page: %d", code)
	}
	if code, _, _ := a.do(t, "GET", "/api/runs/"+itoa(r2[0])+"/weights", ""); code != http.StatusNotFound {
		t.Errorf("weights of a queued run: %d", code)
	}
}

func TestPagesRender(t *testing.T) { eachDB(t, testPagesRender) }

func testPagesRender(t *testing.T, dialect migrations.Dialect) {
	a := setupOn(t, dialect, 0)
	eid, ids := a.create(t, `{"name": "page test", "preset": "mnist-cnn2", "overrides": {"epochs": 1}}`)
	for _, p := range []string{"/", "/?status=queued", "/experiments/new", "/experiments/" + itoa(eid), "/runs/" + itoa(ids[0])} {
		code, b, _ := a.do(t, "GET", p, "")
		if code != http.StatusOK || !bytes.Contains(b, []byte("page test")) && p != "/experiments/new" {
			t.Errorf("GET %s: %d", p, code)
		}
	}
	if code, b, _ := a.do(t, "GET", "/?status=bogus", ""); code != http.StatusBadRequest || !bytes.Contains(b, []byte(`status: unknown status &#34;bogus&#34;`)) {
		t.Errorf("bad status filter: %d %s", code, b)
	}
	if code, b, _ := a.do(t, "GET", "/?q=epochs+%3E%3E+2&sort=-test_accuracy", ""); code != http.StatusBadRequest || !bytes.Contains(b, []byte(`position 9`)) || !bytes.Contains(b, []byte(`page test`)) {
		t.Errorf("bad query: %d, want 400 with the page and the token", code)
	}
	if code, b, _ := a.do(t, "GET", "/static/js/app.js", ""); code != http.StatusOK || len(b) == 0 {
		t.Errorf("static: %d %s", code, b)
	}
}

// readSafetensors parses a safetensors file's header and checks every tensor's bytes are in range.
func readSafetensors(t *testing.T, b []byte) (map[string]json.RawMessage, map[string]string) {
	t.Helper()
	if len(b) < 8 {
		t.Fatalf("weights file of %d bytes", len(b))
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n > uint64(len(b)-8) {
		t.Fatalf("header length %d beyond file of %d bytes", n, len(b))
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &header); err != nil {
		t.Fatalf("header: %v", err)
	}
	var meta map[string]string
	json.Unmarshal(header["__metadata__"], &meta)
	data := len(b) - 8 - int(n)
	for name, raw := range header {
		if name == "__metadata__" {
			continue
		}
		var info struct {
			Dtype   string `json:"dtype"`
			Shape   []int  `json:"shape"`
			Offsets [2]int `json:"data_offsets"`
		}
		json.Unmarshal(raw, &info)
		size := 4
		for _, d := range info.Shape {
			size *= d
		}
		if info.Dtype != "F32" || info.Offsets[1]-info.Offsets[0] != size || info.Offsets[1] > data {
			t.Errorf("tensor %s: %+v (data %d bytes)", name, info, data)
		}
	}
	return header, meta
}

// TestBadQueryParametersAnswer400 checks that a query parameter outside its
// allowed values answers 400 naming the parameter, on pages and in the API,
// and that a comparison refuses a run named twice.
func TestBadQueryParametersAnswer400(t *testing.T) {
	t.Parallel()
	a := setup(t, 0)
	_, ids := a.create(t, `{"name": "params", "preset": "mnist-nn1", "overrides": {"epochs": 1}}`)
	one := itoa(ids[0])
	for _, tc := range []struct{ path, param, says string }{
		{"/?status=bogus", "status", "bogus"},
		{"/api/runs?status=bogus", "status", "bogus"},
		{"/compare?runs=" + one + "," + one, "runs", "named twice"},
		{"/api/compare?runs=" + one + "," + one, "runs", "named twice"},
		{"/api/compare?runs=" + one + ",+" + one, "runs", "named twice"},
		{"/compare?runs=x", "runs", "not a run id"},
		{"/api/compare?runs=", "runs", "at least one run"},
	} {
		code, b, _ := a.do(t, "GET", tc.path, "")
		body := string(b)
		if code != http.StatusBadRequest || !strings.Contains(body, tc.param+": ") || !strings.Contains(body, tc.says) {
			t.Errorf("GET %s: %d %.300s; want 400 naming %s (%s)", tc.path, code, body, tc.param, tc.says)
		}
		if strings.HasPrefix(tc.path, "/api/") {
			var e struct {
				Errors map[string]string `json:"errors"`
			}
			if json.Unmarshal(b, &e) != nil || e.Errors[tc.param] == "" {
				t.Errorf("GET %s: errors %v lack %q", tc.path, e.Errors, tc.param)
			}
		}
	}
}
