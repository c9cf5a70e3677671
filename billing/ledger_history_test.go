package billing_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"traded"
	"traded/app"
	"traded/billing"
	"traded/booking"
	"traded/organisation"
	"traded/pricing"
	"traded/store"
	"traded/store/storetest"
)

// The ledger's property test. Random sequences of invoices, payments (some
// paying more than owed), receipts split across invoices, credit notes,
// allocations, reversals and BACS refunds run against the real service
// while a model of the ledger, written from the README's rules and sharing
// no code with billing, says what each step must do: whether it is refused,
// and what every invoice owes and every credit has left afterwards. After
// each step the service must agree with the model to the penny and the
// ledger must balance: no document over-allocated, each account's open
// balances less its credit equal to its invoices and refunds less its
// payments and credit notes, which is also the statement's closing balance.
//
//	TRADED_LEDGER_HISTORIES=200   histories (40 under -race)
//	TRADED_LEDGER_SEED=20261203   history i is rand.NewPCG(seed, i)

// defaultLedgerHistories is lowered under the race detector (history_race_test.go).
var defaultLedgerHistories = 200

type modelInvoice struct {
	number   string
	org      int
	total    pricing.Money
	credited pricing.Money // credit notes issued against it
	alloc    pricing.Money // allocated to it
}

func (m *modelInvoice) owes() pricing.Money { return m.total - m.alloc }

type modelCredit struct {
	key    string
	org    int
	amount pricing.Money
	used   pricing.Money
}

func (m *modelCredit) left() pricing.Money { return m.amount - m.used }

type ledgerModel struct {
	orgIDs   []int64
	invoices []*modelInvoice
	credits  map[string]*modelCredit
	pairs    map[[2]string]pricing.Money // (credit key, invoice) -> allocated
	refunded map[int]pricing.Money       // by org
}

func (m *ledgerModel) allocate(c *modelCredit, inv *modelInvoice, amount pricing.Money) {
	c.used += amount
	inv.alloc += amount
	m.pairs[[2]string{c.key, inv.number}] += amount
}

func (m *ledgerModel) invoice(number string) *modelInvoice {
	for _, inv := range m.invoices {
		if inv.number == number {
			return inv
		}
	}
	return nil
}

// ledgerStep is one step of a history, as a line a person can read.
type ledgerStep struct {
	text string
	err  error
}

func TestLedgerHistories(t *testing.T) {
	n := envInt("TRADED_LEDGER_HISTORIES", defaultLedgerHistories)
	seed := uint64(envInt("TRADED_LEDGER_SEED", 20261203))
	t.Logf("TRADED_LEDGER_HISTORIES=%d TRADED_LEDGER_SEED=%d", n, seed)
	db, clock := storetest.Open(t)
	bk := app.Domains(db).Booking
	svc := billing.NewService(db, bk.Organisations, bk.Catalogue, billing.DefaultConfig(), nil)
	svc.Users = bk.Accounts
	var steps int
	var customers []journalOrg
	for i := range n {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		script, err := runLedgerHistory(t, db, clock, bk, svc, rng, i)
		for k := range 2 {
			urn := int64(600000 + i*10 + k)
			if org, ferr := bk.Organisations.FindByURN(context.Background(), urn); ferr == nil {
				customers = append(customers, journalOrg{history: i, urn: urn, id: org.ID})
			}
		}
		if err == nil && (i%25 == 24 || i == n-1) {
			err = checkJournal(context.Background(), svc, customers)
		}
		steps += len(script)
		if err != nil {
			var b strings.Builder
			for k, s := range script {
				fmt.Fprintf(&b, "\n  %2d. %s", k+1, s.text)
				if s.err != nil {
					fmt.Fprintf(&b, " -> %s", traded.ErrorCode(s.err))
				}
			}
			t.Fatalf("ledger history %d (TRADED_LEDGER_SEED=%d) failed after:%s\n%v", i, seed, b.String(), err)
		}
	}
	t.Logf("%d histories, %d steps", n, steps)
}

func runLedgerHistory(t *testing.T, db *store.DB, clock *traded.FixedClock, bk *booking.Service, svc *billing.Service, rng *rand.Rand, h int) ([]ledgerStep, error) {
	ctx := context.Background()
	actor := store.Actor{Name: "finance@essex.test"}
	clock.Set(storetest.Epoch)
	m := &ledgerModel{credits: map[string]*modelCredit{}, pairs: map[[2]string]pricing.Money{}, refunded: map[int]pricing.Money{}}
	var orgs []organisation.Organisation
	for k := range 2 {
		urn := int64(600000 + h*10 + k)
		orgs = append(orgs, academy(urn, fmt.Sprintf("Ysgol Llŷn %d’s \"Academy\" %d", h, k)))
	}
	if err := bk.Organisations.Upsert(ctx, store.System, orgs, "demo"); err != nil {
		return nil, err
	}
	for _, o := range orgs {
		org, err := bk.Organisations.FindByURN(ctx, o.URN)
		if err != nil {
			return nil, err
		}
		m.orgIDs = append(m.orgIDs, org.ID)
	}
	var script []ledgerStep
	// expect compares what the service did with what the model says:
	// refused (ok false) or done.
	expect := func(err error, ok bool) error {
		code := traded.ErrorCode(err)
		switch {
		case ok && err != nil:
			return fmt.Errorf("the model says this works; the service said %v", err)
		case !ok && err == nil:
			return fmt.Errorf("the model says this is refused; the service did it")
		case !ok && code != traded.EINVALID && code != traded.ECONFLICT && code != traded.ENOTFOUND:
			return fmt.Errorf("refused with %v, not a 4xx", err)
		}
		return nil
	}
	amount := func(limit pricing.Money) pricing.Money {
		switch rng.IntN(4) {
		case 0:
			return limit
		case 1:
			return limit + pricing.Money(1+rng.IntN(5000))
		}
		return pricing.Money(1 + rng.Int64N(int64(max(1, limit))))
	}
	anyInvoice := func() *modelInvoice {
		if len(m.invoices) == 0 {
			return nil
		}
		return m.invoices[rng.IntN(len(m.invoices))]
	}
	anyCredit := func() *modelCredit {
		if len(m.credits) == 0 {
			return nil
		}
		keys := make([]string, 0, len(m.credits))
		for k := range m.credits {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return m.credits[keys[rng.IntN(len(keys))]]
	}

	for range 8 + rng.IntN(25) {
		if rng.IntN(4) == 0 {
			clock.Advance(time.Duration(1+rng.IntN(3)) * 24 * time.Hour)
		}
		var step ledgerStep
		var err error
		switch op := rng.IntN(10); {
		case op < 2 || len(m.invoices) == 0:
			org := rng.IntN(len(orgs))
			total := pricing.Money(100 + rng.IntN(60000))
			var number string
			number, step.err = svc.CreateInvoice(ctx, actor, billing.InvoiceInput{OrganisationID: m.orgIDs[org], Source: "manual",
				Lines: []billing.LineInput{{ProductCode: "psa-session", Description: "Training session", Quantity: 1, Unit: total}}})
			step.text = fmt.Sprintf("invoice org %d %s = %s", org, total, number)
			if err = expect(step.err, true); err == nil {
				m.invoices = append(m.invoices, &modelInvoice{number: number, org: org, total: total})
			}
		case op < 4:
			inv := anyInvoice()
			amt := amount(max(inv.owes(), 1))
			var res *billing.PaymentResult
			res, step.err = svc.RecordPayment(ctx, actor, inv.number, billing.PaymentInput{Method: billing.MethodBACS, Amount: amt})
			step.text = fmt.Sprintf("pay %s %s (owes %s)", inv.number, amt, inv.owes())
			ok := inv.credited < inv.total
			if err = expect(step.err, ok); err == nil && ok {
				c := &modelCredit{key: "payment-" + strconv.FormatInt(res.PaymentID, 10), org: inv.org, amount: amt}
				m.credits[c.key] = c
				m.allocate(c, inv, min(amt, inv.owes()))
			}
		case op < 5:
			org := rng.IntN(len(orgs))
			var splits []billing.Split
			var sum pricing.Money
			ok := true
			for _, inv := range m.invoices {
				if inv.org != org || rng.IntN(2) == 0 {
					continue
				}
				a := amount(max(inv.owes(), 1))
				if a > inv.owes() {
					ok = false
				}
				splits, sum = append(splits, billing.Split{InvoiceNumber: inv.number, Amount: a}), sum+a
			}
			received := sum + pricing.Money(rng.IntN(3000)) - pricing.Money(rng.IntN(2)*rng.IntN(500))
			if received <= 0 {
				received = 1
			}
			if sum > received {
				ok = false
			}
			var res *billing.ReceiptResult
			res, step.err = svc.RecordReceipt(ctx, actor, billing.ReceiptInput{OrganisationID: m.orgIDs[org],
				PaymentInput: billing.PaymentInput{Method: billing.MethodBACS, Amount: received}, Splits: splits})
			step.text = fmt.Sprintf("receipt org %d %s split %v", org, received, splits)
			if err = expect(step.err, ok); err == nil && ok {
				c := &modelCredit{key: "payment-" + strconv.FormatInt(res.PaymentID, 10), org: org, amount: received}
				m.credits[c.key] = c
				for _, sp := range splits {
					m.allocate(c, m.invoice(sp.InvoiceNumber), sp.Amount)
				}
			}
		case op < 6:
			inv := anyInvoice()
			left := inv.total - inv.credited
			amt := amount(max(left, 1))
			var cn *billing.CreditNote
			cn, step.err = svc.CreateCreditNote(ctx, actor, inv.number, billing.CreditInput{Reason: "Cancelled — ‘sorry’", Amount: amt})
			step.text = fmt.Sprintf("credit %s %s (left to credit %s)", inv.number, amt, left)
			ok := left > 0 && amt <= left
			if err = expect(step.err, ok); err == nil && ok {
				c := &modelCredit{key: cn.Number, org: inv.org, amount: amt}
				m.credits[c.key] = c
				inv.credited += amt
				m.allocate(c, inv, min(amt, inv.owes()))
			}
		case op < 8:
			c, inv := anyCredit(), anyInvoice()
			if c == nil {
				continue
			}
			var amt pricing.Money
			if rng.IntN(2) == 0 {
				amt = amount(max(min(c.left(), inv.owes()), 1))
			}
			ref, _ := billing.ParseCreditRef(c.key)
			step.err = svc.Allocate(ctx, actor, m.orgIDs[c.org], ref, inv.number, amt)
			step.text = fmt.Sprintf("allocate %s (left %s) to %s (owes %s) %s", c.key, c.left(), inv.number, inv.owes(), amt)
			ok := c.org == inv.org && c.left() > 0 && inv.owes() > 0 && amt <= c.left() && amt <= inv.owes()
			if err = expect(step.err, ok); err == nil && ok {
				if amt == 0 {
					amt = min(c.left(), inv.owes())
				}
				m.allocate(c, inv, amt)
			}
		case op < 9:
			org := rng.IntN(len(orgs))
			acct, aerr := svc.FindAccount(ctx, m.orgIDs[org])
			if aerr != nil {
				return script, aerr
			}
			if len(acct.Allocations) == 0 {
				continue
			}
			al := acct.Allocations[rng.IntN(len(acct.Allocations))]
			step.err = svc.Unallocate(ctx, actor, m.orgIDs[org], al.ID)
			step.text = fmt.Sprintf("reverse allocation %d (%s of %s to %s)", al.ID, al.Amount, al.Credit, al.Invoice)
			ok := al.Reverses == 0 && !al.Reversed
			if err = expect(step.err, ok); err == nil && ok {
				var c *modelCredit
				for _, x := range m.credits {
					if x.org == org && creditLabel(x.key) == al.Credit {
						c = x
					}
				}
				inv := m.invoice(al.Invoice)
				pair := [2]string{"", al.Invoice}
				if c != nil {
					pair[0] = c.key
				}
				if c == nil || inv == nil || m.pairs[pair] < al.Amount {
					err = fmt.Errorf("the service lists an allocation the model never made: %+v", al)
				} else {
					m.allocate(c, inv, -al.Amount)
				}
			}
		default:
			c := anyCredit()
			if c == nil {
				continue
			}
			var amt pricing.Money
			if rng.IntN(3) > 0 {
				amt = amount(max(c.left(), 1))
			}
			ref, _ := billing.ParseCreditRef(c.key)
			_, step.err = svc.RecordRefund(ctx, actor, billing.RefundInput{OrganisationID: m.orgIDs[c.org], Credit: ref,
				Method: billing.MethodBACS, Amount: amt, Reason: "Overpaid"})
			step.text = fmt.Sprintf("refund %s (left %s) %s", c.key, c.left(), amt)
			ok := c.left() > 0 && amt <= c.left()
			if err = expect(step.err, ok); err == nil && ok {
				if amt == 0 {
					amt = c.left()
				}
				c.used += amt
				m.refunded[c.org] += amt
			}
		}
		script = append(script, step)
		if err != nil {
			return script, err
		}
		if err := checkLedger(ctx, db, svc, m); err != nil {
			return script, err
		}
	}
	return script, nil
}

// journalOrg is a customer of one history, for checkJournal.
type journalOrg struct {
	history int
	urn, id int64
}

// checkJournal checks the histories so far against the ledger journal
// export: every document balances (LedgerJournal refuses otherwise), and
// each customer's debtors control lines net to what its account says it
// owes less its credit. (Refunds here are BACS, done at once, so none is
// pending.) The journal covers the whole database, so it is checked every
// few histories rather than after each.
func checkJournal(ctx context.Context, svc *billing.Service, orgs []journalOrg) error {
	lines, err := svc.LedgerJournal(ctx, billing.Period{})
	if err != nil {
		return err
	}
	debtors := map[int64]pricing.Money{}
	for _, l := range lines {
		if l.Account == "1100" {
			debtors[l.URN] += l.Debit - l.Credit
		}
	}
	for _, o := range orgs {
		acct, err := svc.FindAccount(ctx, o.id)
		if err != nil {
			return err
		}
		if debtors[o.urn] != acct.Net() {
			return fmt.Errorf("history %d, URN %d: the journal's debtors control nets to %s, the account to %s", o.history, o.urn,
				debtors[o.urn], acct.Net())
		}
	}
	return nil
}

// creditLabel is a credit's label as the service shows it.
func creditLabel(key string) string {
	if id, ok := strings.CutPrefix(key, "payment-"); ok {
		return "Payment " + id + " (BACS)"
	}
	return key
}

// checkLedger compares the service with the model, and checks that the
// ledger balances.
func checkLedger(ctx context.Context, db *store.DB, svc *billing.Service, m *ledgerModel) error {
	for org, id := range m.orgIDs {
		acct, err := svc.FindAccount(ctx, id)
		if err != nil {
			return err
		}
		var owed, credit, invoiced, credited, paid pricing.Money
		for _, inv := range m.invoices {
			if inv.org != org {
				continue
			}
			owed += inv.owes()
			invoiced += inv.total
			credited += inv.credited
			got, err := svc.FindInvoiceByNumber(ctx, inv.number)
			if err != nil {
				return err
			}
			if got.Balance() != inv.owes() || got.Credited != inv.credited {
				return fmt.Errorf("%s: balance %s credited %s, the model says %s and %s", inv.number, got.Balance(), got.Credited, inv.owes(), inv.credited)
			}
		}
		for _, c := range m.credits {
			if c.org != org {
				continue
			}
			credit += c.left()
			if !strings.HasPrefix(c.key, "CN-") {
				paid += c.amount
			}
		}
		if acct.Owed != owed || acct.CreditLeft != credit {
			return fmt.Errorf("org %d: owed %s credit %s, the model says %s and %s", org, acct.Owed, acct.CreditLeft, owed, credit)
		}
		if want := invoiced - credited - paid + m.refunded[org]; acct.Net() != want {
			return fmt.Errorf("org %d: open balances less credit %s, but invoiced less credited less paid plus refunded is %s", org, acct.Net(), want)
		}
		st, err := svc.Statement(ctx, id, "2020-01-01", svc.Today())
		if err != nil {
			return err
		}
		if st.Closing != acct.Net() {
			return fmt.Errorf("org %d: statement closes at %s, the ledger nets to %s", org, st.Closing, acct.Net())
		}
	}
	// No document of these accounts holds more than it can. (Histories
	// share a database; each checks its own organisations.)
	var over int
	err := db.Read().QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM invoices i WHERE i.organisation_id IN (?1, ?2)
			AND COALESCE((SELECT SUM(amount_pence) FROM allocations a WHERE a.invoice_id = i.id), 0) NOT BETWEEN 0 AND i.total_pence)
		+ (SELECT count(*) FROM payments p WHERE p.organisation_id IN (?1, ?2)
			AND COALESCE((SELECT SUM(amount_pence) FROM allocations a WHERE a.payment_id = p.id), 0)
			+ COALESCE((SELECT SUM(amount_pence) FROM refunds r WHERE r.payment_id = p.id AND r.status <> 'failed'), 0) NOT BETWEEN 0 AND p.amount_pence)
		+ (SELECT count(*) FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id WHERE i.organisation_id IN (?1, ?2)
			AND COALESCE((SELECT SUM(amount_pence) FROM allocations a WHERE a.credit_note_id = c.id), 0)
			+ COALESCE((SELECT SUM(amount_pence) FROM refunds r WHERE r.credit_note_id = c.id AND r.status <> 'failed'), 0) NOT BETWEEN 0 AND c.total_pence)`,
		m.orgIDs[0], m.orgIDs[1]).Scan(&over)
	if err != nil {
		return err
	}
	if over > 0 {
		return fmt.Errorf("%d documents are allocated beyond what they hold", over)
	}
	return nil
}
