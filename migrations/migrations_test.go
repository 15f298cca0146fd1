package migrations

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"
)

func TestOpenAppliesOnceAndSetsPragmas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	for i := 0; i < 2; i++ { // the second open must find everything applied
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		var n int
		want, _ := fs.Glob(files, "sql/*.sql")
		if err := db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(want) {
			t.Fatalf("schema_migrations rows = %d, %v; want %d", n, err, len(want))
		}
		var mode string
		var fk, busy int
		db.QueryRow(`PRAGMA journal_mode`).Scan(&mode)
		db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk)
		db.QueryRow(`PRAGMA busy_timeout`).Scan(&busy)
		if mode != "wal" || fk != 1 || busy != BusyTimeoutMS {
			t.Fatalf("pragmas: journal_mode=%s foreign_keys=%d busy_timeout=%d", mode, fk, busy)
		}
		if _, err := db.Exec(`SELECT count(*) FROM river_job`); err != nil {
			t.Fatalf("river tables missing: %v", err)
		}
		if _, err := db.Exec(`INSERT INTO runs (experiment_id, status, spec, created_at) VALUES (999, 'queued', '{}', CURRENT_TIMESTAMP)`); err == nil {
			t.Fatal("insert with a dangling experiment_id succeeded: foreign keys are off")
		}
		db.Close()
	}
}
