package server

import (
	"encoding/json"
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
	// From here the page writes down, each time its epoch count changes,
	// what it shows: the curves' points, the count, the table's rows and the
	// status. The record lives in sessionStorage, which the reload on the
	// final status keeps, so what the page showed live is known even when a
	// loaded machine lets the run finish between two looks of the test.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		sessionStorage.setItem('live-log', '[]');
		sessionStorage.setItem('live-events', '');
		const note = (text) => sessionStorage.setItem('live-events', sessionStorage.getItem('live-events') + text + ' ');
		const ev = document.querySelector('#live-events');
		ev.addEventListener('sse:progress', () => note('p'));
		ev.addEventListener('sse:epoch', (e) => note('e' + JSON.parse(e.detail.data).epoch));
		ev.addEventListener('sse:status', (e) => note('s:' + JSON.parse(e.detail.data).status));
		document.querySelector('#live').addEventListener('htmx:sseError', () => note('ERR'));
		document.querySelector('#live').addEventListener('htmx:sseOpen', () => note('OPEN'));
		window.addEventListener('beforeunload', () => note('UNLOAD'));
		window.addEventListener('error', (e) => note('JSERR:' + e.message + '@' + e.filename + ':' + e.lineno + ':' + e.colno));
		const pts = (id, s) => document.querySelector(id).uplot.data[s].filter(v => v != null).length;
		new MutationObserver(() => {
			const log = JSON.parse(sessionStorage.getItem('live-log'));
			log.push({marker: window.__marker, count: document.querySelector('#epochs-count').textContent,
				loss: pts('#chart-loss', 1), acc: pts('#chart-accuracy', 2),
				rows: document.querySelectorAll('#epochs-body tr').length,
				last: (document.querySelector('#epochs-body tr:last-child td') || {}).textContent,
				// A page rendered after the first epoch has no "no epoch yet" line.
				noEpochs: (document.querySelector('#no-epochs') || {hidden: true}).hidden ? 'hidden' : 'shown',
				status: document.querySelector('#status .badge').dataset.status,
				bar: document.querySelector('#batch-progress').value, pEpoch: +document.querySelector('#p-epoch').textContent});
			sessionStorage.setItem('live-log', JSON.stringify(log));
		}).observe(document.querySelector('#epochs-count'), {childList: true, characterData: true, subtree: true});
		return true; })()`)); err != nil {
		t.Fatal(err)
	}
	// An epoch ends: the curves get a point, the "Epochs (N)" count and the
	// table follow, still on the same page while the run goes on.
	type shown struct {
		Marker   int     `json:"marker"`
		Count    string  `json:"count"`
		Loss     int     `json:"loss"`
		Acc      int     `json:"acc"`
		Rows     int     `json:"rows"`
		Last     string  `json:"last"`
		NoEpochs string  `json:"noEpochs"`
		Status   string  `json:"status"`
		Bar      float64 `json:"bar"`
		PEpoch   int     `json:"pEpoch"`
	}
	liveEpochs := func(log []shown) int {
		n := 0
		for _, s := range log {
			if s.Marker == 1 && s.Status == "running" && s.Loss >= 1 && s.Acc == s.Loss && s.Count == strconv.Itoa(s.Loss) &&
				s.Rows == s.Loss && s.Last == s.Count && s.NoEpochs == "hidden" {
				n++
			}
		}
		return n
	}
	var log []shown
	deadline := time.Now().Add(2 * time.Minute)
	for {
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`sessionStorage.getItem('live-log') || '[]'`))
		if err == nil {
			log = nil
			if err := json.Unmarshal([]byte(raw), &log); err != nil {
				t.Fatalf("live log %q: %v", raw, err)
			}
		}
		done := a.run(t, ids[0]).Status.Done()
		if liveEpochs(log) >= 2 || time.Now().After(deadline) || (done && err == nil) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := liveEpochs(log); n < 2 {
		r := a.run(t, ids[0])
		events, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`sessionStorage.getItem('live-events')`))
		t.Logf("events the page received: %s", events)
		t.Fatalf("the page showed %d epochs live (want 2 or more, each on the curves, the count and the table): run is %s with %d epochs; page wrote %+v",
			n, r.Status, len(r.Epochs), log)
	}
	t.Logf("two epochs shown live after %s", time.Since(start))
	if !a.run(t, ids[0]).Status.Done() {
		screenshot(t, ctx, "browser-live-running.png")
	}
	moved := false
	for _, s := range log {
		moved = moved || (s.Marker == 1 && (s.Bar != batch || s.PEpoch > 1))
	}
	if !moved {
		t.Errorf("the batch bar did not move from %v: page wrote %+v", batch, log)
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
