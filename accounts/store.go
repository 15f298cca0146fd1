package accounts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// BcryptCost is the work factor of stored password hashes.
const BcryptCost = 12

// SessionTTL is how long a login lasts.
const SessionTTL = 14 * 24 * time.Hour

// tokenTouchEvery is how often a token's last_used_at is written at most.
const tokenTouchEvery = time.Minute

type userRow struct {
	Name         string `gorm:"primaryKey"`
	Role         string
	PasswordHash string
	CreatedAt    time.Time
}

func (userRow) TableName() string { return "users" }

func (r userRow) user() User { return User{Name: r.Name, Role: Role(r.Role), CreatedAt: r.CreatedAt} }

type tokenRow struct {
	ID         string `gorm:"primaryKey"`
	UserName   string
	Label      string
	TokenHash  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

func (tokenRow) TableName() string { return "api_tokens" }

func (r tokenRow) token() Token {
	return Token{ID: r.ID, User: r.UserName, Label: r.Label, CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt}
}

type sessionRow struct {
	TokenHash string `gorm:"primaryKey"`
	UserName  string
	CSRFToken string `gorm:"column:csrf_token"`
	CreatedAt time.Time
	ExpiresAt time.Time
}

func (sessionRow) TableName() string { return "sessions" }

// Store keeps users, API tokens and sessions in the database.
type Store struct {
	db *gorm.DB
}

// NewStore returns a Store over db.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// dummyHash (of no one's password, at BcryptCost) is compared against when a
// login names no user, so a wrong name costs as long as a wrong password.
const dummyHash = "$2a$12$hr7K95EaW8dgRPRRQk6M...FdVC0WWIy3EijFdM.jq5BKBwZ5yKei"

// CreateUser stores a new user with a bcrypt hash of password.
func (s *Store) CreateUser(ctx context.Context, name string, role Role, password string) (User, error) {
	if err := ValidateName(name); err != nil {
		return User{}, err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return User{}, &FieldError{"role", err.Error()}
	}
	if err := ValidatePassword(password); err != nil {
		return User{}, err
	}
	if _, err := s.User(ctx, name); err == nil {
		return User{}, fmt.Errorf("user %q: %w", name, ErrExists)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
	if err != nil {
		return User{}, fmt.Errorf("hash password: %w", err)
	}
	row := userRow{Name: name, Role: string(role), PasswordHash: string(h), CreatedAt: time.Now().UTC()}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return User{}, fmt.Errorf("create user %q: %w", name, err)
	}
	return row.user(), nil
}

// User returns the named user, or ErrNotFound.
func (s *Store) User(ctx context.Context, name string) (User, error) {
	row, err := s.userRow(ctx, name)
	return row.user(), err
}

func (s *Store) userRow(ctx context.Context, name string) (userRow, error) {
	var row userRow
	err := s.db.WithContext(ctx).Where("name = ?", name).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return row, fmt.Errorf("user %q: %w", name, err)
	}
	return row, nil
}

// Users returns every user, by name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	var rows []userRow
	if err := s.db.WithContext(ctx).Order("name").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	out := make([]User, len(rows))
	for i, r := range rows {
		out[i] = r.user()
	}
	return out, nil
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&userRow{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// RemoveUser deletes the user with their tokens and sessions. What they
// created stays, still showing their name.
func (s *Store) RemoveUser(ctx context.Context, name string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("user_name = ?", name).Delete(&tokenRow{}).Error; err != nil {
			return fmt.Errorf("remove tokens of %q: %w", name, err)
		}
		if err := tx.Where("user_name = ?", name).Delete(&sessionRow{}).Error; err != nil {
			return fmt.Errorf("remove sessions of %q: %w", name, err)
		}
		res := tx.Where("name = ?", name).Delete(&userRow{})
		if res.Error != nil {
			return fmt.Errorf("remove user %q: %w", name, res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("user %q: %w", name, ErrNotFound)
		}
		return nil
	})
}

// Authenticate returns the user whose name and password these are, or
// ErrBadCredentials. It takes as long for an unknown name as for a wrong password.
func (s *Store) Authenticate(ctx context.Context, name, password string) (User, error) {
	row, err := s.userRow(ctx, name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, err
	}
	h := []byte(row.PasswordHash)
	if err != nil {
		h = []byte(dummyHash)
	}
	if len(password) > MaxPasswordLen {
		password = password[:MaxPasswordLen+1] // still compared, and still wrong
	}
	if cerr := bcrypt.CompareHashAndPassword(h, []byte(password)); cerr != nil || err != nil {
		return User{}, ErrBadCredentials
	}
	return row.user(), nil
}

// CreateToken makes a new API token for the user and returns its secret,
// which is stored only as a hash and never shown again.
func (s *Store) CreateToken(ctx context.Context, user, label string) (string, Token, error) {
	if err := ValidateLabel(label); err != nil {
		return "", Token{}, err
	}
	if _, err := s.User(ctx, user); err != nil {
		return "", Token{}, err
	}
	id := make([]byte, 8)
	rand.Read(id)
	sec := TokenPrefix + secret(32)
	row := tokenRow{ID: hex.EncodeToString(id), UserName: user, Label: label, TokenHash: hash(sec), CreatedAt: time.Now().UTC()}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return "", Token{}, fmt.Errorf("create token: %w", err)
	}
	return sec, row.token(), nil
}

// Tokens returns the user's tokens, newest first; user "" returns everyone's.
func (s *Store) Tokens(ctx context.Context, user string) ([]Token, error) {
	q := s.db.WithContext(ctx).Order("created_at DESC, id")
	if user != "" {
		q = q.Where("user_name = ?", user)
	}
	var rows []tokenRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	out := make([]Token, len(rows))
	for i, r := range rows {
		out[i] = r.token()
	}
	return out, nil
}

// RevokeToken deletes the token with the given id (or the token whose secret
// this is); when user is not "" the token must be theirs. It returns ErrNotFound otherwise.
func (s *Store) RevokeToken(ctx context.Context, user, idOrSecret string) error {
	q := s.db.WithContext(ctx)
	if strings.HasPrefix(idOrSecret, TokenPrefix) {
		q = q.Where("token_hash = ?", hash(idOrSecret))
	} else {
		q = q.Where("id = ?", idOrSecret)
	}
	if user != "" {
		q = q.Where("user_name = ?", user)
	}
	res := q.Delete(&tokenRow{})
	if res.Error != nil {
		return fmt.Errorf("revoke token: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("token %q: %w", truncate(idOrSecret, 20), ErrNotFound)
	}
	return nil
}

// UserByToken returns the user an API token belongs to, or ErrNotFound for
// an unknown or revoked token. It notes when the token was last used.
func (s *Store) UserByToken(ctx context.Context, sec string) (User, error) {
	if !strings.HasPrefix(sec, TokenPrefix) || len(sec) > 200 {
		return User{}, fmt.Errorf("token: %w", ErrNotFound)
	}
	var t tokenRow
	err := s.db.WithContext(ctx).Where("token_hash = ?", hash(sec)).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return User{}, fmt.Errorf("token: %w", ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("token: %w", err)
	}
	u, err := s.User(ctx, t.UserName)
	if err != nil {
		return User{}, err
	}
	now := time.Now().UTC()
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > tokenTouchEvery {
		if err := s.db.WithContext(ctx).Model(&tokenRow{}).Where("id = ?", t.ID).Update("last_used_at", now).Error; err != nil {
			return User{}, fmt.Errorf("token: %w", err)
		}
	}
	return u, nil
}

// CreateSession logs the user in: it returns the cookie value (stored only
// as a hash) and the session with a fresh CSRF token. Expired sessions are
// removed on the way.
func (s *Store) CreateSession(ctx context.Context, user string) (string, Session, error) {
	u, err := s.User(ctx, user)
	if err != nil {
		return "", Session{}, err
	}
	now := time.Now().UTC()
	if err := s.db.WithContext(ctx).Where("expires_at < ?", now).Delete(&sessionRow{}).Error; err != nil {
		return "", Session{}, fmt.Errorf("remove expired sessions: %w", err)
	}
	cookie := secret(32)
	row := sessionRow{TokenHash: hash(cookie), UserName: user, CSRFToken: secret(32), CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	return cookie, Session{User: u, CSRFToken: row.CSRFToken, ExpiresAt: row.ExpiresAt}, nil
}

// SessionByCookie returns the live session of the cookie value, or ErrNotFound.
func (s *Store) SessionByCookie(ctx context.Context, cookie string) (Session, error) {
	if cookie == "" || len(cookie) > 200 {
		return Session{}, fmt.Errorf("session: %w", ErrNotFound)
	}
	var row sessionRow
	err := s.db.WithContext(ctx).Where("token_hash = ?", hash(cookie)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || err == nil && time.Now().After(row.ExpiresAt) {
		return Session{}, fmt.Errorf("session: %w", ErrNotFound)
	}
	if err != nil {
		return Session{}, fmt.Errorf("session: %w", err)
	}
	u, err := s.User(ctx, row.UserName)
	if err != nil {
		return Session{}, err
	}
	return Session{User: u, CSRFToken: row.CSRFToken, ExpiresAt: row.ExpiresAt}, nil
}

// DeleteSession logs the cookie's session out; an unknown cookie is not an error.
func (s *Store) DeleteSession(ctx context.Context, cookie string) error {
	if err := s.db.WithContext(ctx).Where("token_hash = ?", hash(cookie)).Delete(&sessionRow{}).Error; err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}
