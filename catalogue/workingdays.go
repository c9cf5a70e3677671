package catalogue

import (
	"sync"
	"time"
)

// Easter returns Easter Sunday of the year (the Gregorian computus of the
// anonymous algorithm in Meeus/Jones/Butcher).
func Easter(year int) time.Time {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
}

// RuleBankHolidays returns the bank holidays that the usual rules give
// England and Wales in the calendar year, date → name: New Year's Day,
// Good Friday, Easter Monday, the first and last Mondays of May, the last
// Monday of August, Christmas Day and Boxing Day, with substitute days for
// those at a weekend. It knows no proclaimed or moved holiday: Holidays
// uses it only for years the published list does not cover.
func RuleBankHolidays(year int) map[string]string {
	out := map[string]string{}
	add := func(d time.Time, name string) { out[d.Format("2006-01-02")] = name }
	date := func(m time.Month, d int) time.Time { return time.Date(year, m, d, 0, 0, 0, 0, time.UTC) }

	// New Year's Day, or the Monday after if it falls at a weekend.
	ny := date(time.January, 1)
	for ny.Weekday() == time.Saturday || ny.Weekday() == time.Sunday {
		ny = ny.AddDate(0, 0, 1)
	}
	add(ny, "New Year’s Day")
	easter := Easter(year)
	add(easter.AddDate(0, 0, -2), "Good Friday")
	add(easter.AddDate(0, 0, 1), "Easter Monday")
	add(firstMonday(year, time.May), "Early May bank holiday")
	add(lastMonday(year, time.May), "Spring bank holiday")
	add(lastMonday(year, time.August), "Summer bank holiday")
	// Christmas Day and Boxing Day, each moved past the weekend and each other.
	xmas, boxing := date(time.December, 25), date(time.December, 26)
	switch xmas.Weekday() {
	case time.Friday:
		boxing = date(time.December, 28) // Boxing Day falls on Saturday: substitute Monday
	case time.Saturday:
		xmas, boxing = date(time.December, 27), date(time.December, 28)
	case time.Sunday:
		xmas, boxing = date(time.December, 27), date(time.December, 26)
	}
	add(xmas, "Christmas Day")
	add(boxing, "Boxing Day")
	return out
}

func firstMonday(year int, m time.Month) time.Time {
	d := time.Date(year, m, 1, 0, 0, 0, 0, time.UTC)
	for d.Weekday() != time.Monday {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

func lastMonday(year int, m time.Month) time.Time {
	d := time.Date(year, m+1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
	for d.Weekday() != time.Monday {
		d = d.AddDate(0, 0, -1)
	}
	return d
}

// Holidays is one state of England and Wales's bank holidays: the
// published list for the years it covers, the rules beyond them, and the
// admins' additions and removals on top. It never changes once made, so
// it is safe for concurrent use; Service.Holidays returns the current one.
// Work out every date of one answer from the same Holidays.
type Holidays struct {
	covered map[int]bool              // years the published list covers
	listed  map[int]map[string]string // year → date → name: the rows in force
	removed map[string]bool           // dates an admin removed (the rules give them no more)

	ruleYears sync.Map // int -> map[string]string, years the list does not cover
}

// newHolidays returns the Holidays of the rows (date → name) in force and
// the removed dates, with the list covering the years given.
func newHolidays(covered map[int]bool, rows map[string]string, removed map[string]bool) *Holidays {
	h := &Holidays{covered: covered, listed: map[int]map[string]string{}, removed: removed}
	for d, name := range rows {
		y := yearOfDate(d)
		if h.listed[y] == nil {
			h.listed[y] = map[string]string{}
		}
		h.listed[y][d] = name
	}
	return h
}

// yearOfDate is the year of a YYYY-MM-DD date.
func yearOfDate(d string) int {
	y := 0
	for _, c := range d[:4] {
		y = y*10 + int(c-'0')
	}
	return y
}

// Covers reports whether the published list covers the calendar year, so
// that only its rows (and admins' changes) count there.
func (h *Holidays) Covers(year int) bool { return h.covered[year] }

// InYear returns the bank holidays of the calendar year, date → name. The
// map is shared: do not modify it.
func (h *Holidays) InYear(year int) map[string]string {
	if h.covered[year] {
		if m := h.listed[year]; m != nil {
			return m
		}
		return map[string]string{}
	}
	if m, ok := h.ruleYears.Load(year); ok {
		return m.(map[string]string)
	}
	m := RuleBankHolidays(year)
	for d := range m {
		if h.removed[d] {
			delete(m, d)
		}
	}
	for d, name := range h.listed[year] {
		m[d] = name
	}
	got, _ := h.ruleYears.LoadOrStore(year, m)
	return got.(map[string]string)
}

// Name returns the name of the bank holiday on the calendar date of d, and
// whether there is one.
func (h *Holidays) Name(d time.Time) (string, bool) {
	name, ok := h.InYear(d.Year())[d.Format("2006-01-02")]
	return name, ok
}

// IsWorkingDay reports whether the calendar date of d (its year, month and
// day, whatever its zone) is Monday to Friday and not a bank holiday.
func (h *Holidays) IsWorkingDay(d time.Time) bool {
	if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		return false
	}
	_, holiday := h.Name(d)
	return !holiday
}

// AddWorkingDays returns the date n working days after (n < 0: before) the
// calendar date d, keeping d's clock time and zone.
func (h *Holidays) AddWorkingDays(d time.Time, n int) time.Time {
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	for n > 0 {
		d = d.AddDate(0, 0, step)
		if h.IsWorkingDay(d) {
			n--
		}
	}
	return d
}
