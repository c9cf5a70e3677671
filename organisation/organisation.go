package organisation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"traded"
	"traded/pricing"
	"traded/store"
)

// Service is the organisations of one database.
type Service struct {
	db    *store.DB
	names names // see FindNamesByIDs
}

// New returns the organisations of db.
func New(db *store.DB) *Service { return &Service{db: db} }

// Organisation is a school or trust that buys from the LA, identified by its
// DfE URN.
type Organisation struct {
	ID                  int64
	URN                 int64
	Kind                string // "school" or "trust"
	Name                string
	LACode              int
	LAName              string
	EstablishmentNumber string
	EstablishmentType   string // GIAS TypeOfEstablishment (name)
	TypeGroup           string // GIAS EstablishmentTypeGroup (name)
	Phase               string
	Status              string // GIAS EstablishmentStatus (name)
	Closed              bool
	Street              string
	Locality            string
	Address3            string
	Town                string
	County              string
	Postcode            string
	District            string // GIAS DistrictAdministrative (name): gives the quadrant

	// DerivedTier is the tier GIAS implies; TierOverride, set by an admin,
	// wins over it. Tier is the one in force.
	DerivedTier  pricing.Tier
	TierOverride pricing.Tier
	Tier         pricing.Tier

	// Billing: a maintained school's cost centre for journal recharges,
	// whether its invoices need a purchase-order number, where they go.
	CostCentre   string
	PORequired   bool
	BillingEmail string

	// Booking: "per_booking" or "monthly" invoices, and whether teachers'
	// bookings wait for the manager's approval.
	BookingInvoices string
	TeacherApproval bool

	CreatedAt time.Time
	UpdatedAt time.Time
}

// AddressLines returns the postal address, one non-empty line each.
func (o *Organisation) AddressLines() []string {
	var lines []string
	for _, l := range []string{o.Street, o.Locality, o.Address3, o.Town, o.County, o.Postcode} {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// TierChange is one entry of an organisation's tier history.
type TierChange struct {
	Tier          pricing.Tier
	EffectiveFrom string // YYYY-MM-DD
	Source        string // gias, admin, demo
	Reason        string
	RecordedAt    time.Time
}

const orgColumns = `id, urn, kind, name, la_code, la_name, establishment_number, establishment_type,
	type_group, phase, status, closed, street, locality, address3, town, county, postcode, district,
	tier, COALESCE(tier_override, ''), cost_centre, po_required, billing_email, booking_invoices, teacher_approval, created_at, updated_at`

func scanOrganisation(row interface{ Scan(...any) error }) (*Organisation, error) {
	var o Organisation
	var tier, override, created, updated string
	err := row.Scan(&o.ID, &o.URN, &o.Kind, &o.Name, &o.LACode, &o.LAName, &o.EstablishmentNumber,
		&o.EstablishmentType, &o.TypeGroup, &o.Phase, &o.Status, &o.Closed, &o.Street, &o.Locality,
		&o.Address3, &o.Town, &o.County, &o.Postcode, &o.District, &tier, &override, &o.CostCentre, &o.PORequired,
		&o.BillingEmail, &o.BookingInvoices, &o.TeacherApproval, &created, &updated)
	if err != nil {
		return nil, err
	}
	o.DerivedTier, o.TierOverride = pricing.Tier(tier), pricing.Tier(override)
	o.Tier = o.DerivedTier
	if o.TierOverride != "" {
		o.Tier = o.TierOverride
	}
	o.CreatedAt, o.UpdatedAt = store.MustTime(created), store.MustTime(updated)
	return &o, nil
}

// ParseURN reads a URN as users type it. It returns EINVALID for anything
// that is not a positive whole number.
func ParseURN(s string) (int64, error) {
	urn, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || urn <= 0 || urn > 99_999_999 {
		return 0, traded.FieldErrorf("organisation", "%q is not a URN: a URN is the school's 6-digit DfE number", s)
	}
	return urn, nil
}

// FindByURN returns the organisation with the URN, with the
// tier in force today, or ENOTFOUND.
func (s *Service) FindByURN(ctx context.Context, urn int64) (*Organisation, error) {
	return findOrganisationOn(ctx, s.db.Read(), `urn = ?`, urn, Today(s.db.Clock.Now()))
}

// ByIDTx returns the organisation with the id as tx sees it,
// with the tier in force on tx's day, or ENOTFOUND. Billing uses it inside
// its own transactions.
//
// It reads from the writer's cache while organisations are unchanged (a
// booking reads its school in booking and again in billing), and returns a
// copy the caller may change.
func (s *Service) ByIDTx(ctx context.Context, tx *store.Tx, id int64) (*Organisation, error) {
	day := Today(tx.Now)
	return cachedOrganisation(tx, "organisation "+strconv.FormatInt(id, 10)+" "+day, func() (*Organisation, error) {
		return findOrganisationOn(ctx, tx, `id = ?`, id, day)
	})
}

// ByURNTx is ByIDTx by URN.
func (s *Service) ByURNTx(ctx context.Context, tx *store.Tx, urn int64) (*Organisation, error) {
	day := Today(tx.Now)
	return cachedOrganisation(tx, "organisation URN "+strconv.FormatInt(urn, 10)+" "+day, func() (*Organisation, error) {
		return findOrganisationOn(ctx, tx, `urn = ?`, urn, day)
	})
}

func cachedOrganisation(tx *store.Tx, key string, load func() (*Organisation, error)) (*Organisation, error) {
	v, err := tx.Cached(key, []string{"organisations", "organisation_tiers"}, func() (any, error) { return load() })
	if err != nil {
		return nil, err
	}
	o := *v.(*Organisation)
	return &o, nil
}

// findOrganisationOn is findOrganisation with Tier set to the tier in force
// on day (YYYY-MM-DD): the latest entry of the tier history effective on or
// before it (ties: the latest recorded), the first entry (the school as
// first loaded) holding from the start. So a GIAS change imported with a
// future --effective date changes no price before that date. An admin's
// override is in force from the day it was entered. An organisation with no
// history keeps the tier it has.
func findOrganisationOn(ctx context.Context, q store.Queryer, where string, arg any, day string) (*Organisation, error) {
	o, err := findOrganisation(ctx, q, where, arg)
	if err != nil {
		return nil, err
	}
	if err := tierOn(ctx, q, o, day); err != nil {
		return nil, err
	}
	return o, nil
}

func tierOn(ctx context.Context, q store.Queryer, o *Organisation, day string) error {
	var tier string
	// The first entry (the school as first loaded) holds from the start.
	err := q.QueryRowContext(ctx, `SELECT tier FROM organisation_tiers t WHERE organisation_id = ?1
			AND (effective_from <= ?2 OR id = (SELECT min(id) FROM organisation_tiers WHERE organisation_id = ?1))
		ORDER BY CASE WHEN id = (SELECT min(id) FROM organisation_tiers WHERE organisation_id = ?1) THEN '' ELSE effective_from END DESC, id DESC
		LIMIT 1`, o.ID, day).Scan(&tier)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("tier in force: %w", err)
	}
	o.Tier = pricing.Tier(tier)
	return nil
}

// SetBillingDetails sets an organisation's cost centre (for journal
// recharges), whether it needs a PO number, and its invoice email. It
// returns ENOTFOUND for an unknown URN and EINVALID for a bad email.
func (s *Service) SetBillingDetails(ctx context.Context, actor store.Actor, urn int64, costCentre string, poRequired bool, billingEmail string) error {
	costCentre, billingEmail = strings.TrimSpace(costCentre), strings.TrimSpace(billingEmail)
	if len(costCentre) > 40 {
		return traded.FieldErrorf("cost_centre", "A cost centre has at most 40 characters.")
	}
	if billingEmail != "" && (!strings.Contains(billingEmail, "@") || strings.ContainsAny(billingEmail, " ,;<>")) {
		return traded.FieldErrorf("billing_email", "Enter an email address in the correct format, like finance@school.sch.uk.")
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		o, err := findOrganisation(ctx, tx, `urn = ?`, urn)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE organisations SET cost_centre = ?, po_required = ?, billing_email = ?, updated_at = ? WHERE id = ?`,
			costCentre, poRequired, billingEmail, store.FormatTime(tx.Now), o.ID); err != nil {
			return fmt.Errorf("set billing details: %w", err)
		}
		return tx.Audit(ctx, actor, "organisation.billing", "organisation", strconv.FormatInt(urn, 10),
			fmt.Sprintf("cost centre %q, PO required %t, invoices to %q", costCentre, poRequired, billingEmail))
	})
}

// FindByID returns the organisation with the id, with the tier
// in force today, or ENOTFOUND.
func (s *Service) FindByID(ctx context.Context, id int64) (*Organisation, error) {
	return findOrganisationOn(ctx, s.db.Read(), `id = ?`, id, Today(s.db.Clock.Now()))
}

func findOrganisation(ctx context.Context, q store.Queryer, where string, arg any) (*Organisation, error) {
	o, err := scanOrganisation(q.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organisations WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, traded.Errorf(traded.ENOTFOUND, "There is no organisation with URN %v.", arg)
	} else if err != nil {
		return nil, fmt.Errorf("find organisation: %w", err)
	}
	return o, nil
}

// Filter selects organisations. Nil fields do not filter.
type Filter struct {
	Tier     *pricing.Tier
	NameLike *string // case-insensitive substring of the name, or the URN
	OpenOnly bool
	Offset   int
	Limit    int // 0 means 50
}

// Find returns the organisations matching f, by name, and how
// many match in all.
func (s *Service) Find(ctx context.Context, f Filter) ([]*Organisation, int, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.Tier != nil {
		where = append(where, "COALESCE(tier_override, tier) = ?")
		args = append(args, string(*f.Tier))
	}
	if f.NameLike != nil && strings.TrimSpace(*f.NameLike) != "" {
		q := strings.TrimSpace(*f.NameLike)
		where = append(where, "(name LIKE ? ESCAPE '\\' OR CAST(urn AS TEXT) = ?)")
		args = append(args, "%"+store.EscapeLike(q)+"%", q)
	}
	if f.OpenOnly {
		where = append(where, "closed = 0")
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := s.db.Read().QueryRowContext(ctx, `SELECT count(*) FROM organisations WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count organisations: %w", err)
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+orgColumns+` FROM organisations WHERE `+cond+
		` ORDER BY name, urn LIMIT ? OFFSET ?`, append(args, limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("find organisations: %w", err)
	}
	defer rows.Close()
	var out []*Organisation
	for rows.Next() {
		o, err := scanOrganisation(rows)
		if err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("find organisations: %w", err)
		}
		out = append(out, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	day := Today(s.db.Clock.Now())
	for _, o := range out {
		if err := tierOn(ctx, s.db.Read(), o, day); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

// TierHistory returns an organisation's tiers, oldest first.
func (s *Service) TierHistory(ctx context.Context, orgID int64) ([]TierChange, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT tier, effective_from, source, reason, recorded_at
		FROM organisation_tiers WHERE organisation_id = ? ORDER BY effective_from, id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("tier history: %w", err)
	}
	defer rows.Close()
	var out []TierChange
	for rows.Next() {
		var c TierChange
		var tier, recorded string
		if err := rows.Scan(&tier, &c.EffectiveFrom, &c.Source, &c.Reason, &recorded); err != nil {
			return nil, fmt.Errorf("tier history: %w", err)
		}
		c.Tier, c.RecordedAt = pricing.Tier(tier), store.MustTime(recorded)
		out = append(out, c)
	}
	return out, rows.Err()
}

// SetTierOverride makes tier the organisation's tier whatever GIAS says, from
// today, or clears the override when tier is "". It returns ENOTFOUND for an
// unknown URN and EINVALID for a blank reason.
func (s *Service) SetTierOverride(ctx context.Context, actor store.Actor, urn int64, tier pricing.Tier, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return traded.FieldErrorf("reason", "Give a reason for changing the tier.")
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		o, err := findOrganisation(ctx, tx, `urn = ?`, urn)
		if err != nil {
			return err
		}
		var override any
		effective := o.DerivedTier
		if tier != "" {
			override, effective = string(tier), tier
		}
		if _, err := tx.ExecContext(ctx, `UPDATE organisations SET tier_override = ?, updated_at = ? WHERE id = ?`,
			override, store.FormatTime(tx.Now), o.ID); err != nil {
			return fmt.Errorf("set tier: %w", err)
		}
		if effective != o.Tier {
			if err := recordTier(ctx, tx, o.ID, effective, Today(tx.Now), "admin", reason); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, actor, "organisation.tier_override", "organisation", strconv.FormatInt(urn, 10),
			fmt.Sprintf("tier %s -> %s (override %q): %s", o.Tier, effective, tier, reason))
	})
}

// Today is the date in London at now (YYYY-MM-DD): the day whose tier is in
// force.
func Today(now time.Time) string { return now.In(traded.London).Format(store.DateFormat) }

func recordTier(ctx context.Context, tx *store.Tx, orgID int64, tier pricing.Tier, from, source, reason string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO organisation_tiers (organisation_id, tier, effective_from, source, reason, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?)`, orgID, string(tier), from, source, reason, store.FormatTime(tx.Now))
	if err != nil {
		return fmt.Errorf("record tier: %w", err)
	}
	return nil
}

// UpsertResult says what upsertOrganisation did.
type UpsertResult int

// What an upsert can do.
const (
	Unchanged UpsertResult = iota
	Created
	Updated
)

// upsertOrganisation creates o, or brings the organisation with o's URN up to
// date with it. A change of derived tier is recorded in the tier history from
// effectiveFrom (YYYY-MM-DD); the old tier stays there. An admin's override
// is kept.
func upsertOrganisation(ctx context.Context, tx *store.Tx, o *Organisation, effectiveFrom, source string) (UpsertResult, error) {
	old, err := findOrganisation(ctx, tx, `urn = ?`, o.URN)
	if err != nil && traded.ErrorCode(err) != traded.ENOTFOUND {
		return Unchanged, err
	}
	now := store.FormatTime(tx.Now)
	if old == nil {
		if o.Kind == "" {
			o.Kind = "school"
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO organisations (urn, kind, name, la_code, la_name, establishment_number,
			establishment_type, type_group, phase, status, closed, street, locality, address3, town, county, postcode,
			district, tier, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			o.URN, o.Kind, o.Name, o.LACode, o.LAName, o.EstablishmentNumber, o.EstablishmentType, o.TypeGroup,
			o.Phase, o.Status, o.Closed, o.Street, o.Locality, o.Address3, o.Town, o.County, o.Postcode, o.District,
			string(o.DerivedTier), now, now)
		if err != nil {
			return Unchanged, fmt.Errorf("create organisation %d: %w", o.URN, err)
		}
		o.ID, _ = res.LastInsertId()
		if err := recordTier(ctx, tx, o.ID, o.DerivedTier, effectiveFrom, source, "first loaded"); err != nil {
			return Unchanged, err
		}
		return Created, nil
	}
	o.ID = old.ID
	if o.Kind == "" {
		o.Kind = old.Kind
	}
	if sameOrganisation(old, o) {
		return Unchanged, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE organisations SET kind = ?, name = ?, la_code = ?, la_name = ?,
		establishment_number = ?, establishment_type = ?, type_group = ?, phase = ?, status = ?, closed = ?,
		street = ?, locality = ?, address3 = ?, town = ?, county = ?, postcode = ?, district = ?, tier = ?,
		updated_at = ? WHERE id = ?`,
		o.Kind, o.Name, o.LACode, o.LAName, o.EstablishmentNumber, o.EstablishmentType, o.TypeGroup, o.Phase,
		o.Status, o.Closed, o.Street, o.Locality, o.Address3, o.Town, o.County, o.Postcode, o.District,
		string(o.DerivedTier), now, old.ID); err != nil {
		return Unchanged, fmt.Errorf("update organisation %d: %w", o.URN, err)
	}
	if o.DerivedTier != old.DerivedTier && old.TierOverride == "" {
		reason := fmt.Sprintf("GIAS: %s, was %s", o.EstablishmentType, old.EstablishmentType)
		if err := recordTier(ctx, tx, old.ID, o.DerivedTier, effectiveFrom, source, reason); err != nil {
			return Unchanged, err
		}
	}
	return Updated, nil
}

func sameOrganisation(a, b *Organisation) bool {
	return a.Kind == b.Kind && a.Name == b.Name && a.LACode == b.LACode && a.LAName == b.LAName &&
		a.EstablishmentNumber == b.EstablishmentNumber && a.EstablishmentType == b.EstablishmentType &&
		a.TypeGroup == b.TypeGroup && a.Phase == b.Phase && a.Status == b.Status && a.Closed == b.Closed &&
		a.Street == b.Street && a.Locality == b.Locality && a.Address3 == b.Address3 && a.Town == b.Town &&
		a.County == b.County && a.Postcode == b.Postcode && a.District == b.District && a.DerivedTier == b.DerivedTier
}

// Upsert creates or updates organisations by URN, deriving each
// one's tier from its LA code and type (DeriveTier), in one transaction. It
// is for admin tools and demo data; GIAS files go through ImportSchools.
func (s *Service) Upsert(ctx context.Context, actor store.Actor, orgs []Organisation, source string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		changed := 0
		for i := range orgs {
			o := orgs[i]
			o.DerivedTier = DeriveTier(o.LACode, o.EstablishmentType)
			if o.Status == "" {
				o.Status = "Open"
			}
			res, err := upsertOrganisation(ctx, tx, &o, Today(tx.Now), source)
			if err != nil {
				return err
			}
			if res != Unchanged {
				changed++
			}
		}
		if changed == 0 {
			return nil
		}
		return tx.Audit(ctx, actor, "organisations.upsert", "organisation", "", fmt.Sprintf("%d organisations created or updated", changed))
	})
}

// SetBookingSettings sets how a school's bookings are invoiced ("per_booking"
// or "monthly") and whether teachers need approval. It returns EINVALID for
// a bad invoicing choice and ENOTFOUND for an unknown organisation.
func (s *Service) SetBookingSettings(ctx context.Context, actor store.Actor, orgID int64, invoices string, teacherApproval bool) error {
	if invoices != "per_booking" && invoices != "monthly" {
		return traded.FieldErrorf("booking_invoices", "Choose one invoice per booking, or one a month.")
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		o, err := findOrganisation(ctx, tx, `id = ?`, orgID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE organisations SET booking_invoices = ?, teacher_approval = ?, updated_at = ? WHERE id = ?`,
			invoices, teacherApproval, store.FormatTime(tx.Now), orgID); err != nil {
			return fmt.Errorf("booking settings: %w", err)
		}
		return tx.Audit(ctx, actor, "organisation.booking_settings", "organisation", strconv.FormatInt(o.URN, 10),
			fmt.Sprintf("invoices %s, teacher approval %t", invoices, teacherApproval))
	})
}

// FindByIDs returns the organisations with the ids, by id, with the tier
// in force today: for a list or report of another domain that names the
// school of each of its rows, in one query for the whole list rather than
// a join of this package's table. Unknown ids are left out.
func (s *Service) FindByIDs(ctx context.Context, ids []int64) (map[int64]*Organisation, error) {
	return findByIDs(ctx, s.db.Read(), ids, Today(s.db.Clock.Now()))
}

// FindByIDsOn is FindByIDs read through q: the readers, or the caller's
// transaction (then with the tier in force on its day), for a domain that
// names schools in a list it read either way.
func (s *Service) FindByIDsOn(ctx context.Context, q store.Queryer, ids []int64) (map[int64]*Organisation, error) {
	day := Today(s.db.Clock.Now())
	if tx, ok := q.(*store.Tx); ok {
		day = Today(tx.Now)
	}
	return findByIDs(ctx, q, ids, day)
}

func findByIDs(ctx context.Context, q store.Queryer, ids []int64, day string) (map[int64]*Organisation, error) {
	out := make(map[int64]*Organisation, len(ids))
	for start := 0; start < len(ids); start += 500 { // within SQLite's bound on parameters
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := q.QueryContext(ctx, `SELECT `+orgColumns+` FROM organisations WHERE id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("find organisations: %w", err)
		}
		for rows.Next() {
			o, err := scanOrganisation(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("find organisations: %w", err)
			}
			out[o.ID] = o
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if err := tiersOn(ctx, q, out, day); err != nil {
		return nil, err
	}
	return out, nil
}

// tiersOn is tierOn for many organisations in one query per 500: each gets
// the latest entry of its tier history effective on or before day (ties:
// the latest recorded), its first entry holding from the start; one with
// no history keeps the tier it has.
func tiersOn(ctx context.Context, q store.Queryer, orgs map[int64]*Organisation, day string) error {
	ids := make([]int64, 0, len(orgs))
	for id := range orgs {
		ids = append(ids, id)
	}
	type best struct {
		key  string // "" for the first entry, else its effective date
		id   int64
		tier string
	}
	chosen := map[int64]best{}
	first := map[int64]bool{}
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := q.QueryContext(ctx, `SELECT organisation_id, id, tier, effective_from FROM organisation_tiers
			WHERE organisation_id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`) ORDER BY organisation_id, id`, args...)
		if err != nil {
			return fmt.Errorf("tiers in force: %w", err)
		}
		for rows.Next() {
			var org, id int64
			var tier, from string
			if err := rows.Scan(&org, &id, &tier, &from); err != nil {
				rows.Close()
				return fmt.Errorf("tiers in force: %w", err)
			}
			key := from
			if !first[org] { // rows come in id order: the first is the school as first loaded
				first[org], key = true, ""
			} else if from > day {
				continue
			}
			if b, ok := chosen[org]; !ok || key > b.key || key == b.key && id > b.id {
				chosen[org] = best{key: key, id: id, tier: tier}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for id, b := range chosen {
		orgs[id].Tier = pricing.Tier(b.tier)
	}
	return nil
}

// Name is how another domain names an organisation beside its own rows
// (the school of a signed-in user, of each user in a list): its URN and
// name.
type Name struct {
	URN  int64
	Name string
}

// maxNames bounds the copy of names FindNamesByIDs keeps; past it, the
// copy starts again empty.
const maxNames = 10000

// names is the copy of organisations' names that FindNamesByIDs keeps
// while the organisations table is unchanged: it is read on every signed-in
// request, and schools are renamed a few times a year.
type names struct {
	mu    sync.RWMutex
	stamp uint64 // db.Version of organisations when byID was read
	byID  map[int64]Name
}

// FindNamesByIDs returns the URN and name of the organisations with the
// ids, by id, as readers see them: for a domain that names the school of
// each of its rows without joining this package's table. It answers from a
// copy kept until a committed change to organisations (a change by
// another process on the file is noticed within a second, see
// store.DB.Version), so the lookup made on every signed-in request costs no
// query. Unknown ids are left out.
func (s *Service) FindNamesByIDs(ctx context.Context, ids []int64) (map[int64]Name, error) {
	stamp := s.db.Version(ctx, "organisations") // before the rows: see store.DB.Version
	out := make(map[int64]Name, len(ids))
	var missing []int64
	s.names.mu.RLock()
	fresh := s.names.stamp == stamp
	for _, id := range ids {
		if n, ok := s.names.byID[id]; ok && fresh {
			out[id] = n
		} else {
			missing = append(missing, id)
		}
	}
	s.names.mu.RUnlock()
	if len(missing) == 0 {
		return out, nil
	}
	found, err := findNames(ctx, s.db.Read(), missing)
	if err != nil {
		return nil, err
	}
	s.names.mu.Lock()
	if stamp > s.names.stamp || s.names.byID == nil || len(s.names.byID) >= maxNames {
		s.names.stamp, s.names.byID = stamp, make(map[int64]Name, len(found))
	}
	for id, n := range found {
		out[id] = n
		if stamp == s.names.stamp {
			s.names.byID[id] = n
		}
	}
	s.names.mu.Unlock()
	return out, nil
}

// FindNameByID is FindNamesByIDs for one id, without the map: the lookup
// made on every signed-in request. ok is false for an unknown id.
func (s *Service) FindNameByID(ctx context.Context, id int64) (n Name, ok bool, err error) {
	stamp := s.db.Version(ctx, "organisations")
	s.names.mu.RLock()
	if s.names.stamp == stamp {
		n, ok = s.names.byID[id]
	}
	s.names.mu.RUnlock()
	if ok {
		return n, true, nil
	}
	names, err := s.FindNamesByIDs(ctx, []int64{id})
	n, ok = names[id]
	return n, ok, err
}

// FindNamesByIDsTx is FindNamesByIDs as tx sees it, from the writer's
// cache while organisations are unchanged (see store.Tx.Cached).
func (s *Service) FindNamesByIDsTx(ctx context.Context, tx *store.Tx, ids []int64) (map[int64]Name, error) {
	out := make(map[int64]Name, len(ids))
	for _, id := range ids {
		if _, ok := out[id]; ok {
			continue
		}
		v, err := tx.Cached("organisation name "+strconv.FormatInt(id, 10), []string{"organisations"}, func() (any, error) {
			found, err := findNames(ctx, tx, []int64{id})
			if n, ok := found[id]; ok {
				return &n, err
			}
			return (*Name)(nil), err // unknown, until organisations change
		})
		if err != nil {
			return nil, err
		}
		if n := v.(*Name); n != nil {
			out[id] = *n
		}
	}
	return out, nil
}

func findNames(ctx context.Context, q store.Queryer, ids []int64) (map[int64]Name, error) {
	out := make(map[int64]Name, len(ids))
	for start := 0; start < len(ids); start += 500 { // within SQLite's bound on parameters
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := q.QueryContext(ctx, `SELECT id, urn, name FROM organisations WHERE id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("find organisation names: %w", err)
		}
		for rows.Next() {
			var id int64
			var n Name
			if err := rows.Scan(&id, &n.URN, &n.Name); err != nil {
				rows.Close()
				return nil, fmt.Errorf("find organisation names: %w", err)
			}
			out[id] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FindIDsByName returns the ids of the organisations whose name contains
// text (case-insensitively, as SQL's LIKE compares), in id order: for a
// search of another domain's list by its schools' names today. Empty text
// matches none.
func (s *Service) FindIDsByName(ctx context.Context, text string) ([]int64, error) {
	text = strings.TrimSpace(text)
	ids := []int64{}
	if text == "" {
		return ids, nil
	}
	rows, err := s.db.Read().QueryContext(ctx, `SELECT id FROM organisations WHERE name LIKE ? ESCAPE '\' ORDER BY id`,
		"%"+strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(text)+"%")
	if err != nil {
		return nil, fmt.Errorf("find organisations by name: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("find organisations by name: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// FindByIDsAsStored is FindByIDs without the tier history: each
// organisation's Tier is the one its record holds (an admin's override,
// else GIAS's), so a whole list takes one query however many schools it
// names. For lists and reports that show a school's name, URN, district or
// cost centre, not the tier it is priced at on a day.
func (s *Service) FindByIDsAsStored(ctx context.Context, ids []int64) (map[int64]*Organisation, error) {
	return findByIDsAsStored(ctx, s.db.Read(), ids)
}

// FindByIDsAsStoredTx is FindByIDsAsStored as tx sees it.
func (s *Service) FindByIDsAsStoredTx(ctx context.Context, tx *store.Tx, ids []int64) (map[int64]*Organisation, error) {
	return findByIDsAsStored(ctx, tx, ids)
}

func findByIDsAsStored(ctx context.Context, q store.Queryer, ids []int64) (map[int64]*Organisation, error) {
	out := make(map[int64]*Organisation, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	list := make([]string, len(ids))
	for i, id := range ids {
		list[i] = strconv.FormatInt(id, 10)
	}
	rows, err := q.QueryContext(ctx, `SELECT `+orgColumns+` FROM organisations WHERE id IN (SELECT value FROM json_each(?))`,
		"["+strings.Join(list, ",")+"]")
	if err != nil {
		return nil, fmt.Errorf("find organisations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scanOrganisation(rows)
		if err != nil {
			return nil, fmt.Errorf("find organisations: %w", err)
		}
		out[o.ID] = o
	}
	return out, rows.Err()
}
