package trainer

import (
	"context"
	"errors"
	"fmt"
	"io"
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

// DatasetDir returns the folder of the imported dataset id under the data dir.
func (t *Trainer) DatasetDir(ctx context.Context, id int64) (string, error) {
	d, err := experiments.NewDatasetStore(t.db).Dataset(ctx, id)
	if err != nil {
		return "", fmt.Errorf("dataset %d: %w", id, err)
	}
	return filepath.Join(t.cfg.DataDir, filepath.FromSlash(d.Path)), nil
}

// newDatasetPath returns a fresh folder for a dataset, relative to the data dir.
func newDatasetPath(name string) string {
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
	return fmt.Sprintf("datasets/%d-%s", time.Now().UnixNano(), clean)
}

// ImportZip checks the zip archive of size bytes (labels.csv and images) and
// stores it under the data dir as a new dataset; nothing half-imported
// remains on error. Problems with the archive are *captcha.DataError.
func (t *Trainer) ImportZip(ctx context.Context, name string, r io.ReaderAt, size int64) (experiments.Dataset, error) {
	rel := newDatasetPath(name)
	dest := filepath.Join(t.cfg.DataDir, filepath.FromSlash(rel))
	set, err := captcha.ExtractZip(r, size, MaxDatasetBytes, dest)
	if err != nil {
		return experiments.Dataset{}, err
	}
	d := experiments.Dataset{Name: name, Images: set.Len(), Path: rel}
	if err := experiments.NewDatasetStore(t.db).CreateDataset(ctx, &d); err != nil {
		os.RemoveAll(dest)
		return experiments.Dataset{}, err
	}
	return d, nil
}

// ResolveInRoots returns the real path of folder (absolute, or relative to a
// root) when it lies inside one of roots after following links, else
// ErrOutsideRoots.
func ResolveInRoots(folder string, roots []string) (string, error) {
	var candidates []string
	if filepath.IsAbs(folder) {
		candidates = []string{folder}
	} else {
		for _, r := range roots {
			candidates = append(candidates, filepath.Join(r, folder))
		}
	}
	for _, c := range candidates {
		real, err := filepath.EvalSymlinks(c)
		if err != nil {
			continue
		}
		real, _ = filepath.Abs(real)
		for _, r := range roots {
			root, err := filepath.EvalSymlinks(r)
			if err != nil {
				continue
			}
			root, _ = filepath.Abs(root)
			if rel, err := filepath.Rel(root, real); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return real, nil
			}
		}
	}
	return "", ErrOutsideRoots
}

// ImportFolder checks the labelled folder (which must resolve inside one of
// roots) and copies it under the data dir as a new dataset. A folder
// imported before is returned as stored, with created false.
func (t *Trainer) ImportFolder(ctx context.Context, name, folder string, roots []string) (d experiments.Dataset, created bool, err error) {
	src, err := ResolveInRoots(folder, roots)
	if err != nil {
		return d, false, err
	}
	store := experiments.NewDatasetStore(t.db)
	if d, err := store.DatasetBySource(ctx, src); err == nil {
		return d, false, nil
	}
	set, err := captcha.LoadDir(src)
	if err != nil {
		return d, false, err
	}
	if name == "" {
		name = filepath.Base(src)
	}
	rel := newDatasetPath(name)
	dest := filepath.Join(t.cfg.DataDir, filepath.FromSlash(rel))
	if err := copySet(src, set, dest); err != nil {
		return d, false, err
	}
	d = experiments.Dataset{Name: name, Images: set.Len(), Path: rel, Source: src}
	if err := store.CreateDataset(ctx, &d); err != nil {
		os.RemoveAll(dest)
		return d, false, err
	}
	return d, true, nil
}

// copySet copies labels.csv and the images set lists from src into the new
// folder dest through a temporary folder renamed at the end.
func copySet(src string, set *captcha.Set, dest string) error {
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dest), ".import-*")
	if err != nil {
		return err
	}
	var csv strings.Builder
	csv.WriteString("filename,label\n")
	for _, s := range set.Samples {
		data, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(s.File)))
		if err == nil {
			p := filepath.Join(tmp, filepath.FromSlash(s.File))
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				err = os.WriteFile(p, data, 0o644)
			}
		}
		if err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("copy %s: %w", s.File, err)
		}
		fmt.Fprintf(&csv, "%s,%s\n", s.File, s.Label)
	}
	if err := os.WriteFile(filepath.Join(tmp, captcha.LabelsFile), []byte(csv.String()), 0o644); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, dest); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return nil
}
