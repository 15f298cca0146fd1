package artifacts

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"
	"unicode"

	"gorm.io/gorm"
)

// ChunkSize is the size of every chunk but an artifact's last.
const ChunkSize = 1 << 20

// MaxNameLen caps an artifact's name.
const MaxNameLen = 255

// ErrNotFound is returned when no complete artifact has the name.
var ErrNotFound = errors.New("artifact not found")

// ErrChanged is returned by a Reader whose artifact was replaced or deleted
// while it read.
var ErrChanged = errors.New("artifact replaced or deleted while being read")

// Artifact describes a complete artifact.
type Artifact struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	CreatedAt time.Time `json:"created_at"`
}

type artifactRow struct {
	ID        int64 `gorm:"primaryKey"`
	Name      string
	Size      int64
	SHA256    string `gorm:"column:sha256"`
	ChunkSize int
	Complete  bool
	CreatedAt time.Time
}

func (artifactRow) TableName() string { return "artifacts" }

func (r artifactRow) artifact() Artifact {
	return Artifact{ID: r.ID, Name: r.Name, Size: r.Size, SHA256: r.SHA256, CreatedAt: r.CreatedAt}
}

type chunkRow struct {
	ArtifactID int64 `gorm:"primaryKey"`
	N          int   `gorm:"primaryKey"`
	Data       []byte
}

func (chunkRow) TableName() string { return "artifact_chunks" }

// Store keeps artifacts in the database.
type Store struct {
	db *gorm.DB
}

// NewStore returns a Store over db.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// CheckName returns an error saying what is wrong with name, or nil.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("artifact name is empty")
	case len(name) > MaxNameLen:
		return fmt.Errorf("artifact name is %d bytes; at most %d", len(name), MaxNameLen)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return errors.New("artifact name holds a control character")
	}
	return nil
}

// Create starts writing the artifact name. Nothing is visible under the
// name until Commit; Abort (or a failed Commit) deletes what was written.
func (s *Store) Create(ctx context.Context, name string) (*Writer, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	row := artifactRow{Name: name, ChunkSize: ChunkSize, CreatedAt: time.Now().UTC()}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return nil, fmt.Errorf("create artifact %s: %w", name, err)
	}
	return &Writer{s: s, ctx: ctx, id: row.ID, name: name, created: row.CreatedAt, buf: make([]byte, 0, ChunkSize), hash: sha256.New()}, nil
}

// Put stores everything r yields as the artifact name and returns it.
func (s *Store) Put(ctx context.Context, name string, r io.Reader) (Artifact, error) {
	w, err := s.Create(ctx, name)
	if err != nil {
		return Artifact{}, err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Abort()
		return Artifact{}, fmt.Errorf("store artifact %s: %w", name, err)
	}
	return w.Commit(nil)
}

// Stat returns the complete artifact name, or ErrNotFound.
func (s *Store) Stat(ctx context.Context, name string) (Artifact, error) {
	row, err := s.row(ctx, name)
	return row.artifact(), err
}

func (s *Store) row(ctx context.Context, name string) (artifactRow, error) {
	var row artifactRow
	err := s.db.WithContext(ctx).Where("name = ? AND complete = ?", name, true).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return artifactRow{}, fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	if err != nil {
		return artifactRow{}, fmt.Errorf("artifact %s: %w", name, err)
	}
	return row, nil
}

// List returns the complete artifacts whose names start with prefix, by name.
func (s *Store) List(ctx context.Context, prefix string) ([]Artifact, error) {
	var rows []artifactRow
	q := s.db.WithContext(ctx).Where("complete = ?", true).Order("name")
	if prefix != "" {
		// A range instead of LIKE: no escaping, and the same on both databases.
		q = q.Where("name >= ? AND name < ?", prefix, prefix+"\U0010FFFF")
	}
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("artifacts %s*: %w", prefix, err)
	}
	out := make([]Artifact, len(rows))
	for i, r := range rows {
		out[i] = r.artifact()
	}
	return out, nil
}

// Delete deletes the complete artifact name; it returns ErrNotFound when there is none.
func (s *Store) Delete(ctx context.Context, name string) error {
	res := s.db.WithContext(ctx).Where("name = ? AND complete = ?", name, true).Delete(&artifactRow{})
	if res.Error != nil {
		return fmt.Errorf("delete artifact %s: %w", name, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	return nil
}

// DeletePrefix deletes every artifact whose name starts with prefix (which
// must not be empty), complete or still being written, and says how many: a
// writer of one of them fails at its commit.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) (int64, error) {
	if prefix == "" {
		return 0, errors.New("delete artifacts: empty prefix")
	}
	res := s.db.WithContext(ctx).Where("name >= ? AND name < ?", prefix, prefix+"\U0010FFFF").Delete(&artifactRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("delete artifacts %s*: %w", prefix, res.Error)
	}
	return res.RowsAffected, nil
}

// WithTx returns a Store whose statements run inside tx (its writers too).
func (s *Store) WithTx(tx *gorm.DB) *Store { return &Store{db: tx} }

// DeleteIncomplete deletes what writers that never committed (their process
// died) left, when it was started more than olderThan ago, and says how many.
func (s *Store) DeleteIncomplete(ctx context.Context, olderThan time.Duration) (int64, error) {
	res := s.db.WithContext(ctx).Where("complete = ? AND created_at < ?", false, time.Now().UTC().Add(-olderThan)).Delete(&artifactRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("delete incomplete artifacts: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// Writer writes one artifact chunk by chunk; it is an io.Writer. It is not
// safe for use by several goroutines.
type Writer struct {
	s       *Store
	ctx     context.Context
	id      int64
	name    string
	created time.Time
	buf     []byte
	n       int // chunks written
	size    int64
	hash    hash.Hash
	err     error
	done    bool
}

// Write buffers p and stores each full chunk.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.done {
		return 0, errors.New("write to a committed or aborted artifact")
	}
	written := 0
	for len(p) > 0 {
		k := min(len(p), ChunkSize-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p, written = p[k:], written+k
		if len(w.buf) == ChunkSize {
			if err := w.flush(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

func (w *Writer) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	err := w.s.db.WithContext(w.ctx).Create(&chunkRow{ArtifactID: w.id, N: w.n, Data: w.buf}).Error
	if err != nil {
		w.err = fmt.Errorf("artifact %s chunk %d: %w", w.name, w.n, err)
		return w.err
	}
	w.hash.Write(w.buf)
	w.size += int64(len(w.buf))
	w.n++
	w.buf = w.buf[:0]
	return nil
}

// Commit stores the last chunk and makes the artifact visible under its
// name, replacing the complete one of that name, in one transaction. When
// check is not nil it runs first in that transaction, given the artifact as
// it will be (size and sha256 known), so the caller can also record it, say
// on its run; an error from check (the writer lost its run's lease) leaves
// the stored artifact as it was, deletes what this writer wrote, and is
// returned.
func (w *Writer) Commit(check func(tx *gorm.DB, a Artifact) error) (Artifact, error) {
	if w.done {
		return Artifact{}, errors.New("artifact already committed or aborted")
	}
	if err := w.flush(); err != nil {
		w.Abort()
		return Artifact{}, err
	}
	w.done = true
	sum := hex.EncodeToString(w.hash.Sum(nil))
	var row artifactRow
	err := w.s.db.WithContext(w.ctx).Transaction(func(tx *gorm.DB) error {
		if check != nil {
			a := Artifact{ID: w.id, Name: w.name, Size: w.size, SHA256: sum, CreatedAt: w.created}
			if err := check(tx, a); err != nil {
				return err
			}
		}
		if err := tx.Where("name = ? AND complete = ? AND id <> ?", w.name, true, w.id).Delete(&artifactRow{}).Error; err != nil {
			return err
		}
		res := tx.Model(&artifactRow{}).Where("id = ? AND complete = ?", w.id, false).
			Updates(map[string]any{"size": w.size, "sha256": sum, "complete": true})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errors.New("its rows were deleted before it was committed")
		}
		return tx.Where("id = ?", w.id).Take(&row).Error
	})
	if err != nil {
		w.remove()
		return Artifact{}, fmt.Errorf("commit artifact %s: %w", w.name, err)
	}
	return row.artifact(), nil
}

// Abort deletes what the writer stored; the artifact of that name, if any, stays.
func (w *Writer) Abort() error {
	w.done = true
	return w.remove()
}

func (w *Writer) remove() error {
	ctx := context.WithoutCancel(w.ctx)
	return w.s.db.WithContext(ctx).Where("id = ? AND complete = ?", w.id, false).Delete(&artifactRow{}).Error
}

func hexToBase64(s string) (string, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}
