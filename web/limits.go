package web

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"

	"traded"
)

// Limits on every action that sends mail or checks a secret, beyond the
// sign-in limits (signInLimits): per address (the client address, see
// clientAddress) and per account, over a window, answered with 429 and
// Retry-After when reached. They are Fiber's limiter, in memory: a restart
// forgets them, which costs an attacker a restart they cannot cause, and
// each key lasts only its window, so memory is bounded by the addresses and
// accounts seen in one window.
//
//	action                          per account              per address
//	sign-in link, password reset    3 per email / 15 min     10 / 15 min (LinkLimitPerAddress)
//	password change                 5 failures / 15 min      20 failures / 15 min
//	staff invites (school, admin)   20 / hour                50 / hour
//	consultancy requests            10 / hour                30 / hour
//
// A link or reset request is limited per email typed whether or not it has
// an account, so the limit tells nobody which addresses do.
type actionLimit struct {
	max    int
	window time.Duration
}

// LimitsConfig overrides the defaults above (0 keeps a default); tests
// that make many calls from one address raise them.
type LimitsConfig struct {
	LinkPerEmail          int
	PasswordPerAccount    int
	PasswordPerAddress    int
	InvitesPerAccount     int
	InvitesPerAddress     int
	ConsultancyPerAccount int
	ConsultancyPerAddress int
}

// limit is one limiter: key names what is counted ("" skips the count),
// failuresOnly counts only answers of 400 and above.
func limit(l actionLimit, failuresOnly bool, key func(c *fiber.Ctx) string, message string) fiber.Handler {
	return limiter.New(limiter.Config{
		Max:                    l.max,
		Expiration:             l.window,
		Next:                   func(c *fiber.Ctx) bool { return key(c) == "" },
		KeyGenerator:           key,
		SkipSuccessfulRequests: failuresOnly,
		LimitReached: func(c *fiber.Ctx) error {
			return traded.Errorf(traded.ETOOMANY, "%s", message)
		},
	})
}

func byAddress(prefix string) func(c *fiber.Ctx) string {
	return func(c *fiber.Ctx) string { return prefix + ":ip:" + c.IP() }
}

func byUser(prefix string) func(c *fiber.Ctx) string {
	return func(c *fiber.Ctx) string {
		if u := currentUser(c); u != nil {
			return prefix + ":user:" + strconv.FormatInt(u.ID, 10)
		}
		return ""
	}
}

// emailKey is the email a form or JSON body names, folded, for per-account
// limits on the link forms.
func emailKey(prefix string) func(c *fiber.Ctx) string {
	return func(c *fiber.Ctx) string {
		e := strings.ToLower(strings.TrimSpace(c.FormValue("email")))
		if e == "" {
			return ""
		}
		return prefix + ":email:" + e
	}
}

// linkEmailLimit limits emailed links (sign-in and reset) per email typed.
func (s *Server) linkEmailLimit() fiber.Handler {
	return limit(actionLimit{s.cfg.limit(s.cfg.Limits.LinkPerEmail, 3), 15 * time.Minute}, false, emailKey("link"),
		"Too many emails have been asked for this address. Wait 15 minutes, and check your spam folder for the last one.")
}

// passwordLimits limit failed password changes (a wrong current password is
// a guess at it) per account and address.
func (s *Server) passwordLimits() []fiber.Handler {
	msg := "Too many failed attempts to change your password. Wait 15 minutes and try again."
	return []fiber.Handler{
		limit(actionLimit{s.cfg.limit(s.cfg.Limits.PasswordPerAddress, 20), 15 * time.Minute}, true, byAddress("password"), msg),
		limit(actionLimit{s.cfg.limit(s.cfg.Limits.PasswordPerAccount, 5), 15 * time.Minute}, true, byUser("password"), msg),
	}
}

// inviteLimits limit staff invitations, which send mail to any address.
func (s *Server) inviteLimits() []fiber.Handler {
	msg := "Too many invitations have been sent in the last hour. Wait an hour and try again, or ask Traded services for help."
	return []fiber.Handler{
		limit(actionLimit{s.cfg.limit(s.cfg.Limits.InvitesPerAddress, 50), time.Hour}, false, byAddress("invite"), msg),
		limit(actionLimit{s.cfg.limit(s.cfg.Limits.InvitesPerAccount, 20), time.Hour}, false, byUser("invite"), msg),
	}
}

// consultancyLimits limit consultancy requests, which mail LA staff.
func (s *Server) consultancyLimits() []fiber.Handler {
	msg := "Too many consultancy requests have been made in the last hour. Wait an hour and try again, or email Traded services."
	return []fiber.Handler{
		limit(actionLimit{s.cfg.limit(s.cfg.Limits.ConsultancyPerAddress, 30), time.Hour}, false, byAddress("consultancy"), msg),
		limit(actionLimit{s.cfg.limit(s.cfg.Limits.ConsultancyPerAccount, 10), time.Hour}, false, byUser("consultancy"), msg),
	}
}

// with is handlers then h, for a route.
func with(h fiber.Handler, pre ...[]fiber.Handler) []fiber.Handler {
	var out []fiber.Handler
	for _, p := range pre {
		out = append(out, p...)
	}
	return append(out, h)
}
