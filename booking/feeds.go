package booking

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"traded"
	"traded/account"
	"traded/catalogue"
	"traded/store"
)

// Feed scopes.
const (
	FeedMine   = "mine"   // the places of one person
	FeedSchool = "school" // every place of a school, for its managers
)

func newFeedToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic("booking: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// FeedToken returns a user's private feed token for the scope, making one
// the first time. Only school managers have a school feed (EFORBIDDEN).
func (s *Service) FeedToken(ctx context.Context, u *account.User, scope string) (string, error) {
	if scope == FeedSchool && u.Role != account.RoleSchoolManager {
		return "", traded.Errorf(traded.EFORBIDDEN, "Only school business managers have a feed of the whole school.")
	}
	var token string
	err := s.db.Read().QueryRowContext(ctx, `SELECT token FROM calendar_feeds WHERE user_id = ? AND scope = ?`, u.ID, scope).Scan(&token)
	if err == nil {
		return token, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("feed token: %w", err)
	}
	return s.ResetFeed(ctx, u, scope)
}

// ResetFeed gives a user's feed a new address; the old one stops working.
func (s *Service) ResetFeed(ctx context.Context, u *account.User, scope string) (string, error) {
	if scope != FeedMine && scope != FeedSchool {
		return "", traded.FieldErrorf("scope", "Choose your own feed or your school's.")
	}
	if scope == FeedSchool && u.Role != account.RoleSchoolManager {
		return "", traded.Errorf(traded.EFORBIDDEN, "Only school business managers have a feed of the whole school.")
	}
	token := newFeedToken()
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO calendar_feeds (user_id, scope, token, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id, scope) DO UPDATE SET token = excluded.token, created_at = excluded.created_at`,
			u.ID, scope, token, store.FormatTime(tx.Now)); err != nil {
			return fmt.Errorf("reset feed: %w", err)
		}
		return tx.Audit(ctx, u.Actor(""), "calendar_feed.reset", "user", fmt.Sprint(u.ID), scope)
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// FeedPlace is one delegate's place in a feed.
type FeedPlace struct {
	Booking  *Booking
	Delegate *Delegate
}

// Feed returns the places a feed token shows: the person's own places
// (mine), or every place of the school (school), confirmed or cancelled
// since, with the same UIDs as the emailed invites. It returns ENOTFOUND
// for an unknown token or an inactive user.
func (s *Service) Feed(ctx context.Context, token string) (string, []FeedPlace, error) {
	var userID int64
	var scope string
	err := s.db.Read().QueryRowContext(ctx, `SELECT user_id, scope FROM calendar_feeds WHERE token = ?`, token).Scan(&userID, &scope)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, traded.Errorf(traded.ENOTFOUND, "There is no such calendar.")
	} else if err != nil {
		return "", nil, fmt.Errorf("feed: %w", err)
	}
	u, err := s.Accounts.FindUserByID(ctx, userID)
	if err != nil || !u.Active {
		return "", nil, traded.Errorf(traded.ENOTFOUND, "There is no such calendar.")
	}
	f := BookingFilter{Delegate: u.Email}
	name := "Essex training: " + u.Name
	if scope == FeedSchool {
		f = BookingFilter{OrganisationID: u.OrganisationID}
		name = "Essex training: " + u.OrganisationName
	}
	bookings, err := s.FindBookings(ctx, f)
	if err != nil {
		return "", nil, err
	}
	var out []FeedPlace
	for _, b := range bookings {
		if !HasInvite(b) {
			continue
		}
		for _, d := range b.Delegates {
			if scope == FeedMine && !strings.EqualFold(d.Email, u.Email) {
				continue
			}
			out = append(out, FeedPlace{Booking: b, Delegate: d})
		}
	}
	return name, out, nil
}

// Reminder is one delegate to remind of tomorrow's session.
type Reminder struct {
	Booking  *Booking
	Delegate *Delegate
}

// SendSessionReminders sends each delegate with a confirmed place on a
// session starting tomorrow (London date) a reminder with the joining link,
// once: send is called inside the transaction that records it.
func (s *Service) SendSessionReminders(ctx context.Context, send func(ctx context.Context, tx *store.Tx, r Reminder) error) (int, error) {
	now := s.db.Now().In(traded.London)
	from := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, traded.London)
	to := from.AddDate(0, 0, 1)
	sent := 0
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		scheduled := "scheduled"
		sessions, err := s.Catalogue.FindSessionsTx(ctx, tx, catalogue.SessionFilter{Status: &scheduled, StartsFrom: &from, StartsBefore: &to})
		if err != nil || len(sessions) == 0 {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT b.id, d.id FROM delegates d JOIN bookings b ON b.id = d.booking_id`+sessionJoin+`
			WHERE b.status = 'confirmed' AND d.status = 'active'
			AND d.id NOT IN (SELECT delegate_id FROM session_reminders) ORDER BY j.value, d.id`, startsJSON(sessions))
		if err != nil {
			return fmt.Errorf("session reminders: %w", err)
		}
		type pair struct{ b, d int64 }
		var todo []pair
		for rows.Next() {
			var p pair
			if err := rows.Scan(&p.b, &p.d); err != nil {
				rows.Close()
				return err
			}
			todo = append(todo, p)
		}
		rows.Close()
		for _, p := range todo {
			b, err := s.findBooking(ctx, tx, p.b)
			if err != nil {
				return err
			}
			for _, d := range b.Delegates {
				if d.ID != p.d {
					continue
				}
				if err := send(ctx, tx, Reminder{Booking: b, Delegate: d}); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO session_reminders (delegate_id, sent_at) VALUES (?, ?)`, d.ID, store.FormatTime(tx.Now)); err != nil {
					return fmt.Errorf("session reminders: %w", err)
				}
				sent++
			}
		}
		return nil
	})
	return sent, err
}
