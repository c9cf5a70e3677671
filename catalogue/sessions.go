package catalogue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"traded"
	"traded/pricing"
	"traded/store"
)

// Course is a kind of training the LA runs, sold as one product.
type Course struct {
	Code        string
	ProductCode string
	Title       string
	Description string
}

// Session is one scheduled run of a course.
type Session struct {
	ID              int64
	CourseCode      string
	ProductCode     string
	Year            pricing.AcademicYear
	Title           string
	StartsAt        time.Time // UTC
	Duration        time.Duration
	Capacity        int
	PlacesTaken     int
	JoiningURL      string
	Location        string // where, for sessions that are not online
	Presenter       string
	BookingCutoffAt time.Time // UTC
	Status          string    // scheduled, cancelled
	CancelReason    string
	Sequence        int
}

// EndsAt returns when the session ends.
func (s *Session) EndsAt() time.Time { return s.StartsAt.Add(s.Duration) }

// PlacesLeft returns how many places can still be booked.
func (s *Session) PlacesLeft() int { return max(0, s.Capacity-s.PlacesTaken) }

// FindCourses returns every course in catalogue order.
func (s *Service) FindCourses(ctx context.Context) ([]*Course, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT code, product_code, title, description FROM courses ORDER BY sort, code`)
	if err != nil {
		return nil, fmt.Errorf("find courses: %w", err)
	}
	defer rows.Close()
	var out []*Course
	for rows.Next() {
		var c Course
		if err := rows.Scan(&c.Code, &c.ProductCode, &c.Title, &c.Description); err != nil {
			return nil, fmt.Errorf("find courses: %w", err)
		}
		out = append(out, &c)
	}
	return out, rows.Err()
}

// SessionFilter selects sessions. Nil fields do not filter.
type SessionFilter struct {
	ID          *int64
	Year        *pricing.AcademicYear
	ProductCode *string
	Status      *string
	// StartsFrom and StartsBefore keep sessions starting in [from, before).
	StartsFrom, StartsBefore *time.Time
	// EndedBefore keeps sessions that ended before the instant;
	// NotEndedBefore those that had not (as Session.EndsAt).
	EndedBefore, NotEndedBefore *time.Time
	// Limit is how many to return at most (0: all), after skipping Offset,
	// of those after After (see Session.Cursor).
	Limit  int
	Offset int
	After  *store.Cursor
}

// Cursor is where s stands in FindSessions' order, for SessionFilter.After.
func (s *Session) Cursor() store.Cursor {
	return store.Cursor{Key: store.FormatTime(s.StartsAt), ID: s.ID}
}

// FindSessions returns the sessions matching f, in start order (then by id).
func (s *Service) FindSessions(ctx context.Context, f SessionFilter) ([]*Session, error) {
	return findSessions(ctx, s.db.Read(), f)
}

// FindSessionsTx is FindSessions as tx sees it, for a domain choosing
// sessions inside its own transaction.
func (s *Service) FindSessionsTx(ctx context.Context, tx *store.Tx, f SessionFilter) ([]*Session, error) {
	return findSessions(ctx, tx, f)
}

// sessionEndSQL is a session's end as stored instants are written, to
// compare with one.
const sessionEndSQL = `strftime('%Y-%m-%dT%H:%M:%SZ', s.starts_at, '+' || s.duration_minutes || ' minutes')`

// HasSessionAfter reports whether the year has a session (of any status)
// starting after the instant; the zero time asks whether it has any. The
// programme asks it on every view to choose its year, so it is one indexed
// lookup (sessions_year), not a list.
func (s *Service) HasSessionAfter(ctx context.Context, year pricing.AcademicYear, after time.Time) (bool, error) {
	var ok bool
	from := ""
	if !after.IsZero() {
		from = store.FormatTime(after)
	}
	if err := s.db.Read().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sessions WHERE academic_year = ? AND starts_at > ?)`,
		year.String(), from).Scan(&ok); err != nil {
		return false, fmt.Errorf("has sessions: %w", err)
	}
	return ok, nil
}

// FindSessionByID returns one session, or ENOTFOUND.
func (s *Service) FindSessionByID(ctx context.Context, id int64) (*Session, error) {
	return SessionOn(ctx, s.db.Read(), id)
}

// SessionOn returns one session as q sees it, or ENOTFOUND: through the
// caller's transaction (q a *store.Tx) for a booking that takes its places
// as it commits.
func SessionOn(ctx context.Context, q store.Queryer, id int64) (*Session, error) {
	out, err := findSessions(ctx, q, SessionFilter{ID: &id})
	if err != nil {
		return nil, err
	} else if len(out) == 0 {
		return nil, traded.Errorf(traded.ENOTFOUND, "There is no session %d.", id)
	}
	return out[0], nil
}

func findSessions(ctx context.Context, q store.Queryer, f SessionFilter) ([]*Session, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.ID != nil {
		where, args = append(where, "s.id = ?"), append(args, *f.ID)
	}
	if f.Year != nil {
		where, args = append(where, "s.academic_year = ?"), append(args, f.Year.String())
	}
	if f.ProductCode != nil {
		where, args = append(where, "c.product_code = ?"), append(args, *f.ProductCode)
	}
	if f.Status != nil {
		where, args = append(where, "s.status = ?"), append(args, *f.Status)
	}
	if f.StartsFrom != nil {
		where, args = append(where, "s.starts_at >= ?"), append(args, store.FormatTime(*f.StartsFrom))
	}
	if f.StartsBefore != nil {
		where, args = append(where, "s.starts_at < ?"), append(args, store.FormatTime(*f.StartsBefore))
	}
	if f.EndedBefore != nil {
		where, args = append(where, sessionEndSQL+" < ?"), append(args, store.FormatTime(*f.EndedBefore))
	}
	if f.NotEndedBefore != nil {
		where, args = append(where, sessionEndSQL+" >= ?"), append(args, store.FormatTime(*f.NotEndedBefore))
	}
	if f.After != nil {
		where, args = append(where, "(s.starts_at, s.id) > (?, ?)"), append(args, f.After.Key, f.After.ID)
	}
	limit, largs := store.LimitSQL(f.Limit, f.Offset)
	rows, err := q.QueryContext(ctx, `SELECT s.id, s.course_code, c.product_code, s.academic_year, s.title, s.starts_at,
			s.duration_minutes, s.capacity, s.places_taken, s.joining_url, s.location, s.presenter, s.booking_cutoff_at,
			s.status, s.cancel_reason, s.sequence
		FROM sessions s JOIN courses c ON c.code = s.course_code
		WHERE `+strings.Join(where, " AND ")+` ORDER BY s.starts_at, s.id`+limit, append(args, largs...)...)
	if err != nil {
		return nil, fmt.Errorf("find sessions: %w", err)
	}
	defer rows.Close()
	var out []*Session
	for rows.Next() {
		var x Session
		var year, starts, cutoff string
		var minutes int
		if err := rows.Scan(&x.ID, &x.CourseCode, &x.ProductCode, &year, &x.Title, &starts, &minutes, &x.Capacity,
			&x.PlacesTaken, &x.JoiningURL, &x.Location, &x.Presenter, &cutoff, &x.Status, &x.CancelReason, &x.Sequence); err != nil {
			return nil, fmt.Errorf("find sessions: %w", err)
		}
		x.Year, _ = pricing.ParseAcademicYear(year)
		x.StartsAt, x.BookingCutoffAt = store.MustTime(starts), store.MustTime(cutoff)
		x.Duration = time.Duration(minutes) * time.Minute
		out = append(out, &x)
	}
	return out, rows.Err()
}

// SessionInput is what an admin gives to schedule a session. StartsAt is a
// wall-clock time in Europe/London (the caller parses it there).
type SessionInput struct {
	CourseCode      string
	Title           string // "" means the course title
	StartsAt        time.Time
	Duration        time.Duration
	Capacity        int
	JoiningURL      string
	Presenter       string
	BookingCutoffAt *time.Time // nil means 24 hours before the start
}

// validate checks a session's fields and fills defaults. It returns EINVALID
// naming the first bad field.
func (in *SessionInput) validate() error {
	if in.StartsAt.IsZero() {
		return traded.FieldErrorf("starts_at", "Enter the date and time the session starts.")
	}
	if in.Duration < 15*time.Minute || in.Duration > 12*time.Hour {
		return traded.FieldErrorf("duration", "The duration must be between 15 minutes and 12 hours.")
	}
	if in.Capacity < 1 || in.Capacity > 10000 {
		return traded.FieldErrorf("capacity", "The capacity must be between 1 and 10,000 places.")
	}
	if in.JoiningURL != "" {
		u, err := url.Parse(in.JoiningURL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return traded.FieldErrorf("joining_url", "The joining link must be a full https:// address.")
		}
	}
	if in.BookingCutoffAt == nil {
		c := in.StartsAt.Add(-24 * time.Hour)
		in.BookingCutoffAt = &c
	} else if in.BookingCutoffAt.After(in.StartsAt) {
		return traded.FieldErrorf("booking_cutoff", "Bookings must close before the session starts.")
	}
	return nil
}

// CreateSession schedules a session of a course. The academic year is the one
// the start falls in. It returns EINVALID for bad input and ENOTFOUND for an
// unknown course.
func (s *Service) CreateSession(ctx context.Context, actor store.Actor, in SessionInput) (*Session, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	var id int64
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var title string
		err := tx.QueryRowContext(ctx, `SELECT title FROM courses WHERE code = ?`, in.CourseCode).Scan(&title)
		if errors.Is(err, sql.ErrNoRows) {
			return traded.FieldErrorf("course", "There is no course %q.", in.CourseCode)
		} else if err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		if in.Title == "" {
			in.Title = title
		}
		year := pricing.AcademicYearOf(in.StartsAt, traded.London)
		now := store.FormatTime(tx.Now)
		res, err := tx.ExecContext(ctx, `INSERT INTO sessions (course_code, academic_year, title, starts_at, duration_minutes,
			capacity, joining_url, presenter, booking_cutoff_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			in.CourseCode, year.String(), in.Title, store.FormatTime(in.StartsAt), int(in.Duration/time.Minute), in.Capacity,
			in.JoiningURL, in.Presenter, store.FormatTime(*in.BookingCutoffAt), now, now)
		if err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		id, _ = res.LastInsertId()
		return tx.Audit(ctx, actor, "session.create", "session", fmt.Sprint(id),
			fmt.Sprintf("%s at %s", in.Title, in.StartsAt.In(traded.London).Format("Mon 2 Jan 2006 15:04")))
	})
	if err != nil {
		return nil, err
	}
	return s.FindSessionByID(ctx, id)
}

// TakePlacesTx holds n places on a session in the booking's transaction tx;
// the WHERE makes overbooking impossible even if a caller's check were
// wrong. It returns ECONFLICT when the session has fewer places left.
func (s *Service) TakePlacesTx(ctx context.Context, tx *store.Tx, sessionID int64, n int) error {
	res, err := tx.ExecContext(ctx, `UPDATE sessions SET places_taken = places_taken + ? WHERE id = ? AND places_taken + ? <= capacity`, n, sessionID, n)
	if err != nil {
		return fmt.Errorf("take places: %w", err)
	}
	if k, _ := res.RowsAffected(); k != 1 {
		return traded.Errorf(traded.ECONFLICT, "This session is full.")
	}
	return nil
}

// FreePlacesTx gives n places on a session back, in the transaction tx that
// releases them.
func (s *Service) FreePlacesTx(ctx context.Context, tx *store.Tx, sessionID int64, n int) error {
	if n == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE sessions SET places_taken = max(places_taken - ?, 0) WHERE id = ?`, n, sessionID)
	if err != nil {
		return fmt.Errorf("free places: %w", err)
	}
	return nil
}

// SessionUpdate changes a session. Nil fields stay as they are.
type SessionUpdate struct {
	Title           *string
	StartsAt        *time.Time
	Duration        *time.Duration
	Capacity        *int
	JoiningURL      *string
	Presenter       *string
	BookingCutoffAt *time.Time
}

// UpdateSessionTx edits or reschedules a session in tx, the transaction of
// the change that tells its bookings (booking.Service.UpdateSession), and
// reports whether what a delegate's calendar holds (time, length, title,
// link) changed: then the session's SEQUENCE has gone up, so invites update.
// It returns EINVALID for bad values or a capacity below the places held,
// ENOTFOUND for an unknown session, ECONFLICT for a cancelled one.
func (s *Service) UpdateSessionTx(ctx context.Context, tx *store.Tx, actor store.Actor, id int64, u SessionUpdate) (bool, error) {
	sess, err := SessionOn(ctx, tx, id)
	if err != nil {
		return false, err
	}
	if sess.Status != "scheduled" {
		return false, traded.Errorf(traded.ECONFLICT, "This session has been cancelled.")
	}
	in := SessionInput{CourseCode: sess.CourseCode, Title: sess.Title, StartsAt: sess.StartsAt, Duration: sess.Duration,
		Capacity: sess.Capacity, JoiningURL: sess.JoiningURL, Presenter: sess.Presenter}
	cutoff := sess.BookingCutoffAt
	if u.Title != nil {
		in.Title = strings.TrimSpace(*u.Title)
		if in.Title == "" {
			return false, traded.FieldErrorf("title", "Enter the session's title.")
		}
	}
	if u.StartsAt != nil {
		// A new start moves the cut-off with it unless one is given.
		cutoff = cutoff.Add(u.StartsAt.Sub(sess.StartsAt))
		in.StartsAt = *u.StartsAt
	}
	if u.Duration != nil {
		in.Duration = *u.Duration
	}
	if u.Capacity != nil {
		in.Capacity = *u.Capacity
	}
	if u.JoiningURL != nil {
		in.JoiningURL = strings.TrimSpace(*u.JoiningURL)
	}
	if u.Presenter != nil {
		in.Presenter = strings.TrimSpace(*u.Presenter)
	}
	if u.BookingCutoffAt != nil {
		cutoff = *u.BookingCutoffAt
	}
	in.BookingCutoffAt = &cutoff
	if err := in.validate(); err != nil {
		return false, err
	}
	if in.Capacity < sess.PlacesTaken {
		return false, traded.FieldErrorf("capacity", "%d places are already held: the capacity cannot be less.", sess.PlacesTaken)
	}
	if pricing.AcademicYearOf(in.StartsAt, traded.London) != sess.Year {
		return false, traded.FieldErrorf("starts_at", "A session cannot move to another academic year.")
	}
	changed := !in.StartsAt.Equal(sess.StartsAt) || in.Duration != sess.Duration || in.Title != sess.Title || in.JoiningURL != sess.JoiningURL
	seq := sess.Sequence
	if changed {
		seq++
	}
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET title = ?, starts_at = ?, duration_minutes = ?, capacity = ?, joining_url = ?,
		presenter = ?, booking_cutoff_at = ?, sequence = ?, updated_at = ? WHERE id = ?`,
		in.Title, store.FormatTime(in.StartsAt), int(in.Duration/time.Minute), in.Capacity, in.JoiningURL, in.Presenter,
		store.FormatTime(cutoff), seq, store.FormatTime(tx.Now), id); err != nil {
		return false, fmt.Errorf("update session: %w", err)
	}
	detail := fmt.Sprintf("%s at %s, %d places", in.Title, in.StartsAt.In(traded.London).Format("Mon 2 Jan 2006 15:04"), in.Capacity)
	if !in.StartsAt.Equal(sess.StartsAt) {
		detail = "rescheduled from " + sess.StartsAt.In(traded.London).Format("Mon 2 Jan 2006 15:04") + ": " + detail
	}
	if err := tx.Audit(ctx, actor, "session.update", "session", strconv.FormatInt(id, 10), detail); err != nil {
		return false, err
	}
	return changed, nil
}

// CancelSessionTx marks a session cancelled in tx, the transaction that
// cancels its bookings (booking.Service.CancelSession), raising its SEQUENCE
// so the invites cancel, and returns it as it was. It returns ENOTFOUND for
// an unknown session and ECONFLICT for one already cancelled.
func (s *Service) CancelSessionTx(ctx context.Context, tx *store.Tx, id int64, reason string) (*Session, error) {
	sess, err := SessionOn(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if sess.Status == "cancelled" {
		return nil, traded.Errorf(traded.ECONFLICT, "This session has already been cancelled.")
	}
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET status = 'cancelled', cancel_reason = ?, sequence = sequence + 1, updated_at = ? WHERE id = ?`,
		reason, store.FormatTime(tx.Now), id); err != nil {
		return nil, fmt.Errorf("cancel session: %w", err)
	}
	return sess, nil
}
