//go:build browser

package web

// These tests drive the pages' scripts in headless Chromium against a stub
// server (no database): go test -tags browser ./web/. They need chromium.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a-h/templ"
	"github.com/chromedp/chromedp"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
)

// stub is a fake server for the pages: it renders sample props and answers
// /api/summary, POST /experiments and a run's events as the real server does.
type stub struct {
	t        *testing.T
	mu       sync.Mutex
	posted   url.Values
	release  chan struct{}
	finished atomic.Bool
}

func (s *stub) page(w http.ResponseWriter, r *http.Request, c templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := c.Render(r.Context(), w); err != nil {
		s.t.Errorf("render %s: %v", r.URL, err)
	}
}

func (s *stub) handler() http.Handler {
	t := s.t
	a, b := sampleRun(t, 3, "mnist-nn1", 30), sampleRun(t, 4, "mnist-cnn1", 15)
	live := sampleRun(t, 8, "mnist-nn1", 2)
	live.Status, live.Test = runs.StatusRunning, nil
	done := sampleRun(t, 8, "mnist-nn1", 3)
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(StaticRoot())))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s.page(w, r, HomePage(HomeProps{Runs: listed(live, b, a)}))
	})
	mux.HandleFunc("GET /compare", func(w http.ResponseWriter, r *http.Request) {
		rs := []runs.Run{a, b}
		s.page(w, r, ComparePage(CompareProps{Runs: rs, Comparison: runs.Compare(rs)}))
	})
	mux.HandleFunc("GET /experiments/new", func(w http.ResponseWriter, r *http.Request) {
		s.page(w, r, NewExperimentPage(NewExperimentProps{Presets: experiments.Presets()}))
	})
	mux.HandleFunc("POST /experiments", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		s.mu.Lock()
		s.posted = r.PostForm
		s.mu.Unlock()
		fmt.Fprint(w, `<!DOCTYPE html><link rel="icon" href="data:,"><p id="queued">queued</p>`)
	})
	mux.HandleFunc("POST /api/summary", func(w http.ResponseWriter, r *http.Request) {
		var spec experiments.Spec
		if err := json.NewDecoder(r.Body).Decode(&spec); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out := struct {
			Summary experiments.Summary `json:"summary"`
			Errors  map[string]string   `json:"errors"`
		}{Summary: spec.Summarize(), Errors: map[string]string{}}
		if err := spec.Validate(); err != nil {
			out.Errors = err.(*experiments.ValidationError).Fields
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("POST /api/experiments/preview", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"runs": 1, "points": 1, "repeats": 1, "epochs": 1, "seconds": null, "text": "Queues 1 run.", "errors": {}}`)
	})
	mux.HandleFunc("GET /runs/8", func(w http.ResponseWriter, r *http.Request) {
		if s.finished.Load() {
			s.page(w, r, RunPage(RunProps{Run: done}))
			return
		}
		s.page(w, r, RunPage(RunProps{Run: live}))
	})
	mux.HandleFunc("GET /api/runs/8/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		send := func(event string, v any) {
			b, _ := json.Marshal(v)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
			w.(http.Flusher).Flush()
		}
		send("progress", Progress{Epoch: 3, Epochs: 30, Batch: 40, Batches: 86, ImagesPerSec: 4321, ETASeconds: 600})
		send("epoch", runs.Epoch{Epoch: 3, Loss: 0.3, Accuracy: runs.Float(0.9), ValLoss: runs.Float(0.35), ValAccuracy: runs.Float(0.88), LearningRate: 0.001, Seconds: 2})
		select {
		case <-s.release:
		case <-r.Context().Done():
			return
		}
		s.finished.Store(true)
		send("status", StatusEvent{Status: runs.StatusSucceeded})
		<-r.Context().Done()
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	})
	return mux
}

// browser starts headless Chromium for the test, and gathers the page errors.
func browser(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(context.Background())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no browser in CI (.ci/run installs chromium): %v", err)
		}
		t.Skipf("no browser: %v", err)
	}
	var mu sync.Mutex
	var errs []string
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" {
				mu.Lock()
				errs = append(errs, m.String())
				mu.Unlock()
			}
		}
	}()
	return ctx, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), errs...) }
}

// eval runs JavaScript and fails the test on error.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("eval %s: %v", js, err)
	}
	return v
}

// waitFor polls a JavaScript predicate until it holds, across page loads.
func waitFor(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("waiting for %s (%s): %v", what, js, last)
}

func TestBrowserPages(t *testing.T) {
	s := &stub{t: t, release: make(chan struct{})}
	srv := httptest.NewServer(s.handler())
	defer srv.Close()
	ctx, pageErrors := browser(t)

	// Home: the compare button needs two checked runs and opens the compare page.
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	if !eval[bool](t, ctx, `document.getElementById("compare-checked").disabled`) {
		t.Error("compare button enabled with nothing checked")
	}
	eval[bool](t, ctx, `document.querySelectorAll("input.run-select").forEach((b, i) => { if (i < 2) b.click() }), true`)
	if eval[bool](t, ctx, `document.getElementById("compare-checked").disabled`) {
		t.Error("compare button disabled with two runs checked")
	}
	eval[bool](t, ctx, `document.getElementById("compare-checked").click(), true`)
	waitFor(t, ctx, "the compare page", `location.pathname === "/compare" && document.querySelectorAll(".uplot").length === 4`)
	if got := eval[string](t, ctx, `location.search`); got != "?runs=8,4" {
		t.Errorf("compare query = %q, want ?runs=8,4 (the two newest runs)", got)
	}
	eval[bool](t, ctx, `document.getElementById("only-diff").click(), true`)
	if !eval[bool](t, ctx, `getComputedStyle(document.querySelector("#params tr.same")).display === "none"`) {
		t.Error("only differences does not hide equal rows")
	}

	// The form: a preset fills the layers, the summary and errors follow edits,
	// and submit posts the spec as JSON.
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/experiments/new")); err != nil {
		t.Fatal(err)
	}
	set := func(id, v, event string) {
		eval[bool](t, ctx, fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = %q; e.dispatchEvent(new Event(%q, {bubbles: true})); return true })()`, id, v, event))
	}
	set("preset", "mnist-nn2", "change")
	waitFor(t, ctx, "the nn2 summary", `document.getElementById("model-summary-total").textContent === "407,050"`)
	set("epochs", "0", "input")
	waitFor(t, ctx, "the epochs error", `document.getElementById("epochs-error").textContent.includes("epochs must be")`)
	set("epochs", "5", "input")
	waitFor(t, ctx, "the epochs error to clear", `document.getElementById("epochs-error").textContent === ""`)
	eval[bool](t, ctx, `document.getElementById("add-layer").click(), true`)
	set("layer-2-units", "0", "input")
	waitFor(t, ctx, "the layer error", `document.querySelector('#layers .layer-row[data-index="2"] .row-errors').textContent.includes("units must be")`)
	set("layer-2-units", "32", "input")
	waitFor(t, ctx, "the new summary", `document.getElementById("model-summary-total").textContent === "418,666"`)
	// Move the new layer up above the first dense layer, then check the order.
	eval[bool](t, ctx, `document.querySelector('#layers .layer-row[data-index="2"] [data-action="up"]').click(), true`)
	set("name", "nn2 quick", "input")
	set("repeats", "3", "input")
	eval[bool](t, ctx, `document.getElementById("submit").click(), true`)
	waitFor(t, ctx, "the post", `!!document.getElementById("queued")`)
	s.mu.Lock()
	posted := s.posted
	s.mu.Unlock()
	if posted.Get("name") != "nn2 quick" || posted.Get("preset") != "mnist-nn2" || posted.Get("repeats") != "3" {
		t.Errorf("posted %v", posted)
	}
	var spec experiments.Spec
	if err := json.Unmarshal([]byte(posted.Get("spec_json")), &spec); err != nil {
		t.Fatalf("spec_json: %v", err)
	}
	if err := spec.Validate(); err != nil {
		t.Errorf("posted spec invalid: %v", err)
	}
	if spec.Epochs != 5 || len(spec.Layers) != 4 || spec.Layers[1].Units != 32 || spec.Layers[2].Units != 512 {
		t.Errorf("posted spec %+v", spec)
	}

	// The run page follows the events, then reloads once to show the results.
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/runs/8")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "progress", `document.getElementById("p-batch").textContent === "40" && document.getElementById("p-speed").textContent === "4,321 images/s"`)
	waitFor(t, ctx, "the epoch event", `document.getElementById("no-epochs") === null || document.getElementById("no-epochs").hidden`)
	close(s.release)
	waitFor(t, ctx, "the results", `!!document.getElementById("test-accuracy") && !document.getElementById("live")`)

	if errs := pageErrors(); len(errs) > 0 {
		t.Errorf("page errors:\n%s", strings.Join(errs, "\n"))
	}
}

// TestBrowserTickLabels draws the charts' y axes in Chromium over the ranges
// that used to mislead (accuracy 87.5-100%, a CAPTCHA's 5.60-5.66%, a loss
// around 2.945) and at several zooms of each, and checks that every tick
// label is distinct and reads the gridline's true value.
func TestBrowserTickLabels(t *testing.T) {
	s := &stub{t: t, release: make(chan struct{})}
	srv := httptest.NewServer(s.handler())
	defer srv.Close()
	ctx, pageErrors := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/compare")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the charts", `!!window.trainyardCharts && !!window.uPlot && document.querySelectorAll(".uplot").length === 4`)
	cases := []struct {
		name    string
		percent bool
		ys      []float64
		zooms   [][2]float64
	}{
		{"accuracy", true, []float64{0.874, 0.93, 0.951, 0.968, 0.979, 0.998}, [][2]float64{{0.875, 1}, {0.9, 1}, {0.97, 0.98}, {0.9751, 0.9759}, {0, 1}}},
		{"captcha accuracy", true, []float64{0.0560, 0.0561, 0.0562, 0.0566}, [][2]float64{{0.055, 0.057}, {0.0561, 0.0562}, {0, 0.07}}},
		{"head loss", false, []float64{2.9443, 2.9449, 2.9452, 2.9457}, [][2]float64{{2.944, 2.946}, {2.9449, 2.9451}, {0, 3}}},
	}
	// uPlot draws after the current task, so each step is its own evaluation.
	eval[bool](t, ctx, `(() => {
		window.__tick = {};
		window.__check = (what) => {
			const u = window.__tick.u, pct = window.__tick.percent;
			const vals = u.axes[1]._values, splits = u.axes[1]._splits, out = [what + ": " + vals.join(" ")];
			if (vals.length < 2) out.push("FAIL fewer than two ticks at " + what);
			if (new Set(vals).size !== vals.length) out.push("FAIL repeated labels at " + what);
			vals.forEach((v, i) => {
				const read = parseFloat(v) / (pct ? 100 : 1);
				if (Math.abs(read - splits[i]) > 1e-9 * Math.max(1, Math.abs(splits[i]))) out.push("FAIL " + v + " is not " + splits[i] + " at " + what);
			});
			return out.join("\n");
		};
		return true;
	})()`)
	for _, c := range cases {
		ys, _ := json.Marshal(c.ys)
		eval[bool](t, ctx, fmt.Sprintf(`(() => {
			const el = document.createElement("div"); el.style.width = "600px"; document.body.appendChild(el);
			const ys = %s, xs = ys.map((_, i) => i + 1);
			window.__tick = {percent: %v, u: trainyardCharts.lineChart(el, {title: %q, percent: %v, series: [{label: "a", colour: "#000"}], data: [xs, ys]})};
			return true;
		})()`, ys, c.percent, c.name, c.percent))
		var got []string
		waitFor(t, ctx, c.name+" axis", `!!window.__tick.u.axes[1]._values`)
		got = append(got, eval[string](t, ctx, `__check("auto")`))
		for _, z := range c.zooms {
			eval[bool](t, ctx, fmt.Sprintf(`__tick.u.setScale("y", {min: %v, max: %v}), true`, z[0], z[1]))
			got = append(got, eval[string](t, ctx, fmt.Sprintf(`__check("%v..%v")`, z[0], z[1])))
		}
		all := strings.Join(got, "\n")
		t.Logf("%s ticks:\n%s", c.name, all)
		if strings.Contains(all, "FAIL") {
			t.Errorf("%s: tick labels repeat or lie:\n%s", c.name, all)
		}
	}
	if buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(90)); err == nil {
		dir := os.Getenv("TRAINYARD_TEST_ARTIFACTS")
		if dir == "" {
			dir = "testdata/artifacts"
		}
		if os.MkdirAll(dir, 0o755) == nil {
			_ = os.WriteFile(dir+"/web-tick-labels.jpg", buf, 0o644)
		}
	}
	if errs := pageErrors(); len(errs) > 0 {
		t.Errorf("page errors:\n%s", strings.Join(errs, "\n"))
	}
}
