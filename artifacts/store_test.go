package artifacts

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/migrations/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// eachDB runs test once on each database, as parallel subtests.
func eachDB(t *testing.T, test func(t *testing.T, s *Store, db *gorm.DB)) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d migrations.Dialect) {
		t.Parallel()
		db := dbtest.Open(t, d).Gorm
		test(t, NewStore(db), db)
	})
}

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed)}).Read(b)
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestPutOpenRoundTrip(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store, _ *gorm.DB) {
		ctx := context.Background()
		for i, size := range []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 2*ChunkSize + ChunkSize/2} {
			data := randomBytes(size, uint64(i))
			name := "weights/run-" + string(rune('a'+i)) + ".safetensors"
			a, err := s.Put(ctx, name, bytes.NewReader(data))
			if err != nil {
				t.Fatalf("put %d bytes: %v", size, err)
			}
			if a.Size != int64(size) || a.SHA256 != sha(data) || a.Name != name {
				t.Fatalf("put %d bytes: %+v", size, a)
			}
			r, err := s.Open(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes of %d: %v", len(got), size, err)
			}
			if size > 10 { // a seek into the middle, across a chunk boundary when there is one
				off := int64(size) - int64(size)/3
				if _, err := r.Seek(off, io.SeekStart); err != nil {
					t.Fatal(err)
				}
				tail, err := io.ReadAll(r)
				if err != nil || !bytes.Equal(tail, data[off:]) {
					t.Fatalf("read from %d: %d bytes, %v", off, len(tail), err)
				}
			}
			r.Close()
		}
		list, err := s.List(ctx, "weights/run-b")
		if err != nil || len(list) != 1 || list[0].Size != 1 {
			t.Fatalf("list by prefix: %+v, %v", list, err)
		}
		if all, _ := s.List(ctx, ""); len(all) != 6 {
			t.Fatalf("list all: %d artifacts, want 6", len(all))
		}
		if err := s.Delete(ctx, "weights/run-b.safetensors"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(ctx, "weights/run-b.safetensors"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("open deleted: %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, "weights/run-b.safetensors"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("delete twice: %v, want ErrNotFound", err)
		}
		for _, bad := range []string{"", strings.Repeat("x", MaxNameLen+1), "a\x00b", "line\nbreak"} {
			if _, err := s.Put(ctx, bad, strings.NewReader("x")); err == nil {
				t.Errorf("name %q accepted", bad)
			}
		}
	})
}

// TestCommitReplacesOnlyWhenComplete: what a writer has not committed is never
// seen; an abort or a failed check leaves the stored artifact and no rows
// behind; a reader of a replaced artifact gets ErrChanged, not a mix.
func TestCommitReplacesOnlyWhenComplete(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store, db *gorm.DB) {
		ctx := context.Background()
		v1 := randomBytes(3*ChunkSize, 1)
		if _, err := s.Put(ctx, "ckpt", bytes.NewReader(v1)); err != nil {
			t.Fatal(err)
		}
		old, err := s.Open(ctx, "ckpt")
		if err != nil {
			t.Fatal(err)
		}
		first := make([]byte, 10)
		if _, err := io.ReadFull(old, first); err != nil {
			t.Fatal(err)
		}

		w, err := s.Create(ctx, "ckpt")
		if err != nil {
			t.Fatal(err)
		}
		w.Write(randomBytes(2*ChunkSize+5, 2))
		if a, _ := s.Stat(ctx, "ckpt"); a.SHA256 != sha(v1) {
			t.Fatalf("an uncommitted writer is visible: %+v", a)
		}
		if err := w.Abort(); err != nil {
			t.Fatal(err)
		}

		w, _ = s.Create(ctx, "ckpt")
		w.Write(randomBytes(ChunkSize+5, 3))
		lost := errors.New("lease lost")
		if _, err := w.Commit(func(*gorm.DB, Artifact) error { return lost }); !errors.Is(err, lost) {
			t.Fatalf("commit with a failing check: %v", err)
		}
		var rows, chunks int64
		db.Table("artifacts").Count(&rows)
		db.Table("artifact_chunks").Count(&chunks)
		if rows != 1 || chunks != 3 {
			t.Fatalf("after an abort and a refused commit: %d artifacts, %d chunks; want only v1's 1 and 3", rows, chunks)
		}

		v4 := randomBytes(ChunkSize/2, 4)
		w, _ = s.Create(ctx, "ckpt")
		w.Write(v4)
		var seen Artifact
		a, err := w.Commit(func(tx *gorm.DB, a Artifact) error {
			seen = a
			return tx.Exec("UPDATE experiments SET name = ? WHERE id = -1", a.SHA256).Error // a write in the same transaction
		})
		if err != nil || a.SHA256 != sha(v4) || seen.SHA256 != a.SHA256 || seen.Size != int64(len(v4)) || seen.ID != a.ID {
			t.Fatalf("commit: %+v (check saw %+v), %v", a, seen, err)
		}
		r, _ := s.Open(ctx, "ckpt")
		if got, _ := io.ReadAll(r); !bytes.Equal(got, v4) {
			t.Fatal("the new version does not read back")
		}
		if _, err := old.Seek(2*ChunkSize, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(old); !errors.Is(err, ErrChanged) {
			t.Fatalf("reading a replaced artifact: %v, want ErrChanged", err)
		}
	})
}

func TestServe(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store, _ *gorm.DB) {
		ctx := context.Background()
		data := randomBytes(ChunkSize+1234, 5)
		if _, err := s.Put(ctx, "weights/run-1.safetensors", bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			r, err := s.Open(req.Context(), "weights/run-1.safetensors")
			if err != nil {
				http.Error(w, err.Error(), http.StatusNotFound)
				return
			}
			defer r.Close()
			Serve(w, req, r, "run-1.safetensors")
		}))
		defer srv.Close()
		res, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		etag := res.Header.Get("ETag")
		if res.StatusCode != 200 || res.ContentLength != int64(len(data)) || !bytes.Equal(body, data) ||
			etag != `"`+sha(data)+`"` || !strings.HasPrefix(res.Header.Get("Digest"), "sha-256=") ||
			!strings.Contains(res.Header.Get("Content-Disposition"), "run-1.safetensors") {
			t.Fatalf("GET: %d, length %d, etag %s, headers %v", res.StatusCode, res.ContentLength, etag, res.Header)
		}
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Range", "bytes=1048570-1048589")
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		part, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusPartialContent || !bytes.Equal(part, data[1048570:1048590]) {
			t.Fatalf("range across the chunk boundary: %d, %d bytes", res.StatusCode, len(part))
		}
		req, _ = http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("If-None-Match", etag)
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotModified {
			t.Fatalf("If-None-Match with the sha256: %d, want 304", res.StatusCode)
		}
	})
}

// TestZipThroughTheStore writes a zip (as a dataset import would) straight
// into a Writer and reads its files back through the Reader's ReadAt.
func TestZipThroughTheStore(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store, _ *gorm.DB) {
		ctx := context.Background()
		w, err := s.Create(ctx, "datasets/1.zip")
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(w)
		files := map[string][]byte{"labels.csv": []byte("a.png,R5NY\n"), "a.png": randomBytes(ChunkSize+77, 9), "b.png": randomBytes(300, 10)}
		for name, data := range files {
			f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
			if err != nil {
				t.Fatal(err)
			}
			f.Write(data)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		a, err := w.Commit(nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.Open(ctx, "datasets/1.zip")
		if err != nil {
			t.Fatal(err)
		}
		zr, err := zip.NewReader(r, a.Size)
		if err != nil {
			t.Fatal(err)
		}
		if len(zr.File) != len(files) {
			t.Fatalf("%d files in the zip, want %d", len(zr.File), len(files))
		}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, files[f.Name]) {
				t.Fatalf("%s: %d bytes, %v", f.Name, len(got), err)
			}
		}
	})
}
