package server

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trainyard/trainyard/runs"
)

// TestBrowserRerunWithChanges clicks "Re-run with changes" on a run's page:
// the form opens filled with the run's settings; one changed (epochs 7 to
// 3) and queued, the new run keeps the others (learning rate, batch size,
// seed, preset) and the old run is untouched.
func TestBrowserRerunWithChanges(t *testing.T) {
	// Not parallel: it runs before the parallel browser tests, not beside them.
	a := setup(t, 0)
	_, ids := a.create(t, `{"name": "tuned", "preset": "mnist-cnn1", "overrides": {"epochs": 7, "learning_rate": 0.0031, "batch_size": 96, "seed": 42}}`)
	ctx := browser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(a.url+"/runs/"+itoa(ids[0])),
		chromedp.WaitVisible(chromedp.CSS(`#rerun`)),
		chromedp.Click(chromedp.CSS(`#rerun`)),
		chromedp.WaitVisible(chromedp.CSS(`#epochs`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `location.pathname === '/experiments/new' && document.querySelector('#epochs').value === '7' &&
		document.querySelector('#learning_rate').value === '0.0031' && document.querySelector('#batch_size').value === '96'`, 10*time.Second); err != nil {
		vals, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`['#epochs', '#learning_rate', '#batch_size'].map(s => document.querySelector(s).value)`))
		t.Fatalf("the form is not filled with the run's settings: %v (%v)", vals, err)
	}
	if err := setInput(ctx, `#epochs`, "3"); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "rerun-with-changes.png")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#submit`)), chromedp.WaitVisible(chromedp.CSS(`#experiment-name`))); err != nil {
		t.Fatalf("queue the re-run: %v", err)
	}
	code, b, _ := a.do(t, "GET", "/api/runs", "")
	var page struct{ Runs []runs.Run }
	if code != http.StatusOK || json.Unmarshal(b, &page) != nil || len(page.Runs) != 2 {
		t.Fatalf("runs after the re-run: %d %s", code, b)
	}
	var re, old runs.Run
	for _, r := range page.Runs {
		if r.ID == ids[0] {
			old = r
		} else {
			re = r
		}
	}
	s := re.Spec
	if s.Epochs != 3 || s.LearningRate != 0.0031 || s.BatchSize != 96 || s.Seed != 42 || re.Preset != "mnist-cnn1" {
		t.Fatalf("re-run spec: epochs %d, lr %v, batch %d, seed %d, preset %q", s.Epochs, s.LearningRate, s.BatchSize, s.Seed, re.Preset)
	}
	if old.Spec.Epochs != 7 {
		t.Fatalf("the original run changed: epochs %d", old.Spec.Epochs)
	}
}
