package main

import (
	"database/sql"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"
)

// openReadOnly opens the SQLite file read-only with the driver traded uses.
func openReadOnly(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+url.PathEscape(path)+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// crashCheck reads the database after the last, clean stop and checks it
// against what the API said and what the SMTP server received.
type crashCheck struct {
	t    *testing.T
	db   *sql.DB
	load *crashLoad
	srv  *tradedServer
	mail *crashSMTP

	errs map[string]int // failures reported, by kind
	// the outbox, by kind and recipient, and the invoices mailed
	mailed         map[[2]string]bool
	invoicesMailed map[string]bool
	demo           []int // countDemo after the first start
	ownSessions    int   // sessions the test made

	// found, for the summary
	bookings, invoices, creditNotes, payments, outbox, delivered, windowDuplicates int
}

func (c *crashCheck) queryInt(q string, args ...any) int {
	c.t.Helper()
	var n int
	if err := c.db.QueryRow(q, args...).Scan(&n); err != nil {
		c.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// rows runs q and calls fn for each row.
func (c *crashCheck) rows(q string, fn func(*sql.Rows) error, args ...any) {
	c.t.Helper()
	rows, err := c.db.Query(q, args...)
	if err != nil {
		c.t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			c.t.Fatalf("%s: %v", q, err)
		}
	}
	if err := rows.Err(); err != nil {
		c.t.Fatalf("%s: %v", q, err)
	}
}

// errorf reports a failure, at most 25 times per kind, so one broken
// invariant does not bury the rest.
// duplicates reports each row of q, a (key, count) query for keys that
// must appear once, as a failure of kind, formatted with the key and count.
func (c *crashCheck) duplicates(kind, q, format string) {
	c.t.Helper()
	c.rows(q, func(r *sql.Rows) error {
		var key string
		var n int
		if err := r.Scan(&key, &n); err != nil {
			return err
		}
		c.errorf(kind, format, key, n)
		return nil
	})
}

func (c *crashCheck) errorf(kind string, format string, args ...any) {
	c.t.Helper()
	if c.errs == nil {
		c.errs = map[string]int{}
	}
	if c.errs[kind]++; c.errs[kind] <= 25 {
		c.t.Errorf("%s: %s", kind, fmt.Sprintf(format, args...))
	} else if c.errs[kind] == 26 {
		c.t.Errorf("%s: more failures left out", kind)
	}
}

func (c *crashCheck) run() {
	c.readOutbox()
	c.integrity()
	c.demoOnce()
	c.series()
	c.invoicesWhole()
	c.bookingsWhole()
	c.places()
	c.answers()
	c.mailOnce()
}

// readOutbox reads who was sent what (the outbox has no index for the
// checks' questions, and its rows carry the attachments).
func (c *crashCheck) readOutbox() {
	c.mailed, c.invoicesMailed = map[[2]string]bool{}, map[string]bool{}
	c.rows(`SELECT kind, to_addr, subject FROM outbox`, func(r *sql.Rows) error {
		var kind, to, subject string
		if err := r.Scan(&kind, &to, &subject); err != nil {
			return err
		}
		c.mailed[[2]string{kind, strings.ToLower(to)}] = true
		if f := strings.Fields(subject); kind == "invoice" && len(f) > 1 && f[0] == "Invoice" {
			c.invoicesMailed[f[1]] = true
		}
		return nil
	})
}

// integrity: SQLite's own checks.
func (c *crashCheck) integrity() {
	var res []string
	c.rows(`PRAGMA integrity_check`, func(r *sql.Rows) error {
		var s string
		err := r.Scan(&s)
		res = append(res, s)
		return err
	})
	if len(res) != 1 || res[0] != "ok" {
		c.errorf("integrity_check", "%q", res)
	}
	c.rows(`PRAGMA foreign_key_check`, func(r *sql.Rows) error {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := r.Scan(&table, &rowid, &parent, &fk); err != nil {
			return err
		}
		c.errorf("foreign_key_check", "%s row %v refers to a missing %s (fk %d)", table, rowid, parent, fk)
		return nil
	})
}

// demoCounts are what the demo loads, counted after the first start.
var demoCounts = []struct{ what, q string }{
	{"audit entries by the demo loader", `SELECT count(*) FROM audit_log WHERE actor = 'demo'`},
	{"organisations", `SELECT count(*) FROM organisations`},
	{"users", `SELECT count(*) FROM users`},
	{"sessions", `SELECT count(*) FROM sessions`},
	{"price lists", `SELECT count(*) FROM price_lists`},
	{"term dates", `SELECT count(*) FROM term_dates`},
}

// countDemo counts what the demo loaded.
func countDemo(t *testing.T, db *sql.DB) []int {
	t.Helper()
	var out []int
	for _, x := range demoCounts {
		var n int
		if err := db.QueryRow(x.q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", x.q, err)
		}
		out = append(out, n)
	}
	return out
}

// demoOnce: restarting with --demo on the same database loads nothing
// again (the test added only its own sessions).
func (c *crashCheck) demoOnce() {
	got := countDemo(c.t, c.db)
	for i, x := range demoCounts {
		want := c.demo[i]
		if x.what == "sessions" {
			want += c.ownSessions
		}
		if got[i] != want {
			c.errorf("demo data after restarts", "%d %s, %d after the first start", got[i], x.what, want)
		}
	}
	if n := c.queryInt(`SELECT count(*) FROM organisations`); n != len(crashSchools) {
		c.errorf("demo data after restarts", "%d organisations, the demo has %d", n, len(crashSchools))
	}
}

// series: invoice, credit note and booking numbers are gap-free, unique and
// agree with their series' next number.
func (c *crashCheck) series() {
	for _, s := range []struct {
		name, prefix, q string
	}{
		{"invoice", "TS-", `SELECT seq, number FROM invoices WHERE status = 'issued' ORDER BY seq`},
		{"credit_note", "CN-", `SELECT seq, number FROM credit_notes ORDER BY seq`},
		{"booking", "BK-", `SELECT CAST(substr(reference, 4) AS INTEGER), reference FROM bookings ORDER BY 1`},
	} {
		n := 0
		c.rows(s.q, func(r *sql.Rows) error {
			var seq int
			var number string
			if err := r.Scan(&seq, &number); err != nil {
				return err
			}
			n++
			if seq != n || number != fmt.Sprintf("%s%06d", s.prefix, n) {
				c.errorf(s.name+" series", "number %d is %s (seq %d): a gap or a duplicate", n, number, seq)
				n = seq
			}
			return nil
		})
		if next := c.queryInt(`SELECT next FROM number_series WHERE name = ?`, s.name); next != n+1 {
			c.errorf(s.name+" series", "%d numbered, but the series' next is %d", n, next)
		}
		switch s.name {
		case "invoice":
			c.invoices = n
		case "credit_note":
			c.creditNotes = n
		case "booking":
			c.bookings = n
		}
	}
	if d := c.queryInt(`SELECT count(*) FROM invoices WHERE status <> 'issued'`); d != 0 {
		c.errorf("invoice series", "%d draft invoices left (every sale issues its invoice in one transaction)", d)
	}
	c.payments = c.queryInt(`SELECT count(*) FROM payments`)
}

// invoicesWhole: each issued invoice has lines that add up, its audit entry,
// what it bills (a subscription or booking charges) and its mail.
func (c *crashCheck) invoicesWhole() {
	c.rows(`SELECT i.number, i.source, i.net_pence, i.vat_pence, i.total_pence,
			(SELECT count(*) FROM invoice_lines l WHERE l.invoice_id = i.id),
			(SELECT COALESCE(SUM(net_pence), 0) FROM invoice_lines l WHERE l.invoice_id = i.id),
			(SELECT COALESCE(SUM(vat_pence), 0) FROM invoice_lines l WHERE l.invoice_id = i.id),
			(SELECT count(*) FROM audit_log a WHERE a.action = 'invoice.issue' AND a.entity = 'invoice' AND a.entity_id = i.number),
			COALESCE(s.n, 0), COALESCE(bc.n, 0),
			(SELECT o.billing_email <> '' OR EXISTS (SELECT 1 FROM users u WHERE u.organisation_id = o.id AND u.role = 'school_manager' AND u.active = 1)
				FROM organisations o WHERE o.id = i.organisation_id)
		FROM invoices i
			LEFT JOIN (SELECT invoice_id, count(*) AS n FROM subscriptions GROUP BY invoice_id) s ON s.invoice_id = i.id
			LEFT JOIN (SELECT invoice_id, count(*) AS n FROM invoiced_charges GROUP BY invoice_id) bc ON bc.invoice_id = i.id
		WHERE i.status = 'issued'`, func(r *sql.Rows) error {
		var number, source string
		var net, vat, total, lines, lineNet, lineVAT, audits, subs, charges int64
		var contacts bool
		if err := r.Scan(&number, &source, &net, &vat, &total, &lines, &lineNet, &lineVAT, &audits, &subs, &charges, &contacts); err != nil {
			return err
		}
		if lines == 0 || net != lineNet || vat != lineVAT || total != net+vat {
			c.errorf("invoice totals", "%s: %d lines adding to %d + %d VAT, invoice says %d + %d = %d", number, lines, lineNet, lineVAT, net, vat, total)
		}
		if audits != 1 {
			c.errorf("invoice audit", "%s has %d invoice.issue audit entries, want 1", number, audits)
		}
		switch source {
		case "subscription":
			if subs != 1 {
				c.errorf("invoice source", "subscription invoice %s belongs to %d subscriptions", number, subs)
			}
		case "booking":
			if charges == 0 {
				c.errorf("invoice source", "booking invoice %s bills no booking charge", number)
			}
		default:
			c.errorf("invoice source", "%s has source %q: the workload makes none", number, source)
		}
		if contacts && !c.invoicesMailed[number] {
			c.errorf("invoice mail", "%s was issued but no invoice mail was queued", number)
		}
		return nil
	})
	// Payments and credit notes carry their audit entries.
	c.rows(`SELECT i.number, (SELECT count(*) FROM payments p WHERE p.invoice_id = i.id),
			(SELECT count(*) FROM audit_log a WHERE a.action = 'payment.record' AND a.entity = 'invoice' AND a.entity_id = i.number),
			(SELECT count(*) FROM credit_notes n WHERE n.invoice_id = i.id),
			(SELECT count(*) FROM audit_log a WHERE a.action = 'credit_note.issue' AND a.entity = 'invoice' AND a.entity_id = i.number)
		FROM invoices i WHERE i.status = 'issued'`, func(r *sql.Rows) error {
		var number string
		var pays, payAudits, cns, cnAudits int
		if err := r.Scan(&number, &pays, &payAudits, &cns, &cnAudits); err != nil {
			return err
		}
		if pays != payAudits {
			c.errorf("payment audit", "%s has %d payments and %d payment.record audit entries", number, pays, payAudits)
		}
		if cns != cnAudits {
			c.errorf("credit note audit", "%s has %d credit notes and %d credit_note.issue audit entries", number, cns, cnAudits)
		}
		return nil
	})
}

// firstInvoiceSQL is the invoice a booking b is on, as its JSON names it:
// the invoice of its first billed charge.
const firstInvoiceSQL = `(SELECT f.invoice_id FROM invoiced_charges f WHERE f.booking_id = b.id ORDER BY f.position LIMIT 1)`

// bookingsWhole: every booking has delegates and its audit entries; every
// confirmed booking's charges add up to its price; a paid booking of a
// school invoiced per booking has each paid charge on a line of its
// invoice, and its delegates and booker their mail.
func (c *crashCheck) bookingsWhole() {
	c.rows(`SELECT b.id, b.reference, b.status, b.price_pence, b.confirmed_at IS NOT NULL, COALESCE(`+firstInvoiceSQL+`, 0), o.booking_invoices,
			(SELECT count(*) FROM delegates d WHERE d.booking_id = b.id),
			(SELECT count(*) FROM audit_log a WHERE a.entity = 'booking' AND a.entity_id = b.reference AND a.action = 'booking.create'),
			(SELECT count(*) FROM audit_log a WHERE a.entity = 'booking' AND a.entity_id = b.reference AND a.action = 'booking.confirm'),
			(SELECT count(*) FROM audit_log a WHERE a.entity = 'booking' AND a.entity_id = b.reference AND a.action = 'booking.cancel'),
			(SELECT COALESCE(SUM(amount_pence), 0) FROM booking_charges bc WHERE bc.booking_id = b.id),
			b.cancelled_at IS NOT NULL
		FROM bookings b JOIN organisations o ON o.id = b.organisation_id`, func(r *sql.Rows) error {
		var id, price, invoiceID, charged int64
		var ref, status, invoicing string
		var confirmed, cancelledAt bool
		var delegates, creates, confirms, cancels int
		if err := r.Scan(&id, &ref, &status, &price, &confirmed, &invoiceID, &invoicing, &delegates, &creates, &confirms, &cancels, &charged, &cancelledAt); err != nil {
			return err
		}
		if delegates == 0 {
			c.errorf("booking delegates", "%s has no delegates", ref)
		}
		if creates != 1 {
			c.errorf("booking audit", "%s has %d booking.create audit entries, want 1", ref, creates)
		}
		if confirmed != (confirms == 1) {
			c.errorf("booking audit", "%s (confirmed: %v) has %d booking.confirm audit entries", ref, confirmed, confirms)
		}
		ended := status == "cancelled" || status == "declined" || status == "expired"
		if (status == "cancelled") != (cancels == 1) || cancelledAt != ended {
			c.errorf("booking audit", "%s is %s with %d booking.cancel audit entries", ref, status, cancels)
		}
		if confirmed && charged != price {
			c.errorf("booking charges", "%s: charges add up to %d, the price is %d", ref, charged, price)
		}
		if !confirmed && (price != 0 || charged != 0 || invoiceID != 0) {
			c.errorf("booking charges", "%s was never confirmed but has price %d, charges %d, invoice %d", ref, price, charged, invoiceID)
		}
		return nil
	})
	// Each paid charge of a confirmed booking of a school invoiced per
	// booking is on the matching line of the booking's invoice, or, for a
	// charge added when the school's bookings were priced again, of an
	// invoice of its own.
	c.rows(`SELECT b.reference, bc.position, bc.product_code, bc.quantity, bc.unit_pence, bc.amount_pence,
			COALESCE(ic.invoice_id, 0), COALESCE(`+firstInvoiceSQL+`, 0), o.booking_invoices,
			COALESCE(l.product_code, ''), COALESCE(l.quantity, 0), COALESCE(l.unit_pence, -1), COALESCE(l.description, ''), COALESCE(i.status, '')
		FROM booking_charges bc JOIN bookings b ON b.id = bc.booking_id JOIN organisations o ON o.id = b.organisation_id
			LEFT JOIN invoiced_charges ic ON ic.booking_id = bc.booking_id AND ic.position = bc.position
			LEFT JOIN invoice_lines l ON l.invoice_id = ic.invoice_id AND l.position = ic.invoice_line
			LEFT JOIN invoices i ON i.id = ic.invoice_id
		WHERE b.confirmed_at IS NOT NULL`, func(r *sql.Rows) error {
		var ref, product, invoicing, lineProduct, lineDesc, invStatus string
		var pos, qty, lineQty int
		var unit, amount, chargeInv, bookingInv, lineUnit int64
		if err := r.Scan(&ref, &pos, &product, &qty, &unit, &amount, &chargeInv, &bookingInv, &invoicing, &lineProduct, &lineQty, &lineUnit, &lineDesc, &invStatus); err != nil {
			return err
		}
		switch {
		case amount == 0:
			if chargeInv != 0 {
				c.errorf("booking invoice line", "%s charge %d is free but invoiced", ref, pos)
			}
		case invoicing == "monthly":
			// Billed by the monthly run, for bookings confirmed before the 1st.
		case chargeInv == 0:
			c.errorf("booking invoice line", "%s charge %d (%s, %d pence) has no invoice", ref, pos, product, amount)
		case invStatus != "issued":
			c.errorf("booking invoice line", "%s charge %d is on invoice %d (%s), not an issued one", ref, pos, chargeInv, invStatus)
		case chargeInv != bookingInv && !strings.Contains(lineDesc, "(price again"):
			// Only a charge added when a colleague's place was cancelled
			// (README, Decisions) has an invoice of its own.
			c.errorf("booking invoice line", "%s charge %d is on invoice %d (%s), the booking on invoice %d", ref, pos, chargeInv, invStatus, bookingInv)
		case lineProduct != product || lineQty != qty || lineUnit != unit || !strings.Contains(lineDesc, ref):
			c.errorf("booking invoice line", "%s charge %d (%s %d × %d) is on line %q (%s %d × %d)", ref, pos, product, qty, unit, lineDesc, lineProduct, lineQty, lineUnit)
		}
		return nil
	})
	// Mail queued in the booking's transaction: each delegate of a booking
	// ever confirmed was told.
	c.rows(`SELECT b.reference, d.email FROM delegates d JOIN bookings b ON b.id = d.booking_id WHERE b.confirmed_at IS NOT NULL`,
		func(r *sql.Rows) error {
			var ref, email string
			if err := r.Scan(&ref, &email); err != nil {
				return err
			}
			if !c.mailed[[2]string{"booking_confirmed", strings.ToLower(email)}] {
				c.errorf("booking mail", "%s: delegate %s has no booking_confirmed mail", ref, email)
			}
			return nil
		})
}

// places: each session's count of places taken is the number of active
// delegates of bookings holding places, and within its capacity.
func (c *crashCheck) places() {
	c.rows(`SELECT s.id, s.places_taken, s.capacity,
			(SELECT count(*) FROM delegates d JOIN bookings b ON b.id = d.booking_id
				WHERE b.session_id = s.id AND d.status = 'active' AND b.status IN ('requested', 'confirmed', 'offered'))
		FROM sessions s`, func(r *sql.Rows) error {
		var id, taken, capacity, held int
		if err := r.Scan(&id, &taken, &capacity, &held); err != nil {
			return err
		}
		if taken != held || taken > capacity {
			c.errorf("session places", "session %d: places_taken %d, %d delegates hold places, capacity %d", id, taken, held, capacity)
		}
		return nil
	})
}

// answers: everything the API answered with a 2xx is in the database as it
// was answered.
func (c *crashCheck) answers() {
	l := c.load
	userIDs := map[string]int64{}
	for actor, email := range crashActors {
		userIDs[actor] = int64(c.queryInt(`SELECT id FROM users WHERE email = ?`, email))
	}
	for _, b := range l.bookings {
		var ref, status, invoice string
		var urn, session, price int64
		err := c.db.QueryRow(`SELECT b.reference, b.status, o.urn, b.session_id, b.price_pence, COALESCE(i.number, '')
			FROM bookings b JOIN organisations o ON o.id = b.organisation_id LEFT JOIN invoices i ON i.id = `+firstInvoiceSQL+` WHERE b.id = ?`, b.ID).
			Scan(&ref, &status, &urn, &session, &price, &invoice)
		if err != nil {
			c.errorf("answered booking missing", "booking %d (%s) was answered 201 but is not in the database: %v", b.ID, b.Reference, err)
			continue
		}
		// A free cancellation prices the school's other bookings on the
		// session again, adding charges after those answered: the answered
		// price is the sum of the charges written when the booking was
		// confirmed, and a booking answered with no invoice may have one
		// only for such a later charge.
		answeredCharges := len(b.Charges)
		price = int64(c.queryInt(`SELECT COALESCE(SUM(amount_pence), 0) FROM booking_charges WHERE booking_id = ? AND position <= ?`, b.ID, answeredCharges))
		if b.InvoiceNumber == "" && invoice != "" && c.queryInt(`SELECT count(*) FROM invoiced_charges WHERE booking_id = ? AND position > ?`, b.ID, answeredCharges) > 0 {
			invoice = ""
		}
		if b.Status != "confirmed" {
			price = 0 // priced only when confirmed, after the answer
		}
		if ref != b.Reference || urn != b.Organisation || session != b.Session.ID || price != b.PricePence || invoice != b.InvoiceNumber {
			c.errorf("answered booking changed", "booking %d answered as %s URN %d session %d price %d invoice %q; database: %s URN %d session %d price %d invoice %q",
				b.ID, b.Reference, b.Organisation, b.Session.ID, b.PricePence, b.InvoiceNumber, ref, urn, session, price, invoice)
		}
		var want []string
		for _, d := range b.Delegates {
			want = append(want, fmt.Sprintf("%d %s <%s>", d.ID, d.Name, d.Email))
		}
		var got []string
		c.rows(`SELECT id, name, email FROM delegates WHERE booking_id = ? ORDER BY id`, func(r *sql.Rows) error {
			var id int64
			var name, email string
			if err := r.Scan(&id, &name, &email); err != nil {
				return err
			}
			got = append(got, fmt.Sprintf("%d %s <%s>", id, name, email))
			return nil
		}, b.ID)
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(want, ", ") != strings.Join(got, ", ") {
			c.errorf("answered booking changed", "booking %s delegates answered %v, database %v", b.Reference, want, got)
		}
		if !bookingStatusFollows(b.Status, status, l.cancelled[b.ID], l.cancelTried[b.ID]) {
			c.errorf("answered booking changed", "booking %s answered %s, now %s (cancelled with a 2xx: %v, tried: %v)",
				b.Reference, b.Status, status, l.cancelled[b.ID], l.cancelTried[b.ID])
		}
	}
	// Keyed bookings: one booking per key, the one answered; a key refused
	// (after sends that got no answer) made none.
	for _, k := range l.keyed {
		var ids []int64
		c.rows(`SELECT id FROM bookings WHERE booked_by = ? AND idempotency_key = ?`, func(r *sql.Rows) error {
			var id int64
			err := r.Scan(&id)
			ids = append(ids, id)
			return err
		}, userIDs[k.actor], k.key)
		switch k.outcome {
		case "booked":
			if len(ids) != 1 || ids[0] != k.bookingID {
				c.errorf("idempotency", "key %s answered booking %d after %d sends; the database has %v", k.key, k.bookingID, k.sends, ids)
			}
		case "refused":
			if len(ids) != 0 {
				c.errorf("idempotency", "key %s was refused at its last send (of %d), yet booking %v has it", k.key, k.sends, ids)
			}
		default:
			c.errorf("idempotency", "key %s never got an answer", k.key)
		}
	}
	// No request was carried out twice: each delegate address the test made
	// up is in at most one booking.
	c.duplicates("duplicate booking", `SELECT email, count(DISTINCT booking_id) FROM delegates WHERE email LIKE '%@crash.example'
		GROUP BY email HAVING count(DISTINCT booking_id) > 1`, "%s is in %d bookings: one request was carried out twice")
	for _, s := range l.subs {
		var urn int64
		var year, po, invoice string
		var price int64
		err := c.db.QueryRow(`SELECT o.urn, s.academic_year, s.po_number, COALESCE(i.number, ''), COALESCE(i.total_pence, -1) FROM subscriptions s
			JOIN organisations o ON o.id = s.organisation_id LEFT JOIN invoices i ON i.id = s.invoice_id WHERE s.id = ? AND s.status = 'active'`, s.ID).
			Scan(&urn, &year, &po, &invoice, &price)
		if err != nil {
			c.errorf("answered subscription missing", "subscription %d (%d %s, invoice %s): %v", s.ID, s.Organisation, s.Year, s.Invoice, err)
		} else if urn != s.Organisation || year != s.Year || po != s.PONumber || invoice != s.Invoice || price != s.PricePence {
			c.errorf("answered subscription changed", "subscription %d answered %d %s PO %s invoice %s £%d; database %d %s PO %s invoice %s £%d",
				s.ID, s.Organisation, s.Year, s.PONumber, s.Invoice, s.PricePence, urn, year, po, invoice, price)
		}
	}
	for _, p := range l.payments {
		var invoice, ref, method string
		var amount int64
		err := c.db.QueryRow(`SELECT i.number, p.amount_pence, p.reference, p.method FROM payments p JOIN invoices i ON i.id = p.invoice_id WHERE p.id = ?`, p.ID).
			Scan(&invoice, &amount, &ref, &method)
		if err != nil {
			c.errorf("answered payment missing", "payment %d (%d on %s): %v", p.ID, p.AmountPence, p.Invoice, err)
		} else if invoice != p.Invoice || amount != p.AmountPence || ref != p.Reference || method != "bacs" {
			c.errorf("answered payment changed", "payment %d answered %d on %s ref %s; database %d on %s ref %s (%s)", p.ID, p.AmountPence, p.Invoice, p.Reference, amount, invoice, ref, method)
		}
	}
	// A payment reference the test made up is recorded at most once.
	c.duplicates("duplicate payment", `SELECT reference, count(*) FROM payments WHERE reference LIKE 'CRASH-PAY-%'
		GROUP BY reference HAVING count(*) > 1`, "%s recorded %d times")
	for _, cn := range l.credits {
		var invoice string
		var total int64
		err := c.db.QueryRow(`SELECT i.number, n.total_pence FROM credit_notes n JOIN invoices i ON i.id = n.invoice_id WHERE n.number = ?`, cn.Number).Scan(&invoice, &total)
		if err != nil {
			c.errorf("answered credit note missing", "%s (on %s): %v", cn.Number, cn.Invoice, err)
		} else if invoice != cn.Invoice || total != cn.TotalPence {
			c.errorf("answered credit note changed", "%s answered %d on %s; database %d on %s", cn.Number, cn.TotalPence, cn.Invoice, total, invoice)
		}
	}
	for _, number := range l.invoices {
		if c.queryInt(`SELECT count(*) FROM invoices WHERE number = ? AND status = 'issued'`, number) != 1 {
			c.errorf("answered invoice missing", "invoice %s was in a 2xx answer but is not issued in the database", number)
		}
	}
}

// bookingStatusFollows says whether a booking answered with status was may
// now have status is: a cancel the test sent moves it to cancelled (even
// without an answer), and the waiting list moves on by itself.
func bookingStatusFollows(was, is string, cancelled, tried bool) bool {
	if cancelled {
		return is == "cancelled"
	}
	if is == "cancelled" {
		return tried
	}
	switch was {
	case "confirmed":
		return is == "confirmed"
	case "waitlisted":
		return is == "waitlisted" || is == "offered" || is == "expired"
	}
	return is == was
}

var messageIDRE = regexp.MustCompile(`^<outbox-(\d+)\.[a-z2-7]{26}@` + regexp.QuoteMeta(crashMailDomain) + `>$`)

// mailOnce: every outbox message was sent and received, and received once,
// except for the one case a crash cannot avoid (see TestCrash_SIGKILL).
func (c *crashCheck) mailOnce() {
	type row struct {
		to, status string
		attempts   int
	}
	outbox := map[int64]row{}
	c.rows(`SELECT id, to_addr, status, attempts FROM outbox`, func(r *sql.Rows) error {
		var id int64
		var x row
		if err := r.Scan(&id, &x.to, &x.status, &x.attempts); err != nil {
			return err
		}
		outbox[id] = x
		return nil
	})
	c.outbox = len(outbox)
	deliveries, sessions := c.mail.snapshot()
	c.delivered = len(deliveries)
	byID := map[int64][]delivery{}
	for _, d := range deliveries {
		m := messageIDRE.FindStringSubmatch(d.messageID)
		if m == nil {
			c.errorf("mail", "received a message with Message-ID %q, not one of the outbox's", d.messageID)
			continue
		}
		id, _ := strconv.ParseInt(m[1], 10, 64)
		if _, ok := outbox[id]; !ok {
			c.errorf("mail", "received %s, which is not in the outbox", d.messageID)
			continue
		}
		byID[id] = append(byID[id], d)
	}
	// The last SMTP connection each incarnation opened: a delivery after
	// which its incarnation opened another had been recorded as sent (the
	// worker sends one message at a time, and moves on only once it has
	// marked the last one sent).
	lastAccept := map[int]int64{}
	for _, s := range sessions {
		lastAccept[s.life] = max(lastAccept[s.life], s.accepted)
	}
	for id, x := range outbox {
		got := byID[id]
		if x.status != "sent" {
			c.errorf("mail not sent", "outbox %d to %s is %s after %d attempts", id, x.to, x.status, x.attempts)
		} else if x.attempts != 1 {
			// The SMTP server refuses nothing, and an attempt cut off by a
			// kill is never recorded.
			c.errorf("mail", "outbox %d to %s was sent after %d recorded attempts, want 1", id, x.to, x.attempts)
		}
		if len(got) == 0 {
			c.errorf("mail not received", "outbox %d to %s is %s but the SMTP server never received it", id, x.to, x.status)
			continue
		}
		for _, d := range got {
			if len(d.to) != 1 || !strings.EqualFold(d.to[0], x.to) {
				c.errorf("mail", "outbox %d is to %s but was delivered to %v", id, x.to, d.to)
			}
		}
		sort.Slice(got, func(i, j int) bool { return got[i].at < got[j].at })
		for i := 0; i+1 < len(got); i++ {
			d, next := got[i], got[i+1]
			switch {
			case d.life < 0 || next.life <= d.life:
				c.errorf("mail sent twice", "outbox %d was delivered twice by incarnation %d: the worker resent a message it had delivered", id, d.life)
			case c.srv.ending(d.life) != "SIGKILL":
				c.errorf("mail sent twice", "outbox %d was delivered by incarnation %d, which then stopped cleanly (%s) without marking it sent; incarnation %d sent it again",
					id, d.life, c.srv.ending(d.life), next.life)
			case lastAccept[d.life] > d.accepted:
				c.errorf("mail sent twice", "outbox %d was delivered by incarnation %d, which went on to open another SMTP connection (so had marked it sent) before it was killed; incarnation %d sent it again",
					id, d.life, next.life)
			default:
				// Delivered by the last connection of an incarnation that
				// was then SIGKILLed: the kill fell between the SMTP
				// server's 250 and the commit marking the row sent.
				c.windowDuplicates++
			}
		}
	}
}
