package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"traded/account"
	"traded/app"
	"traded/organisation"
	"traded/store"
)

var cli = store.Actor{Name: "cli"}

// runUser handles `traded user add`.
func runUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return fmt.Errorf("usage: traded user add --email E --name N --role R [--org URN] [--password-stdin]")
	}
	var email, name, role, org, baseURL *string
	var fromStdin *bool
	return withDB(args[1:], "user add", stderr, func(fs *flag.FlagSet) {
		email = fs.String("email", "", "email address (required)")
		name = fs.String("name", "", "full name (required)")
		role = fs.String("role", "", "school_manager, teacher, finance, admin or adviser (required)")
		org = fs.String("org", "", "URN of the school, for school_manager and teacher")
		fromStdin = fs.Bool("password-stdin", false, "read the password from standard input; without it the user is emailed a link to set one")
		baseURL = fs.String("base-url", "http://localhost:8080", "public address for the emailed link (env TRADED_BASE_URL)")
	}, func(db *store.DB, _ *flag.FlagSet) error {
		in := account.UserInput{Email: *email, Name: *name, Role: account.Role(*role)}
		if *org != "" {
			urn, err := organisation.ParseURN(*org)
			if err != nil {
				return err
			}
			in.URN = urn
		}
		if *fromStdin {
			line, err := bufio.NewReader(stdin).ReadString('\n')
			if err != nil && err != io.EOF {
				return fmt.Errorf("read password: %w", err)
			}
			in.Password = strings.TrimRight(line, "\r\n")
			if in.Password == "" {
				return fmt.Errorf("no password on standard input")
			}
		}
		svc := app.Domains(db).Booking
		svc.Accounts.BaseURL = *baseURL
		u, err := svc.Accounts.CreateUser(ctx, cli, in)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created user %d: %s <%s>, %s\n", u.ID, u.Name, u.Email, u.Role.Label())
		if !u.HasPassword {
			fmt.Fprintf(stdout, "a link to set a password is queued for %s; the running server's mail worker sends it\n", u.Email)
		}
		return nil
	})
}

// runToken handles `traded token create|revoke|list`.
func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: traded token create --email E --name LABEL | revoke --id N | list --email E")
	}
	switch args[0] {
	case "create":
		var email, label *string
		return withDB(args[1:], "token create", stderr, func(fs *flag.FlagSet) {
			email = fs.String("email", "", "the user the token acts as (required)")
			label = fs.String("name", "", "what the token is for (required)")
		}, func(db *store.DB, _ *flag.FlagSet) error {
			token, id, err := app.Domains(db).Accounts.CreateAPIToken(ctx, cli, *email, *label)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "token %d for %s; it is shown once, now:\n", id, *email)
			fmt.Fprintln(stdout, token)
			return nil
		})
	case "revoke":
		var id *int64
		return withDB(args[1:], "token revoke", stderr, func(fs *flag.FlagSet) {
			id = fs.Int64("id", 0, "the token's id (from token list)")
		}, func(db *store.DB, _ *flag.FlagSet) error {
			if err := app.Domains(db).Accounts.RevokeAPIToken(ctx, cli, *id); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "token %d revoked\n", *id)
			return nil
		})
	case "list":
		var email *string
		return withDB(args[1:], "token list", stderr, func(fs *flag.FlagSet) {
			email = fs.String("email", "", "whose tokens")
		}, func(db *store.DB, _ *flag.FlagSet) error {
			svc := app.Domains(db).Booking
			u, err := svc.Accounts.FindUserByEmail(ctx, *email)
			if err != nil {
				return err
			}
			tokens, err := svc.Accounts.FindAPITokens(ctx, u.ID)
			if err != nil {
				return err
			}
			for _, t := range tokens {
				state := "active"
				if t.Revoked {
					state = "revoked"
				}
				fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", strconv.FormatInt(t.ID, 10), t.Label, t.CreatedAt.Format("2006-01-02"), state)
			}
			return nil
		})
	}
	return fmt.Errorf("unknown token command %q (create, revoke, list)", args[0])
}
