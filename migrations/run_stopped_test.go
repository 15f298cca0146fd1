package migrations_test

import (
	"context"
	"testing"

	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/migrations/dbtest"
)

// TestStoppedStatusBothDialects: a fresh database of either kind stores a
// stopped run with its rung and refuses an unknown status.
func TestStoppedStatusBothDialects(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d migrations.Dialect) {
		t.Parallel()
		db, err := migrations.OpenDatabase(context.Background(), t.TempDir(), dbtest.URL(t, d))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, q := range []string{
			`INSERT INTO experiments (name, spec, created_at) VALUES ('e', '{}', CURRENT_TIMESTAMP)`,
			`INSERT INTO runs (experiment_id, status, spec, created_at, stop_rung) SELECT MAX(id), 'stopped', '{}', CURRENT_TIMESTAMP, 3 FROM experiments`,
		} {
			if err := db.Gorm.Exec(q).Error; err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if err := db.Gorm.Exec(`UPDATE runs SET status = 'bogus'`).Error; err == nil {
			t.Fatal("status 'bogus' stored: the CHECK is gone")
		}
	})
}
