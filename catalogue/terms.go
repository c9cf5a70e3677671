package catalogue

import (
	"context"
	"fmt"
	"time"

	"traded"
	"traded/pricing"
	"traded/store"
)

// Terms are the six half-terms of a school year, in order.
var Terms = []string{"autumn1", "autumn2", "spring1", "spring2", "summer1", "summer2"}

// TermNames are the half-terms as people say them.
var TermNames = map[string]string{
	"autumn1": "Autumn 1", "autumn2": "Autumn 2", "spring1": "Spring 1",
	"spring2": "Spring 2", "summer1": "Summer 1", "summer2": "Summer 2",
}

// Term is one half-term: its first and last school days.
type Term struct {
	Year     pricing.AcademicYear
	Term     string
	StartsOn time.Time // a date, midnight UTC
	EndsOn   time.Time
}

// Name returns the term as people say it ("Autumn 2").
func (t Term) Name() string { return TermNames[t.Term] }

// FindTerms returns the LA's half-terms of the year, in order.
func (s *Service) FindTerms(ctx context.Context, year pricing.AcademicYear) ([]Term, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT term, starts_on, ends_on FROM term_dates
		WHERE academic_year = ? AND applies_to = 'la' ORDER BY starts_on`, year.String())
	if err != nil {
		return nil, fmt.Errorf("find terms: %w", err)
	}
	defer rows.Close()
	var out []Term
	for rows.Next() {
		t := Term{Year: year}
		var from, to string
		if err := rows.Scan(&t.Term, &from, &to); err != nil {
			return nil, fmt.Errorf("find terms: %w", err)
		}
		t.StartsOn, _ = time.Parse(store.DateFormat, from)
		t.EndsOn, _ = time.Parse(store.DateFormat, to)
		out = append(out, t)
	}
	return out, rows.Err()
}

// SetTerms replaces the LA's half-term dates of a year. It returns EINVALID
// unless the six terms are all given, each ending on or after it starts, in
// order without overlap, within the academic year.
func (s *Service) SetTerms(ctx context.Context, actor store.Actor, year pricing.AcademicYear, terms []Term) error {
	byName := map[string]Term{}
	for _, t := range terms {
		byName[t.Term] = t
	}
	var prev time.Time
	for _, name := range Terms {
		t, ok := byName[name]
		if !ok {
			return traded.FieldErrorf(name, "Enter the dates of %s.", TermNames[name])
		}
		if t.EndsOn.Before(t.StartsOn) {
			return traded.FieldErrorf(name, "%s must end on or after the day it starts.", TermNames[name])
		}
		if !prev.IsZero() && !t.StartsOn.After(prev) {
			return traded.FieldErrorf(name, "%s must start after the previous term ends.", TermNames[name])
		}
		if t.StartsOn.Before(year.Starts(time.UTC)) || !t.EndsOn.Before(year.Ends(time.UTC)) {
			return traded.FieldErrorf(name, "%s must fall within %s.", TermNames[name], year)
		}
		prev = t.EndsOn
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM term_dates WHERE academic_year = ? AND applies_to = 'la'`, year.String()); err != nil {
			return fmt.Errorf("set terms: %w", err)
		}
		for _, name := range Terms {
			t := byName[name]
			if _, err := tx.ExecContext(ctx, `INSERT INTO term_dates (academic_year, term, starts_on, ends_on) VALUES (?, ?, ?, ?)`,
				year.String(), name, t.StartsOn.Format(store.DateFormat), t.EndsOn.Format(store.DateFormat)); err != nil {
				return fmt.Errorf("set terms: %w", err)
			}
		}
		return tx.Audit(ctx, actor, "terms.set", "academic_year", year.String(), "LA term dates replaced")
	})
}

// InTerm reports whether the date falls inside one of the terms.
func InTerm(terms []Term, d time.Time) bool {
	day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
	for _, t := range terms {
		if !day.Before(t.StartsOn) && !day.After(t.EndsOn) {
			return true
		}
	}
	return false
}

// TypicalTerms returns term dates following the usual Essex pattern for a
// year: a week's half-term at the end of October, Christmas from the Friday
// before 21 December, a February half-term, Easter's two weeks, the late May
// half-term, and the summer from about 22 July. It seeds demo data and a new
// year's form; the admin corrects it to the published dates.
func TypicalTerms(year pricing.AcademicYear) []Term {
	y := int(year)
	d := func(yy int, m time.Month, day int) time.Time { return time.Date(yy, m, day, 0, 0, 0, 0, time.UTC) }
	next := func(t time.Time, wd time.Weekday) time.Time {
		for t.Weekday() != wd {
			t = t.AddDate(0, 0, 1)
		}
		return t
	}
	prev := func(t time.Time, wd time.Weekday) time.Time {
		for t.Weekday() != wd {
			t = t.AddDate(0, 0, -1)
		}
		return t
	}
	a1Start := d(y, time.September, 3) // the first weekday from 3 September (never a bank holiday)
	for a1Start.Weekday() == time.Saturday || a1Start.Weekday() == time.Sunday {
		a1Start = a1Start.AddDate(0, 0, 1)
	}
	octHalf := lastMonday(y, time.October)
	a2End := prev(d(y, time.December, 20), time.Friday)
	s1Start := next(d(y+1, time.January, 5), time.Monday)
	febHalf := next(d(y+1, time.February, 15), time.Monday).AddDate(0, 0, -7)
	if febHalf.Day() < 12 {
		febHalf = febHalf.AddDate(0, 0, 7)
	}
	goodFriday := Easter(y+1).AddDate(0, 0, -2)
	s2End := goodFriday.AddDate(0, 0, -1) // the Thursday before Good Friday
	su1Start := goodFriday.AddDate(0, 0, 17)
	mayHalf := lastMonday(y+1, time.May)
	su2End := prev(d(y+1, time.July, 23), time.Wednesday).AddDate(0, 0, 1)
	return []Term{
		{year, "autumn1", a1Start, octHalf.AddDate(0, 0, -3)},
		{year, "autumn2", octHalf.AddDate(0, 0, 7), a2End},
		{year, "spring1", s1Start, febHalf.AddDate(0, 0, -3)},
		{year, "spring2", febHalf.AddDate(0, 0, 7), s2End},
		{year, "summer1", su1Start, mayHalf.AddDate(0, 0, -3)},
		{year, "summer2", mayHalf.AddDate(0, 0, 7), su2End},
	}
}
