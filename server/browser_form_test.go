package server

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
)

// TestBrowserFormRefusesInvalidValue types a batch size of 64.5 into the
// form: the page says "enter a whole number", and pressing "Queue runs"
// keeps the form with the field marked instead of queueing a rounded batch
// of 65. Corrected to 64, the same button queues exactly one experiment.
func TestBrowserFormRefusesInvalidValue(t *testing.T) {
	t.Parallel()
	a := setup(t, 0)
	ctx := browser(t)
	err := chromedp.Do(ctx, chromedp.Navigate(a.url+"/experiments/new"), chromedp.WaitVisible(chromedp.CSS(`#batch_size`)))
	// A cap of 5,000 at batch 256 trains 20 whole batches: the form says 5,120.
	if err == nil {
		err = setInput(ctx, `#train_limit`, "5000")
	}
	if err == nil {
		err = setInput(ctx, `#batch_size`, "256")
	}
	if err == nil {
		err = waitJS(ctx, `document.querySelector('#train-limit-batches').textContent.includes("5,000 images at batch size 256 train 5,120 per epoch")`, 10*time.Second)
	}
	if err == nil {
		err = setInput(ctx, `#batch_size`, "250")
	}
	if err == nil {
		err = waitJS(ctx, `document.querySelector('#train-limit-batches').textContent === ""`, 10*time.Second)
	}
	if err != nil {
		t.Fatalf("the form does not say what a cap of 5,000 trains: %v", err)
	}
	if err == nil {
		err = setInput(ctx, `#name`, "half a batch")
	}
	if err == nil {
		err = setInput(ctx, `#batch_size`, "64.5")
	}
	if err == nil {
		err = waitJS(ctx, `document.querySelector('[data-error-for="batch_size"]').textContent.includes("whole number")`, 10*time.Second)
	}
	if err != nil {
		t.Fatalf("the form did not mark 64.5: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__marker = 1, document.querySelector('#submit').click(), true`)); err != nil {
		t.Fatal(err)
	}
	// Still the same page (the marker survives), the field marked and focused.
	if err := waitJS(ctx, `window.__marker === 1 && document.activeElement.id === 'batch_size' &&
		document.querySelector('#batch_size').classList.contains('invalid') &&
		document.querySelector('[data-error-for="batch_size"]').textContent.includes("whole number")`, 10*time.Second); err != nil {
		t.Fatalf("the form left or lost the error after submit: %v", err)
	}
	screenshot(t, ctx, "browser-form-refuses-64.5.png")
	err = setInput(ctx, `#batch_size`, "64")
	if err == nil {
		err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#submit`)), chromedp.WaitVisible(chromedp.CSS(`#experiment-name`)))
	}
	if err != nil {
		t.Fatalf("submit with 64: %v", err)
	}
	code, b, _ := a.do(t, "GET", "/api/runs", "")
	var page struct{ Runs []runs.Run }
	if code != http.StatusOK || json.Unmarshal(b, &page) != nil {
		t.Fatalf("runs: %d %s", code, b)
	}
	if rs := page.Runs; len(rs) != 1 || rs[0].Spec.BatchSize != 64 {
		t.Fatalf("queued %d runs (want 1 with batch 64): %s", len(page.Runs), b)
	}
}

// TestBrowserFormOpensOnCaptchaSpec opens the form on a CAPTCHA spec, from a
// preset link and from "Re-run with changes" of a run on an imported
// dataset with denoising: the first summary is the spec's own (grey input,
// the preset's parameter count), no field is marked, and the dataset the
// run used is chosen once the list has loaded.
func TestBrowserFormOpensOnCaptchaSpec(t *testing.T) {
	t.Parallel()
	a := setup(t, 0)
	code, b := a.upload(t, "/api/datasets", "file", "vi.zip", zipDir(t, fixtureDir, nil), map[string]string{"name": "vi"})
	if code != http.StatusCreated {
		t.Fatalf("upload: %d %s", code, b)
	}
	ds := decode[experiments.Dataset](t, b).ID
	_, ids := a.create(t, `{"name": "on a dataset", "preset": "captcha-model2", "overrides": {"epochs": 1, "source": {"kind": "dataset", "dataset_id": `+itoa(ds)+`}}}`)
	ctx := browser(t)
	clean := `document.readyState === 'complete' && document.querySelector('#model-summary-total') &&
		document.querySelector('#model-summary-total').textContent === '880,300' &&
		document.querySelector('#form-errors').classList.contains('hidden') &&
		[...document.querySelectorAll('.field-error')].every(e => e.textContent === '')`
	for _, c := range []struct{ name, url, extra string }{
		{"preset link", "/experiments/new?preset=captcha-model2", `document.querySelector('#captcha_images').value === '2000'`},
		{"re-run", "/experiments/new?from_run=" + itoa(ids[0]), `document.querySelector('#captcha_source').value === 'dataset' &&
			document.querySelector('#captcha_dataset').value === '` + itoa(ds) + `'`},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(a.url+c.url)); err != nil {
			t.Fatal(err)
		}
		if err := waitJS(ctx, clean+` && document.querySelector('#captcha_pre').value === 'dn' && `+c.extra, 20*time.Second); err != nil {
			state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({total: (document.querySelector('#model-summary-total') || {}).textContent,
				errors: [...document.querySelectorAll('.field-error')].map(e => e.textContent).filter(Boolean),
				pre: document.querySelector('#captcha_pre').value, dataset: document.querySelector('#captcha_dataset').value})`))
			t.Fatalf("%s: the form does not open on the spec: %v %s", c.name, err, state)
		}
	}
}
