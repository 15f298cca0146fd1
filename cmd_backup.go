package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/trainyard/trainyard/migrations"
)

const backupHelp = `Usage: trainyard backup --out FILE [--data-dir ./data]

Writes a consistent copy of trainyard's SQLite database (which holds the runs'
weights and checkpoints and the imported datasets) together with the data dir's
other files into one tar file (gzipped
when FILE ends in .gz or .tgz). It may run while trainyard serve runs and
trains. To restore, stop trainyard, extract the file into an empty data dir
(tar -xf FILE -C DIR) and start trainyard serve --data-dir DIR.

With --db postgres://... it refuses: back up the database with pg_dump, which
holds everything (weights, checkpoints and datasets live in the database).`

func cmdBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup", stderr, backupHelp)
	db := addDBFlags(fs)
	out := fs.String("out", "", "the backup file to write (.tar, or .tar.gz / .tgz)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("backup: --out FILE is required")
	}
	if db.db != "" {
		return errors.New("backup: the database is PostgreSQL (--db); back it up with pg_dump (pg_dump -Fc -f trainyard.dump DBNAME; restore with pg_restore -d DBNAME trainyard.dump): it holds everything, weights, checkpoints and datasets included")
	}
	n, size, err := backup(ctx, db.dataDir, *out)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s: the database and %d files, %s\n", *out, n, bytesHuman(size))
	return nil
}

// backup writes the SQLite snapshot and the data dir's files to out, through
// a temporary file renamed into place once complete. It returns the number
// of files besides the database and the bytes written.
func backup(ctx context.Context, dataDir, out string) (files int, size int64, err error) {
	absOut, err := filepath.Abs(out)
	if err != nil {
		return 0, 0, err
	}
	f, err := os.CreateTemp(filepath.Dir(absOut), ".backup-*")
	if err != nil {
		return 0, 0, err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// The database first: files written after its snapshot only add what
	// the copy does not refer to yet.
	snap := tmp + ".db"
	if err := migrations.SnapshotSQLite(ctx, filepath.Join(dataDir, migrations.SQLiteFile), snap); err != nil {
		return 0, 0, err
	}
	defer os.Remove(snap)

	var w io.Writer = f
	var gz *gzip.Writer
	if strings.HasSuffix(out, ".gz") || strings.HasSuffix(out, ".tgz") {
		gz = gzip.NewWriter(f)
		w = gz
	}
	tw := tar.NewWriter(w)
	if err := addFile(tw, snap, migrations.SQLiteFile); err != nil {
		return 0, 0, err
	}
	root, err := filepath.Abs(dataDir)
	if err != nil {
		return 0, 0, err
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walk (a finished run's checkpoints)
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		name := d.Name()
		switch {
		case path == root:
			return nil
		case strings.HasPrefix(name, "."): // files and folders being written (".tmp-*", ".import-*")
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		case rel == "cache" && d.IsDir(): // copies of what the database holds (datasets)
			return filepath.SkipDir
		case rel == migrations.SQLiteFile || strings.HasPrefix(rel, migrations.SQLiteFile+"-"): // the live database, its WAL and journal
			return nil
		case path == absOut || strings.HasPrefix(path, tmp):
			return nil
		case d.IsDir():
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: filepath.ToSlash(rel) + "/", Mode: 0o755})
		case !d.Type().IsRegular():
			return nil // links and the like are never stored by trainyard
		}
		err = addFile(tw, path, filepath.ToSlash(rel))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err == nil {
			files++
		}
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	if err := tw.Close(); err != nil {
		return 0, 0, err
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return 0, 0, err
		}
	}
	if err := f.Sync(); err != nil {
		return 0, 0, err
	}
	if size, err = f.Seek(0, io.SeekCurrent); err != nil {
		return 0, 0, err
	}
	if err := f.Close(); err != nil {
		return 0, 0, err
	}
	return files, size, os.Rename(tmp, absOut)
}

// addFile streams the file at path into tw as name. A file that grows while
// it is read is cut at the size it had when opened.
func addFile(tw *tar.Writer, path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: st.Size(), ModTime: st.ModTime()}); err != nil {
		return err
	}
	if _, err := io.CopyN(tw, f, st.Size()); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// bytesHuman formats a byte count for people.
func bytesHuman(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
