package migrations_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/migrations/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestOpenAppliesOnceAndSetsPragmas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	for i := 0; i < 2; i++ { // the second open must find everything applied
		db, err := migrations.Open(ctx, path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != migrations.Count(migrations.SQLite) {
			t.Fatalf("schema_migrations rows = %d, %v; want %d", n, err, migrations.Count(migrations.SQLite))
		}
		var mode string
		var fk, busy int
		db.QueryRow(`PRAGMA journal_mode`).Scan(&mode)
		db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk)
		db.QueryRow(`PRAGMA busy_timeout`).Scan(&busy)
		if mode != "wal" || fk != 1 || busy != migrations.BusyTimeoutMS {
			t.Fatalf("pragmas: journal_mode=%s foreign_keys=%d busy_timeout=%d", mode, fk, busy)
		}
		db.Close()
	}
}

// TestMigrationsBothDialects applies every migration to both databases and
// checks what the stores rely on: River's tables, foreign keys, generated
// ids and timestamps that come back as written.
func TestMigrationsBothDialects(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d migrations.Dialect) {
		t.Parallel()
		ctx := context.Background()
		u := dbtest.URL(t, d)
		dir := t.TempDir()
		for i := 0; i < 2; i++ { // the second open must find everything applied
			db, err := migrations.OpenDatabase(ctx, dir, u)
			if err != nil {
				t.Fatalf("open %d: %v", i, err)
			}
			if db.Dialect != d {
				t.Fatalf("dialect = %s, want %s", db.Dialect, d)
			}
			var n int
			if err := db.Gorm.Raw(`SELECT count(*) FROM schema_migrations`).Scan(&n).Error; err != nil || n != migrations.Count(d) {
				t.Fatalf("schema_migrations rows = %d, %v; want %d", n, err, migrations.Count(d))
			}
			if err := db.Gorm.Exec(`SELECT count(*) FROM river_job`).Error; err != nil {
				t.Fatalf("river tables missing: %v", err)
			}
			if err := db.Gorm.Exec(`INSERT INTO runs (experiment_id, status, spec, created_at) VALUES (999, 'queued', '{}', CURRENT_TIMESTAMP)`).Error; err == nil {
				t.Fatal("insert with a dangling experiment_id succeeded: foreign keys are off")
			}
			db.Close()
		}
		db, err := migrations.OpenDatabase(ctx, dir, u)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		type row struct {
			ID        int64 `gorm:"primaryKey"`
			Name      string
			Spec      string
			CreatedAt time.Time
		}
		at := time.Date(2026, 12, 1, 9, 30, 15, 123456000, time.UTC)
		var ids []int64
		for range 2 {
			r := row{Name: "e", Spec: "{}", CreatedAt: at}
			if err := db.Gorm.Table("experiments").Create(&r).Error; err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.ID)
		}
		if ids[0] <= 0 || ids[1] <= ids[0] {
			t.Fatalf("generated ids %v, want increasing positive", ids)
		}
		var got row
		if err := db.Gorm.Table("experiments").Where("id = ?", ids[1]).Take(&got).Error; err != nil {
			t.Fatal(err)
		}
		if !got.CreatedAt.Equal(at) {
			t.Fatalf("created_at read back %v, want %v", got.CreatedAt, at)
		}
	})
}

func TestOpenDatabaseRefusesOtherURLs(t *testing.T) {
	t.Parallel()
	_, err := migrations.OpenDatabase(context.Background(), t.TempDir(), "mysql://root:hunter2@db/trainyard")
	if err == nil || !strings.Contains(err.Error(), "postgres://") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v, want a refusal naming postgres:// without the password", err)
	}
}
