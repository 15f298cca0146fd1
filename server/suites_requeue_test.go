package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
)

// TestSeedReportSourceChoice: "Reproduce the report" offers every imported
// dataset, uploaded zips included, and synthetic CAPTCHAs, says which it
// will use (the newest dataset), and queues on the one chosen; an unknown
// choice is refused naming captcha_source.
func TestSeedReportSourceChoice(t *testing.T) {
	t.Parallel()
	a := setupCfg(t, Config{})
	code, b := a.upload(t, "/api/datasets", "file", "vi.zip", zipDir(t, fixtureDir, nil), map[string]string{"name": "vi zip"})
	if code != http.StatusCreated {
		t.Fatalf("upload: %d %s", code, b)
	}
	ds := decode[experiments.Dataset](t, b)
	_, home, _ := a.do(t, "GET", "/", "")
	want := fmt.Sprintf(`<option value="dataset:%d" selected>dataset #%d vi zip (100 images, uploaded zip)</option>`, ds.ID, ds.ID)
	if !strings.Contains(string(home), want) || !strings.Contains(string(home), `<option value="synthetic">`) ||
		!strings.Contains(string(home), `<label for="captcha_source">CAPTCHA source</label>`) {
		t.Fatalf("the home page's report dialog lacks %s and synthetic:\n%s", want, home)
	}
	onDataset := func(resp suiteResponse) int {
		n := 0
		for _, id := range resp.Runs {
			if r := a.run(t, id); r.Spec.Source != nil && r.Spec.Source.Kind == experiments.SourceDataset && r.Spec.Source.DatasetID == ds.ID {
				n++
			}
		}
		return n
	}
	for _, c := range []struct {
		body string
		n    int
	}{{"", 3}, {`{"captcha_source": "synthetic"}`, 0}, {fmt.Sprintf(`{"captcha_source": "dataset:%d"}`, ds.ID), 3}} {
		code, b, _ := a.do(t, "POST", "/api/suites/seed-report", c.body)
		if code != http.StatusCreated {
			t.Fatalf("seed report %s: %d %s", c.body, code, b)
		}
		if resp := decode[suiteResponse](t, b); onDataset(resp) != c.n {
			t.Errorf("seed report %q: %d CAPTCHA runs on the zip, want %d (source %s)", c.body, onDataset(resp), c.n, resp.Source)
		}
	}
	code, b, _ = a.do(t, "POST", "/api/suites/seed-report", `{"captcha_source": "dataset:999"}`)
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(b), `"captcha_source"`) {
		t.Errorf("unknown source: %d %s", code, b)
	}
	// The form posts captcha_source too.
	req, _ := http.NewRequest("POST", a.url+"/suites/seed-report", strings.NewReader("captcha_source=synthetic"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/suites/") {
		t.Fatalf("form: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	_, page, _ := a.do(t, "GET", res.Header.Get("Location"), "")
	if !strings.Contains(string(page), "CAPTCHA data: synthetic") {
		t.Errorf("the form's suite is not on synthetic CAPTCHAs")
	}
}

// TestSuitesListedAndRequeued: suites are listed (page, API, nav link), and
// a cancelled member is queued again in its experiment, once.
func TestSuitesListedAndRequeued(t *testing.T) {
	t.Parallel()
	a := setup(t, 0)
	code, b, _ := a.do(t, "POST", "/api/suites/seed-report", "")
	if code != http.StatusCreated {
		t.Fatalf("seed report: %d %s", code, b)
	}
	resp := decode[suiteResponse](t, b)
	code, b, _ = a.do(t, "GET", "/api/suites", "")
	if sus := decode[[]experiments.Suite](t, b); code != http.StatusOK || len(sus) != 1 || sus[0].ID != resp.ID || len(sus[0].Members) != 9 {
		t.Fatalf("api suites: %d %s", code, b)
	}
	link := fmt.Sprintf(`href="/suites/%d"`, resp.ID)
	for _, p := range []string{"/suites", "/"} {
		code, page, _ := a.do(t, "GET", p, "")
		if code != http.StatusOK || !strings.Contains(string(page), link) || !strings.Contains(string(page), `id="nav-suites"`) {
			t.Errorf("GET %s: %d, no link to the suite or no nav link", p, code)
		}
	}
	su := decode[experiments.Suite](t, func() []byte { _, b, _ := a.do(t, "GET", fmt.Sprintf("/api/suites/%d", resp.ID), ""); return b }())
	first := a.run(t, resp.Runs[0])
	key := ""
	for k, e := range su.Members {
		if e == first.ExperimentID {
			key = k
		}
	}
	requeue := fmt.Sprintf("/api/suites/%d/members/%s/requeue", resp.ID, key)
	if code, b, _ := a.do(t, "POST", requeue, ""); code != http.StatusConflict || !strings.Contains(string(b), "queued") {
		t.Errorf("re-queue of a queued member: %d %s", code, b)
	}
	if code, b, _ := a.do(t, "POST", fmt.Sprintf("/api/runs/%d/cancel", first.ID), ""); code != http.StatusOK {
		t.Fatalf("cancel: %d %s", code, b)
	}
	code, b, _ = a.do(t, "POST", requeue, "")
	if code != http.StatusCreated {
		t.Fatalf("re-queue: %d %s", code, b)
	}
	again := decode[runs.Run](t, b)
	if again.ExperimentID != first.ExperimentID || again.Status != runs.StatusQueued || again.Spec.Epochs != first.Spec.Epochs {
		t.Errorf("re-queued run %+v of %+v", again, first)
	}
	_, page, _ := a.do(t, "GET", fmt.Sprintf("/suites/%d", resp.ID), "")
	if !strings.Contains(string(page), fmt.Sprintf(`href="/runs/%d"`, again.ID)) || !strings.Contains(string(page), `hx-trigger="every 3s"`) {
		t.Errorf("the suite page does not show run #%d or is not live", again.ID)
	}
	if code, _, _ := a.do(t, "POST", fmt.Sprintf("/api/suites/%d/members/nope/requeue", resp.ID), ""); code != http.StatusNotFound {
		t.Errorf("unknown member: %d", code)
	}
}

// TestBrowserSuiteLive opens a suite page and, without reloading it, sees a
// member's run become cancelled (htmx polls the page while runs are
// queued), then queues it again with the button that appears.
func TestBrowserSuiteLive(t *testing.T) {
	t.Parallel()
	a := setup(t, 0)
	code, b, _ := a.do(t, "POST", "/api/suites/seed-report", "")
	if code != http.StatusCreated {
		t.Fatalf("seed report: %d %s", code, b)
	}
	resp := decode[suiteResponse](t, b)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/suites/%d", a.url, resp.ID)), chromedp.WaitVisible(chromedp.CSS(`#suite-live`))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__marker = 1`)); err != nil {
		t.Fatal(err)
	}
	first := resp.Runs[0]
	if code, b, _ := a.do(t, "POST", fmt.Sprintf("/api/runs/%d/cancel", first), ""); code != http.StatusOK {
		t.Fatalf("cancel: %d %s", code, b)
	}
	row := fmt.Sprintf(`Array.from(document.querySelectorAll('#suite-live tr')).find(r => r.querySelector('a[href="/runs/%d"]'))`, first)
	if err := waitJS(ctx, `window.__marker === 1 && (() => { const r = `+row+`; return !!r && r.querySelector('.badge').dataset.status === 'cancelled' && !!r.querySelector('button.requeue'); })()`, 20*time.Second); err != nil {
		t.Fatalf("the suite page did not show the cancelled run by itself: %v", err)
	}
	screenshot(t, ctx, "browser-suite-cancelled.png")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](row+`.querySelector('button.requeue').click(), true`)); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, fmt.Sprintf(`!document.querySelector('#suite-live .badge[data-status="cancelled"]') &&
		!document.querySelector('#suite-live a[href="/runs/%d"]') && !!document.querySelector('#suite-live a[href="/runs/%d"]')`, first, resp.Runs[len(resp.Runs)-1]+1), 20*time.Second); err != nil {
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + " " + document.title + " " + Array.from(document.querySelectorAll('#suite-live .badge')).map(b => b.dataset.status).join(",") + (document.querySelector('#message') || {}).textContent`))
		t.Fatalf("queue again did not put a new queued run in the cancelled one's place: %v: %s", err, state)
	}
}
