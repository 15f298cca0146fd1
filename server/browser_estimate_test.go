package server

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The form shows the cost estimate of the spec as it is edited, and the
// run budget next to the field that exceeds it.
func TestBrowserFormShowsEstimate(t *testing.T) {
	t.Parallel()
	a := setupCfg(t, Config{Workers: 0, MaxRunMemory: 1 << 30})
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(a.url+"/experiments/new?preset=captcha-model1"), chromedp.WaitVisible(chromedp.CSS(`#batch_size`))); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.querySelector('#model-estimate').textContent.startsWith('training memory ')`, 30*time.Second); err != nil {
		t.Fatalf("no estimate on the form: %v", err)
	}
	if err := setInput(ctx, `#batch_size`, "1024"); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.querySelector('#batch_size-error').textContent.includes('this server allows 1 GiB per run')
		&& document.querySelector('#model-estimate').textContent.includes('per epoch here')`, 30*time.Second); err != nil {
		t.Fatalf("batch 1024 on a 1 GiB budget: the form does not name the limit: %v", err)
	}
	screenshot(t, ctx, "browser-form-estimate.png")
}
