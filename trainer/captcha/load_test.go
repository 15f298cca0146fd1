package captcha

import (
	"archive/zip"
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	xdraw "golang.org/x/image/draw"
)

// fixture is one image file of a test data set.
type fixture struct {
	name, label string
	w, h        int
	format      string // "png", "pngrgb" or "jpeg"
}

// goodFixtures are PNG (grey and RGB) and JPEG files of odd sizes, some in
// a subfolder.
var goodFixtures = []fixture{
	{"a.png", "2345", 140, 48, "png"},
	{"b.png", "79AC", 103, 44, "pngrgb"},
	{"sub/c.jpg", "FHKM", 156, 55, "jpeg"},
	{"sub/deeper/d.jpeg", "NPQR", 131, 47, "jpeg"},
	{"e.png", "TYZ2", 7, 3, "pngrgb"},
}

// encodeFixture draws a synthetic CAPTCHA scaled to f's size and encodes it.
func encodeFixture(t testing.TB, f fixture, seed int) []byte {
	t.Helper()
	g, err := NewGenerator(int64(seed))
	if err != nil {
		t.Fatal(err)
	}
	src := g.Synthetic(0).Image
	var dst image.Image
	rect := image.Rect(0, 0, f.w, f.h)
	if f.format == "png" {
		d := image.NewGray(rect)
		xdraw.BiLinear.Scale(d, rect, src, src.Bounds(), xdraw.Src, nil)
		dst = d
	} else {
		d := image.NewRGBA(rect)
		xdraw.BiLinear.Scale(d, rect, src, src.Bounds(), xdraw.Src, nil)
		dst = d
	}
	var buf bytes.Buffer
	if f.format == "jpeg" {
		err = jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 90})
	} else {
		err = png.Encode(&buf, dst)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// files maps paths to contents.
type files map[string][]byte

// goodFiles returns a valid data set's files.
func goodFiles(t testing.TB) files {
	fs := files{}
	csv := "filename,label\n"
	for i, f := range goodFixtures {
		fs[f.name] = encodeFixture(t, f, i)
		csv += f.name + "," + f.label + "\n"
	}
	fs[LabelsFile] = []byte(csv)
	return fs
}

func writeFiles(t testing.TB, dir string, fs files) {
	t.Helper()
	for name, data := range fs {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func zipFiles(t testing.TB, prefix string, fs files) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range fs {
		w, err := zw.Create(prefix + name)
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

func checkGoodSet(t *testing.T, set *Set) {
	t.Helper()
	if set.Len() != len(goodFixtures) {
		t.Fatalf("loaded %d samples, want %d", set.Len(), len(goodFixtures))
	}
	for i, f := range goodFixtures {
		s := set.Samples[i]
		if s.File != f.name || s.Label != f.label {
			t.Errorf("sample %d = %s %s, want %s %s", i, s.File, s.Label, f.name, f.label)
		}
		if b := s.Image.Bounds(); b != image.Rect(0, 0, f.w, f.h) {
			t.Errorf("%s: bounds %v, want %dx%d", f.name, b, f.w, f.h)
		}
	}
	// Grey PNG stays grey; RGB PNGs whose pixels are grey become grey.
	if _, ok := set.Samples[0].Image.(*image.Gray); !ok {
		t.Errorf("a.png loaded as %T, want *image.Gray", set.Samples[0].Image)
	}
	if _, ok := set.Samples[1].Image.(*image.Gray); !ok {
		t.Errorf("b.png (grey stored as RGB) loaded as %T, want *image.Gray", set.Samples[1].Image)
	}
}

func TestLoadDirGood(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, goodFiles(t))
	set, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkGoodSet(t, set)
}

func TestLoadDirVi000246(t *testing.T) {
	t.Parallel()
	set, err := LoadDir(filepath.Join("testdata", "vi000246"))
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 100 {
		t.Fatalf("loaded %d samples, want 100", set.Len())
	}
	for _, s := range set.Samples {
		b := s.Image.Bounds()
		if b.Dx() < 90 || b.Dx() > 170 || b.Dy() < 40 || b.Dy() > 60 {
			t.Errorf("%s: unexpected size %v", s.File, b)
		}
		if _, ok := s.Image.(*image.Gray); !ok {
			t.Errorf("%s: loaded as %T, want *image.Gray", s.File, s.Image)
		}
	}
	if s := set.Samples[0]; s.File != "100000.png" || s.Label != "52KY" {
		t.Errorf("first sample %s %s, want 100000.png 52KY", s.File, s.Label)
	}
}

func TestLoadDirColour(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 20, 10))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	img.Set(3, 3, color.RGBA{200, 10, 10, 255})
	var buf bytes.Buffer
	png.Encode(&buf, img)
	writeFiles(t, dir, files{"c.png": buf.Bytes(), LabelsFile: []byte("filename,label\r\nc.png , ack2\r\n")})
	set, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := set.Samples[0].Image.(*image.RGBA); !ok {
		t.Errorf("colour image loaded as %T, want *image.RGBA", set.Samples[0].Image)
	}
	if set.Samples[0].Label != "ACK2" {
		t.Errorf("label %q, want ACK2 (upper-cased)", set.Samples[0].Label)
	}
}

// badCases are broken data sets: each changes the good one and names the
// error expected.
var badCases = []struct {
	name   string
	change func(files)
	want   DataError // Msg is a substring
}{
	{"no labels.csv", func(f files) { delete(f, LabelsFile) }, DataError{File: "labels.csv", Msg: "missing"}},
	{"bad header", func(f files) { f[LabelsFile] = []byte("file,text\na.png,2345\n") }, DataError{File: "labels.csv", Line: 1, Msg: `header is "file,text"`}},
	{"three fields", func(f files) { f[LabelsFile] = []byte("filename,label\na.png,2345\nb.png,79AC,x\n") }, DataError{File: "labels.csv", Line: 3, Msg: "3 fields, want 2"}},
	{"broken quote", func(f files) { f[LabelsFile] = []byte("filename,label\na.png,2345\n\"b.png,79AC\n") }, DataError{File: "labels.csv", Line: 3, Msg: "malformed line"}},
	{"short label", func(f files) { f[LabelsFile] = []byte("filename,label\na.png,2345\nb.png,79A\n") }, DataError{File: "labels.csv", Line: 3, Msg: `label "79A" has 3 characters, want 4`}},
	{"long label", func(f files) { f[LabelsFile] = []byte("filename,label\na.png,23456\n") }, DataError{File: "labels.csv", Line: 2, Msg: `label "23456" has 5 characters`}},
	{"symbol outside alphabet", func(f files) { f[LabelsFile] = []byte("filename,label\na.png,2345\n\nb.png,7BAC\n") }, DataError{File: "labels.csv", Line: 4, Msg: `label "7BAC": character 'B' at position 2 is not one of 234579ACFHKMNPQRTYZ`}},
	{"empty", func(f files) { f[LabelsFile] = []byte("filename,label\n") }, DataError{File: "labels.csv", Msg: "no images listed"}},
	{"duplicate", func(f files) { f[LabelsFile] = []byte("filename,label\na.png,2345\n./a.png,2345\n") }, DataError{File: "labels.csv", Line: 3, Msg: "a.png is listed twice (first on line 2)"}},
	{"escaping path", func(f files) { f[LabelsFile] = []byte("filename,label\n../a.png,2345\n") }, DataError{File: "labels.csv", Line: 2, Msg: `file name "../a.png" must be a path inside the data folder`}},
	{"absolute path", func(f files) { f[LabelsFile] = []byte("filename,label\n/etc/passwd,2345\n") }, DataError{File: "labels.csv", Line: 2, Msg: "must be a path inside"}},
	{"missing image", func(f files) { delete(f, "sub/c.jpg") }, DataError{File: "sub/c.jpg", Line: 4, Msg: "image file not found"}},
	{"undecodable image", func(f files) { f["b.png"] = []byte("this is not a picture") }, DataError{File: "b.png", Line: 3, Msg: "cannot decode image"}},
	{"truncated png", func(f files) { f["a.png"] = f["a.png"][:60] }, DataError{File: "a.png", Line: 2, Msg: "decode"}},
}

func checkDataError(t *testing.T, err error, want DataError, prefix string) {
	t.Helper()
	var de *DataError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T), want *DataError", err, err)
	}
	if de.File != prefix+want.File || de.Line != want.Line || !strings.Contains(de.Msg, want.Msg) {
		t.Errorf("got %+v\nwant File %q Line %d Msg containing %q", *de, prefix+want.File, want.Line, want.Msg)
	}
	if !strings.Contains(err.Error(), de.File) {
		t.Errorf("message %q does not name the file", err)
	}
}

func TestLoadDirBad(t *testing.T) {
	t.Parallel()
	good := goodFiles(t)
	for _, tc := range badCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := files{}
			for k, v := range good {
				fs[k] = v
			}
			tc.change(fs)
			dir := t.TempDir()
			writeFiles(t, dir, fs)
			set, err := LoadDir(dir)
			if set != nil {
				t.Error("set returned with an error")
			}
			checkDataError(t, err, tc.want, "")
		})
	}
}

func TestLoadZipBad(t *testing.T) {
	t.Parallel()
	good := goodFiles(t)
	for _, tc := range badCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := files{}
			for k, v := range good {
				fs[k] = v
			}
			tc.change(fs)
			// Inside a folder, errors name the entry by its full path.
			data := zipFiles(t, "captchas/", fs)
			_, err := LoadZip(bytes.NewReader(data), int64(len(data)), 1<<20)
			want := tc.want
			if tc.name == "no labels.csv" {
				want.Msg = "the zip needs a labels.csv"
				checkDataError(t, err, want, "")
				return
			}
			checkDataError(t, err, want, "captchas/")
		})
	}
}

func TestLoadZipGood(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"", "folder/"} {
		data := zipFiles(t, prefix, goodFiles(t))
		set, err := LoadZip(bytes.NewReader(data), int64(len(data)), 1<<20)
		if err != nil {
			t.Fatalf("prefix %q: %v", prefix, err)
		}
		checkGoodSet(t, set)
	}
}

func TestLoadZipLimitsAndTraversal(t *testing.T) {
	t.Parallel()
	good := goodFiles(t)
	data := zipFiles(t, "", good)
	big := files{LabelsFile: good[LabelsFile], "huge.bin": bytes.Repeat([]byte{0}, 300<<10)}
	bigZip := zipFiles(t, "", big) // compresses to a few hundred bytes
	twoBig := files{LabelsFile: good[LabelsFile], "x.bin": bytes.Repeat([]byte{0}, 150<<10), "y.bin": bytes.Repeat([]byte{0}, 150<<10)}
	twoBigZip := zipFiles(t, "", twoBig)
	for _, tc := range []struct {
		name string
		data []byte
		max  int64
		want DataError
	}{
		{"not a zip", []byte("PK but not really a zip file"), 1 << 20, DataError{Msg: "not a valid zip file"}},
		{"zip over limit", data, int64(len(data)) - 1, DataError{Msg: "over the limit of"}},
		{"entry too large", bigZip, 200 << 10, DataError{File: "huge.bin", Msg: "entry is 307200 bytes uncompressed, over the limit of 204800 bytes"}},
		{"total too large", twoBigZip, 200 << 10, DataError{Msg: "more than the limit of 204800 bytes uncompressed"}},
		{"dot dot", zipFiles(t, "", files{LabelsFile: good[LabelsFile], "../evil.png": good["a.png"]}), 1 << 20, DataError{File: "../evil.png", Msg: "path traversal"}},
		{"nested dot dot", zipFiles(t, "", files{LabelsFile: good[LabelsFile], "a/../../evil.png": good["a.png"]}), 1 << 20, DataError{File: "a/../../evil.png", Msg: "path traversal"}},
		{"absolute", zipFiles(t, "", files{LabelsFile: good[LabelsFile], "/etc/evil.png": good["a.png"]}), 1 << 20, DataError{File: "/etc/evil.png", Msg: "path traversal"}},
		{"backslash", zipFiles(t, "", files{LabelsFile: good[LabelsFile], `..\evil.png`: good["a.png"]}), 1 << 20, DataError{File: `..\evil.png`, Msg: "path traversal"}},
		{"two labels files", zipFiles(t, "", files{"x/labels.csv": good[LabelsFile], "y/labels.csv": good[LabelsFile]}), 1 << 20, DataError{File: "labels.csv", Msg: "2 labels.csv files"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadZip(bytes.NewReader(tc.data), int64(len(tc.data)), tc.max)
			var de *DataError
			if !errors.As(err, &de) {
				t.Fatalf("error %v, want *DataError", err)
			}
			if de.File != tc.want.File || !strings.Contains(de.Msg, tc.want.Msg) {
				t.Errorf("got %+v, want %+v", *de, tc.want)
			}
		})
	}
}

func TestExtractZip(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	data := zipFiles(t, "upload/", goodFiles(t))
	dest := filepath.Join(parent, "sets", "one")
	entries, err := ExtractZip(bytes.NewReader(data), int64(len(data)), 1<<20, dest)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(goodFixtures) || entries[2].File != "sub/c.jpg" || entries[2].Label != "FHKM" {
		t.Fatalf("entries %+v", entries)
	}
	again, err := LoadDir(dest)
	if err != nil {
		t.Fatalf("extracted folder does not load: %v", err)
	}
	checkGoodSet(t, again)
	if _, err := ExtractZip(bytes.NewReader(data), int64(len(data)), 1<<20, dest); err == nil {
		t.Error("extracting over an existing folder succeeded")
	}

	// A bad archive leaves nothing behind, not even a temporary folder.
	bad := goodFiles(t)
	bad["sub/c.jpg"] = []byte("garbage")
	badZip := zipFiles(t, "", bad)
	dest2 := filepath.Join(parent, "sets", "two")
	if _, err := ExtractZip(bytes.NewReader(badZip), int64(len(badZip)), 1<<20, dest2); err == nil {
		t.Fatal("bad zip extracted")
	}
	dirEntries, err := os.ReadDir(filepath.Join(parent, "sets"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirEntries) != 1 || dirEntries[0].Name() != "one" {
		var names []string
		for _, e := range dirEntries {
			names = append(names, e.Name())
		}
		t.Errorf("after a failed extract the folder holds %v, want only [one]", names)
	}
}

func TestLoadDirNotAFolder(t *testing.T) {
	t.Parallel()
	_, err := LoadDir(filepath.Join(t.TempDir(), "nope"))
	var de *DataError
	if !errors.As(err, &de) || !strings.Contains(de.Msg, "cannot open data folder") {
		t.Errorf("error %v", err)
	}
}

func TestDataErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		e    DataError
		want string
	}{
		{DataError{File: "labels.csv", Line: 7, Msg: "bad"}, "labels.csv:7: bad"},
		{DataError{File: "x/labels.csv", Line: 7, Msg: "bad"}, "x/labels.csv:7: bad"},
		{DataError{File: "a.png", Line: 7, Msg: "bad"}, "a.png (labels.csv line 7): bad"},
		{DataError{File: "a.png", Msg: "bad"}, "a.png: bad"},
		{DataError{Msg: "bad"}, "bad"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestLoadDirN(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "vi000246"))); err != nil {
		t.Fatal(err)
	}
	// The 10th image listed is broken: LoadDir fails on it, LoadDirN(3) never opens it.
	labels, err := os.ReadFile(filepath.Join(dir, LabelsFile))
	if err != nil {
		t.Fatal(err)
	}
	tenth := strings.Split(strings.Split(string(labels), "\n")[10], ",")[0]
	if err := os.WriteFile(filepath.Join(dir, tenth), []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), tenth) {
		t.Fatalf("LoadDir with a broken %s: %v", tenth, err)
	}
	for _, tc := range []struct{ n, want int }{{0, 0}, {3, 3}, {9, 9}} {
		set, err := LoadDirN(dir, tc.n)
		if err != nil {
			t.Fatalf("LoadDirN(%d): %v", tc.n, err)
		}
		if set.Len() != tc.want {
			t.Fatalf("LoadDirN(%d): %d samples, want %d", tc.n, set.Len(), tc.want)
		}
	}
	set, _ := LoadDirN(dir, 3)
	if s := set.Samples[0]; s.File != "100000.png" || s.Label != "52KY" || s.Image == nil {
		t.Errorf("first sample %s %s, want 100000.png 52KY", s.File, s.Label)
	}
	// More than there are: all of them, like LoadDir.
	full, err := LoadDirN(filepath.Join("testdata", "vi000246"), 1000)
	if err != nil || full.Len() != 100 {
		t.Fatalf("LoadDirN(1000): %v, %d samples", err, full.Len())
	}
	// A bad labels.csv is still an error, whatever n.
	if err := os.WriteFile(filepath.Join(dir, LabelsFile), []byte("nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDirN(dir, 1); err == nil {
		t.Fatal("LoadDirN read a bad labels.csv without an error")
	}
	if _, err := LoadDirN(dir, -1); err == nil {
		t.Fatal("LoadDirN(-1) without an error")
	}
}
