package web

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"github.com/trainyard/trainyard/runs"
)

// RunsBrowserProps is the home page's runs table: one page of runs, the
// filters and sort in force, and the cursor of the next page.
type RunsBrowserProps struct {
	Page  runs.Page
	Query runs.ListQuery
	// Error is why the filters could not be used (a bad query names its
	// token); ErrorParam is the parameter it is about.
	Error, ErrorParam string
	// Presets are the choices of the preset filter.
	Presets []string
}

// sortable are the runs table's columns that sort, by their header.
var sortable = map[string]string{
	"Epochs": "epochs", "LR": "learning_rate", "Params": "params", "Test acc.": "test_accuracy",
	"Best val.": "best_val_accuracy", "Duration": "train_seconds", "Run": "created",
}

// runsQueryValues writes q's filters and sort as URL parameters (no cursor).
func runsQueryValues(q runs.ListQuery) url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("status", string(q.Status))
	set("preset", q.Preset)
	set("dataset", q.Dataset)
	set("tag", q.Tag)
	set("search", q.Search)
	set("q", q.Q)
	if q.Sort != "" && q.Sort != "-created" {
		v.Set("sort", q.Sort)
	}
	if q.ExperimentID != 0 {
		v.Set("experiment_id", strconv.FormatInt(q.ExperimentID, 10))
	}
	return v
}

func runsPageURL(base string, v url.Values) templ.SafeURL {
	if len(v) == 0 {
		return templ.SafeURL(base)
	}
	return templ.SafeURL(base + "?" + v.Encode())
}

// sortURL is the URL that sorts by the column (descending first, ascending on
// a second click), keeping the filters.
func sortURL(q runs.ListQuery, col string) templ.SafeURL {
	v := runsQueryValues(q)
	next := "-" + col
	if q.Sort == next || (q.Sort == "" && col == "created") {
		next = col
	}
	v.Set("sort", next)
	return runsPageURL("/", v)
}

// sortMark is the arrow of the column the table is sorted by.
func sortMark(q runs.ListQuery, col string) string {
	s := q.Sort
	if s == "" {
		s = "-created"
	}
	switch s {
	case "-" + col:
		return " ↓"
	case col:
		return " ↑"
	}
	return ""
}

func sortAria(q runs.ListQuery, col string) string {
	switch sortMark(q, col) {
	case " ↓":
		return "descending"
	case " ↑":
		return "ascending"
	}
	return "none"
}

func nextPageURL(p RunsBrowserProps) templ.SafeURL {
	v := runsQueryValues(p.Query)
	v.Set("cursor", *p.Page.NextCursor)
	return runsPageURL("/", v)
}

func firstPageURL(q runs.ListQuery) templ.SafeURL { return runsPageURL("/", runsQueryValues(q)) }

func runsCSVURL(q runs.ListQuery) templ.SafeURL {
	return runsPageURL("/api/runs.csv", runsQueryValues(q))
}

func statusFilterURL(q runs.ListQuery, s runs.Status) templ.SafeURL {
	q.Status = s
	return runsPageURL("/", runsQueryValues(q))
}

func optPct(f *float64) string {
	if f == nil {
		return "–"
	}
	return pct(*f)
}

func listedEpochs(r runs.ListedRun) string { return itoa(r.Spec.Epochs) }

func hasFilters(q runs.ListQuery) bool {
	return q.Status != "" || q.Preset != "" || q.Dataset != "" || q.Tag != "" || q.Search != "" || q.Q != "" || q.ExperimentID != 0
}

func tagsText(tags []string) string { return strings.Join(tags, ", ") }

// rerunURL opens the experiment form filled with the run's spec.
func rerunURL(id int64) templ.SafeURL { return templ.SafeURL("/experiments/new?from_run=" + itoa(id)) }

func experimentPath(id int64) string { return "/experiments/" + itoa(id) }
