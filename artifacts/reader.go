package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"

	"gorm.io/gorm"
)

// Reader reads one complete artifact a chunk at a time. It is an
// io.ReadSeeker, so http.ServeContent can answer Range requests from it, and
// an io.ReaderAt, so archive/zip can read a zipped dataset from it.
type Reader struct {
	mu    sync.Mutex
	s     *Store
	ctx   context.Context
	row   artifactRow
	off   int64
	chunk []byte // the chunk holding off, if loaded
	n     int    // its number, -1 when none is loaded
}

// Open opens the complete artifact name for reading, or returns ErrNotFound.
func (s *Store) Open(ctx context.Context, name string) (*Reader, error) {
	row, err := s.row(ctx, name)
	if err != nil {
		return nil, err
	}
	return &Reader{s: s, ctx: ctx, row: row, n: -1}, nil
}

// Artifact describes what the reader reads.
func (r *Reader) Artifact() Artifact { return r.row.artifact() }

// Read reads from the current offset, loading one chunk at a time.
func (r *Reader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, err := r.readAt(p, r.off)
	r.off += int64(k)
	return k, err
}

// ReadAt reads len(p) bytes at offset off without moving Read's offset.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("artifacts: negative offset")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	done := 0
	for done < len(p) {
		k, err := r.readAt(p[done:], off+int64(done))
		done += k
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// readAt copies what the chunk holding off has from off on into p.
func (r *Reader) readAt(p []byte, off int64) (int, error) {
	if off >= r.row.Size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	n := int(off / int64(r.row.ChunkSize))
	if n != r.n {
		if err := r.load(n); err != nil {
			return 0, err
		}
	}
	return copy(p, r.chunk[off-int64(n)*int64(r.row.ChunkSize):]), nil
}

func (r *Reader) load(n int) error {
	var c chunkRow
	err := r.s.db.WithContext(r.ctx).Where("artifact_id = ? AND n = ?", r.row.ID, n).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%s: %w", r.row.Name, ErrChanged)
	}
	if err != nil {
		return fmt.Errorf("artifact %s chunk %d: %w", r.row.Name, n, err)
	}
	want := min(int64(r.row.ChunkSize), r.row.Size-int64(n)*int64(r.row.ChunkSize))
	if int64(len(c.Data)) != want {
		return fmt.Errorf("artifact %s chunk %d holds %d bytes, want %d", r.row.Name, n, len(c.Data), want)
	}
	r.chunk, r.n = c.Data, n
	return nil
}

// Seek sets the offset of the next Read.
func (r *Reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		r.mu.Lock()
		offset += r.off
		r.mu.Unlock()
	case io.SeekEnd:
		offset += r.row.Size
	default:
		return 0, errors.New("artifacts: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("artifacts: seek before the start")
	}
	r.mu.Lock()
	r.off = offset
	r.mu.Unlock()
	return offset, nil
}

// Close releases the chunk the reader holds.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.chunk, r.n = nil, -1
	return nil
}

// Serve answers an HTTP request with the artifact: Content-Length, Range
// requests, the sha256 as a strong ETag (so If-None-Match answers 304) and
// as a Digest header, and filename as the download's name.
func Serve(w http.ResponseWriter, req *http.Request, r *Reader, filename string) {
	a := r.Artifact()
	h := w.Header()
	h.Set("ETag", strconv.Quote(a.SHA256))
	if sum, err := hexToBase64(a.SHA256); err == nil {
		h.Set("Digest", "sha-256="+sum)
	}
	if filename != "" {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/octet-stream")
	}
	http.ServeContent(w, req, "", a.CreatedAt, r)
}
