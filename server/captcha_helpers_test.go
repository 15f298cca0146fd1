package server

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// setupCfg is setup with a chosen Config (data roots, workers); each of
// beforeStart sees the server before its workers start.
func setupCfg(t *testing.T, cfg Config, beforeStart ...func(*Server)) *testApp {
	t.Helper()
	ctx := context.Background()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	cfg.RescueAfter, cfg.Logger = 6*time.Second, discardLogger()
	s, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range beforeStart {
		f(s)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.Close(context.Background())
		ts.Close()
	})
	return &testApp{srv: s, url: ts.URL}
}

// upload posts a multipart form with one file field and text fields.
func (a *testApp) upload(t *testing.T, path, field, filename string, data []byte, fields map[string]string) (int, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if field != "" {
		fw, err := mw.CreateFormFile(field, filename)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	mw.Close()
	res, err := http.Post(a.url+path, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// zipDir zips the files of dir (one level) into one top-level folder,
// replacing files named in replace with the given contents.
func zipDir(t *testing.T, dir string, replace map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := replace[e.Name()]; ok {
			data = []byte(r)
		}
		w, err := zw.Create(filepath.Base(dir) + "/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

const fixtureDir = "../trainer/captcha/testdata/vi000246"
