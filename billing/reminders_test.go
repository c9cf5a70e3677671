package billing_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"traded"
	"traded/billing"
	"traded/catalogue"
	"traded/pricing"
	"traded/store"
)

// reminderMail is one queued payment reminder.
type reminderMail struct {
	to, subject, body string
}

func (f *billingFixture) reminderMails(t *testing.T) []reminderMail {
	t.Helper()
	rows, err := f.db.Read().Query(`SELECT to_addr, subject, body_text FROM outbox WHERE kind = 'payment_reminder' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []reminderMail
	for rows.Next() {
		var m reminderMail
		if err := rows.Scan(&m.to, &m.subject, &m.body); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// stagesSent returns the reminder stages recorded for an invoice.
func (f *billingFixture) stagesSent(t *testing.T, number string) []int {
	t.Helper()
	rows, err := f.db.Read().Query(`SELECT r.stage FROM invoice_reminders r JOIN invoices i ON i.id = r.invoice_id WHERE i.number = ? ORDER BY r.stage`, number)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

func (f *billingFixture) reminderAudit(t *testing.T) []store.AuditEntry {
	t.Helper()
	entries, err := f.db.FindAudit(context.Background(), store.AuditFilter{Action: "invoice.reminder", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// at sets the clock to 10:00 London on a date.
func (f *billingFixture) at(date string) {
	d, err := time.ParseInLocation("2006-01-02", date, time.UTC)
	if err != nil {
		panic(err)
	}
	f.clock.Set(time.Date(d.Year(), d.Month(), d.Day(), 10, 0, 0, 0, traded.London))
}

// buy issues a subscription invoice to a school on the clock's date, with
// its invoices going to email.
func (f *billingFixture) buy(t *testing.T, urn int64, email string) *billing.Invoice {
	t.Helper()
	ctx := context.Background()
	if err := f.booking.Organisations.SetBillingDetails(ctx, f.actor, urn, "", false, email); err != nil {
		t.Fatal(err)
	}
	sub, err := f.billing.BuySubscription(ctx, f.actor, urn, 2021, "PO-1")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := f.billing.FindInvoiceByNumber(ctx, sub.InvoiceNumber)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func (f *billingFixture) remind(t *testing.T, stages []int) *billing.ReminderRun {
	t.Helper()
	run, err := f.billing.SendPaymentReminders(context.Background(), stages)
	if err != nil {
		t.Fatalf("SendPaymentReminders on %s: %v", f.clock.Now().Format("Mon 2 Jan 2006"), err)
	}
	return run
}

func wantRun(t *testing.T, what string, run *billing.ReminderRun, sent int, held bool, reason string) {
	t.Helper()
	if run.Sent != sent || run.Held != held || (reason != "" && run.Reason != reason) || (reason == "" && run.Reason != "") {
		t.Errorf("%s: got sent %d held %v reason %q, want sent %d held %v reason %q", what, run.Sent, run.Held, run.Reason, sent, held, reason)
	}
}

// TestService_SendPaymentReminders walks an academy's overdue invoice
// through term time, a weekend and the Christmas holidays; a maintained
// school's invoice (settled by journal) and a paid one are never reminded.
func TestService_SendPaymentReminders(t *testing.T) {
	f := newBilling(t)
	ctx := context.Background()

	// Issued on Saturday 24 October 2026: due Monday 23 November.
	f.at("2026-10-24")
	academy := f.buy(t, 100002, "accounts@oak.example")
	maintained := f.buy(t, 100001, "accounts@maple.example")
	paid := f.buy(t, 100003, "accounts@shore.example")
	if academy.Settlement != "bacs_or_card" || maintained.Settlement != "journal" || academy.DueDate != "2026-11-23" {
		t.Fatalf("setup: academy %s due %s, maintained %s; want bacs_or_card due 2026-11-23, journal",
			academy.Settlement, academy.DueDate, maintained.Settlement)
	}
	if _, err := f.billing.RecordPayment(ctx, f.actor, paid.Number, billing.PaymentInput{Method: billing.MethodBACS, Amount: paid.Total,
		Reference: "SHORE " + paid.Number}); err != nil {
		t.Fatal(err)
	}

	t.Run("NoTermDates_Held", func(t *testing.T) {
		f.at("2026-11-30") // a Monday, 7 days overdue, but 2026/27 has no terms yet
		wantRun(t, "no term dates", f.remind(t, nil), 0, true, "there are no term dates for 2026/27")
		if n := len(f.reminderMails(t)); n != 0 {
			t.Errorf("%d reminders queued with no term dates", n)
		}
	})

	terms := catalogue.TypicalTerms(2026)
	if err := f.booking.Catalogue.SetTerms(ctx, f.actor, 2026, terms); err != nil {
		t.Fatal(err)
	}
	if got := terms[1].EndsOn.Format("2006-01-02") + " " + terms[2].StartsOn.Format("2006-01-02"); got != "2026-12-18 2027-01-11" {
		t.Fatalf("setup: Autumn 2 ends and Spring 1 starts %s, want 2026-12-18 2027-01-11", got)
	}

	t.Run("SevenDaysOverdue_TermTime_OneReminder", func(t *testing.T) {
		f.at("2026-11-30")
		wantRun(t, "Mon 30 Nov", f.remind(t, nil), 1, false, "")
		mails := f.reminderMails(t)
		if len(mails) != 1 {
			t.Fatalf("got %d reminder mails, want 1: %+v", len(mails), mails)
		}
		m := mails[0]
		if m.to != "accounts@oak.example" || m.subject != "Reminder: invoice "+academy.Number+" is overdue" {
			t.Errorf("reminder to %s %q, want accounts@oak.example about %s", m.to, m.subject, academy.Number)
		}
		for _, want := range []string{academy.Number, "7 days overdue", "2026-11-23", academy.Total.String(), "Pay by BACS"} {
			if !strings.Contains(m.body, want) {
				t.Errorf("reminder body lacks %q:\n%s", want, m.body)
			}
		}
		if got := f.stagesSent(t, academy.Number); len(got) != 1 || got[0] != 7 {
			t.Errorf("stages recorded: got %v, want [7]", got)
		}
		audit := f.reminderAudit(t)
		if len(audit) != 1 || audit[0].EntityID != academy.Number || !strings.Contains(audit[0].Detail, "7 days overdue") {
			t.Errorf("audit: got %+v, want one invoice.reminder for %s, 7 days overdue", audit, academy.Number)
		}
	})

	t.Run("SameDayAgain_None", func(t *testing.T) {
		f.clock.Advance(3 * time.Hour)
		wantRun(t, "again on Mon 30 Nov", f.remind(t, nil), 0, false, "")
		if n := len(f.reminderMails(t)); n != 1 {
			t.Errorf("reminder mails: got %d, want still 1", n)
		}
	})

	t.Run("ThirtyDaysOverdue_ChristmasHolidays_Held", func(t *testing.T) {
		f.at("2026-12-23") // a Wednesday, 30 days overdue, after term ends on 18 December
		wantRun(t, "Wed 23 Dec", f.remind(t, nil), 0, true, "school holidays")
		if n := len(f.reminderMails(t)); n != 1 {
			t.Errorf("reminder mails in the holidays: got %d, want still 1", n)
		}
	})

	t.Run("Weekend_Held", func(t *testing.T) {
		f.at("2027-01-09") // Saturday before Spring 1
		wantRun(t, "Sat 9 Jan", f.remind(t, nil), 0, true, "not a working day")
		f.at("2026-12-05") // a Saturday in term
		wantRun(t, "Sat 5 Dec", f.remind(t, nil), 0, true, "not a working day")
	})

	t.Run("FirstDayOfSpring1_OneReminderForThe30DayStage", func(t *testing.T) {
		f.at("2027-01-11")
		wantRun(t, "Mon 11 Jan", f.remind(t, nil), 1, false, "")
		mails := f.reminderMails(t)
		if len(mails) != 2 || mails[1].to != "accounts@oak.example" || !strings.Contains(mails[1].body, "49 days overdue") {
			t.Errorf("reminder mails: got %+v, want a second one to accounts@oak.example, 49 days overdue", mails)
		}
		if got := f.stagesSent(t, academy.Number); len(got) != 2 || got[0] != 7 || got[1] != 30 {
			t.Errorf("stages recorded: got %v, want [7 30]", got)
		}
		if n := len(f.reminderAudit(t)); n != 2 {
			t.Errorf("invoice.reminder audit entries: got %d, want 2", n)
		}
		f.clock.Advance(time.Hour)
		wantRun(t, "again on Mon 11 Jan", f.remind(t, nil), 0, false, "")
	})

	t.Run("Maintained_And_Paid_NeverReminded", func(t *testing.T) {
		for _, inv := range []*billing.Invoice{maintained, paid} {
			if got := f.stagesSent(t, inv.Number); len(got) != 0 {
				t.Errorf("invoice %s (%s): reminder stages %v, want none", inv.Number, inv.Settlement, got)
			}
		}
		for _, m := range f.reminderMails(t) {
			if m.to != "accounts@oak.example" {
				t.Errorf("a reminder went to %s: %q", m.to, m.subject)
			}
		}
		if got, _ := f.billing.FindInvoiceByNumber(ctx, paid.Number); got.Balance() != 0 {
			t.Errorf("setup: paid invoice %s has balance %s", paid.Number, got.Balance())
		}
	})
}

// TestService_SendPaymentReminders_CustomStages: stages are configurable.
func TestService_SendPaymentReminders_CustomStages(t *testing.T) {
	f := newBilling(t)
	f.at("2026-10-28") // due Friday 27 November
	inv := f.buy(t, 100002, "accounts@oak.example")
	if err := f.booking.Catalogue.SetTerms(context.Background(), f.actor, 2026, catalogue.TypicalTerms(2026)); err != nil {
		t.Fatal(err)
	}
	f.at("2026-11-30") // Monday, 3 days overdue
	wantRun(t, "default stages at 3 days", f.remind(t, nil), 0, false, "")
	wantRun(t, "stages [3] at 3 days", f.remind(t, []int{3}), 1, false, "")
	if got := f.stagesSent(t, inv.Number); len(got) != 1 || got[0] != 3 {
		t.Errorf("stages recorded: got %v, want [3]", got)
	}
	if mails := f.reminderMails(t); len(mails) != 1 || !strings.Contains(mails[0].body, "3 days overdue") {
		t.Errorf("reminder mails: got %+v, want one, 3 days overdue", mails)
	}
	wantRun(t, "stages [3] again", f.remind(t, []int{3}), 0, false, "")
}

// TestCreditOnAccount_RemindersAndAgedDebt: a school in credit is not
// chased for what its credit covers, and aged debt nets the credit off;
// aged debt on a past day is what the ledger knew that day, so a payment
// recorded later (even if received before) is not in it.
func TestCreditOnAccount_RemindersAndAgedDebt(t *testing.T) {
	f := newBilling(t)
	ctx := context.Background()
	f.at("2026-10-24")
	covered := f.buy(t, 100002, "accounts@oak.example")
	partly := f.buy(t, 100003, "accounts@shore.example")
	extra := func(urn int64, amount pricing.Money) string {
		org, err := f.booking.Organisations.FindByURN(ctx, urn)
		if err != nil {
			t.Fatal(err)
		}
		n, err := f.billing.CreateInvoice(ctx, f.actor, billing.InvoiceInput{OrganisationID: org.ID, Source: "manual",
			Lines: []billing.LineInput{{ProductCode: "psa-session", Description: "Training", Quantity: 1, Unit: amount}}})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	oakExtra, shoreExtra := extra(100002, 40000), extra(100003, 10000)
	// On 2 November each school's later invoice is paid, with more than it
	// owed: Oak's excess covers its subscription, Shore's £100.00 part of it.
	f.at("2026-11-02")
	for number, amount := range map[string]pricing.Money{oakExtra: 40000 + covered.Total, shoreExtra: 20000} {
		res, err := f.billing.RecordPayment(ctx, f.actor, number, billing.PaymentInput{Method: billing.MethodBACS, Amount: amount,
			ReceivedOn: "2026-10-30"})
		if err != nil || !res.Overpaid {
			t.Fatalf("pay %s: %+v %v", number, res, err)
		}
	}
	if err := f.booking.Catalogue.SetTerms(ctx, f.actor, 2026, catalogue.TypicalTerms(2026)); err != nil {
		t.Fatal(err)
	}
	f.at("2026-11-30")
	wantRun(t, "Mon 30 Nov", f.remind(t, nil), 1, false, "")
	mails := f.reminderMails(t)
	if len(mails) != 1 || mails[0].to != "accounts@shore.example" {
		t.Fatalf("reminders: %+v, want one, to Shore", mails)
	}
	want := fmt.Sprintf("%s is still to pay: £100.00 of the %s left on it is covered by credit", partly.Total-10000, partly.Total)
	if !strings.Contains(mails[0].body, want) {
		t.Errorf("reminder body lacks %q:\n%s", want, mails[0].body)
	}

	rep, err := f.billing.AgedDebt(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Invoices) != 1 || rep.Invoices[0].Number != partly.Number || rep.Invoices[0].Balance != partly.Total-10000 ||
		rep.Invoices[0].LastReminder.IsZero() {
		t.Errorf("aged debt today: %+v, want only %s net of £100.00 credit, reminded", rep.Invoices, partly.Number)
	}
	if rep.CreditApplied != covered.Total+10000 || rep.Totals.Total != partly.Total-10000 {
		t.Errorf("credit applied %s total %s", rep.CreditApplied, rep.Totals.Total)
	}
	// On 31 October the payments (received on the 30th) were not yet known.
	past, err := f.billing.AgedDebt(ctx, "2026-10-31")
	if err != nil {
		t.Fatal(err)
	}
	if wantTotal := covered.Total + partly.Total + 50000; past.Totals.Total != wantTotal || past.CreditApplied != 0 || len(past.Invoices) != 4 {
		t.Errorf("aged debt as at 31 October: total %s, credit %s, %d invoices; want %s, none, 4", past.Totals.Total, past.CreditApplied,
			len(past.Invoices), wantTotal)
	}
	if _, err := f.billing.AgedDebt(ctx, "2027-01-01"); traded.ErrorCode(err) != traded.EINVALID {
		t.Errorf("aged debt in the future: %v, want EINVALID", err)
	}
}
