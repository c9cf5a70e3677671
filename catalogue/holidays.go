package catalogue

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"traded"
	"traded/store"
)

// shippedJSON is GOV.UK's list of bank holidays in England and Wales
// (https://www.gov.uk/bank-holidays.json, its england-and-wales division),
// as transcribed into the repository: see data/README.md.
//
//go:embed data/bank-holidays.json
var shippedJSON []byte

// ShippedHoliday is one event of the published list, in GOV.UK's fields.
type ShippedHoliday struct {
	Title   string `json:"title"`
	Date    string `json:"date"`
	Notes   string `json:"notes"`
	Bunting bool   `json:"bunting"`
}

// ParseBankHolidays reads a list in the shape of GOV.UK's
// bank-holidays.json and returns the england-and-wales events in date
// order. It returns EINVALID for a list without that division, a date
// that is not YYYY-MM-DD, a title missing or a date given twice.
func ParseBankHolidays(data []byte) ([]ShippedHoliday, error) {
	var doc map[string]struct {
		Division string           `json:"division"`
		Events   []ShippedHoliday `json:"events"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, traded.Errorf(traded.EINVALID, "The bank holiday list is not JSON: %v.", err)
	}
	div, ok := doc["england-and-wales"]
	if !ok || len(div.Events) == 0 {
		return nil, traded.Errorf(traded.EINVALID, "The bank holiday list has no england-and-wales events.")
	}
	seen := map[string]bool{}
	for _, e := range div.Events {
		if _, err := time.Parse(store.DateFormat, e.Date); err != nil {
			return nil, traded.Errorf(traded.EINVALID, "The bank holiday list has a bad date %q.", e.Date)
		}
		if strings.TrimSpace(e.Title) == "" {
			return nil, traded.Errorf(traded.EINVALID, "The bank holiday on %s has no title.", e.Date)
		}
		if seen[e.Date] {
			return nil, traded.Errorf(traded.EINVALID, "The bank holiday list gives %s twice.", e.Date)
		}
		seen[e.Date] = true
	}
	events := append([]ShippedHoliday(nil), div.Events...)
	sort.Slice(events, func(i, j int) bool { return events[i].Date < events[j].Date })
	return events, nil
}

// shipped is the embedded list; a list that does not parse stops the
// program at start, like a template that does not.
var shipped = func() []ShippedHoliday {
	events, err := ParseBankHolidays(shippedJSON)
	if err != nil {
		panic(fmt.Sprintf("catalogue/data/bank-holidays.json: %v", err))
	}
	return events
}()

// ShippedBankHolidays returns the embedded list's events in date order.
func ShippedBankHolidays() []ShippedHoliday { return append([]ShippedHoliday(nil), shipped...) }

// shippedYears are the calendar years the embedded list covers.
func shippedYears() map[int]bool {
	out := map[int]bool{}
	for _, e := range shipped {
		out[yearOfDate(e.Date)] = true
	}
	return out
}

// ShippedHolidays returns the Holidays of the embedded list alone, as a
// database holds them before any admin edits them.
func ShippedHolidays() *Holidays { return shippedHolidays }

var shippedHolidays = func() *Holidays {
	rows := map[string]string{}
	for _, e := range shipped {
		rows[e.Date] = e.Title
	}
	return newHolidays(shippedYears(), rows, map[string]bool{})
}()

// BankHoliday is one day of the bank holiday table, or of the rules.
type BankHoliday struct {
	Date       time.Time // midnight UTC
	Name       string
	Source     string // "govuk" (the published list), "admin", or "rules" (no row: a year the list does not cover)
	RecordedAt time.Time
	RecordedBy string
	RemovedAt  time.Time // zero unless an admin removed the day
	RemovedBy  string
}

// Removed reports whether an admin removed the day.
func (b BankHoliday) Removed() bool { return !b.RemovedAt.IsZero() }

// BankHolidayYear is what the admin page and API show of a calendar year.
type BankHolidayYear struct {
	Year     int
	Covered  bool          // the published list covers the year (else the rules, and admin rows)
	Holidays []BankHoliday // in force, in date order
	Removed  []BankHoliday // removed by an admin, in date order
}

// holidaySnapshot is a Holidays with the table version it was read at.
type holidaySnapshot struct {
	h     *Holidays
	stamp uint64
}

var holidayTables = []string{"bank_holidays", "bank_holiday_years"}

// Holidays returns the bank holidays as the tables hold them now. It reads
// the tables again only when they have changed (in this process or
// another, see store.DB.Version), so it costs two atomic loads per call.
// Until SeedBankHolidays has loaded a year of the embedded list into the
// table, that year is the embedded list's. Should the tables fail to read,
// it returns the last state it read (or the embedded list), and tries
// again at the next call.
func (s *Service) Holidays() *Holidays {
	ctx := context.Background()
	stamp := s.db.Version(ctx, holidayTables...)
	last := s.holidays.Load()
	if last != nil && last.stamp == stamp {
		return last.h
	}
	h, err := s.loadHolidays(ctx)
	if err != nil {
		if last != nil {
			return last.h
		}
		return shippedHolidays
	}
	s.holidays.Store(&holidaySnapshot{h: h, stamp: stamp})
	return h
}

func (s *Service) loadHolidays(ctx context.Context) (*Holidays, error) {
	q := s.db.Read()
	covered := map[int]bool{}
	rows, err := q.QueryContext(ctx, `SELECT year FROM bank_holiday_years`)
	if err != nil {
		return nil, fmt.Errorf("load bank holidays: %w", err)
	}
	for rows.Next() {
		var y int
		if err := rows.Scan(&y); err != nil {
			rows.Close()
			return nil, fmt.Errorf("load bank holidays: %w", err)
		}
		covered[y] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load bank holidays: %w", err)
	}
	days, removed := map[string]string{}, map[string]bool{}
	// A year of the embedded list not yet loaded counts as loaded.
	for _, e := range shipped {
		if y := yearOfDate(e.Date); !covered[y] {
			days[e.Date] = e.Title
		}
	}
	for y := range shippedYears() {
		covered[y] = true
	}
	rows, err = q.QueryContext(ctx, `SELECT date, name, removed_at IS NOT NULL FROM bank_holidays`)
	if err != nil {
		return nil, fmt.Errorf("load bank holidays: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d, name string
		var gone bool
		if err := rows.Scan(&d, &name, &gone); err != nil {
			return nil, fmt.Errorf("load bank holidays: %w", err)
		}
		if gone {
			removed[d] = true
			delete(days, d)
		} else {
			days[d] = name
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load bank holidays: %w", err)
	}
	return newHolidays(covered, days, removed), nil
}

// SeedBankHolidays loads the embedded list into the bank holiday table and
// returns how many days it added. It adds each listed day that has no row,
// marks each year the list covers, and removes a day the list gave before
// but gives no more (a holiday GOV.UK moved); it never changes a row an
// admin wrote or removed, so admins' edits win and running it again
// changes nothing. traded serve and traded migrate run it at start.
func (s *Service) SeedBankHolidays(ctx context.Context) (int, error) {
	var added int
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		added, err = seedBankHolidays(ctx, tx)
		return err
	})
	return added, err
}

func seedBankHolidays(ctx context.Context, tx *store.Tx) (int, error) {
	type row struct {
		source  string
		removed bool
	}
	have := map[string]row{}
	rows, err := tx.QueryContext(ctx, `SELECT date, source, removed_at IS NOT NULL FROM bank_holidays`)
	if err != nil {
		return 0, fmt.Errorf("seed bank holidays: %w", err)
	}
	for rows.Next() {
		var d string
		var r row
		if err := rows.Scan(&d, &r.source, &r.removed); err != nil {
			rows.Close()
			return 0, fmt.Errorf("seed bank holidays: %w", err)
		}
		have[d] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("seed bank holidays: %w", err)
	}
	now := store.FormatTime(tx.Now)
	listed := map[string]bool{}
	var added, withdrawn []string
	for _, e := range shipped {
		listed[e.Date] = true
		if _, ok := have[e.Date]; ok {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO bank_holidays (date, name, source, recorded_at, recorded_by)
			VALUES (?, ?, 'govuk', ?, ?)`, e.Date, e.Title, now, store.System.Label()); err != nil {
			return 0, fmt.Errorf("seed bank holidays: %w", err)
		}
		added = append(added, e.Date)
	}
	years := shippedYears()
	for d, r := range have {
		if r.source == "govuk" && !r.removed && years[yearOfDate(d)] && !listed[d] {
			if _, err := tx.ExecContext(ctx, `UPDATE bank_holidays SET removed_at = ?, removed_by = ? WHERE date = ?`,
				now, store.System.Label(), d); err != nil {
				return 0, fmt.Errorf("seed bank holidays: %w", err)
			}
			withdrawn = append(withdrawn, d)
		}
	}
	for y := range years {
		if _, err := tx.ExecContext(ctx, `INSERT INTO bank_holiday_years (year, recorded_at) VALUES (?, ?)
			ON CONFLICT (year) DO NOTHING`, y, now); err != nil {
			return 0, fmt.Errorf("seed bank holidays: %w", err)
		}
	}
	if len(added)+len(withdrawn) > 0 {
		sort.Strings(withdrawn)
		detail := fmt.Sprintf("%d days added from GOV.UK's list", len(added))
		if len(withdrawn) > 0 {
			detail += "; no longer listed, removed: " + strings.Join(withdrawn, ", ")
		}
		if err := tx.Audit(ctx, store.System, "bank_holidays.load", "bank_holidays", "", detail); err != nil {
			return 0, err
		}
	}
	return len(added), nil
}

// BankHolidayInput is an admin's new bank holiday.
type BankHolidayInput struct {
	Date string // YYYY-MM-DD
	Name string
}

// parseHolidayDate reads an admin's date. It returns EINVALID naming the
// field "date" for anything but a weekday from 2000 to 2100.
func parseHolidayDate(s string) (time.Time, error) {
	d, err := time.Parse(store.DateFormat, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, traded.FieldErrorf("date", "Enter the date as YYYY-MM-DD, for example 2027-06-04.")
	}
	if d.Year() < 2000 || d.Year() > 2100 {
		return time.Time{}, traded.FieldErrorf("date", "Enter a date from 2000 to 2100.")
	}
	if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		return time.Time{}, traded.FieldErrorf("date", "%s is a %s: a bank holiday falls on a weekday (a substitute day is the Monday after).",
			d.Format("2 January 2006"), d.Weekday())
	}
	return d, nil
}

// AddBankHoliday makes the date a bank holiday, as an admin does when one
// is proclaimed before a release ships it: it moves every free-cancellation
// deadline counted across the day. It returns EINVALID (field "date" or
// "name") for a bad date or name, and ECONFLICT if the date already is a
// bank holiday.
func (s *Service) AddBankHoliday(ctx context.Context, actor store.Actor, in BankHolidayInput) (*BankHoliday, error) {
	d, err := parseHolidayDate(in.Date)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		return nil, traded.FieldErrorf("name", "Enter the name of the bank holiday.")
	}
	if len([]rune(name)) > 100 {
		return nil, traded.FieldErrorf("name", "The name must be 100 characters or fewer.")
	}
	date := d.Format(store.DateFormat)
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := seedBankHolidays(ctx, tx); err != nil {
			return err
		}
		current, removed, err := holidayOn(ctx, tx, d)
		if err != nil {
			return err
		}
		if current != "" {
			return &traded.Error{Code: traded.ECONFLICT, Field: "date",
				Message: fmt.Sprintf("%s is already a bank holiday (%s).", d.Format("Monday 2 January 2006"), current)}
		}
		now := store.FormatTime(tx.Now)
		if removed {
			_, err = tx.ExecContext(ctx, `UPDATE bank_holidays SET name = ?, source = 'admin', recorded_at = ?, recorded_by = ?,
				removed_at = NULL, removed_by = NULL WHERE date = ?`, name, now, actor.Label(), date)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO bank_holidays (date, name, source, recorded_at, recorded_by)
				VALUES (?, ?, 'admin', ?, ?)`, date, name, now, actor.Label())
		}
		if err != nil {
			return fmt.Errorf("add bank holiday %s: %w", date, err)
		}
		return tx.Audit(ctx, actor, "bank_holiday.add", "bank_holiday", date, name)
	})
	if err != nil {
		return nil, err
	}
	return &BankHoliday{Date: d, Name: name, Source: "admin", RecordedAt: s.db.Now(), RecordedBy: actor.Label()}, nil
}

// RemoveBankHoliday makes the date a working day again (a holiday moved,
// or added in error). The row stays, marked removed, so neither the
// published list nor the rules bring the day back. It returns EINVALID
// (field "date") for a bad date and ENOTFOUND if the date is not a bank
// holiday.
func (s *Service) RemoveBankHoliday(ctx context.Context, actor store.Actor, dateText string) error {
	d, err := time.Parse(store.DateFormat, strings.TrimSpace(dateText))
	if err != nil {
		return traded.FieldErrorf("date", "Enter the date as YYYY-MM-DD, for example 2027-06-04.")
	}
	date := d.Format(store.DateFormat)
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := seedBankHolidays(ctx, tx); err != nil {
			return err
		}
		current, _, err := holidayOn(ctx, tx, d)
		if err != nil {
			return err
		}
		if current == "" {
			return traded.Errorf(traded.ENOTFOUND, "%s is not a bank holiday.", d.Format("Monday 2 January 2006"))
		}
		now := store.FormatTime(tx.Now)
		// A day of the rules has no row until it is removed.
		if _, err := tx.ExecContext(ctx, `INSERT INTO bank_holidays (date, name, source, recorded_at, recorded_by, removed_at, removed_by)
			VALUES (?, ?, 'admin', ?, ?, ?, ?)
			ON CONFLICT (date) DO UPDATE SET removed_at = excluded.removed_at, removed_by = excluded.removed_by`,
			date, current, now, actor.Label(), now, actor.Label()); err != nil {
			return fmt.Errorf("remove bank holiday %s: %w", date, err)
		}
		return tx.Audit(ctx, actor, "bank_holiday.remove", "bank_holiday", date, current)
	})
}

// holidayOn returns the name of the bank holiday in force on d inside the
// transaction ("" for none) and whether an admin removed one there.
func holidayOn(ctx context.Context, tx *store.Tx, d time.Time) (string, bool, error) {
	date := d.Format(store.DateFormat)
	var name string
	var removed bool
	err := tx.QueryRowContext(ctx, `SELECT name, removed_at IS NOT NULL FROM bank_holidays WHERE date = ?`, date).Scan(&name, &removed)
	switch {
	case err == nil:
		if removed {
			return "", true, nil
		}
		return name, false, nil
	case !errors.Is(err, sql.ErrNoRows):
		return "", false, fmt.Errorf("bank holiday %s: %w", date, err)
	}
	var covered int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM bank_holiday_years WHERE year = ?`, d.Year()).Scan(&covered); err != nil {
		return "", false, fmt.Errorf("bank holiday %s: %w", date, err)
	}
	if covered > 0 {
		return "", false, nil
	}
	return RuleBankHolidays(d.Year())[date], false, nil
}

// FindBankHolidays returns the calendar year's bank holidays as the admin
// page and API show them, with who recorded and removed each.
func (s *Service) FindBankHolidays(ctx context.Context, year int) (*BankHolidayYear, error) {
	h := s.Holidays()
	out := &BankHolidayYear{Year: year, Covered: h.Covers(year)}
	stored := map[string]BankHoliday{}
	rows, err := s.db.Read().QueryContext(ctx, `SELECT date, name, source, recorded_at, recorded_by, removed_at, removed_by
		FROM bank_holidays WHERE date >= ? AND date < ? ORDER BY date`, fmt.Sprintf("%04d-01-01", year), fmt.Sprintf("%04d-01-01", year+1))
	if err != nil {
		return nil, fmt.Errorf("find bank holidays %d: %w", year, err)
	}
	defer rows.Close()
	for rows.Next() {
		var b BankHoliday
		var d, at string
		var removedAt, removedBy *string
		if err := rows.Scan(&d, &b.Name, &b.Source, &at, &b.RecordedBy, &removedAt, &removedBy); err != nil {
			return nil, fmt.Errorf("find bank holidays %d: %w", year, err)
		}
		b.Date, _ = time.Parse(store.DateFormat, d)
		b.RecordedAt = store.MustTime(at)
		if removedAt != nil {
			b.RemovedAt, b.RemovedBy = store.MustTime(*removedAt), *removedBy
			out.Removed = append(out.Removed, b)
		}
		stored[d] = b
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find bank holidays %d: %w", year, err)
	}
	for d, name := range h.InYear(year) {
		b, ok := stored[d]
		if !ok || b.Removed() {
			b = BankHoliday{Name: name, Source: "rules"}
			b.Date, _ = time.Parse(store.DateFormat, d)
			if out.Covered {
				b.Source = "govuk" // the embedded list, not yet loaded into the table
			}
		}
		out.Holidays = append(out.Holidays, b)
	}
	sort.Slice(out.Holidays, func(i, j int) bool { return out.Holidays[i].Date.Before(out.Holidays[j].Date) })
	return out, nil
}

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
