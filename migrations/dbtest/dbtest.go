// Package dbtest gives tests real databases of both dialects: a SQLite file
// in the test's temp dir, and a fresh database in a throwaway PostgreSQL
// cluster that the test package starts on first use (initdb and pg_ctl in a
// temp dir, as the postgres user when running as root) and stops when its
// tests end. Each test gets its own PostgreSQL database, copied from a
// migrated template, so tests may run in parallel.
//
// A package that uses it runs its tests through Main:
//
//	func TestMain(m *testing.M) { dbtest.Main(m) }
//
// and parametrizes a test by database with Each. PostgreSQL subtests skip
// when its binaries are missing (apt-get install postgresql), and fail when
// CI=true. TRAINYARD_TEST_POSTGRES=postgres://... uses an existing server
// (its user must be allowed to create databases) instead of a cluster.
package dbtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trainyard/trainyard/migrations"
)

// Dialects are the databases Each runs a test on, SQLite first.
var Dialects = []migrations.Dialect{migrations.SQLite, migrations.Postgres}

var (
	startOnce sync.Once
	startErr  error
	pg        *cluster // nil until started; stays nil with TRAINYARD_TEST_POSTGRES
	adminURL  string   // a URL of the maintenance database
	mu        sync.Mutex
	counter   atomic.Int64
)

const template = "trainyard_template"

// TemplateTime is how long migrating the template database took.
var TemplateTime time.Duration

// Main runs the package's tests, then stops the PostgreSQL cluster if a test started one.
func Main(m *testing.M) {
	code := m.Run()
	if pg != nil && testing.Verbose() {
		fmt.Fprintf(os.Stderr, "dbtest: PostgreSQL cluster started in %v, template migrated in %v (0 when copied with the cluster)\n",
			StartTime.Round(time.Millisecond), TemplateTime.Round(time.Millisecond))
	}
	if pg != nil {
		if err := pg.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "dbtest:", err)
		}
	}
	os.Exit(code)
}

// Each runs fn as one subtest per dialect, named after it ("sqlite", "postgres").
func Each(t *testing.T, fn func(t *testing.T, d migrations.Dialect)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(string(d), func(t *testing.T) { fn(t, d) })
	}
}

// URL returns the --db value of a fresh, migrated database of dialect d:
// empty for SQLite (the file in the data dir), a postgres:// URL of a new
// database otherwise, dropped when the test ends.
func URL(t testing.TB, d migrations.Dialect) string {
	t.Helper()
	if d == migrations.SQLite {
		return ""
	}
	startOnce.Do(func() { startErr = start() })
	if startErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL for tests: %v", startErr)
		}
		t.Skipf("PostgreSQL for tests: %v", startErr)
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), counter.Add(1))
	// CREATE DATABASE ... TEMPLATE refuses while another session copies the
	// same template, so copies are made one at a time.
	mu.Lock()
	err := adminExec(context.Background(), "CREATE DATABASE "+name+" TEMPLATE "+template)
	mu.Unlock()
	if err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if err := adminExec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(adminURL, name)
}

// Open returns a fresh, migrated database of dialect d, closed when the test ends.
func Open(t testing.TB, d migrations.Dialect) *migrations.Database {
	t.Helper()
	u := URL(t, d)
	db, err := migrations.OpenDatabase(context.Background(), t.TempDir(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// start makes the template database on a new cluster, or on
// TRAINYARD_TEST_POSTGRES's server.
func start() error {
	key := migrations.Fingerprint(migrations.Postgres)
	if u := os.Getenv("TRAINYARD_TEST_POSTGRES"); u != "" {
		adminURL = u
	} else {
		c, withTemplate, err := startCluster(key)
		if err != nil {
			return err
		}
		pg, adminURL = c, c.url("postgres")
		if withTemplate {
			return nil
		}
	}
	t0 := time.Now()
	defer func() { TemplateTime = time.Since(t0) }()
	if err := makeTemplate(); err != nil {
		return err
	}
	if pg != nil && key != "" {
		// Kept for the next test process; without it, each makes its own.
		if err := pg.saveTemplate(key); err != nil {
			return fmt.Errorf("keep the template cluster: %w", err)
		}
	}
	return nil
}

// makeTemplate creates and migrates the template database.
func makeTemplate() error {
	ctx := context.Background()
	adminExec(ctx, "DROP DATABASE IF EXISTS "+template+" WITH (FORCE)")
	if err := adminExec(ctx, "CREATE DATABASE "+template); err != nil {
		return fmt.Errorf("create template database: %w", err)
	}
	db, err := migrations.OpenDatabase(ctx, "", withDatabase(adminURL, template))
	if err != nil {
		return fmt.Errorf("migrate template database: %w", err)
	}
	return db.Close()
}

func adminExec(ctx context.Context, stmt string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
}

// withDatabase returns the URL u pointing at database name.
func withDatabase(u, name string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.Path = "/" + name
	return p.String()
}
