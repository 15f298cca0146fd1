package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/trainyard/trainyard/accounts"
)

const tokenHelp = `Usage:
  trainyard token create --user NAME [--label TEXT] [--data-dir DIR]
  trainyard token list [--user NAME] [--data-dir DIR]
  trainyard token revoke ID|TOKEN [--data-dir DIR]

create prints a new API token alone on stdout; scripts send it as
"Authorization: Bearer TOKEN" and act as that user. Only a hash is stored:
the token cannot be shown again. revoke takes the id from list (or the token).`

func cmdToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, tokenHelp)
		return errors.New("token: name a subcommand (create, list, revoke)")
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("token "+sub, stderr, tokenHelp)
	db := addDBFlags(fs)
	user := fs.String("user", "", "the token's user (create; list filters by it)")
	label := fs.String("label", "", "what the token is for, shown in lists (create)")
	id, rest := leadingArg(args)
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if id == "" && fs.NArg() > 0 {
		id = fs.Arg(0)
	}
	switch sub {
	case "create":
		if *user == "" {
			return errors.New("token create: give --user NAME")
		}
		if err := accounts.ValidateLabel(*label); err != nil {
			return err
		}
	case "revoke":
		if id == "" {
			return errors.New("token revoke: give the token's ID (trainyard token list) or the token")
		}
	case "list":
	default:
		fmt.Fprintln(stderr, tokenHelp)
		return fmt.Errorf("token: unknown subcommand %q (create, list, revoke)", sub)
	}
	store, closeDB, err := db.openAccounts(ctx)
	if err != nil {
		return err
	}
	defer closeDB()
	switch sub {
	case "create":
		sec, t, err := store.CreateToken(ctx, *user, *label)
		if errors.Is(err, accounts.ErrNotFound) {
			return fmt.Errorf("no user %q (trainyard user add)", *user)
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, sec)
		fmt.Fprintf(stderr, "token %s for %s (shown once; revoke with: trainyard token revoke %s)\n", t.ID, t.User, t.ID)
	case "revoke":
		if err := store.RevokeToken(ctx, "", id); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "revoked")
	case "list":
		toks, err := store.Tokens(ctx, *user)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tLABEL\tCREATED\tLAST USED")
		for _, t := range toks {
			last := "never"
			if t.LastUsedAt != nil {
				last = t.LastUsedAt.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.User, t.Label, t.CreatedAt.Format("2006-01-02 15:04"), last)
		}
		return tw.Flush()
	}
	return nil
}
