package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// waitJS polls a JavaScript condition in the page until it is true; it
// polls on across the page's own reloads.
func waitJS(ctx context.Context, cond string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(left), chromedp.WithPollingInterval(100*time.Millisecond)))
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond) // navigated away: poll the new page
	}
}

// choose sets a select's value and fires change, as picking an option does.
func choose(ctx context.Context, sel chromedp.CSS, value string) error {
	return setInput(ctx, sel, value)
}

// screenshot saves a full-page screenshot under the artifacts dir. It waits
// for the page to finish loading first: a page whose HTML has arrived but
// whose layout has not yet run has no size to capture. A screenshot is a
// record for a person, not an assertion, so one that cannot be taken is
// logged and the test goes on.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var shot []byte
	var err error
	for try := 0; try < 5; try++ {
		if err = waitJS(ctx, `document.readyState === 'complete' && document.documentElement.scrollWidth > 0`, 10*time.Second); err != nil {
			continue
		}
		if shot, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Logf("screenshot %s not taken: %v", name, err)
		return
	}
	out := filepath.Join(artifactDir(t), name)
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", out)
}

// TestBrowserCaptchaImportTrainGallery is the CAPTCHA path a person takes:
// upload the 100 labelled THSR images as a zip on /datasets, choose them with
// dn preprocessing on the new-experiment form (the preview shows each image
// before and after), queue a 1-epoch 4-head model, watch the run finish,
// look at the misclassified gallery and the per-position accuracy, and
// evaluate the run on the dataset from its page.
func TestBrowserCaptchaImportTrainGallery(t *testing.T) {
	t.Parallel()
	a := setupCfg(t, Config{Workers: 1})
	ctx := browser(t)
	zipPath := filepath.Join(t.TempDir(), "vi000246.zip")
	if err := os.WriteFile(zipPath, zipDir(t, fixtureDir, nil), 0o644); err != nil {
		t.Fatal(err)
	}

	// Import the zip through the datasets page.
	err := chromedp.Do(ctx,
		chromedp.Navigate(a.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#nav-datasets`)),
		chromedp.Click(chromedp.CSS(`#nav-datasets`)),
		chromedp.WaitVisible(chromedp.CSS(`#dataset-upload`)),
		chromedp.SetValue(chromedp.CSS(`#upload-name`), "MIT 100"),
		chromedp.SetUploadFiles(chromedp.CSS(`#upload-file`), []string{zipPath}),
		chromedp.Click(chromedp.CSS(`#dataset-upload button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#datasets tbody tr`)),
	)
	if err != nil {
		t.Fatalf("import the zip: %v", err)
	}
	row, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#datasets tbody tr`)))
	if err != nil || !strings.Contains(row, "MIT 100") || !strings.Contains(row, "100") {
		t.Fatalf("dataset row %q (%v), want MIT 100 with 100 images", row, err)
	}
	idAttr, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`#datasets tbody tr`), "data-dataset-id"))
	if err != nil || !idAttr.Exists {
		t.Fatalf("dataset id: %v", err)
	}
	screenshot(t, ctx, "browser-datasets.png")

	// The form: CAPTCHA model 1, the imported dataset, dn; the preview shows it.
	err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#nav-new`)), chromedp.WaitVisible(chromedp.CSS(`#preset`)))
	for _, f := range []struct {
		sel   chromedp.CSS
		value string
	}{{"#preset", "captcha-model1"}, {"#dataset", "captcha"}, {"#captcha_source", "dataset"}, {"#captcha_dataset", idAttr.Value}, {"#captcha_pre", "dn"},
		{"#name", "browser captcha"}, {"#epochs", "1"}, {"#batch_size", "16"}} {
		if err == nil {
			err = choose(ctx, f.sel, f.value)
		}
	}
	if err != nil {
		t.Fatalf("fill the form: %v", err)
	}
	if err := waitJS(ctx, `document.querySelectorAll('#captcha-preview figure img').length >= 12 &&
		[...document.querySelectorAll('#captcha-preview img')].every(i => i.complete && i.naturalWidth > 0) &&
		[...document.querySelectorAll('#captcha-preview img')].some(i => i.alt.startsWith('preprocessed'))`, 20*time.Second); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#captcha-preview').outerHTML`))
		t.Fatalf("dn preview did not appear: %v\n%s", err, html)
	}
	screenshot(t, ctx, "browser-captcha-form.png")
	err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#submit`)), chromedp.WaitVisible(chromedp.CSS(`#experiment-name`)),
		chromedp.Click(chromedp.CSS(`#runs tbody tr a[href^="/runs/"]`)), chromedp.WaitVisible(chromedp.CSS(`#status`)))
	if err != nil {
		t.Fatalf("queue the run: %v", err)
	}

	// The run page reloads itself when the run ends.
	start := time.Now()
	if err := waitJS(ctx, `!!document.querySelector('#results') || !!document.querySelector('#run-error')`, 3*time.Minute); err != nil {
		t.Fatalf("the run did not finish on its page: %v (run is %s)", err, a.run(t, 1).Status)
	}
	t.Logf("run finished on its page in %s", time.Since(start))
	if n, _ := count(ctx, `#run-error`); n > 0 {
		msg, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#run-error`)))
		t.Fatalf("run failed: %s", msg)
	}
	for sel, min := range map[string]int{`#misclassified img`: 1, `#per-position td`: 4, `#test-accuracy`: 1, `#char-accuracy`: 1, `#best-val-char-accuracy`: 1, `#head-table tbody tr`: 4} {
		if n, err := count(ctx, sel); err != nil || n < min {
			t.Errorf("%s: %d (%v), want at least %d", sel, n, err, min)
		}
	}
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`[...document.querySelectorAll('#misclassified img')].every(i => i.complete && i.naturalWidth > 0)`)); err != nil || !ok {
		t.Errorf("misclassified images do not load (%v)", err)
	}

	// Evaluate the weights on the imported dataset from the run page.
	err = chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`#evaluate-form`)),
		chromedp.SetValue(chromedp.CSS(`#evaluate-dataset`), idAttr.Value),
		chromedp.Click(chromedp.CSS(`#evaluate-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#evaluate-result .eval-images`)),
	)
	if err != nil {
		html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('#evaluate') || document.body).outerHTML`))
		t.Fatalf("evaluate from the run page: %v\n%s", err, html)
	}
	ev, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#evaluate-result`)))
	if err != nil || !strings.Contains(ev, "100") || !strings.Contains(ev, "ms") || !strings.Contains(ev, "per image") || !strings.Contains(ev, "%") {
		t.Errorf("evaluation result %q (%v), want 100 images, accuracies and ms/image", ev, err)
	}
	screenshot(t, ctx, "browser-captcha-run.png")
	t.Log(fmt.Sprintf("evaluation: %s", strings.Join(strings.Fields(ev), " ")))
}
