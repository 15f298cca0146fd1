package accounts_test

import (
	"context"
	"errors"
	"testing"

	"github.com/trainyard/trainyard/accounts"
	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/migrations/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestStoreKeepsOnlyHashes: users authenticate by password, sessions and
// tokens by their secrets, and removing a user ends both.
func TestStoreKeepsOnlyHashes(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, testStoreKeepsOnlyHashes)
}

func testStoreKeepsOnlyHashes(t *testing.T, d migrations.Dialect) {
	ctx := context.Background()
	s := accounts.NewStore(dbtest.Open(t, d).Gorm)
	if _, err := s.CreateUser(ctx, "ann", accounts.RoleMember, "long enough"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, "ann", accounts.RoleAdmin, "long enough"); !errors.Is(err, accounts.ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	var fe *accounts.FieldError
	if _, err := s.CreateUser(ctx, "bob", accounts.Role("root"), "long enough"); !errors.As(err, &fe) || fe.Field != "role" {
		t.Fatalf("bad role: %v", err)
	}
	for _, pw := range []string{"wrong one", "", string(make([]byte, 500))} {
		if _, err := s.Authenticate(ctx, "ann", pw); !errors.Is(err, accounts.ErrBadCredentials) {
			t.Errorf("password %q: %v", pw, err)
		}
	}
	if _, err := s.Authenticate(ctx, "nobody", "long enough"); !errors.Is(err, accounts.ErrBadCredentials) {
		t.Errorf("unknown user: %v", err)
	}
	u, err := s.Authenticate(ctx, "ann", "long enough")
	if err != nil || u.Role != accounts.RoleMember {
		t.Fatalf("good password: %+v %v", u, err)
	}
	cookie, sess, err := s.CreateSession(ctx, "ann")
	if err != nil || sess.CSRFToken == "" || sess.CSRFToken == cookie {
		t.Fatalf("session: %+v %v", sess, err)
	}
	if got, err := s.SessionByCookie(ctx, cookie); err != nil || got.User.Name != "ann" || got.CSRFToken != sess.CSRFToken {
		t.Fatalf("session by cookie: %+v %v", got, err)
	}
	tok, _, err := s.CreateToken(ctx, "ann", "ci")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByToken(ctx, tok+"x"); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("altered token: %v", err)
	}
	if err := s.RemoveUser(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByToken(ctx, tok); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("token of a removed user: %v", err)
	}
	if _, err := s.SessionByCookie(ctx, cookie); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("session of a removed user: %v", err)
	}
}
