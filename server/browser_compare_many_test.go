package server

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserCompareManySeries compares 18 runs of two experiments: every
// run's curve has its own colour and line style (at least 16 distinct
// pairs, legend markers showing the dash), the curves switch to wall-clock
// time and back, and the "time to X% validation accuracy" column follows X.
func TestBrowserCompareManySeries(t *testing.T) {
	t.Parallel()
	a := setup(t, 0)
	ids := seedFinishedRuns(t, a, 18, 9, 6)
	ctx := browser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(a.url+"/compare?runs="+joinIDs(ids)),
		chromedp.WaitVisible(chromedp.CSS(`#chart-val-accuracy .u-legend`)),
	); err != nil {
		t.Fatal(err)
	}
	distinct, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(() => {
		const u = document.getElementById('chart-val-accuracy').uplot;
		return new Set(u.series.slice(1).map(s => s._stroke + '|' + JSON.stringify(s.dash || []))).size; })()`))
	if err != nil || distinct < 16 {
		t.Fatalf("%d distinct colour and dash pairs among 18 series (%v), want at least 16", distinct, err)
	}
	styles, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#chart-val-accuracy .u-legend .u-marker')].slice(1).map(m => m.style.borderTopStyle)`))
	if err != nil || len(styles) != 18 || styles[0] != "solid" || styles[8] != "dashed" || styles[16] != "dotted" {
		t.Fatalf("legend marker styles %v (%v), want solid for runs 1-8, dashed for 9-16, dotted after", styles, err)
	}
	screenshot(t, ctx, "compare-18-runs.png")
	// Wall-clock time: x values are seconds of training, increasing.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#x-time`)), chromedp.WaitVisible(chromedp.CSS(`#chart-val-accuracy[data-x="time"] .u-legend`))); err != nil {
		t.Fatal(err)
	}
	xs, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`document.getElementById('chart-val-accuracy').uplot.data[0]`))
	if err != nil || len(xs) < 18 || xs[0] != 1 || xs[len(xs)-1] != 6*(1+1.7) {
		t.Fatalf("time axis %v (%v): want the first epoch end at 1 s and the slowest run's last at 16.2 s", xs, err)
	}
	label, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#chart-val-accuracy .u-legend th').textContent`))
	screenshot(t, ctx, "compare-wall-clock.png")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#x-epoch`)), chromedp.WaitVisible(chromedp.CSS(`#chart-val-accuracy[data-x="epoch"]`))); err != nil {
		t.Fatal(err)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.getElementById('chart-val-accuracy').uplot.data[0].length`)); err != nil || n != 6 {
		t.Fatalf("back to epochs: %d x values (%v), label was %q", n, err, label)
	}
	// Time to 90% by default: run 1's validation accuracy is 0.59, 0.69,
	// 0.79, 0.89, 0.99, ...: 90% at epoch 5, after 5 x 1 s.
	first := `document.querySelector('#summary tbody tr [data-time-to]').textContent`
	if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](first)); err != nil || got != "5.0 s (epoch 5)" {
		t.Fatalf("time to 90%%: %q (%v)", got, err)
	}
	if err := setInput(ctx, `#target`, "60"); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, first+` === "2.0 s (epoch 2)"`, 10*time.Second); err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](first))
		t.Fatalf("time to 60%%: %q (%v)", got, err)
	}
	// Run 18 climbs 0.083 per epoch, each 2.7 s long: 65.6% at epoch 2.
	if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelectorAll('#summary tbody tr [data-time-to]')[17].textContent`)); err != nil || got != "5.4 s (epoch 2)" {
		t.Fatalf("run 18's time to 60%%: %q (%v)", got, err)
	}
	// No run reaches 100%: the column says so.
	if err := setInput(ctx, `#target`, "100"); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, first+` === "–"`, 10*time.Second); err != nil {
		t.Fatalf("time to 100%%: %v", err)
	}
}

// TestBrowserCompareBeforeAnyEpoch compares two runs that wait for a worker
// (none runs here): each chart says that no epoch has finished yet instead
// of drawing an empty frame.
func TestBrowserCompareBeforeAnyEpoch(t *testing.T) {
	t.Parallel()
	a := setup(t, 0)
	_, ids := a.create(t, `{"name": "waiting", "preset": "mnist-nn1", "overrides": {"epochs": 1}, "repeats": 2}`)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(a.url+"/compare?runs="+itoa(ids[0])+","+itoa(ids[1]))); err != nil {
		t.Fatal(err)
	}
	// Four curve charts and the group chart, none drawn, none of its full height.
	if err := waitJS(ctx, `document.readyState === 'complete' && document.querySelectorAll('.chart-empty').length === 5 &&
		!document.querySelector('.uplot') && document.getElementById('chart-groups').getBoundingClientRect().height < 100 &&
		document.getElementById('chart-val-accuracy').textContent.includes('no epoch has finished yet')`, 20*time.Second); err != nil {
		n, _ := count(ctx, `.chart-empty`)
		t.Fatalf("charts before any epoch: %d notes (%v)", n, err)
	}
	screenshot(t, ctx, "compare-before-any-epoch.png")
}
