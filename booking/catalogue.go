package booking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"traded"
	"traded/pricing"
	"traded/store"
)

// Product is a product of the catalogue, with how VAT applies to it.
type Product struct {
	Code         string
	Name         string
	Description  string
	Kind         pricing.Kind
	VATTreatment string // exempt, standard, zero, outside_scope
	VATRateBP    int64  // basis points: 2000 is 20%
	VATNote      string // printed on exempt lines: why no VAT is charged
	IncomeCode   string // the nominal code of the council's ledger its sales are credited to
	VATCode      string // the ledger's VAT code for its treatment (S, Z, E, O by default)
}

// PriceListInfo describes one stored price list version.
type PriceListInfo struct {
	ID          int64
	Year        pricing.AcademicYear
	Version     int
	DerivedFrom string // "2021/22 v1", or "" for a published list
	Uplift      *pricing.Uplift
	Note        string
	CreatedBy   string
}

const productColumns = `code, name, description, kind, vat_treatment, vat_rate_bp, vat_note, income_code, vat_code`

// FindProducts returns the active products in catalogue order.
func (s *Service) FindProducts(ctx context.Context) ([]*Product, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+productColumns+`
		FROM products WHERE active = 1 ORDER BY sort, code`)
	if err != nil {
		return nil, fmt.Errorf("find products: %w", err)
	}
	defer rows.Close()
	var out []*Product
	for rows.Next() {
		var p Product
		var kind string
		if err := rows.Scan(&p.Code, &p.Name, &p.Description, &kind, &p.VATTreatment, &p.VATRateBP, &p.VATNote, &p.IncomeCode, &p.VATCode); err != nil {
			return nil, fmt.Errorf("find products: %w", err)
		}
		p.Kind = pricing.Kind(kind)
		out = append(out, &p)
	}
	return out, rows.Err()
}

// FindProductTx returns one product (active or not) as tx sees it, or
// EINVALID naming an unknown code.
func (s *Service) FindProductTx(ctx context.Context, tx *store.Tx, code string) (*Product, error) {
	v, err := tx.Cached("product "+code, []string{"products"}, func() (any, error) {
		var p Product
		var kind string
		err := tx.QueryRowContext(ctx, `SELECT `+productColumns+` FROM products WHERE code = ?`, code).Scan(
			&p.Code, &p.Name, &p.Description, &kind, &p.VATTreatment, &p.VATRateBP, &p.VATNote, &p.IncomeCode, &p.VATCode)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, traded.FieldErrorf("product", "There is no product %q.", code)
		} else if err != nil {
			return nil, fmt.Errorf("find product: %w", err)
		}
		p.Kind = pricing.Kind(kind)
		return &p, nil
	})
	if err != nil {
		return nil, err
	}
	p := *v.(*Product)
	return &p, nil
}

// CheckLedgerCode returns EINVALID on field unless code is a code a finance
// ledger takes: 1 to 20 letters, digits, dots, dashes or slashes. Codes are
// compared and exported exactly as typed (after trimming).
func CheckLedgerCode(field, what, code string) error {
	if code == "" {
		return traded.FieldErrorf(field, "Enter the %s.", what)
	}
	if len(code) > 20 || strings.IndexFunc(code, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || strings.ContainsRune("./-_", r))
	}) >= 0 {
		return traded.FieldErrorf(field, "The %s %q must be up to 20 letters, digits, dots, dashes or slashes.", what, code)
	}
	return nil
}

// ProductCodes are the ledger codes of one product.
type ProductCodes struct {
	IncomeCode string
	VATCode    string
}

// SetProductCodes sets the income (nominal) and VAT codes products' sales
// are posted with, by product code, in one transaction. Invoices issued
// before keep the codes they were issued with. It returns EINVALID, on the
// field "income_code.{product}" or "vat_code.{product}", for an unknown
// product or a bad code, and then changes nothing.
func (s *Service) SetProductCodes(ctx context.Context, actor store.Actor, codes map[string]ProductCodes) error {
	clean := map[string]ProductCodes{}
	for code, pc := range codes {
		pc.IncomeCode, pc.VATCode = strings.TrimSpace(pc.IncomeCode), strings.TrimSpace(pc.VATCode)
		if err := CheckLedgerCode("income_code."+code, "income code", pc.IncomeCode); err != nil {
			return err
		}
		if err := CheckLedgerCode("vat_code."+code, "VAT code", pc.VATCode); err != nil {
			return err
		}
		clean[code] = pc
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		for _, code := range slices.Sorted(maps.Keys(clean)) {
			pc := clean[code]
			p, err := s.FindProductTx(ctx, tx, code)
			if err != nil {
				return traded.FieldErrorf("income_code."+code, "There is no product %q.", code)
			}
			if p.IncomeCode == pc.IncomeCode && p.VATCode == pc.VATCode {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE products SET income_code = ?, vat_code = ? WHERE code = ?`, pc.IncomeCode, pc.VATCode, code); err != nil {
				return fmt.Errorf("set product codes: %w", err)
			}
			if err := tx.Audit(ctx, actor, "product.codes", "product", code,
				fmt.Sprintf("income code %q (was %q), VAT code %q (was %q)", pc.IncomeCode, p.IncomeCode, pc.VATCode, p.VATCode)); err != nil {
				return err
			}
		}
		return nil
	})
}

// FindPriceLists returns every stored price list version, newest year first.
func (s *Service) FindPriceLists(ctx context.Context) ([]*PriceListInfo, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT p.id, p.academic_year, p.version,
			COALESCE(d.academic_year || ' v' || d.version, ''), p.uplift_bp, p.note, p.created_by
		FROM price_lists p LEFT JOIN price_lists d ON d.id = p.derived_from
		ORDER BY p.academic_year DESC, p.version DESC`)
	if err != nil {
		return nil, fmt.Errorf("find price lists: %w", err)
	}
	defer rows.Close()
	var out []*PriceListInfo
	for rows.Next() {
		var pl PriceListInfo
		var year string
		var uplift sql.NullInt64
		if err := rows.Scan(&pl.ID, &year, &pl.Version, &pl.DerivedFrom, &uplift, &pl.Note, &pl.CreatedBy); err != nil {
			return nil, fmt.Errorf("find price lists: %w", err)
		}
		pl.Year, _ = pricing.ParseAcademicYear(year)
		if uplift.Valid {
			u := pricing.Uplift(uplift.Int64)
			pl.Uplift = &u
		}
		out = append(out, &pl)
	}
	return out, rows.Err()
}

// PriceList returns the current (highest) version of the year's price list.
// It returns ENOTFOUND when the year has no list.
func (s *Service) PriceList(ctx context.Context, year pricing.AcademicYear) (*pricing.PriceList, error) {
	var id int64
	err := s.db.Read().QueryRowContext(ctx, `SELECT id FROM price_lists WHERE academic_year = ?
		ORDER BY version DESC LIMIT 1`, year.String()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, traded.Errorf(traded.ENOTFOUND, "There is no price list for %s.", year)
	} else if err != nil {
		return nil, fmt.Errorf("price list %s: %w", year, err)
	}
	return s.loadPriceList(ctx, s.db.Read(), id)
}

func (s *Service) loadPriceList(ctx context.Context, q store.Queryer, id int64) (*pricing.PriceList, error) {
	if pl, ok := s.priceLists.Load(id); ok {
		return pl.(*pricing.PriceList), nil
	}
	pl := &pricing.PriceList{Products: map[string]pricing.Product{}, Prices: map[pricing.PriceKey]pricing.Money{}}
	var year string
	if err := q.QueryRowContext(ctx, `SELECT academic_year, version FROM price_lists WHERE id = ?`, id).Scan(&year, &pl.Version); err != nil {
		return nil, fmt.Errorf("load price list %d: %w", id, err)
	}
	pl.Year, _ = pricing.ParseAcademicYear(year)
	rows, err := q.QueryContext(ctx, `SELECT p.product_code, p.tier, p.rate, p.amount_pence, pr.name, pr.kind
		FROM prices p JOIN products pr ON pr.code = p.product_code WHERE p.price_list_id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("load price list %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var code, tier, rate, name, kind string
		var pence int64
		if err := rows.Scan(&code, &tier, &rate, &pence, &name, &kind); err != nil {
			return nil, fmt.Errorf("load price list %d: %w", id, err)
		}
		pl.Products[code] = pricing.Product{Code: code, Name: name, Kind: pricing.Kind(kind)}
		pl.Prices[pricing.PriceKey{Product: code, Tier: pricing.Tier(tier), Rate: pricing.Rate(rate)}] = pricing.Money(pence)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load price list %d: %w", id, err)
	}
	s.priceLists.Store(id, pl)
	return pl, nil
}

// RollForward copies the current price list of year from to year to, every
// price raised by uplift and rounded to the nearest penny (half a penny
// rounds up; see pricing.Uplift.Apply). It returns ENOTFOUND when from has no
// list and ECONFLICT when to already has one, unless newVersion is set, in
// which case the copy becomes to's next version. Lists already issued against
// are untouched: invoices copy their amounts.
func (s *Service) RollForward(ctx context.Context, actor store.Actor, from, to pricing.AcademicYear, uplift pricing.Uplift, newVersion bool) (*PriceListInfo, error) {
	if to <= from {
		return nil, traded.FieldErrorf("to", "Roll forward to a later year than %s.", from)
	}
	var info *PriceListInfo
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var srcID int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM price_lists WHERE academic_year = ? ORDER BY version DESC LIMIT 1`,
			from.String()).Scan(&srcID)
		if errors.Is(err, sql.ErrNoRows) {
			return traded.Errorf(traded.ENOTFOUND, "There is no price list for %s to roll forward.", from)
		} else if err != nil {
			return fmt.Errorf("roll forward: %w", err)
		}
		src, err := s.loadPriceList(ctx, tx, srcID)
		if err != nil {
			return err
		}
		var existing int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM price_lists WHERE academic_year = ?`,
			to.String()).Scan(&existing); err != nil {
			return fmt.Errorf("roll forward: %w", err)
		}
		if existing > 0 && !newVersion {
			return traded.Errorf(traded.ECONFLICT, "%s already has a price list (version %d); ask for a new version to replace it.", to, existing)
		}
		next := src.RollForward(to, uplift)
		next.Version = existing + 1
		note := fmt.Sprintf("Rolled forward from %s v%d with a %s uplift", from, src.Version, uplift)
		res, err := tx.ExecContext(ctx, `INSERT INTO price_lists (academic_year, version, derived_from, uplift_bp, note, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, to.String(), next.Version, srcID, int64(uplift), note, store.FormatTime(tx.Now), actor.Label())
		if err != nil {
			return fmt.Errorf("roll forward: %w", err)
		}
		id, _ := res.LastInsertId()
		if err := insertPrices(ctx, tx, id, next); err != nil {
			return err
		}
		info = &PriceListInfo{ID: id, Year: to, Version: next.Version, DerivedFrom: fmt.Sprintf("%s v%d", from, src.Version), Uplift: &uplift, Note: note, CreatedBy: actor.Label()}
		return tx.Audit(ctx, actor, "prices.roll_forward", "price_list", fmt.Sprintf("%s v%d", to, next.Version), note)
	})
	if err != nil {
		return nil, err
	}
	return info, nil
}

func insertPrices(ctx context.Context, tx *store.Tx, listID int64, pl *pricing.PriceList) error {
	for _, k := range pl.Keys() {
		if _, err := tx.ExecContext(ctx, `INSERT INTO prices (price_list_id, product_code, tier, rate, amount_pence) VALUES (?, ?, ?, ?, ?)`,
			listID, k.Product, string(k.Tier), string(k.Rate), int64(pl.Prices[k])); err != nil {
			return fmt.Errorf("insert prices: %w", err)
		}
	}
	return nil
}

// QuoteRequest asks for the price of items for one organisation in one year.
type QuoteRequest struct {
	URN          int64
	Year         pricing.AcademicYear
	AsSubscriber *bool // nil: whether the organisation really subscribes that year
	Items        []pricing.Item
}

// Quote prices a request by the year's current price list and the
// organisation's tier. It returns ENOTFOUND for an unknown organisation,
// EINVALID for a year with no price list, an unknown product or a bad number
// of staff.
func (s *Service) Quote(ctx context.Context, req QuoteRequest) (*pricing.Quote, error) {
	org, err := s.Organisations.FindByURN(ctx, req.URN)
	if err != nil {
		return nil, err
	}
	pl, err := s.PriceList(ctx, req.Year)
	if traded.ErrorCode(err) == traded.ENOTFOUND {
		return nil, traded.FieldErrorf("academic_year", "There is no price list for %s.", req.Year)
	} else if err != nil {
		return nil, err
	}
	subscriber := false
	if req.AsSubscriber != nil {
		subscriber = *req.AsSubscriber
	} else if subscriber, err = s.IsSubscriber(ctx, org.ID, req.Year); err != nil {
		return nil, err
	}
	q, err := pl.Quote(org.Tier, subscriber, req.Items)
	if err != nil {
		return nil, fromPricing(err)
	}
	return q, nil
}

// fromPricing turns the tariff's complaints into user-facing invalid input.
func fromPricing(err error) error {
	var pe *pricing.Error
	if errors.As(err, &pe) {
		return traded.FieldErrorf(pe.Field, "%s", upperFirst(pe.Message))
	}
	return err
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// IsSubscriber reports whether the organisation holds an active PSA
// subscription for the year.
func (s *Service) IsSubscriber(ctx context.Context, orgID int64, year pricing.AcademicYear) (bool, error) {
	var n int
	err := s.db.Read().QueryRowContext(ctx, `SELECT count(*) FROM subscriptions
		WHERE organisation_id = ? AND product_code = ? AND academic_year = ? AND status = 'active'`,
		orgID, pricing.PSASubscription, year.String()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("is subscriber: %w", err)
	}
	return n > 0, nil
}
