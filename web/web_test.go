package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
)

// render renders c into a string, failing the test on error.
func render(t *testing.T, c templ.Component) string {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	return buf.String()
}

// mustContain fails the test for each want missing from html.
func mustContain(t *testing.T, html string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(html, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

// preset returns a named preset's spec, failing the test when it is missing.
func preset(t *testing.T, name string) experiments.Spec {
	t.Helper()
	p, ok := experiments.PresetByName(name)
	if !ok {
		t.Fatalf("no preset %q", name)
	}
	return p.Spec
}

// sampleRun is a finished MNIST run with epochs and a test result.
func sampleRun(t *testing.T, id int64, presetName string, epochs int) runs.Run {
	t.Helper()
	spec := preset(t, presetName)
	spec.Epochs = epochs
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(id) * time.Minute)
	started, finished := created.Add(time.Second), created.Add(2*time.Minute)
	r := runs.Run{
		ID: id, ExperimentID: 1, Experiment: "exp " + presetName, Preset: presetName,
		Status: runs.StatusSucceeded, Device: "cpu (2 threads)", Spec: spec,
		CreatedAt: created, StartedAt: &started, FinishedAt: &finished, TrainSeconds: 12.5 * float64(epochs),
	}
	for e := 1; e <= epochs; e++ {
		f := float64(e) / float64(epochs)
		r.Epochs = append(r.Epochs, runs.Epoch{Epoch: e, Loss: 1 - 0.8*f, Accuracy: runs.Float(0.8 + 0.15*f),
			ValLoss: runs.Float(1.1 - 0.7*f), ValAccuracy: runs.Float(0.78 + 0.15*f), LearningRate: 0.001, Seconds: 12.5})
	}
	conf := make([][]int, 10)
	for i := range conf {
		conf[i] = make([]int, 10)
		conf[i][i] = 950
		conf[i][(i+1)%10] = 30
		conf[i][(i+3)%10] = 20
	}
	r.Test = &runs.TestResult{
		Images: 10000, Loss: 0.1234, Accuracy: 0.9685, MsPerImage: 0.042, Confusion: conf,
		Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
		Misclassified: []runs.Example{{Index: 17, Truth: "7", Predicted: "1", PNG: samplePNG(t, 7)}, {Index: 99, Truth: "4", Predicted: "9", PNG: "not base64!"},
			{Index: 123, Truth: "2", Predicted: "7", PNG: samplePNG(t, 2)}, {Index: 456, Truth: "5", Predicted: "3", PNG: samplePNG(t, 5)}},
	}
	return r
}

// samplePNG draws a 28x28 grey test image (a ring whose size follows seed)
// and returns it as base64 PNG, as runs.Example holds it.
func samplePNG(t *testing.T, seed int) string {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	r := 6 + float64(seed%5)
	for y := range 28 {
		for x := range 28 {
			d := math.Hypot(float64(x)-14, float64(y)-14)
			if math.Abs(d-r) < 2 {
				img.SetGray(x, y, color.Gray{Y: 255})
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func TestHomePage(t *testing.T) {
	t.Parallel()
	rs := []runs.Run{sampleRun(t, 3, "mnist-nn1", 30), sampleRun(t, 4, "mnist-cnn1", 15)}
	rs[1].Status = runs.StatusRunning
	rs[1].Test = nil
	table := listed(rs[1], rs[0])
	table.Query = runs.ListQuery{Sort: "-test_accuracy", Tag: "baseline"}
	next := "abc"
	table.Page.NextCursor = &next
	html := render(t, HomePage(HomeProps{
		Runs:        table,
		Experiments: []ExperimentItem{{ID: 1, Name: "NN vs CNN", Preset: "mnist-nn1", CreatedAt: time.Now(), RunCount: 2}},
	}))
	mustContain(t, html, `id="compare-checked"`, `class="run-select"`, `href="/runs/3"`, `href="/experiments/1"`,
		`badge-running`, `badge-succeeded`, `96.85%`, `href="/?sort=-test_accuracy&amp;status=running&amp;tag=baseline"`, `NN vs CNN`,
		`/static/js/runs-table.js`,
		// The sorted column says so, and a second click sorts it the other way.
		`aria-sort="descending"><a class="sort" href="/?sort=test_accuracy&amp;tag=baseline"`,
		`href="/?sort=-epochs&amp;tag=baseline"`,
		`id="runs-next" href="/?cursor=abc&amp;sort=-test_accuracy&amp;tag=baseline"`,
		`href="/api/runs.csv?sort=-test_accuracy&amp;tag=baseline"`, `value="baseline"`)
	// Rows in the order the server gave.
	if strings.Index(html, `data-run-id="4"`) > strings.Index(html, `data-run-id="3"`) {
		t.Error("runs are not listed in the page's order")
	}
	// Without logins no run has a creator, and the empty "By" column is left out.
	if strings.Contains(html, "<th>By</th>") || strings.Contains(html, "created-by") {
		t.Error("a By column without creators")
	}
	rs[0].CreatedBy = "bea"
	withBy := render(t, HomePage(HomeProps{Runs: listed(rs[1], rs[0])}))
	mustContain(t, withBy, "<th>By</th>", `<td class="created-by">bea</td>`, `<td class="created-by"></td>`)
	mustContain(t, render(t, ExperimentPage(ExperimentProps{Experiment: ExperimentItem{ID: 1}, Spec: rs[0].Spec, Runs: rs})),
		"<th>By</th>", `<td class="created-by">bea</td>`)
	rs[0].CreatedBy = ""
	if html := render(t, ExperimentPage(ExperimentProps{Experiment: ExperimentItem{ID: 1}, Spec: rs[0].Spec, Runs: rs})); strings.Contains(html, "<th>By</th>") {
		t.Error("the experiment's runs have a By column without creators")
	}

	bad := render(t, HomePage(HomeProps{Runs: RunsBrowserProps{Query: runs.ListQuery{Q: "epochs >"}, ErrorParam: "q", Error: "at the end (position 9): expected a value after >"}}))
	mustContain(t, bad, `id="runs-filter-error"`, `q: at the end (position 9): expected a value after &gt;`, `class="invalid"`)

	empty := render(t, HomePage(HomeProps{}))
	mustContain(t, empty, `id="empty-state"`, `href="/experiments/new"`)
}

func TestNewExperimentPageDefaults(t *testing.T) {
	t.Parallel()
	html := render(t, NewExperimentPage(NewExperimentProps{Preset: "mnist-cnn1", Presets: experiments.Presets()}))
	for _, id := range []string{"name", "preset", "epochs", "batch_size", "learning_rate", "train_limit", "repeats", "seed", "submit", "spec_json", "optimizer", "train_fraction", "val_fraction", "add-layer", "model-summary"} {
		mustContain(t, html, `id="`+id+`"`)
	}
	mustContain(t, html, `name="spec_json"`, `name="name"`, `name="preset"`, `name="repeats"`,
		`<option value="mnist-cnn1" selected>`, `297,706`, `id="form-data"`, `id="layer-template"`, `value="50"`)
	// CAPTCHA presets are held back until the dataset is enabled.
	if strings.Contains(html, `<option value="captcha-model1"`) {
		t.Error("captcha preset offered while captcha is disabled")
	}
	// Seven layer rows for CNN 1, plus the template row.
	if n := strings.Count(html, `class="layer-row`); n != 7+1 {
		t.Errorf("got %d layer rows, want 8 (7 layers and the template)", n)
	}
}

func TestNewExperimentPageErrors(t *testing.T) {
	t.Parallel()
	spec := preset(t, "mnist-cnn1")
	spec.Epochs = 0
	spec.Layers[2].Kernel = 99
	errs := map[string]string{}
	if err := spec.Validate(); err != nil {
		errs = err.(*experiments.ValidationError).Fields
	}
	errs["name"] = "name is required"
	errs["repeats"] = "repeats must be 1..20"
	errs["source.kind"] = "some field without an input"
	html := render(t, NewExperimentPage(NewExperimentProps{
		Name: "typed name", Preset: "mnist-cnn1", Repeats: 50, Spec: spec,
		Presets: experiments.Presets(), Errors: errs,
	}))
	if len(errs) < 5 {
		t.Fatalf("want several errors, got %v", errs)
	}
	for key, msg := range errs {
		if !strings.Contains(html, templ.EscapeString(msg)) {
			t.Errorf("error %s: message %q not shown", key, msg)
		}
	}
	mustContain(t, html, `value="typed name"`, `value="50"`, `data-key="layers[2].kernel"`,
		`id="epochs" data-sweep="epochs" value="0" class="invalid"`, `data-key="source.kind"`)
	if strings.Contains(html, `id="form-errors" role="alert" class="alert error hidden"`) {
		t.Error("error box hidden")
	}
}

func TestRunPageFinished(t *testing.T) {
	t.Parallel()
	r := sampleRun(t, 7, "mnist-cnn1", 15)
	html := render(t, RunPage(RunProps{Run: r}))
	mustContain(t, html, `badge-succeeded`, `id="test-accuracy">96.85%`, `id="confusion"`, `heat-9 diag`,
		`href="/api/runs/7/weights"`, `src="data:image/png;base64,iVBOR`, `id="run-data"`, `uPlot.iife.min.js`,
		`cpu (2 threads)`, `0.042 ms`)
	if strings.Contains(html, "not base64!") {
		t.Error("invalid image data reached the page")
	}
	// The header's parts are apart: "cpu (2 threads) · worker w1", not "cpu (2 threads)· worker".
	w := "w1"
	r.Worker = &w
	mustContain(t, render(t, RunPage(RunProps{Run: r})), `<span id="worker-line"> · worker <span id="worker">w1</span>`)
	if strings.Contains(html, `id="cancel"`) || strings.Contains(html, `id="live"`) {
		t.Error("finished run shows live controls")
	}
	if got := strings.Count(html, `<td class="heat-`); got != 100 {
		t.Errorf("confusion matrix has %d cells, want 100", got)
	}
}

func TestRunPageLiveAndFailed(t *testing.T) {
	t.Parallel()
	r := sampleRun(t, 8, "mnist-nn1", 3)
	r.Status, r.Test = runs.StatusRunning, nil
	html := render(t, RunPage(RunProps{Run: r, Progress: &Progress{Epoch: 4, Epochs: 30, Batch: 12, Batches: 86, ImagesPerSec: 5123.4, ETASeconds: 95}}))
	mustContain(t, html, `id="live"`, `id="cancel"`, `action="/runs/8/cancel"`, `data-confirm=`,
		`id="epoch-progress"`, `5,123 images/s`, `1m 35s left`, `"events_url":"/api/runs/8/events"`)

	r.Status = runs.StatusFailed
	r.Error = "out of memory: batch 60000 does not fit\ngoroutine 1 [running]:\nmain.main()"
	html = render(t, RunPage(RunProps{Run: r}))
	mustContain(t, html, `id="run-error"`, `out of memory: batch 60000 does not fit`)
	if strings.Contains(html, "goroutine") {
		t.Error("stack trace shown")
	}
}

func TestRunPageMultiHead(t *testing.T) {
	t.Parallel()
	r := sampleRun(t, 9, "captcha-model1", 2)
	r.Test.Accuracy = 0.904
	r.Test.ImageAccuracy, r.Test.CharAccuracy, r.Test.PerPosition = runs.Float(0.904), runs.Float(0.936), []float64{0.95, 0.93, 0.92, 0.94}
	// Image accuracy (all four right) and character accuracy per epoch: the
	// best validation epoch is chosen by image accuracy, and both are named.
	r.Epochs = []runs.Epoch{
		{Epoch: 1, Loss: 9, Accuracy: runs.Float(0), CharAccuracy: runs.Float(0.05), ValLoss: runs.Float(9),
			ValAccuracy: runs.Float(0.001), ValCharAccuracy: runs.Float(0.0562), LearningRate: 0.001, Seconds: 3},
		{Epoch: 2, Loss: 8, Accuracy: runs.Float(0.01), CharAccuracy: runs.Float(0.2), ValLoss: runs.Float(8),
			ValAccuracy: runs.Float(0.002), ValCharAccuracy: runs.Float(0.05), LearningRate: 0.001, Seconds: 3},
	}
	html := render(t, RunPage(RunProps{Run: r}))
	mustContain(t, html, `Test image accuracy`, `id="test-accuracy">90.40%`, `Test char. accuracy`, `id="char-accuracy">93.60%`,
		`Best val. image accuracy`, `id="best-val-accuracy">0.20%`, `id="best-val-char-accuracy">5.00%`,
		`Val. image acc.`, `Val. char. acc.`, `>5.62%<`, `id="per-position"`, `Char 4`, `866,412`)
}

func TestComparePage(t *testing.T) {
	t.Parallel()
	a, b := sampleRun(t, 3, "mnist-cnn1", 50), sampleRun(t, 4, "mnist-cnn1", 15)
	rs := []runs.Run{a, b}
	html := render(t, ComparePage(CompareProps{Runs: rs, Comparison: runs.Compare(rs), Missing: []int64{99}}))
	summary := regexp.MustCompile(`(?s)<table class="data" id="summary">.*?</table>`).FindString(html)
	if got := strings.Count(summary, "<tr data-run-id="); got != 2 {
		t.Errorf("summary has %d run rows, want 2", got)
	}
	mustContain(t, html, `id="only-diff"`, `id="params"`, `id="compare-data"`, `id="chart-val-accuracy"`, `#99`)
	// Epochs differ (50 vs 15): the row is marked and the second cell highlighted.
	if !regexp.MustCompile(`<tr class="differs"><th>Epochs</th><td class="">50</td><td class="diff">15</td></tr>`).MatchString(html) {
		t.Error("the differing epochs cell is not highlighted")
	}
	if !strings.Contains(html, `<tr class="same"><th>Optimizer</th>`) {
		t.Error("equal rows are not marked same")
	}

	// Groups take the colour of their first run: runs 3 and 5 group as the
	// first (c0, run 3's), run 4 alone as the second (c1, run 4's).
	c := sampleRun(t, 5, "mnist-cnn1", 50)
	rs = []runs.Run{a, b, c}
	groups := []runs.Group{{Label: "epochs 50", Runs: []int64{3, 5}}, {Label: "epochs 15", Runs: []int64{4}}}
	html = render(t, ComparePage(CompareProps{Runs: rs, Comparison: runs.Compare(rs), Groups: groups, GroupBy: []string{"epochs"}}))
	mustContain(t, html, `<tr data-group="0"><td><a href="/compare?runs=3,5" class="run-chip c0 d0">`,
		`<tr data-group="1"><td><a href="/compare?runs=4" class="run-chip c1 d0">`)
	groups[0], groups[1] = groups[1], groups[0]
	html = render(t, ComparePage(CompareProps{Runs: rs, Comparison: runs.Compare(rs), Groups: groups, GroupBy: []string{"epochs"}}))
	mustContain(t, html, `<tr data-group="0"><td><a href="/compare?runs=4" class="run-chip c1 d0">`,
		`"label":"epochs 15","colour":"`+palette()[1]+`"`)
}

func TestExperimentAndErrorPages(t *testing.T) {
	t.Parallel()
	spec := preset(t, "mnist-nn2")
	html := render(t, ExperimentPage(ExperimentProps{
		Experiment: ExperimentItem{ID: 5, Name: "Bigger is not better", Preset: "mnist-nn2", CreatedAt: time.Now()},
		Spec:       spec,
		Runs:       []runs.Run{sampleRun(t, 10, "mnist-nn2", 3), sampleRun(t, 11, "mnist-nn2", 3)},
	}))
	mustContain(t, html, "Bigger is not better", "407,050", `href="/compare?runs=11,10"`, `href="/runs/10"`)

	// Three seeds of one experiment: the settings name every seed, and each
	// run's row shows its own, so the runs can be told apart.
	var seeded []runs.Run
	for i := range 3 {
		r := sampleRun(t, int64(20+i), "mnist-nn2", 3)
		r.Spec.Seed = int64(1 + i)
		seeded = append(seeded, r)
	}
	html = render(t, ExperimentPage(ExperimentProps{Experiment: ExperimentItem{ID: 6, Name: "three seeds"}, Spec: spec, Runs: seeded}))
	mustContain(t, html, `<th>Seed</th><td>1, 2, 3: one per run</td>`, `<th class="num">Seed</th>`,
		`<td class="num run-seed">1</td>`, `<td class="num run-seed">2</td>`, `<td class="num run-seed">3</td>`)

	// A sweep of one seed: the seed row is that seed, the swept rows name
	// every value in the order the runs were queued, and the model table
	// says it is the base spec.
	var swept []runs.Run
	for i, lr := range []float64{0.01, 0.001, 0.01, 0.001} {
		r := sampleRun(t, int64(40-i), "mnist-nn2", 3)
		r.Spec.LearningRate = lr
		swept = append(swept, r)
	}
	html = render(t, ExperimentPage(ExperimentProps{Experiment: ExperimentItem{ID: 7, Name: "sweep"}, Spec: spec, Runs: swept,
		Sweep: &SweepProps{Mode: "grid", Params: []string{"layers[1].units", "learning_rate"}, Best: -1, Seeds: 1}}))
	mustContain(t, html, `<th>Seed</th><td>1</td>`, `<th>Learning rate</th><td>0.001, 0.01 (swept)</td>`, `<th>Epochs</th><td>3</td>`,
		`id="model-swept"`, `The sweep varies layers[1].units: this table is the base spec`)
	if strings.Contains(html, "one per run") {
		t.Error("a sweep of one seed says one seed per run")
	}

	mustContain(t, render(t, NotFoundPage(NotFoundProps{Message: "No run 42."})), "404", "No run 42.")
	mustContain(t, render(t, ErrorPage(ErrorProps{Message: "database is locked"})), "500", "database is locked")
}

func TestStaticAssets(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"css/app.css", "js/app.js", "js/runs-table.js", "js/experiment-form.js", "js/run.js",
		"js/compare.js", "js/charts.js", "vendor/htmx.min.js", "vendor/htmx-ext-sse.min.js", "vendor/uPlot.iife.min.js", "vendor/uPlot.min.css", "favicon.svg"} {
		if _, err := fs.Stat(StaticRoot(), p); err != nil {
			t.Errorf("static asset %s: %v", p, err)
		}
	}
}

func TestFormatting(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		thousands(203530): "203,530", thousands(10): "10", thousands(-1234): "-1,234",
		seconds(0.5): "500 ms", seconds(42.13): "42.1 s", seconds(185): "3m 05s", seconds(3725): "1h 02m",
		pct(0.9685): "96.85%", num(0.001): "0.001",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

// TestDumpPages writes every sample page to the folder named by WEB_DUMP, with
// the static assets beside them, for a look in a browser; it is skipped otherwise.
func TestDumpPages(t *testing.T) {
	dir := os.Getenv("WEB_DUMP")
	if dir == "" {
		t.Skip("set WEB_DUMP to a folder to write the sample pages there")
	}
	live := sampleRun(t, 8, "mnist-cnn1", 6)
	live.Spec.Epochs, live.Status, live.Test = 15, runs.StatusRunning, nil
	failed := sampleRun(t, 12, "mnist-nn2", 2)
	failed.Status, failed.Test, failed.Error = runs.StatusFailed, nil, "dataset: MNIST files not found in /data/mnist (run `trainyard fetch mnist`)"
	a, b, c := sampleRun(t, 3, "mnist-nn1", 30), sampleRun(t, 4, "mnist-nn1", 20), sampleRun(t, 5, "mnist-cnn1", 15)
	bad := preset(t, "mnist-cnn1")
	bad.Epochs, bad.Layers[2].Kernel, bad.LearningRate = 0, 99, -1
	errs := bad.Validate().(*experiments.ValidationError).Fields
	errs["name"] = "name is required"
	pages := map[string]templ.Component{
		"home.html":       HomePage(HomeProps{Runs: listed(a, b, c, live, failed), Experiments: []ExperimentItem{{ID: 1, Name: "NN vs CNN", Preset: "mnist-nn1", CreatedAt: time.Now(), RunCount: 5}}}),
		"home-empty.html": HomePage(HomeProps{}),
		"new.html":        NewExperimentPage(NewExperimentProps{Preset: "mnist-cnn2", Presets: experiments.Presets()}),
		"new-errors.html": NewExperimentPage(NewExperimentProps{Preset: "mnist-cnn1", Spec: bad, Presets: experiments.Presets(), Errors: errs, Repeats: 3}),
		"run.html":        RunPage(RunProps{Run: c}),
		"run-live.html":   RunPage(RunProps{Run: live, Progress: &Progress{Epoch: 7, Epochs: 15, Batch: 40, Batches: 86, ImagesPerSec: 4210, ETASeconds: 300}}),
		"run-failed.html": RunPage(RunProps{Run: failed}),
		"compare.html":    ComparePage(CompareProps{Runs: []runs.Run{a, b, c}}),
		"experiment.html": ExperimentPage(ExperimentProps{Experiment: ExperimentItem{ID: 1, Name: "NN vs CNN", Preset: "mnist-nn1", CreatedAt: time.Now()}, Spec: a.Spec, Runs: []runs.Run{a, b}}),
		"404.html":        NotFoundPage(NotFoundProps{}),
		"error.html":      ErrorPage(ErrorProps{Code: 500, Message: "The database is busy; try again."}),
	}
	for name, c := range pages {
		html := strings.ReplaceAll(render(t, c), `"/static/`, `"static/`)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(html), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.CopyFS(filepath.Join(dir, "static"), StaticRoot()); err != nil && !errors.Is(err, fs.ErrExist) {
		t.Fatal(err)
	}
}

// listed is the runs table's page of rs, as the store would list them.
func listed(rs ...runs.Run) RunsBrowserProps {
	var p RunsBrowserProps
	for _, r := range rs {
		lr := runs.ListedRun{Run: r, Params: r.Spec.Summarize().TotalParams}
		if r.Test != nil {
			acc := r.Test.Accuracy
			lr.TestAccuracy = &acc
		}
		p.Page.Runs = append(p.Page.Runs, lr)
	}
	return p
}

// TestSuitePageProgress: the suite page says how far its runs are, each
// member counted once however many comparisons show it; an ended run counts
// whole, a running one by its epochs, a member with no run yet not at all.
func TestSuitePageProgress(t *testing.T) {
	t.Parallel()
	ended := sampleRun(t, 1, "mnist-nn1", 30)
	ended.Epochs = ended.Epochs[:2] // stopped early: counts as its 30
	running := sampleRun(t, 2, "mnist-cnn1", 50)
	running.Status = runs.StatusRunning
	running.Epochs = make([]runs.Epoch, 10)
	p := SuiteProps{ID: 1, Name: "report", Live: true, Comparisons: []SuiteComparison{
		{Title: "NN 1", Rows: []SuiteRow{{Key: "nn1-30", Run: ended}, {Key: "cnn1-50", Run: running}}},
		{Title: "NN vs CNN", Rows: []SuiteRow{{Key: "nn1-30", Run: ended}, {Key: "cnn2-10"}}},
	}}
	html := render(t, SuitePage(p))
	mustContain(t, html, `<progress max="80" value="40"`, `<b id="suite-ended">1</b> of 3 runs ended`, `<b id="suite-epochs">40</b> of 80 epochs trained`)
}
