package account

import "strings"

// Who may read, change and pay for what: one policy function per kind of
// resource, used by the pages, the API and the domain's own checks alike
// (web/authz.go routes each request to an access level first; these decide
// for the one thing asked about). Someone a policy refuses is answered
// ENOTFOUND, a 404 exactly as for something that does not exist, so that
// what other schools have is not even confirmed. The route × role matrix
// test (web/authz_test.go) holds every route to these.
//
// LA roles: finance and admins read everything; admins change bookings;
// an adviser reads the consultancy they are assigned. School roles: a
// school business manager reads and changes their own school's things and
// pays its invoices; a teacher reads their school, the bookings they made
// or are on, and changes the ones they made.

// Resource is what a policy decides about, as the domain that holds it
// says (booking.Booking.Resource, consultancy.Request.Resource): the
// organisation it belongs to, the user who made it (a booking's booker),
// the people on it (a booking's delegates, by email) and the user assigned
// to serve it (a consultancy request's adviser).
type Resource struct {
	OrganisationID int64
	CreatedBy      int64
	People         []string
	AssignedTo     int64
}

// CanSeeOrganisation is the rule for an organisation and everything it
// owns that has no rule of its own.
func CanSeeOrganisation(u *User, orgID int64) bool {
	if u == nil {
		return false
	}
	switch u.Role {
	case RoleAdmin, RoleFinance:
		return true
	case RoleSchoolManager, RoleTeacher:
		return u.OrganisationID == orgID
	}
	return false
}

// CanSeeBilling is the rule for an organisation's invoices, credit notes,
// statements and payments, and for paying them: finance and admins, and
// the school's business manager; not teachers.
func CanSeeBilling(u *User, orgID int64) bool {
	return u != nil && (u.Role == RoleFinance || u.Role == RoleAdmin ||
		u.Role == RoleSchoolManager && u.OrganisationID == orgID)
}

// CanSeeBooking is the rule for reading a booking: LA finance and admins
// see all; a school manager their school's; a teacher those they made or
// are a delegate on.
func CanSeeBooking(u *User, b Resource) bool {
	if u == nil {
		return false
	}
	switch u.Role {
	case RoleAdmin, RoleFinance:
		return true
	case RoleSchoolManager:
		return u.OrganisationID == b.OrganisationID
	case RoleTeacher:
		if u.OrganisationID != b.OrganisationID {
			return false
		}
		if b.CreatedBy == u.ID {
			return true
		}
		for _, email := range b.People {
			if strings.EqualFold(email, u.Email) {
				return true
			}
		}
	}
	return false
}

// CanChangeBooking is the rule for changing a booking (cancelling,
// replacing delegates, confirming): an admin, the school's manager, or the
// teacher who made it.
func CanChangeBooking(u *User, b Resource) bool {
	if u == nil {
		return false
	}
	switch u.Role {
	case RoleAdmin:
		return true
	case RoleSchoolManager:
		return u.OrganisationID == b.OrganisationID
	case RoleTeacher:
		return u.OrganisationID == b.OrganisationID && u.ID == b.CreatedBy
	}
	return false
}

// CanSeeConsultancy is the rule for a consultancy request and its visits:
// LA finance and admins see every request; a school manager their
// school's; an adviser those they are assigned.
func CanSeeConsultancy(u *User, c Resource) bool {
	if u == nil {
		return false
	}
	switch u.Role {
	case RoleAdmin, RoleFinance:
		return true
	case RoleSchoolManager:
		return u.OrganisationID == c.OrganisationID
	case RoleAdviser:
		return c.AssignedTo == u.ID
	}
	return false
}
