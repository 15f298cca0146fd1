package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trainyard/trainyard/artifacts"
	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/migrations/dbtest"
	"github.com/trainyard/trainyard/runs"
)

// datasetSpec is tinyCaptcha on the imported dataset id.
func datasetSpec(id int64) string {
	return strings.Replace(tinyCaptcha, `{"kind": "synthetic", "images": 300, "seed": 4}`, fmt.Sprintf(`{"kind": "dataset", "dataset_id": %d}`, id), 1)
}

// TestDatasetTrainedElsewhere imports a dataset through one server (no
// workers) and trains a run on it in another process with its own data dir
// on the same PostgreSQL database, as a worker on another machine would: the
// worker unpacks the dataset from the database into its own cache, and the
// first server never trains.
func TestDatasetTrainedElsewhere(t *testing.T) {
	t.Parallel()
	u := dbtest.URL(t, migrations.Postgres)
	a := setupCfg(t, Config{Workers: 0, DB: u})
	code, b := a.upload(t, "/api/datasets", "file", "vi.zip", zipDir(t, fixtureDir, nil), map[string]string{"name": "vi"})
	if code != http.StatusCreated {
		t.Fatalf("upload: %d %s", code, b)
	}
	d := decode[experiments.Dataset](t, b)
	w := setupCfg(t, Config{Workers: 1, DB: u})
	if w.srv.cfg.DataDir == a.srv.cfg.DataDir {
		t.Fatal("the two processes share a data dir")
	}
	_, ids := a.create(t, datasetSpec(d.ID))
	r := a.waitFor(t, ids[0], 3*time.Minute, func(r runs.Run) bool { return r.Status.Done() })
	if r.Status != runs.StatusSucceeded || r.Test == nil || r.Test.Images == 0 {
		t.Fatalf("run %s: %s, test %+v", r.Status, r.Error, r.Test)
	}
	if _, err := os.Stat(filepath.Join(w.srv.cfg.DataDir, "cache", "datasets", *d.SHA256, "labels.csv")); err != nil {
		t.Fatalf("the worker's copy of the dataset: %v", err)
	}
	// The server that imported it evaluates the weights on it.
	code, b, _ = a.do(t, "POST", fmt.Sprintf("/api/runs/%d/evaluate", r.ID), fmt.Sprintf(`{"dataset_id": %d}`, d.ID))
	if code != http.StatusOK {
		t.Fatalf("evaluate: %d %s", code, b)
	}
}

// TestDatasetFolderOfOlderVersion: a dataset an older version kept as a
// folder under the data dir is moved into the database at start (checked
// again); its folder goes and it still previews and trains.
func TestDatasetFolderOfOlderVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := setupCfg(t, Config{DataDir: dir, Workers: 0})
	if err := a.srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	rel := "datasets/123-vi"
	if err := os.CopyFS(filepath.Join(dir, rel), os.DirFS(fixtureDir)); err != nil {
		t.Fatal(err)
	}
	db, err := migrations.OpenDatabase(context.Background(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	old := experiments.Dataset{Name: "vi", Images: 100, Path: rel}
	if err := experiments.NewDatasetStore(db.Gorm).CreateDataset(context.Background(), &old); err != nil {
		t.Fatal(err)
	}
	db.Close()

	b := setupCfg(t, Config{DataDir: dir, Workers: 1})
	_, body, _ := b.do(t, "GET", "/api/datasets", "")
	list := decode[[]experiments.Dataset](t, body)
	if len(list) != 1 || list[0].SHA256 == nil || !strings.HasSuffix(list[0].Path, ".zip") {
		t.Fatalf("datasets after start: %s", body)
	}
	if _, err := os.Stat(filepath.Join(dir, rel)); !os.IsNotExist(err) {
		t.Errorf("the old folder is still there: %v", err)
	}
	if code, body, _ := b.do(t, "GET", fmt.Sprintf("/api/preview?source=dataset&dataset_id=%d&mode=dn&n=2", old.ID), ""); code != http.StatusOK {
		t.Fatalf("preview: %d %s", code, body)
	}
	_, ids := b.create(t, datasetSpec(old.ID))
	if r := b.waitFor(t, ids[0], 3*time.Minute, func(r runs.Run) bool { return r.Status.Done() }); r.Status != runs.StatusSucceeded {
		t.Fatalf("run %s: %s", r.Status, r.Error)
	}
}

// TestStoredDatasetCheckedAgain: a process unpacking a dataset from the
// database checks it as it checks an upload, so a zip written there by
// anything else (here a bad label) is refused with the file and line.
func TestStoredDatasetCheckedAgain(t *testing.T) {
	t.Parallel()
	a := setupCfg(t, Config{Workers: 0})
	ctx := context.Background()
	csv, _ := os.ReadFile(filepath.Join(fixtureDir, "labels.csv"))
	bad := zipDir(t, fixtureDir, map[string]string{"labels.csv": strings.Replace(string(csv), "100002.png,R5NY", "100002.png,R5N1", 1)})
	art, err := artifacts.NewStore(a.srv.db.Gorm).Put(ctx, "datasets/planted.zip", bytes.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	d := experiments.Dataset{Name: "planted", Images: 100, Path: art.Name, SHA256: &art.SHA256}
	if err := experiments.NewDatasetStore(a.srv.db.Gorm).CreateDataset(ctx, &d); err != nil {
		t.Fatal(err)
	}
	code, b, _ := a.do(t, "GET", fmt.Sprintf("/api/preview?source=dataset&dataset_id=%d&mode=dn&n=2", d.ID), "")
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(b), "labels.csv:4") {
		t.Fatalf("preview of a planted dataset: %d %s", code, b)
	}
	if entries, _ := os.ReadDir(filepath.Join(a.srv.cfg.DataDir, "cache", "datasets")); len(entries) != 0 {
		t.Fatalf("the cache kept %d entries of a refused dataset", len(entries))
	}
}

func TestDatasetDelete(t *testing.T) { eachDB(t, testDatasetDelete) }

// testDatasetDelete: a dataset a queued run trains on cannot be deleted
// (409); once the run is cancelled, DELETE removes its row, its stored zip
// and the process's copy, and a second DELETE answers 404.
func testDatasetDelete(t *testing.T, d migrations.Dialect) {
	a := setupOn(t, d, 0)
	code, b := a.upload(t, "/api/datasets", "file", "vi.zip", zipDir(t, fixtureDir, nil), map[string]string{"name": "vi"})
	if code != http.StatusCreated {
		t.Fatalf("upload: %d %s", code, b)
	}
	ds := decode[experiments.Dataset](t, b)
	_, ids := a.create(t, datasetSpec(ds.ID))
	path := fmt.Sprintf("/api/datasets/%d", ds.ID)
	if code, b, _ := a.do(t, "DELETE", path, ""); code != http.StatusConflict || !strings.Contains(string(b), "cancel it first") {
		t.Fatalf("delete of a dataset a queued run uses: %d %s", code, b)
	}
	a.do(t, "POST", fmt.Sprintf("/api/runs/%d/cancel", ids[0]), "")
	if code, b, _ := a.do(t, "DELETE", path, ""); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, b)
	}
	if got := a.artifactsLike(t, "datasets/%"); len(got) > 0 {
		t.Errorf("artifacts left: %q", got)
	}
	if _, err := os.Stat(filepath.Join(a.srv.cfg.DataDir, "cache", "datasets", *ds.SHA256)); !os.IsNotExist(err) {
		t.Errorf("cached copy left: %v", err)
	}
	if _, b, _ := a.do(t, "GET", "/api/datasets", ""); len(decode[[]experiments.Dataset](t, b)) != 0 {
		t.Errorf("datasets after delete: %s", b)
	}
	if code, _, _ := a.do(t, "DELETE", path, ""); code != http.StatusNotFound {
		t.Errorf("second delete: %d", code)
	}
}
