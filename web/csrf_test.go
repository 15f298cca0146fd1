package web

import (
	"context"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/a-h/templ"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
)

var postForm = regexp.MustCompile(`(?s)<form[^>]*method="post"[^>]*>.*?</form>`)

// TestEveryPostFormCarriesTheCSRFToken renders every page with a form for a
// logged-in viewer and checks each form that posts sends the session's token.
func TestEveryPostFormCarriesTheCSRFToken(t *testing.T) {
	t.Parallel()
	const tok = "tok-123_abc"
	ctx := WithViewer(context.Background(), Viewer{Name: "ann", Role: "member", CSRFToken: tok})
	spec := experiments.Presets()[0].Spec
	queued := runs.Run{ID: 1, ExperimentID: 1, Status: runs.StatusQueued, Spec: spec, CreatedBy: "ann"}
	pages := map[string]templ.Component{
		"home": HomePage(HomeProps{Runs: RunsBrowserProps{Page: runs.Page{Runs: []runs.ListedRun{{Run: queued}}}},
			ReportSources: []SourceChoice{{Value: "synthetic", Label: "synthetic CAPTCHAs", Selected: true}}}),
		"new":      NewExperimentPage(NewExperimentProps{Presets: experiments.Presets(), Repeats: 1}),
		"run":      RunPage(RunProps{Run: queued}),
		"datasets": DatasetsPage(DatasetsProps{Roots: []string{"/data"}, MaxMiB: 200}),
		"suite": SuitePage(SuiteProps{ID: 1, Name: "report", Comparisons: []SuiteComparison{{Title: "NN 1",
			Rows: []SuiteRow{{Key: "nn1-30", Label: "NN 1", Run: runs.Run{ID: 2, Status: runs.StatusCancelled}}}}}}),
		"login":   LoginPage(LoginProps{Next: "/"}),
		"account": AccountPage(AccountProps{Name: "ann", Role: "member", Tokens: []TokenItem{{ID: "ab12", Label: "ci"}}}),
	}
	wantForms := map[string]int{"home": 2, "new": 2, "run": 2, "datasets": 3, "suite": 2, "login": 2, "account": 3}
	for name, page := range pages {
		var b strings.Builder
		if err := page.Render(ctx, &b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		html := b.String()
		if !strings.Contains(html, `<meta name="csrf-token" content="`+tok+`">`) {
			t.Errorf("%s: no csrf-token meta tag", name)
		}
		forms := postForm.FindAllString(html, -1)
		if n, ok := wantForms[name]; ok && len(forms) < n {
			t.Errorf("%s: %d post forms, want at least %d", name, len(forms), n)
		}
		for _, f := range forms {
			if !strings.Contains(f, `name="_csrf" value="`+tok+`"`) {
				t.Errorf("%s: a form posts without the CSRF token: %s", name, clipForm(f))
			}
		}
	}
}

func clipForm(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// TestScriptsSendTheCSRFToken checks that every script's state-changing
// fetch goes through trainyard.headers, which adds the session's token.
func TestScriptsSendTheCSRFToken(t *testing.T) {
	t.Parallel()
	found := 0
	fetch := regexp.MustCompile(`(?s)fetch\([^;]*?method:\s*"(POST|PUT|PATCH|DELETE)".*?\}\)`)
	err := fs.WalkDir(Static, "static/js", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Static, path)
		if err != nil {
			return err
		}
		for _, call := range fetch.FindAllString(string(b), -1) {
			found++
			if !strings.Contains(call, "trainyard.headers(") {
				t.Errorf("%s: a fetch that changes state sends no CSRF token: %s", path, clipForm(call))
			}
		}
		if strings.Contains(string(b), "XMLHttpRequest") {
			t.Errorf("%s: uses XMLHttpRequest; use fetch with trainyard.headers", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 3 { // the live summary, predict and evaluate
		t.Errorf("found %d state-changing fetches, want at least 3", found)
	}
}
