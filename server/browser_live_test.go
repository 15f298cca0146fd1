package server

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserLiveProgress opens the page of a running MNIST run and watches
// it without reloading: the progress bars and speed move and the curves get
// points while the run trains (window.__marker survives, so the page was not
// reloaded), and once the status event says succeeded the page shows the
// results.
func TestBrowserLiveProgress(t *testing.T) {
	t.Parallel()
	a := setup(t, 1)
	ctx := browser(t)
	_, ids := a.create(t, `{"name": "live", "preset": "mnist-nn1", "overrides": {"epochs": 12, "batch_size": 8, "train_limit": 4000, "seed": 1}, "repeats": 1}`)
	start := time.Now()
	err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/runs/%d", a.url, ids[0])), chromedp.WaitVisible(chromedp.CSS(`#live`)))
	if err != nil {
		t.Fatalf("run page: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__marker = 1`)); err != nil {
		t.Fatal(err)
	}
	// Live: progress, speed and the worker that trains it, with the same page.
	if err := waitJS(ctx, `window.__marker === 1 &&
		document.querySelector('#live-state').textContent === 'live' &&
		document.querySelector('#batch-progress').value > 0 &&
		document.querySelector('#epoch-progress').value > 0 &&
		/^[0-9,]+ images\/s$/.test(document.querySelector('#p-speed').textContent) &&
		document.querySelector('#status .badge').dataset.status === 'running' &&
		!document.querySelector('#worker-line').hidden &&
		document.querySelector('#worker').textContent === `+strconv.Quote(a.srv.trainer.Name()), 90*time.Second); err != nil {
		t.Fatalf("no live progress (%v): run is %s", err, a.run(t, ids[0]).Status)
	}
	t.Logf("live progress after %s", time.Since(start))
	batch, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector('#batch-progress').value`))
	if err != nil {
		t.Fatal(err)
	}
	// An epoch ends: the curves get a point, still on the same page, while the run goes on.
	if err := waitJS(ctx, `window.__marker === 1 &&
		document.querySelector('#chart-loss').uplot.data[1].some(v => v != null) &&
		document.querySelector('#chart-accuracy').uplot.data[2].some(v => v != null) &&
		document.querySelector('#no-epochs').hidden`, 90*time.Second); err != nil {
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({marker: window.__marker, live: (document.querySelector('#live-state') || {}).textContent,
			count: (document.querySelector('#epochs-count') || {}).textContent, chart: (document.querySelector('#chart-loss').uplot || {}).data})`))
		r := a.run(t, ids[0])
		t.Fatalf("the curves got no point without a reload (%v): run is %s with %d epochs; page %s", err, r.Status, len(r.Epochs), state)
	}
	if r := a.run(t, ids[0]); r.Status.Done() {
		t.Fatalf("the run finished before the page showed a point (%s): give it more work", time.Since(start))
	}
	t.Logf("first point after %s", time.Since(start))
	// The "Epochs (N)" count and the table follow the chart, without a reload.
	if err := waitJS(ctx, `(() => { const pts = document.querySelector('#chart-loss').uplot.data[1].filter(v => v != null).length;
		return window.__marker === 1 && pts >= 2 && document.querySelector('#epochs-count').textContent === String(pts) &&
			document.querySelectorAll('#epochs-body tr').length === pts &&
			document.querySelector('#epochs-body tr:last-child td').textContent === String(pts); })()`, 45*time.Second); err != nil {
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({count: document.querySelector('#epochs-count').textContent,
			rows: Array.from(document.querySelectorAll('#epochs-body tr')).map(r => r.textContent),
			chart: document.querySelector('#chart-loss').uplot.data[1]})`))
		t.Fatalf("the epochs count and table do not follow the chart (%v): %s; run is %s", err, state, a.run(t, ids[0]).Status)
	}
	screenshot(t, ctx, "browser-live-running.png")
	moved, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector('#batch-progress').value != %v || +document.querySelector('#p-epoch').textContent > 1`, batch)))
	if err != nil || !moved {
		t.Errorf("the batch bar did not move (%v)", err)
	}
	// The status event ends it: the page shows the results (it reloads once for them).
	if err := waitJS(ctx, `document.readyState === 'complete' && !!document.querySelector('#results') && document.querySelector('#status .badge').dataset.status === 'succeeded'`, time.Minute); err != nil {
		t.Fatalf("no results after the run ended (%v): run is %s", err, a.run(t, ids[0]).Status)
	}
	t.Logf("results after %s", time.Since(start))
	if n, err := count(ctx, `#live`); err != nil || n != 0 {
		t.Errorf("the live section is still there (%d, %v)", n, err)
	}
	screenshot(t, ctx, "browser-live-finished.png")
}
