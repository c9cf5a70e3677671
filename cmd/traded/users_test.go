package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"traded"
	"traded/account"
	"traded/app"
	"traded/booking"
	"traded/store"
)

// runCLIWithInput runs the command line with stdin.
func runCLIWithInput(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// openTestDB opens the database the commands wrote, closed when the test ends.
func openTestDB(t *testing.T, path string) (*store.DB, *booking.Service) {
	t.Helper()
	db, err := store.Open(path, traded.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, app.Domains(db).Booking
}

func TestCLI_UserAdd(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "traded.db")
	// The GIAS sample has rejected rows, so the import reports an error
	// after loading the good ones, 114001 among them.
	_, _, _ = runCLI(t, "import-schools", "--db", path, filepath.Join("..", "..", "organisation", "testdata", "gias_sample.csv"))

	t.Run("PasswordFromStdin", func(t *testing.T) {
		out, _, err := runCLIWithInput(t, "a long enough password\r\n", "user", "add", "--db", path,
			"--email", "Ada@Traded.example", "--name", "Ada Admin", "--role", "admin", "--password-stdin")
		if err != nil {
			t.Fatalf("user add: %v", err)
		}
		if !regexp.MustCompile(`^created user \d+: Ada Admin <ada@traded\.example>, LA admin\n$`).MatchString(out) {
			t.Errorf("output %q", out)
		}
		_, svc := openTestDB(t, path)
		u, err := svc.Accounts.Authenticate(ctx, "ada@traded.example", "a long enough password", "")
		if err != nil || u.Role != account.RoleAdmin {
			t.Errorf("sign in with the password given: %v, %v", u, err)
		}
	})

	t.Run("LinkQueued", func(t *testing.T) {
		out, _, err := runCLI(t, "user", "add", "--db", path, "--email", "tom@hillside.example", "--name", "Tom Teacher",
			"--role", "teacher", "--org", "114001", "--base-url", "https://traded.essex.gov.uk")
		if err != nil {
			t.Fatalf("user add: %v", err)
		}
		if !strings.Contains(out, "Tom Teacher <tom@hillside.example>, Teacher") || !strings.Contains(out, "a link to set a password is queued for tom@hillside.example") {
			t.Errorf("output %q", out)
		}
		db, svc := openTestDB(t, path)
		u, err := svc.Accounts.FindUserByEmail(ctx, "tom@hillside.example")
		if err != nil || u.HasPassword || u.OrganisationURN != 114001 {
			t.Fatalf("user %+v, %v", u, err)
		}
		var body string
		if err := db.Read().QueryRow(`SELECT body_text FROM outbox WHERE to_addr = ? AND kind = 'set_password_link' AND status = 'queued'`, u.Email).Scan(&body); err != nil {
			t.Fatalf("no set-password mail queued: %v", err)
		}
		if !strings.Contains(body, "https://traded.essex.gov.uk/set-password/") {
			t.Errorf("mail body does not link to the base URL:\n%s", body)
		}
	})

	for _, tt := range []struct {
		name  string
		stdin string
		args  []string
		want  string // in the error message
	}{
		{"BadRole", "", []string{"--email", "x1@traded.example", "--name", "X", "--role", "root"}, "Choose a role"},
		{"NoRole", "", []string{"--email", "x2@traded.example", "--name", "X"}, "Choose a role"},
		{"SchoolRoleWithoutOrg", "", []string{"--email", "x3@traded.example", "--name", "X", "--role", "teacher"}, "give its URN"},
		{"OrgNotAURN", "", []string{"--email", "x4@traded.example", "--name", "X", "--role", "teacher", "--org", "Hillside"}, "is not a URN"},
		{"UnknownOrg", "", []string{"--email", "x5@traded.example", "--name", "X", "--role", "teacher", "--org", "999999"}, "no organisation with URN 999999"},
		{"BadEmail", "", []string{"--email", "x6", "--name", "X", "--role", "adviser"}, "email address"},
		{"NoName", "", []string{"--email", "x7@traded.example", "--role", "adviser"}, "full name"},
		{"EmptyStdin", "", []string{"--email", "x8@traded.example", "--name", "X", "--role", "adviser", "--password-stdin"}, "no password on standard input"},
		{"WeakPassword", "short\n", []string{"--email", "x9@traded.example", "--name", "X", "--role", "adviser", "--password-stdin"}, "at least 10 characters"},
		{"Duplicate", "", []string{"--email", "ADA@traded.example", "--name", "X", "--role", "adviser"}, "already an account"},
		{"UnknownFlag", "", []string{"--frobnicate"}, "not defined"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runCLIWithInput(t, tt.stdin, append([]string{"user", "add", "--db", path}, tt.args...)...)
			if err == nil {
				t.Fatalf("succeeded: %q", out)
			}
			if !strings.Contains(userMessage(err), tt.want) {
				t.Errorf("error %q, want it to mention %q", userMessage(err), tt.want)
			}
			if strings.Contains(out, "created") {
				t.Errorf("output %q", out)
			}
		})
	}
	_, svc := openTestDB(t, path)
	if users, err := svc.Accounts.FindUsers(ctx, account.UserFilter{}); err != nil || len(users) != 2 {
		t.Errorf("%d users after the refusals, want 2 (%v)", len(users), err)
	}
	for _, args := range [][]string{{"user"}, {"user", "delete"}} {
		if _, _, err := runCLI(t, args...); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

func TestCLI_Token(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "traded.db")
	if _, _, err := runCLI(t, "user", "add", "--db", path, "--email", "fin@traded.example", "--name", "Fran Finance", "--role", "finance"); err != nil {
		t.Fatal(err)
	}

	out, errOut, err := runCLI(t, "token", "create", "--db", path, "--email", "fin@traded.example", "--name", "ledger export")
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	token := strings.TrimSuffix(out, "\n")
	if !regexp.MustCompile(`^trd_[A-Za-z0-9_-]{43}$`).MatchString(token) {
		t.Fatalf("stdout %q is not one token on one line", out)
	}
	m := regexp.MustCompile(`^token (\d+) for fin@traded\.example; it is shown once, now:\n$`).FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("stderr %q", errOut)
	}
	id := m[1]
	if strings.Contains(errOut, token) {
		t.Error("the token is printed twice")
	}

	_, svc := openTestDB(t, path)
	u, err := svc.Accounts.UserByAPIToken(ctx, token)
	if err != nil || u.Email != "fin@traded.example" {
		t.Fatalf("the printed token: %v, %v", u, err)
	}

	list := func() string {
		t.Helper()
		out, _, err := runCLI(t, "token", "list", "--db", path, "--email", "fin@traded.example")
		if err != nil {
			t.Fatalf("token list: %v", err)
		}
		return out
	}
	if out := list(); !regexp.MustCompile(`^` + id + `\tledger export\t\d{4}-\d{2}-\d{2}\tactive\n$`).MatchString(out) {
		t.Errorf("token list %q", out)
	} else if strings.Contains(out, token) || strings.Contains(out, strings.TrimPrefix(token, "trd_")) {
		t.Error("token list shows the token")
	}

	if out, _, err := runCLI(t, "token", "revoke", "--db", path, "--id", id); err != nil || out != "token "+id+" revoked\n" {
		t.Fatalf("token revoke: %q, %v", out, err)
	}
	if _, err := svc.Accounts.UserByAPIToken(ctx, token); traded.ErrorCode(err) != traded.EUNAUTHORIZED {
		t.Errorf("a revoked token: %v, want EUNAUTHORIZED", err)
	}
	if out := list(); !strings.HasSuffix(out, "\trevoked\n") {
		t.Errorf("token list after revoking %q", out)
	}

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"RevokeAgain", []string{"revoke", "--db", path, "--id", id}, "no active token"},
		{"RevokeNoID", []string{"revoke", "--db", path}, "no active token 0"},
		{"CreateUnknownUser", []string{"create", "--db", path, "--email", "nobody@traded.example", "--name", "x"}, "no user with email"},
		{"CreateNoName", []string{"create", "--db", path, "--email", "fin@traded.example"}, "Give the token a name"},
		{"ListUnknownUser", []string{"list", "--db", path, "--email", "nobody@traded.example"}, "no such user"},
		{"UnknownCommand", []string{"rotate", "--db", path}, "unknown token command"},
		{"NoCommand", nil, "usage"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runCLI(t, append([]string{"token"}, tt.args...)...)
			if err == nil || !strings.Contains(userMessage(err), tt.want) {
				t.Errorf("got %q, %v; want an error mentioning %q", out, err, tt.want)
			}
			if strings.Contains(out, "trd_") {
				t.Errorf("a failed command printed a token: %q", out)
			}
		})
	}
	if tokens, err := svc.Accounts.FindAPITokens(ctx, u.ID); err != nil || len(tokens) != 1 {
		t.Errorf("%d tokens after the refusals, want 1 (%v)", len(tokens), err)
	}
}
