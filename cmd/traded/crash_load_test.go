package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The actors of the workload: their API tokens are made with
// `traded token create`.
var crashActors = map[string]string{
	"admin":     "admin@traded.example",
	"finance":   "finance@traded.example",
	"mgr990001": "manager@chelmervalley.example",   // maintained, subscribes (demo)
	"mgr990004": "manager@basildonmeadows.example", // academy, PO required, subscribes (demo)
	"mgr990007": "manager@leighcliffs.example",     // external
}

// crashSchools are the demo schools' URNs (admins and finance act for any).
var crashSchools = []int64{990001, 990002, 990003, 990004, 990005, 990006, 990007, 990008, 990009}

// crashLoad drives the JSON API from several goroutines and records every
// request that succeeded together with what it returned. A request that got
// no complete answer (the server was killed) is not a success: its outcome
// is unknown, except for bookings sent with an Idempotency-Key, which are
// sent again, with the same key and body, until they get an answer.
type crashLoad struct {
	base     string
	hc       *http.Client
	tokens   map[string]string // actor → bearer token
	sessions []int64           // bookable sessions, the test's own big ones more than once
	years    []string          // academic years with a price list

	up atomic.Bool // the server is up; workers stop when it goes

	mu          sync.Mutex
	seq         int
	attempts    int
	statuses    map[string]map[int]int // op → status (0: no complete answer) → count
	unexpected  []string
	bookings    map[int64]*bookingRec
	keyed       []*keyedReq
	pending     []*keyedReq // keyed bookings still without an answer
	payments    []paymentRec
	subs        []subRec
	credits     []creditRec
	cancelled   map[int64]bool // bookings cancelled with a 2xx
	cancelTried map[int64]bool // bookings someone tried to cancel
	invoices    []string       // invoice numbers seen in 2xx answers
	subInvoices []string       // those of subscriptions
	cancellable []int64        // recorded bookings not yet tried for cancelling
}

type delegateRec struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Email  string `json:"email"`
	Status string `json:"status"`
}

type bookingRec struct {
	ID            int64  `json:"id"`
	Reference     string `json:"reference"`
	Status        string `json:"status"`
	Organisation  int64  `json:"organisation"`
	PricePence    int64  `json:"price_pence"`
	InvoiceNumber string `json:"invoice_number"`
	Session       struct {
		ID int64 `json:"id"`
	} `json:"session"`
	Delegates []delegateRec `json:"delegates"`
	Charges   []struct {
		Product     string `json:"product"`
		Quantity    int    `json:"quantity"`
		UnitPence   int64  `json:"unit_pence"`
		AmountPence int64  `json:"amount_pence"`
	} `json:"charges"`

	actor string
	key   string
}

// keyedReq is a booking request with an Idempotency-Key.
type keyedReq struct {
	actor, key, path string
	body             []byte
	emails           []string
	sends            int
	outcome          string // "", "booked" or "refused"
	bookingID        int64
}

type paymentRec struct {
	ID          int64
	Invoice     string
	AmountPence int64
	Reference   string
}

type subRec struct {
	ID           int64
	Organisation int64
	Year         string
	PONumber     string
	Invoice      string
	PricePence   int64
}

type creditRec struct {
	Number, Invoice string
	TotalPence      int64
}

func newCrashLoad(base string, tokens map[string]string) *crashLoad {
	return &crashLoad{
		base:   base,
		tokens: tokens,
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}},
		statuses:    map[string]map[int]int{},
		bookings:    map[int64]*bookingRec{},
		cancelled:   map[int64]bool{},
		cancelTried: map[int64]bool{},
	}
}

// expected are the statuses each operation may answer besides success:
// anything else (a 5xx above all) fails the test.
var expected = map[string]map[int]bool{
	"book":      {201: true, 409: true},
	"rebook":    {201: true, 409: true},
	"subscribe": {201: true, 409: true},
	"pay":       {201: true, 409: true},
	"credit":    {201: true, 409: true, 422: true},
	"cancel":    {200: true, 409: true},
	"setup":     {200: true, 201: true},
}

func (l *crashLoad) next() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	return l.seq
}

// do sends one API request and returns the status and body; status 0 and
// an error mean no complete answer came.
func (l *crashLoad) do(ctx context.Context, op, actor, method, path string, body []byte, key string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, l.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+l.tokens[actor])
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	status := 0
	var out []byte
	resp, err := l.hc.Do(req)
	if err == nil {
		out, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			status = resp.StatusCode
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attempts++
	if l.statuses[op] == nil {
		l.statuses[op] = map[int]int{}
	}
	l.statuses[op][status]++
	if status != 0 && !expected[op][status] && len(l.unexpected) < 20 {
		l.unexpected = append(l.unexpected, fmt.Sprintf("%s %s %s: %d %s", op, method, path, status, bytes.TrimSpace(out)))
	}
	return status, out, err
}

// mustJSON marshals v.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// run loops over random operations until the server goes or ctx ends.
func (l *crashLoad) run(ctx context.Context, rng *rand.Rand) {
	for l.up.Load() && ctx.Err() == nil {
		l.step(ctx, rng)
	}
}

func (l *crashLoad) step(ctx context.Context, rng *rand.Rand) {
	if rng.Intn(3) == 0 {
		if k := l.popPending(); k != nil {
			l.sendKeyed(ctx, k)
			return
		}
	}
	switch n := rng.Intn(100); {
	case n < 60:
		l.book(ctx, rng)
	case n < 68:
		l.subscribe(ctx, rng)
	case n < 83:
		l.pay(ctx, rng)
	case n < 90:
		l.credit(ctx, rng)
	default:
		l.cancel(ctx, rng)
	}
}

type delegateIn struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// book asks for a booking as a school manager for their school or as an
// admin for any school, half the time with an Idempotency-Key.
func (l *crashLoad) book(ctx context.Context, rng *rand.Rand) {
	actor := []string{"admin", "mgr990001", "mgr990004", "mgr990007"}[rng.Intn(4)]
	urn := crashSchools[rng.Intn(len(crashSchools))]
	if actor != "admin" {
		urn, _ = strconv.ParseInt(actor[len("mgr"):], 10, 64)
	}
	n := l.next()
	var ds []delegateIn
	var emails []string
	for i := 1; i <= 1+rng.Intn(3); i++ {
		e := fmt.Sprintf("d%d.%d@crash.example", n, i)
		ds = append(ds, delegateIn{Name: fmt.Sprintf("Delegate %d-%d", n, i), Email: e})
		emails = append(emails, e)
	}
	// Basildon Meadows needs a PO number on every invoice: every booking
	// carries one.
	body := mustJSON(map[string]any{"organisation": strconv.FormatInt(urn, 10), "delegates": ds, "waitlist": rng.Intn(3) == 0,
		"po_number": fmt.Sprintf("PO-%d", n)})
	path := fmt.Sprintf("/api/v1/sessions/%d/bookings", l.sessions[rng.Intn(len(l.sessions))])
	if rng.Intn(2) == 0 {
		k := &keyedReq{actor: actor, key: fmt.Sprintf("crash-%d", n), path: path, body: body, emails: emails}
		l.mu.Lock()
		l.keyed = append(l.keyed, k)
		l.mu.Unlock()
		l.sendKeyed(ctx, k)
		return
	}
	status, out, err := l.do(ctx, "book", actor, "POST", path, body, "")
	if err == nil && status == http.StatusCreated {
		l.recordBooking(out, actor, "")
	}
}

// sendKeyed sends a keyed booking (again): an answer settles it, no
// answer puts it back in the queue.
func (l *crashLoad) sendKeyed(ctx context.Context, k *keyedReq) {
	op := "book"
	if k.sends > 0 {
		op = "rebook"
	}
	k.sends++
	status, out, err := l.do(ctx, op, k.actor, "POST", k.path, k.body, k.key)
	switch {
	case err != nil || status == 0:
		l.mu.Lock()
		l.pending = append(l.pending, k)
		l.mu.Unlock()
	case status == http.StatusCreated:
		if b := l.recordBooking(out, k.actor, k.key); b != nil {
			l.mu.Lock()
			k.outcome, k.bookingID = "booked", b.ID
			l.mu.Unlock()
		}
	default:
		l.mu.Lock()
		k.outcome = "refused"
		l.mu.Unlock()
	}
}

func (l *crashLoad) popPending() *keyedReq {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) == 0 {
		return nil
	}
	k := l.pending[0]
	l.pending = l.pending[1:]
	return k
}

func (l *crashLoad) recordBooking(out []byte, actor, key string) *bookingRec {
	var b bookingRec
	if err := json.Unmarshal(out, &b); err != nil || b.ID == 0 {
		l.note("book: a 201 without a booking: %s", out)
		return nil
	}
	b.actor, b.key = actor, key
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev, ok := l.bookings[b.ID]; ok {
		// The same booking twice: only a keyed retry may return it again.
		if prev.key == "" || prev.key != key {
			l.unexpected = append(l.unexpected, fmt.Sprintf("booking %d returned to two different requests (keys %q, %q)", b.ID, prev.key, key))
		}
		return prev
	}
	l.bookings[b.ID] = &b
	if b.Status == "confirmed" || b.Status == "waitlisted" {
		l.cancellable = append(l.cancellable, b.ID)
	}
	if b.InvoiceNumber != "" {
		l.invoices = append(l.invoices, b.InvoiceNumber)
	}
	return &b
}

func (l *crashLoad) note(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.unexpected) < 20 {
		l.unexpected = append(l.unexpected, fmt.Sprintf(format, args...))
	}
}

// subscribe buys the PSA subscription for a school and a year, as finance
// or an admin: the invoice is issued in the same transaction.
func (l *crashLoad) subscribe(ctx context.Context, rng *rand.Rand) {
	actor := []string{"admin", "finance"}[rng.Intn(2)]
	urn := crashSchools[rng.Intn(len(crashSchools))]
	year := l.years[rng.Intn(len(l.years))]
	po := fmt.Sprintf("PO-CRASH-%d", l.next())
	status, out, err := l.do(ctx, "subscribe", actor, "POST", "/api/v1/subscriptions",
		mustJSON(map[string]any{"organisation": strconv.FormatInt(urn, 10), "academic_year": year, "po_number": po}), "")
	if err != nil || status != http.StatusCreated {
		return
	}
	var r struct {
		Subscription struct {
			ID           int64  `json:"id"`
			Organisation int64  `json:"organisation"`
			AcademicYear string `json:"academic_year"`
			PONumber     string `json:"po_number"`
			PricePence   int64  `json:"price_pence"`
		} `json:"subscription"`
		InvoiceNumber string `json:"invoice_number"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.Subscription.ID == 0 || r.InvoiceNumber == "" {
		l.note("subscribe: a 201 without a subscription and invoice: %s", out)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.subs = append(l.subs, subRec{ID: r.Subscription.ID, Organisation: r.Subscription.Organisation, Year: r.Subscription.AcademicYear,
		PONumber: r.Subscription.PONumber, Invoice: r.InvoiceNumber, PricePence: r.Subscription.PricePence})
	l.invoices = append(l.invoices, r.InvoiceNumber)
	l.subInvoices = append(l.subInvoices, r.InvoiceNumber)
}

func (l *crashLoad) randomInvoice(rng *rand.Rand, pool *[]string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(*pool) == 0 {
		return ""
	}
	return (*pool)[rng.Intn(len(*pool))]
}

// pay records a BACS part payment on an invoice, as finance.
func (l *crashLoad) pay(ctx context.Context, rng *rand.Rand) {
	number := l.randomInvoice(rng, &l.invoices)
	if number == "" {
		return
	}
	amount := int64(1 + rng.Intn(5000))
	ref := fmt.Sprintf("CRASH-PAY-%d", l.next())
	status, out, err := l.do(ctx, "pay", "finance", "POST", "/api/v1/invoices/"+number+"/payments",
		mustJSON(map[string]any{"method": "bacs", "amount_pence": amount, "reference": ref}), "")
	if err != nil || status != http.StatusCreated {
		return
	}
	var r struct {
		PaymentID int64 `json:"payment_id"`
		Invoice   struct {
			Number string `json:"number"`
		} `json:"invoice"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.PaymentID == 0 || r.Invoice.Number != number {
		l.note("pay %s: a 201 without the payment: %s", number, out)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.payments = append(l.payments, paymentRec{ID: r.PaymentID, Invoice: number, AmountPence: amount, Reference: ref})
}

// credit issues a small credit note on a subscription's invoice, as
// finance. Not on a booking's: cancelling a booking whose invoice line has
// been credited by hand is refused (422 "Line 1 has £x left to credit"),
// a fault of its own that this test is not about.
func (l *crashLoad) credit(ctx context.Context, rng *rand.Rand) {
	number := l.randomInvoice(rng, &l.subInvoices)
	if number == "" {
		return
	}
	status, out, err := l.do(ctx, "credit", "finance", "POST", "/api/v1/invoices/"+number+"/credit-notes",
		mustJSON(map[string]any{"reason": fmt.Sprintf("crash test goodwill %d", l.next()), "amount_pence": 1 + rng.Intn(300)}), "")
	if err != nil || status != http.StatusCreated {
		return
	}
	var r struct {
		Number     string `json:"number"`
		Invoice    string `json:"invoice"`
		TotalPence int64  `json:"total_pence"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.Number == "" || r.Invoice != number {
		l.note("credit %s: a 201 without the credit note: %s", number, out)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.credits = append(l.credits, creditRec{Number: r.Number, Invoice: r.Invoice, TotalPence: r.TotalPence})
}

// cancel cancels a recorded booking as whoever made it (a free
// cancellation credits its invoice).
func (l *crashLoad) cancel(ctx context.Context, rng *rand.Rand) {
	l.mu.Lock()
	if len(l.cancellable) == 0 {
		l.mu.Unlock()
		return
	}
	i := rng.Intn(len(l.cancellable))
	id := l.cancellable[i]
	l.cancellable = append(l.cancellable[:i], l.cancellable[i+1:]...)
	l.cancelTried[id] = true
	actor := l.bookings[id].actor
	l.mu.Unlock()
	status, out, err := l.do(ctx, "cancel", actor, "POST", fmt.Sprintf("/api/v1/bookings/%d/cancel", id),
		mustJSON(map[string]string{"reason": "crash test"}), "")
	if err != nil || status != http.StatusOK {
		return
	}
	var r bookingRec
	if err := json.Unmarshal(out, &r); err != nil || r.ID != id || r.Status != "cancelled" {
		l.note("cancel %d: a 200 without the cancelled booking: %s", id, out)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cancelled[id] = true
}

// settle sends every keyed booking still without an answer until each has
// one: the server must be up and stay up.
func (l *crashLoad) settle(ctx context.Context) error {
	for tries := 0; ; tries++ {
		k := l.popPending()
		if k == nil {
			return nil
		}
		if tries > 10000 {
			return fmt.Errorf("keyed bookings still unanswered")
		}
		l.sendKeyed(ctx, k)
		if k.outcome == "" {
			return fmt.Errorf("keyed booking %s got no answer from a running server", k.key)
		}
	}
}

// summary counts the answers by operation and status.
func (l *crashLoad) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ops []string
	for op := range l.statuses {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var b bytes.Buffer
	for _, op := range ops {
		var codes []int
		for c := range l.statuses[op] {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		fmt.Fprintf(&b, " %s:", op)
		for _, c := range codes {
			name := strconv.Itoa(c)
			if c == 0 {
				name = "no-answer"
			}
			fmt.Fprintf(&b, " %s×%d", name, l.statuses[op][c])
		}
	}
	return b.String()
}

func (l *crashLoad) succeeded() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.statuses {
		for c, k := range m {
			if c >= 200 && c < 300 {
				n += k
			}
		}
	}
	return n
}
