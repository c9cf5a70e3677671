package booking

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

// oneOffBankHolidays are England's proclaimed bank holidays and the moves of
// the regular ones that the rules below do not give.
var oneOffBankHolidays = map[string]string{
	"2020-05-08": "VE Day (early May bank holiday moved)",
	"2022-06-02": "Spring bank holiday (moved for the Platinum Jubilee)",
	"2022-06-03": "Platinum Jubilee bank holiday",
	"2022-09-19": "State Funeral of Queen Elizabeth II",
	"2023-05-08": "Bank holiday for the coronation of King Charles III",
}

// movedRegular are regular bank holidays that did not fall on their rule's day
// (the rule's date is then not a holiday).
var movedRegular = map[string]bool{
	"2020-05-04": true, // early May moved to 8 May
	"2022-05-30": true, // spring moved to 2 June
}

// BankHolidays returns England and Wales's bank holidays in the calendar year,
// with their names, as dates at midnight UTC.
func BankHolidays(year int) map[string]string {
	out := map[string]string{}
	add := func(d time.Time, name string) {
		key := d.Format("2006-01-02")
		if !movedRegular[key] {
			out[key] = name
		}
	}
	date := func(m time.Month, d int) time.Time { return time.Date(year, m, d, 0, 0, 0, 0, time.UTC) }

	// New Year's Day, or the Monday after if it falls at a weekend.
	ny := date(time.January, 1)
	for ny.Weekday() == time.Saturday || ny.Weekday() == time.Sunday {
		ny = ny.AddDate(0, 0, 1)
	}
	add(ny, "New Year's Day")
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
	for d, name := range oneOffBankHolidays {
		if d[:4] == time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006") {
			out[d] = name
		}
	}
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

// IsWorkingDay reports whether the calendar date of d (its year, month and
// day, whatever its zone) is Monday to Friday and not a bank holiday in England.
func IsWorkingDay(d time.Time) bool {
	if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		return false
	}
	_, holiday := bankHolidaysOf(d.Year())[d.Format("2006-01-02")]
	return !holiday
}

// holidayYears memoises BankHolidays for IsWorkingDay, which every booking
// page and answer calls many times (the free-cancellation date counts back
// working days). The maps it holds are never modified.
var holidayYears sync.Map // int -> map[string]string

func bankHolidaysOf(year int) map[string]string {
	if m, ok := holidayYears.Load(year); ok {
		return m.(map[string]string)
	}
	m, _ := holidayYears.LoadOrStore(year, BankHolidays(year))
	return m.(map[string]string)
}

// AddWorkingDays returns the date n working days after (n < 0: before) the
// calendar date d, keeping d's clock time and zone.
func AddWorkingDays(d time.Time, n int) time.Time {
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	for n > 0 {
		d = d.AddDate(0, 0, step)
		if IsWorkingDay(d) {
			n--
		}
	}
	return d
}
