package web

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/account"
)

func (s *Server) accountRoutes(app *fiber.App) {
	app.Get("/sign-in", s.require(anyone), s.handleSignInForm)
	app.Post("/sign-in", append([]fiber.Handler{s.require(anyone)}, append(s.signInLimits(), s.handleSignIn)...)...)
	// One limiter for both emailed-link forms: 10 requests per address in 15 minutes in all.
	linkLimit := s.linkLimits()
	app.Get("/sign-in/email", s.require(anyone), s.handleLinkRequestForm)
	linkEmail := s.linkEmailLimit()
	app.Post("/sign-in/email", s.require(anyone), linkLimit, linkEmail, s.handleLinkRequest)
	app.Get("/sign-in/link/:token", s.require(anyone), s.handleLinkPage("sign_in"))
	app.Post("/sign-in/link/:token", s.require(anyone), s.handleLinkUse("sign_in"))
	app.Get("/forgot-password", s.require(anyone), s.handleForgotForm)
	app.Post("/forgot-password", s.require(anyone), linkLimit, linkEmail, s.handleForgot)
	app.Get("/reset-password/:token", s.require(anyone), s.handleLinkPage("reset_password"))
	app.Post("/reset-password/:token", s.require(anyone), s.handleLinkUse("reset_password"))
	app.Get("/set-password/:token", s.require(anyone), s.handleLinkPage("set_password"))
	app.Post("/set-password/:token", s.require(anyone), s.handleLinkUse("set_password"))
	app.Post("/sign-out", s.require(anyone), s.handleSignOut)
	app.Get("/account", s.require(signedIn), s.handleAccount)
	app.Post("/account/password", with(s.handlePasswordChange, []fiber.Handler{s.require(signedIn)}, s.passwordLimits())...)
}

type signInPage struct {
	*Page
	Next string
}

func (s *Server) handleSignInForm(c *fiber.Ctx) error {
	if currentUser(c) != nil {
		return c.Redirect(safeNext(c.Query("next")), fiber.StatusSeeOther)
	}
	return s.render(c, "sign-in", &signInPage{Page: s.page(c, "Sign in"), Next: safeNext(c.Query("next"))})
}

func (s *Server) handleSignIn(c *fiber.Ctx) error {
	p := &signInPage{Page: s.page(c, "Sign in"), Next: safeNext(c.FormValue("next"))}
	email, password := strings.TrimSpace(c.FormValue("email")), c.FormValue("password")
	var err error
	switch {
	case email == "":
		err = traded.FieldErrorf("email", "Enter your email address.")
	case password == "":
		err = traded.FieldErrorf("password", "Enter your password.")
	}
	var u *account.User
	if err == nil {
		u, err = s.accounts.Authenticate(c.UserContext(), email, password, c.IP())
	}
	if err != nil {
		if traded.ErrorCode(err) == traded.EUNAUTHORIZED {
			err = &traded.Error{Code: traded.EUNAUTHORIZED, Field: "email", Message: traded.ErrorMessage(err)}
		}
		return s.renderForm(c, "sign-in", p.Page, p, err, "email")
	}
	if err := s.signIn(c, u); err != nil {
		return err
	}
	return c.Redirect(p.Next, fiber.StatusSeeOther)
}

func (s *Server) handleSignOut(c *fiber.Ctx) error {
	if u := currentUser(c); u != nil {
		if err := s.accounts.RecordSignOut(c.UserContext(), u, c.IP()); err != nil {
			return err
		}
	}
	if sess, err := s.sessions.Get(c); err == nil {
		if err := sess.Destroy(); err != nil {
			return err
		}
	}
	if currentUser(c) != nil {
		// Forms from now on are a new visitor's.
		c.Locals(localCSRF, s.csrfToken("visitor:"+s.newCSRFNonce(c)))
	}
	p := s.page(c, "You have signed out")
	p.User, p.Nav = nil, navFor[""]
	p.Message = "You have signed out. Close your browser if you are on a shared computer."
	return s.render(c, "message", p)
}

func (s *Server) handleLinkRequestForm(c *fiber.Ctx) error {
	return s.render(c, "sign-in-email", s.page(c, "Get a sign-in link by email"))
}

func (s *Server) handleLinkRequest(c *fiber.Ctx) error {
	p := s.page(c, "Get a sign-in link by email")
	if err := s.accounts.SendSignInLink(c.UserContext(), c.FormValue("email"), c.IP()); err != nil {
		return s.renderForm(c, "sign-in-email", p, nil, err, "email")
	}
	s.wakeMail()
	p.Title = "Check your email"
	p.Message = "If " + strings.TrimSpace(c.FormValue("email")) + " has an account, we have sent it a link to sign in. The link works once, within 15 minutes."
	return s.render(c, "message", p)
}

func (s *Server) handleForgotForm(c *fiber.Ctx) error {
	return s.render(c, "forgot-password", s.page(c, "Reset your password"))
}

func (s *Server) handleForgot(c *fiber.Ctx) error {
	p := s.page(c, "Reset your password")
	if err := s.accounts.SendPasswordReset(c.UserContext(), c.FormValue("email"), c.IP()); err != nil {
		return s.renderForm(c, "forgot-password", p, nil, err, "email")
	}
	s.wakeMail()
	p.Title = "Check your email"
	p.Message = "If " + strings.TrimSpace(c.FormValue("email")) + " has an account, we have sent it a link to reset the password. The link works once, within an hour."
	return s.render(c, "message", p)
}

type linkPage struct {
	*Page
	Purpose string
	Action  string
	Who     *account.User
}

var linkTitles = map[string]string{
	"sign_in":        "Sign in",
	"reset_password": "Choose a new password",
	"set_password":   "Set your password",
}

// handleLinkPage shows what an emailed link will do, with a button: the
// link is spent only by the POST, so mail scanners that open links do not
// use it up.
func (s *Server) handleLinkPage(purpose string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := &linkPage{Page: s.page(c, linkTitles[purpose]), Purpose: purpose, Action: c.Path()}
		u, err := s.accounts.CheckLink(c.UserContext(), c.Params("token"), purpose)
		if err != nil {
			return s.linkFailed(c, p.Page, err)
		}
		p.Who = u
		return s.render(c, "link", p)
	}
}

func (s *Server) linkFailed(c *fiber.Ctx, p *Page, err error) error {
	if err != account.ErrLinkUsed {
		return err
	}
	c.Status(fiber.StatusGone)
	p.Title = "This link has expired"
	p.Message = traded.ErrorMessage(err)
	return s.render(c, "link-expired", p)
}

func (s *Server) handleLinkUse(purpose string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := &linkPage{Page: s.page(c, linkTitles[purpose]), Purpose: purpose, Action: c.Path()}
		token := c.Params("token")
		if purpose != "sign_in" && c.FormValue("password") != c.FormValue("confirm") {
			who, err := s.accounts.CheckLink(c.UserContext(), token, purpose)
			if err != nil {
				return s.linkFailed(c, p.Page, err)
			}
			p.Who = who
			return s.renderForm(c, "link", p.Page, p, traded.FieldErrorf("confirm", "The passwords do not match."))
		}
		u, err := s.accounts.UseLink(c.UserContext(), token, purpose, c.FormValue("password"), c.IP())
		if err == account.ErrLinkUsed {
			return s.linkFailed(c, p.Page, err)
		} else if err != nil {
			p.Who, _ = s.accounts.CheckLink(c.UserContext(), token, purpose)
			return s.renderForm(c, "link", p.Page, p, err)
		}
		var flash []string
		if purpose != "sign_in" {
			flash = append(flash, "Your password has been set. You are signed in.")
		}
		// The flash goes into the new session itself: a second session
		// lookup here would make a fresh one and lose the sign-in.
		if err := s.signIn(c, u, flash...); err != nil {
			return err
		}
		return c.Redirect("/", fiber.StatusSeeOther)
	}
}

type accountPage struct {
	*Page
	Tokens []*account.APIToken
	Feeds  []feedLinks
}

func (s *Server) handleAccount(c *fiber.Ctx) error {
	p := &accountPage{Page: s.page(c, "Your account")}
	var err error
	if p.Tokens, err = s.accounts.FindAPITokens(c.UserContext(), currentUser(c).ID); err != nil {
		return err
	}
	if p.Feeds, err = s.feedLinks(c, currentUser(c)); err != nil {
		return err
	}
	return s.render(c, "account", p)
}

func (s *Server) handlePasswordChange(c *fiber.Ctx) error {
	u := currentUser(c)
	p := &accountPage{Page: s.page(c, "Your account")}
	var err error
	if c.FormValue("password") != c.FormValue("confirm") {
		err = traded.FieldErrorf("confirm", "The new passwords do not match.")
	} else {
		keep := ""
		if sess, serr := s.sessions.Get(c); serr == nil {
			keep = account.SessionKey(sess.ID())
		}
		// This browser stays signed in; every other session of u ends.
		err = s.accounts.ChangePassword(c.UserContext(), u, c.IP(), c.FormValue("current"), c.FormValue("password"), keep)
	}
	if err != nil {
		p.Tokens, _ = s.accounts.FindAPITokens(c.UserContext(), u.ID)
		p.Feeds, _ = s.feedLinks(c, u)
		return s.renderForm(c, "account", p.Page, p, err)
	}
	s.setFlash(c, "Your password has been changed.")
	return c.Redirect("/account", fiber.StatusSeeOther)
}

// wakeMail tells the mail worker that mail was queued.
func (s *Server) wakeMail() {
	if s.cfg.Mail != nil {
		s.cfg.Mail.Wake()
	}
}
