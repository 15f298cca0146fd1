package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUserAndTokenCommands manages accounts from the command line on a real
// data dir: add, list, tokens printed alone on stdout, revoke, remove.
func TestUserAndTokenCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("correct horse battery\n"), 0o600)
	short := filepath.Join(t.TempDir(), "short")
	os.WriteFile(short, []byte("abc\n"), 0o600)
	cmd := func(args ...string) (string, error) {
		var out, errOut strings.Builder
		err := run(t.Context(), append(args, "--data-dir", dir), &out, &errOut)
		return out.String(), err
	}
	if _, err := cmd("user", "add", "ann", "--role", "member", "--password-file", pw); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "add", "ann", "--role", "member", "--password-file", pw}, "already exists"},
		{[]string{"user", "add", "bob", "--role", "root", "--password-file", pw}, "role must be admin, member or viewer"},
		{[]string{"user", "add", "bob", "--role", "viewer", "--password-file", short}, "password must be 8..72 bytes"},
		{[]string{"user", "add", "b ob", "--role", "viewer", "--password-file", pw}, "user name may hold only"},
		{[]string{"user", "remove", "nobody"}, "not found"},
		{[]string{"token", "create", "--user", "nobody"}, `no user "nobody"`},
		{[]string{"token", "create"}, "--user NAME"},
		// A user exists (ann), so serving on a reachable address asks for --auth.
		{[]string{"serve", "--addr", "0.0.0.0:0"}, "add --auth so every request logs in"},
	} {
		if _, err := cmd(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
	out, err := cmd("user", "list")
	if err != nil || !strings.Contains(out, "ann") || !strings.Contains(out, "member") || strings.Contains(out, "bob") {
		t.Fatalf("user list: %v\n%s", err, out)
	}
	tok, err := cmd("token", "create", "--user", "ann", "--label", "ci")
	if err != nil || !strings.HasPrefix(tok, "tyt_") || strings.Count(tok, "\n") != 1 || len(strings.TrimSpace(tok)) < 40 {
		t.Fatalf("token create printed %q (%v)", tok, err)
	}
	out, err = cmd("token", "list")
	if err != nil || !strings.Contains(out, "ann") || !strings.Contains(out, "ci") || strings.Contains(out, strings.TrimSpace(tok)) {
		t.Fatalf("token list: %v\n%s", err, out)
	}
	if _, err := cmd("token", "revoke", strings.TrimSpace(tok)); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd("token", "revoke", strings.TrimSpace(tok)); err == nil {
		t.Fatal("revoked twice")
	}
	if _, err := cmd("user", "remove", "ann"); err != nil {
		t.Fatal(err)
	}
	if out, _ := cmd("user", "list"); strings.Contains(out, "ann") {
		t.Fatalf("ann still listed: %s", out)
	}
}
