package main

import (
	"context"
	"flag"

	"github.com/trainyard/trainyard/accounts"
	"github.com/trainyard/trainyard/migrations"
)

// dbFlags are the flags of every command that opens trainyard's database:
// the data dir (the SQLite file, checkpoints, weights, imported datasets) and
// the PostgreSQL database that replaces the SQLite file when given.
type dbFlags struct {
	dataDir string
	db      string
}

// addDBFlags registers --data-dir and --db on fs, defaulting to
// TRAINYARD_DATA_DIR and TRAINYARD_DB.
func addDBFlags(fs *flag.FlagSet) *dbFlags {
	f := &dbFlags{}
	fs.StringVar(&f.dataDir, "data-dir", envOr("DATA_DIR", "data"), "directory of the SQLite file, checkpoints and weights (TRAINYARD_DATA_DIR)")
	fs.StringVar(&f.db, "db", envOr("DB", ""), "PostgreSQL database URL (postgres://user@host/dbname); empty: the SQLite file in the data dir (TRAINYARD_DB)")
	return f
}

// open opens the database the flags name and brings its tables up to date.
// Close it when done.
func (f *dbFlags) open(ctx context.Context) (*migrations.Database, error) {
	return migrations.OpenDatabase(ctx, f.dataDir, f.db)
}

// openAccounts opens the database the flags name and returns its accounts
// store and a function that closes it (the user and token commands).
func (f *dbFlags) openAccounts(ctx context.Context) (*accounts.Store, func() error, error) {
	db, err := f.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	return accounts.NewStore(db.Gorm), db.Close, nil
}
