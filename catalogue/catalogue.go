package catalogue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"traded"
	"traded/pricing"
	"traded/store"
)

// Service is the catalogue of one database.
type Service struct {
	db *store.DB

	// priceLists caches loaded lists by id. A stored list never changes (the
	// prices table refuses updates), so a loaded one is good for ever.
	priceLists sync.Map // int64 -> *pricing.PriceList

	// holidays is the bank holidays last read from their tables (see Holidays).
	holidays atomic.Pointer[holidaySnapshot]
}

// New returns the catalogue of db.
func New(db *store.DB) *Service { return &Service{db: db} }

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
	return queryProducts(ctx, s.db.Read(), `active = 1 ORDER BY sort, code`)
}

// queryProducts returns the products a condition (and order) selects,
// read through q.
func queryProducts(ctx context.Context, q store.Queryer, cond string, args ...any) ([]*Product, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+productColumns+` FROM products WHERE `+cond, args...)
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
	return s.LoadPriceList(ctx, s.db.Read(), id)
}

// CurrentListID is the id of the year's current price list as q sees it:
// inside a transaction (q a *store.Tx, for a booking priced as it commits),
// from the writer's cache while price lists are unchanged. It returns
// EINVALID when the year has no list: its sessions cannot be booked yet.
func (s *Service) CurrentListID(ctx context.Context, q store.Queryer, year pricing.AcademicYear) (int64, error) {
	tx, ok := q.(*store.Tx)
	if !ok {
		return queryCurrentListID(ctx, q, year)
	}
	v, err := tx.Cached("current price list "+year.String(), []string{"price_lists"}, func() (any, error) {
		return queryCurrentListID(ctx, tx, year)
	})
	if err != nil {
		return 0, err
	}
	return v.(int64), nil
}

func queryCurrentListID(ctx context.Context, q store.Queryer, year pricing.AcademicYear) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM price_lists WHERE academic_year = ? ORDER BY version DESC LIMIT 1`, year.String()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, traded.Errorf(traded.EINVALID, "Sessions in %s cannot be booked yet: there is no price list for that year.", year)
	} else if err != nil {
		return 0, fmt.Errorf("price list: %w", err)
	}
	return id, nil
}

// CurrentListTx is the year's current price list as tx sees it (see
// CurrentListID).
func (s *Service) CurrentListTx(ctx context.Context, tx *store.Tx, year pricing.AcademicYear) (*pricing.PriceList, error) {
	id, err := s.CurrentListID(ctx, tx, year)
	if err != nil {
		return nil, err
	}
	return s.LoadPriceList(ctx, tx, id)
}

// LoadPriceList returns the stored price list with the id, read through q
// (the reader pool, or the caller's transaction) the first time and from
// memory after: a stored list never changes.
func (s *Service) LoadPriceList(ctx context.Context, q store.Queryer, id int64) (*pricing.PriceList, error) {
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
		src, err := s.LoadPriceList(ctx, tx, srcID)
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

// ConsultancyRate is one service's day and half-day rate at one tier.
type ConsultancyRate struct {
	Product string
	Tier    pricing.Tier
	Day     pricing.Money
	HalfDay pricing.Money
}

// SetConsultancyRates sets day and half-day rates for a year: a new
// version of the year's price list with every other price copied, so
// nothing already quoted or issued changes. It returns EINVALID for an
// unknown service, a half-day rate above the day rate, or a year with no
// list, and ENOTFOUND is never returned.
func (s *Service) SetConsultancyRates(ctx context.Context, actor store.Actor, year pricing.AcademicYear, rates []ConsultancyRate) error {
	if len(rates) == 0 {
		return traded.FieldErrorf("rates", "Give at least one rate.")
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		var srcID int64
		var version int
		err := tx.QueryRowContext(ctx, `SELECT id, version FROM price_lists WHERE academic_year = ? ORDER BY version DESC LIMIT 1`, year.String()).Scan(&srcID, &version)
		if errors.Is(err, sql.ErrNoRows) {
			return traded.FieldErrorf("year", "There is no price list for %s: roll one forward first.", year)
		} else if err != nil {
			return fmt.Errorf("set rates: %w", err)
		}
		src, err := s.LoadPriceList(ctx, tx, srcID)
		if err != nil {
			return err
		}
		next := &pricing.PriceList{Year: year, Version: version + 1, Products: src.Products, Prices: map[pricing.PriceKey]pricing.Money{}}
		for k, m := range src.Prices {
			next.Prices[k] = m
		}
		var detail []string
		for _, r := range rates {
			var kind string
			if err := tx.QueryRowContext(ctx, `SELECT kind FROM products WHERE code = ?`, r.Product).Scan(&kind); err != nil || kind != string(pricing.KindConsultancy) {
				return traded.FieldErrorf("service", "There is no consultancy service %q.", r.Product)
			}
			if _, err := pricing.ParseTier(string(r.Tier)); err != nil {
				return traded.FieldErrorf("tier", "Choose a tier: maintained, academy or external.")
			}
			if r.Day <= 0 || r.HalfDay <= 0 || r.HalfDay > r.Day {
				return traded.FieldErrorf("rates", "Rates must be more than £0, and a half day cost no more than a day.")
			}
			next.Prices[pricing.Key(r.Product, r.Tier, pricing.RateDay)] = r.Day
			next.Prices[pricing.Key(r.Product, r.Tier, pricing.RateHalfDay)] = r.HalfDay
			detail = append(detail, fmt.Sprintf("%s %s: day %s, half day %s", r.Product, r.Tier, r.Day, r.HalfDay))
		}
		note := "Consultancy rates set"
		res, err := tx.ExecContext(ctx, `INSERT INTO price_lists (academic_year, version, derived_from, note, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?)`, year.String(), next.Version, srcID, note, store.FormatTime(tx.Now), actor.Label())
		if err != nil {
			return fmt.Errorf("set rates: %w", err)
		}
		id, _ := res.LastInsertId()
		if err := insertPrices(ctx, tx, id, next); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "prices.consultancy_rates", "price_list", fmt.Sprintf("%s v%d", year, next.Version), strings.Join(detail, "; "))
	})
}

// FindProductsByCodes returns the products (active or not) with the codes,
// by code: for a list of another domain that names the product of each of
// its rows, in one query for the whole list rather than a join of this
// package's table. Unknown codes are left out.
func (s *Service) FindProductsByCodes(ctx context.Context, codes []string) (map[string]*Product, error) {
	return findProductsByCodes(ctx, s.db.Read(), codes)
}

// FindProductsByCodesOn is FindProductsByCodes read through q: the
// readers, or the caller's transaction.
func (s *Service) FindProductsByCodesOn(ctx context.Context, q store.Queryer, codes []string) (map[string]*Product, error) {
	return findProductsByCodes(ctx, q, codes)
}

func findProductsByCodes(ctx context.Context, q store.Queryer, codes []string) (map[string]*Product, error) {
	out := make(map[string]*Product, len(codes))
	for start := 0; start < len(codes); start += 500 { // within SQLite's bound on parameters
		chunk := codes[start:min(start+500, len(codes))]
		args := make([]any, len(chunk))
		for i, c := range chunk {
			args[i] = c
		}
		ps, err := queryProducts(ctx, q, `code IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			out[p.Code] = p
		}
	}
	return out, nil
}

// FindActiveProductTx returns a product still on sale as tx sees it, or
// EINVALID naming a code that is unknown or withdrawn: for another domain
// taking an order for it inside its own transaction.
func (s *Service) FindActiveProductTx(ctx context.Context, tx *store.Tx, code string) (*Product, error) {
	var p Product
	var kind string
	err := tx.QueryRowContext(ctx, `SELECT `+productColumns+` FROM products WHERE code = ? AND active = 1`, code).Scan(
		&p.Code, &p.Name, &p.Description, &kind, &p.VATTreatment, &p.VATRateBP, &p.VATNote, &p.IncomeCode, &p.VATCode)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, traded.FieldErrorf("product", "There is no product %q on sale.", code)
	} else if err != nil {
		return nil, fmt.Errorf("find product: %w", err)
	}
	p.Kind = pricing.Kind(kind)
	return &p, nil
}

// FindAllProducts returns every product, active or not, in catalogue order
// (then by name): for billing's reports, which name the products of
// invoices issued while they were sold.
func (s *Service) FindAllProducts(ctx context.Context) ([]*Product, error) {
	return queryProducts(ctx, s.db.Read(), `1 = 1 ORDER BY sort, name`)
}

// SessionYears returns, read through q, the academic year (as stored,
// "2024/25") of each session of ids, by id, in one query: for another
// domain's list that needs the year of each row's session. Unknown ids are
// left out.
func SessionYears(ctx context.Context, q store.Queryer, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	list := make([]string, len(ids))
	for i, id := range ids {
		list[i] = strconv.FormatInt(id, 10)
	}
	rows, err := q.QueryContext(ctx, `SELECT id, academic_year FROM sessions WHERE id IN (SELECT value FROM json_each(?))`,
		"["+strings.Join(list, ",")+"]")
	if err != nil {
		return nil, fmt.Errorf("session years: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var year string
		if err := rows.Scan(&id, &year); err != nil {
			return nil, fmt.Errorf("session years: %w", err)
		}
		out[id] = year
	}
	return out, rows.Err()
}
