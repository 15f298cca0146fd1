package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/migrations/dbtest"
	"github.com/trainyard/trainyard/runs"
	"github.com/trainyard/trainyard/trainer"
	"github.com/trainyard/trainyard/trainer/captcha"
)

// tinyCaptcha is a small 4-head model on 300 synthetic CAPTCHAs that trains
// in a few seconds.
const tinyCaptcha = `{"name": "tiny captcha", "repeats": 1, "spec": {
	"dataset": "captcha", "source": {"kind": "synthetic", "images": 300, "seed": 4}, "preprocessing": "dn",
	"layers": [
		{"type": "conv2d", "filters": 8, "kernel": 3, "padding": "same", "activation": "relu"},
		{"type": "maxpool2d", "pool": 2},
		{"type": "batchnorm"},
		{"type": "maxpool2d", "pool": 2},
		{"type": "flatten"},
		{"type": "dense", "units": 19, "activation": "softmax"}],
	"heads": 4, "optimizer": "adam", "epochs": 2, "batch_size": 32, "learning_rate": 0.003,
	"train_fraction": 0.8, "val_fraction": 0.2, "seed": 1}}`

// writeTestSplit writes the test images of the synthetic source (n, seed)
// into dir with a labels.csv listing only them.
func writeTestSplit(t *testing.T, dir string, n int, seed int64) {
	t.Helper()
	if err := captcha.WriteDir(dir, n, seed); err != nil {
		t.Fatal(err)
	}
	samples, _ := captcha.Generate(n, seed)
	var csv strings.Builder
	csv.WriteString("filename,label\n")
	for _, i := range trainer.CaptchaTestIndices(n) {
		fmt.Fprintf(&csv, "%s,%s\n", captcha.SampleName(i), samples[i].Label)
	}
	if err := os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCaptchaTrainEvalPredict(t *testing.T) { eachDB(t, testCaptchaTrainEvalPredict) }

func testCaptchaTrainEvalPredict(t *testing.T, dialect migrations.Dialect) {
	root := t.TempDir()
	testDir := filepath.Join(root, "test-split")
	writeTestSplit(t, testDir, 300, 4)
	a := setupCfg(t, Config{Workers: 1, DatasetRoots: []string{root}, DB: dbtest.URL(t, dialect)})

	_, ids := a.create(t, tinyCaptcha)
	start := time.Now()
	r := a.waitFor(t, ids[0], 3*time.Minute, func(r runs.Run) bool { return r.Status.Done() })
	t.Logf("trained in %s", time.Since(start))
	if r.Test != nil {
		t.Logf("test: %d images, image acc %.4f, char acc %.4f, per position %v, %.3f ms/image", r.Test.Images, *r.Test.ImageAccuracy, *r.Test.CharAccuracy, r.Test.PerPosition, r.Test.MsPerImage)
	}
	if r.Status != runs.StatusSucceeded {
		t.Fatalf("run %s: %s", r.Status, r.Error)
	}
	if len(r.Epochs) != 2 || len(r.Epochs[1].Heads) != 4 {
		t.Fatalf("epochs %d, heads %v", len(r.Epochs), r.Epochs)
	}
	te := r.Test
	if te.Images != 60 || len(te.PerPosition) != 4 || len(te.Confusion) != 19 || te.CharAccuracy == nil || *te.CharAccuracy <= 0 || te.ImageAccuracy == nil || *te.ImageAccuracy != te.Accuracy || te.MsPerImage <= 0 {
		t.Fatalf("test result %+v", te)
	}

	// The downloaded weights reproduce the stored test accuracy on the same images.
	code, wb, _ := a.do(t, "GET", fmt.Sprintf("/api/runs/%d/weights", r.ID), "")
	if code != http.StatusOK {
		t.Fatalf("weights: %d %s", code, wb)
	}
	weights := filepath.Join(t.TempDir(), "run.safetensors")
	if err := os.WriteFile(weights, wb, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := trainer.EvaluateFile(context.Background(), weights, testDir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Images != te.Images || *got.ImageAccuracy != *te.ImageAccuracy || *got.CharAccuracy != *te.CharAccuracy {
		t.Fatalf("eval %d images, image %v char %v; stored %d, %v, %v", got.Images, *got.ImageAccuracy, *got.CharAccuracy, te.Images, *te.ImageAccuracy, *te.CharAccuracy)
	}

	// The same through the API, on the test split imported as a dataset.
	code, b, _ := a.do(t, "POST", "/api/datasets", `{"name": "test split", "path": "test-split"}`)
	if code != http.StatusCreated {
		t.Fatalf("import: %d %s", code, b)
	}
	ds := decode[experiments.Dataset](t, b)
	code, b, _ = a.do(t, "POST", fmt.Sprintf("/api/runs/%d/evaluate", r.ID), fmt.Sprintf(`{"dataset_id": %d}`, ds.ID))
	ev := decode[trainer.EvalResult](t, b)
	if code != http.StatusOK || ev.Images != 60 || *ev.CharAccuracy != *te.CharAccuracy || *ev.ImageAccuracy != *te.ImageAccuracy {
		t.Fatalf("evaluate: %d %s", code, b)
	}
	if code, b, _ := a.do(t, "POST", fmt.Sprintf("/api/runs/%d/evaluate", r.ID), `{"dataset_id": 999}`); code != http.StatusNotFound {
		t.Fatalf("evaluate on a missing dataset: %d %s", code, b)
	}

	// One evaluation at a time: while one runs, another gets 429 with Retry-After.
	evalURL, evalBody := fmt.Sprintf("/api/runs/%d/evaluate", r.ID), fmt.Sprintf(`{"dataset_id": %d}`, ds.ID)
	a.srv.h.evaluating.ch <- struct{}{}
	code, b, hdr := a.do(t, "POST", evalURL, evalBody)
	<-a.srv.h.evaluating.ch
	if code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" || !strings.Contains(string(b), "another evaluation") {
		t.Fatalf("evaluate while another runs: %d %s (Retry-After %q), want 429", code, b, hdr.Get("Retry-After"))
	}
	codes := make(chan int, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			code, _, _ := a.do(t, "POST", evalURL, evalBody)
			codes <- code
		})
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	t.Logf("8 concurrent evaluations: %v", count)
	if count[http.StatusOK] < 1 || count[http.StatusOK]+count[http.StatusTooManyRequests] != 8 {
		t.Fatalf("8 concurrent evaluations answered %v, want 200s and 429s only", count)
	}

	// Predict one test image.
	png, _ := os.ReadFile(filepath.Join(testDir, captcha.SampleName(trainer.CaptchaTestIndices(300)[0])))
	predictURL := fmt.Sprintf("/api/runs/%d/predict", r.ID)
	code, b = a.upload(t, predictURL, "image", "x.png", png, nil)
	p := decode[trainer.Prediction](t, b)
	if code != http.StatusOK || len(p.Text) != 4 || len(p.Chars) != 4 || p.Chars[0].P <= 0 {
		t.Fatalf("predict: %d %s", code, b)
	}
	a.srv.h.predicting.ch <- struct{}{}
	code, b = a.upload(t, predictURL, "image", "x.png", png, nil)
	<-a.srv.h.predicting.ch
	if code != http.StatusTooManyRequests {
		t.Fatalf("predict while another runs: %d %s, want 429", code, b)
	}
	bad := []struct {
		name, field string
		data        []byte
		code        int
		want        string
	}{
		{"not an image", "image", []byte("GIF? no, text"), 422, "not a PNG or JPEG"},
		{"missing field", "file", png, 422, `multipart field \"image\"`},
		{"too big", "image", bytes.Repeat([]byte{1}, 9<<20), 413, "too large"},
		{"too many pixels", "image", blankPNG(t, 4097, 16), 422, "4097x16"},
	}
	for _, c := range bad {
		code, b := a.upload(t, predictURL, c.field, "x.png", c.data, nil)
		if code != c.code || !strings.Contains(string(b), c.want) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, code, b, c.code, c.want)
		}
	}
	if code, b, _ := a.do(t, "GET", fmt.Sprintf("/runs/%d", r.ID), ""); code != 200 || !strings.Contains(string(b), "predict-form") || !strings.Contains(string(b), "chart-head-loss") {
		t.Fatalf("run page: %d", code)
	}
}

func TestPredictNeedsFinishedRun(t *testing.T) { eachDB(t, testPredictNeedsFinishedRun) }

func testPredictNeedsFinishedRun(t *testing.T, dialect migrations.Dialect) {
	a := setupCfg(t, Config{DB: dbtest.URL(t, dialect)})
	_, ids := a.create(t, tinyCaptcha)
	code, b := a.upload(t, fmt.Sprintf("/api/runs/%d/predict", ids[0]), "image", "x.png", []byte("x"), nil)
	if code != http.StatusConflict {
		t.Fatalf("predict on a queued run: %d %s", code, b)
	}
}
