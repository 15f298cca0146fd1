package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// overflowJS lists the cards, scrolling table wrappers and selects of the
// page that do not fit their box: content wider than the element (a table
// hidden behind a horizontal scroll, a summary out of its card) or a
// select's chosen text cut off.
const overflowJS = `(() => {
	const out = [];
	document.querySelectorAll('main .card, main .table-wrap').forEach(el => {
		if (el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1) {
			out.push((el.id || el.className) + ' ' + el.scrollWidth + '>' + el.clientWidth + ' ' + (el.querySelector('h2') || {}).textContent);
		}
	});
	const ctx = document.createElement('canvas').getContext('2d');
	document.querySelectorAll('main select').forEach(sel => {
		if (sel.offsetParent === null || sel.selectedIndex < 0) return;
		const cs = getComputedStyle(sel);
		ctx.font = cs.fontWeight + ' ' + cs.fontSize + ' ' + cs.fontFamily;
		const text = ctx.measureText(sel.options[sel.selectedIndex].text).width;
		const room = sel.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 16;
		if (text > room) out.push('select#' + sel.id + ' text ' + Math.round(text) + '>' + Math.round(room));
	});
	return out.join('; ');
})()`

// TestBrowserLayoutWidths opens the pages that overflowed at 1024 and 1440
// px (a suite's tables, a CAPTCHA run's model summary, the form's Dataset
// select, compare with long experiment names) and checks that nothing is
// cut or pushed behind a scroll; it also checks "1 epoch", not "1 epochs".
func TestBrowserLayoutWidths(t *testing.T) {
	t.Parallel()
	a := setup(t, 0)
	code, b, _ := a.do(t, "POST", "/api/suites/seed-report", "")
	if code != http.StatusCreated {
		t.Fatalf("seed report: %d %s", code, b)
	}
	suite := decode[suiteResponse](t, b)
	_, captcha := a.create(t, `{"name": "captcha summary", "preset": "captcha-model2", "overrides": {"epochs": 1, "source": {"kind": "synthetic", "images": 200, "seed": 1}}}`)
	long := strings.Repeat("a rather long experiment name ", 3)
	_, one := a.create(t, `{"name": "`+long+`one", "preset": "mnist-cnn1", "overrides": {"epochs": 1}}`)
	_, two := a.create(t, `{"name": "`+long+`two", "preset": "mnist-cnn2", "overrides": {"epochs": 1}}`)
	pages := map[string]string{
		"suite":   fmt.Sprintf("/suites/%d", suite.ID),
		"captcha": fmt.Sprintf("/runs/%d", captcha[0]),
		"form":    "/experiments/new",
		"compare": fmt.Sprintf("/compare?runs=%d,%d", one[0], two[0]),
	}
	ctx := browser(t)
	for _, width := range []int64{1024, 1440} {
		for name, path := range pages {
			err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(a.url+path), chromedp.WaitVisible(chromedp.CSS(`main`)))
			if err != nil {
				t.Fatalf("%s at %d px: %v", name, width, err)
			}
			if err := waitJS(ctx, `document.readyState === 'complete'`, 10e9); err != nil {
				t.Fatal(err)
			}
			bad, err := chromedp.Run(ctx, chromedp.Evaluate[string](overflowJS))
			if err != nil {
				t.Fatal(err)
			}
			screenshot(t, ctx, fmt.Sprintf("layout-%s-%d.png", name, width))
			if bad != "" {
				t.Errorf("%s at %d px: %s", name, width, bad)
			}
		}
	}
	if _, page, _ := a.do(t, "GET", fmt.Sprintf("/runs/%d", captcha[0]), ""); strings.Contains(string(page), " 1 epochs") {
		t.Error(`a page says "1 epochs"`)
	}
}
