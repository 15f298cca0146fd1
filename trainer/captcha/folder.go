package captcha

import (
	"errors"
	"fmt"
	"image"
	"io/fs"
	"os"
	"path"
	"runtime"
	"strings"
	"sync"
)

// Entry is one line of labels.csv: an image and its label.
type Entry struct {
	// File is the image's path relative to the data set's root, "/"
	// separated and cleaned.
	File string
	// Label is the four symbols, upper case.
	Label string
	// Line is the line of labels.csv it is on, counting from 1.
	Line int
}

// Folder is a labelled CAPTCHA data set whose labels.csv has been read and
// checked; its images are opened only when asked for, one at a time per
// worker, so a folder of any size costs the memory of its labels.
type Folder struct {
	fsys    fs.FS
	prefix  string
	maxFile int64
	// Entries are the lines of labels.csv, in order.
	Entries []Entry
	close   func() error
}

// OpenDir opens the data set in dir: it reads and checks dir/labels.csv.
// Files are read through an [os.Root] on dir, and only regular files and
// folders inside it are opened: a symbolic link anywhere below dir is
// refused as a *DataError naming it. Close the folder when done.
func OpenDir(dir string) (*Folder, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, &DataError{Msg: "cannot open data folder: " + pathErrorText(err)}
	}
	f, err := OpenRoot(root)
	if err != nil {
		root.Close()
		return nil, err
	}
	f.close = root.Close
	return f, nil
}

// OpenRoot opens the data set at the top of root, like OpenDir. The caller
// keeps root open while it uses the folder and closes it after.
func OpenRoot(root *os.Root) (*Folder, error) {
	return openFS(RegularFS(root), "", MaxImageBytes)
}

// openFS reads and checks labels.csv of the data set rooted at fsys; prefix
// is prepended to file names in errors, and no file may be larger than
// maxFile bytes.
func openFS(fsys fs.FS, prefix string, maxFile int64) (*Folder, error) {
	f := &Folder{fsys: fsys, prefix: prefix, maxFile: maxFile}
	data, err := readLimited(fsys, LabelsFile, min(maxFile, MaxLabelsBytes))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &DataError{File: f.display(LabelsFile), Msg: "missing: a data set needs a labels.csv with the header filename,label"}
		}
		return nil, &DataError{File: f.display(LabelsFile), Msg: pathErrorText(err)}
	}
	if f.Entries, err = parseLabels(data, f.display(LabelsFile)); err != nil {
		return nil, err
	}
	return f, nil
}

// Close releases the folder's files.
func (f *Folder) Close() error {
	if f.close == nil {
		return nil
	}
	return f.close()
}

// Len returns the number of images listed.
func (f *Folder) Len() int { return len(f.Entries) }

func (f *Folder) display(name string) string { return path.Join(f.prefix, name) }

// CheckSizes reads every listed image's header (not its pixels) and refuses
// the data set when an image is missing, not PNG or JPEG, larger than
// MaxImageSide on a side, or when all of them together hold more than
// MaxTotalPixels: the check that comes before anything is decoded.
func (f *Folder) CheckSizes() error {
	var total int64
	for _, e := range f.Entries {
		cfg, err := f.config(e.File)
		if err != nil {
			return &DataError{File: f.display(e.File), Line: e.Line, Msg: err.Error()}
		}
		total += int64(cfg.Width) * int64(cfg.Height)
		if total > MaxTotalPixels {
			return &DataError{File: f.display(e.File), Line: e.Line, Msg: fmt.Sprintf("the images up to this one hold more than %d pixels in all, the limit of a data set", MaxTotalPixels)}
		}
	}
	return nil
}

// config reads one image's header and checks its size.
func (f *Folder) config(name string) (image.Config, error) {
	file, err := openRegular(f.fsys, name)
	if err != nil {
		return image.Config{}, err
	}
	defer file.Close()
	cfg, format, err := image.DecodeConfig(file)
	if err != nil {
		return cfg, fmt.Errorf("cannot decode image (PNG or JPEG expected): %s", Quote(err.Error()))
	}
	return cfg, checkSize(cfg, format)
}

// checkSize refuses an image header outside 1..MaxImageSide on a side.
func checkSize(cfg image.Config, format string) error {
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxImageSide || cfg.Height > MaxImageSide {
		return fmt.Errorf("%s image is %dx%d pixels; at most %dx%d are accepted", format, cfg.Width, cfg.Height, MaxImageSide, MaxImageSide)
	}
	return nil
}

// Decode decodes the first n listed images (all when n < 0) on every core
// and calls fn with each, from the worker (0..workers-1) that decoded it;
// fn must be safe to call from several workers for different images. No
// image is kept after fn returns. Every image's header is checked before
// its pixels are decoded. The first error (an image's as a *DataError, or
// fn's) stops the work and is returned.
func (f *Folder) Decode(n int, fn func(worker, i int, e Entry, img image.Image) error) error {
	return f.DecodeRange(0, n, fn)
}

// DecodeRange is Decode for the n images listed from index from on (to the
// end when n < 0); fn gets each image's index in the whole list.
func (f *Folder) DecodeRange(from, n int, fn func(worker, i int, e Entry, img image.Image) error) error {
	if from < 0 || from > len(f.Entries) {
		return fmt.Errorf("captcha: decode from image %d of %d", from, len(f.Entries))
	}
	entries := f.Entries[from:]
	if n >= 0 && n < len(entries) {
		entries = entries[:n]
	}
	workers := min(runtime.GOMAXPROCS(0), len(entries))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  int
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if first != nil || next >= len(entries) {
			return 0, false
		}
		next++
		return next - 1, true
	}
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
	}
	for w := range workers {
		wg.Go(func() {
			for {
				i, ok := take()
				if !ok {
					return
				}
				e := entries[i]
				img, err := loadImage(f.fsys, e.File, f.maxFile)
				if err != nil {
					fail(&DataError{File: f.display(e.File), Line: e.Line, Msg: err.Error()})
					return
				}
				if err := fn(w, from+i, e, img); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// Image decodes listed image i alone, checking its header first.
func (f *Folder) Image(i int) (image.Image, error) {
	if i < 0 || i >= len(f.Entries) {
		return nil, fmt.Errorf("captcha: image %d of %d", i, len(f.Entries))
	}
	e := f.Entries[i]
	img, err := loadImage(f.fsys, e.File, f.maxFile)
	if err != nil {
		return nil, &DataError{File: f.display(e.File), Line: e.Line, Msg: err.Error()}
	}
	return img, nil
}

// Samples decodes the first n images (all when n < 0) into a Set of
// originals; meant for a handful of images (previews, tests), not for
// whole data sets.
func (f *Folder) Samples(n int) (*Set, error) {
	count := len(f.Entries)
	if n >= 0 && n < count {
		count = n
	}
	samples := make([]Sample, count)
	err := f.Decode(count, func(_, i int, e Entry, img image.Image) error {
		samples[i] = Sample{File: e.File, Label: e.Label, Image: img}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Set{Samples: samples}, nil
}

// errSymlink is the error of opening a symbolic link through RegularFS.
var errSymlink = errors.New("is a symbolic link; only regular files inside the data folder are read")

// errIrregular is the error of opening something that is neither a regular
// file nor a folder through RegularFS.
var errIrregular = errors.New("is not a regular file")

// RegularFS returns the files of root as an fs.FS that opens only regular
// files and folders: a name with a symbolic link (or a device, socket or
// pipe) at any step is refused, not followed. Each step is checked with
// Lstat and the opened file is the one checked.
func RegularFS(root *os.Root) fs.FS { return regularFS{root} }

type regularFS struct{ root *os.Root }

func (r regularFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	var last fs.FileInfo
	if name == "." {
		st, err := r.root.Lstat(".")
		if err != nil {
			return nil, err
		}
		last = st
	} else {
		parts := strings.Split(name, "/")
		for i := range parts {
			step := strings.Join(parts[:i+1], "/")
			st, err := r.root.Lstat(step)
			if err != nil {
				return nil, err
			}
			var bad error
			switch {
			case st.Mode()&fs.ModeSymlink != 0:
				bad = errSymlink
			case i < len(parts)-1 && !st.IsDir():
				bad = errors.New("is not a folder")
			case !st.IsDir() && !st.Mode().IsRegular():
				bad = errIrregular
			}
			if bad != nil && step != name {
				bad = fmt.Errorf("its folder %s %w", Quote(step), bad)
			}
			if bad != nil {
				return nil, &fs.PathError{Op: "open", Path: name, Err: bad}
			}
			last = st
		}
	}
	f, err := r.root.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil || !os.SameFile(st, last) {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("changed while it was opened")}
	}
	return f, nil
}

// openRegular opens name of fsys, refusing a folder.
func openRegular(fsys fs.FS, name string) (fs.File, error) {
	f, err := fsys.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errors.New("image file not found")
		}
		return nil, errors.New(pathErrorText(err))
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, errors.New("is a folder, not a file")
	}
	return f, nil
}

// pathErrorText is err without the path an *fs.PathError carries (which may
// be a server path): "is a symbolic link ...", "permission denied".
func pathErrorText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// maxQuote is the most characters of what was sent that an error quotes.
const maxQuote = 80

// Quote returns s as a Go-quoted string of at most 80 characters of s,
// ending in "..." when it was cut: what an error may echo of its input.
func Quote(s string) string {
	cut := false
	if n := 0; len(s) > maxQuote {
		for i := range s {
			if n == maxQuote {
				s, cut = s[:i], true
				break
			}
			n++
		}
	}
	q := fmt.Sprintf("%q", s)
	if cut {
		q += "..."
	}
	return q
}
