package captcha

import (
	"bufio"
	"bytes"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// SampleName returns the file name WriteDir gives synthetic image i
// (counting from 0): "00001.png" for i = 0.
func SampleName(i int) string {
	return fmt.Sprintf("%05d.png", i+1)
}

// WriteDir draws n synthetic CAPTCHAs for seed and writes them into dir as
// grey PNGs named by SampleName, plus a labels.csv with the header
// "filename,label", the layout LoadDir reads. dir is created if needed;
// labels.csv is written last, so a folder without it is incomplete. The same
// n and seed always give byte-identical files.
func WriteDir(dir string, n int, seed int64) error {
	if n < 0 {
		return fmt.Errorf("captcha: negative image count %d", n)
	}
	g, err := NewGenerator(seed)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("captcha: %w", err)
	}
	labels := make([]string, n)
	errs := make([]error, n)
	workers := min(runtime.GOMAXPROCS(0), max(n, 1))
	var wg sync.WaitGroup
	for wkr := range workers {
		wg.Go(func() {
			var buf bytes.Buffer
			enc := png.Encoder{CompressionLevel: png.BestSpeed}
			for i := wkr; i < n; i += workers {
				s := g.Synthetic(i)
				labels[i] = s.Label
				buf.Reset()
				if err := enc.Encode(&buf, s.Image); err != nil {
					errs[i] = err
					continue
				}
				errs[i] = os.WriteFile(filepath.Join(dir, s.File), buf.Bytes(), 0o644)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("captcha: %w", err)
		}
	}
	var csv bytes.Buffer
	bw := bufio.NewWriter(&csv)
	bw.WriteString("filename,label\n")
	for i, l := range labels {
		fmt.Fprintf(bw, "%s,%s\n", SampleName(i), l)
	}
	bw.Flush()
	if err := os.WriteFile(filepath.Join(dir, LabelsFile), csv.Bytes(), 0o644); err != nil {
		return fmt.Errorf("captcha: %w", err)
	}
	return nil
}
