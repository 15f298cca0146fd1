package migrations

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunStoppedMigration upgrades a SQLite database made before 0014: the
// runs table admits 'stopped' (and still refuses unknown statuses), every
// stored run, epoch and tag stays, and the file passes integrity_check.
// (TestStoppedStatusBothDialects runs 0014 on PostgreSQL.)
func TestRunStoppedMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "old.db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ms, err := dialectMigrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.version >= "0014" {
			break
		}
		if err := apply(ctx, conn, SQLite, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`INSERT INTO experiments (id, name, spec, created_at) VALUES (1, 'e', '{}', CURRENT_TIMESTAMP)`,
		`INSERT INTO runs (id, experiment_id, status, spec, created_at, test_accuracy, note) VALUES (1, 1, 'succeeded', '{}', CURRENT_TIMESTAMP, 0.97, 'kept')`,
		`INSERT INTO runs (id, experiment_id, status, spec, created_at) VALUES (2, 1, 'running', '{}', CURRENT_TIMESTAMP)`,
		`INSERT INTO epochs (run_id, epoch, loss, learning_rate, seconds) VALUES (1, 1, 2.5, 0.001, 3), (2, 1, 2.4, 0.001, 3)`,
		`INSERT INTO run_tags VALUES (1, 'baseline')`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := conn.ExecContext(ctx, `UPDATE runs SET status = 'stopped' WHERE id = 2`); err == nil {
		t.Fatal("before 0014 the runs table took status 'stopped'")
	}
	var idxBefore int
	conn.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'runs'`).Scan(&idxBefore)
	conn.Close()
	if err := up(ctx, db, SQLite, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE runs SET status = 'stopped', stop_rung = 3 WHERE id = 2`); err != nil {
		t.Fatalf("after 0014: %v", err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE runs SET status = 'bogus' WHERE id = 2`); err == nil || !strings.Contains(err.Error(), "CHECK") {
		t.Fatalf("status 'bogus' stored (err %v): the CHECK is gone", err)
	}
	var epochs, tags int
	var note string
	var acc float64
	db.QueryRow(`SELECT count(*) FROM epochs`).Scan(&epochs)
	db.QueryRow(`SELECT count(*) FROM run_tags`).Scan(&tags)
	db.QueryRow(`SELECT note, test_accuracy FROM runs WHERE id = 1`).Scan(&note, &acc)
	if epochs != 2 || tags != 1 || note != "kept" || acc != 0.97 {
		t.Fatalf("after 0014: %d epochs, %d tags, note %q, test accuracy %v; want 2, 1, kept, 0.97", epochs, tags, note, acc)
	}
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	var idx int
	db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'runs'`).Scan(&idx)
	if idx != idxBefore || idx == 0 {
		t.Fatalf("runs has %d indexes after 0014, %d before", idx, idxBefore)
	}
}
