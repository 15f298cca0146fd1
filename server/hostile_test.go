package server

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/trainer"
	"github.com/trainyard/trainyard/trainer/captcha"
)

// The tests in this file send the hostile inputs of a security review and
// check the answer, that the process lives, and what it cost in memory.
// Those that measure memory do not run in parallel: nothing else runs in the
// process while they measure.

// procStatus returns a "kB" field of /proc/self/status in bytes, or -1.
func procStatus(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}

// memGrowth runs fn and returns how far the process's resident memory rose
// above where it stood before, at its peak: the kernel's peak (VmHWM, reset
// through clear_refs) where that works, else RSS and the Go heap sampled
// every millisecond.
func memGrowth(t *testing.T, fn func()) int64 {
	t.Helper()
	if procStatus("VmRSS") < 0 {
		t.Skip("no /proc/self/status on this system")
	}
	runtime.GC()
	debug.FreeOSMemory()
	before := procStatus("VmRSS")
	hwm := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	var peak atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		for {
			rss := procStatus("VmRSS")
			runtime.ReadMemStats(&ms)
			peak.Store(max(peak.Load(), rss, int64(ms.HeapAlloc)))
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	})
	fn()
	close(done)
	wg.Wait()
	top := peak.Load()
	if hwm {
		top = max(top, procStatus("VmHWM"))
	}
	return top - before
}

// blankPNG encodes a w x h grey image of one colour: a few hundred bytes
// that decode to w*h pixels.
func blankPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipEntries zips name -> data pairs, in order, deflated.
func zipEntries(t *testing.T, entries ...any) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i < len(entries); i += 2 {
		w, err := zw.Create(entries[i].(string))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(entries[i+1].([]byte)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// imageZip is a data set of n copies of img under names 00001.png ...
func imageZip(t *testing.T, n int, img []byte) []byte {
	t.Helper()
	var csv strings.Builder
	csv.WriteString("filename,label\n")
	var entries []any
	for i := range n {
		fmt.Fprintf(&csv, "%s,2345\n", captcha.SampleName(i))
		entries = append(entries, captcha.SampleName(i), img)
	}
	return zipEntries(t, append([]any{"labels.csv", []byte(csv.String())}, entries...)...)
}

// alive checks that the server still answers.
func (a *testApp) alive(t *testing.T) {
	t.Helper()
	if code, b, _ := a.do(t, "GET", "/api/datasets", ""); code != http.StatusOK {
		t.Fatalf("the server no longer answers: %d %s", code, b)
	}
}

func TestHostileZipOfHugeImages(t *testing.T) {
	a := setupCfg(t, Config{})
	// 200 PNGs of a few hundred bytes that each declare 2048x2048 pixels.
	data := imageZip(t, 200, blankPNG(t, 2048, 2048))
	var code int
	var b []byte
	grew := memGrowth(t, func() {
		code, b = a.upload(t, "/api/datasets", "file", "huge.zip", data, map[string]string{"name": "huge"})
	})
	t.Logf("%d-byte zip: %d %s; memory grew %.1f MB", len(data), code, b, float64(grew)/1e6)
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(b), "00001.png") || !strings.Contains(string(b), "2048x2048") {
		t.Fatalf("got %d %s, want 422 naming 00001.png and its size", code, b)
	}
	if grew > 100<<20 {
		t.Errorf("memory grew %d MB, want under 100 MB", grew>>20)
	}
	a.alive(t)
}

func TestHostileZipTooManyPixels(t *testing.T) {
	a := setupCfg(t, Config{})
	// Each image is allowed (1024x1024), all of them together are not.
	n := captcha.MaxTotalPixels/(1024*1024) + 1
	data := imageZip(t, n, blankPNG(t, 1024, 1024))
	var code int
	var b []byte
	grew := memGrowth(t, func() {
		code, b = a.upload(t, "/api/datasets", "file", "many.zip", data, nil)
	})
	t.Logf("%d images in %d bytes: %d %s; memory grew %.1f MB", n, len(data), code, b, float64(grew)/1e6)
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(b), captcha.SampleName(n-1)) || !strings.Contains(string(b), "pixels in all") {
		t.Fatalf("got %d %s, want 422 naming the image over the total", code, b)
	}
	if grew > 100<<20 {
		t.Errorf("memory grew %d MB, want under 100 MB", grew>>20)
	}
	a.alive(t)
}

func TestHostileZipTooManyEntries(t *testing.T) {
	t.Parallel()
	a := setupCfg(t, Config{})
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("labels.csv")
	w.Write([]byte("filename,label\n"))
	for i := range captcha.MaxZipEntries {
		if _, err := zw.CreateHeader(&zip.FileHeader{Name: strconv.Itoa(i), Method: zip.Store}); err != nil {
			t.Fatal(err)
		}
	}
	zw.Close()
	code, b := a.upload(t, "/api/datasets", "file", "entries.zip", buf.Bytes(), nil)
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(b), "more than "+strconv.Itoa(captcha.MaxZipEntries)+" entries") {
		t.Fatalf("got %d %s, want 422 on the number of entries", code, b)
	}
	a.alive(t)
}

func TestHostileLabelsLine(t *testing.T) {
	a := setupCfg(t, Config{})
	for _, tc := range []struct {
		name string
		line []byte
		want string
	}{
		// One 64 MiB line: over the size of a labels file, never read.
		{"64 MiB line", bytes.Repeat([]byte("a"), 64<<20), "larger than the limit"},
		{"64 MiB of 0xFF", bytes.Repeat([]byte{0xFF}, 64<<20), "larger than the limit"},
		// Under the size limit, but one line far over the line limit.
		{"4 MiB header line", append(bytes.Repeat([]byte("b"), 4<<20), '\n'), "longer than 1024 bytes"},
		// A long header under the line limit is quoted, cut to 80 characters.
		{"long header", append(bytes.Repeat([]byte("c"), 1000), '\n'), strings.Repeat("c", 80) + `\"...`},
	} {
		data := zipEntries(t, "labels.csv", tc.line, "a.png", blankPNG(t, 10, 10))
		var code int
		var b []byte
		grew := memGrowth(t, func() {
			code, b = a.upload(t, "/api/datasets", "file", "lines.zip", data, nil)
		})
		t.Logf("%s (%d-byte zip): %d, %d-byte body, memory grew %.1f MB: %s", tc.name, len(data), code, len(b), float64(grew)/1e6, b)
		if code != http.StatusUnprocessableEntity || !strings.Contains(string(b), "labels.csv") || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: got %d %s, want 422 naming labels.csv with %q", tc.name, code, b, tc.want)
		}
		if len(b) > 512 || strings.Contains(string(b), strings.Repeat("c", 81)) {
			t.Errorf("%s: a %d-byte answer; want a short one quoting at most 80 characters", tc.name, len(b))
		}
		if grew > 100<<20 {
			t.Errorf("%s: memory grew %d MB, want under 100 MB", tc.name, grew>>20)
		}
	}
	a.alive(t)
}

func TestHostileSymlinksInDataRoot(t *testing.T) {
	t.Parallel()
	root, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, "secret.csv")
	os.WriteFile(secret, []byte("filename,label\nroot:x:0:0:root:/root:/bin/bash,2345\n"), 0o644)
	for _, d := range []string{"labels-link", "image-link", "subfolder-link"} {
		if err := os.CopyFS(filepath.Join(root, d), os.DirFS(fixtureDir)); err != nil {
			t.Fatal(err)
		}
	}
	// labels.csv -> a file outside the root.
	os.Remove(filepath.Join(root, "labels-link", "labels.csv"))
	if err := os.Symlink(secret, filepath.Join(root, "labels-link", "labels.csv")); err != nil {
		t.Fatal(err)
	}
	// One image -> an image outside the root.
	outsidePNG := filepath.Join(outside, "outside.png")
	os.WriteFile(outsidePNG, blankPNG(t, 140, 48), 0o644)
	os.Remove(filepath.Join(root, "image-link", "100003.png"))
	os.Symlink(outsidePNG, filepath.Join(root, "image-link", "100003.png"))
	// An image listed through a linked subfolder that stays inside the root.
	os.Symlink(filepath.Join(root, "image-link"), filepath.Join(root, "subfolder-link", "sub"))
	labels, _ := os.ReadFile(filepath.Join(fixtureDir, "labels.csv"))
	os.WriteFile(filepath.Join(root, "subfolder-link", "labels.csv"), []byte(strings.Replace(string(labels), "100003.png", "sub/100000.png", 1)), 0o644)

	a := setupCfg(t, Config{DatasetRoots: []string{root}})
	for _, tc := range []struct{ folder, file string }{
		{"labels-link", "labels.csv"},
		{"image-link", "100003.png"},
		{"subfolder-link", "sub/100000.png"},
	} {
		code, b, _ := a.do(t, "POST", "/api/datasets", `{"path": "`+tc.folder+`"}`)
		t.Logf("%s: %d %s", tc.folder, code, b)
		if code != http.StatusUnprocessableEntity || !strings.Contains(string(b), tc.file) || !strings.Contains(string(b), "symbolic link") {
			t.Errorf("%s: got %d %s, want 422 naming %s as a symbolic link", tc.folder, code, b, tc.file)
		}
		if strings.Contains(string(b), "root:x:0:0") || strings.Contains(string(b), outside) || strings.Contains(string(b), root) {
			t.Errorf("%s: the answer shows what lies outside the root or a server path: %s", tc.folder, b)
		}
	}
	// Nothing was copied into the data dir.
	if entries, _ := os.ReadDir(filepath.Join(a.srv.cfg.DataDir, "datasets")); len(entries) != 0 {
		t.Errorf("the data dir holds %d datasets after refused imports", len(entries))
	}
	a.alive(t)
}

func TestPreviewThumbnails(t *testing.T) {
	a := setupCfg(t, Config{})
	// Images of the largest accepted size import; previews show thumbnails.
	data := imageZip(t, 30, blankPNG(t, 1024, 1024))
	code, b := a.upload(t, "/api/datasets", "file", "big.zip", data, map[string]string{"name": "big"})
	if code != http.StatusCreated {
		t.Fatalf("upload: %d %s", code, b)
	}
	ds := decode[experiments.Dataset](t, b)
	var body []byte
	grew := memGrowth(t, func() {
		code, body, _ = a.do(t, "GET", fmt.Sprintf("/api/preview?source=dataset&dataset_id=%d&mode=nopre&n=24", ds.ID), "")
	})
	t.Logf("preview of 24 1024x1024 images: %d, %d-byte body, memory grew %.1f MB", code, len(body), float64(grew)/1e6)
	if code != http.StatusOK {
		t.Fatalf("preview: %d %s", code, body)
	}
	ims := decode[map[string][]trainer.PreviewImage](t, body)["images"]
	if len(ims) != 24 {
		t.Fatalf("%d images, want 24", len(ims))
	}
	for _, im := range ims {
		raw, err := base64.StdEncoding.DecodeString(im.Original)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(raw))
		if err != nil || cfg.Width > trainer.ThumbWidth || cfg.Height > trainer.ThumbHeight {
			t.Fatalf("original shown at %dx%d (%v), want a thumbnail within %dx%d", cfg.Width, cfg.Height, err, trainer.ThumbWidth, trainer.ThumbHeight)
		}
	}
	if grew > 100<<20 {
		t.Errorf("memory grew %d MB, want under 100 MB", grew>>20)
	}
}

func TestEvaluateMemoryReturned(t *testing.T) {
	root := t.TempDir()
	if err := os.CopyFS(filepath.Join(root, "vi"), os.DirFS(fixtureDir)); err != nil {
		t.Fatal(err)
	}
	a := setupCfg(t, Config{Workers: 1, DatasetRoots: []string{root}})
	_, ids := a.create(t, tinyCaptcha)
	r := a.waitFor(t, ids[0], 3*time.Minute, func(r runs.Run) bool { return r.Status.Done() })
	if r.Status != runs.StatusSucceeded {
		t.Fatalf("run %s: %s", r.Status, r.Error)
	}
	code, b, _ := a.do(t, "POST", "/api/datasets", `{"path": "vi"}`)
	if code != http.StatusCreated {
		t.Fatalf("import: %d %s", code, b)
	}
	ds := decode[experiments.Dataset](t, b)
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	grew := memGrowth(t, func() {
		code, b, _ = a.do(t, "POST", fmt.Sprintf("/api/runs/%d/evaluate", r.ID), fmt.Sprintf(`{"dataset_id": %d}`, ds.ID))
	})
	after := heap()
	t.Logf("evaluate on 100 images: %d %s; memory grew %.1f MB at the peak, live heap %+.1f MB after", code, b, float64(grew)/1e6, (float64(after)-float64(before))/1e6)
	if code != http.StatusOK {
		t.Fatalf("evaluate: %d %s", code, b)
	}
	if grew > 100<<20 {
		t.Errorf("memory grew %d MB, want under 100 MB", grew>>20)
	}
	if after > before+20<<20 {
		t.Errorf("the live heap kept %d MB after the evaluation", (after-before)>>20)
	}
}
