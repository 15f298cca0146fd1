package runs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/migrations"
)

// listFixture stores runs of two presets with varied settings; every third
// run has no test result yet. It returns them in creation order.
func listFixture(t *testing.T, s *Store, es *experiments.Store, n int) []Run {
	t.Helper()
	ctx := context.Background()
	var out []Run
	for i := range n {
		name := "mnist-nn1"
		if i%2 == 1 {
			name = "mnist-cnn1"
		}
		p, _ := experiments.PresetByName(name)
		spec := p.Spec
		spec.Epochs, spec.LearningRate, spec.Seed = 10+i%4, 0.001*float64(1+i%3), int64(i)
		e := experiments.Experiment{Name: fmt.Sprintf("exp %d %s", i, name), Preset: name, Spec: spec, Repeats: 1}
		if err := es.CreateExperiment(ctx, &e); err != nil {
			t.Fatal(err)
		}
		r, err := s.CreateRun(ctx, e.ID, spec)
		if err != nil {
			t.Fatal(err)
		}
		if i%3 != 2 {
			acc := 0.5 + float64((i*7)%10)/20 // repeats: ties broken by id
			l, err := s.Start(ctx, r.ID, "cpu", "w1", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Succeed(ctx, l, TestResult{Accuracy: acc}, Weights{}, nil); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, r)
	}
	return out
}

func pageAll(t *testing.T, s *Store, q ListQuery) []ListedRun {
	t.Helper()
	var all []ListedRun
	for pages := 0; ; pages++ {
		p, err := s.List(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Runs) > q.Limit {
			t.Fatalf("page of %d runs, limit %d", len(p.Runs), q.Limit)
		}
		all = append(all, p.Runs...)
		if p.NextCursor == nil {
			return all
		}
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		q.Cursor = *p.NextCursor
	}
}

func TestListSortsAndPages(t *testing.T) { eachDB(t, testListSortsAndPages) }

func testListSortsAndPages(t *testing.T, d migrations.Dialect) {
	s, es := setup(t, d)
	stored := listFixture(t, s, es, 17)

	all := pageAll(t, s, ListQuery{Sort: "-test_accuracy", Limit: 4})
	if len(all) != len(stored) {
		t.Fatalf("paged %d runs, stored %d", len(all), len(stored))
	}
	seen := map[int64]bool{}
	for i, r := range all {
		if seen[r.ID] {
			t.Fatalf("run %d twice", r.ID)
		}
		seen[r.ID] = true
		if i == 0 {
			continue
		}
		prev := all[i-1]
		switch {
		case prev.TestAccuracy == nil && r.TestAccuracy != nil:
			t.Fatalf("run %d with a result after run %d without", r.ID, prev.ID)
		case prev.TestAccuracy != nil && r.TestAccuracy != nil &&
			(*r.TestAccuracy > *prev.TestAccuracy || (*r.TestAccuracy == *prev.TestAccuracy && r.ID > prev.ID)):
			t.Fatalf("not sorted by -test_accuracy: %d (%v) after %d (%v)", r.ID, *r.TestAccuracy, prev.ID, *prev.TestAccuracy)
		case prev.TestAccuracy == nil && r.TestAccuracy == nil && r.ID > prev.ID:
			t.Fatalf("runs without results not by id: %d after %d", r.ID, prev.ID)
		}
	}
	if all[len(all)-1].TestAccuracy != nil || all[0].Params != 203530 && all[0].Params != 297706 || all[0].Tags == nil {
		t.Fatalf("first %+v, last %+v", all[0], all[len(all)-1])
	}

	asc := pageAll(t, s, ListQuery{Sort: "test_accuracy", Limit: 5})
	if len(asc) != len(stored) || *asc[0].TestAccuracy > *asc[1].TestAccuracy || asc[len(asc)-1].TestAccuracy != nil {
		t.Fatalf("ascending: %d runs, first %v", len(asc), asc[0].TestAccuracy)
	}
	newest := pageAll(t, s, ListQuery{Limit: 50})
	if newest[0].ID != stored[len(stored)-1].ID || newest[len(newest)-1].ID != stored[0].ID {
		t.Fatal("default order is not newest first")
	}
	ep := pageAll(t, s, ListQuery{Sort: "epochs", Limit: 3})
	if !slices.IsSortedFunc(ep, func(a, b ListedRun) int { return a.Spec.Epochs - b.Spec.Epochs }) {
		t.Fatal("not sorted by epochs")
	}
}

func TestListFilters(t *testing.T) { eachDB(t, testListFilters) }

func testListFilters(t *testing.T, d migrations.Dialect) {
	ctx := context.Background()
	s, es := setup(t, d)
	stored := listFixture(t, s, es, 12)
	if err := s.SetTagsNote(ctx, stored[3].ID, []string{"baseline", "keep"}, nil); err != nil {
		t.Fatal(err)
	}
	count := func(q ListQuery) int {
		t.Helper()
		q.Limit = 100
		return len(pageAll(t, s, q))
	}
	if n := count(ListQuery{Preset: "mnist-cnn1"}); n != 6 {
		t.Errorf("preset filter: %d", n)
	}
	if n := count(ListQuery{Status: StatusQueued}); n != 4 {
		t.Errorf("status filter: %d", n)
	}
	if n := count(ListQuery{Tag: "keep"}); n != 1 {
		t.Errorf("tag filter: %d", n)
	}
	if n := count(ListQuery{Search: "EXP 1"}); n != 3 { // exp 1, exp 10, exp 11
		t.Errorf("search: %d", n)
	}
	if n := count(ListQuery{Search: "%"}); n != 0 {
		t.Errorf("search for %%: %d, want a literal match", n)
	}
	if n := count(ListQuery{Q: "epochs >= 12 and learning_rate < 0.0025 and preset = mnist-nn1"}); n != 2 { // runs 2, 6... i%4>=2, i%3<2, even
		t.Errorf("q: %d", n)
	}
	if n := count(ListQuery{Q: "test_accuracy > 0.9 or status = queued"}); n != 1+4 { // run 7, and 2, 5, 8, 11
		t.Errorf("q with or: %d", n)
	}
	p, err := s.List(ctx, ListQuery{Q: "id = " + fmt.Sprint(stored[3].ID)})
	if err != nil || len(p.Runs) != 1 || !slices.Equal(p.Runs[0].Tags, []string{"baseline", "keep"}) {
		t.Fatalf("tags of one run: %+v %v", p.Runs, err)
	}

	for _, tc := range []struct {
		q     ListQuery
		param string
	}{
		{ListQuery{Sort: "-colour"}, "sort"},
		{ListQuery{Q: "epochs >"}, "q"},
		{ListQuery{Limit: MaxListLimit + 1}, "limit"},
		{ListQuery{Cursor: "not-a-cursor"}, "cursor"},
		{ListQuery{Sort: "epochs", Cursor: cursor{Sort: "-created", ID: 3}.encode()}, "cursor"},
	} {
		_, err := s.List(ctx, tc.q)
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Param != tc.param {
			t.Errorf("%+v: %v, want an error naming %s", tc.q, err, tc.param)
		}
	}
}

func TestBackfillAndDelete(t *testing.T) { eachDB(t, testBackfillAndDelete) }

func testBackfillAndDelete(t *testing.T, d migrations.Dialect) {
	ctx := context.Background()
	s, es := setup(t, d)
	stored := listFixture(t, s, es, 3)
	// A run stored before the columns existed.
	if err := s.db.Exec("UPDATE runs SET params = 0, epochs = 0, test_accuracy = NULL WHERE id = ?", stored[0].ID).Error; err != nil {
		t.Fatal(err)
	}
	if n, err := s.Backfill(ctx); err != nil || n != 1 {
		t.Fatalf("backfill: %d %v", n, err)
	}
	p, err := s.List(ctx, ListQuery{Q: "id = " + fmt.Sprint(stored[0].ID)})
	if err != nil || p.Runs[0].Params != 203530 || p.Runs[0].TestAccuracy == nil {
		t.Fatalf("after backfill: %+v %v", p.Runs, err)
	}

	if err := s.Delete(ctx, stored[2].ID); !errors.Is(err, ErrActive) { // still queued
		t.Fatalf("delete of a queued run: %v", err)
	}
	// An epoch row of the finished run (written directly: a finished run takes no more epochs).
	if err := s.db.Create(&epochRow{RunID: stored[0].ID, Epoch: 1, ValAccuracy: Float(0.5)}).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, stored[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(ctx, stored[0].ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted run: %v", err)
	}
	var epochs int64
	s.db.Table("epochs").Where("run_id = ?", stored[0].ID).Count(&epochs)
	if epochs != 0 {
		t.Fatalf("%d epochs left of a deleted run", epochs)
	}
	if err := s.Delete(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete of a missing run: %v", err)
	}
}
