package billing

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"traded"
	"traded/catalogue"
	"traded/mail"
	"traded/pricing"
	"traded/store"
)

// DefaultReminderStages are the days overdue at which a payment reminder goes.
var DefaultReminderStages = []int{7, 30, 60}

// ReminderRun says what SendPaymentReminders did.
type ReminderRun struct {
	Sent int
	// Held is set when today is not a school day (a weekend, a bank holiday,
	// or outside the LA's terms), or the year has no term dates: reminders
	// then wait for the next school day.
	Held   bool
	Reason string
}

// SendPaymentReminders reminds schools of overdue invoices at each stage
// (days past the due date) not yet sent, but only on a school day, so no
// reminder lands in a school holiday: a weekday, not a bank holiday, inside
// one of the LA's terms for the year (term dates are data the admin edits;
// a year without them holds reminders). An invoice that passes several
// stages while held gets one reminder, for the latest. Maintained schools,
// which settle by journal, get none.
func (s *Service) SendPaymentReminders(ctx context.Context, stages []int) (*ReminderRun, error) {
	if len(stages) == 0 {
		stages = DefaultReminderStages
	}
	stages = append([]int(nil), stages...)
	sort.Ints(stages)
	now := s.db.Now().In(traded.London)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	year := pricing.AcademicYearOf(now, traded.London)
	terms, err := s.catalogue.FindTerms(ctx, year)
	if err != nil {
		return nil, err
	}
	switch {
	case len(terms) == 0:
		return &ReminderRun{Held: true, Reason: fmt.Sprintf("there are no term dates for %s", year)}, nil
	case !s.catalogue.Holidays().IsWorkingDay(today):
		return &ReminderRun{Held: true, Reason: "not a working day"}, nil
	case !catalogue.InTerm(terms, today):
		return &ReminderRun{Held: true, Reason: "school holidays"}, nil
	}
	run := &ReminderRun{}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		todayText := today.Format(store.DateFormat)
		rows, err := tx.QueryContext(ctx, `SELECT i.id, i.number, i.organisation_id, i.due_date, `+owingSQL+`,
				COALESCE((SELECT MAX(stage) FROM invoice_reminders r WHERE r.invoice_id = i.id), 0)
			FROM invoices i WHERE i.status = 'issued' AND i.settlement = 'bacs_or_card' AND i.due_date < ?
			AND `+owingSQL+` > 0
			ORDER BY i.seq`, todayText)
		if err != nil {
			return fmt.Errorf("payment reminders: %w", err)
		}
		type due struct {
			id, org       int64
			number, date  string
			balance       pricing.Money
			lastStageSent int
		}
		var todo []due
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.id, &d.number, &d.org, &d.date, &d.balance, &d.lastStageSent); err != nil {
				rows.Close()
				return err
			}
			todo = append(todo, d)
		}
		rows.Close()
		// Credit on an account covers its invoices oldest due first: an
		// invoice it covers is not chased, and one it covers in part is
		// chased for the rest.
		open, credit, err := ledgerAsOf(ctx, tx, store.FormatTime(tx.Now.Add(time.Second)))
		if err != nil {
			return err
		}
		covered := map[int64]pricing.Money{}
		for _, o := range open {
			if c := credit[o.org]; c > 0 {
				covered[o.id] = min(c, o.balance)
				credit[o.org] -= covered[o.id]
			}
		}
		for _, d := range todo {
			dueDate, err := time.Parse(store.DateFormat, d.date)
			if err != nil {
				continue
			}
			overdue := int(today.Sub(dueDate).Hours() / 24)
			stage := 0
			for _, st := range stages {
				if overdue >= st && st > d.lastStageSent {
					stage = st
				}
			}
			if stage == 0 || covered[d.id] >= d.balance {
				continue
			}
			if err := s.queueReminder(ctx, tx, d.org, d.number, overdue, covered[d.id]); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO invoice_reminders (invoice_id, stage, sent_at) VALUES (?, ?, ?)`,
				d.id, stage, store.FormatTime(tx.Now)); err != nil {
				return fmt.Errorf("payment reminders: %w", err)
			}
			if err := tx.Audit(ctx, store.System, "invoice.reminder", "invoice", d.number, strconv.Itoa(overdue)+" days overdue"); err != nil {
				return err
			}
			run.Sent++
		}
		return nil
	})
	return run, err
}

// queueReminder mails the school's billing contacts a reminder of an
// overdue invoice, less credit, the credit on the account that covers part of it.
func (s *Service) queueReminder(ctx context.Context, tx *store.Tx, orgID int64, number string, overdue int, credit pricing.Money) error {
	inv, err := findInvoice(ctx, tx, `i.number = ?`, number)
	if err != nil {
		return err
	}
	owed := fmt.Sprintf("%s is still to pay.", inv.Balance())
	if credit > 0 {
		owed = fmt.Sprintf("%s is still to pay: %s of the %s left on it is covered by credit on your account, which we will set against it.",
			inv.Balance()-credit, credit, inv.Balance())
	}
	to, err := s.billingContacts(ctx, tx, orgID)
	if err != nil {
		return err
	}
	body := fmt.Sprintf("Dear colleague,\n\nInvoice %s from %s for %s was due on %s and is now %d days overdue. %s\n\n%s\n\nSee the invoice: %s/invoices/%s\n\nIf you have already paid, thank you, and please ignore this reminder. Questions: %s.\n\n%s\n",
		inv.Number, s.cfg.Supplier.Name, inv.Total, inv.DueDate, overdue, owed, s.howToPay(inv), s.cfg.BaseURL, inv.Number,
		s.cfg.Supplier.Email, s.cfg.Supplier.Name)
	for _, c := range to {
		if _, err := mail.Enqueue(ctx, tx, mail.Message{Kind: "payment_reminder", To: c.email, ToName: c.name,
			Subject: fmt.Sprintf("Reminder: invoice %s is overdue", inv.Number), Text: body}); err != nil {
			return err
		}
	}
	return nil
}
