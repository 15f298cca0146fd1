package migrations

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// TestEpochMetricsMigration upgrades epochs recorded before 0007 on SQLite:
// a multi-head epoch's accuracy columns held the character accuracy and move
// to char_accuracy / val_char_accuracy, leaving the image accuracy unknown
// (NULL); an epoch without validation loses its 0s for NULL; one-head epochs
// keep their values. (TestMigrationsBothDialects runs 0007 on PostgreSQL.)
func TestEpochMetricsMigration(t *testing.T) {
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
		if m.version >= "0007" {
			break
		}
		if err := apply(ctx, conn, SQLite, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`INSERT INTO experiments (id, name, spec, created_at) VALUES (1, 'e', '{}', CURRENT_TIMESTAMP)`,
		`INSERT INTO runs (id, experiment_id, status, spec, created_at) VALUES (1, 1, 'succeeded', '{}', CURRENT_TIMESTAMP)`,
		`INSERT INTO epochs VALUES (1, 1, 2.5, 0.9, 2.6, 0.88, 0.001, 3, NULL)`,
		`INSERT INTO epochs VALUES (1, 2, 9.1, 0.0562, 9.2, 0.0500, 0.001, 3, '[]')`,
		`INSERT INTO epochs VALUES (1, 3, 2.4, 0.91, 0, 0, 0.001, 3, NULL)`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	conn.Close() // up takes the database's one connection
	if err := up(ctx, db, SQLite, nil); err != nil {
		t.Fatal(err)
	}
	type row struct{ acc, valLoss, valAcc, char, valChar sql.NullFloat64 }
	got := map[int]row{}
	rows, err := db.Query(`SELECT epoch, accuracy, val_loss, val_accuracy, char_accuracy, val_char_accuracy FROM epochs WHERE run_id = 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var e int
		var r row
		if err := rows.Scan(&e, &r.acc, &r.valLoss, &r.valAcc, &r.char, &r.valChar); err != nil {
			t.Fatal(err)
		}
		got[e] = r
	}
	rows.Close()
	f := func(v float64) sql.NullFloat64 { return sql.NullFloat64{Float64: v, Valid: true} }
	null := sql.NullFloat64{}
	want := map[int]row{
		1: {f(0.9), f(2.6), f(0.88), null, null},
		2: {null, f(9.2), null, f(0.0562), f(0.05)},
		3: {f(0.91), null, null, null, null},
	}
	for e, w := range want {
		if got[e] != w {
			t.Errorf("epoch %d after 0007: %+v, want %+v", e, got[e], w)
		}
	}
}
