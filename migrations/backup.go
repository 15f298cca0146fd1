package migrations

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
)

// SnapshotSQLite writes a consistent copy of the SQLite database at path to
// dest (which must not exist) with VACUUM INTO: one read transaction, so a
// server writing to the database meanwhile goes on and the copy holds
// everything committed before it began. It neither creates nor migrates the
// database at path.
func SnapshotSQLite(ctx context.Context, path, dest string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no database to copy: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeoutMS))
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("open database %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		return fmt.Errorf("%s is not a trainyard database: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dest); err != nil {
		os.Remove(dest)
		return fmt.Errorf("copy database %s: %w", path, err)
	}
	return nil
}
