package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/account"
	"traded/store"
)

// CSRF protection, as OWASP's "signed double-submit cookie": a form's token
// is an HMAC, under a key kept in the database (web_secrets), of what the
// request is bound to, so the server keeps nothing per visitor and a token
// cannot be moved from one visitor to another:
//
//   - signed in with the session cookie: the session, by its stored key
//     (the SHA-256 of its id). Signing in starts a new session, so the
//     token changes at sign-in, and signing out ends it;
//   - anyone else: a random nonce in the traded_csrf cookie (session-only,
//     HttpOnly), set on the first page with a form and replaced at sign-in
//     and sign-out.
//
// Every unsafe request (POST, PUT, PATCH, DELETE) must carry the token in
// the _csrf form field or the X-CSRF-Token header. Requests with a bearer
// token, and API calls with no cookie, carry no ambient authority and are
// not checked; nor are static files and the health check.
//
// Why not Fiber's csrf middleware: with its default storage it kept every
// token minted in process memory for 12 hours (about 160 bytes for each
// anonymous page view, with no bound: a client could add megabytes a
// second) and voided every open form at a restart; with Session set it
// writes the session on every GET (a write on the single writer for each
// page a signed-in user views) and creates a stored session for every
// anonymous visitor who sees a form. An HMAC needs neither.
const (
	// csrfCookie is the nonce cookie's name; outside --dev it is
	// "__Host-" + csrfCookie, which browsers accept only from this host,
	// over https, for the whole site: a sibling subdomain cannot plant one.
	csrfCookie = "traded_csrf"
	csrfHeader = "X-Csrf-Token"
	csrfField  = "_csrf"
)

// loadCSRFKey returns the CSRF key, making it the first time. Two
// processes starting on a new database at once agree: the first insert
// wins and both read it back.
func loadCSRFKey(ctx context.Context, db *store.DB) ([]byte, error) {
	read := func() ([]byte, error) {
		var key []byte
		err := db.Read().QueryRowContext(ctx, `SELECT value FROM web_secrets WHERE name = 'csrf'`).Scan(&key)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return key, err
	}
	key, err := read()
	if err != nil || len(key) > 0 {
		return key, err
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	if err := db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO web_secrets (name, value) VALUES ('csrf', ?) ON CONFLICT (name) DO NOTHING`, fresh)
		return err
	}); err != nil {
		return nil, fmt.Errorf("csrf key: %w", err)
	}
	if key, err = read(); err == nil && len(key) == 0 {
		err = errors.New("csrf key: not stored")
	}
	return key, err
}

// csrfToken is the token for a binding.
func (s *Server) csrfToken(binding string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte(binding))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfBinding is what this request's token is bound to, and whether it has
// one: the signed-in session, else the nonce cookie.
func (s *Server) csrfBinding(c *fiber.Ctx) (string, bool) {
	if via, _ := c.Locals(localVia).(string); via == "session" && currentUser(c) != nil {
		return "session:" + account.SessionKey(c.Cookies(cookieName)), true
	}
	if n := c.Cookies(s.csrfCookieName()); n != "" {
		return "visitor:" + n, true
	}
	return "", false
}

// csrfSkip is whether a request is outside CSRF protection (see above).
func csrfSkip(c *fiber.Ctx) bool {
	if c.Get(fiber.HeaderAuthorization) != "" {
		return true
	}
	path := c.Path()
	if strings.HasPrefix(path, "/api/") && c.Cookies(cookieName) == "" {
		return true
	}
	return strings.HasPrefix(path, "/static/") || path == "/healthz"
}

// csrfProtection checks the token of every unsafe request and gives every
// page its token (Page.CSRF). A visitor with no session reading a public
// page gets none, and no cookie: those pages have no form for them, and a
// cookie would stop them being cached.
func (s *Server) csrfProtection(c *fiber.Ctx) error {
	if csrfSkip(c) {
		return c.Next()
	}
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		if c.Cookies(cookieName) == "" && publicPaths[c.Path()] {
			return c.Next()
		}
	default:
		sent := c.Get(csrfHeader)
		if sent == "" {
			sent = c.FormValue(csrfField)
		}
		binding, ok := s.csrfBinding(c)
		if !ok || sent == "" || !hmac.Equal([]byte(sent), []byte(s.csrfToken(binding))) {
			return traded.Errorf(traded.EFORBIDDEN, "This form has expired or did not come from this site. Go back, refresh the page and try again.")
		}
	}
	binding, ok := s.csrfBinding(c)
	if !ok {
		binding = "visitor:" + s.newCSRFNonce(c)
	}
	c.Locals(localCSRF, s.csrfToken(binding))
	c.Vary(fiber.HeaderCookie)
	return c.Next()
}

// newCSRFNonce sets a new nonce cookie and returns it: for a visitor's first
// page, and at sign-in and sign-out, so that no token outlives the change.
func (s *Server) newCSRFNonce(c *fiber.Ctx) string {
	n := strings.ToLower(rand.Text())
	c.Cookie(&fiber.Cookie{Name: s.csrfCookieName(), Value: n, Path: "/", HTTPOnly: true, Secure: !s.cfg.Dev, SameSite: "Lax", SessionOnly: true})
	return n
}

func (s *Server) csrfCookieName() string {
	if s.cfg.Dev {
		return csrfCookie
	}
	return "__Host-" + csrfCookie
}
