package experiments

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Tag and note limits.
const (
	MaxTags    = 20
	MaxTagLen  = 40
	MaxNoteLen = 2000
)

// NormalizeTags checks tags (at most MaxTags, each 1 to MaxTagLen letters,
// digits or - _ . : /) and returns them sorted without duplicates.
func NormalizeTags(tags []string) ([]string, error) {
	if len(tags) > MaxTags {
		return nil, fmt.Errorf("at most %d tags, got %d", MaxTags, len(tags))
	}
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" || utf8.RuneCountInString(t) > MaxTagLen {
			return nil, fmt.Errorf("a tag has 1 to %d characters, got %q", MaxTagLen, clipText(t, 80))
		}
		for _, r := range t {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("-_.:/", r) {
				return nil, fmt.Errorf("tag %q: use letters, digits and - _ . : / only", clipText(t, 80))
			}
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out, nil
}

// CheckNote checks a note: at most MaxNoteLen characters, no control
// characters but newlines and tabs.
func CheckNote(note string) error {
	if !utf8.ValidString(note) {
		return errors.New("the note is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(note); n > MaxNoteLen {
		return fmt.Errorf("at most %d characters, got %d", MaxNoteLen, n)
	}
	for _, r := range note {
		if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
			return fmt.Errorf("control character %U in the note", r)
		}
	}
	return nil
}

func clipText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// SetTagsNote replaces the experiment's tags and note (both checked first).
func (s *Store) SetTagsNote(ctx context.Context, id int64, tags []string, note *string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Table("experiments").Where("id = ?", id).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		if note != nil {
			if err := tx.Table("experiments").Where("id = ?", id).Update("note", *note).Error; err != nil {
				return err
			}
		}
		if tags != nil {
			return ReplaceTags(tx, "experiment_tags", "experiment_id", id, tags)
		}
		return nil
	})
}

// ReplaceTags replaces the tags of one row in a tag table (run_tags or
// experiment_tags) inside tx.
func ReplaceTags(tx *gorm.DB, table, key string, id int64, tags []string) error {
	if err := tx.Exec("DELETE FROM "+table+" WHERE "+key+" = ?", id).Error; err != nil {
		return fmt.Errorf("tags: %w", err)
	}
	for _, t := range tags {
		if err := tx.Exec("INSERT INTO "+table+" ("+key+", tag) VALUES (?, ?)", id, t).Error; err != nil {
			return fmt.Errorf("tags: %w", err)
		}
	}
	return nil
}

// Tags returns the experiment's tags, sorted.
func (s *Store) Tags(ctx context.Context, id int64) ([]string, error) {
	out := []string{}
	err := s.db.WithContext(ctx).Table("experiment_tags").Where("experiment_id = ?", id).Order("tag").Pluck("tag", &out).Error
	return out, err
}
