package server

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/migrations/dbtest"
	"github.com/trainyard/trainyard/runs"
)

func TestSeedReportSuite(t *testing.T) { eachDB(t, testSeedReportSuite) }

func testSeedReportSuite(t *testing.T, dialect migrations.Dialect) {
	a := setupCfg(t, Config{DB: dbtest.URL(t, dialect)})
	code, b, _ := a.do(t, "POST", "/api/suites/seed-report", "")
	if code != http.StatusCreated {
		t.Fatalf("seed report: %d %s", code, b)
	}
	resp := decode[suiteResponse](t, b)
	if len(resp.Runs) != 9 || len(resp.Experiments) != 9 || resp.Source != "synthetic" {
		t.Fatalf("suite %+v, want 9 runs on synthetic CAPTCHAs", resp)
	}
	epochs := map[string]int{}
	for _, id := range resp.Runs {
		r := a.run(t, id)
		if r.Status != runs.StatusQueued {
			t.Fatalf("run %d is %s", id, r.Status)
		}
		key := fmt.Sprintf("%s/%d", r.Preset, r.Spec.Epochs)
		epochs[key]++
		// The report's own splits: NN 2 (and the 20-epoch NN 1) on 2,750
		// images, CNN 1 at 15 epochs on 11,000, CNN 2 on 48,000 / 12,000.
		split := fmt.Sprintf("%d %g/%g", r.Spec.TrainLimit, r.Spec.TrainFraction, r.Spec.ValFraction)
		want := map[string]string{"mnist-nn1/20": "2750 0.5/0.2", "mnist-nn2/30": "2750 0.5/0.2", "mnist-cnn1/15": "11000 0.5/0.2",
			"mnist-cnn2/10": "0 0.8/0.2", "mnist-nn1/30": "0 0.5/0.2", "mnist-cnn1/50": "0 0.5/0.2"}[key]
		if want != "" && split != want {
			t.Errorf("%s: split %s, want %s", key, split, want)
		}
	}
	for _, k := range []string{"mnist-nn1/30", "mnist-nn1/20", "mnist-nn2/30", "mnist-cnn1/50", "mnist-cnn1/15", "mnist-cnn2/10", "captcha-model1/50", "captcha-model1/100", "captcha-model2/100"} {
		if epochs[k] != 1 {
			t.Errorf("%s: %d runs, want 1 (%v)", k, epochs[k], epochs)
		}
	}
	code, b, _ = a.do(t, "GET", fmt.Sprintf("/suites/%d", resp.ID), "")
	page := string(b)
	if code != 200 || strings.Count(page, "suite-comparison") != 7 || !strings.Contains(page, "90.40%") || !strings.Contains(page, "/compare?runs=") {
		t.Fatalf("suite page: %d comparisons %d, 90.4 %v, compare %v", code, strings.Count(page, "suite-comparison"), strings.Contains(page, "90.40%"), strings.Contains(page, "/compare?runs="))
	}
	code, b, _ = a.do(t, "GET", fmt.Sprintf("/api/suites/%d", resp.ID), "")
	if su := decode[experiments.Suite](t, b); code != 200 || len(su.Members) != 9 {
		t.Fatalf("api suite: %d %s", code, b)
	}
	if code, _, _ := a.do(t, "GET", "/suites/999", ""); code != http.StatusNotFound {
		t.Fatalf("missing suite: %d", code)
	}
}

func TestSeedReportUsesImportedFolder(t *testing.T) { eachDB(t, testSeedReportUsesImportedFolder) }

func testSeedReportUsesImportedFolder(t *testing.T, dialect migrations.Dialect) {
	root := t.TempDir()
	if err := os.CopyFS(filepath.Join(root, "thsr"), os.DirFS(fixtureDir)); err != nil {
		t.Fatal(err)
	}
	a := setupCfg(t, Config{DatasetRoots: []string{root}, DB: dbtest.URL(t, dialect)})
	if code, b, _ := a.do(t, "POST", "/api/datasets", `{"path": "thsr"}`); code != http.StatusCreated {
		t.Fatalf("import: %d %s", code, b)
	}
	_, b, _ := a.do(t, "POST", "/api/suites/seed-report", "")
	resp := decode[suiteResponse](t, b)
	n := 0
	for _, id := range resp.Runs {
		if r := a.run(t, id); r.Spec.Source != nil && r.Spec.Source.Kind == experiments.SourceDataset {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d CAPTCHA runs on the imported folder, want 3 (%s)", n, resp.Source)
	}
}

// TestSeedReportAllOrNothing makes the database refuse a row part-way
// through queueing the seed report (the fifth experiment, then a suite
// member) and checks nothing was left behind: no suite, experiment, run or
// River job. Once the database accepts rows again the suite queues whole.
func TestSeedReportAllOrNothing(t *testing.T) { eachDB(t, testSeedReportAllOrNothing) }

func testSeedReportAllOrNothing(t *testing.T, dialect migrations.Dialect) {
	a := setupCfg(t, Config{DB: dbtest.URL(t, dialect)})
	ctx := context.Background()
	db := a.srv.db.SQL
	counts := func() string {
		var out []string
		for _, table := range []string{"suites", "suite_experiments", "experiments", "runs", "river_job"} {
			var n int
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s=%d", table, n))
		}
		return strings.Join(out, " ")
	}
	empty := counts()
	for _, refuse := range []struct {
		table string
		after int
	}{{"experiments", 4}, {"suite_experiments", 3}} {
		trigger := fmt.Sprintf(`CREATE TRIGGER fail_midway BEFORE INSERT ON %s WHEN (SELECT count(*) FROM %[1]s) >= %d BEGIN SELECT RAISE(ABORT, 'refused'); END`, refuse.table, refuse.after)
		drop := `DROP TRIGGER fail_midway`
		if dialect == migrations.Postgres {
			trigger = fmt.Sprintf(`CREATE OR REPLACE FUNCTION fail_midway() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN IF (SELECT count(*) FROM %s) >= %d THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$;
				CREATE TRIGGER fail_midway BEFORE INSERT ON %[1]s FOR EACH ROW EXECUTE FUNCTION fail_midway()`, refuse.table, refuse.after)
			drop = `DROP TRIGGER fail_midway ON ` + refuse.table
		}
		if _, err := db.ExecContext(ctx, trigger); err != nil {
			t.Fatal(err)
		}
		if code, b, _ := a.do(t, "POST", "/api/suites/seed-report", ""); code != http.StatusInternalServerError {
			t.Fatalf("seed report with a refused row: %d %s", code, b)
		}
		if got := counts(); got != empty {
			t.Fatalf("after a failed seed report: %s, want %s", got, empty)
		}
		if _, err := db.ExecContext(ctx, drop); err != nil {
			t.Fatal(err)
		}
	}
	code, b, _ := a.do(t, "POST", "/api/suites/seed-report", "")
	if code != http.StatusCreated {
		t.Fatalf("seed report: %d %s", code, b)
	}
	resp := decode[suiteResponse](t, b)
	if len(resp.Experiments) != 9 || len(resp.Runs) != 9 {
		t.Fatalf("suite %+v", resp)
	}
	if got := counts(); got != "suites=1 suite_experiments=9 experiments=9 runs=9 river_job=9" {
		t.Fatalf("after the seed report: %s", got)
	}
}
