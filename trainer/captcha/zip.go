package captcha

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// LoadZip loads a data set from a zip archive of size bytes read from r. The
// archive holds labels.csv and the images, either at its top level or inside
// one folder (as when a folder is zipped). maxBytes bounds both the archive's
// size and the total size of its entries once uncompressed. Problems are
// reported as *DataError: not a zip, over the limit, an entry whose path
// leaves the archive, and everything LoadDir checks. Like LoadDir it keeps
// every original in memory.
func LoadZip(r io.ReaderAt, size, maxBytes int64) (*Set, error) {
	fsys, base, err := openZip(r, size, maxBytes)
	if err != nil {
		return nil, err
	}
	return loadFS(fsys, base, min(maxBytes, MaxImageBytes))
}

// ExtractZip checks the zip archive like LoadZip and, when it is valid,
// writes labels.csv and the images it lists into the new folder dest (see
// Folder.Extract), returning the entries of labels.csv. No more than one
// image per core is decoded at a time.
func ExtractZip(r io.ReaderAt, size, maxBytes int64, dest string) ([]Entry, error) {
	fsys, base, err := openZip(r, size, maxBytes)
	if err != nil {
		return nil, err
	}
	f, err := openFS(fsys, base, min(maxBytes, MaxImageBytes))
	if err != nil {
		return nil, err
	}
	if err := f.Extract(dest); err != nil {
		return nil, err
	}
	return f.Entries, nil
}

// Extract checks every image of the folder (headers first, then each image
// decoded and dropped) and, when all are valid, writes labels.csv and the
// images into the new folder dest. The files are written into a temporary
// folder beside dest that is then renamed, so dest either appears complete
// or not at all. dest must not exist yet.
func (f *Folder) Extract(dest string) error {
	if err := f.CheckSizes(); err != nil {
		return err
	}
	if err := f.Decode(-1, func(int, int, Entry, image.Image) error { return nil }); err != nil {
		return err
	}
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("captcha: extract: %s already exists", dest)
	}
	parent := filepath.Dir(dest)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("captcha: extract: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".import-*")
	if err != nil {
		return fmt.Errorf("captcha: extract: %w", err)
	}
	if err := f.write(tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, dest); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("captcha: extract: %w", err)
	}
	return nil
}

// WriteZip writes the folder as a zip archive to w: a fresh labels.csv and
// the files it lists, stored uncompressed (the images are compressed
// already), one file in memory at a time. ExtractZip reads it back.
func (f *Folder) WriteZip(w io.Writer) error {
	zw := zip.NewWriter(w)
	for _, e := range f.Entries {
		data, err := readLimited(f.fsys, e.File, f.maxFile)
		if err != nil {
			return &DataError{File: f.display(e.File), Line: e.Line, Msg: pathErrorText(err)}
		}
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: e.File, Method: zip.Store})
		if err != nil {
			return err
		}
		if _, err := fw.Write(data); err != nil {
			return err
		}
	}
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: LabelsFile, Method: zip.Deflate})
	if err != nil {
		return err
	}
	if _, err := io.WriteString(fw, f.labelsCSV()); err != nil {
		return err
	}
	return zw.Close()
}

// labelsCSV is a fresh labels.csv of the listed files.
func (f *Folder) labelsCSV() string {
	var csv strings.Builder
	csv.WriteString("filename,label\n")
	for _, e := range f.Entries {
		name := e.File
		if strings.ContainsAny(name, ",\"\n\r") {
			name = `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
		}
		fmt.Fprintf(&csv, "%s,%s\n", name, e.Label)
	}
	return csv.String()
}

// write copies the listed files into dir, with a fresh labels.csv.
func (f *Folder) write(dir string) error {
	for _, e := range f.Entries {
		data, err := readLimited(f.fsys, e.File, f.maxFile)
		if err != nil {
			return &DataError{File: f.display(e.File), Line: e.Line, Msg: pathErrorText(err)}
		}
		p := filepath.Join(dir, filepath.FromSlash(e.File))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("captcha: extract: %w", err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("captcha: extract: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, LabelsFile), []byte(f.labelsCSV()), 0o644); err != nil {
		return fmt.Errorf("captcha: extract: %w", err)
	}
	return nil
}

// countSignatures counts the central directory header signatures in the
// archive, up to limit+1: an upper bound on the entries zip.NewReader would
// read (it reads headers while they carry this signature, whatever the
// archive's own count says), found without allocating for each.
func countSignatures(r io.ReaderAt, size int64, limit int) (int, error) {
	sig := []byte("PK\x01\x02")
	buf := make([]byte, 1<<20)
	count := 0
	for off := int64(0); off < size && count <= limit; {
		n, err := r.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if n == 0 && err != nil {
			return 0, err
		}
		count += bytes.Count(buf[:n], sig)
		if off+int64(n) >= size {
			break
		}
		off += int64(n) - int64(len(sig)-1)
	}
	return count, nil
}

// openZip opens and checks a zip archive, returning the file system rooted at
// the folder holding labels.csv and that folder's name within the archive.
func openZip(r io.ReaderAt, size, maxBytes int64) (fs.FS, string, error) {
	if size > maxBytes {
		return nil, "", &DataError{Msg: fmt.Sprintf("zip is %d bytes, over the limit of %d bytes", size, maxBytes)}
	}
	if n, err := countSignatures(r, size, MaxZipEntries); err != nil {
		return nil, "", &DataError{Msg: "cannot read the zip file"}
	} else if n > MaxZipEntries {
		return nil, "", &DataError{Msg: fmt.Sprintf("the zip holds more than %d entries, the limit of a data set", MaxZipEntries)}
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, "", &DataError{Msg: "not a valid zip file: " + Quote(err.Error())}
	}
	var total uint64
	var labelDirs []string
	for _, f := range zr.File {
		if !localPath(f.Name) {
			return nil, "", &DataError{File: f.Name, Msg: "entry path leaves the archive (path traversal); refusing the zip"}
		}
		if f.Mode()&fs.ModeSymlink != 0 {
			return nil, "", &DataError{File: f.Name, Msg: "entry is a symbolic link; refusing the zip"}
		}
		if f.UncompressedSize64 > uint64(maxBytes) {
			return nil, "", &DataError{File: f.Name, Msg: fmt.Sprintf("entry is %d bytes uncompressed, over the limit of %d bytes", f.UncompressedSize64, maxBytes)}
		}
		total += f.UncompressedSize64
		if total > uint64(maxBytes) {
			return nil, "", &DataError{Msg: fmt.Sprintf("zip holds more than the limit of %d bytes uncompressed", maxBytes)}
		}
		if path.Base(f.Name) == LabelsFile && !strings.HasPrefix(f.Name, "__MACOSX/") && !f.FileInfo().IsDir() {
			labelDirs = append(labelDirs, path.Dir(f.Name))
		}
	}
	base := "."
	switch {
	case len(labelDirs) == 0:
		return nil, "", &DataError{File: LabelsFile, Msg: "missing: the zip needs a labels.csv (filename,label) at its top level or in its one folder"}
	case len(labelDirs) > 1:
		found := false
		for _, d := range labelDirs {
			found = found || d == "."
		}
		if !found {
			return nil, "", &DataError{File: LabelsFile, Msg: fmt.Sprintf("the zip holds %d labels.csv files in different folders; expected one", len(labelDirs))}
		}
	default:
		base = labelDirs[0]
	}
	if base == "." {
		return zr, "", nil
	}
	sub, err := fs.Sub(zr, base)
	if err != nil {
		return nil, "", &DataError{File: base, Msg: err.Error()}
	}
	return sub, base, nil
}

// localPath reports whether a zip entry name stays inside the archive: no
// absolute path, drive letter, backslash trick or ".." element.
func localPath(name string) bool {
	n := strings.ReplaceAll(name, `\`, "/")
	if n == "" || strings.HasPrefix(n, "/") || strings.Contains(n, ":") {
		return false
	}
	for _, el := range strings.Split(n, "/") {
		if el == ".." {
			return false
		}
	}
	return true
}
