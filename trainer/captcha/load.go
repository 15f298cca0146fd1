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
	"path"
	"strings"
	"unicode"
)

// LabelsFile is the name of the labels file in a CAPTCHA folder. Its first
// line is the header "filename,label"; each further line names an image,
// relative to the folder (subfolders allowed, "/" separated), and its label.
const LabelsFile = "labels.csv"

// Limits on what the loader accepts. They are checked before anything is
// decoded: a file's size before it is read, an image's header before its
// pixels.
const (
	// MaxImageBytes is the largest image file read.
	MaxImageBytes = 8 << 20
	// MaxImageSide is the most pixels an image may have on a side; CAPTCHAs
	// are about 140x48.
	MaxImageSide = 1024
	// MaxImagePixels is the most pixels (width times height) one image may
	// have.
	MaxImagePixels = MaxImageSide * MaxImageSide
	// MaxImages is the most images a data set may list.
	MaxImages = 50_000
	// MaxTotalPixels is the most pixels all of a data set's images may hold
	// together (about 80,000 CAPTCHAs of 140x48).
	MaxTotalPixels = 1 << 29
	// MaxLabelsBytes is the largest labels.csv read.
	MaxLabelsBytes = 8 << 20
	// MaxLineBytes is the longest line of labels.csv.
	MaxLineBytes = 1024
	// MaxZipEntries is the most entries a zip may hold: every image, its
	// folders and the resource forks some archivers add.
	MaxZipEntries = 2*MaxImages + 1000
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
	file := shortName(e.File)
	switch {
	case e.File == "":
		return e.Msg
	case e.Line > 0 && path.Base(e.File) == LabelsFile:
		return fmt.Sprintf("%s:%d: %s", file, e.Line, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s (%s line %d): %s", file, LabelsFile, e.Line, e.Msg)
	default:
		return fmt.Sprintf("%s: %s", file, e.Msg)
	}
}

// shortName is a file name as errors show it: as it is when short and
// printable, else quoted and cut (see Quote).
func shortName(name string) string {
	if len(name) > maxQuote || strings.ContainsFunc(name, unicode.IsControl) {
		return Quote(name)
	}
	return name
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

// LoadDir loads the data set in dir: dir/labels.csv and the images it lists,
// PNG or JPEG up to MaxImageSide on a side, decoded whole. Every problem is
// reported as a *DataError naming the file and, where it applies, the line
// of labels.csv. It keeps every original in memory: for whole data sets use
// OpenDir and Folder.Decode.
func LoadDir(dir string) (*Set, error) {
	return LoadDirN(dir, -1)
}

// LoadDirN loads the first n images listed in dir/labels.csv (all of them
// when there are fewer, or when n < 0), for previews: the labels file is
// read and checked whole, the images after the first n are not opened.
func LoadDirN(dir string, n int) (*Set, error) {
	f, err := OpenDir(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Samples(n)
}

// LoadFS loads a data set laid out like LoadDir's from fsys.
func LoadFS(fsys fs.FS) (*Set, error) {
	return loadFS(fsys, "", MaxImageBytes)
}

// loadFS loads the data set rooted at fsys; prefix is prepended to the file
// names in errors, and no file may be larger than maxFile bytes.
func loadFS(fsys fs.FS, prefix string, maxFile int64) (*Set, error) {
	f, err := openFS(fsys, prefix, maxFile)
	if err != nil {
		return nil, err
	}
	if err := f.CheckSizes(); err != nil {
		return nil, err
	}
	return f.Samples(-1)
}

// parseLabels parses labels.csv; name is used in errors.
func parseLabels(data []byte, name string) ([]Entry, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	for line, rest := 1, data; len(rest) > 0; line++ {
		end := bytes.IndexByte(rest, '\n')
		if end < 0 {
			end = len(rest)
		}
		if end > MaxLineBytes {
			return nil, &DataError{File: name, Line: line, Msg: fmt.Sprintf("line is longer than %d bytes", MaxLineBytes)}
		}
		if line > MaxImages+1 && len(bytes.TrimSpace(rest[:end])) > 0 {
			return nil, &DataError{File: name, Line: line, Msg: fmt.Sprintf("more than %d images listed, the limit of a data set", MaxImages)}
		}
		rest = rest[min(end+1, len(rest)):]
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	var rows []Entry
	seen := make(map[string]int)
	for first := true; ; first = false {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &DataError{File: name, Line: pe.Line, Msg: "malformed line: " + pe.Err.Error()}
			}
			return nil, &DataError{File: name, Msg: err.Error()}
		}
		line, _ := cr.FieldPos(0)
		if first {
			if len(rec) != 2 || !strings.EqualFold(strings.TrimSpace(rec[0]), "filename") || !strings.EqualFold(strings.TrimSpace(rec[1]), "label") {
				return nil, &DataError{File: name, Line: line, Msg: fmt.Sprintf("header is %s, want \"filename,label\"", Quote(strings.Join(rec, ",")))}
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
			return nil, &DataError{File: name, Line: line, Msg: fmt.Sprintf("file name %s must be a path inside the data folder", Quote(rec[0]))}
		}
		label := strings.ToUpper(strings.TrimSpace(rec[1]))
		if err := ValidateLabel(label); err != nil {
			return nil, &DataError{File: name, Line: line, Msg: err.Error()}
		}
		if prev, ok := seen[clean]; ok {
			return nil, &DataError{File: name, Line: line, Msg: fmt.Sprintf("%s is listed twice (first on line %d)", shortName(clean), prev)}
		}
		seen[clean] = line
		if len(rows) >= MaxImages {
			return nil, &DataError{File: name, Line: line, Msg: fmt.Sprintf("more than %d images listed, the limit of a data set", MaxImages)}
		}
		rows = append(rows, Entry{File: clean, Label: label, Line: line})
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
	if st, err := f.Stat(); err == nil && st.Size() > limit {
		return nil, fmt.Errorf("file is larger than the limit of %d bytes", limit)
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

// loadImage reads and decodes one image, checking its header first.
func loadImage(fsys fs.FS, name string, limit int64) (image.Image, error) {
	data, err := readLimited(fsys, name, limit)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errors.New("image file not found")
		}
		return nil, errors.New(pathErrorText(err))
	}
	return DecodeImage(data)
}

// DecodeImage decodes a PNG or JPEG file after checking from its header that
// it is at most MaxImageSide on a side, and returns it as LoadDir does.
func DecodeImage(data []byte) (image.Image, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("cannot decode image (PNG or JPEG expected): %s", Quote(err.Error()))
	}
	if err := checkSize(cfg, format); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("cannot decode %s image: %s", format, Quote(err.Error()))
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
