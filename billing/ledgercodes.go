package billing

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"traded"
	"traded/catalogue"
	"traded/store"
)

// The ledger accounts the journal export posts to, by setting name. The
// income accounts are per product (catalogue.Product.IncomeCode).
const (
	LedgerDebtors          = "debtors"            // the debtors (sales ledger) control account
	LedgerBank             = "bank"               // where BACS receipts land and refunds leave
	LedgerCardClearing     = "card_clearing"      // card receipts until Stripe pays them out
	LedgerInternalRecharge = "internal_recharge"  // what a maintained school's budget is charged through
	LedgerVATOutput        = "vat_output"         // VAT charged on sales, owed to HMRC
	LedgerIncomeCostCentre = "income_cost_centre" // the traded service's own cost centre, on every income line
)

// LedgerSetting is one control account or cost centre of the journal export.
type LedgerSetting struct {
	Name  string
	Label string
	Hint  string
	Code  string
}

// ledgerSettingOrder is how the settings are shown and exported.
var ledgerSettingOrder = []LedgerSetting{
	{Name: LedgerDebtors, Label: "Debtors control account", Hint: "Debited with each invoice, credited with each payment and credit note."},
	{Name: LedgerBank, Label: "Bank account", Hint: "Debited with BACS receipts, credited with BACS refunds."},
	{Name: LedgerCardClearing, Label: "Card clearing account", Hint: "Card payments and refunds, until Stripe's payout reaches the bank."},
	{Name: LedgerInternalRecharge, Label: "Internal recharge account", Hint: "Debited, at the school's cost centre, when a maintained school settles by journal."},
	{Name: LedgerVATOutput, Label: "VAT output account", Hint: "Credited with the VAT on invoices, debited with the VAT on credit notes."},
	{Name: LedgerIncomeCostCentre, Label: "Traded services cost centre", Hint: "The cost centre every income line is posted to."},
}

// LedgerSettings returns the journal export's control accounts and cost
// centre, in a fixed order.
func (s *Service) LedgerSettings(ctx context.Context) ([]LedgerSetting, error) {
	codes, err := ledgerCodes(ctx, s.db.Read())
	if err != nil {
		return nil, err
	}
	out := make([]LedgerSetting, len(ledgerSettingOrder))
	for i, l := range ledgerSettingOrder {
		l.Code = codes[l.Name]
		out[i] = l
	}
	return out, nil
}

// CheckLedgerSettings checks codes by setting name as SetLedgerSettings
// does, without writing them, so that a caller saving other codes with
// them (catalogue.Service.SetProductCodes) can refuse all before writing
// any. It returns EINVALID, on the setting's name as the field, for an
// unknown setting or a bad code.
func CheckLedgerSettings(codes map[string]string) error {
	_, err := cleanLedgerSettings(codes)
	return err
}

// cleanLedgerSettings returns codes trimmed, or EINVALID (see
// CheckLedgerSettings).
func cleanLedgerSettings(codes map[string]string) (map[string]string, error) {
	clean := map[string]string{}
	for _, l := range ledgerSettingOrder {
		code, ok := codes[l.Name]
		if !ok {
			continue
		}
		code = strings.TrimSpace(code)
		if err := catalogue.CheckLedgerCode(l.Name, strings.ToLower(l.Label[:1])+l.Label[1:], code); err != nil {
			return nil, err
		}
		clean[l.Name] = code
	}
	for _, name := range slices.Sorted(maps.Keys(codes)) {
		if _, ok := clean[name]; !ok {
			return nil, traded.FieldErrorf(name, "There is no ledger setting %q.", name)
		}
	}
	return clean, nil
}

// SetLedgerSettings changes the codes given by setting name, leaving the
// others. It returns EINVALID, on the setting's name as the field, for an
// unknown setting or a bad code, and writes nothing then.
func (s *Service) SetLedgerSettings(ctx context.Context, actor store.Actor, codes map[string]string) error {
	clean, err := cleanLedgerSettings(codes)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		old, err := ledgerCodes(ctx, tx)
		if err != nil {
			return err
		}
		for _, l := range ledgerSettingOrder {
			code, ok := clean[l.Name]
			if !ok || old[l.Name] == code {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE ledger_settings SET code = ?, updated_at = ?, updated_by = ? WHERE name = ?`,
				code, store.FormatTime(tx.Now), actor.Label(), l.Name); err != nil {
				return fmt.Errorf("set ledger setting: %w", err)
			}
			if err := tx.Audit(ctx, actor, "ledger.setting", "ledger_setting", l.Name,
				fmt.Sprintf("%s %q (was %q)", l.Label, code, old[l.Name])); err != nil {
				return err
			}
		}
		return nil
	})
}

func ledgerCodes(ctx context.Context, q queryer) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, code FROM ledger_settings`)
	if err != nil {
		return nil, fmt.Errorf("ledger settings: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, code string
		if err := rows.Scan(&name, &code); err != nil {
			return nil, fmt.Errorf("ledger settings: %w", err)
		}
		out[name] = code
	}
	return out, rows.Err()
}
