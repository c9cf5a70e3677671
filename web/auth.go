package web

import (
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"
	"github.com/gofiber/fiber/v2/middleware/session"

	"traded"
	"traded/account"
)

// Session lifetimes: a session ends after IdleTimeout without a request, and
// in any case MaxSessionAge after sign-in.
const (
	IdleTimeout   = 2 * time.Hour
	MaxSessionAge = 12 * time.Hour
	// touchEvery limits how often a request rewrites its session to note
	// activity, so browsing does not write on every page.
	touchEvery = 5 * time.Minute
)

// Session keys.
const (
	sessUserID   = "uid"
	sessSignedIn = "at"   // unix seconds of sign-in
	sessSeen     = "seen" // unix seconds of the last noted request
	sessFlash    = "flash"
)

// Locals keys.
const (
	localUser  = "traded.user"
	localCSRF  = "traded.csrf"
	localVia   = "traded.via" // "session" or "token"
	cookieName = "traded_session"
)

func (s *Server) newSessions() *session.Store {
	return session.New(session.Config{
		Storage:        s.accounts.Sessions(),
		Expiration:     MaxSessionAge,
		KeyLookup:      "cookie:" + cookieName,
		CookieHTTPOnly: true,
		CookieSecure:   !s.cfg.Dev,
		CookieSameSite: "Lax",
		// The cookie lasts as long as the browser; the server decides when
		// the session ends.
		CookieSessionOnly: true,
	})
}

// currentUser returns the signed-in user, or nil.
func currentUser(c *fiber.Ctx) *account.User {
	u, _ := c.Locals(localUser).(*account.User)
	return u
}

// authenticate finds who is asking: a bearer token (the API) or a session
// cookie (the pages). A bad token is refused; a lapsed session just leaves
// the request anonymous.
func (s *Server) authenticate(c *fiber.Ctx) error {
	if h := c.Get(fiber.HeaderAuthorization); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return traded.Errorf(traded.EUNAUTHORIZED, "Send the API token as: Authorization: Bearer TOKEN.")
		}
		u, err := s.accounts.UserByAPIToken(c.UserContext(), strings.TrimSpace(token))
		if err != nil {
			return err
		}
		c.Locals(localUser, u)
		c.Locals(localVia, "token")
		return c.Next()
	}
	if c.Cookies(cookieName) == "" {
		return c.Next()
	}
	sess, err := s.sessions.Get(c)
	if err != nil {
		return err
	}
	uid, _ := sess.Get(sessUserID).(int64)
	if uid == 0 {
		return c.Next()
	}
	now := s.now().Unix()
	at, _ := sess.Get(sessSignedIn).(int64)
	seen, _ := sess.Get(sessSeen).(int64)
	u, err := s.accounts.FindUserByID(c.UserContext(), uid)
	if err != nil && traded.ErrorCode(err) != traded.ENOTFOUND {
		return err
	}
	switch {
	case u == nil || !u.Active:
		_ = sess.Destroy()
		return c.Next()
	case now-seen > int64(IdleTimeout/time.Second) || now-at > int64(MaxSessionAge/time.Second):
		_ = sess.Destroy()
		c.Locals("traded.expired", true)
		return c.Next()
	case now-seen > int64(touchEvery/time.Second):
		sess.Set(sessSeen, now)
		if err := sess.Save(); err != nil {
			return err
		}
	}
	c.Locals(localUser, u)
	c.Locals(localVia, "session")
	return c.Next()
}

// signIn starts a fresh session for u (a new id, so a session fixed before
// sign-in is worth nothing), with an optional message for the next page.
func (s *Server) signIn(c *fiber.Ctx, u *account.User, flash ...string) error {
	sess, err := s.sessions.Get(c)
	if err != nil {
		return err
	}
	if err := sess.Regenerate(); err != nil {
		return err
	}
	s.newCSRFNonce(c) // the visitor's forms end with the visit
	now := s.now().Unix()
	sess.Set(sessUserID, u.ID)
	sess.Set(sessSignedIn, now)
	sess.Set(sessSeen, now)
	if len(flash) > 0 {
		sess.Set(sessFlash, flash[0])
	}
	id := sess.ID() // Save hands sess back to Fiber's pool
	if err := sess.Save(); err != nil {
		return err
	}
	return s.accounts.Sessions().Bind(c.UserContext(), id, u.ID)
}

// setFlash leaves a one-off message for the next page the user sees.
func (s *Server) setFlash(c *fiber.Ctx, msg string) {
	if sess, err := s.sessions.Get(c); err == nil {
		sess.Set(sessFlash, msg)
		_ = sess.Save()
	}
}

// takeFlash returns and forgets the flash message, if any.
func (s *Server) takeFlash(c *fiber.Ctx) string {
	if c.Cookies(cookieName) == "" {
		return ""
	}
	sess, err := s.sessions.Get(c)
	if err != nil {
		return ""
	}
	msg, _ := sess.Get(sessFlash).(string)
	if msg != "" {
		sess.Delete(sessFlash)
		_ = sess.Save()
	}
	return msg
}

// publicPaths are the pages anyone may read that show no form to a visitor
// who is not signed in.
var publicPaths = map[string]bool{"/": true, "/programme": true, "/catalogue": true, "/accessibility": true}

// signInLimits rate-limits failed sign-ins: per address, and per account
// (the email typed), counting only failures, over 15 minutes.
func (s *Server) signInLimits() []fiber.Handler {
	reached := func(c *fiber.Ctx) error {
		return traded.Errorf(traded.ETOOMANY, "Too many failed attempts to sign in. Wait 15 minutes and try again, or ask for a sign-in link by email.")
	}
	return []fiber.Handler{
		limiter.New(limiter.Config{
			Max: s.cfg.limit(s.cfg.SignInLimitPerAddress, 20), Expiration: 15 * time.Minute,
			KeyGenerator:           func(c *fiber.Ctx) string { return "ip:" + c.IP() },
			SkipSuccessfulRequests: true, LimitReached: reached,
		}),
		limiter.New(limiter.Config{
			Max: s.cfg.limit(s.cfg.SignInLimitPerAccount, 5), Expiration: 15 * time.Minute,
			KeyGenerator: func(c *fiber.Ctx) string {
				return "acct:" + strings.ToLower(strings.TrimSpace(c.FormValue("email")))
			},
			SkipSuccessfulRequests: true, LimitReached: reached,
		}),
	}
}

// linkLimits stops the emailed-link forms being used to flood a mailbox.
func (s *Server) linkLimits() fiber.Handler {
	return limiter.New(limiter.Config{
		Max: s.cfg.limit(s.cfg.LinkLimitPerAddress, 10), Expiration: 15 * time.Minute,
		KeyGenerator: func(c *fiber.Ctx) string { return "link:" + c.IP() },
		LimitReached: func(c *fiber.Ctx) error {
			return traded.Errorf(traded.ETOOMANY, "Too many requests for emails. Wait 15 minutes and try again.")
		},
	})
}

func (cfg Config) limit(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// signInURL is where an anonymous visitor to a protected page is sent.
func signInURL(c *fiber.Ctx) string {
	return "/sign-in?next=" + url.QueryEscape(string(c.Request().RequestURI()))
}

// safeNext keeps a post-sign-in redirect on this site: a path that starts
// with one slash, with no scheme or host, no backslash and no control
// character (a tab or newline would let a browser read "/\t/host" as
// "//host", and CR LF would split the Location header).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') {
		return "/"
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}
