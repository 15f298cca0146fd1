package trainer

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/trainyard/trainyard/artifacts"
	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/trainer/captcha"
)

// Imported datasets live in the artifact store as a zip of their checked
// files (labels.csv and the images it lists), so a process on any machine
// that reaches the database trains on them. Each process keeps copies it
// unpacked, checked again as hostile input, in a cache under its own data
// dir (cache/datasets/<sha256>), bounded by DatasetCacheBytes.

// MaxStoredDatasetBytes bounds the zip a dataset is stored as (a folder
// import may exceed MaxDatasetBytes, the bound of an uploaded zip).
const MaxStoredDatasetBytes = 1 << 30

// DatasetCacheBytes bounds what a process's dataset cache holds before it
// removes the copies used least recently (never one used in the last
// cacheKeep).
const DatasetCacheBytes = 2 << 30

// cacheKeep is how long a cached dataset stays after its last use, however
// full the cache.
const cacheKeep = 10 * time.Minute

// datasetCache is the folder of the process's dataset copies.
func (t *Trainer) datasetCache() string { return filepath.Join(t.cfg.DataDir, "cache", "datasets") }

// newCacheEntry returns a fresh path inside the dataset cache that does not
// exist yet, for a folder to be extracted into.
func (t *Trainer) newCacheEntry() (string, error) {
	if err := os.MkdirAll(t.datasetCache(), 0o755); err != nil {
		return "", err
	}
	return filepath.Join(t.datasetCache(), ".new-"+rand.Text()), nil
}

// countingWriter counts what goes through it and refuses more than max bytes.
type countingWriter struct {
	w   io.Writer
	n   int64
	max int64
}

var errTooBig = errors.New("too big")

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.n+int64(len(p)) > c.max {
		return 0, errTooBig
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// storeDataset stores the checked folder dir as the dataset d (a new row)
// and keeps dir as this process's cached copy.
func (t *Trainer) storeDataset(ctx context.Context, d experiments.Dataset, dir string) (experiments.Dataset, error) {
	f, err := captcha.OpenDir(dir)
	if err != nil {
		return d, dataError(err, "file")
	}
	defer f.Close()
	w, err := t.arts.Create(ctx, newDatasetName(d.Name))
	if err != nil {
		return d, err
	}
	if err := f.WriteZip(&countingWriter{w: w, max: MaxStoredDatasetBytes}); err != nil {
		w.Abort()
		if errors.Is(err, errTooBig) {
			return d, &DataError{Field: "file", Msg: fmt.Sprintf("the dataset's files hold more than the limit of %d bytes", MaxStoredDatasetBytes)}
		}
		return d, dataError(err, "file")
	}
	a, err := w.Commit(func(tx *gorm.DB, a artifacts.Artifact) error {
		d.Path, d.SHA256 = a.Name, &a.SHA256
		return experiments.NewDatasetStore(tx).CreateDataset(ctx, &d)
	})
	if err != nil {
		return experiments.Dataset{}, err
	}
	f.Close()
	t.keepInCache(dir, a.SHA256)
	return d, nil
}

// keepInCache makes the checked folder dir the cached copy of the dataset
// stored with sha256 (when there is none yet).
func (t *Trainer) keepInCache(dir, sha256 string) {
	t.datasetMu.Lock()
	defer t.datasetMu.Unlock()
	dest := filepath.Join(t.datasetCache(), sha256)
	if _, err := os.Lstat(dest); err == nil {
		return
	}
	if err := os.Rename(dir, dest); err != nil {
		t.cfg.Logger.Warn("keep dataset in the cache", "err", err)
	}
}

// cachedDataset returns the folder of this process's copy of the stored
// dataset d, unpacking it from the store first when there is none: the zip
// is copied to a temporary file, then checked and extracted as an upload is
// (sizes, entries, paths, no links, every image decoded), so what another
// process stored is not trusted.
func (t *Trainer) cachedDataset(ctx context.Context, d experiments.Dataset) (string, error) {
	t.datasetMu.Lock()
	defer t.datasetMu.Unlock()
	dir := filepath.Join(t.datasetCache(), *d.SHA256)
	if st, err := os.Lstat(dir); err == nil && st.IsDir() {
		now := time.Now()
		os.Chtimes(dir, now, now)
		return dir, nil
	}
	rd, err := t.arts.Open(ctx, d.Path)
	if err != nil {
		return "", fmt.Errorf("dataset %d: %w", d.ID, err)
	}
	defer rd.Close()
	a := rd.Artifact()
	if a.SHA256 != *d.SHA256 {
		return "", fmt.Errorf("dataset %d: its stored zip has sha256 %s, not %s", d.ID, a.SHA256, *d.SHA256)
	}
	if a.Size > MaxStoredDatasetBytes {
		return "", &DataError{Field: "file", Msg: fmt.Sprintf("dataset %d is %d bytes, over the limit of %d", d.ID, a.Size, MaxStoredDatasetBytes)}
	}
	if err := os.MkdirAll(t.datasetCache(), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(t.datasetCache(), ".zip-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := io.Copy(tmp, rd); err != nil {
		return "", fmt.Errorf("dataset %d: %w", d.ID, err)
	}
	if _, err := captcha.ExtractZip(tmp, a.Size, MaxStoredDatasetBytes, dir); err != nil {
		if _, serr := os.Lstat(dir); serr == nil {
			return dir, nil // another process sharing this data dir unpacked it meanwhile
		}
		return "", dataError(err, "file")
	}
	t.evictDatasets(dir)
	return dir, nil
}

// evictDatasets removes cached copies, least recently used first, while
// the cache holds more than DatasetCacheBytes, sparing keep and every copy
// used in the last cacheKeep. Called with datasetMu held.
func (t *Trainer) evictDatasets(keep string) {
	entries, err := os.ReadDir(t.datasetCache())
	if err != nil {
		return
	}
	type entry struct {
		path string
		used time.Time
		size int64
	}
	var all []entry
	var total int64
	for _, e := range entries {
		p := filepath.Join(t.datasetCache(), e.Name())
		info, err := e.Info()
		if err != nil || !e.IsDir() || e.Name()[0] == '.' {
			continue
		}
		size := dirSize(p)
		total += size
		all = append(all, entry{p, info.ModTime(), size})
	}
	slices.SortFunc(all, func(a, b entry) int { return a.used.Compare(b.used) })
	for _, e := range all {
		if total <= DatasetCacheBytes {
			return
		}
		if e.path == keep || time.Since(e.used) < cacheKeep {
			continue
		}
		if err := os.RemoveAll(e.path); err == nil {
			total -= e.size
		}
	}
}

// dirSize sums the sizes of the regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// importLegacyDatasets stores each dataset an older version kept as a
// folder under the data dir, checked again, and moves the folder into the
// cache. A folder that is missing or no longer valid is logged and left.
func (t *Trainer) importLegacyDatasets(ctx context.Context) error {
	ds, err := experiments.NewDatasetStore(t.db).FolderDatasets(ctx)
	if err != nil {
		return err
	}
	for _, d := range ds {
		if err := t.importDatasetFolder(ctx, d); err != nil {
			t.cfg.Logger.Warn("move dataset folder into the database", "dataset", d.ID, "err", err)
		}
	}
	return nil
}

func (t *Trainer) importDatasetFolder(ctx context.Context, d experiments.Dataset) error {
	if !filepath.IsLocal(filepath.FromSlash(d.Path)) {
		return fmt.Errorf("dataset path %q is not inside the data dir", d.Path)
	}
	src := filepath.Join(t.cfg.DataDir, filepath.FromSlash(d.Path))
	f, err := captcha.OpenDir(src)
	if err != nil {
		return err
	}
	defer f.Close()
	tmp, err := t.newCacheEntry()
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := f.Extract(tmp); err != nil { // checked again, written fresh
		return err
	}
	g, err := captcha.OpenDir(tmp)
	if err != nil {
		return err
	}
	defer g.Close()
	w, err := t.arts.Create(ctx, newDatasetName(d.Name))
	if err != nil {
		return err
	}
	if err := g.WriteZip(&countingWriter{w: w, max: MaxStoredDatasetBytes}); err != nil {
		w.Abort()
		return err
	}
	a, err := w.Commit(func(tx *gorm.DB, a artifacts.Artifact) error {
		return experiments.NewDatasetStore(tx).SetStored(ctx, d.ID, a.Name, a.SHA256)
	})
	if err != nil {
		return err
	}
	g.Close()
	t.keepInCache(tmp, a.SHA256)
	f.Close()
	return os.RemoveAll(src)
}
