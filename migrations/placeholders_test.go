package migrations

import (
	"strings"
	"testing"
)

func TestPlaceholdersExpand(t *testing.T) {
	t.Parallel()
	for _, d := range []Dialect{SQLite, Postgres} {
		ms, err := dialectMigrations(d)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 {
			t.Fatalf("%s: no migrations", d)
		}
		for _, m := range ms {
			if strings.Contains(m.sql, "{{") {
				t.Fatalf("%s %s: placeholder left: %s", d, m.version, m.sql)
			}
			if d == Postgres && strings.Contains(m.sql, "AUTOINCREMENT") {
				t.Fatalf("%s %s: SQLite's AUTOINCREMENT in PostgreSQL SQL", d, m.version)
			}
		}
	}
	if fs, fp := Fingerprint(SQLite), Fingerprint(Postgres); fs == "" || fp == "" || fs == fp || fp != Fingerprint(Postgres) {
		t.Fatalf("fingerprints: sqlite %q, postgres %q", fs, fp)
	}
	if got := rebind(Postgres, "a = ? AND b = ?"); got != "a = $1 AND b = $2" {
		t.Fatalf("rebind = %q", got)
	}
}
