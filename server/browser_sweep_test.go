package server

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trainyard/trainyard/runs"
)

// TestBrowserSweepAndRunsTable trains a 2x2 sweep, looks at its parallel
// coordinates and scatter, brushes an axis to filter the configurations,
// then uses the home page's runs table: sorted by test accuracy, filtered by
// a query, paged.
func TestBrowserSweepAndRunsTable(t *testing.T) {
	t.Parallel()
	a := setup(t, 1)
	expID, ids := a.create(t, `{"name": "lr x width", "preset": "mnist-nn1", "overrides": {"epochs": 1, "train_limit": 500, "seed": 3},
		"sweep": {"params": {"learning_rate": [0.003, 0.0001], "layers[1].units": [16, 64]}}}`)
	for _, id := range ids {
		if r := a.waitFor(t, id, 2*time.Minute, func(r runs.Run) bool { return r.Status.Done() }); r.Status != runs.StatusSucceeded {
			t.Fatalf("run %d: %s %s", id, r.Status, r.Error)
		}
	}
	ctx := browser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(a.url+"/experiments/"+itoa(expID)),
		chromedp.WaitVisible(chromedp.CSS(`#sweep-parallel polyline`)),
	); err != nil {
		t.Fatal(err)
	}
	for sel, want := range map[string]int{`#sweep-parallel polyline`: 4, `#sweep-scatter circle`: 4, `#sweep-table tbody tr`: 4, `#sweep-table tr.best`: 1, `#sweep-parallel line`: 3} {
		if n, err := count(ctx, sel); err != nil || n != want {
			t.Fatalf("%s: %d (%v), want %d", sel, n, err, want)
		}
	}
	screenshot(t, ctx, "sweep.png")
	// The table is sorted by test accuracy, best first; the best row is marked.
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('#sweep-table tbody tr').classList.contains('best')`))
	if err != nil || !ok {
		t.Fatalf("best row not first: %v", err)
	}
	// Brush the first axis (layers[1].units, the sorted first setting) from a
	// fifth of its height down past its end: the two 16-unit configurations stay.
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const svg = document.getElementById('sweep-parallel');
		const hit = svg.querySelector('rect.axis-hit[data-axis="0"]');
		const r = hit.getBoundingClientRect();
		const x = r.left + r.width / 2;
		const opts = (y) => ({bubbles: true, clientX: x, clientY: y, pointerId: 1});
		hit.dispatchEvent(new PointerEvent('pointerdown', opts(r.bottom - r.height * 0.2)));
		svg.dispatchEvent(new PointerEvent('pointermove', opts(r.bottom + 10)));
		svg.dispatchEvent(new PointerEvent('pointerup', opts(r.bottom + 10)));
		return true; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if shown, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('sweep-table').dataset.shown`)); err != nil || shown != "2" {
		t.Fatalf("after brushing the units axis: %s rows shown (%v), want 2", shown, err)
	}
	screenshot(t, ctx, "sweep-brushed.png")

	// The runs table: sort by test accuracy, filter by a query, page by 3.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(a.url+"/"),
		chromedp.Click(chromedp.CSS(`th a.sort[data-sort="test_accuracy"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.readyState === 'complete' && !!document.querySelector('th[aria-sort="descending"] a[data-sort="test_accuracy"]')`, 20*time.Second); err != nil {
		t.Fatalf("not sorted by test accuracy: %v", err)
	}
	accs, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`[...document.querySelectorAll('#runs tbody td.strong')].map(td => parseFloat(td.textContent))`))
	if err != nil || len(accs) != 4 || accs[0] < accs[1] || accs[1] < accs[2] || accs[2] < accs[3] {
		t.Fatalf("sorted accuracies %v (%v)", accs, err)
	}
	if err := setInput(ctx, `#runs-q`, "layers_units = 3"); err != nil {
		t.Fatal(err)
	}
	if err := submitForm(ctx, `#runs-filters`); err != nil {
		t.Fatal(err)
	}
	// The submit navigates: wait for the new page to finish loading, so that
	// the next actions find its nodes rather than the old page's.
	if err := waitJS(ctx, `location.search.includes('layers_units') && document.readyState === 'complete' && !!document.getElementById('runs-filter-error')`, 20*time.Second); err != nil {
		t.Fatalf("query error not shown: %v", err)
	}
	if err := setInput(ctx, `#runs-q`, "learning_rate < 0.001"); err != nil {
		t.Fatal(err)
	}
	if err := submitForm(ctx, `#runs-filters`); err != nil {
		t.Fatal(err)
	}
	// The page with the error stays until the filtered one replaces it.
	if err := waitJS(ctx, `location.search.includes('learning_rate') && !document.getElementById('runs-filter-error') && document.querySelectorAll('#runs tbody tr').length === 2`, 20*time.Second); err != nil {
		n, _ := count(ctx, `#runs tbody tr`)
		t.Fatalf("filtered by learning_rate < 0.001: %d rows (%v)", n, err)
	}
	if n, err := count(ctx, `#runs tbody tr`); err != nil || n != 2 {
		t.Fatalf("filtered by learning_rate < 0.001: %d rows (%v)", n, err)
	}
	screenshot(t, ctx, "runs-table-filtered.png")
	if err := chromedp.Do(ctx, chromedp.Navigate(a.url+"/?limit=3"), chromedp.WaitVisible(chromedp.CSS(`#runs-next`)), chromedp.Click(chromedp.CSS(`#runs-next`)), chromedp.WaitVisible(chromedp.CSS(`#runs-first`))); err != nil {
		t.Fatal(err)
	}
	if n, err := count(ctx, `#runs tbody tr`); err != nil || n != 1 {
		t.Fatalf("second page of 3: %d rows (%v)", n, err)
	}
}

// TestBrowserCompareGroups compares four runs, two seeds each of 1 and 2
// epochs, grouped by epochs: a table of two groups with mean ± std, and a
// chart of mean lines with ±1 std bands whose single runs a toggle shows.
func TestBrowserCompareGroups(t *testing.T) {
	t.Parallel()
	a := setup(t, 1)
	_, one := a.create(t, `{"name": "one epoch", "preset": "mnist-nn1", "overrides": {"epochs": 1, "train_limit": 400}, "repeats": 2}`)
	_, two := a.create(t, `{"name": "two epochs", "preset": "mnist-nn1", "overrides": {"epochs": 2, "train_limit": 400}, "repeats": 2}`)
	ids := append(one, two...)
	for _, id := range ids {
		if r := a.waitFor(t, id, 2*time.Minute, func(r runs.Run) bool { return r.Status.Done() }); r.Status != runs.StatusSucceeded {
			t.Fatalf("run %d: %s %s", id, r.Status, r.Error)
		}
	}
	ctx := browser(t)
	list := itoa(ids[0]) + "," + itoa(ids[1]) + "," + itoa(ids[2]) + "," + itoa(ids[3])
	if err := chromedp.Do(ctx,
		chromedp.Navigate(a.url+"/compare?runs="+list),
		chromedp.WaitVisible(chromedp.CSS(`#groups-table`)),
	); err != nil {
		t.Fatal(err)
	}
	// By default the seeds of each experiment form the groups.
	if n, err := count(ctx, `#groups-table tbody tr`); err != nil || n != 2 {
		t.Fatalf("seed groups: %d (%v)", n, err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#group-form input[value="epochs"]`))); err != nil {
		t.Fatal(err)
	}
	if err := submitForm(ctx, `#group-form`); err != nil {
		t.Fatal(err)
	}
	// The seed groups' table is on the page until the grouped one replaces it.
	if err := waitJS(ctx, `location.search.includes('group_by=epochs') && document.readyState === 'complete' && !!document.querySelector('#chart-groups .u-over')`, 20*time.Second); err != nil {
		t.Fatalf("grouped page did not load: %v", err)
	}
	labels, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#groups-table tbody tr td:first-child')].map(td => td.textContent.trim())`))
	if err != nil || len(labels) != 2 || labels[0] != "epochs 1" || labels[1] != "epochs 2" {
		t.Fatalf("groups by epochs: %v (%v)", labels, err)
	}
	cell, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#groups-table tbody tr td.strong').textContent`))
	if err != nil || !strings.Contains(cell, "±") {
		t.Fatalf("test accuracy cell %q (%v), want mean ± std", cell, err)
	}
	bands, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.getElementById('chart-groups').uplot.bands.length`))
	if err != nil || bands != 2 {
		t.Fatalf("%d bands (%v), want one per group", bands, err)
	}
	// Two epochs: the epoch axis marks whole epochs only, never "1.05".
	ticks, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`document.getElementById('chart-groups').uplot.axes[0]._values.map(String)`))
	if err != nil || len(ticks) == 0 {
		t.Fatalf("epoch ticks %v (%v)", ticks, err)
	}
	for _, v := range ticks {
		if v != "1" && v != "2" {
			t.Fatalf("epoch ticks %v, want whole epochs 1 and 2", ticks)
		}
	}
	hidden := `document.getElementById('chart-groups').uplot.series.filter(s => s.label.startsWith('#') && !s.show).length`
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](hidden)); err != nil || n != 4 {
		t.Fatalf("%d single runs hidden (%v), want 4", n, err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#show-singles`))); err != nil {
		t.Fatal(err)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](hidden)); err != nil || n != 0 {
		t.Fatalf("%d single runs still hidden after the toggle (%v)", n, err)
	}
	screenshot(t, ctx, "compare-groups.png")
}

// TestBrowserTagsCSVDelete edits a run's tags and note in place, finds the
// run by its tag in the runs table, exports that table as CSV, and deletes
// the run after confirming.
func TestBrowserTagsCSVDelete(t *testing.T) {
	t.Parallel()
	a := setup(t, 0)
	expID, ids := a.create(t, `{"name": "tag me", "preset": "mnist-nn1", "overrides": {"epochs": 1}}`)
	a.create(t, `{"name": "other", "preset": "mnist-nn1", "overrides": {"epochs": 1}}`)
	id := ids[0]
	if code, _, _ := a.do(t, "POST", "/api/runs/"+itoa(id)+"/cancel", ""); code != 200 {
		t.Fatalf("cancel: %d", code)
	}
	ctx := browser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(a.url+"/runs/"+itoa(id)),
		chromedp.Click(chromedp.CSS(`#meta-edit`)),
		chromedp.WaitVisible(chromedp.CSS(`#meta-tags-input`)),
	); err != nil {
		t.Fatal(err)
	}
	if err := setInput(ctx, `#meta-tags-input`, "baseline, keep"); err != nil {
		t.Fatal(err)
	}
	if err := setInput(ctx, `#meta-note-input`, "stopped by hand"); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#meta-save`)), chromedp.WaitVisible(chromedp.CSS(`#meta-view .tag`))); err != nil {
		t.Fatal(err)
	}
	tags, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#meta-tags .tag')].map(s => s.textContent)`))
	if err != nil || len(tags) != 2 || tags[0] != "baseline" || tags[1] != "keep" {
		t.Fatalf("tags shown: %v (%v)", tags, err)
	}
	if r := a.run(t, id); len(r.Tags) != 2 || r.Note != "stopped by hand" {
		t.Fatalf("stored: %v %q", r.Tags, r.Note)
	}
	// A bad tag is named under its field, and nothing changes.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#meta-edit`))); err != nil {
		t.Fatal(err)
	}
	if err := setInput(ctx, `#meta-tags-input`, "fine, bad|tag"); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#meta-save`))); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.getElementById('meta-tags-error').textContent.includes('bad|tag')`, 10*time.Second); err != nil {
		t.Fatalf("bad tag not named: %v", err)
	}
	screenshot(t, ctx, "run-tags.png")

	// The runs table filtered by the tag, and its CSV export.
	if err := chromedp.Do(ctx, chromedp.Navigate(a.url+"/"), chromedp.WaitVisible(chromedp.CSS(`#runs-tag`))); err != nil {
		t.Fatal(err)
	}
	if err := setInput(ctx, `#runs-tag`, "baseline"); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#runs-filters button[type=submit]`))); err != nil {
		t.Fatal(err)
	}
	// The unfiltered table is on the page until the filtered one replaces it.
	if err := waitJS(ctx, `location.search.includes('tag=baseline') && !!document.getElementById('runs-csv') && document.querySelectorAll('#runs tbody tr').length === 1`, 20*time.Second); err != nil {
		n, _ := count(ctx, `#runs tbody tr`)
		t.Fatalf("runs tagged baseline: %d rows (%v)", n, err)
	}
	if n, err := count(ctx, `#runs tbody tr`); err != nil || n != 1 {
		t.Fatalf("runs tagged baseline: %d (%v)", n, err)
	}
	csv, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(document.getElementById('runs-csv').href).then(r => r.text())`, chromedp.EvalAsValue, chromedp.EvalAwaitPromise))
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if err != nil || len(lines) != 2 || !strings.HasPrefix(lines[1], itoa(id)+",tag me,") || !strings.Contains(lines[1], "baseline keep") {
		t.Fatalf("csv export: %q (%v)", csv, err)
	}

	// Delete, after the confirmation.
	if err := chromedp.Do(ctx, chromedp.Navigate(a.url+"/runs/"+itoa(id)), chromedp.WaitVisible(chromedp.CSS(`#meta-delete`))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(window.confirm = () => true, true)`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#meta-delete`))); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `location.pathname === '/experiments/`+itoa(expID)+`'`, 10*time.Second); err != nil {
		t.Fatalf("not back on the experiment after delete: %v", err)
	}
	if code, _, _ := a.do(t, "GET", "/api/runs/"+itoa(id), ""); code != 404 {
		t.Fatalf("deleted run: %d", code)
	}
}
