package accounts

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// Role is what a user may do.
type Role string

// The roles, from most to least allowed.
const (
	// RoleAdmin may do everything, including cancelling anyone's runs.
	RoleAdmin Role = "admin"
	// RoleMember may create experiments and datasets and cancel their own runs.
	RoleMember Role = "member"
	// RoleViewer may only read.
	RoleViewer Role = "viewer"
)

// Roles lists every role.
var Roles = []Role{RoleAdmin, RoleMember, RoleViewer}

// ParseRole returns the role named s, or an error that lists the roles.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("role must be admin, member or viewer, got %q", truncate(s, 40))
}

// CanWrite reports whether the role may change anything (create, cancel, upload).
func (r Role) CanWrite() bool { return r == RoleAdmin || r == RoleMember }

// User is a person who may log in.
type User struct {
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// Token is an API token's public record; its secret is shown once, at creation.
type Token struct {
	ID         string     `json:"id"`
	User       string     `json:"user"`
	Label      string     `json:"label"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// Session is a logged-in browser: its user and the CSRF token its forms and
// scripts must send back.
type Session struct {
	User      User
	CSRFToken string
	ExpiresAt time.Time
}

// Errors the store returns.
var (
	// ErrNotFound is a user, token or session that does not exist (or expired).
	ErrNotFound = errors.New("not found")
	// ErrExists is a user name already taken.
	ErrExists = errors.New("already exists")
	// ErrBadCredentials is a wrong name or password (which of the two is not said).
	ErrBadCredentials = errors.New("wrong user name or password")
)

// Limits on what people type.
const (
	MaxNameLen     = 64
	MinPasswordLen = 8
	// MaxPasswordLen is bcrypt's limit: it reads at most 72 bytes.
	MaxPasswordLen = 72
	MaxLabelLen    = 100
)

// FieldError is an invalid input, naming the field and the limit.
type FieldError struct {
	Field, Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// ValidateName checks a user name: 1..64 letters, digits, '.', '_', '-' or '@'.
func ValidateName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return &FieldError{"name", fmt.Sprintf("user name must be 1..%d characters", MaxNameLen)}
	}
	for _, c := range name {
		if c > unicode.MaxASCII || !(unicode.IsLetter(c) || unicode.IsDigit(c) || c == '.' || c == '_' || c == '-' || c == '@') {
			return &FieldError{"name", fmt.Sprintf("user name may hold only letters, digits, '.', '_', '-' and '@' (found %q)", c)}
		}
	}
	return nil
}

// ValidatePassword checks a new password's length: 8..72 bytes.
func ValidatePassword(pw string) error {
	if len(pw) < MinPasswordLen || len(pw) > MaxPasswordLen {
		return &FieldError{"password", fmt.Sprintf("password must be %d..%d bytes, got %d", MinPasswordLen, MaxPasswordLen, len(pw))}
	}
	return nil
}

// ValidateLabel checks a token's label: at most 100 characters, no control characters.
func ValidateLabel(label string) error {
	if !utf8.ValidString(label) || utf8.RuneCountInString(label) > MaxLabelLen {
		return &FieldError{"label", fmt.Sprintf("label must be at most %d characters of text", MaxLabelLen)}
	}
	for _, c := range label {
		if unicode.IsControl(c) {
			return &FieldError{"label", "label must not hold control characters"}
		}
	}
	return nil
}

// TokenPrefix starts every API token, so a leaked one is easy to recognise.
const TokenPrefix = "tyt_"

// secret returns n random bytes, base64url-encoded without padding.
func secret(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hash is what the database stores of a secret.
func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
