package pricing

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Tier is the tariff band an organisation buys at.
type Tier string

// The three tiers of the published tariff.
const (
	Maintained Tier = "maintained" // an Essex LA-maintained establishment
	Academy    Tier = "academy"    // an Essex academy or free school
	External   Tier = "external"   // everyone else, Southend and Thurrock included
)

// Tiers lists the tiers in the order the tariff prints them.
var Tiers = []Tier{Maintained, Academy, External}

// ParseTier returns the tier named s.
func ParseTier(s string) (Tier, error) {
	switch t := Tier(strings.TrimSpace(strings.ToLower(s))); t {
	case Maintained, Academy, External:
		return t, nil
	}
	return "", fmt.Errorf("%q is not a tier (maintained, academy or external)", s)
}

// Essex reports whether the tier is inside Essex LA, where the moderation
// tariff charges the Essex rates.
func (t Tier) Essex() bool { return t == Maintained || t == Academy }

// Label is the tier as the tariff names it.
func (t Tier) Label() string {
	switch t {
	case Maintained:
		return "Essex LA-maintained school"
	case Academy:
		return "Essex academy"
	case External:
		return "Outside Essex school or academy"
	}
	return string(t)
}

// AcademicYear is a school year, 1 September to 31 August, named by the
// calendar year it starts in: AcademicYear(2021) is "2021/22".
type AcademicYear int

// ParseAcademicYear reads "2021/22" (or "2021-22", or "2021/2022").
func ParseAcademicYear(s string) (AcademicYear, error) {
	t := strings.TrimSpace(s)
	first, second, ok := strings.Cut(strings.ReplaceAll(t, "-", "/"), "/")
	if !ok || len(first) != 4 || (len(second) != 2 && len(second) != 4) {
		return 0, fmt.Errorf("%q is not an academic year such as 2021/22", s)
	}
	y, err1 := strconv.Atoi(first)
	n, err2 := strconv.Atoi(second)
	if err1 != nil || err2 != nil || y < 2000 || y > 2200 {
		return 0, fmt.Errorf("%q is not an academic year such as 2021/22", s)
	}
	if len(second) == 4 && n != y+1 || len(second) == 2 && n != (y+1)%100 {
		return 0, fmt.Errorf("%q is not an academic year: the second year must follow the first", s)
	}
	return AcademicYear(y), nil
}

// String returns the year as "2021/22".
func (y AcademicYear) String() string { return fmt.Sprintf("%d/%02d", int(y), (int(y)+1)%100) }

// Starts returns 1 September of the year, midnight in loc.
func (y AcademicYear) Starts(loc *time.Location) time.Time {
	return time.Date(int(y), time.September, 1, 0, 0, 0, 0, loc)
}

// Ends returns the instant the year ends: 1 September of the next, midnight in loc.
func (y AcademicYear) Ends(loc *time.Location) time.Time { return (y + 1).Starts(loc) }

// AcademicYearOf returns the academic year t falls in, judged in loc.
func AcademicYearOf(t time.Time, loc *time.Location) AcademicYear {
	t = t.In(loc)
	if t.Month() >= time.September {
		return AcademicYear(t.Year())
	}
	return AcademicYear(t.Year() - 1)
}
