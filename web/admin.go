package web

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/account"
	"traded/organisation"
	"traded/pricing"
	"traded/store"
)

func (s *Server) adminRoutes(app *fiber.App) {
	app.Get("/admin/organisations", s.require(finance), s.handleOrganisations)
	app.Get("/admin/organisations/:urn", s.require(finance), s.handleOrganisation)
	app.Post("/admin/organisations/:urn/tier", s.require(admin), s.handleTierOverride)
	app.Get("/admin/users", s.require(admin), s.handleUsers)
	app.Post("/admin/users", with(s.handleUserCreate, []fiber.Handler{s.require(admin)}, s.inviteLimits())...)
	app.Post("/admin/users/:id/role", s.require(admin), s.handleUserRole)
	app.Post("/admin/users/:id/deactivate", s.require(admin), s.handleUserActive(false))
	app.Post("/admin/users/:id/reactivate", s.require(admin), s.handleUserActive(true))
	app.Get("/admin/audit", s.require(admin), s.handleAudit)
}

type organisationsPage struct {
	*Page
	Query string
	Tier  string
	Orgs  []*organisation.Organisation
	Total int
	Pager Pager
}

// handleOrganisations lists organisations by name, a page at a time.
func (s *Server) handleOrganisations(c *fiber.Ctx) error {
	p := &organisationsPage{Page: s.page(c, "Organisations"), Query: c.Query("q"), Tier: c.Query("tier")}
	n, err := pageNumber(c, "page")
	if err != nil {
		return err
	}
	f := organisation.Filter{Limit: perPage, Offset: pageOffset(n)}
	if p.Query != "" {
		f.NameLike = &p.Query
	}
	if p.Tier != "" {
		t, err := pricing.ParseTier(p.Tier)
		if err != nil {
			return traded.FieldErrorf("tier", "Choose a tier: maintained, academy or external.")
		}
		f.Tier = &t
	}
	if p.Orgs, p.Total, err = s.orgs.Find(c.UserContext(), f); err != nil {
		return err
	}
	p.Pager = pager(c, "/admin/organisations", "page", "Pages of organisations", n, f.Offset+perPage < p.Total)
	return s.render(c, "organisations", p)
}

type organisationPage struct {
	*Page
	Org     *organisation.Organisation
	History []organisation.TierChange
	Users   []*account.User
	IsAdmin bool
}

func (s *Server) organisationPage(c *fiber.Ctx) (*organisationPage, error) {
	urn, err := organisation.ParseURN(c.Params("urn"))
	if err != nil {
		return nil, traded.Errorf(traded.ENOTFOUND, "There is no organisation with URN %q.", c.Params("urn"))
	}
	org, err := s.ownOrganisation(c, urn)
	if err != nil {
		return nil, err
	}
	p := &organisationPage{Page: s.page(c, org.Name), Org: org, IsAdmin: currentUser(c).Role == account.RoleAdmin}
	p.Breadcrumbs = []NavItem{{Label: "Home", Href: "/"}, {Label: "Organisations", Href: "/admin/organisations"}}
	if p.History, err = s.orgs.TierHistory(c.UserContext(), org.ID); err != nil {
		return nil, err
	}
	if p.IsAdmin {
		if p.Users, err = s.accounts.FindUsers(c.UserContext(), account.UserFilter{OrganisationID: &org.ID}); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (s *Server) handleOrganisation(c *fiber.Ctx) error {
	p, err := s.organisationPage(c)
	if err != nil {
		return err
	}
	return s.render(c, "organisation", p)
}

// handleTierOverride sets or clears an admin's override of a tier.
func (s *Server) handleTierOverride(c *fiber.Ctx) error {
	p, err := s.organisationPage(c)
	if err != nil {
		return err
	}
	var tier pricing.Tier
	if v := c.FormValue("tier"); v != "gias" {
		if tier, err = pricing.ParseTier(v); err != nil {
			return s.renderForm(c, "organisation", p.Page, p, traded.FieldErrorf("tier", "Choose a tier."), "reason")
		}
	}
	u := currentUser(c)
	if err := s.orgs.SetTierOverride(c.UserContext(), u.Actor(c.IP()), p.Org.URN, tier, c.FormValue("reason")); err != nil {
		return s.renderForm(c, "organisation", p.Page, p, err, "reason")
	}
	s.setFlash(c, "The tier has been changed.")
	return c.Redirect(fmt.Sprintf("/admin/organisations/%d", p.Org.URN), fiber.StatusSeeOther)
}

type usersPage struct {
	*Page
	Users []*account.User
	Roles []account.Role
	Pager Pager
}

// usersPage is everyone with an account, by name, a page at a time.
func (s *Server) usersPage(c *fiber.Ctx) (*usersPage, error) {
	p := &usersPage{Page: s.page(c, "Users and roles"), Roles: account.Roles}
	n, err := pageNumber(c, "page")
	if err != nil {
		return nil, err
	}
	if p.Users, err = s.accounts.FindUsers(c.UserContext(), account.UserFilter{Limit: perPage + 1, Offset: pageOffset(n)}); err != nil {
		return nil, err
	}
	var more bool
	p.Users, more = cutPage(p.Users)
	p.Pager = pager(c, "/admin/users", "page", "Pages of users", n, more)
	return p, nil
}

// usersBack is where a change on the users page returns: the page of the
// list the form was on (its hidden page field).
func usersBack(c *fiber.Ctx) string {
	if n, err := strconv.Atoi(c.FormValue("page")); err == nil && n > 1 && n <= maxPage {
		return "/admin/users?page=" + strconv.Itoa(n)
	}
	return "/admin/users"
}

func (s *Server) handleUsers(c *fiber.Ctx) error {
	p, err := s.usersPage(c)
	if err != nil {
		return err
	}
	return s.render(c, "users", p)
}

func (s *Server) handleUserCreate(c *fiber.Ctx) error {
	in := account.UserInput{Email: c.FormValue("email"), Name: c.FormValue("name"), Role: account.Role(c.FormValue("role"))}
	var err error
	if v := strings.TrimSpace(c.FormValue("organisation")); v != "" {
		in.URN, err = organisation.ParseURN(v)
	}
	if err == nil {
		_, err = s.accounts.CreateUser(c.UserContext(), currentUser(c).Actor(c.IP()), in)
	}
	if err != nil {
		p, ferr := s.usersPage(c)
		if ferr != nil {
			return ferr
		}
		return s.renderForm(c, "users", p.Page, p, err, "name", "email", "role", "organisation")
	}
	s.wakeMail()
	s.setFlash(c, "The account has been made and "+in.Email+" has been emailed a link to set a password.")
	return c.Redirect("/admin/users", fiber.StatusSeeOther)
}

func userIDParam(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, traded.Errorf(traded.ENOTFOUND, "There is no such user.")
	}
	return id, nil
}

func (s *Server) handleUserRole(c *fiber.Ctx) error {
	id, err := userIDParam(c)
	if err != nil {
		return err
	}
	var urn int64
	if v := strings.TrimSpace(c.FormValue("organisation")); v != "" {
		if urn, err = organisation.ParseURN(v); err != nil {
			return err
		}
	}
	if err := s.accounts.ChangeRole(c.UserContext(), currentUser(c), c.IP(), id, account.Role(c.FormValue("role")), urn); err != nil {
		return err
	}
	s.setFlash(c, "The role has been changed.")
	return c.Redirect(usersBack(c), fiber.StatusSeeOther)
}

func (s *Server) handleUserActive(active bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := userIDParam(c)
		if err != nil {
			return err
		}
		if err := s.accounts.SetUserActive(c.UserContext(), currentUser(c), c.IP(), id, active); err != nil {
			return err
		}
		s.setFlash(c, map[bool]string{true: "The account has been reactivated.", false: "The account has been deactivated."}[active])
		return c.Redirect(usersBack(c), fiber.StatusSeeOther)
	}
}

type auditPage struct {
	*Page
	Entries []store.AuditEntry
	Action  string
	Actor   string
	Pager   Pager
}

// handleAudit shows the audit log, newest first, a page at a time.
func (s *Server) handleAudit(c *fiber.Ctx) error {
	p := &auditPage{Page: s.page(c, "Audit log"), Action: c.Query("action"), Actor: c.Query("actor")}
	n, err := pageNumber(c, "page")
	if err != nil {
		return err
	}
	p.Entries, err = s.db.FindAudit(c.UserContext(), store.AuditFilter{Action: p.Action, Actor: p.Actor, Limit: perPage + 1, Offset: pageOffset(n)})
	if err != nil {
		return err
	}
	var more bool
	p.Entries, more = cutPage(p.Entries)
	p.Pager = pager(c, "/admin/audit", "page", "Pages of the audit log", n, more)
	return s.render(c, "audit", p)
}
