package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trainyard/trainyard/runs"
)

// TestCompareGroupBy trains two seeds each of a 1-epoch and a 2-epoch run and
// compares them grouped by epochs: two groups of two, with statistics and
// bands, and a 400 naming group_by for a setting that does not exist.
func TestCompareGroupBy(t *testing.T) {
	t.Parallel()
	a := setup(t, 1)
	shortID, one := a.create(t, `{"name": "short", "preset": "mnist-nn1", "overrides": {"epochs": 1, "train_limit": 600, "seed": 1}, "repeats": 2}`)
	_, two := a.create(t, `{"name": "long", "preset": "mnist-nn1", "overrides": {"epochs": 2, "train_limit": 600, "seed": 1}, "repeats": 2}`)
	ids := append(one, two...)
	for _, id := range ids {
		if r := a.waitFor(t, id, 2*time.Minute, func(r runs.Run) bool { return r.Status.Done() }); r.Status != runs.StatusSucceeded {
			t.Fatalf("run %d: %s %s", id, r.Status, r.Error)
		}
	}
	list := itoa(ids[0]) + "," + itoa(ids[1]) + "," + itoa(ids[2]) + "," + itoa(ids[3])
	code, b, _ := a.do(t, "GET", "/api/compare?runs="+list+"&group_by=epochs", "")
	if code != http.StatusOK {
		t.Fatalf("compare: %d %s", code, b)
	}
	var resp struct {
		Runs   []json.RawMessage `json:"runs"`
		Groups []runs.Group      `json:"groups"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Runs) != 4 || len(resp.Groups) != 2 {
		t.Fatalf("%d runs, %d groups: %s", len(resp.Runs), len(resp.Groups), b)
	}
	for i, want := range []float64{1, 2} {
		g := resp.Groups[i]
		st := g.Stats["test_accuracy"]
		if g.Key["epochs"] != want || len(g.Runs) != 2 || st.N != 2 || st.Mean == nil || st.Std == nil || *st.Mean < 0.5 {
			t.Fatalf("group %d = %+v", i, g)
		}
		if ep := g.Stats["epochs_run"]; *ep.Mean != want || *ep.Std != 0 {
			t.Fatalf("group %d epochs run = %+v", i, ep)
		}
		if band := g.Bands["val_accuracy"]; len(band.Epochs) != int(want) || band.N[0] != 2 {
			t.Fatalf("group %d band = %+v", i, band)
		}
	}
	// Seeds of one experiment differ only by seed: without group_by they form one group.
	code, b, _ = a.do(t, "GET", "/api/compare?runs="+itoa(one[0])+","+itoa(one[1]), "")
	if code != http.StatusOK || !strings.Contains(string(b), `"groups":[{"key":{},"label":"short"`) {
		t.Fatalf("seed groups: %d %s", code, b)
	}
	// The experiment page of the two seeds shows their mean ± std.
	code, b, _ = a.do(t, "GET", "/experiments/"+itoa(shortID), "")
	if page := string(b); code != http.StatusOK || !strings.Contains(page, `id="seeds-table"`) || !strings.Contains(page, "mean ± std over 2 runs") || !strings.Contains(page, " ± ") {
		t.Fatalf("experiment page: %d, no seeds summary", code)
	}
	code, b, _ = a.do(t, "GET", "/api/compare?runs="+list+"&group_by=epochs,colour", "")
	if code != http.StatusBadRequest || !strings.Contains(string(b), "group_by") || !strings.Contains(string(b), "colour") {
		t.Fatalf("unknown group key: %d %s", code, b)
	}
}
