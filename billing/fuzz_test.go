package billing_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"traded"
	"traded/app"
	"traded/billing"
	"traded/organisation"
	"traded/pricing"
	"traded/store"
	"traded/store/storetest"
)

// fuzzNow is the fuzz ledger's clock once it is set up.
var fuzzNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// fuzzLedger is a billing database for fuzzing, shared by every input of one
// fuzz worker: TS-000001 to TS-000004 are subscriptions (£395.00 for the
// academies, £495.00 for Far School), TS-000005 is £123.45, TS-000006 is
// credited in full, TS-000007 is partly credited; the clock is 1 Dec 2026.
type fuzzLedger struct {
	db  *store.DB
	svc *billing.Service
	// invoices is every invoice's id, total, net and VAT as issued.
	invoices string
	// unreadable are the invoices check has found it cannot read: reported
	// once, by the input that broke them, not by every input after.
	unreadable map[string]bool
}

func newFuzzLedger(f *testing.F) *fuzzLedger {
	f.Helper()
	db, clock := storetest.Open(f)
	ctx := context.Background()
	bk := app.Domains(db).Booking
	org := func(urn int64, name string, la int, typ string) organisation.Organisation {
		return organisation.Organisation{URN: urn, Name: name, LACode: la, LAName: "LA " + strconv.Itoa(la), EstablishmentType: typ,
			Town: "Chelmsford", Postcode: "CM1 1AA"}
	}
	orgs := []organisation.Organisation{
		org(200001, "Oak Academy", 881, "Academy converter"),
		org(200002, "St Mary’s Elm Academy", 881, "Academy converter"),
		org(200003, "Far School", 882, "Community school"),
		org(200004, "Ash Academy", 881, "Academy converter"),
		org(200005, "Birch School", 882, "Community school"),
		org(200006, "Pine Academy", 881, "Academy converter"),
		org(200007, "Yew Academy", 881, "Academy converter"),
	}
	if err := bk.Organisations.Upsert(ctx, store.System, orgs, "demo"); err != nil {
		f.Fatal(err)
	}
	svc := billing.NewService(db, bk.Organisations, bk.Catalogue, billing.DefaultConfig(), nil)
	svc.Users = bk.Accounts
	actor := store.Actor{Name: "finance@fuzz.test"}
	subscribe := func(urn int64) string {
		sub, err := svc.BuySubscription(ctx, actor, urn, pricing.AcademicYear(2021), "PO1")
		if err != nil {
			f.Fatalf("subscribe %d: %v", urn, err)
		}
		return sub.InvoiceNumber
	}
	for _, urn := range []int64{200001, 200002, 200003, 200004} {
		subscribe(urn)
	}
	o, err := bk.Organisations.FindByURN(ctx, 200005)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := svc.CreateInvoice(ctx, actor, billing.InvoiceInput{OrganisationID: o.ID, Source: "manual",
		Lines: []billing.LineInput{{ProductCode: "psa-session", Description: "Training session", Quantity: 1, Unit: 12345}}}); err != nil {
		f.Fatal(err)
	}
	if _, err := svc.CreateCreditNote(ctx, actor, subscribe(200006), billing.CreditInput{Reason: "Cancelled"}); err != nil {
		f.Fatal(err)
	}
	if _, err := svc.CreateCreditNote(ctx, actor, subscribe(200007), billing.CreditInput{Reason: "Discount", Amount: 9500}); err != nil {
		f.Fatal(err)
	}
	clock.Set(fuzzNow)
	l := &fuzzLedger{db: db, svc: svc, unreadable: map[string]bool{}}
	l.invoices = l.snapshotInvoices(f)
	return l
}

func (l *fuzzLedger) snapshotInvoices(tb testing.TB) string {
	tb.Helper()
	var s string
	if err := l.db.Read().QueryRow(`SELECT COALESCE(group_concat(x, ';'), '') FROM (SELECT id || ':' || status || ':' ||
		COALESCE(number, '') || ':' || total_pence || ':' || net_pence || ':' || vat_pence AS x FROM invoices ORDER BY id)`).Scan(&s); err != nil {
		tb.Fatal(err)
	}
	return s
}

// fuzzTables are the tables an import or a webhook may write.
var fuzzTables = []string{"bank_statements", "bank_lines", "payments", "stripe_events", "card_checkouts", "credit_notes", "audit_log"}

func (l *fuzzLedger) counts(t *testing.T) map[string]int {
	t.Helper()
	m := map[string]int{}
	for _, table := range fuzzTables {
		var n int
		if err := l.db.Read().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		m[table] = n
	}
	return m
}

// check asserts what must hold of the whole ledger after any input.
func (l *fuzzLedger) check(t *testing.T) {
	t.Helper()
	if got := l.snapshotInvoices(t); got != l.invoices {
		t.Errorf("issued invoices changed:\ngot  %s\nwant %s", got, l.invoices)
	}
	// Every invoice stays readable: its payments and credits still add up.
	for i := 1; i <= 7; i++ {
		number := fmt.Sprintf("TS-%06d", i)
		if l.unreadable[number] {
			continue
		}
		if _, err := l.svc.FindInvoiceByNumber(context.Background(), number); err != nil {
			l.unreadable[number] = true
			t.Errorf("invoice %s can no longer be read: %v", number, err)
		}
	}
	for _, q := range []struct{ what, sql string }{
		{"payments whose bank line is not matched to the same invoice and amount", `SELECT count(*) FROM payments p
			LEFT JOIN bank_lines l ON l.id = p.bank_line_id WHERE p.bank_line_id IS NOT NULL
			AND (l.id IS NULL OR l.status <> 'matched' OR l.invoice_id IS NOT p.invoice_id OR l.amount_pence <> p.amount_pence)`},
		{"matched bank lines without a payment", `SELECT count(*) FROM bank_lines l
			WHERE l.status = 'matched' AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.bank_line_id = l.id)`},
		{"bank lines with an invalid status", `SELECT count(*) FROM bank_lines WHERE status NOT IN ('matched', 'review', 'ignored')`},
		{"bank lines dated after today or not a date", `SELECT count(*) FROM bank_lines
			WHERE posted_on > '2026-12-01' OR date(posted_on) IS NOT posted_on`},
		{"payments not on an issued invoice", `SELECT count(*) FROM payments p JOIN invoices i ON i.id = p.invoice_id WHERE i.status <> 'issued'`},
		{"payments with no positive amount", `SELECT count(*) FROM payments WHERE amount_pence <= 0`},
		{"bank payments that overpay", `SELECT count(*) FROM invoices i WHERE
			(SELECT COALESCE(SUM(amount_pence), 0) FROM payments p WHERE p.invoice_id = i.id AND p.method = 'bacs') >
			i.total_pence - (SELECT COALESCE(SUM(total_pence), 0) FROM credit_notes c WHERE c.invoice_id = i.id)`},
		{"card payments without their Checkout Session", `SELECT count(*) FROM payments WHERE method = 'card' AND stripe_checkout_id IS NULL`},
		{"Stripe events left processing", `SELECT count(*) FROM stripe_events WHERE outcome = 'processing'`},
		{"card payments not for a Checkout Session Traded made, its invoice and at most what it asked", `SELECT count(*) FROM payments p
			WHERE p.method = 'card' AND NOT EXISTS (SELECT 1 FROM card_checkouts c WHERE c.stripe_session = p.stripe_checkout_id
			AND c.invoice_id = p.invoice_id AND p.amount_pence <= c.amount_pence)`},
	} {
		var n int
		if err := l.db.Read().QueryRow(q.sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("got %d %s, want 0", n, q.what)
		}
	}
}

// FuzzImportBankStatement feeds arbitrary bytes (and file names) to
// ImportBankStatement. One ledger serves every input of a worker:
//
//   - it never panics;
//   - an error is EINVALID (EINTERNAL would be a fault of ours: the database
//     is healthy) and writes nothing;
//   - the lines' outcomes add up to the counts; what was written is one
//     statement, a bank line per matched, review or ignored line, and one
//     payment per matched line, each for a positive amount;
//   - every payment from a bank line is for that line's invoice and amount,
//     and the line is matched; every matched line has its payment; no issued
//     invoice changes, and none is overpaid by bank lines;
//   - importing the same file again writes no new line.
func FuzzImportBankStatement(f *testing.F) {
	for _, name := range []string{"statement1.csv", "statement2.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, name)
	}
	for _, s := range []struct{ data, name string }{
		{"", ""},
		{"\xEF\xBB\xBF", "statement.csv"},
		{"Date,Description,Amount\n", "header-only.csv"},
		{"Date,Description,Amount\r\n2026-11-23,BGC OAK ACADEMY TS000001,395.00\r\n", `C:\Users\finance\Downloads\nov.csv`},
		{"Date,Description,Amount\n23/11/2026,TS-000005,£123.45\n24/11/2026,ts 5,123.45\n25 Nov 2026,TS000007 part,300.00\n", "../../etc/passwd"},
		{"Date,Description,Amount\n2026-11-23,TS-000006 cancelled,395.00\n2026-11-23,TS-000001 TS-000002,790.00\n2026-11-23,TS-999999,1.00\n", "/"},
		{"Date,Description,Amount\n2027-01-01,FUTURE TS000003,495.00\n31/12/2026,FUTURE,1.00\n12/31/2026,MONTH FIRST,1.00\n", "."},
		{"Date,Description,Amount\n2026-11-23,HUGE,99999999999999999999.99\n2026-11-23,NEG,-0.01\n2026-11-23,ZERO,0.00\n2026-11-23,PAREN,(12.00)\n" +
			"2026-11-23,MAX,92233720368547758.07\n2026-11-23,MIN,-92233720368547758.08\n2026-11-23,EXP,1e3\n2026-11-23,NAN,NaN\n", "amounts.csv"},
		{"Date,Narrative,Reference,Paid in,Paid out\n2026-11-23,A,TS000004,400.00,\n2026-11-23,B,,,12.00\n2026-11-23,C,,1.00,1.00\n" +
			"2026-11-23,D,,,-5.00\n2026-11-23,E,,-3.00,\n2026-11-23,F,,,\n", "split.csv"},
		{"Date,Description,Amount\n2026-11-23,\"Quoted, with comma TS000002\",395.00\n2026-11-23,Bare \"quote,1.00\n" +
			"2026-11-23,\"Two\nlines\",2.00\n2026-11-23,\"Unterminated,3.00\n", "quotes.csv"},
		{"Date,Description,Amount\r2026-11-23,CR ONLY,1.00\r", "cr.csv"},
		{"Date,Description,Amount\n2026-11-23,NUL\x00BYTE,1.00\n\x00,\x00,\x00\n", "nul\x00.csv"},
		{"Date,Description,Amount\n2026-11-23,POUND \xA3 IN 1252,1.00\n2026-11-23,UNDEFINED \x81\x8D,1.00\n", "\xff\xfe.csv"},
		{"Account,123\nSort code,00-00-00\n\nTransaction Date,Details,Credit Amount (GBP),Debit Amount (GBP)\n01/11/2026,TS000003,495.00,\n", "preamble.csv"},
		{"Posting Date;Description;Amount\n2026-11-23;X;1.00\n", "semicolons.csv"},
		{"date,description,amount,amount\n2026-11-23,x\n2026-11-23,x,1,2,3,4\n", "ragged.csv"},
		{strings.Repeat("x,", 30) + "\n" + strings.Repeat("\n", 25) + "Date,Description,Amount\n2026-11-23,LATE HEADER,1.00\n", "late.csv"},
		{"Date,Description,Amount\n2026-11-23," + strings.Repeat("é", 600) + ",1.00\n", strings.Repeat("n", 300) + ".csv"},
		{"Date,Description,Amount\n2026-11-23 23:59:59,WITH TIME,1.00\n2026-11-23T10:00:00,ISO,1.00\n23.11.2026,DOTS,1.00\n0001-01-01,YEAR ONE,1.00\n", "times.csv"},
	} {
		f.Add([]byte(s.data), s.name)
	}

	l := newFuzzLedger(f)
	ctx := context.Background()
	actor := store.Actor{Name: "finance@fuzz.test"}
	f.Fuzz(func(t *testing.T, data []byte, filename string) {
		before := l.counts(t)
		imp, err := l.svc.ImportBankStatement(ctx, actor, filename, bytes.NewReader(data))
		after := l.counts(t)
		l.check(t)
		switch code := traded.ErrorCode(err); code {
		case "":
		case traded.EINTERNAL:
			t.Fatalf("ImportBankStatement: internal error on a healthy database (bad input must have a code): %v", err)
		default:
			if code != traded.EINVALID {
				t.Errorf("ImportBankStatement: got code %s, want %s: %v", code, traded.EINVALID, err)
			}
			if !mapsEqual(before, after) {
				t.Errorf("ImportBankStatement: %s error but wrote: before %v, after %v", code, before, after)
			}
			return
		}
		fuzzCheckImport(t, imp)
		t.Logf("%q: %d lines: %d matched, %d review, %d already imported, %d ignored, %d rejected", imp.Filename, len(imp.Lines),
			imp.Matched, imp.Review, imp.AlreadyImported, imp.Ignored, imp.Rejected)
		if got, want := after["bank_statements"]-before["bank_statements"], 1; got != want {
			t.Errorf("statements written: got %d, want %d", got, want)
		}
		if got, want := after["bank_lines"]-before["bank_lines"], imp.Matched+imp.Review+imp.Ignored; got != want {
			t.Errorf("bank lines written: got %d, want %d (matched + review + ignored)", got, want)
		}
		if got, want := after["payments"]-before["payments"], imp.Matched; got != want {
			t.Errorf("payments written: got %d, want %d (matched)", got, want)
		}
		var stored string
		if err := l.db.Read().QueryRow(`SELECT filename FROM bank_statements WHERE id = ?`, imp.StatementID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored == "" || stored != imp.Filename || strings.ContainsAny(stored, `/\`) || utf8.RuneCountInString(stored) > 200 {
			t.Errorf("stored file name %q (reported %q): want a base name of at most 200 characters", stored, imp.Filename)
		}

		again, err := l.svc.ImportBankStatement(ctx, actor, filename, bytes.NewReader(data))
		if err != nil {
			t.Fatalf("importing the same file again: %v", err)
		}
		fuzzCheckImport(t, again)
		if again.Matched+again.Review+again.Ignored != 0 || again.Rejected != imp.Rejected || len(again.Lines) != len(imp.Lines) {
			t.Errorf("importing the same file again: got %d matched, %d review, %d ignored, %d rejected of %d lines; "+
				"want every line already imported but the %d rejected of %d", again.Matched, again.Review, again.Ignored,
				again.Rejected, len(again.Lines), imp.Rejected, len(imp.Lines))
		}
		l.check(t)
	})
}

func fuzzCheckImport(t *testing.T, imp *billing.BankImport) {
	t.Helper()
	if imp == nil {
		t.Fatal("ImportBankStatement: no error and no result")
	}
	n := map[string]int{}
	for _, line := range imp.Lines {
		n[line.Outcome]++
		switch line.Outcome {
		case billing.OutcomeRejected:
			if line.BankLineID != 0 || line.Note == "" {
				t.Errorf("rejected line %d: got bank line %d, note %q; want none and a reason", line.LineNo, line.BankLineID, line.Note)
			}
		case billing.OutcomeMatched, billing.OutcomeReview, billing.OutcomeIgnored, billing.OutcomeAlreadyImported:
			if line.BankLineID == 0 {
				t.Errorf("%s line %d has no stored bank line", line.Outcome, line.LineNo)
			}
			if line.Outcome == billing.OutcomeMatched && (line.Amount <= 0 || line.InvoiceNumber == "") {
				t.Errorf("matched line %d: got %s for %q, want money in for an invoice", line.LineNo, line.Amount, line.InvoiceNumber)
			}
			if line.Outcome == billing.OutcomeIgnored && line.Amount > 0 {
				t.Errorf("ignored line %d is money in (%s)", line.LineNo, line.Amount)
			}
		default:
			t.Errorf("line %d: unknown outcome %q", line.LineNo, line.Outcome)
		}
		if line.LineNo < 1 {
			t.Errorf("line number %d", line.LineNo)
		}
	}
	if n[billing.OutcomeMatched] != imp.Matched || n[billing.OutcomeReview] != imp.Review || n[billing.OutcomeIgnored] != imp.Ignored ||
		n[billing.OutcomeAlreadyImported] != imp.AlreadyImported || n[billing.OutcomeRejected] != imp.Rejected {
		t.Errorf("counts do not add up: lines say %v, counts %d matched, %d review, %d already, %d ignored, %d rejected",
			n, imp.Matched, imp.Review, imp.AlreadyImported, imp.Ignored, imp.Rejected)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

const fuzzWebhookSecret = "whsec_fuzz_traded"

// fuzzEvent is a Checkout Session event as Stripe posts it.
func fuzzEvent(id, typ, session, number, currency, paymentStatus string, amount int64, extra string) []byte {
	return []byte(`{"id":"` + id + `","object":"event","api_version":"2023-10-16","created":1795000000,"type":"` + typ + `",` +
		`"livemode":false,"pending_webhooks":1,"data":{"object":{"id":"` + session + `","object":"checkout.session",` +
		`"mode":"payment","currency":"` + currency + `","amount_total":` + strconv.FormatInt(amount, 10) + `,` +
		`"payment_status":"` + paymentStatus + `","client_reference_id":"` + number + `",` +
		`"metadata":{"invoice_number":"` + number + `","checkout_key":"fuzz-key-1"}` + extra + `}}}`)
}

// FuzzStripeWebhook posts (payload, Stripe-Signature) pairs to
// HandleStripeWebhook. When sign is set, the payload is signed at the
// ledger's clock with the
// right secret and sigHeader, if any, is appended to the header as further
// pairs, so the fuzzer explores events that get past the signature too.
//
//   - It never panics.
//   - A payload that is not correctly signed, or signed more than 5 minutes
//     before or after the ledger's clock, is EMALFORMED and writes
//     nothing: no stripe_events row, no payment, no audit entry.
//   - An accepted one carries in its header a v1 HMAC of its payload under
//     the secret (checked here without the Stripe library).
//   - A signed event fails only as EMALFORMED (never EINTERNAL: the database
//     is healthy), writes at most one event and one payment, leaves no event
//     processing, changes no invoice, and a second delivery writes nothing.
//   - A card payment is only ever for a Checkout Session in card_checkouts,
//     on that checkout's invoice, for no more than it asked.
func FuzzStripeWebhook(f *testing.F) {
	paid := fuzzEvent("evt_fuzz_1", "checkout.session.completed", "cs_fuzz_1", "TS-000005", "gbp", "paid", 12345, "")
	stale := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: paid, Secret: fuzzWebhookSecret,
		Timestamp: time.Unix(1600000000, 0)})
	wrong := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: paid, Secret: "whsec_wrong", Timestamp: fuzzNow})
	ahead := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: paid, Secret: fuzzWebhookSecret,
		Timestamp: fuzzNow.Add(10 * time.Minute)})
	slightlyAhead := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: paid, Secret: fuzzWebhookSecret,
		Timestamp: fuzzNow.Add(time.Minute)})
	for _, s := range []struct {
		payload []byte
		header  string
		sign    bool
	}{
		// Correctly signed events of every kind.
		{paid, "", true},
		{fuzzEvent("evt_fuzz_2", "checkout.session.async_payment_succeeded", "cs_fuzz_2", "ts-000001", "gbp", "paid", 39500, ""), "", true},
		{fuzzEvent("evt_fuzz_3", "checkout.session.completed", "cs_fuzz_3", "TS-000002", "gbp", "paid", 99999999999, ""), "", true},
		{fuzzEvent("evt_fuzz_4", "checkout.session.completed", "cs_fuzz_4", "TS-000006", "gbp", "paid", 39500, ""), "", true},
		{fuzzEvent("evt_fuzz_5", "checkout.session.completed", "cs_fuzz_5", "TS-999999", "gbp", "paid", 100, ""), "", true},
		{fuzzEvent("evt_fuzz_6", "checkout.session.completed", "cs_fuzz_6", "", "gbp", "paid", 100, ""), "", true},
		{fuzzEvent("evt_fuzz_7", "checkout.session.completed", "cs_fuzz_7", "TS-000003", "usd", "paid", 49500, ""), "", true},
		{fuzzEvent("evt_fuzz_8", "checkout.session.completed", "cs_fuzz_8", "TS-000003", "gbp", "paid", -1, ""), "", true},
		{fuzzEvent("evt_fuzz_9", "checkout.session.completed", "cs_fuzz_9", "TS-000003", "gbp", "unpaid", 49500, ""), "", true},
		{fuzzEvent("evt_fuzz_10", "checkout.session.expired", "cs_fuzz_open", "TS-000004", "gbp", "unpaid", 39500, ""), "", true},
		{fuzzEvent("evt_fuzz_11", "checkout.session.async_payment_failed", "cs_fuzz_new", "TS-000004", "gbp", "unpaid", 39500, ""), "", true},
		{fuzzEvent("evt_fuzz_12", "checkout.session.completed", "cs_fuzz_12", "TS-000007", "gbp", "no_payment_required", 0, ""), "", true},
		{fuzzEvent("evt_fuzz_13", "invoice.paid", "in_1", "TS-000001", "gbp", "paid", 1, ""), "", true},
		{fuzzEvent("evt_fuzz_14", "checkout.session.completed", "", "TS-000001", "gbp", "paid", 1, ""), "", true},
		{fuzzEvent("evt_fuzz_15", "checkout.session.completed", "cs_fuzz_15", "TS-000001\x00", "gbp", "paid", 1, `,"created":-1`), "", true},
		{fuzzEvent("", "checkout.session.completed", "cs_fuzz_16", "TS-000001", "gbp", "paid", 1, ""), "", true},
		{fuzzEvent("evt_fuzz_17", "", "cs_fuzz_17", "TS-000001", "gbp", "paid", 1, ""), "", true},
		{[]byte(`{"id":"evt_fuzz_18","type":"checkout.session.completed","created":99999999999999,"data":{"object":"not an object"}}`), "", true},
		{[]byte(`{"id":"evt_fuzz_19","type":"checkout.session.completed","data":{"object":{"id":"cs_fuzz_19","amount_total":"12","currency":5}}}`), "", true},
		{[]byte(`{"id":"evt_fuzz_20","type":"checkout.session.completed","data":null}`), "", true},
		{[]byte(`{"id":"evt_fuzz_21","type":"checkout.session.completed","data":{"object":{"id":"cs_fuzz_21","metadata":{"invoice_number":"` +
			strings.Repeat("TS", 5000) + `"},"currency":"gbp","amount_total":1,"payment_status":"paid"}}}`), "", true},
		{[]byte(`{"id":["evt"],"type":{}}`), "", true},
		{[]byte(strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)), "", true},
		{[]byte("not json"), "", true},
		{[]byte{}, "", true},
		{[]byte("\xEF\xBB\xBF" + string(paid)), "", true},
		// Signed, with more pairs after: harmless, or spoiling the header.
		{paid, "v1=00", true},
		{paid, "t=1", true},
		{paid, "v0=abc,junk", true},
		{paid, "v1=" + strings.Repeat("zz", 32), true},
		// Signed a minute ahead: a clock a little fast, accepted.
		{paid, slightlyAhead.Header, false},
		// Not correctly signed.
		{paid, "", false},
		{paid, stale.Header, false},
		{paid, wrong.Header, false},
		{paid, ahead.Header, false},
		{paid, ahead.Header + ",t=" + strconv.FormatInt(fuzzNow.Unix(), 10), false},
		{paid, "t=abc,v1=" + hex.EncodeToString(make([]byte, 32)), false},
		{paid, "v1=" + hex.EncodeToString(make([]byte, 32)), false},
		{paid, "t=" + strconv.FormatInt(fuzzNow.Unix(), 10), false},
		{paid, "t=9999999999999999999999,v1=ab", false},
		{paid, ",,,=,==", false},
		{paid, "t=1,v1=\x00\xff", false},
		{append([]byte{}, paid[:len(paid)-1]...), "", false},
	} {
		f.Add(s.payload, s.header, s.sign)
	}

	l := newFuzzLedger(f)
	ctx := context.Background()
	// Pay by card attempts Traded made: events for their sessions can be
	// recorded (or refused for their invoice, currency or amount), and the
	// expired and failed events can close them. fuzz-key-1, which every
	// fuzzEvent carries, is an attempt whose session Traded never stored.
	if err := l.db.Write(ctx, func(tx *store.Tx) error {
		for _, c := range []struct{ key, session, invoice string }{
			{"fuzz-key-open", "cs_fuzz_open", "TS-000004"},
			{"fuzz-key-a", "cs_fuzz_1", "TS-000005"},
			{"fuzz-key-b", "cs_fuzz_2", "TS-000001"},
			{"fuzz-key-c", "cs_fuzz_3", "TS-000002"},
			{"fuzz-key-d", "cs_fuzz_4", "TS-000006"},
			{"fuzz-key-e", "cs_fuzz_7", "TS-000003"},
			{"fuzz-key-f", "cs_fuzz_max", "TS-000001"},
			{"fuzz-key-1", "", "TS-000002"},
		} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO card_checkouts (invoice_id, idempotency_key, amount_pence, stripe_session, url, status,
				created_at, created_by) SELECT id, ?, total_pence, NULLIF(?, ''), 'https://checkout.test/' || ?, 'open',
				'2026-11-30T10:00:00Z', 'fuzz' FROM invoices WHERE number = ?`, c.key, c.session, c.key, c.invoice); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, payload []byte, sigHeader string, sign bool) {
		header := sigHeader
		if sign {
			header = webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: fuzzWebhookSecret,
				Timestamp: l.db.Clock.Now()}).Header
			if sigHeader != "" {
				header += "," + sigHeader
			}
		}
		signed := signedNear(payload, header, fuzzWebhookSecret, l.db.Clock.Now())
		before := l.counts(t)
		err := l.svc.HandleStripeWebhook(ctx, payload, header, fuzzWebhookSecret)
		after := l.counts(t)
		l.check(t)
		code := traded.ErrorCode(err)
		t.Logf("signed %v: %v", signed, err)
		if !signed {
			if code != traded.EMALFORMED {
				t.Errorf("not correctly signed (header %q): got %v, want %s", header, err, traded.EMALFORMED)
			}
			if !mapsEqual(before, after) {
				t.Errorf("not correctly signed, yet written: before %v, after %v", before, after)
			}
			return
		}
		if code != traded.EMALFORMED && !carriesSignature(payload, header, fuzzWebhookSecret) {
			t.Errorf("accepted (%v) without a v1 signature of the payload in the header %q", err, header)
		}
		switch code {
		case "", traded.EMALFORMED:
		default:
			t.Fatalf("signed event: got %s (%v), want success or %s", code, err, traded.EMALFORMED)
		}
		if code == traded.EMALFORMED && !mapsEqual(before, after) {
			t.Errorf("malformed event, yet written: before %v, after %v", before, after)
		}
		for _, table := range []string{"stripe_events", "payments", "bank_lines", "bank_statements", "credit_notes"} {
			limit := 1
			if table == "bank_lines" || table == "bank_statements" || table == "credit_notes" {
				limit = 0
			}
			if d := after[table] - before[table]; d < 0 || d > limit {
				t.Errorf("one event wrote %d %s rows, want at most %d", d, table, limit)
			}
		}
		if err != nil {
			return
		}
		var ev stripe.Event
		if jerr := json.Unmarshal(payload, &ev); jerr != nil {
			t.Fatalf("accepted an event Stripe's types cannot read: %v", jerr)
		}
		var n int
		if qerr := l.db.Read().QueryRow(`SELECT count(*) FROM stripe_events WHERE id = ?`, ev.ID).Scan(&n); qerr != nil {
			t.Fatal(qerr)
		}
		if n != 1 {
			t.Errorf("event %q accepted but recorded %d times, want 1", ev.ID, n)
		}
		mid := l.counts(t)
		if err := l.svc.HandleStripeWebhook(ctx, payload, header, fuzzWebhookSecret); err != nil {
			t.Errorf("second delivery: %v", err)
		}
		if again := l.counts(t); !mapsEqual(mid, again) {
			t.Errorf("second delivery wrote: before %v, after %v", mid, again)
		}
	})
}

// signedNear reports whether header passes stripe-go's signature check
// (which, told to ignore the time, does not read the clock) and was signed,
// by its last t= (the one stripe-go checks with), within Stripe's 5 minutes
// of now, before or after.
func signedNear(payload []byte, header, secret string, now time.Time) bool {
	if webhook.ValidatePayloadIgnoringTolerance(payload, header, secret) != nil {
		return false
	}
	var at int64
	for _, pair := range strings.Split(header, ",") {
		if k, v, _ := strings.Cut(pair, "="); k == "t" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return false
			}
			at = n
		}
	}
	d := now.Sub(time.Unix(at, 0))
	return -webhook.DefaultTolerance <= d && d <= webhook.DefaultTolerance
}

// carriesSignature reports whether header has a pair v1=HMAC-SHA256(secret,
// t + "." + payload) for one of its t= values: Stripe's scheme, computed
// without Stripe's library.
func carriesSignature(payload []byte, header, secret string) bool {
	var stamps, sigs []string
	for _, pair := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(pair, "=")
		switch k {
		case "t":
			stamps = append(stamps, v)
		case "v1":
			sigs = append(sigs, v)
		}
	}
	for _, ts := range stamps {
		n, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			continue
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(strconv.FormatInt(n, 10) + "."))
		mac.Write(payload)
		want := mac.Sum(nil)
		for _, s := range sigs {
			if got, err := hex.DecodeString(s); err == nil && hmac.Equal(got, want) {
				return true
			}
		}
	}
	return false
}
