package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/trainyard/trainyard/accounts"
)

const userHelp = `Usage:
  trainyard user add NAME --role admin|member|viewer [--password-file FILE] [--data-dir DIR]
  trainyard user list [--data-dir DIR]
  trainyard user remove NAME [--data-dir DIR]

Manages who may log in. Without --password-file, add asks for the password
(twice, without echo, on a terminal; one line from stdin otherwise).
Admins may do everything; members create experiments and datasets and
cancel their own runs; viewers only read.`

func cmdUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, userHelp)
		return errors.New("user: name a subcommand (add, list, remove)")
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("user "+sub, stderr, userHelp)
	db := addDBFlags(fs)
	role := fs.String("role", "", "admin, member or viewer (add)")
	pwFile := fs.String("password-file", "", "file whose first line is the password (add)")
	name, rest := leadingArg(args)
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	switch sub {
	case "add", "remove":
		if name == "" {
			return fmt.Errorf("user %s: give the user's NAME", sub)
		}
	case "list":
	default:
		fmt.Fprintln(stderr, userHelp)
		return fmt.Errorf("user: unknown subcommand %q (add, list, remove)", sub)
	}
	var r accounts.Role
	var password string
	if sub == "add" {
		var err error
		if r, err = accounts.ParseRole(*role); err != nil {
			return fmt.Errorf("--role: %w", err)
		}
		if err := accounts.ValidateName(name); err != nil {
			return err
		}
		if password, err = readPassword(*pwFile, stdin, stderr); err != nil {
			return err
		}
		if err := accounts.ValidatePassword(password); err != nil {
			return err
		}
	}
	store, closeDB, err := db.openAccounts(ctx)
	if err != nil {
		return err
	}
	defer closeDB()
	switch sub {
	case "add":
		u, err := store.CreateUser(ctx, name, r, password)
		if errors.Is(err, accounts.ErrExists) {
			return fmt.Errorf("user %q already exists (remove it first to change it)", name)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "added %s (%s)\n", u.Name, u.Role)
	case "remove":
		if err := store.RemoveUser(ctx, name); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "removed %s with their tokens and sessions; what they created stays\n", name)
	case "list":
		users, err := store.Users(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, u.Role, u.CreatedAt.Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	}
	return nil
}

// leadingArg splits a leading positional argument (NAME) from the flags after it.
func leadingArg(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

// readPassword reads the password from the file's first line, or asks for it:
// twice without echo on a terminal, one line from stdin otherwise.
func readPassword(file string, stdin io.Reader, stderr io.Writer) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--password-file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		return strings.TrimSuffix(line, "\r"), nil
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the two passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		return "", errors.New("no password: give --password-file FILE or type it on stdin")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
