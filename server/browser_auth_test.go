package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/trainyard/trainyard/accounts"
	"github.com/trainyard/trainyard/runs"
)

// consoleWatch records what a page reports that should never happen:
// Content-Security-Policy violations (as events and console messages),
// uncaught exceptions and responses of 400 or more.
type consoleWatch struct {
	mu       sync.Mutex
	problems []string
}

func (w *consoleWatch) add(format string, args ...any) {
	w.mu.Lock()
	w.problems = append(w.problems, fmt.Sprintf(format, args...))
	w.mu.Unlock()
}

func (w *consoleWatch) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.problems
	w.problems = nil
	return p
}

const recordCSPViolations = `window.__csp = []; document.addEventListener("securitypolicyviolation", function (e) {
	window.__csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber); });`

func watchConsole(ctx context.Context, t *testing.T) *consoleWatch {
	w := &consoleWatch{}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError || strings.Contains(ev.Entry.Text, "Content Security Policy") {
				w.add("console %s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
			}
		case *runtime.EventConsoleAPICalled:
			for _, a := range ev.Args {
				if strings.Contains(string(a.Value), "Content Security Policy") {
					w.add("console: %s", a.Value)
				}
			}
		case *runtime.EventExceptionThrown:
			w.add("exception: %s", ev.ExceptionDetails.Text)
		case *network.EventResponseReceived:
			if ev.Response.Status >= 400 {
				w.add("HTTP %d for %s", ev.Response.Status, ev.Response.URL)
			}
		}
	})
	if err == nil {
		_, err = chromedp.Call(ctx, network.Enable, network.EnableParams{})
	}
	if err == nil {
		_, err = chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recordCSPViolations})
	}
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// checkPage fails the test with every problem the page (or the ones before
// it) reported, including the CSP violations its document recorded.
func (w *consoleWatch) checkPage(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__csp || []`))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if p := append(w.take(), v...); len(p) > 0 {
		t.Errorf("%s:\n  %s", name, strings.Join(p, "\n  "))
	}
}

// TestBrowserLoginAndQueue is a member on a server with --auth: the home page
// sends them to the login form; they log in, queue a run through the
// experiment form (its CSRF token in the form and in the live summary's
// fetch), watch it finish, cancel nothing, make an API token on their account
// page and log out. No page reports a Content-Security-Policy violation, a
// script error or a refused request.
func TestBrowserLoginAndQueue(t *testing.T) {
	t.Parallel()
	a := setupCfg(t, Config{Auth: true, Workers: 1})
	a.addUser(t, "bea", accounts.RoleMember)
	ctx := browser(t)
	w := watchConsole(ctx, t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(a.url+"/experiments/new"),
		chromedp.WaitVisible(chromedp.CSS(`#login-form`)),
	)
	// The password field is as wide as the name field, one under the other.
	if err == nil {
		var same bool
		same, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
			const n = document.querySelector('#login-name').getBoundingClientRect(), p = document.querySelector('#login-password').getBoundingClientRect();
			return n.width > 200 && Math.abs(n.width - p.width) < 1 && p.top > n.bottom; })()`))
		if err == nil && !same {
			t.Error("the password field is not laid out like the name field")
		}
	}
	if err == nil {
		err = setInput(ctx, `#login-name`, "bea")
	}
	if err == nil {
		err = setInput(ctx, `#login-password`, "password-bea")
	}
	if err == nil {
		err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#login-submit`)), chromedp.WaitVisible(chromedp.CSS(`#preset`)))
	}
	if err != nil {
		t.Fatalf("log in: %v", err)
	}
	w.checkPage(ctx, t, "login page")
	// The user's name and "Log out" sit on one line inside the header.
	fits, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const bar = document.querySelector('.topbar').getBoundingClientRect();
		return [...document.querySelectorAll('#nav-account, #logout')].every(el => {
			const r = el.getBoundingClientRect();
			return r.top >= bar.top && r.bottom <= bar.bottom; }) &&
			Math.abs(document.querySelector('#nav-account').getBoundingClientRect().top - document.querySelector('#logout').getBoundingClientRect().top) < 12; })()`))
	if err != nil || !fits {
		t.Errorf("the user's name and Log out do not fit the header on one line (%v)", err)
	}
	who, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#nav-account').textContent`))
	if err != nil || who != "bea" {
		t.Fatalf("logged in as %q (%v)", who, err)
	}
	err = chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(`#preset`), "mnist-nn1"))
	if err == nil {
		_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('#preset').dispatchEvent(new Event('change', {bubbles: true}))`))
	}
	for _, f := range []struct {
		sel   chromedp.CSS
		value string
	}{{"#name", "bea's nn1"}, {"#epochs", "1"}, {"#batch_size", "32"}, {"#train_limit", "300"}, {"#repeats", "1"}} {
		if err == nil {
			err = setInput(ctx, f.sel, f.value)
		}
	}
	if err == nil { // the live summary answered (its fetch carries the CSRF token)
		_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('#summary-state').textContent === ""`, chromedp.WithPollingTimeout(30*time.Second)))
	}
	if err == nil {
		err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#submit`)), chromedp.WaitVisible(chromedp.CSS(`#experiment-name`)))
	}
	if err != nil {
		t.Fatalf("queue from the form: %v", err)
	}
	w.checkPage(ctx, t, "new experiment form")
	by, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#created-by').textContent`))
	if err != nil || by != "bea" {
		t.Fatalf("experiment page shows creator %q (%v)", by, err)
	}
	rid, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#runs tbody tr').dataset.runId`))
	if err != nil {
		t.Fatal(err)
	}
	// The run page while the run trains (live progress over SSE; the page
	// reloads itself when the run ends), then its results.
	if err := chromedp.Do(ctx, chromedp.Navigate(a.url+"/runs/"+rid), chromedp.WaitVisible(chromedp.CSS(`#status`)), chromedp.Sleep(time.Second)); err != nil {
		t.Fatal(err)
	}
	bearer := map[string]string{"Authorization": "Bearer " + a.token(t, "bea")}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		r := a.runAs(t, int64(atoiT(t, rid)), bearer)
		if r.Status.Done() {
			if r.Status != runs.StatusSucceeded {
				t.Fatalf("run %s ended %s: %s", rid, r.Status, r.Error)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %s", rid, r.Status)
		}
	}
	w.checkPage(ctx, t, "live run page")
	for _, p := range []struct{ path, sel string }{
		{"/runs/" + rid, "#results"}, {"/", "#runs"}, {"/compare?runs=" + rid, "#summary"}, {"/datasets", "#dataset-upload"},
		{"/account", "#token-form"},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(a.url+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel)), chromedp.Sleep(300*time.Millisecond)); err != nil {
			t.Fatalf("%s: %v", p.path, err)
		}
		w.checkPage(ctx, t, p.path)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(a.url+"/"), chromedp.WaitVisible(chromedp.CSS(`#runs`))); err != nil {
		t.Fatal(err)
	}
	if by, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#runs tbody .created-by').textContent`)); err != nil || by != "bea" {
		t.Fatalf("runs table shows creator %q (%v)", by, err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(a.url+"/account"), chromedp.WaitVisible(chromedp.CSS(`#token-form`))); err != nil {
		t.Fatal(err)
	}
	if err := setInput(ctx, `#token-label`, "notebook"); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#token-create`)), chromedp.WaitVisible(chromedp.CSS(`#new-token`)))
	if err != nil {
		t.Fatalf("create a token: %v", err)
	}
	tok, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#new-token').textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if r := a.runAs(t, int64(atoiT(t, rid)), map[string]string{"Authorization": "Bearer " + tok}); r.Status != runs.StatusSucceeded || r.CreatedBy != "bea" {
		t.Fatalf("run through the new token: %s by %q", r.Status, r.CreatedBy)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err == nil {
		os.WriteFile(filepath.Join(artifactDir(t), "browser-account.png"), shot, 0o644)
	}
	err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#logout`)), chromedp.WaitVisible(chromedp.CSS(`#login-form`)))
	if err != nil {
		t.Fatalf("log out: %v", err)
	}
	w.checkPage(ctx, t, "account page and logout")
}

func atoiT(t *testing.T, s string) int {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}
