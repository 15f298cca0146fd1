package server

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trainyard/trainyard/runs"
)

// TestBrowserSweepForm types lists into the form: the live summary says
// how many runs it queues before anything is queued, a list with a value
// the server cannot take is marked at its field (sweep.params.<name>), and
// the corrected form queues the sweep: one run per point and seed, and the
// experiment's page shows the sweep.
func TestBrowserSweepForm(t *testing.T) {
	t.Parallel()
	a := setup(t, 0)
	ctx := browser(t)
	err := chromedp.Do(ctx, chromedp.Navigate(a.url+"/experiments/new"), chromedp.WaitVisible(chromedp.CSS(`#learning_rate`)))
	for _, f := range [][2]string{{`#name`, "lr sweep"}, {`#epochs`, "1"}, {`#train_limit`, "256"}, {`#repeats`, "2"}, {`#learning_rate`, "0.001, 0.0003"}} {
		if err == nil {
			err = setInput(ctx, chromedp.CSS(f[0]), f[1])
		}
	}
	if err == nil {
		err = waitJS(ctx, `document.querySelector('#sweep-summary').textContent.startsWith("Queues 4 runs (2 points × 2 seeds)")`, 15*time.Second)
	}
	if err != nil {
		txt, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#sweep-summary').textContent`))
		t.Fatalf("the summary does not count 4 runs: %v (%q)", err, txt)
	}
	// A width the validation refuses, in a list: named at the layer's field.
	if err := setInput(ctx, `#layer-1-units`, "64, 0"); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `[...document.querySelectorAll('.layer-row[data-index="1"] .row-errors li')].some(li => li.textContent.includes("sweep.params.layers[1].units"))`, 15*time.Second); err != nil {
		t.Fatalf("a bad width in a list is not named at its layer: %v", err)
	}
	screenshot(t, ctx, "sweep-form-error.png")
	if err := setInput(ctx, `#layer-1-units`, "64, 128"); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.querySelector('#sweep-summary').textContent.startsWith("Queues 8 runs (4 points × 2 seeds)")`, 15*time.Second); err != nil {
		t.Fatalf("the summary does not count 8 runs: %v", err)
	}
	if code, b, _ := a.do(t, "GET", "/api/runs", ""); code != http.StatusOK || !strings.Contains(string(b), `"runs":[]`) {
		t.Fatalf("something was queued before submit: %d %s", code, b)
	}
	// Successive halving: a first rung at the last epoch is named at its field.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#asha_enabled`))); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.querySelector('[data-error-for="sweep.asha.min_epochs"]').textContent.includes("must be below the epochs")`, 15*time.Second); err != nil {
		t.Fatalf("an asha rung past the epochs is not named at its field: %v", err)
	}
	if err := setInput(ctx, `#epochs`, "3"); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.querySelector('[data-error-for="sweep.asha.min_epochs"]').textContent === "" &&
		document.querySelector('#sweep-summary').textContent.startsWith("Queues 8 runs (4 points × 2 seeds), 24 epochs")`, 15*time.Second); err != nil {
		txt, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#sweep-summary').textContent`))
		t.Fatalf("with 3 epochs: %v (%q)", err, txt)
	}
	screenshot(t, ctx, "sweep-form.png")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#submit`)), chromedp.WaitVisible(chromedp.CSS(`#sweep-table`))); err != nil {
		t.Fatalf("submit the sweep: %v", err)
	}
	code, b, _ := a.do(t, "GET", "/api/experiments?limit=1", "")
	if code != http.StatusOK || !strings.Contains(string(b), `"asha":{"metric":"val_loss","min_epochs":1,"eta":3}`) {
		t.Fatalf("the queued sweep has no asha block: %d %.400s", code, b)
	}
	code, b, _ = a.do(t, "GET", "/api/runs?limit=50", "")
	var page runs.Page
	if code != http.StatusOK || json.Unmarshal(b, &page) != nil {
		t.Fatalf("runs: %d %s", code, b)
	}
	var got []string
	for _, r := range page.Runs {
		got = append(got, itoa(int64(r.Spec.Layers[1].Units))+"@"+num(r.Spec.LearningRate))
	}
	sort.Strings(got)
	want := "128@0.0003 128@0.0003 128@0.001 128@0.001 64@0.0003 64@0.0003 64@0.001 64@0.001"
	if strings.Join(got, " ") != want {
		t.Fatalf("queued %v, want %s", got, want)
	}
}
