package web

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/account"
	"traded/organisation"
)

func (s *Server) schoolRoutes(app *fiber.App) {
	app.Get("/school/staff", s.require(manager), s.handleStaff)
	app.Post("/school/staff", with(s.handleStaffInvite, []fiber.Handler{s.require(manager)}, s.inviteLimits())...)
	app.Post("/school/staff/:id/deactivate", s.require(manager), s.handleStaffActive(false))
	app.Post("/school/staff/:id/reactivate", s.require(manager), s.handleStaffActive(true))
	app.Get("/school/settings", s.require(manager), s.handleSchoolSettings)
	app.Post("/school/settings", s.require(manager), s.handleSchoolSettingsSave)
}

type staffPage struct {
	*Page
	Staff []*account.User
}

func (s *Server) staffPage(c *fiber.Ctx) (*staffPage, error) {
	u := currentUser(c)
	p := &staffPage{Page: s.page(c, "Staff accounts")}
	var err error
	p.Staff, err = s.accounts.FindUsers(c.UserContext(), account.UserFilter{OrganisationID: &u.OrganisationID})
	return p, err
}

func (s *Server) handleStaff(c *fiber.Ctx) error {
	p, err := s.staffPage(c)
	if err != nil {
		return err
	}
	return s.render(c, "staff", p)
}

// handleStaffInvite adds a teacher to the manager's school and emails them
// a link to set their password.
func (s *Server) handleStaffInvite(c *fiber.Ctx) error {
	u := currentUser(c)
	_, err := s.accounts.InviteTeacher(c.UserContext(), u, c.IP(), c.FormValue("email"), c.FormValue("name"))
	if err != nil {
		p, ferr := s.staffPage(c)
		if ferr != nil {
			return ferr
		}
		return s.renderForm(c, "staff", p.Page, p, err, "name", "email")
	}
	s.wakeMail()
	s.setFlash(c, "We have emailed "+c.FormValue("email")+" a link to set their password.")
	return c.Redirect("/school/staff", fiber.StatusSeeOther)
}

func (s *Server) handleStaffActive(active bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := strconv.ParseInt(c.Params("id"), 10, 64)
		if err != nil {
			return traded.Errorf(traded.ENOTFOUND, "There is no such user.")
		}
		if err := s.accounts.SetUserActive(c.UserContext(), currentUser(c), c.IP(), id, active); err != nil {
			return err
		}
		msg := "The account has been deactivated: that person can no longer sign in."
		if active {
			msg = "The account has been reactivated."
		}
		s.setFlash(c, msg)
		return c.Redirect("/school/staff", fiber.StatusSeeOther)
	}
}

type schoolSettingsPage struct {
	*Page
	Org *organisation.Organisation
}

func (s *Server) handleSchoolSettings(c *fiber.Ctx) error {
	org, err := s.orgs.FindByID(c.UserContext(), currentUser(c).OrganisationID)
	if err != nil {
		return err
	}
	return s.render(c, "school-settings", &schoolSettingsPage{Page: s.page(c, "Booking settings"), Org: org})
}

func (s *Server) handleSchoolSettingsSave(c *fiber.Ctx) error {
	u := currentUser(c)
	if err := s.orgs.SetBookingSettings(c.UserContext(), u.Actor(c.IP()), u.OrganisationID, c.FormValue("booking_invoices"),
		c.FormValue("teacher_approval") == "yes"); err != nil {
		org, ferr := s.orgs.FindByID(c.UserContext(), u.OrganisationID)
		if ferr != nil {
			return ferr
		}
		p := &schoolSettingsPage{Page: s.page(c, "Booking settings"), Org: org}
		return s.renderForm(c, "school-settings", p.Page, p, err)
	}
	s.setFlash(c, "Your booking settings have been saved.")
	return c.Redirect("/school/settings", fiber.StatusSeeOther)
}
