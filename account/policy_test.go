package account_test

import (
	"testing"

	"traded/account"
	"traded/booking"
	"traded/consultancy"
)

// TestPolicies: each resource's rule for each role, including another
// school's staff and a teacher who neither made nor is on the booking.
func TestPolicies(t *testing.T) {
	const mine, theirs = 1, 2
	admin := &account.User{ID: 10, Role: account.RoleAdmin}
	fin := &account.User{ID: 11, Role: account.RoleFinance}
	adviser := &account.User{ID: 12, Role: account.RoleAdviser}
	mgr := &account.User{ID: 13, Role: account.RoleSchoolManager, OrganisationID: mine}
	other := &account.User{ID: 14, Role: account.RoleSchoolManager, OrganisationID: theirs}
	booker := &account.User{ID: 15, Role: account.RoleTeacher, OrganisationID: mine, Email: "booker@school.example"}
	onIt := &account.User{ID: 16, Role: account.RoleTeacher, OrganisationID: mine, Email: "Delegate@School.example"}
	colleague := &account.User{ID: 17, Role: account.RoleTeacher, OrganisationID: mine, Email: "colleague@school.example"}
	// Built as the domains build them, so the test also holds what each
	// domain says about its own.
	b := (&booking.Booking{OrganisationID: mine, BookedBy: booker.ID, Delegates: []*booking.Delegate{{Email: "delegate@school.example"}}}).Resource()
	c := (&consultancy.Request{OrganisationID: mine, AdviserID: adviser.ID}).Resource()
	for _, tc := range []struct {
		name                                      string
		u                                         *account.User
		org, billing, see, change, seeConsultancy bool
	}{
		{"nobody", nil, false, false, false, false, false},
		{"admin", admin, true, true, true, true, true},
		{"finance", fin, true, true, true, false, true},
		{"adviser", adviser, false, false, false, false, true},
		{"manager", mgr, true, true, true, true, true},
		{"another school's manager", other, false, false, false, false, false},
		{"the teacher who booked", booker, true, false, true, true, false},
		{"a teacher on the booking", onIt, true, false, true, false, false},
		{"a colleague", colleague, true, false, false, false, false},
	} {
		got := [5]bool{account.CanSeeOrganisation(tc.u, mine), account.CanSeeBilling(tc.u, mine), account.CanSeeBooking(tc.u, b), account.CanChangeBooking(tc.u, b), account.CanSeeConsultancy(tc.u, c)}
		want := [5]bool{tc.org, tc.billing, tc.see, tc.change, tc.seeConsultancy}
		if got != want {
			t.Errorf("%s: organisation, billing, see booking, change booking, consultancy = %v, want %v", tc.name, got, want)
		}
	}
}
