package booking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"traded"
	"traded/account"
	"traded/calendar"
	"traded/catalogue"
	"traded/pricing"
	"traded/store"
)

// changeBooking runs fn on a booking in a write transaction after checking
// who is asking: someone who may not see it gets ENOTFOUND, as if it did not
// exist.
func (s *Service) changeBooking(ctx context.Context, by *account.User, id int64, fn func(tx *store.Tx, b *Booking) error) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		b, err := s.findBooking(ctx, tx, id)
		if err != nil {
			return err
		}
		if !account.CanChangeBooking(by, b.Resource()) {
			if by.Role.School() && by.OrganisationID == b.OrganisationID {
				return traded.Errorf(traded.EFORBIDDEN, "Only your school business manager can change this booking.")
			}
			return traded.Errorf(traded.ENOTFOUND, "There is no booking %d.", id)
		}
		return fn(tx, b)
	})
}

// ApproveBooking confirms a teacher's request: it is priced and billed now,
// at the figure QuoteConfirmation shows. po, when given, is the PO number
// the invoice carries (replacing any the request had). Only the school's
// manager (or an admin) may; it returns ECONFLICT unless the booking is a
// request, and EINVALID (po_number) when the school needs a PO and there is
// none.
func (s *Service) ApproveBooking(ctx context.Context, by *account.User, remoteAddr string, id int64, po string) error {
	if by.Role != account.RoleSchoolManager && by.Role != account.RoleAdmin {
		return traded.Errorf(traded.EFORBIDDEN, "Only a school business manager can approve bookings.")
	}
	po, err := traded.CleanPO(po)
	if err != nil {
		return err
	}
	return s.changeBooking(ctx, by, id, func(tx *store.Tx, b *Booking) error {
		if b.Status != StatusRequested {
			return traded.Errorf(traded.ECONFLICT, "Booking %s is not waiting for approval.", b.Reference)
		}
		if err := setPO(ctx, tx, b, po); err != nil {
			return err
		}
		if err := tx.Audit(ctx, by.Actor(remoteAddr), "booking.approve", "booking", b.Reference, ""); err != nil {
			return err
		}
		_, err := s.confirmBooking(ctx, tx, by.Actor(remoteAddr), b)
		return err
	})
}

// setPO gives a booking the PO number po, if one is given.
func setPO(ctx context.Context, tx *store.Tx, b *Booking, po string) error {
	if po == "" || po == b.PONumber {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE bookings SET po_number = ?, updated_at = ? WHERE id = ?`, po, store.FormatTime(tx.Now), b.ID); err != nil {
		return fmt.Errorf("booking PO: %w", err)
	}
	b.PONumber = po
	return nil
}

// DeclineBooking turns down a teacher's request, freeing its places. It
// returns ECONFLICT unless the booking is a request.
func (s *Service) DeclineBooking(ctx context.Context, by *account.User, remoteAddr string, id int64, reason string) error {
	if by.Role != account.RoleSchoolManager && by.Role != account.RoleAdmin {
		return traded.Errorf(traded.EFORBIDDEN, "Only a school business manager can decline bookings.")
	}
	return s.changeBooking(ctx, by, id, func(tx *store.Tx, b *Booking) error {
		if b.Status != StatusRequested {
			return traded.Errorf(traded.ECONFLICT, "Booking %s is not waiting for approval.", b.Reference)
		}
		return s.release(ctx, tx, by.Actor(remoteAddr), b, StatusDeclined, reason, "booking.decline")
	})
}

// release ends a booking that holds places without charge and offers the
// freed places to the waiting list.
func (s *Service) release(ctx context.Context, tx *store.Tx, actor store.Actor, b *Booking, status, reason, action string) error {
	now := store.FormatTime(tx.Now)
	if _, err := tx.ExecContext(ctx, `UPDATE bookings SET status = ?, cancel_reason = ?, cancelled_at = ?, offer_expires_at = NULL,
		updated_at = ? WHERE id = ?`, status, reason, now, now, b.ID); err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	if holdsPlaces[b.Status] {
		if err := s.Catalogue.FreePlacesTx(ctx, tx, b.SessionID, len(b.Active())); err != nil {
			return err
		}
	}
	if err := tx.Audit(ctx, actor, action, "booking", b.Reference, reason); err != nil {
		return err
	}
	if b.Status != StatusRequested || status != StatusDeclined {
		gone := b.Active()
		if err := s.notifyBooking(ctx, tx, b.ID, func(nb *Booking) error { return s.Notifier.PlacesCancelled(ctx, tx, nb, gone, reason) }); err != nil {
			return err
		}
	} else {
		gone := b.Active()
		if err := s.notifyBooking(ctx, tx, b.ID, func(nb *Booking) error {
			return s.Notifier.PlacesCancelled(ctx, tx, nb, gone, "your school business manager declined the request")
		}); err != nil {
			return err
		}
	}
	return s.promote(ctx, tx, b.SessionID)
}

// promote offers freed places to the waiting list, first come first
// served: the earliest waiting booking whose delegates fit is offered the
// places, held for OfferHold.
func (s *Service) promote(ctx context.Context, tx *store.Tx, sessionID int64) error {
	for {
		sess, err := catalogue.SessionOn(ctx, tx, sessionID)
		if err != nil {
			return err
		}
		left := sess.Capacity - sess.PlacesTaken
		// No offers once booking has closed: there would be no time to take them.
		if left <= 0 || sess.Status != "scheduled" || !tx.Now.Before(sess.BookingCutoffAt) {
			return nil
		}
		var id int64
		var n int
		err = tx.QueryRowContext(ctx, `SELECT b.id, (SELECT count(*) FROM delegates d WHERE d.booking_id = b.id AND d.status = 'active') AS n
			FROM bookings b WHERE b.session_id = ? AND b.status = 'waitlisted' AND
			(SELECT count(*) FROM delegates d WHERE d.booking_id = b.id AND d.status = 'active') <= ?
			ORDER BY b.created_at, b.id LIMIT 1`, sessionID, left).Scan(&id, &n)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return fmt.Errorf("promote: %w", err)
		}
		until := tx.Now.Add(s.rules().OfferHold)
		if _, err := tx.ExecContext(ctx, `UPDATE bookings SET status = 'offered', offer_expires_at = ?, updated_at = ? WHERE id = ?`,
			store.FormatTime(until), store.FormatTime(tx.Now), id); err != nil {
			return fmt.Errorf("promote: %w", err)
		}
		if err := s.Catalogue.TakePlacesTx(ctx, tx, sessionID, n); err != nil {
			return err
		}
		b, err := s.findBooking(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := tx.Audit(ctx, store.System, "booking.offer", "booking", b.Reference,
			fmt.Sprintf("%d place(s) offered until %s", n, until.In(traded.London).Format("2 Jan 2006 15:04"))); err != nil {
			return err
		}
		if s.Notifier != nil {
			if err := s.Notifier.BookingOffered(ctx, tx, b); err != nil {
				return err
			}
		}
		continue
	}
}

// AcceptOffer takes up a waiting-list offer: the booking is confirmed,
// priced and billed now, at the figure QuoteConfirmation shows; po, when
// given, is the PO number for its invoice. It returns ECONFLICT if there is
// no live offer and EINVALID (po_number) when the school needs a PO and
// there is none.
func (s *Service) AcceptOffer(ctx context.Context, by *account.User, remoteAddr string, id int64, po string) error {
	po, err := traded.CleanPO(po)
	if err != nil {
		return err
	}
	return s.changeBooking(ctx, by, id, func(tx *store.Tx, b *Booking) error {
		if b.Status != StatusOffered || !tx.Now.Before(b.OfferExpiresAt) {
			return traded.Errorf(traded.ECONFLICT, "There is no place on offer for booking %s: the offer may have expired.", b.Reference)
		}
		if err := setPO(ctx, tx, b, po); err != nil {
			return err
		}
		if err := tx.Audit(ctx, by.Actor(remoteAddr), "booking.accept_offer", "booking", b.Reference, ""); err != nil {
			return err
		}
		// A teacher whose school approves teachers' bookings takes the
		// offered places as a request: the places stay held for the manager.
		if by.Role == account.RoleTeacher {
			org, err := s.Organisations.ByIDTx(ctx, tx, b.OrganisationID)
			if err != nil {
				return err
			}
			if org.TeacherApproval {
				if _, err := tx.ExecContext(ctx, `UPDATE bookings SET status = 'requested', offer_expires_at = NULL, updated_at = ? WHERE id = ?`,
					store.FormatTime(tx.Now), b.ID); err != nil {
					return fmt.Errorf("accept offer: %w", err)
				}
				return s.notifyBooking(ctx, tx, b.ID, func(nb *Booking) error { return s.Notifier.BookingRequested(ctx, tx, nb) })
			}
		}
		_, err := s.confirmBooking(ctx, tx, by.Actor(remoteAddr), b)
		return err
	})
}

// DeclineOffer turns down a waiting-list offer; the places go to the next
// in line. It returns ECONFLICT if there is no live offer.
func (s *Service) DeclineOffer(ctx context.Context, by *account.User, remoteAddr string, id int64) error {
	return s.changeBooking(ctx, by, id, func(tx *store.Tx, b *Booking) error {
		if b.Status != StatusOffered {
			return traded.Errorf(traded.ECONFLICT, "There is no place on offer for booking %s.", b.Reference)
		}
		return s.release(ctx, tx, by.Actor(remoteAddr), b, StatusDeclined, "offer declined", "booking.decline_offer")
	})
}

// ExpireOffers ends every waiting-list offer whose time is up, on all
// sessions, offering the places to the next in line. The server runs it
// every minute; a booking also runs it for its own session first.
func (s *Service) ExpireOffers(ctx context.Context) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		_, err := s.expireOffers(ctx, tx, 0)
		return err
	})
}

func (s *Service) expireOffers(ctx context.Context, tx *store.Tx, sessionID int64) (expired int, err error) {
	q, args := `SELECT id FROM bookings WHERE status = 'offered' AND offer_expires_at <= ?`, []any{store.FormatTime(tx.Now)}
	if sessionID != 0 {
		q, args = q+` AND session_id = ?`, append(args, sessionID)
	}
	ids, err := queryIDs(ctx, tx, q+` ORDER BY offer_expires_at, id`, args...)
	if err != nil {
		return 0, fmt.Errorf("expire offers: %w", err)
	}
	for _, id := range ids {
		b, err := s.findBooking(ctx, tx, id)
		if err != nil {
			return 0, err
		}
		if err := s.release(ctx, tx, store.System, b, StatusExpired, "offer not taken up in time", "booking.offer_expired"); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// CancelBooking cancels a booking. Before the free-cancellation cut-off a
// paid booking is credited in full, automatically; after it the charge
// stands. A waiting or requested booking just ends. Freed places go to the
// waiting list. It returns ENOTFOUND for a booking the user may not see,
// EFORBIDDEN for one they may not change, and ECONFLICT once it is
// cancelled or the session has started.
func (s *Service) CancelBooking(ctx context.Context, by *account.User, remoteAddr string, id int64, reason string) error {
	return s.changeBooking(ctx, by, id, func(tx *store.Tx, b *Booking) error {
		return s.cancel(ctx, tx, by.Actor(remoteAddr), b, strings.TrimSpace(reason), false)
	})
}

func (s *Service) cancel(ctx context.Context, tx *store.Tx, actor store.Actor, b *Booking, reason string, byLA bool) error {
	switch b.Status {
	case StatusCancelled, StatusDeclined, StatusExpired:
		return traded.Errorf(traded.ECONFLICT, "Booking %s has already ended (%s).", b.Reference, b.Status)
	}
	if !byLA && !tx.Now.Before(b.Session.StartsAt) {
		return traded.Errorf(traded.ECONFLICT, "The session has started: booking %s can no longer be cancelled.", b.Reference)
	}
	if reason == "" {
		reason = "cancelled by the school"
	}
	if b.Status != StatusConfirmed {
		return s.release(ctx, tx, actor, b, StatusCancelled, reason, "booking.cancel")
	}
	free := byLA || s.freeToCancel(tx.Now, b.Session)
	now := store.FormatTime(tx.Now)
	if _, err := tx.ExecContext(ctx, `UPDATE bookings SET status = 'cancelled', cancel_reason = ?, cancelled_at = ?, late_cancel = ?,
		updated_at = ? WHERE id = ?`, reason, now, !free, now, b.ID); err != nil {
		return fmt.Errorf("cancel booking: %w", err)
	}
	detail := reason
	switch {
	case byLA:
		// CancelSession settles the whole session once every booking on it
		// has ended.
	case free:
		note, err := s.reprice(ctx, tx, actor, b.OrganisationID, b.Session, b, "cancelled: "+reason)
		if err != nil {
			return err
		}
		if note != "" {
			detail += "; " + note
		}
	case b.Price > 0:
		detail += "; after the free-cancellation cut-off: the charge stands"
	}
	if err := s.Catalogue.FreePlacesTx(ctx, tx, b.SessionID, len(b.Active())); err != nil {
		return err
	}
	if err := tx.Audit(ctx, actor, "booking.cancel", "booking", b.Reference, detail); err != nil {
		return err
	}
	gone := b.Active()
	if err := s.notifyBooking(ctx, tx, b.ID, func(nb *Booking) error { return s.Notifier.PlacesCancelled(ctx, tx, nb, gone, reason) }); err != nil {
		return err
	}
	return s.promote(ctx, tx, b.SessionID)
}

// freeToCancel reports whether a booking on sess cancelled at now is
// cancelled free: on or before FreeCancellationUntil.
func (s *Service) freeToCancel(now time.Time, sess *catalogue.Session) bool {
	return !now.After(s.FreeCancellationUntil(sess))
}

// CancelPlace cancels one delegate's place. The last place cancels the
// booking. Before the cut-off the school's bookings on the session are
// priced again without the place (see reprice); after it the place's charge
// stands and it still counts. It returns the errors of CancelBooking.
func (s *Service) CancelPlace(ctx context.Context, by *account.User, remoteAddr string, bookingID, delegateID int64) error {
	return s.changeBooking(ctx, by, bookingID, func(tx *store.Tx, b *Booking) error {
		var d *Delegate
		for _, x := range b.Active() {
			if x.ID == delegateID {
				d = x
			}
		}
		if d == nil {
			return traded.Errorf(traded.ENOTFOUND, "Booking %s has no such delegate.", b.Reference)
		}
		if len(b.Active()) == 1 {
			return s.cancel(ctx, tx, by.Actor(remoteAddr), b, "the only place was cancelled", false)
		}
		if b.Status != StatusConfirmed && !holdsPlaces[b.Status] && b.Status != StatusWaitlisted {
			return traded.Errorf(traded.ECONFLICT, "Booking %s has already ended.", b.Reference)
		}
		if !tx.Now.Before(b.Session.StartsAt) {
			return traded.Errorf(traded.ECONFLICT, "The session has started: places can no longer be cancelled.")
		}
		free := s.freeToCancel(tx.Now, b.Session)
		late := b.Status == StatusConfirmed && !free
		now := store.FormatTime(tx.Now)
		if _, err := tx.ExecContext(ctx, `UPDATE delegates SET status = 'cancelled', late_cancel = ?, updated_at = ? WHERE id = ?`, late, now, d.ID); err != nil {
			return fmt.Errorf("cancel place: %w", err)
		}
		detail := d.Email
		if b.Status == StatusConfirmed {
			if free {
				note, err := s.reprice(ctx, tx, by.Actor(remoteAddr), b.OrganisationID, b.Session, b, fmt.Sprintf("place for %s cancelled", d.Name))
				if err != nil {
					return err
				}
				if note != "" {
					detail += "; " + note
				}
			} else if b.Price > 0 {
				detail += "; after the free-cancellation cut-off: the place's charge stands"
			}
		}
		if holdsPlaces[b.Status] {
			if err := s.Catalogue.FreePlacesTx(ctx, tx, b.SessionID, 1); err != nil {
				return err
			}
		}
		if err := tx.Audit(ctx, by.Actor(remoteAddr), "booking.cancel_place", "booking", b.Reference, detail); err != nil {
			return err
		}
		if err := s.notifyBooking(ctx, tx, b.ID, func(nb *Booking) error {
			return s.Notifier.PlacesCancelled(ctx, tx, nb, []*Delegate{d}, "the place was cancelled")
		}); err != nil {
			return err
		}
		return s.promote(ctx, tx, b.SessionID)
	})
}

// applyCredit takes credit off a booking's charges: by a credit note where a
// charge is invoiced (billing knows which are), and simply before billing
// where it waits for the monthly run (which bills what is left). It returns
// a note for the audit log and how much of the booking's charges remain.
func (s *Service) applyCredit(ctx context.Context, tx *store.Tx, actor store.Actor, b *Booking, credit map[int]pricing.Money, reason string) (string, pricing.Money, error) {
	credits := map[int]pricing.Money{}
	var kept pricing.Money
	for _, c := range b.Charges {
		amt := credit[c.Position]
		kept += c.Amount - c.Credited - amt
		if amt > 0 {
			credits[c.Position] = amt
		}
	}
	note := ""
	if len(credits) > 0 && s.Charger != nil {
		cn, err := s.Charger.CreditBooking(ctx, tx, actor, b, credits, reason)
		if err != nil {
			return "", 0, err
		}
		if cn != "" {
			note = "; credited by " + cn
		}
	}
	for pos, amt := range credit {
		if amt <= 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE booking_charges SET credited_pence = credited_pence + ? WHERE booking_id = ? AND position = ?`,
			int64(amt), b.ID, pos); err != nil {
			return "", 0, fmt.Errorf("credit booking: %w", err)
		}
	}
	return note, kept, nil
}

// SwapDelegate replaces one delegate with a colleague, free, any time
// before the session starts. The colleague gets a new calendar UID; the
// replaced delegate's invite is cancelled. It returns EINVALID for a bad
// name or email, ECONFLICT once the session has started or if the colleague
// is already booked on it.
func (s *Service) SwapDelegate(ctx context.Context, by *account.User, remoteAddr string, bookingID, delegateID int64, name, email string) error {
	return s.changeBooking(ctx, by, bookingID, func(tx *store.Tx, b *Booking) error {
		if by.Role == account.RoleTeacher {
			return traded.Errorf(traded.EFORBIDDEN, "Ask your school business manager to swap a place to a colleague.")
		}
		in, err := s.validateDelegates([]DelegateInput{{Name: name, Email: email}})
		if err != nil {
			return err
		}
		if !holdsPlaces[b.Status] && b.Status != StatusWaitlisted {
			return traded.Errorf(traded.ECONFLICT, "Booking %s has ended.", b.Reference)
		}
		if !tx.Now.Before(b.Session.StartsAt) {
			return traded.Errorf(traded.ECONFLICT, "The session has started: places can no longer be swapped.")
		}
		var old *Delegate
		for _, d := range b.Active() {
			if d.ID == delegateID {
				old = d
			}
		}
		if old == nil {
			return traded.Errorf(traded.ENOTFOUND, "Booking %s has no such delegate.", b.Reference)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM delegates d JOIN bookings bk ON bk.id = d.booking_id
			WHERE bk.session_id = ? AND d.email = ? AND d.status = 'active' AND bk.status IN ('requested', 'confirmed', 'offered', 'waitlisted')`,
			b.SessionID, in[0].Email).Scan(&n); err != nil {
			return fmt.Errorf("swap delegate: %w", err)
		}
		if n > 0 {
			return traded.Errorf(traded.ECONFLICT, "%s is already booked on this session.", in[0].Email)
		}
		now := store.FormatTime(tx.Now)
		if _, err := tx.ExecContext(ctx, `UPDATE delegates SET status = 'replaced', updated_at = ? WHERE id = ?`, now, old.ID); err != nil {
			return fmt.Errorf("swap delegate: %w", err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO delegates (booking_id, name, email, uid, replaces_id, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, b.ID, in[0].Name, in[0].Email, calendar.NewUID(), old.ID, now, now)
		if err != nil {
			return fmt.Errorf("swap delegate: %w", err)
		}
		newID, _ := res.LastInsertId()
		if err := tx.Audit(ctx, by.Actor(remoteAddr), "booking.swap", "booking", b.Reference,
			fmt.Sprintf("%s <%s> replaced by %s <%s>", old.Name, old.Email, in[0].Name, in[0].Email)); err != nil {
			return err
		}
		return s.notifyBooking(ctx, tx, b.ID, func(nb *Booking) error {
			var replacement *Delegate
			for _, d := range nb.Delegates {
				if d.ID == newID {
					replacement = d
				}
			}
			old.Status = "replaced"
			return s.Notifier.DelegateSwapped(ctx, tx, nb, old, replacement)
		})
	})
}

// UpdateSession edits or reschedules a session (admins only; see
// catalogue.Service.UpdateSessionTx): a change to what a delegate's calendar
// holds sends every confirmed booking's delegates their updated invite, and
// more capacity is offered to the waiting list.
func (s *Service) UpdateSession(ctx context.Context, actor store.Actor, id int64, u catalogue.SessionUpdate) (*catalogue.Session, error) {
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		changed, err := s.Catalogue.UpdateSessionTx(ctx, tx, actor, id, u)
		if err != nil {
			return err
		}
		if changed && s.Notifier != nil {
			updated, err := catalogue.SessionOn(ctx, tx, id)
			if err != nil {
				return err
			}
			ids, err := queryIDs(ctx, tx, `SELECT id FROM bookings WHERE session_id = ? AND status = 'confirmed' ORDER BY id`, id)
			if err != nil {
				return fmt.Errorf("update session: %w", err)
			}
			var confirmed []*Booking
			for _, bid := range ids {
				b, err := s.findBooking(ctx, tx, bid)
				if err != nil {
					return err
				}
				confirmed = append(confirmed, b)
			}
			if err := s.Notifier.SessionChanged(ctx, tx, updated, confirmed); err != nil {
				return err
			}
		}
		return s.promote(ctx, tx, id)
	})
	if err != nil {
		return nil, err
	}
	return s.Catalogue.FindSessionByID(ctx, id)
}

// CancelSession cancels a session (admins only): every booking on it ends,
// every paid booking is credited in full whatever the cut-off, and everyone
// is told. It returns ENOTFOUND for an unknown session and ECONFLICT for
// one already cancelled.
func (s *Service) CancelSession(ctx context.Context, actor store.Actor, id int64, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return traded.FieldErrorf("reason", "Give the reason, which every booker is told.")
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		sess, err := s.Catalogue.CancelSessionTx(ctx, tx, id, reason)
		if err != nil {
			return err
		}
		ids, err := queryIDs(ctx, tx, `SELECT id FROM bookings WHERE session_id = ? AND status IN ('requested', 'confirmed', 'offered', 'waitlisted') ORDER BY id`, id)
		if err != nil {
			return fmt.Errorf("cancel session: %w", err)
		}
		for _, bid := range ids {
			b, err := s.findBooking(ctx, tx, bid)
			if err != nil {
				return err
			}
			if err := s.cancel(ctx, tx, actor, b, "the LA cancelled the session: "+reason, true); err != nil {
				return err
			}
		}
		// The session did not run: every school's charges on it, late
		// cancellations included, are credited in full.
		orgs, err := queryIDs(ctx, tx, `SELECT DISTINCT organisation_id FROM bookings WHERE session_id = ? AND confirm_seq IS NOT NULL ORDER BY organisation_id`, id)
		if err != nil {
			return fmt.Errorf("cancel session: %w", err)
		}
		cancelled, err := catalogue.SessionOn(ctx, tx, id)
		if err != nil {
			return err
		}
		for _, org := range orgs {
			if _, err := s.reprice(ctx, tx, actor, org, cancelled, nil, "the LA cancelled the session: "+reason); err != nil {
				return err
			}
		}
		// Each booking's cancellation above has told its people.
		return tx.Audit(ctx, actor, "session.cancel", "session", strconv.FormatInt(id, 10),
			fmt.Sprintf("%s: %s; %d booking(s) cancelled", sess.Title, reason, len(ids)))
	})
}

// Attendance values.
var attendanceValues = map[string]bool{"attended": true, "absent": true, "partial": true, "": true}

// SetAttendance takes the register (admins only): each delegate of a
// confirmed booking on the session is marked attended, absent or partial
// ("" clears the mark). It returns EINVALID for a bad value or a delegate
// not on the session.
func (s *Service) SetAttendance(ctx context.Context, actor store.Actor, sessionID int64, marks map[int64]string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		sess, err := catalogue.SessionOn(ctx, tx, sessionID)
		if err != nil {
			return err
		}
		if tx.Now.Before(sess.StartsAt) {
			return traded.Errorf(traded.ECONFLICT, "The register opens when the session starts, on %s.", sess.StartsAt.In(traded.London).Format("2 January 2006 at 3:04pm"))
		}
		if sess.Status != "scheduled" {
			return traded.Errorf(traded.ECONFLICT, "This session was cancelled: there is no register to take.")
		}
		for did, mark := range marks {
			if !attendanceValues[mark] {
				return traded.FieldErrorf("attendance", "Mark each delegate attended, absent or partial.")
			}
			var mk any
			if mark != "" {
				mk = mark
			}
			res, err := tx.ExecContext(ctx, `UPDATE delegates SET attendance = ?, marked_at = ?, marked_by = ?, updated_at = ?
				WHERE id = ? AND status = 'active' AND booking_id IN (SELECT id FROM bookings WHERE session_id = ? AND status = 'confirmed')`,
				mk, store.FormatTime(tx.Now), actor.Label(), store.FormatTime(tx.Now), did, sessionID)
			if err != nil {
				return fmt.Errorf("set attendance: %w", err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return traded.FieldErrorf("attendance", "Delegate %d is not booked on this session.", did)
			}
		}
		return tx.Audit(ctx, actor, "session.register", "session", strconv.FormatInt(sessionID, 10), fmt.Sprintf("%d delegate(s) marked", len(marks)))
	})
}

// RegisterLine is one delegate on a session's register, with their booking.
type RegisterLine struct {
	Delegate      *Delegate
	Reference     string // the booking's
	BookingStatus string
	OrgURN        int64
	OrgName       string
}

// Cursor is where l stands in FindRegister's order, for RegisterFilter.After:
// its booking's id (in decimal), then the delegate's.
func (l RegisterLine) Cursor() store.Cursor {
	return store.Cursor{Key: strconv.FormatInt(l.Delegate.BookingID, 10), ID: l.Delegate.ID}
}

// RegisterFilter selects a page of a session's register.
type RegisterFilter struct {
	SessionID int64
	// Statuses are the bookings' (none: confirmed, those SetAttendance marks).
	Statuses []string
	// Limit is how many to return at most (0: all), after skipping Offset,
	// of those after After.
	Limit  int
	Offset int
	After  *store.Cursor
}

// FindRegister returns the active delegates of a session's confirmed
// bookings (or those of f.Statuses), by booking and then delegate. It
// returns EINVALID (after) for a cursor whose key is not a booking id.
func (s *Service) FindRegister(ctx context.Context, f RegisterFilter) ([]RegisterLine, error) {
	statuses := f.Statuses
	if len(statuses) == 0 {
		statuses = []string{StatusConfirmed}
	}
	where := `b.session_id = ? AND d.status = 'active' AND b.status IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(statuses)), ", ") + `)`
	args := []any{f.SessionID}
	for _, st := range statuses {
		args = append(args, st)
	}
	if f.After != nil {
		bid, err := strconv.ParseInt(f.After.Key, 10, 64)
		if err != nil {
			return nil, traded.FieldErrorf("after", "after is not a place in this register.")
		}
		where, args = where+` AND (d.booking_id, d.id) > (?, ?)`, append(args, bid, f.After.ID)
	}
	limit, largs := store.LimitSQL(f.Limit, f.Offset)
	rows, err := s.db.Read().QueryContext(ctx, `SELECT d.id, d.booking_id, d.name, d.email, d.status, d.uid, COALESCE(d.replaces_id, 0),
			COALESCE(d.attendance, ''), d.late_cancel, b.reference, b.status, b.organisation_id
		FROM delegates d JOIN bookings b ON b.id = d.booking_id
		WHERE `+where+` ORDER BY d.booking_id, d.id`+limit, append(args, largs...)...)
	if err != nil {
		return nil, fmt.Errorf("find register: %w", err)
	}
	var out []RegisterLine
	var orgOf []int64 // each line's school
	var orgIDs []int64
	seen := map[int64]bool{}
	for rows.Next() {
		d := &Delegate{}
		l := RegisterLine{Delegate: d}
		var org int64
		if err := rows.Scan(&d.ID, &d.BookingID, &d.Name, &d.Email, &d.Status, &d.UID, &d.ReplacesID, &d.Attendance, &d.LateCancel,
			&l.Reference, &l.BookingStatus, &org); err != nil {
			rows.Close()
			return nil, fmt.Errorf("find register: %w", err)
		}
		out, orgOf = append(out, l), append(orgOf, org)
		if !seen[org] {
			seen[org] = true
			orgIDs = append(orgIDs, org)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find register: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	// The schools' URNs and names, in one lookup for the page.
	orgs, err := s.Organisations.FindByIDs(ctx, orgIDs)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if o := orgs[orgOf[i]]; o != nil {
			out[i].OrgURN, out[i].OrgName = o.URN, o.Name
		}
	}
	return out, nil
}

// PaidBeforeSubscribing returns what a school paid this year for PSA
// single-session places that its subscription would now have covered: on
// each session, the paid places beyond those its staff would still need as
// a subscriber. The page shows it; finance may credit it (never automatic).
func (s *Service) PaidBeforeSubscribing(ctx context.Context, orgID int64, year pricing.AcademicYear) (pricing.Money, int, error) {
	sessions, err := s.Catalogue.FindSessions(ctx, catalogue.SessionFilter{Year: &year})
	if err != nil {
		return 0, 0, err
	}
	rows, err := s.db.Read().QueryContext(ctx, `SELECT b.session_id,
			(SELECT count(*) FROM delegates d JOIN bookings b2 ON b2.id = d.booking_id
			 WHERE b2.organisation_id = b.organisation_id AND b2.session_id = b.session_id AND b2.status = 'confirmed' AND d.status = 'active'),
			SUM((c.amount_pence - c.credited_pence) / c.unit_pence), MAX(c.unit_pence)
		FROM booking_charges c JOIN bookings b ON b.id = c.booking_id`+sessionJoin+`
		WHERE b.organisation_id = ? AND b.status = 'confirmed' AND c.product_code = ? AND c.unit_pence > 0
		GROUP BY b.session_id`, startsJSON(sessions), orgID, pricing.PSASession)
	if err != nil {
		return 0, 0, fmt.Errorf("paid before subscribing: %w", err)
	}
	defer rows.Close()
	var total pricing.Money
	var places int
	for rows.Next() {
		var sid int64
		var staff, paid int
		var unit int64
		if err := rows.Scan(&sid, &staff, &paid, &unit); err != nil {
			return 0, 0, err
		}
		if extra := paid - pricing.PlacesNeeded(true, staff); extra > 0 {
			places += extra
			total += pricing.Money(unit) * pricing.Money(extra)
		}
	}
	return total, places, rows.Err()
}

// queryIDs runs a query of one id column and returns the ids, closing the
// rows before the caller goes on to use the transaction again.
func queryIDs(ctx context.Context, q store.Queryer, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
