package server

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trainyard/trainyard/runs"
)

// TestBrowserASHASweep trains a small sweep with successive halving and
// looks at its page: the rungs and how many runs stopped at each, a
// "stopped early at epoch N" badge beside each stopped run, and the runs
// table filtered to stopped runs.
func TestBrowserASHASweep(t *testing.T) {
	t.Parallel()
	a := setup(t, 1)
	expID, ids := a.create(t, `{"name": "asha", "preset": "mnist-nn1", "overrides": {"epochs": 4, "batch_size": 32, "train_limit": 300, "seed": 3},
		"sweep": {"params": {"learning_rate": [0.003, 1e-7, 2e-7]}, "asha": {"metric": "val_loss", "min_epochs": 1, "eta": 2}}}`)
	stopped := 0
	for _, id := range ids {
		if r := a.waitFor(t, id, 3*time.Minute, func(r runs.Run) bool { return r.Status.Done() }); r.Status == runs.StatusStopped {
			stopped++
		}
	}
	if stopped != 2 {
		t.Fatalf("%d runs stopped, want the two at learning rate 1e-7 and 2e-7", stopped)
	}
	ctx := browser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(a.url+"/experiments/"+itoa(expID)),
		chromedp.WaitVisible(chromedp.CSS(`#sweep-rungs`)),
	); err != nil {
		t.Fatal(err)
	}
	for sel, want := range map[string]int{`#sweep-rungs tbody tr`: 2, `#sweep-table [data-stop-rung="1"]`: 2, `#sweep-table tbody tr`: 3} {
		if n, err := count(ctx, sel); err != nil || n != want {
			t.Fatalf("%s: %d (%v), want %d", sel, n, err, want)
		}
	}
	if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#sweep-rungs tr[data-rung="1"] td:last-child').textContent`)); err != nil || got != "2" {
		t.Fatalf("runs stopped at the rung at epoch 1: %q (%v), want 2", got, err)
	}
	screenshot(t, ctx, "sweep-asha.png")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(a.url+"/?status=stopped"),
		chromedp.WaitVisible(chromedp.CSS(`#runs .badge-stopped`)),
	); err != nil {
		t.Fatal(err)
	}
	if n, err := count(ctx, `#runs tbody .badge-stopped`); err != nil || n != 2 {
		t.Fatalf("stopped runs in the filtered table: %d (%v)", n, err)
	}
	if txt, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#runs tbody .badge-stopped').textContent`)); err != nil || txt != "stopped early" {
		t.Fatalf("badge reads %q (%v), want stopped early", txt, err)
	}
	screenshot(t, ctx, "runs-stopped.png")
}
