package server

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/migrations/dbtest"
)

func TestDatasetImportZip(t *testing.T) { eachDB(t, testDatasetImportZip) }

func testDatasetImportZip(t *testing.T, dialect migrations.Dialect) {
	a := setupCfg(t, Config{DB: dbtest.URL(t, dialect)})
	good := zipDir(t, fixtureDir, nil)
	code, b := a.upload(t, "/api/datasets", "file", "vi.zip", good, map[string]string{"name": "vi000246"})
	if code != http.StatusCreated {
		t.Fatalf("upload: %d %s", code, b)
	}
	d := decode[experiments.Dataset](t, b)
	if d.ID == 0 || d.Images != 100 || d.Name != "vi000246" {
		t.Fatalf("dataset %+v", d)
	}
	// Stored in the database, the checked copy kept as the process's cache.
	if d.SHA256 == nil || !strings.HasPrefix(d.Path, "datasets/") {
		t.Fatalf("dataset stored as %q, sha256 %v", d.Path, d.SHA256)
	}
	if got := a.artifactsLike(t, "datasets/%"); len(got) != 1 || got[0] != d.Path {
		t.Fatalf("dataset artifacts %q, want %q", got, d.Path)
	}
	if _, err := os.Stat(filepath.Join(a.srv.cfg.DataDir, "cache", "datasets", *d.SHA256, "labels.csv")); err != nil {
		t.Fatal(err)
	}
	_, b, _ = a.do(t, "GET", "/api/datasets", "")
	if list := decode[[]experiments.Dataset](t, b); len(list) != 1 || list[0].ID != d.ID {
		t.Fatalf("list %s", b)
	}

	csv, _ := os.ReadFile(filepath.Join(fixtureDir, "labels.csv"))
	badLabel := strings.Replace(string(csv), "100002.png,R5NY", "100002.png,R5N1", 1)
	cases := []struct {
		name, field string
		data        []byte
		code        int
		want        string
	}{
		{"bad label", "file", zipDir(t, fixtureDir, map[string]string{"labels.csv": badLabel}), 422, "labels.csv:4"},
		{"not a zip", "file", []byte("hello, not a zip"), 422, "zip"},
		{"missing file", "", nil, 422, "choose a zip file"},
	}
	for _, c := range cases {
		code, b := a.upload(t, "/api/datasets", c.field, "x.zip", c.data, map[string]string{"name": c.name})
		if code != c.code || !strings.Contains(string(b), c.want) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, code, b, c.code, c.want)
		}
	}
	// Nothing half-imported remains.
	if got := a.artifactsLike(t, "datasets/%"); len(got) != 1 {
		t.Fatalf("dataset artifacts %q, want one", got)
	}
	entries, _ := os.ReadDir(filepath.Join(a.srv.cfg.DataDir, "cache", "datasets"))
	if len(entries) != 1 {
		t.Fatalf("the dataset cache holds %d entries, want 1", len(entries))
	}
	if code, b, _ := a.do(t, "GET", "/datasets", ""); code != 200 || !strings.Contains(string(b), "vi000246") {
		t.Fatalf("page: %d", code)
	}
}

func TestDatasetImportFolder(t *testing.T) { eachDB(t, testDatasetImportFolder) }

func testDatasetImportFolder(t *testing.T, dialect migrations.Dialect) {
	root := t.TempDir()
	if err := os.CopyFS(filepath.Join(root, "vi"), os.DirFS(fixtureDir)); err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	os.CopyFS(filepath.Join(outside, "vi"), os.DirFS(fixtureDir))
	os.Symlink(filepath.Join(outside, "vi"), filepath.Join(root, "escape"))
	a := setupCfg(t, Config{DatasetRoots: []string{root}, DB: dbtest.URL(t, dialect)})

	code, b, _ := a.do(t, "POST", "/api/datasets", `{"name": "real", "path": "vi"}`)
	if code != http.StatusCreated {
		t.Fatalf("import: %d %s", code, b)
	}
	d := decode[experiments.Dataset](t, b)
	if d.Source != "vi" {
		t.Errorf("source %q, want the folder relative to its root, \"vi\"", d.Source)
	}
	code, b, _ = a.do(t, "POST", "/api/datasets", `{"path": "`+filepath.Join(root, "vi")+`"}`)
	if again := decode[experiments.Dataset](t, b); code != http.StatusOK || again.ID != d.ID {
		t.Fatalf("second import: %d %s, want the stored dataset %d", code, b, d.ID)
	}
	if _, b, _ := a.do(t, "GET", "/api/datasets", ""); strings.Contains(string(b), root) {
		t.Errorf("the dataset list shows a server path: %s", b)
	}
	for _, p := range []string{filepath.Join(outside, "vi"), "../" + filepath.Base(outside) + "/vi", "escape", "escape/", "/etc"} {
		code, b, _ := a.do(t, "POST", "/api/datasets", `{"path": "`+p+`"}`)
		if code != http.StatusUnprocessableEntity || !strings.Contains(string(b), "inside a data root") || strings.Contains(string(b), root) || strings.Contains(string(b), outside) {
			t.Errorf("%s: %d %s, want 422 naming no server path", p, code, b)
		}
	}
}
