package captcha

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// maxErrorLen bounds an error's text: file names and quotes of the input
// are cut to 80 characters, so no input makes a long error.
const maxErrorLen = 600

func checkError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var de *DataError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T), want a *DataError", err, err)
	}
	if len(err.Error()) > maxErrorLen {
		t.Fatalf("a %d-byte error: %.200s...", len(err.Error()), err)
	}
}

// FuzzParseLabels parses arbitrary labels.csv files: a *DataError of bounded
// length, or entries that are all valid.
func FuzzParseLabels(f *testing.F) {
	good, _ := os.ReadFile(filepath.Join("testdata", "vi000246", LabelsFile))
	f.Add(good)
	f.Add([]byte("filename,label\na.png,2345\nsub/b.png,79ac\n"))
	f.Add([]byte("\xef\xbb\xbffilename,label\r\n\"a,b.png\",2345\r\n"))
	f.Add([]byte("filename,label\n../x.png,2345\n"))
	f.Add([]byte("filename,label\na.png,2345\na.png,2345\n"))
	f.Add(bytes.Repeat([]byte{0xff}, 2000))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parseLabels(data, LabelsFile)
		checkError(t, err)
		if err != nil {
			return
		}
		if len(entries) == 0 || len(entries) > MaxImages {
			t.Fatalf("%d entries", len(entries))
		}
		for _, e := range entries {
			if !fs.ValidPath(e.File) || e.File == "." || ValidateLabel(e.Label) != nil || e.Line < 2 {
				t.Fatalf("entry %+v", e)
			}
		}
	})
}

// smallZips are small valid and invalid zips of a one-image data set.
func smallZips(t testing.TB) [][]byte {
	png := encodeFixture(t, fixture{"a.png", "", 14, 5, "png"}, 1)
	labels := []byte("filename,label\na.png,2345\n")
	return [][]byte{
		zipFiles(t, "", files{LabelsFile: labels, "a.png": png}),
		zipFiles(t, "upload/", files{LabelsFile: labels, "a.png": png}),
		zipFiles(t, "", files{LabelsFile: []byte("filename,label\n../a.png,2345\n"), "../a.png": png}),
	}
}

// FuzzLoadZip loads arbitrary bytes as a zip data set: no panic, a
// *DataError of bounded length, or a set that is within every limit.
func FuzzLoadZip(f *testing.F) {
	for _, zip := range smallZips(f) {
		f.Add(zip)
	}
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := LoadZip(bytes.NewReader(data), int64(len(data)), 1<<20)
		checkError(t, err)
		if err != nil {
			return
		}
		for _, s := range set.Samples {
			b := s.Image.Bounds()
			if b.Dx() > MaxImageSide || b.Dy() > MaxImageSide {
				t.Fatalf("%s is %v", s.File, b)
			}
		}
	})
}

// FuzzDecodeImage decodes arbitrary bytes as an image and preprocesses what
// decodes in both modes: no panic, sizes within the limit, values in 0..1.
func FuzzDecodeImage(f *testing.F) {
	// Small images (the fuzzer minimises slowly on large ones): grey and
	// RGB PNG, JPEG.
	for _, fx := range []fixture{{"a.png", "", 14, 5, "png"}, {"b.png", "", 7, 3, "pngrgb"}, {"c.jpg", "", 16, 8, "jpeg"}} {
		f.Add(encodeFixture(f, fx, 1))
	}
	// A PNG header declaring 2048x2048.
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x08\x00\x00\x00\x08\x00\x08\x00\x00\x00\x00\x4c\x1c\x8e\x5c"))
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := DecodeImage(data)
		if err != nil {
			if len(err.Error()) > maxErrorLen {
				t.Fatalf("a %d-byte error", len(err.Error()))
			}
			return
		}
		if b := img.Bounds(); b.Dx() > MaxImageSide || b.Dy() > MaxImageSide || b.Min.X != 0 || b.Min.Y != 0 {
			t.Fatalf("decoded %v", b)
		}
		for _, mode := range Modes() {
			n, _ := InputLen(mode)
			dst := make([]float32, n)
			if err := Preprocess(img, mode, dst); err != nil {
				t.Fatalf("%s: %v", mode, err)
			}
			for _, v := range dst {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("%s: value %v outside 0..1", mode, v)
				}
			}
		}
	})
}
