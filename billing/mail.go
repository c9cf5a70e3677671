package billing

import (
	"context"
	"fmt"
	"sort"
	"time"

	"traded"
	"traded/account"
	"traded/mail"
	"traded/pricing"
	"traded/store"
)

// InvoiceAttachment is the mail.Renderer kind of an invoice mail's PDF,
// rendered when the mail is sent (RenderInvoiceAttachment).
const InvoiceAttachment = "invoice"

// queueInvoiceMail queues the issued invoice, with its PDF, to the
// organisation's billing email and its school business managers, inside the
// issuing transaction. With nobody to send it to, the invoice is flagged
// (invoices_not_mailed) for finance, and audited.
func (s *Service) queueInvoiceMail(ctx context.Context, tx *store.Tx, orgID int64, number string) error {
	inv, err := findInvoiceHeader(ctx, tx, `i.number = ?`, number)
	if err != nil {
		return err
	}
	to, err := s.billingContacts(ctx, tx, orgID)
	if err != nil {
		return err
	}
	if len(to) == 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO invoices_not_mailed (invoice_id, noted_at) VALUES (?, ?)
			ON CONFLICT (invoice_id) DO NOTHING`, inv.ID, store.FormatTime(tx.Now)); err != nil {
			return fmt.Errorf("flag invoice %s not mailed: %w", inv.Number, err)
		}
		return tx.Audit(ctx, store.System, "invoice.not_mailed", "invoice", inv.Number,
			fmt.Sprintf("%s has no billing email and no school business manager", inv.CustomerName))
	}
	body := fmt.Sprintf("Dear colleague,\n\nPlease find attached invoice %s from %s for %s, due by %s.\n\n%s\n\nYou can see your school's invoices at %s/invoices.\n\n%s\n",
		inv.Number, s.cfg.Supplier.Name, inv.Total, inv.DueDate, s.howToPay(inv), s.cfg.BaseURL, s.cfg.Supplier.Name)
	for _, c := range to {
		if _, err := mail.Enqueue(ctx, tx, mail.Message{Kind: "invoice", To: c.email, ToName: c.name,
			Subject: fmt.Sprintf("Invoice %s from %s", inv.Number, s.cfg.Supplier.Name), Text: body,
			Attachments: []mail.Attachment{{Filename: inv.Number + ".pdf", ContentType: "application/pdf", Render: InvoiceAttachment + ":" + inv.Number}}}); err != nil {
			return err
		}
	}
	return nil
}

type contact struct{ name, email string }

// billingContacts are who gets an organisation's invoices: its billing
// email if set, else its active school business managers.
func (s *Service) billingContacts(ctx context.Context, tx *store.Tx, orgID int64) ([]contact, error) {
	org, err := s.orgs.ByIDTx(ctx, tx, orgID)
	if err != nil {
		return nil, fmt.Errorf("billing contacts: %w", err)
	}
	if org.BillingEmail != "" {
		return []contact{{"", org.BillingEmail}}, nil
	}
	if s.Users == nil {
		return nil, nil
	}
	role, active := account.RoleSchoolManager, true
	users, err := s.Users.FindUsersTx(ctx, tx, account.UserFilter{OrganisationID: &orgID, Role: &role, Active: &active})
	if err != nil {
		return nil, fmt.Errorf("billing contacts: %w", err)
	}
	// In the order they were added, as invoices have always gone.
	sort.Slice(users, func(i, j int) bool { return users[i].ID < users[j].ID })
	out := make([]contact, len(users))
	for i, u := range users {
		out[i] = contact{u.Name, u.Email}
	}
	return out, nil
}

// payURL is where a school pays an invoice online, or "" when card payment
// is off or the school settles by journal.
func (s *Service) payURL(inv *Invoice) string {
	if s.card == nil || inv.Settlement == "journal" {
		return ""
	}
	return fmt.Sprintf("%s/invoices/%s", s.cfg.BaseURL, inv.Number)
}

// howToPay is the payment instruction printed on documents and in mail.
func (s *Service) howToPay(inv *Invoice) string {
	if inv.Settlement == "journal" {
		return fmt.Sprintf("As an LA-maintained school you do not need to pay this invoice: it will be settled by internal journal recharge to your cost centre%s.", costCentreSuffix(inv.CostCentre))
	}
	b := s.cfg.Bank
	text := fmt.Sprintf("Pay by BACS to %s, sort code %s, account %s, quoting %s as the reference.", b.AccountName, b.SortCode, b.Account, inv.Number)
	if u := s.payURL(inv); u != "" {
		text += " Or pay by card at " + u + "."
	}
	return text
}

func costCentreSuffix(cc string) string {
	if cc == "" {
		return ""
	}
	return " " + cc
}

// HowToPay is the payment instruction for an invoice, as pages show it.
func (s *Service) HowToPay(inv *Invoice) string { return s.howToPay(inv) }

// RenderInvoiceAttachment renders the PDF of invoice number for the mail
// worker, which attaches it when it sends the invoice (mail.Worker.Renders).
func (s *Service) RenderInvoiceAttachment(ctx context.Context, number string) ([]byte, error) {
	inv, err := s.FindInvoiceByNumber(ctx, number)
	if err != nil {
		return nil, err
	}
	return s.InvoicePDF(inv)
}

// InvoicePDF renders an issued invoice's PDF. The same invoice always gives
// the same bytes.
func (s *Service) InvoicePDF(inv *Invoice) ([]byte, error) {
	return RenderInvoicePDF(inv, s.cfg, s.payURL(inv))
}

// queueCreditNoteMail sends a credit note, with its PDF, to the same people
// as the invoice it credits, inside the crediting transaction.
func (s *Service) queueCreditNoteMail(ctx context.Context, tx *store.Tx, inv *Invoice, cn *CreditNote) error {
	pdf, err := RenderCreditNotePDF(cn, inv, s.cfg)
	if err != nil {
		return fmt.Errorf("credit note %s pdf: %w", cn.Number, err)
	}
	to, err := s.billingContacts(ctx, tx, inv.OrganisationID)
	if err != nil {
		return err
	}
	body := fmt.Sprintf("Dear colleague,\n\nPlease find attached credit note %s from %s for %s against invoice %s: %s.\n\nYou can see your school's invoices at %s/invoices.\n\n%s\n",
		cn.Number, s.cfg.Supplier.Name, cn.Total, inv.Number, cn.Reason, s.cfg.BaseURL, s.cfg.Supplier.Name)
	for _, c := range to {
		if _, err := mail.Enqueue(ctx, tx, mail.Message{Kind: "credit_note", To: c.email, ToName: c.name,
			Subject: fmt.Sprintf("Credit note %s from %s", cn.Number, s.cfg.Supplier.Name), Text: body,
			Attachments: []mail.Attachment{{Filename: cn.Number + ".pdf", ContentType: "application/pdf", Content: pdf}}}); err != nil {
			return err
		}
	}
	return nil
}

// NotMailed is an issued invoice nobody has been sent.
type NotMailed struct {
	Number   string
	Customer string
	URN      int64
	Total    pricing.Money
	NotedAt  time.Time
}

// FindNotMailed returns the invoices that could not be emailed for want of
// a billing contact and have not been sent since, oldest first.
func (s *Service) FindNotMailed(ctx context.Context) ([]*NotMailed, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT i.number, i.customer_name, i.customer_urn, i.total_pence, n.noted_at
		FROM invoices_not_mailed n JOIN invoices i ON i.id = n.invoice_id WHERE n.sent_at IS NULL ORDER BY n.noted_at, i.seq`)
	if err != nil {
		return nil, fmt.Errorf("invoices not mailed: %w", err)
	}
	defer rows.Close()
	var out []*NotMailed
	for rows.Next() {
		var n NotMailed
		var total int64
		var at string
		if err := rows.Scan(&n.Number, &n.Customer, &n.URN, &total, &at); err != nil {
			return nil, fmt.Errorf("invoices not mailed: %w", err)
		}
		n.Total, n.NotedAt = pricing.Money(total), store.MustTime(at)
		out = append(out, &n)
	}
	return out, rows.Err()
}

// IsNotMailed reports whether an invoice is flagged as never emailed.
func (s *Service) IsNotMailed(ctx context.Context, invoiceID int64) (bool, error) {
	var flagged bool
	err := s.db.Read().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM invoices_not_mailed WHERE invoice_id = ? AND sent_at IS NULL)`,
		invoiceID).Scan(&flagged)
	return flagged, err
}

// SendInvoice emails an issued invoice again to the organisation's billing
// contacts (and clears its not-mailed flag). It returns ENOTFOUND for an
// unknown invoice, ECONFLICT for a draft or when the organisation still
// has no billing contact.
func (s *Service) SendInvoice(ctx context.Context, actor store.Actor, number string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		inv, err := findInvoiceHeader(ctx, tx, `i.number = ?`, normaliseInvoiceNumber(number))
		if err != nil {
			return err
		}
		if inv.Stored != StatusIssued {
			return traded.Errorf(traded.ECONFLICT, "Invoice %s has not been issued.", inv.Number)
		}
		to, err := s.billingContacts(ctx, tx, inv.OrganisationID)
		if err != nil {
			return err
		}
		if len(to) == 0 {
			return traded.Errorf(traded.ECONFLICT, "%s has no billing email and no school business manager: set a billing email on the organisation first.", inv.CustomerName)
		}
		if err := s.queueInvoiceMail(ctx, tx, inv.OrganisationID, inv.Number); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invoices_not_mailed SET sent_at = ?, sent_by = ? WHERE invoice_id = ? AND sent_at IS NULL`,
			store.FormatTime(tx.Now), actor.Label(), inv.ID); err != nil {
			return fmt.Errorf("send invoice %s: %w", inv.Number, err)
		}
		return tx.Audit(ctx, actor, "invoice.send", "invoice", inv.Number, fmt.Sprintf("to %d contacts", len(to)))
	})
}
