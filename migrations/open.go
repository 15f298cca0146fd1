package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// BusyTimeoutMS is how long a statement waits for SQLite's write lock.
const BusyTimeoutMS = 10000

// SQLiteFile is the name of the SQLite database inside the data dir.
const SQLiteFile = "trainyard.db"

// PostgresMaxConns caps the connections one process opens to PostgreSQL.
const PostgresMaxConns = 10

// Database is an open, migrated trainyard database.
type Database struct {
	// Dialect says which database this is.
	Dialect Dialect
	// SQL is the connection pool (one connection on SQLite).
	SQL *sql.DB
	// Gorm is the handle the stores use, over SQL.
	Gorm *gorm.DB
	// River is the queue's driver over the same pool: its transactions are
	// gorm's *sql.Tx, so a job can be inserted in a store's transaction.
	River riverdriver.Driver[*sql.Tx]

	pool, listen *pgxpool.Pool // PostgreSQL only
	connConfig   *pgx.ConnConfig
}

// IsPostgresURL reports whether dbURL names a PostgreSQL database.
func IsPostgresURL(dbURL string) bool {
	return strings.HasPrefix(dbURL, "postgres://") || strings.HasPrefix(dbURL, "postgresql://")
}

// OpenDatabase opens trainyard's database and brings its tables and River's
// up to date: the PostgreSQL database dbURL names (postgres://...), or, when
// dbURL is empty, the SQLite file in dataDir (created with the dir if needed).
func OpenDatabase(ctx context.Context, dataDir, dbURL string) (*Database, error) {
	switch {
	case dbURL == "":
		if dataDir == "" {
			return nil, errors.New("no database: give a data dir or a postgres:// URL")
		}
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
		sqlDB, err := Open(ctx, filepath.Join(dataDir, SQLiteFile))
		if err != nil {
			return nil, err
		}
		db, err := gorm.Open(sqlite.New(sqlite.Config{Conn: sqlDB}), &gorm.Config{Logger: logger.Discard})
		if err != nil {
			sqlDB.Close()
			return nil, fmt.Errorf("gorm: %w", err)
		}
		return &Database{Dialect: SQLite, SQL: sqlDB, Gorm: db, River: riversqlite.New(sqlDB)}, nil
	case IsPostgresURL(dbURL):
		return openPostgres(ctx, dbURL)
	default:
		return nil, fmt.Errorf("database URL %q: want empty (the SQLite file in the data dir) or postgres://user@host/dbname", redact(dbURL))
	}
}

func openPostgres(ctx context.Context, dbURL string) (*Database, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err) // pgconn hides the password
	}
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	if cfg.MaxConns > PostgresMaxConns {
		cfg.MaxConns = PostgresMaxConns
	}
	where := cfg.ConnConfig.Database
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", where, err)
	}
	// River's listener takes connections for LISTEN and never gives them back:
	// it gets its own small pool.
	lcfg := cfg.Copy()
	lcfg.MinConns, lcfg.MaxConns = 0, 2
	listen, err := pgxpool.NewWithConfig(ctx, lcfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open database %s: %w", where, err)
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	d := &Database{Dialect: Postgres, SQL: sqlDB, pool: pool, listen: listen, connConfig: cfg.ConnConfig.Copy(),
		River: riverdatabasesql.NewWithPgxListener(sqlDB, listen)}
	fail := func(err error) (*Database, error) {
		d.Close()
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		return fail(fmt.Errorf("open database %s: %w", where, err))
	}
	riverTables := func(ctx context.Context) error { return riverUp(ctx, riverpgxv5.New(pool)) }
	if err := up(ctx, sqlDB, Postgres, riverTables); err != nil {
		return fail(err)
	}
	d.Gorm, err = gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return fail(fmt.Errorf("gorm: %w", err))
	}
	return d, nil
}

// Close closes the database's connections.
func (d *Database) Close() error {
	err := d.SQL.Close()
	if d.listen != nil {
		d.listen.Close()
	}
	if d.pool != nil {
		d.pool.Close()
	}
	return err
}

// Open opens (creating if needed) the SQLite file at path with busy_timeout,
// WAL and foreign keys on, limited to one connection so every write goes
// through a single writer, and brings trainyard's and River's tables up to date.
func Open(ctx context.Context, path string) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeoutMS))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_time_format", "sqlite")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	riverTables := func(ctx context.Context) error { return riverUp(ctx, riversqlite.New(db)) }
	if err := up(ctx, db, SQLite, riverTables); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func riverUp[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	migrator, err := rivermigrate.New(driver, nil)
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	return nil
}

// redact hides a password in a URL-like string for error messages.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
