package captcha

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	_ "image/jpeg" // Register JPEG for image.Decode.
	_ "image/png"  // Register PNG for image.Decode.
	"io"
	"io/fs"
	"os"
	"path"
	"runtime"
	"strings"
	"sync"
)

// LabelsFile is the name of the labels file in a CAPTCHA folder. Its first
// line is the header "filename,label"; each further line names an image,
// relative to the folder (subfolders allowed, "/" separated), and its label.
const LabelsFile = "labels.csv"

// Limits on what the loader accepts.
const (
	// MaxImageBytes is the largest image file LoadDir reads.
	MaxImageBytes = 16 << 20
	// MaxLabelsBytes is the largest labels.csv read.
	MaxLabelsBytes = 64 << 20
	// MaxImagePixels is the most pixels (width times height) an image may
	// have; CAPTCHAs are a few thousand.
	MaxImagePixels = 4 << 20
)

// DataError is a problem with a CAPTCHA data set, precise enough to show to
// the person who supplied it.
type DataError struct {
	// File is the file at fault, relative to the data set's root (or the
	// zip entry name); empty when the problem is with the archive as a whole.
	File string
	// Line is the line of labels.csv concerned, counting from 1, or 0.
	Line int
	// Msg says what is wrong.
	Msg string
}

// Error formats the error as "labels.csv:7: msg" for problems in the labels
// file, "img.png (labels.csv line 7): msg" for an image listed there, and
// "file: msg" otherwise.
func (e *DataError) Error() string {
	switch {
	case e.File == "":
		return e.Msg
	case e.Line > 0 && path.Base(e.File) == LabelsFile:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s (%s line %d): %s", e.File, LabelsFile, e.Line, e.Msg)
	default:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
}

// Sample is one labelled CAPTCHA.
type Sample struct {
	// File is the image's path relative to its data set's root, as listed
	// in labels.csv.
	File string
	// Label is the four symbols, upper case.
	Label string
	// Image is the decoded image with its origin at (0, 0): an *image.Gray
	// when every pixel is grey (R = G = B), else an *image.RGBA.
	Image image.Image
}

// Set is a labelled CAPTCHA data set, in labels.csv order.
type Set struct {
	Samples []Sample
}

// Len returns the number of samples.
func (s *Set) Len() int { return len(s.Samples) }

// row is one parsed line of labels.csv.
type row struct {
	file, label string
	line        int
}

// LoadDir loads the data set in dir: dir/labels.csv and the images it lists,
// PNG or JPEG of any size. Every problem is reported as a *DataError naming
// the file and, where it applies, the line of labels.csv.
func LoadDir(dir string) (*Set, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, &DataError{Msg: fmt.Sprintf("cannot open data folder: %v", err)}
	}
	if !st.IsDir() {
		return nil, &DataError{Msg: fmt.Sprintf("%s is not a folder", dir)}
	}
	return LoadFS(os.DirFS(dir))
}

// LoadDirN loads the first n images listed in dir/labels.csv (all of them
// when there are fewer), for previews: the labels file is read and checked
// whole, the images after the first n are not opened.
func LoadDirN(dir string, n int) (*Set, error) {
	if n < 0 {
		return nil, fmt.Errorf("captcha: LoadDirN with n = %d", n)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, &DataError{Msg: fmt.Sprintf("cannot open data folder: %v", err)}
	}
	if !st.IsDir() {
		return nil, &DataError{Msg: fmt.Sprintf("%s is not a folder", dir)}
	}
	return loadFSN(os.DirFS(dir), "", MaxImageBytes, n)
}

// LoadFS loads a data set laid out like LoadDir's from fsys.
func LoadFS(fsys fs.FS) (*Set, error) {
	return loadFS(fsys, "", MaxImageBytes)
}

// loadFS loads the data set rooted at fsys; prefix is prepended to the file
// names in errors, and no file may be larger than maxFile bytes.
func loadFS(fsys fs.FS, prefix string, maxFile int64) (*Set, error) {
	return loadFSN(fsys, prefix, maxFile, -1)
}

// loadFSN is loadFS reading only the first n images (all when n < 0).
func loadFSN(fsys fs.FS, prefix string, maxFile int64, n int) (*Set, error) {
	display := func(name string) string { return path.Join(prefix, name) }
	data, err := readLimited(fsys, LabelsFile, min(maxFile, MaxLabelsBytes))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &DataError{File: display(LabelsFile), Msg: "missing: a data set needs a labels.csv with the header filename,label"}
		}
		return nil, &DataError{File: display(LabelsFile), Msg: err.Error()}
	}
	rows, err := parseLabels(data, display(LabelsFile))
	if err != nil {
		return nil, err
	}
	if n >= 0 && n < len(rows) {
		rows = rows[:n]
	}
	samples := make([]Sample, len(rows))
	errs := make([]error, len(rows))
	workers := min(runtime.GOMAXPROCS(0), len(rows))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(rows); i += workers {
				r := rows[i]
				img, err := loadImage(fsys, r.file, maxFile)
				if err != nil {
					errs[i] = &DataError{File: display(r.file), Line: r.line, Msg: err.Error()}
					continue
				}
				samples[i] = Sample{File: r.file, Label: r.label, Image: img}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return &Set{Samples: samples}, nil
}

// parseLabels parses labels.csv; name is used in errors.
func parseLabels(data []byte, name string) ([]row, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var rows []row
	seen := make(map[string]int)
	for first := true; ; first = false {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &DataError{File: name, Line: pe.Line, Msg: fmt.Sprintf("malformed line: %v", pe.Err)}
			}
			return nil, &DataError{File: name, Msg: err.Error()}
		}
		line, _ := cr.FieldPos(0)
		if first {
			if len(rec) != 2 || !strings.EqualFold(strings.TrimSpace(rec[0]), "filename") || !strings.EqualFold(strings.TrimSpace(rec[1]), "label") {
				return nil, &DataError{File: name, Line: line, Msg: fmt.Sprintf("header is %q, want \"filename,label\"", strings.Join(rec, ","))}
			}
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != 2 {
			return nil, &DataError{File: name, Line: line, Msg: fmt.Sprintf("malformed line: %d fields, want 2 (filename,label)", len(rec))}
		}
		file := strings.ReplaceAll(strings.TrimSpace(rec[0]), `\`, "/")
		if file == "" {
			return nil, &DataError{File: name, Line: line, Msg: "empty file name"}
		}
		clean := path.Clean(file)
		if !fs.ValidPath(clean) || clean == "." || strings.HasPrefix(file, "/") {
			return nil, &DataError{File: name, Line: line, Msg: fmt.Sprintf("file name %q must be a path inside the data folder", rec[0])}
		}
		label := strings.ToUpper(strings.TrimSpace(rec[1]))
		if err := ValidateLabel(label); err != nil {
			return nil, &DataError{File: name, Line: line, Msg: err.Error()}
		}
		if prev, ok := seen[clean]; ok {
			return nil, &DataError{File: name, Line: line, Msg: fmt.Sprintf("%s is listed twice (first on line %d)", clean, prev)}
		}
		seen[clean] = line
		rows = append(rows, row{file: clean, label: label, line: line})
	}
	if len(rows) == 0 {
		return nil, &DataError{File: name, Msg: "no images listed"}
	}
	return rows, nil
}

// readLimited reads a whole file of fsys, failing when it is larger than
// limit bytes.
func readLimited(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, errors.New("is a folder, not a file")
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("file is larger than the limit of %d bytes", limit)
	}
	return data, nil
}

// loadImage reads and decodes one image.
func loadImage(fsys fs.FS, name string, limit int64) (image.Image, error) {
	data, err := readLimited(fsys, name, limit)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errors.New("image file not found")
		}
		return nil, err
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("cannot decode image (PNG or JPEG expected): %v", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return nil, fmt.Errorf("%s image is %dx%d, outside 1..%d pixels", format, cfg.Width, cfg.Height, MaxImagePixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("cannot decode %s image: %v", format, err)
	}
	return compact(img), nil
}

// compact returns img with its origin at (0, 0), flattened onto white, as an
// *image.Gray when every pixel is grey and as an *image.RGBA otherwise.
func compact(img image.Image) image.Image {
	b := img.Bounds()
	if g, ok := img.(*image.Gray); ok && b.Min == (image.Point{}) {
		return g
	}
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(rgba, rgba.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Over)
	grey := true
	for i := 0; i < len(rgba.Pix); i += 4 {
		if rgba.Pix[i] != rgba.Pix[i+1] || rgba.Pix[i] != rgba.Pix[i+2] {
			grey = false
			break
		}
	}
	if !grey {
		return rgba
	}
	g := image.NewGray(rgba.Bounds())
	for i := range g.Pix {
		g.Pix[i] = rgba.Pix[4*i]
	}
	return g
}
