package server

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/runs"
)

// TestRunsTableAPI pages, sorts, filters, tags, exports and deletes runs
// through the API, with one real training for the delete of weights.
func TestRunsTableAPI(t *testing.T) { eachDB(t, testRunsTableAPI) }

func testRunsTableAPI(t *testing.T, d migrations.Dialect) {
	a := setupOn(t, d, 1)
	_, trained := a.create(t, `{"name": "trained", "preset": "mnist-nn1", "overrides": {"epochs": 2, "train_limit": 600, "seed": 1}}`)
	expID, queued := a.create(t, `{"name": "queued behind", "preset": "mnist-cnn1", "overrides": {"epochs": 50, "train_limit": 600}, "repeats": 3}`)
	id := trained[0]
	r := a.waitFor(t, id, 2*time.Minute, func(r runs.Run) bool { return r.Status.Done() })
	if r.Status != runs.StatusSucceeded {
		t.Fatalf("run %d: %s %s", id, r.Status, r.Error)
	}

	list := func(query string) runs.Page {
		t.Helper()
		code, b, _ := a.do(t, "GET", "/api/runs"+query, "")
		if code != http.StatusOK {
			t.Fatalf("GET /api/runs%s: %d %s", query, code, b)
		}
		var p runs.Page
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		// Summary fields are never omitted: null until known.
		var raw struct{ Runs []map[string]json.RawMessage }
		json.Unmarshal(b, &raw)
		for _, r := range raw.Runs {
			for _, k := range []string{"test_accuracy", "best_val_accuracy", "train_seconds", "params", "tags", "weights_sha256"} {
				if _, ok := r[k]; !ok {
					t.Fatalf("run without %q: %s", k, b)
				}
			}
		}
		return p
	}
	p := list("?sort=-test_accuracy&limit=2")
	if len(p.Runs) != 2 || p.Runs[0].ID != id || p.Runs[0].TestAccuracy == nil || *p.Runs[0].TestAccuracy < 0.5 ||
		p.Runs[0].BestValAccuracy == nil || p.Runs[1].TestAccuracy != nil || p.NextCursor == nil ||
		p.Runs[0].WeightsSHA256 == nil || r.WeightsSHA256 == nil || *p.Runs[0].WeightsSHA256 != *r.WeightsSHA256 || p.Runs[1].WeightsSHA256 != nil {
		t.Fatalf("first page: %+v", p)
	}
	p2 := list("?sort=-test_accuracy&limit=2&cursor=" + *p.NextCursor)
	if len(p2.Runs) != 2 || p2.NextCursor != nil || p2.Runs[0].ID == p.Runs[1].ID {
		t.Fatalf("second page: %+v", p2)
	}
	if p := list("?q=" + urlq("params > 250000 and epochs = 50")); len(p.Runs) != 3 {
		t.Fatalf("q: %d runs, want the 3 cnn1 runs", len(p.Runs))
	}
	if p := list("?preset=mnist-nn1&search=TRAIN"); len(p.Runs) != 1 || p.Runs[0].ID != id {
		t.Fatalf("preset and search: %+v", p.Runs)
	}

	for query, want := range map[string]string{
		"?q=" + urlq("epochs >> 2"):           `"q"`,
		"?q=" + urlq("colour = red"):          `colour`,
		"?sort=-colour":                       `"sort"`,
		"?limit=0":                            `"limit"`,
		"?cursor=zzz":                         `"cursor"`,
		"?status=bogus":                       `"status"`,
		"?search=" + strings.Repeat("x", 201): `"search"`,
	} {
		code, b, _ := a.do(t, "GET", "/api/runs"+query, "")
		if code != http.StatusBadRequest && code != http.StatusUnprocessableEntity || !strings.Contains(string(b), want) {
			t.Errorf("GET /api/runs%s: %d %s, want 400 naming %s", query[:min(len(query), 40)], code, b, want)
		}
	}
	if code, b, _ := a.do(t, "GET", "/api/runs?q="+urlq("epochs >> 2"), ""); code != http.StatusBadRequest || !strings.Contains(string(b), `position 9`) {
		t.Errorf("bad q: %d %s, want 400 pointing at the token", code, b)
	}

	// Tags and notes.
	code, b, _ := a.do(t, "PATCH", "/api/runs/"+itoa(id), `{"tags": ["baseline", "nn1", "baseline"], "note": "first try"}`)
	if code != http.StatusOK || !strings.Contains(string(b), `"tags":["baseline","nn1"]`) || !strings.Contains(string(b), `"note":"first try"`) {
		t.Fatalf("patch: %d %s", code, b)
	}
	if p := list("?tag=baseline"); len(p.Runs) != 1 || p.Runs[0].Note != "first try" {
		t.Fatalf("tag filter: %+v", p.Runs)
	}
	for body, field := range map[string]string{
		`{"tags": ["a b"]}`:                             "tags",
		`{"note": "` + strings.Repeat("n", 2001) + `"}`: "note",
	} {
		if code, b, _ := a.do(t, "PATCH", "/api/runs/"+itoa(id), body); code != http.StatusUnprocessableEntity || !strings.Contains(string(b), `"`+field+`"`) {
			t.Errorf("patch %s: %d %s", body[:min(len(body), 30)], code, b)
		}
	}
	if code, _, _ := a.do(t, "PATCH", "/api/runs/"+itoa(id), `{"tags": 3}`); code != http.StatusBadRequest {
		t.Errorf("malformed patch: %d", code)
	}
	if code, _, _ := a.do(t, "PATCH", "/api/runs/99999", `{"note": "x"}`); code != http.StatusNotFound {
		t.Errorf("patch of a missing run: %d", code)
	}
	code, b, _ = a.do(t, "PATCH", "/api/experiments/"+itoa(expID), `{"tags": ["sweep"], "note": "cnn1 x3"}`)
	if code != http.StatusOK || !strings.Contains(string(b), `"tags":["sweep"]`) {
		t.Fatalf("patch experiment: %d %s", code, b)
	}

	// CSV exports.
	code, b, h := a.do(t, "GET", "/api/runs.csv?tag=baseline", "")
	if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
		t.Fatalf("runs.csv: %d %s", code, h)
	}
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil || len(rows) != 2 || rows[0][0] != "id" || rows[1][0] != itoa(id) || rows[1][len(rows[1])-2] != "baseline nn1" {
		t.Fatalf("runs.csv rows: %v %v", rows, err)
	}
	code, b, _ = a.do(t, "GET", "/api/runs/"+itoa(id)+"/epochs.csv", "")
	rows, err = csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if code != http.StatusOK || err != nil || len(rows) != 3 || rows[2][0] != "2" || rows[1][4] == "" {
		t.Fatalf("epochs.csv: %d %v %v", code, rows, err)
	}
	if code, _, _ := a.do(t, "GET", "/api/runs/99999/epochs.csv", ""); code != http.StatusNotFound {
		t.Errorf("epochs.csv of a missing run: %d", code)
	}

	// Delete: a queued run must be cancelled first; a finished one goes with its weights.
	if code, b, _ := a.do(t, "DELETE", "/api/runs/"+itoa(queued[2]), ""); code != http.StatusConflict || !strings.Contains(string(b), "cancel it first") {
		t.Fatalf("delete of a queued run: %d %s", code, b)
	}
	if code, _, _ := a.do(t, "DELETE", "/api/experiments/"+itoa(expID), ""); code != http.StatusConflict {
		t.Fatalf("delete of an experiment with queued runs: %d", code)
	}
	for _, q := range queued {
		a.do(t, "POST", "/api/runs/"+itoa(q)+"/cancel", "")
	}
	if code, _, _ := a.do(t, "DELETE", "/api/runs/"+itoa(queued[2]), ""); code != http.StatusNoContent {
		t.Fatalf("delete of a cancelled run: %d", code)
	}
	if code, _, _ := a.do(t, "GET", "/api/runs/"+itoa(queued[2]), ""); code != http.StatusNotFound {
		t.Fatalf("deleted run: %d", code)
	}
	if code, _, _ := a.do(t, "GET", "/api/runs/"+itoa(id)+"/weights", ""); code != http.StatusOK {
		t.Fatalf("weights before delete: %d", code)
	}
	if code, _, _ := a.do(t, "DELETE", "/api/runs/"+itoa(id), ""); code != http.StatusNoContent {
		t.Fatalf("delete of a succeeded run: %d", code)
	}
	if code, _, _ := a.do(t, "GET", "/api/runs/"+itoa(id)+"/weights", ""); code != http.StatusNotFound {
		t.Fatalf("weights after delete: %d", code)
	}
	if left := a.runArtifacts(t, id); len(left) > 0 {
		t.Fatalf("artifacts of the deleted run: %q", left)
	}
	if code, _, _ := a.do(t, "DELETE", "/api/experiments/"+itoa(expID), ""); code != http.StatusNoContent {
		t.Fatalf("delete of an experiment: %d", code)
	}
	if code, _, _ := a.do(t, "GET", "/api/runs/"+itoa(queued[0]), ""); code != http.StatusNotFound {
		t.Fatalf("run of a deleted experiment: %d", code)
	}
	if p := list(""); len(p.Runs) != 0 {
		t.Fatalf("runs left: %+v", p.Runs)
	}
}

func urlq(s string) string {
	return strings.NewReplacer(" ", "%20", ">", "%3E", "<", "%3C", "=", "%3D").Replace(s)
}
