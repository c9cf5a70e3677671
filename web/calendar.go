package web

import (
	"fmt"
	"html/template"
	"strings"

	"github.com/emersion/go-ical"
	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/account"
	"traded/booking"
	"traded/calendar"
)

func (s *Server) calendarRoutes(app *fiber.App) {
	app.Get("/api/v1/bookings/:id/invite.ics", s.require(signedIn), s.handleInviteICS)
	app.Get("/bookings/:id/invite.ics", s.require(signedIn), s.handleInviteICS)
	app.Get("/calendar/:token", s.require(anyone), s.handleFeed)
	app.Post("/account/calendar/reset", s.require(signedIn), s.handleFeedReset)
}

func (s *Server) invites() booking.InviteConfig {
	return booking.InviteConfig{Organizer: s.billing.Config().Supplier.Email, BaseURL: s.cfg.BaseURL}
}

// handleInviteICS answers GET /api/v1/bookings/{id}/invite.ics: the current
// invite of the booking's delegates (a teacher gets only their own place):
// METHOD:REQUEST while any place stands, METHOD:CANCEL once none does. The
// UIDs and SEQUENCE are those of the emailed invites.
func (s *Server) handleInviteICS(c *fiber.Ctx) error {
	b, err := s.ownBooking(c)
	if err != nil {
		return err
	}
	if !booking.HasInvite(b) {
		return traded.Errorf(traded.ENOTFOUND, "Booking %s has no calendar invite until it is confirmed.", b.Reference)
	}
	u := currentUser(c)
	var live, gone []*ical.Component
	cfg, now := s.invites(), s.now()
	for _, d := range b.Delegates {
		if u.Role == account.RoleTeacher && !strings.EqualFold(d.Email, u.Email) {
			continue
		}
		if booking.PlaceCancelled(b, d) {
			gone = append(gone, cfg.InviteEvent(b, d, now))
		} else {
			live = append(live, cfg.InviteEvent(b, d, now))
		}
	}
	method, events := calendar.MethodRequest, live
	if len(live) == 0 {
		method, events = calendar.MethodCancel, gone
	}
	if len(events) == 0 {
		return traded.Errorf(traded.ENOTFOUND, "You have no place on booking %s.", b.Reference)
	}
	cal, err := calendar.Calendar(method, "", events...)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/calendar; charset=utf-8; method="+method)
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.ics"`, b.Reference))
	return c.Send(cal)
}

// handleFeed answers a private subscription feed: every place of the
// person (or school) with the UIDs of the emailed invites, cancelled ones
// marked STATUS:CANCELLED so calendars drop them.
func (s *Server) handleFeed(c *fiber.Ctx) error {
	token := strings.TrimSuffix(c.Params("token"), ".ics")
	name, places, err := s.booking.Feed(c.UserContext(), token)
	if err != nil {
		return err
	}
	cfg, now := s.invites(), s.now()
	var events []*ical.Component
	for _, p := range places {
		events = append(events, cfg.InviteEvent(p.Booking, p.Delegate, now))
	}
	cal, err := calendar.Calendar("", name, events...)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/calendar; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "no-store") // a private feed (securityHeaders)
	return c.Send(cal)
}

// feedLinks are a feed's addresses: https for most calendars, webcal to
// subscribe with one click.
type feedLinks struct {
	Scope string
	Label string
	HTTPS string
	// Webcal is trusted as a URL: html/template would otherwise replace a
	// webcal: link, which it does not know, with #ZgotmplZ. It is built
	// from the configured base URL and our own base64url token.
	Webcal template.URL
}

func (s *Server) feedLinks(c *fiber.Ctx, u *account.User) ([]feedLinks, error) {
	scopes := []string{booking.FeedMine}
	if u.Role == account.RoleSchoolManager {
		scopes = append(scopes, booking.FeedSchool)
	}
	var out []feedLinks
	for _, scope := range scopes {
		token, err := s.booking.FeedToken(c.UserContext(), u, scope)
		if err != nil {
			return nil, err
		}
		https := strings.TrimSuffix(s.cfg.BaseURL, "/") + "/calendar/" + token + ".ics"
		label := "Your own bookings"
		if scope == booking.FeedSchool {
			label = "All of your school's bookings"
		}
		out = append(out, feedLinks{Scope: scope, Label: label, HTTPS: https,
			Webcal: template.URL("webcal://" + strings.TrimPrefix(strings.TrimPrefix(https, "https://"), "http://"))})
	}
	return out, nil
}

func (s *Server) handleFeedReset(c *fiber.Ctx) error {
	if _, err := s.booking.ResetFeed(c.UserContext(), currentUser(c), c.FormValue("scope")); err != nil {
		return err
	}
	s.setFlash(c, "Your calendar feed has a new address: the old one no longer works. Subscribe again with the new one.")
	return c.Redirect("/account#calendar", fiber.StatusSeeOther)
}
