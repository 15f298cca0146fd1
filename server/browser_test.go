package server

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// artifactDir is where browser tests leave screenshots: $TRAINYARD_TEST_ARTIFACTS or ./testdata/artifacts.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("TRAINYARD_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser starts headless Debian chromium; CI installs it, so a missing
// browser fails there and skips elsewhere.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed: .ci/run installs it with apt-get")
		}
		t.Skip("chromium not installed (apt-get install -y chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// setInput replaces an input's value and fires the events typing fires, so the page's listeners see it.
func setInput(ctx context.Context, sel chromedp.CSS, value string) error {
	if err := chromedp.Do(ctx, chromedp.WaitVisible(sel), chromedp.SetValue(sel, value)); err != nil {
		return err
	}
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const el = document.querySelector('`+string(sel)+`');
		el.dispatchEvent(new Event('input', {bubbles: true})); return el.dispatchEvent(new Event('change', {bubbles: true})); })()`))
	return err
}

// submitForm presses a form's submit button from the page's own script, as a
// click does. Unlike chromedp.Click it holds no node id across the round
// trips, so a page that was still settling after a navigation cannot make it
// fail with "Could not find node with given id".
func submitForm(ctx context.Context, form string) error {
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { document.querySelector('`+form+` button[type=submit]').click(); return true; })()`))
	return err
}

func count(ctx context.Context, sel string) (int, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('`+sel+`').length`))
}

// TestBrowserCreateTrainCompare is what a person does: open the home page,
// create an experiment from a preset with 1 epoch and a small cap and two
// repeats, watch the runs finish, check both and compare them.
func TestBrowserCreateTrainCompare(t *testing.T) {
	t.Parallel()
	a := setup(t, 2)
	ctx := browser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(a.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#nav-new`)),
		chromedp.Click(chromedp.CSS(`#nav-new`)),
		chromedp.WaitVisible(chromedp.CSS(`#preset`)),
		chromedp.SetValue(chromedp.CSS(`#preset`), "mnist-nn1"),
	)
	if err == nil {
		_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('#preset').dispatchEvent(new Event('change', {bubbles: true}))`))
	}
	for _, f := range []struct {
		sel   chromedp.CSS
		value string
	}{{"#name", "browser nn1"}, {"#epochs", "1"}, {"#batch_size", "32"}, {"#train_limit", "600"}, {"#repeats", "2"}} {
		if err == nil {
			err = setInput(ctx, f.sel, f.value)
		}
	}
	if err == nil {
		err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#submit`)), chromedp.WaitVisible(chromedp.CSS(`#experiment-name`)))
	}
	if err != nil {
		t.Fatalf("create from the form: %v", err)
	}
	// Watch the home page until both runs have succeeded.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if err := chromedp.Do(ctx, chromedp.Navigate(a.url+"/"), chromedp.WaitVisible(chromedp.CSS(`#runs`))); err != nil {
			t.Fatalf("home page: %v", err)
		}
		done, err := count(ctx, `#runs .badge-succeeded`)
		if err != nil {
			t.Fatal(err)
		}
		if done == 2 {
			break
		}
		if time.Now().After(deadline) {
			_, b, _ := a.do(t, "GET", "/api/runs", "")
			t.Fatalf("only %d of 2 runs succeeded in time: %s", done, b)
		}
		time.Sleep(time.Second)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#runs tbody tr:nth-child(1) .run-select`)),
		chromedp.Click(chromedp.CSS(`#runs tbody tr:nth-child(2) .run-select`)),
		chromedp.Click(chromedp.CSS(`#compare-checked`)),
		chromedp.WaitVisible(chromedp.CSS(`#summary`)),
		chromedp.Sleep(300*time.Millisecond), // let the charts draw
	)
	if err != nil {
		t.Fatalf("compare: %v", err)
	}
	rows, err := count(ctx, `#summary tbody tr`)
	if err != nil || rows != 2 {
		t.Fatalf("compare summary has %d rows (%v), want 2", rows, err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(artifactDir(t), "browser-compare.png")
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log(fmt.Sprintf("screenshot: %s", out))
}
