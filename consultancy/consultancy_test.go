package consultancy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"traded"
	"traded/account"
	"traded/app"
	"traded/catalogue"
	"traded/consultancy"
	"traded/demo"
	"traded/mail"
	"traded/notify"
	"traded/pricing"
	"traded/store"
	"traded/store/storetest"
)

type consultFixture struct {
	ctx   context.Context
	svc   *consultancy.Service
	clock *traded.FixedClock
	admin *account.User
	adv   *account.User
	adv2  *account.User
}

func newConsultFixture(t *testing.T) *consultFixture {
	t.Helper()
	db, clock := storetest.Open(t)
	domains := app.Domains(db)
	svc := domains.Consultancy
	svc.Accounts.PasswordCost = 4
	ctx := context.Background()
	if err := demo.LoadBase(ctx, domains.Booking); err != nil {
		t.Fatal(err)
	}
	f := &consultFixture{ctx: ctx, svc: svc, clock: clock}
	var err error
	if f.admin, err = svc.Accounts.FindUserByEmail(ctx, "admin@traded.example"); err != nil {
		t.Fatal(err)
	}
	if f.adv, err = svc.Accounts.FindUserByEmail(ctx, "adviser@traded.example"); err != nil {
		t.Fatal(err)
	}
	if f.adv2, err = svc.Accounts.CreateUser(ctx, store.System, account.UserInput{Email: "adviser2@traded.example", Name: "Second Adviser", Role: account.RoleAdviser, Password: "a long password 1"}); err != nil {
		t.Fatal(err)
	}
	var rates []catalogue.ConsultancyRate
	for _, tr := range []struct {
		tier      pricing.Tier
		day, half pricing.Money
	}{{pricing.Maintained, 45000, 25000}, {pricing.Academy, 50000, 27500}, {pricing.External, 60000, 32500}} {
		rates = append(rates, catalogue.ConsultancyRate{Product: "governance-qa", Tier: tr.tier, Day: tr.day, HalfDay: tr.half})
	}
	if err := svc.Catalogue.SetConsultancyRates(ctx, store.System, 2026, rates); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *consultFixture) request(t *testing.T, managerEmail string, urn int64) *consultancy.Request {
	t.Helper()
	m, err := f.svc.Accounts.FindUserByEmail(f.ctx, managerEmail)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.svc.CreateRequest(f.ctx, m, "", urn, "governance-qa", "A review of our board before Ofsted", "Spring term", "PO-1")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConsultancy_QuotePerTier(t *testing.T) {
	f := newConsultFixture(t)
	visits := []consultancy.VisitInput{{Date: "2027-01-12", Part: "day", Mode: "onsite"}, {Date: "2027-01-19", Part: "am", Mode: "virtual"}}
	for _, tt := range []struct {
		manager string
		urn     int64
		want    pricing.Money // 1 day + 1 half day
		adviser *account.User
	}{
		{"manager@chelmervalley.example", 990001, 45000 + 25000, f.adv},
		{"manager@basildonmeadows.example", 990004, 50000 + 27500, f.adv2},
	} {
		c := f.request(t, tt.manager, tt.urn)
		if err := f.svc.Quote(f.ctx, f.admin, "", c.ID, consultancy.QuoteInput{AdviserID: tt.adviser.ID, Visits: visits, Billing: "completion", LateCancelRule: "full"}); err != nil {
			t.Fatal(err)
		}
		c, _ = f.svc.FindByID(f.ctx, c.ID)
		if c.Status != consultancy.StatusQuoted || c.QuotedHalfDays() != 3 || c.QuotedFee() != tt.want {
			t.Errorf("URN %d: %s, %d half days, %s; want quoted, 3, %s", tt.urn, c.Status, c.QuotedHalfDays(), c.QuotedFee(), tt.want)
		}
	}
	if got := consultancy.Fee(5, 45000, 25000); got != 2*45000+25000 {
		t.Errorf("5 half days = %s, want £1,150.00", got)
	}
	t.Run("NoRatesForTier", func(t *testing.T) {
		c := f.request(t, "manager@leighcliffs.example", 990007)
		err := f.svc.Quote(f.ctx, f.admin, "", c.ID, consultancy.QuoteInput{AdviserID: f.adv.ID,
			Visits: []consultancy.VisitInput{{Date: "2027-02-02", Part: "day", Mode: "onsite"}}, Billing: "completion", LateCancelRule: "full"})
		if err != nil {
			t.Fatalf("external has rates: %v", err)
		}
	})
	t.Run("BadVisits", func(t *testing.T) {
		c := f.request(t, "manager@chelmervalley.example", 990001)
		for name, v := range map[string][]consultancy.VisitInput{
			"Saturday":    {{Date: "2027-01-16", Part: "day", Mode: "onsite"}},
			"BankHoliday": {{Date: "2026-12-28", Part: "day", Mode: "onsite"}},
			"Past":        {{Date: "2026-11-20", Part: "day", Mode: "onsite"}},
			"BadPart":     {{Date: "2027-01-13", Part: "evening", Mode: "onsite"}},
			"Overlap":     {{Date: "2027-01-13", Part: "day", Mode: "onsite"}, {Date: "2027-01-13", Part: "am", Mode: "onsite"}},
		} {
			err := f.svc.Quote(f.ctx, f.admin, "", c.ID, consultancy.QuoteInput{AdviserID: f.adv.ID, Visits: v, Billing: "completion", LateCancelRule: "full"})
			if traded.ErrorCode(err) != traded.EINVALID {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
	})
}

func TestConsultancy_AcceptDecline(t *testing.T) {
	f := newConsultFixture(t)
	manager, _ := f.svc.Accounts.FindUserByEmail(f.ctx, "manager@chelmervalley.example")
	other, _ := f.svc.Accounts.FindUserByEmail(f.ctx, "manager@basildonmeadows.example")
	quote := func(date string) *consultancy.Request {
		c := f.request(t, "manager@chelmervalley.example", 990001)
		if err := f.svc.Quote(f.ctx, f.admin, "", c.ID, consultancy.QuoteInput{AdviserID: f.adv.ID,
			Visits: []consultancy.VisitInput{{Date: date, Part: "day", Mode: "onsite"}}, Billing: "monthly", LateCancelRule: "half"}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := quote("2027-01-12")
	if err := f.svc.DecideQuote(f.ctx, other, "", a.ID, true, ""); traded.ErrorCode(err) != traded.ENOTFOUND {
		t.Errorf("another school accepting: %v, want not found", err)
	}
	if err := f.svc.DecideQuote(f.ctx, manager, "", a.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	a, _ = f.svc.FindByID(f.ctx, a.ID)
	if a.Status != consultancy.StatusAccepted || a.Visits[0].Status != "planned" {
		t.Errorf("accepted: %s, visit %s", a.Status, a.Visits[0].Status)
	}
	if err := f.svc.DecideQuote(f.ctx, manager, "", a.ID, false, ""); traded.ErrorCode(err) != traded.ECONFLICT {
		t.Errorf("deciding twice: %v", err)
	}
	d := quote("2027-01-13")
	if err := f.svc.DecideQuote(f.ctx, manager, "", d.ID, false, ""); err != nil {
		t.Fatal(err)
	}
	// Declining releases the adviser's day.
	e := quote("2027-01-13")
	e, _ = f.svc.FindByID(f.ctx, e.ID)
	if e.Status != consultancy.StatusQuoted {
		t.Errorf("the declined day was not released: %s", e.Status)
	}
}

// TestConsultancy_DoubleBookingRace: many quotes for the same adviser and
// day at once: exactly one holds it.
func TestConsultancy_DoubleBookingRace(t *testing.T) {
	f := newConsultFixture(t)
	var reqs []*consultancy.Request
	for i := 0; i < 20; i++ {
		reqs = append(reqs, f.request(t, "manager@chelmervalley.example", 990001))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for i, c := range reqs {
		wg.Add(1)
		go func(i int, c *consultancy.Request) {
			defer wg.Done()
			part := []string{"day", "am", "pm"}[i%3]
			err := f.svc.Quote(f.ctx, f.admin, "", c.ID, consultancy.QuoteInput{AdviserID: f.adv.ID,
				Visits: []consultancy.VisitInput{{Date: "2027-02-03", Part: part, Mode: "onsite"}}, Billing: "completion", LateCancelRule: "full"})
			mu.Lock()
			codes[traded.ErrorCode(err)]++
			mu.Unlock()
		}(i, c)
	}
	wg.Wait()
	// Either one whole day, or a morning and an afternoon: never more.
	plan, err := f.svc.Planner(f.ctx, "2027-02-03", "2027-02-03")
	if err != nil {
		t.Fatal(err)
	}
	parts := plan[f.adv.ID]["2027-02-03"].Parts
	if _, whole := parts["day"]; (whole && len(parts) != 1) || (!whole && len(parts) != 2) {
		t.Errorf("adviser's day holds %v: double-booked", parts)
	}
	if codes[""] != len(parts) || codes[traded.ECONFLICT] != 20-len(parts) {
		t.Errorf("outcomes %v, want %d successes and the rest conflicts", codes, len(parts))
	}
}

func TestConsultancy_DeliveryAndLateCancel(t *testing.T) {
	f := newConsultFixture(t)
	manager, _ := f.svc.Accounts.FindUserByEmail(f.ctx, "manager@chelmervalley.example")
	c := f.request(t, "manager@chelmervalley.example", 990001)
	if err := f.svc.Quote(f.ctx, f.admin, "", c.ID, consultancy.QuoteInput{AdviserID: f.adv.ID, Billing: "completion", LateCancelRule: "half",
		Visits: []consultancy.VisitInput{{Date: "2026-12-01", Part: "day", Mode: "onsite"}, {Date: "2027-01-26", Part: "day", Mode: "onsite"}, {Date: "2027-03-02", Part: "am", Mode: "virtual"}}}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DecideQuote(f.ctx, manager, "", c.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	c, _ = f.svc.FindByID(f.ctx, c.ID)
	first, second, third := c.Visits[0], c.Visits[1], c.Visits[2]

	t.Run("LogBeforeTheDay", func(t *testing.T) {
		if err := f.svc.LogDelivery(f.ctx, f.adv, "", first.ID, 2, "Met the chair"); traded.ErrorCode(err) != traded.EINVALID {
			t.Errorf("%v, want invalid", err)
		}
	})
	f.clock.Set(time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC))
	t.Run("OnlyTheAdviser", func(t *testing.T) {
		if err := f.svc.LogDelivery(f.ctx, f.adv2, "", first.ID, 2, "x"); traded.ErrorCode(err) != traded.ENOTFOUND {
			t.Errorf("another adviser: %v, want not found", err)
		}
		if err := f.svc.LogDelivery(f.ctx, manager, "", first.ID, 2, "x"); traded.ErrorCode(err) != traded.ENOTFOUND {
			t.Errorf("the school: %v, want not found", err)
		}
	})
	if err := f.svc.LogDelivery(f.ctx, f.adv, "", first.ID, 2, "Met the chair and clerk; reviewed minutes"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.LogDelivery(f.ctx, f.adv, "", first.ID, 2, "again"); traded.ErrorCode(err) != traded.ECONFLICT {
		t.Errorf("logging twice: %v", err)
	}
	// 26 January 2027 is inside 10 working days on 20 January: half is charged.
	f.clock.Set(time.Date(2027, 1, 20, 10, 0, 0, 0, time.UTC))
	if err := f.svc.CancelVisit(f.ctx, manager, "", second.ID, "head ill"); err != nil {
		t.Fatal(err)
	}
	// 2 March is well outside: free.
	if err := f.svc.CancelVisit(f.ctx, manager, "", third.ID, "no longer needed"); err != nil {
		t.Fatal(err)
	}
	c, _ = f.svc.FindByID(f.ctx, c.ID)
	for _, v := range c.Visits {
		switch v.ID {
		case first.ID:
			if v.Status != "delivered" || v.DeliveredHalf != 2 {
				t.Errorf("first visit: %s %d", v.Status, v.DeliveredHalf)
			}
		case second.ID:
			if v.Status != "cancelled" || v.ChargeHalfDays != 1 {
				t.Errorf("late cancellation under the half rule: charged %d half days, want 1", v.ChargeHalfDays)
			}
		case third.ID:
			if v.Status != "cancelled" || v.ChargeHalfDays != 0 {
				t.Errorf("early cancellation: charged %d half days, want 0", v.ChargeHalfDays)
			}
		}
	}
}

func TestQuadrant(t *testing.T) {
	for district, want := range map[string]string{"Colchester": "North East", "Maldon": "Mid", "Castle Point": "South", "Uttlesford": "West", "Thurrock": "Outside Essex"} {
		if got := consultancy.Quadrant(district); got != want {
			t.Errorf("Quadrant(%s) = %s, want %s", district, got, want)
		}
	}
}

// TestConsultancy_VisitInvites: accepting a quote invites the adviser and
// the school's managers to each visit, at the school for on-site visits;
// cancelling a visit sends a CANCEL with the same UID.
func TestConsultancy_VisitInvites(t *testing.T) {
	f := newConsultFixture(t)
	f.svc.Notifier = notify.New("https://traded.test", "training@essex.example", f.svc.Accounts, f.svc.Organisations)
	manager, _ := f.svc.Accounts.FindUserByEmail(f.ctx, "manager@chelmervalley.example")
	c := f.request(t, "manager@chelmervalley.example", 990001)
	if err := f.svc.Quote(f.ctx, f.admin, "", c.ID, consultancy.QuoteInput{AdviserID: f.adv.ID, Billing: "completion", LateCancelRule: "full",
		Visits: []consultancy.VisitInput{{Date: "2027-01-12", Part: "day", Mode: "onsite"}, {Date: "2027-06-15", Part: "pm", Mode: "virtual"}}}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DecideQuote(f.ctx, manager, "", c.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	c, _ = f.svc.FindByID(f.ctx, c.ID)
	if err := f.svc.CancelVisit(f.ctx, manager, "", c.Visits[1].ID, "moved"); err != nil {
		t.Fatal(err)
	}
	rows, err := f.svc.DB().Read().Query(`SELECT kind, to_addr, attachments FROM outbox WHERE kind IN ('consultancy_quote', 'consultancy_visit') ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type sent struct{ kind, to, atts string }
	var all []sent
	for rows.Next() {
		var s sent
		rows.Scan(&s.kind, &s.to, &s.atts)
		all = append(all, s)
	}
	// One quote mail to the manager; two visits to two people; one cancel to two.
	if len(all) != 1+4+2 || all[0].kind != "consultancy_quote" || all[0].to != "manager@chelmervalley.example" {
		t.Fatalf("sent %+v", all)
	}
	decode := func(attsJSON string) *ical.Calendar {
		var atts []mail.Attachment
		if err := json.Unmarshal([]byte(attsJSON), &atts); err != nil || len(atts) != 1 {
			t.Fatalf("attachments %q: %v", attsJSON, err)
		}
		cal, err := ical.NewDecoder(bytes.NewReader(atts[0].Content)).Decode()
		if err != nil {
			t.Fatal(err)
		}
		return cal
	}
	first := decode(all[1].atts)
	ev := first.Events()[0]
	start, _ := ev.DateTimeStart(nil)
	loc, _ := ev.Props.Text(ical.PropLocation)
	if m, _ := first.Props.Text(ical.PropMethod); m != "REQUEST" || !start.Equal(time.Date(2027, 1, 12, 9, 0, 0, 0, time.UTC)) || !strings.Contains(loc, "Broomfield Road") {
		t.Errorf("first visit: method %s start %s location %q; want REQUEST at 09:00 GMT at the school", m, start, loc)
	}
	if n := len(ev.Props.Values(ical.PropAttendee)); n != 2 {
		t.Errorf("%d attendees, want the adviser and the manager", n)
	}
	summer := decode(all[3].atts).Events()[0]
	if s, _ := summer.DateTimeStart(nil); !s.Equal(time.Date(2027, 6, 15, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("summer afternoon visit starts %s, want 12:00Z (13:00 BST)", s)
	}
	cancel := decode(all[5].atts)
	uid, _ := cancel.Events()[0].Props.Text(ical.PropUID)
	sUID, _ := summer.Props.Text(ical.PropUID)
	if m, _ := cancel.Props.Text(ical.PropMethod); m != "CANCEL" || uid != sUID {
		t.Errorf("cancellation: method %s UID %s, want CANCEL with %s", m, uid, sUID)
	}
}
