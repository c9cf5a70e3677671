package web

import (
	"github.com/gofiber/fiber/v2"

	"traded"
	"traded/account"
	"traded/organisation"
)

// Who may see what, in one place.
//
// Every route is registered with an access level (require), checked before
// its handler runs; and every handler that reads or changes something an
// organisation owns asks the policy for its kind (account/policy.go:
// CanSeeOrganisation, CanSeeBilling, CanSeeBooking, CanChangeBooking,
// CanSeeConsultancy), through s.ownOrganisation, s.ownInvoice and the
// like, which answer ENOTFOUND — a 404, as if it did not exist — when the
// caller may not see it. The domain checks changes with the same policies.
// Templates never decide who sees what.
type access int

// The access levels.
const (
	anyone      access = iota // no sign-in needed
	signedIn                  // any signed-in user
	schoolStaff               // school business managers and teachers
	manager                   // school business managers
	finance                   // LA finance and admins
	admin                     // LA admins
)

// roles lists who holds each level (anyone and signedIn are checked apart).
var roles = map[access][]account.Role{
	schoolStaff: {account.RoleSchoolManager, account.RoleTeacher},
	manager:     {account.RoleSchoolManager},
	finance:     {account.RoleFinance, account.RoleAdmin},
	admin:       {account.RoleAdmin},
}

// allowed reports whether u holds level a.
func allowed(u *account.User, a access) bool {
	switch a {
	case anyone:
		return true
	case signedIn:
		return u != nil
	}
	if u == nil {
		return false
	}
	for _, r := range roles[a] {
		if u.Role == r {
			return true
		}
	}
	return false
}

// require admits only callers holding level a: the anonymous are sent to
// sign in (pages) or refused with 401 (API); others are refused with 403.
func (s *Server) require(a access) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u := currentUser(c)
		if allowed(u, a) {
			return c.Next()
		}
		if u == nil {
			if wantsJSON(c) {
				return traded.Errorf(traded.EUNAUTHORIZED, "Sign in first: send an API token as Authorization: Bearer TOKEN.")
			}
			if c.Method() == fiber.MethodGet {
				return c.Redirect(signInURL(c), fiber.StatusSeeOther)
			}
			return traded.Errorf(traded.EUNAUTHORIZED, "Your session has ended. Sign in again.")
		}
		return traded.Errorf(traded.EFORBIDDEN, "Your account (%s) cannot use this page.", u.Role.Label())
	}
}

// ownOrganisation finds the organisation with the URN if the caller may see
// it, and answers ENOTFOUND, exactly as for an unknown URN, if not.
func (s *Server) ownOrganisation(c *fiber.Ctx, urn int64) (*organisation.Organisation, error) {
	org, err := s.orgs.FindByURN(c.UserContext(), urn)
	if err != nil {
		return nil, err
	}
	if !account.CanSeeOrganisation(currentUser(c), org.ID) {
		return nil, traded.Errorf(traded.ENOTFOUND, "There is no organisation with URN %d.", urn)
	}
	return org, nil
}
