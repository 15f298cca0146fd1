package trainer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/trainer/captcha"
)

// MaxDatasetBytes bounds an uploaded zip and its uncompressed contents.
const MaxDatasetBytes = 200 << 20

// ErrOutsideRoots is returned for a folder import outside every data root.
var ErrOutsideRoots = errors.New("the folder is not inside a data root the server was started with (--datasets)")

// DatasetDir returns a local folder holding the imported dataset id: this
// process's cached copy of it (see cachedDataset), or, for a dataset an
// older version kept as a folder under the data dir, that folder.
func (t *Trainer) DatasetDir(ctx context.Context, id int64) (string, error) {
	d, err := experiments.NewDatasetStore(t.db).Dataset(ctx, id)
	if err != nil {
		return "", fmt.Errorf("dataset %d: %w", id, err)
	}
	if d.SHA256 == nil {
		return filepath.Join(t.cfg.DataDir, filepath.FromSlash(d.Path)), nil
	}
	return t.cachedDataset(ctx, d)
}

// newDatasetName returns a fresh artifact name for a dataset.
func newDatasetName(name string) string {
	clean := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '-'
	}, name)
	if len(clean) > 40 {
		clean = clean[:40]
	}
	return fmt.Sprintf("datasets/%d-%s.zip", time.Now().UnixNano(), clean)
}

// ImportZip checks the zip archive of size bytes (labels.csv and images) and
// stores it in the database as a new dataset; nothing half-imported remains
// on error. Problems with the archive are a *DataError.
func (t *Trainer) ImportZip(ctx context.Context, name string, r io.ReaderAt, size int64) (experiments.Dataset, error) {
	tmp, err := t.newCacheEntry()
	if err != nil {
		return experiments.Dataset{}, err
	}
	defer os.RemoveAll(tmp)
	entries, err := captcha.ExtractZip(r, size, MaxDatasetBytes, tmp)
	if err != nil {
		return experiments.Dataset{}, dataError(err, "file")
	}
	return t.storeDataset(ctx, experiments.Dataset{Name: name, Images: len(entries)}, tmp)
}

// ErrFolderLink is returned for a folder import whose path goes through a
// symbolic link below its data root.
var ErrFolderLink = errors.New("is a symbolic link: folders are imported only from real folders inside a data root")

// openInRoots opens folder (absolute, or relative to a root) through an
// os.Root on the data root that holds it, checking each step below the root
// with Lstat: a symbolic link is refused (ErrFolderLink), not followed. It
// returns the folder's root and its absolute path, or ErrOutsideRoots when
// no root holds such a folder.
func openInRoots(folder string, roots []string) (*os.Root, string, error) {
	for _, r := range roots {
		absRoot, err := filepath.Abs(r)
		if err != nil {
			continue
		}
		rel := filepath.Clean(folder)
		if filepath.IsAbs(folder) {
			if rel, err = filepath.Rel(absRoot, rel); err != nil {
				continue
			}
		}
		if rel != "." && !filepath.IsLocal(rel) {
			continue
		}
		root, err := os.OpenRoot(absRoot)
		if err != nil {
			continue
		}
		sub, err := openBelow(root, filepath.ToSlash(rel))
		root.Close()
		if errors.Is(err, ErrFolderLink) {
			return nil, "", err
		}
		if err != nil {
			continue
		}
		return sub, filepath.Join(absRoot, rel), nil
	}
	return nil, "", ErrOutsideRoots
}

// openBelow opens the folder rel ("/" separated) of root, refusing a
// symbolic link at any step.
func openBelow(root *os.Root, rel string) (*os.Root, error) {
	last, err := root.Lstat(".")
	if err != nil {
		return nil, err
	}
	if rel != "." {
		parts := strings.Split(rel, "/")
		for i := range parts {
			step := strings.Join(parts[:i+1], "/")
			if last, err = root.Lstat(step); err != nil {
				return nil, err
			}
			if last.Mode()&fs.ModeSymlink != 0 {
				return nil, fmt.Errorf("%s %w", captcha.Quote(step), ErrFolderLink)
			}
			if !last.IsDir() {
				return nil, fmt.Errorf("%s is not a folder", captcha.Quote(step))
			}
		}
	}
	sub, err := root.OpenRoot(rel)
	if err != nil {
		return nil, err
	}
	if st, err := sub.Stat("."); err != nil || !os.SameFile(st, last) {
		sub.Close()
		return nil, fmt.Errorf("%s changed while it was opened", captcha.Quote(rel))
	}
	return sub, nil
}

// ImportFolder checks the labelled folder (which must lie inside one of
// roots, reached without symbolic links) and stores it in the database as a
// new dataset. Only regular files are read, through an os.Root (see
// captcha.RegularFS); anything else is a *captcha.DataError naming the file.
// A folder imported before is returned as stored, with created false.
func (t *Trainer) ImportFolder(ctx context.Context, name, folder string, roots []string) (d experiments.Dataset, created bool, err error) {
	root, src, err := openInRoots(folder, roots)
	if err != nil {
		return d, false, err
	}
	defer root.Close()
	if d, err := experiments.NewDatasetStore(t.db).DatasetBySource(ctx, src); err == nil {
		return d, false, nil
	}
	f, err := captcha.OpenRoot(root)
	if err != nil {
		return d, false, dataError(err, "file")
	}
	if name == "" {
		name = filepath.Base(src)
	}
	tmp, err := t.newCacheEntry()
	if err != nil {
		return d, false, err
	}
	defer os.RemoveAll(tmp)
	if err := f.Extract(tmp); err != nil {
		return d, false, dataError(err, "file")
	}
	d, err = t.storeDataset(ctx, experiments.Dataset{Name: name, Images: f.Len(), Source: src}, tmp)
	return d, err == nil, err
}
