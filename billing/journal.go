package billing

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"time"

	"traded"
	"traded/pricing"
	"traded/store"
)

// JournalBatch is a set of maintained schools' invoices recharged by one
// internal journal.
type JournalBatch struct {
	ID        int64
	CreatedAt time.Time
	CreatedBy string
	PostedAt  time.Time // zero until posted
	PostedBy  string
	Total     pricing.Money
	Items     []JournalItem
	// Problems says what stops the batch being posted: invoices whose
	// school has no cost centre.
	Problems []string
}

// Posted reports whether the batch has been posted.
func (b *JournalBatch) Posted() bool { return !b.PostedAt.IsZero() }

// JournalItem is one invoice in a journal batch.
type JournalItem struct {
	InvoiceID     int64
	InvoiceNumber string
	Customer      string
	URN           int64
	CostCentre    string // "" when the school has none
	Amount        pricing.Money
	Description   string
}

// CreateJournalBatch gathers every issued invoice settled by journal that
// still owes something and is in no batch, into one new batch for the
// balance each owes. Invoices whose school has no cost centre go in too and
// are listed in Problems. It returns ECONFLICT when there is nothing to
// recharge.
func (s *Service) CreateJournalBatch(ctx context.Context, actor store.Actor) (*JournalBatch, error) {
	var id int64
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, organisation_id, cost_centre, owing FROM (SELECT i.id, i.seq, i.total_pence,
				i.organisation_id, i.cost_centre, `+owingSQL+` AS owing, `+creditedSQL+` AS cr
			FROM invoices i
			WHERE i.status = 'issued' AND i.settlement = 'journal' AND i.id NOT IN (SELECT invoice_id FROM journal_batch_invoices))
			WHERE cr < total_pence AND owing > 0 ORDER BY seq`)
		if err != nil {
			return fmt.Errorf("create journal batch: %w", err)
		}
		type item struct {
			invoice, org int64
			cc           string
			amount       int64
		}
		var items []item
		var orgIDs []int64
		for rows.Next() {
			var it item
			if err := rows.Scan(&it.invoice, &it.org, &it.cc, &it.amount); err != nil {
				rows.Close()
				return fmt.Errorf("create journal batch: %w", err)
			}
			items, orgIDs = append(items, it), append(orgIDs, it.org)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("create journal batch: %w", err)
		}
		// The school's cost centre now, else the one the invoice was issued with.
		orgs, err := s.organisationsOf(ctx, tx, orgIDs)
		if err != nil {
			return fmt.Errorf("create journal batch: %w", err)
		}
		kept := items[:0]
		var total int64
		for _, it := range items {
			o := orgs[it.org]
			if o == nil {
				continue
			}
			if o.CostCentre != "" {
				it.cc = o.CostCentre
			}
			kept, total = append(kept, it), total+it.amount
		}
		items = kept
		if len(items) == 0 {
			return traded.Errorf(traded.ECONFLICT, "There is nothing to recharge: every journal invoice is paid or already in a batch.")
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO journal_batches (created_at, created_by, total_pence) VALUES (?, ?, ?)`,
			store.FormatTime(tx.Now), actor.Label(), total)
		if err != nil {
			return fmt.Errorf("create journal batch: %w", err)
		}
		id, _ = res.LastInsertId()
		missing := 0
		for _, it := range items {
			if it.cc == "" {
				missing++
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO journal_batch_invoices (batch_id, invoice_id, cost_centre, amount_pence)
				VALUES (?, ?, ?, ?)`, id, it.invoice, it.cc, it.amount); err != nil {
				return fmt.Errorf("create journal batch: %w", err)
			}
		}
		return tx.Audit(ctx, actor, "journal.create", "journal_batch", strconv.FormatInt(id, 10),
			fmt.Sprintf("%d invoices, total %s; %d without a cost centre", len(items), pricing.Money(total), missing))
	})
	if err != nil {
		return nil, err
	}
	return s.FindJournalBatch(ctx, id)
}

// FindJournalBatch returns a batch with its invoices, or ENOTFOUND.
func (s *Service) FindJournalBatch(ctx context.Context, id int64) (*JournalBatch, error) {
	batches, err := s.findJournalBatches(ctx, s.db.Read(), `b.id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(batches) == 0 {
		return nil, traded.Errorf(traded.ENOTFOUND, "There is no journal batch %d.", id)
	}
	return batches[0], nil
}

// FindJournalBatches returns every journal batch with its invoices, newest
// first.
func (s *Service) FindJournalBatches(ctx context.Context) ([]*JournalBatch, error) {
	return s.findJournalBatches(ctx, s.db.Read(), `1 = ?`, 1)
}

func (s *Service) findJournalBatches(ctx context.Context, q queryer, where string, arg any) ([]*JournalBatch, error) {
	rows, err := q.QueryContext(ctx, `SELECT b.id, b.created_at, b.created_by, COALESCE(b.posted_at, ''), COALESCE(b.posted_by, ''),
		b.total_pence FROM journal_batches b WHERE `+where+` ORDER BY b.id DESC`, arg)
	if err != nil {
		return nil, fmt.Errorf("find journal batches: %w", err)
	}
	var out []*JournalBatch
	byID := map[int64]*JournalBatch{}
	for rows.Next() {
		var b JournalBatch
		var created, posted string
		var total int64
		if err := rows.Scan(&b.ID, &created, &b.CreatedBy, &posted, &b.PostedBy, &total); err != nil {
			rows.Close()
			return nil, fmt.Errorf("find journal batches: %w", err)
		}
		b.CreatedAt, b.Total = store.MustTime(created), pricing.Money(total)
		if posted != "" {
			b.PostedAt = store.MustTime(posted)
		}
		out = append(out, &b)
		byID[b.ID] = &b
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find journal batches: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	// A cost centre missing when the batch was made is taken from the school
	// as it is now, so setting it fixes the batch's CSV.
	items, err := q.QueryContext(ctx, `SELECT j.batch_id, i.id, i.organisation_id, i.number, i.customer_name, i.customer_urn,
			j.cost_centre, j.amount_pence, i.source, i.academic_year
		FROM journal_batch_invoices j JOIN invoices i ON i.id = j.invoice_id
		JOIN journal_batches b ON b.id = j.batch_id WHERE `+where+` ORDER BY j.batch_id, i.seq`, arg)
	if err != nil {
		return nil, fmt.Errorf("find journal batch invoices: %w", err)
	}
	defer items.Close()
	type row struct {
		batch, org int64
		it         JournalItem
	}
	var found []row
	var orgIDs []int64
	for items.Next() {
		var r row
		var amount int64
		var source, year string
		if err := items.Scan(&r.batch, &r.it.InvoiceID, &r.org, &r.it.InvoiceNumber, &r.it.Customer, &r.it.URN, &r.it.CostCentre, &amount,
			&source, &year); err != nil {
			return nil, fmt.Errorf("find journal batch invoices: %w", err)
		}
		r.it.Amount = pricing.Money(amount)
		r.it.Description = journalDescription(r.it.InvoiceNumber, source, year)
		found, orgIDs = append(found, r), append(orgIDs, r.org)
	}
	if err := items.Err(); err != nil {
		return nil, fmt.Errorf("find journal batch invoices: %w", err)
	}
	items.Close()
	orgs, err := s.organisationsOf(ctx, q, orgIDs)
	if err != nil {
		return nil, fmt.Errorf("find journal batch invoices: %w", err)
	}
	for _, r := range found {
		o := orgs[r.org]
		if o == nil {
			continue
		}
		it := r.it
		if it.CostCentre == "" {
			it.CostCentre = o.CostCentre
		}
		b := byID[r.batch]
		b.Items = append(b.Items, it)
		if it.CostCentre == "" {
			b.Problems = append(b.Problems, fmt.Sprintf("%s: %s (URN %d) has no cost centre", it.InvoiceNumber, it.Customer, it.URN))
		}
	}
	return out, nil
}

// journalDescription is the line description the finance system shows the
// school: what the recharge is for.
func journalDescription(number, source, year string) string {
	d := "Traded services recharge: invoice " + number
	if what := strings.TrimSpace(strings.TrimSpace(source) + " " + strings.TrimSpace(year)); what != "" {
		d += " (" + what + ")"
	}
	return d
}

// JournalCSV returns a batch as the CSV the finance system imports: a
// header row, then cost_centre, amount (plain pounds, "315.00"),
// invoice_number, customer, urn and description, with CRLF line endings.
// Text cells a spreadsheet would run as a formula are neutralised (cell).
// It returns EINVALID while any school in the batch has no cost centre (a
// placeholder would be charged to no budget, or refused, by the finance
// system), naming each, and ENOTFOUND for an unknown batch.
func (s *Service) JournalCSV(ctx context.Context, batchID int64) ([]byte, error) {
	b, err := s.FindJournalBatch(ctx, batchID)
	if err != nil {
		return nil, err
	}
	if len(b.Problems) > 0 {
		return nil, traded.Errorf(traded.EINVALID, "Journal batch %d cannot be downloaded yet: %s. Set the cost centres, then download it.",
			batchID, strings.Join(b.Problems, "; "))
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	_ = w.Write([]string{"cost_centre", "amount", "invoice_number", "customer", "urn", "description"})
	for _, it := range b.Items {
		_ = w.Write([]string{cell(it.CostCentre), it.Amount.Decimal(), it.InvoiceNumber, cell(it.Customer), strconv.FormatInt(it.URN, 10),
			cell(it.Description)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("journal batch %d csv: %w", batchID, err)
	}
	return buf.Bytes(), nil
}

// PostJournalBatch records that the finance system has taken the batch: a
// journal payment of each invoice's batch amount, dated today, and the batch
// marked posted, in one transaction. It returns ENOTFOUND for an unknown
// batch, EINVALID while any of its schools has no cost centre, and
// ECONFLICT for a batch already posted.
func (s *Service) PostJournalBatch(ctx context.Context, actor store.Actor, batchID int64) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		batches, err := s.findJournalBatches(ctx, tx, `b.id = ?`, batchID)
		if err != nil {
			return err
		}
		if len(batches) == 0 {
			return traded.Errorf(traded.ENOTFOUND, "There is no journal batch %d.", batchID)
		}
		b := batches[0]
		if b.Posted() {
			return traded.Errorf(traded.ECONFLICT, "Journal batch %d was posted on %s by %s.", b.ID,
				b.PostedAt.In(traded.London).Format("2 January 2006"), b.PostedBy)
		}
		if len(b.Problems) > 0 {
			return traded.Errorf(traded.EINVALID, "Journal batch %d cannot be posted: %s. Set the cost centres, export the batch again, then post it.",
				b.ID, strings.Join(b.Problems, "; "))
		}
		today := tx.Now.In(traded.London).Format(store.DateFormat)
		for _, it := range b.Items {
			// Record the cost centre actually charged, where it was filled in after the batch was made.
			if _, err := tx.ExecContext(ctx, `UPDATE journal_batch_invoices SET cost_centre = ? WHERE batch_id = ? AND invoice_id = ? AND cost_centre = ''`,
				it.CostCentre, b.ID, it.InvoiceID); err != nil {
				return fmt.Errorf("post journal batch %d: %w", b.ID, err)
			}
			if err := insertJournalPayment(ctx, tx, actor, it.InvoiceNumber, it.Amount, today, b.ID); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE journal_batches SET posted_at = ?, posted_by = ? WHERE id = ? AND posted_at IS NULL`,
			store.FormatTime(tx.Now), actor.Label(), b.ID)
		if err != nil {
			return fmt.Errorf("post journal batch %d: %w", b.ID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return traded.Errorf(traded.ECONFLICT, "Journal batch %d has already been posted.", b.ID)
		}
		return tx.Audit(ctx, actor, "journal.post", "journal_batch", strconv.FormatInt(b.ID, 10),
			fmt.Sprintf("%d invoices, total %s", len(b.Items), b.Total))
	})
}

// insertJournalPayment records a journal payment that belongs to a batch.
// It is recordPayment's rules, audit included, with the batch id written in
// the same insert, since a payment cannot change once recorded. Unlike a
// payment typed by hand, it is recorded even against an invoice credited
// since the batch was made: the journal has moved the money, so the ledger
// must show it (as credit on the account, to refund or allocate).
func insertJournalPayment(ctx context.Context, tx *store.Tx, actor store.Actor, number string, amount pricing.Money, receivedOn string, batchID int64) error {
	inv, err := findInvoiceHeader(ctx, tx, `i.number = ?`, number)
	if err != nil {
		return err
	}
	if inv.Stored != StatusIssued {
		return traded.Errorf(traded.ECONFLICT, "Invoice %s has not been issued.", number)
	}
	if amount <= 0 {
		return traded.Errorf(traded.EINVALID, "Invoice %s: a journal must be more than £0.00.", number)
	}
	in := PaymentInput{Method: MethodJournal, Amount: amount, ReceivedOn: receivedOn, Reference: fmt.Sprintf("Journal batch %d", batchID)}
	c, err := insertPayment(ctx, tx, actor, inv.OrganisationID, inv.ID, in, "", 0, batchID)
	if err != nil {
		return fmt.Errorf("record journal payment %s: %w", number, err)
	}
	_, err = settleFrom(ctx, tx, actor, c, inv, in)
	return err
}
