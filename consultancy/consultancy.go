package consultancy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"traded"
	"traded/account"
	"traded/calendar"
	"traded/catalogue"
	"traded/pricing"
	"traded/store"
)

// Request statuses.
const (
	StatusRequested = "requested"
	StatusQuoted    = "quoted"
	StatusAccepted  = "accepted" // an engagement
	StatusDeclined  = "declined"
	StatusWithdrawn = "withdrawn"
	StatusCompleted = "completed"
	StatusCancelled = "cancelled"
)

// Quadrants are the LA's four areas, by district.
var Quadrants = map[string]string{
	"Colchester": "North East", "Tendring": "North East",
	"Braintree": "Mid", "Chelmsford": "Mid", "Maldon": "Mid",
	"Basildon": "South", "Brentwood": "South", "Castle Point": "South", "Rochford": "South",
	"Epping Forest": "West", "Harlow": "West", "Uttlesford": "West",
}

// Quadrant returns the LA quadrant of a district, or "Outside Essex".
func Quadrant(district string) string {
	if q, ok := Quadrants[strings.TrimSpace(district)]; ok {
		return q
	}
	return "Outside Essex"
}

// Offering is a traded school-improvement service with its rates for a
// year: a row of consultancy_services with its product.
type Offering struct {
	Code            string
	Name            string
	Description     string
	TypicalHalfDays int
	VATTreatment    string
	VATRateBP       int64
	// Rates per tier: day and half-day, when the year's list has them.
	Day     map[pricing.Tier]pricing.Money
	HalfDay map[pricing.Tier]pricing.Money
}

// FindOfferings returns the services on offer with their rates in the
// year's current price list (missing rates, or a year with no list, leave
// the maps empty).
func (s *Service) FindOfferings(ctx context.Context, year pricing.AcademicYear) ([]*Offering, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT product_code, typical_half_days FROM consultancy_services`)
	if err != nil {
		return nil, fmt.Errorf("consultancy services: %w", err)
	}
	halfDays := map[string]int{}
	for rows.Next() {
		var code string
		var n int
		if err := rows.Scan(&code, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("consultancy services: %w", err)
		}
		halfDays[code] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("consultancy services: %w", err)
	}
	// The services are the active products with a row here, in the
	// catalogue's order.
	products, err := s.Catalogue.FindProducts(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Offering
	for _, p := range products {
		n, ok := halfDays[p.Code]
		if !ok {
			continue
		}
		out = append(out, &Offering{Code: p.Code, Name: p.Name, Description: p.Description, TypicalHalfDays: n,
			VATTreatment: p.VATTreatment, VATRateBP: p.VATRateBP, Day: map[pricing.Tier]pricing.Money{}, HalfDay: map[pricing.Tier]pricing.Money{}})
	}
	pl, err := s.Catalogue.PriceList(ctx, year)
	if traded.ErrorCode(err) == traded.ENOTFOUND {
		return out, nil
	} else if err != nil {
		return nil, err
	}
	for _, cs := range out {
		for _, t := range pricing.Tiers {
			if m, err := pl.Price(cs.Code, t, pricing.RateDay); err == nil {
				cs.Day[t] = m
			}
			if m, err := pl.Price(cs.Code, t, pricing.RateHalfDay); err == nil {
				cs.HalfDay[t] = m
			}
		}
	}
	return out, nil
}

// Fee is the price of half days of a service: whole days at the day rate
// and an odd half at the half-day rate.
func Fee(halfDays int, day, half pricing.Money) pricing.Money {
	return day*pricing.Money(halfDays/2) + half*pricing.Money(halfDays%2)
}

// halfDaysOf is how much of a day a visit part is.
func halfDaysOf(part string) int {
	if part == "day" {
		return 2
	}
	return 1
}

// Visit is one planned day or half day of an engagement.
type Visit struct {
	ID             int64
	RequestID      int64
	AdviserID      int64
	AdviserName    string
	Date           string // YYYY-MM-DD
	Part           string // day, am, pm
	Mode           string // onsite, virtual
	Status         string // proposed, planned, delivered, cancelled
	UID            string
	Sequence       int
	DeliveredHalf  int
	DeliveryNote   string
	ChargeHalfDays int
}

// Request is a school's request for consultancy and, once it accepts the
// quote, its engagement.
type Request struct {
	ID             int64
	Reference      string
	OrganisationID int64
	OrgURN         int64
	OrgName        string
	District       string
	Tier           pricing.Tier
	Product        string
	ServiceName    string
	RequestedBy    int64
	Need           string
	Preferred      string
	PONumber       string
	Status         string
	AdviserID      int64
	AdviserName    string
	Year           string
	DayRate        pricing.Money
	HalfDayRate    pricing.Money
	QuoteNote      string
	Billing        string // monthly, completion
	LateCancelRule string // full, half, none
	CreatedAt      time.Time
	Visits         []*Visit
}

// Resource is the request as the policy sees it (account.CanSeeConsultancy):
// its school and its adviser.
func (c *Request) Resource() account.Resource {
	return account.Resource{OrganisationID: c.OrganisationID, AssignedTo: c.AdviserID}
}

// QuotedHalfDays is the half days the quote's visits add up to.
func (c *Request) QuotedHalfDays() int {
	n := 0
	for _, v := range c.Visits {
		if v.Status != "cancelled" {
			n += halfDaysOf(v.Part)
		}
	}
	return n
}

// QuotedFee is what the quote comes to before VAT.
func (c *Request) QuotedFee() pricing.Money {
	return Fee(c.QuotedHalfDays(), c.DayRate, c.HalfDayRate)
}

// requestColumns are a request's own; nameRequests adds its school, its
// service's name and its advisers' names from their domains.
const requestColumns = `r.id, r.reference, r.organisation_id,
	r.product_code, COALESCE(r.requested_by, 0), r.need, r.preferred, r.po_number, r.status, COALESCE(r.adviser_id, 0),
	r.academic_year, r.day_pence, r.half_day_pence, r.quote_note, r.billing, r.late_cancel_rule, r.created_at`

const requestFrom = ` FROM consultancy_requests r `

func scanRequest(row interface{ Scan(...any) error }) (*Request, error) {
	var c Request
	var created string
	var day, half int64
	if err := row.Scan(&c.ID, &c.Reference, &c.OrganisationID, &c.Product,
		&c.RequestedBy, &c.Need, &c.Preferred, &c.PONumber, &c.Status, &c.AdviserID, &c.Year, &day, &half,
		&c.QuoteNote, &c.Billing, &c.LateCancelRule, &created); err != nil {
		return nil, err
	}
	c.DayRate, c.HalfDayRate, c.CreatedAt = pricing.Money(day), pricing.Money(half), store.MustTime(created)
	return &c, nil
}

// findRequest is one request with its visits as q sees it, named.
func (s *Service) findRequest(ctx context.Context, q store.Queryer, id int64) (*Request, error) {
	c, err := loadRequest(ctx, q, id)
	if err != nil {
		return nil, err
	}
	if err := s.nameRequests(ctx, q, []*Request{c}); err != nil {
		return nil, err
	}
	return c, nil
}

// nameRequests sets each request's school (URN, name, district and tier),
// its service's name and the names of its adviser and its visits'
// advisers from organisation, catalogue and account: one lookup of each
// for the whole list, through q's transaction when q is one.
func (s *Service) nameRequests(ctx context.Context, q store.Queryer, requests []*Request) error {
	if len(requests) == 0 {
		return nil
	}
	var orgIDs, userIDs []int64
	var codes []string
	seenOrg, seenUser, seenCode := map[int64]bool{}, map[int64]bool{}, map[string]bool{}
	user := func(id int64) {
		if id != 0 && !seenUser[id] {
			seenUser[id] = true
			userIDs = append(userIDs, id)
		}
	}
	for _, c := range requests {
		if !seenOrg[c.OrganisationID] {
			seenOrg[c.OrganisationID] = true
			orgIDs = append(orgIDs, c.OrganisationID)
		}
		if !seenCode[c.Product] {
			seenCode[c.Product] = true
			codes = append(codes, c.Product)
		}
		user(c.AdviserID)
		for _, v := range c.Visits {
			user(v.AdviserID)
		}
	}
	orgs, err := s.Organisations.FindByIDsOn(ctx, q, orgIDs)
	if err != nil {
		return err
	}
	products, err := s.Catalogue.FindProductsByCodesOn(ctx, q, codes)
	if err != nil {
		return err
	}
	users := map[int64]*account.User{}
	if len(userIDs) > 0 {
		if users, err = s.Accounts.FindUsersByIDsOn(ctx, q, userIDs); err != nil {
			return err
		}
	}
	for _, c := range requests {
		if o := orgs[c.OrganisationID]; o != nil {
			// The tier the school's record holds (an admin's override, else
			// GIAS's), as the request has always shown.
			c.OrgURN, c.OrgName, c.District, c.Tier = o.URN, o.Name, o.District, o.DerivedTier
			if o.TierOverride != "" {
				c.Tier = o.TierOverride
			}
		}
		if p := products[c.Product]; p != nil {
			c.ServiceName = p.Name
		}
		if u := users[c.AdviserID]; u != nil {
			c.AdviserName = u.Name
		}
		for _, v := range c.Visits {
			if u := users[v.AdviserID]; u != nil {
				v.AdviserName = u.Name
			}
		}
	}
	return nil
}

// loadRequest is one request with its visits as q sees it, not yet named.
func loadRequest(ctx context.Context, q store.Queryer, id int64) (*Request, error) {
	c, err := scanRequest(q.QueryRowContext(ctx, `SELECT `+requestColumns+requestFrom+` WHERE r.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, traded.Errorf(traded.ENOTFOUND, "There is no consultancy request %d.", id)
	} else if err != nil {
		return nil, fmt.Errorf("find consultancy: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT v.id, v.request_id, v.adviser_id, v.visit_date, v.part, v.mode, v.status, v.uid,
			v.sequence, COALESCE(v.delivered_half_days, 0), v.delivery_note, v.charge_half_days
		FROM consultancy_visits v WHERE v.request_id = ? ORDER BY v.visit_date, v.part, v.id`, id)
	if err != nil {
		return nil, fmt.Errorf("find visits: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		v := &Visit{}
		if err := rows.Scan(&v.ID, &v.RequestID, &v.AdviserID, &v.Date, &v.Part, &v.Mode, &v.Status, &v.UID, &v.Sequence,
			&v.DeliveredHalf, &v.DeliveryNote, &v.ChargeHalfDays); err != nil {
			return nil, fmt.Errorf("find visits: %w", err)
		}
		c.Visits = append(c.Visits, v)
	}
	return c, rows.Err()
}

// FindByID returns a request with its visits, or ENOTFOUND.
func (s *Service) FindByID(ctx context.Context, id int64) (*Request, error) {
	return s.findRequest(ctx, s.db.Read(), id)
}

// CompleteTx marks an engagement completed in tx, the transaction of the
// invoice that bills the last of it (billing.Service.InvoiceConsultancy,
// for an engagement billed on completion).
func CompleteTx(ctx context.Context, tx *store.Tx, requestID int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE consultancy_requests SET status = 'completed', updated_at = ? WHERE id = ?`,
		store.FormatTime(tx.Now), requestID); err != nil {
		return fmt.Errorf("complete engagement: %w", err)
	}
	return nil
}

// FindByVisit returns the request a visit belongs to, or ENOTFOUND.
func (s *Service) FindByVisit(ctx context.Context, visitID int64) (*Request, error) {
	var reqID int64
	err := s.db.Read().QueryRowContext(ctx, `SELECT request_id FROM consultancy_visits WHERE id = ?`, visitID).Scan(&reqID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, traded.Errorf(traded.ENOTFOUND, "There is no visit %d.", visitID)
	} else if err != nil {
		return nil, fmt.Errorf("find visit: %w", err)
	}
	return s.FindByID(ctx, reqID)
}

// Filter selects requests. Zero fields do not filter.
type Filter struct {
	OrganisationID int64
	AdviserID      int64
	Status         string
	// Limit is how many to return at most (0: all), after skipping Offset,
	// of those older than After (see Request.Cursor).
	Limit  int
	Offset int
	After  *store.Cursor
}

// Cursor is where c stands in Find's order, for Filter.After: by id alone.
func (c *Request) Cursor() store.Cursor { return store.Cursor{ID: c.ID} }

// Find returns requests matching f, newest first.
func (s *Service) Find(ctx context.Context, f Filter) ([]*Request, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.OrganisationID != 0 {
		where, args = append(where, "r.organisation_id = ?"), append(args, f.OrganisationID)
	}
	if f.AdviserID != 0 {
		where, args = append(where, "r.adviser_id = ?"), append(args, f.AdviserID)
	}
	if f.Status != "" {
		where, args = append(where, "r.status = ?"), append(args, f.Status)
	}
	if f.After != nil {
		where, args = append(where, "r.id < ?"), append(args, f.After.ID)
	}
	limit, largs := store.LimitSQL(f.Limit, f.Offset)
	rows, err := s.db.Read().QueryContext(ctx, `SELECT r.id FROM consultancy_requests r WHERE `+strings.Join(where, " AND ")+
		` ORDER BY r.id DESC`+limit, append(args, largs...)...)
	if err != nil {
		return nil, fmt.Errorf("find consultancies: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	var out []*Request
	for _, id := range ids {
		c, err := loadRequest(ctx, s.db.Read(), id)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := s.nameRequests(ctx, s.db.Read(), out); err != nil {
		return nil, err
	}
	return out, nil
}

// CreateRequest records a school manager's request for a service. It
// returns EINVALID for an unknown service or a blank description of the
// need, and EFORBIDDEN for anyone but a school manager (or an admin on a
// school's behalf).
func (s *Service) CreateRequest(ctx context.Context, by *account.User, remoteAddr string, urn int64, product, need, preferred, po string) (*Request, error) {
	if by.Role != account.RoleSchoolManager && by.Role != account.RoleAdmin {
		return nil, traded.Errorf(traded.EFORBIDDEN, "Only a school business manager can request consultancy.")
	}
	need, preferred, po = strings.TrimSpace(need), strings.TrimSpace(preferred), strings.TrimSpace(po)
	if need == "" || len(need) > 4000 {
		return nil, traded.FieldErrorf("need", "Tell us what your school needs (up to 4,000 characters).")
	}
	if len(preferred) > 500 || len(po) > 50 {
		return nil, traded.FieldErrorf("preferred", "The preferred dates can have at most 500 characters, the PO number 50.")
	}
	var id int64
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var kind string
		if p, err := s.Catalogue.FindActiveProductTx(ctx, tx, product); err == nil {
			kind = string(p.Kind)
		}
		if kind != string(pricing.KindConsultancy) {
			return traded.FieldErrorf("service", "Choose a service from the list.")
		}
		org, err := s.Organisations.ByURNTx(ctx, tx, urn)
		if err != nil {
			return err
		}
		if by.Role == account.RoleSchoolManager && by.OrganisationID != org.ID {
			return traded.Errorf(traded.ENOTFOUND, "There is no organisation with URN %d.", urn)
		}
		ref, _, err := tx.NextNumber(ctx, "consultancy")
		if err != nil {
			return err
		}
		now := store.FormatTime(tx.Now)
		res, err := tx.ExecContext(ctx, `INSERT INTO consultancy_requests (reference, organisation_id, product_code, requested_by, need, preferred,
			po_number, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'requested', ?, ?)`,
			ref, org.ID, product, by.ID, need, preferred, po, now, now)
		if err != nil {
			return fmt.Errorf("request consultancy: %w", err)
		}
		id, _ = res.LastInsertId()
		return tx.Audit(ctx, by.Actor(remoteAddr), "consultancy.request", "consultancy", ref, fmt.Sprintf("%s for %s", product, org.Name))
	})
	if err != nil {
		return nil, err
	}
	return s.FindByID(ctx, id)
}

// VisitInput is a proposed visit day.
type VisitInput struct {
	Date string // YYYY-MM-DD
	Part string // day, am, pm
	Mode string // onsite, virtual
}

// QuoteInput is an admin's quote for a request.
type QuoteInput struct {
	AdviserID      int64
	Visits         []VisitInput
	Billing        string // monthly, completion
	LateCancelRule string // full, half, none
	Note           string
}

// adviserFree reports, inside the write transaction, whether the adviser
// is free on the day part: not booked for the whole day, nor for the same
// half, on any proposed or planned visit.
func adviserFree(ctx context.Context, tx *store.Tx, adviserID int64, date, part string, exceptRequest int64) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM consultancy_visits WHERE adviser_id = ? AND visit_date = ?
		AND status IN ('proposed', 'planned', 'delivered') AND request_id <> ? AND (part = 'day' OR ? = 'day' OR part = ?)`,
		adviserID, date, exceptRequest, part, part).Scan(&n)
	return n == 0, err
}

// Quote sends a school a quote: an adviser, proposed visit days priced at
// the year's day and half-day rates for the school's tier, how it will be
// billed and what a late cancellation costs. The proposed days hold the
// adviser. It returns EFORBIDDEN for anyone but an admin; EINVALID for bad
// days, a non-adviser, a year with no rates; ECONFLICT when the adviser is
// already booked on a day part (however many quotes race: the check and the
// hold share one write transaction), or the request is not open to quoting.
func (s *Service) Quote(ctx context.Context, admin *account.User, remoteAddr string, requestID int64, in QuoteInput) error {
	if admin.Role != account.RoleAdmin {
		return traded.Errorf(traded.EFORBIDDEN, "Only an LA admin can quote.")
	}
	if in.Billing != "monthly" && in.Billing != "completion" {
		return traded.FieldErrorf("billing", "Choose monthly billing or billing on completion.")
	}
	if in.LateCancelRule != "full" && in.LateCancelRule != "half" && in.LateCancelRule != "none" {
		return traded.FieldErrorf("late_cancel_rule", "Choose what a late cancellation costs.")
	}
	if len(in.Visits) == 0 || len(in.Visits) > 40 {
		return traded.FieldErrorf("visits", "Propose between 1 and 40 visit days.")
	}
	seen := map[string]bool{}
	var first time.Time
	holidays := s.Catalogue.Holidays()
	for i, v := range in.Visits {
		d, err := time.Parse(store.DateFormat, v.Date)
		if err != nil {
			return traded.FieldErrorf("visits", "Visit %d: enter the date as YYYY-MM-DD.", i+1)
		}
		if !holidays.IsWorkingDay(d) {
			return traded.FieldErrorf("visits", "Visit %d: %s is not a working day.", i+1, d.Format("Monday 2 January 2006"))
		}
		if v.Part != "day" && v.Part != "am" && v.Part != "pm" {
			return traded.FieldErrorf("visits", "Visit %d: choose a whole day, a morning or an afternoon.", i+1)
		}
		if v.Mode != "onsite" && v.Mode != "virtual" {
			return traded.FieldErrorf("visits", "Visit %d: choose on site or online.", i+1)
		}
		for _, k := range []string{v.Date + "/" + v.Part, v.Date + "/day"} {
			if seen[k] || (v.Part == "day" && (seen[v.Date+"/am"] || seen[v.Date+"/pm"])) {
				return traded.FieldErrorf("visits", "Visit %d overlaps another day of this quote.", i+1)
			}
		}
		seen[v.Date+"/"+v.Part] = true
		if first.IsZero() || d.Before(first) {
			first = d
		}
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := s.findRequest(ctx, tx, requestID)
		if err != nil {
			return err
		}
		if c.Status != StatusRequested && c.Status != StatusQuoted {
			return traded.Errorf(traded.ECONFLICT, "Request %s is %s: it cannot be quoted.", c.Reference, c.Status)
		}
		adviser, err := s.Accounts.UserByIDTx(ctx, tx, in.AdviserID)
		if err != nil || adviser.Role != account.RoleAdviser || !adviser.Active {
			return traded.FieldErrorf("adviser", "Choose an adviser.")
		}
		today := tx.Now.In(traded.London).Format(store.DateFormat)
		// A visit may be today (a call booked for this afternoon), not before.
		if first.Format(store.DateFormat) < today {
			return traded.FieldErrorf("visits", "Propose days from today on.")
		}
		year := pricing.AcademicYearOf(time.Date(first.Year(), first.Month(), first.Day(), 12, 0, 0, 0, traded.London), traded.London)
		pl, err := s.Catalogue.CurrentListTx(ctx, tx, year)
		if err != nil {
			return err
		}
		org, err := s.Organisations.ByIDTx(ctx, tx, c.OrganisationID)
		if err != nil {
			return err
		}
		day, errDay := pl.Price(c.Product, org.Tier, pricing.RateDay)
		half, errHalf := pl.Price(c.Product, org.Tier, pricing.RateHalfDay)
		if errDay != nil || errHalf != nil {
			return traded.FieldErrorf("adviser", "%s has no %s rates in the %s price list yet: set them first.", c.ServiceName, org.Tier, year)
		}
		// A new quote replaces the last: its proposed days are released first.
		if _, err := tx.ExecContext(ctx, `UPDATE consultancy_visits SET status = 'cancelled', cancelled_at = ?, updated_at = ?
			WHERE request_id = ? AND status = 'proposed'`, store.FormatTime(tx.Now), store.FormatTime(tx.Now), c.ID); err != nil {
			return fmt.Errorf("quote: %w", err)
		}
		for _, v := range in.Visits {
			free, err := adviserFree(ctx, tx, adviser.ID, v.Date, v.Part, 0)
			if err != nil {
				return fmt.Errorf("quote: %w", err)
			}
			if !free {
				return traded.Errorf(traded.ECONFLICT, "%s is already booked on %s: choose another day or adviser.", adviser.Name, v.Date)
			}
			now := store.FormatTime(tx.Now)
			if _, err := tx.ExecContext(ctx, `INSERT INTO consultancy_visits (request_id, adviser_id, visit_date, part, mode, status, uid, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, 'proposed', ?, ?, ?)`, c.ID, adviser.ID, v.Date, v.Part, v.Mode, calendar.NewUID(), now, now); err != nil {
				return fmt.Errorf("quote: %w", err)
			}
		}
		now := store.FormatTime(tx.Now)
		if _, err := tx.ExecContext(ctx, `UPDATE consultancy_requests SET status = 'quoted', adviser_id = ?, academic_year = ?, day_pence = ?,
			half_day_pence = ?, quote_note = ?, billing = ?, late_cancel_rule = ?, quoted_at = ?, updated_at = ? WHERE id = ?`,
			adviser.ID, year.String(), int64(day), int64(half), strings.TrimSpace(in.Note), in.Billing, in.LateCancelRule, now, now, c.ID); err != nil {
			return fmt.Errorf("quote: %w", err)
		}
		n := 0
		for _, v := range in.Visits {
			n += halfDaysOf(v.Part)
		}
		if err := tx.Audit(ctx, admin.Actor(remoteAddr), "consultancy.quote", "consultancy", c.Reference,
			fmt.Sprintf("%s, %d half day(s), %s before VAT", adviser.Name, n, Fee(n, day, half))); err != nil {
			return err
		}
		if s.Notifier == nil {
			return nil
		}
		quoted, err := s.findRequest(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		return s.Notifier.QuoteSent(ctx, tx, quoted)
	})
}

// DecideQuote accepts or declines a quote for the school. Accepting makes
// the request an engagement and plans its visit days; declining releases
// the adviser. po, when given on accepting, is the purchase-order number
// the engagement's invoices carry (replacing the request's). It returns
// ECONFLICT unless the request is quoted, and EINVALID (po_number) when
// accepting for a school that needs a PO with none.
func (s *Service) DecideQuote(ctx context.Context, by *account.User, remoteAddr string, requestID int64, accept bool, po string) error {
	po, err := traded.CleanPO(po)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := s.findRequest(ctx, tx, requestID)
		if err != nil {
			return err
		}
		if by.Role != account.RoleAdmin && !(by.Role == account.RoleSchoolManager && by.OrganisationID == c.OrganisationID) {
			return traded.Errorf(traded.ENOTFOUND, "There is no consultancy request %d.", requestID)
		}
		if c.Status != StatusQuoted {
			return traded.Errorf(traded.ECONFLICT, "Request %s has no quote waiting for a decision.", c.Reference)
		}
		now := store.FormatTime(tx.Now)
		if accept {
			org, err := s.Organisations.ByIDTx(ctx, tx, c.OrganisationID)
			if err != nil {
				return err
			}
			if po != "" && po != c.PONumber {
				if _, err := tx.ExecContext(ctx, `UPDATE consultancy_requests SET po_number = ?, updated_at = ? WHERE id = ?`, po, now, c.ID); err != nil {
					return fmt.Errorf("decide quote: %w", err)
				}
				c.PONumber = po
			}
			if org.PORequired && c.PONumber == "" && c.QuotedFee() > 0 {
				return traded.FieldErrorf("po_number", "%s needs a purchase-order number on its invoices: enter the PO number for this work.", org.Name)
			}
		}
		status, visits, action := StatusAccepted, "planned", "consultancy.accept"
		if !accept {
			status, visits, action = StatusDeclined, "cancelled", "consultancy.decline"
		}
		if _, err := tx.ExecContext(ctx, `UPDATE consultancy_requests SET status = ?, decided_at = ?, updated_at = ? WHERE id = ?`, status, now, now, c.ID); err != nil {
			return fmt.Errorf("decide quote: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE consultancy_visits SET status = ?, updated_at = ? WHERE request_id = ? AND status = 'proposed'`,
			visits, now, c.ID); err != nil {
			return fmt.Errorf("decide quote: %w", err)
		}
		if err := tx.Audit(ctx, by.Actor(remoteAddr), action, "consultancy", c.Reference, fmt.Sprintf("%s before VAT", c.QuotedFee())); err != nil {
			return err
		}
		if !accept || s.Notifier == nil {
			return nil
		}
		engaged, err := s.findRequest(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		return s.Notifier.VisitsChanged(ctx, tx, engaged, engaged.Visits)
	})
}

// LogDelivery records what an adviser delivered on a visit: half days (1
// or 2, no more than planned) and a short note the school sees. Only the
// visit's adviser (or an admin) may; it returns ECONFLICT for a visit not
// planned and EINVALID for a bad amount or a blank note.
func (s *Service) LogDelivery(ctx context.Context, by *account.User, remoteAddr string, visitID int64, halfDays int, note string) error {
	note = strings.TrimSpace(note)
	if note == "" || len(note) > 2000 {
		return traded.FieldErrorf("note", "Write a short note of what was done (up to 2,000 characters).")
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		var reqID, adviserID int64
		var part, status, date string
		err := tx.QueryRowContext(ctx, `SELECT request_id, adviser_id, part, status, visit_date FROM consultancy_visits WHERE id = ?`, visitID).
			Scan(&reqID, &adviserID, &part, &status, &date)
		if errors.Is(err, sql.ErrNoRows) || (by.Role != account.RoleAdmin && by.ID != adviserID) {
			return traded.Errorf(traded.ENOTFOUND, "There is no visit %d.", visitID)
		} else if err != nil {
			return fmt.Errorf("log delivery: %w", err)
		}
		if status != "planned" {
			return traded.Errorf(traded.ECONFLICT, "That visit is %s: only a planned visit can be logged.", status)
		}
		if halfDays < 1 || halfDays > halfDaysOf(part) {
			return traded.FieldErrorf("half_days", "Log a half day or, for a whole-day visit, a day.")
		}
		if date > tx.Now.In(traded.London).Format(store.DateFormat) {
			return traded.Errorf(traded.EINVALID, "A visit can be logged on or after its day.")
		}
		now := store.FormatTime(tx.Now)
		if _, err := tx.ExecContext(ctx, `UPDATE consultancy_visits SET status = 'delivered', delivered_half_days = ?, delivery_note = ?,
			delivered_at = ?, updated_at = ? WHERE id = ?`, halfDays, note, now, now, visitID); err != nil {
			return fmt.Errorf("log delivery: %w", err)
		}
		return tx.Audit(ctx, by.Actor(remoteAddr), "consultancy.deliver", "visit", strconv.FormatInt(visitID, 10),
			fmt.Sprintf("%d half day(s) on %s", halfDays, date))
	})
}

// CancelVisit cancels a planned visit. Inside 10 working days of its date
// the engagement's rule applies: the full visit, half of it (at least a
// half day) or nothing is charged; before that it is free.
func (s *Service) CancelVisit(ctx context.Context, by *account.User, remoteAddr string, visitID int64, reason string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		var reqID int64
		var part, status, date string
		err := tx.QueryRowContext(ctx, `SELECT request_id, part, status, visit_date FROM consultancy_visits WHERE id = ?`, visitID).
			Scan(&reqID, &part, &status, &date)
		if errors.Is(err, sql.ErrNoRows) {
			return traded.Errorf(traded.ENOTFOUND, "There is no visit %d.", visitID)
		} else if err != nil {
			return fmt.Errorf("cancel visit: %w", err)
		}
		c, err := s.findRequest(ctx, tx, reqID)
		if err != nil {
			return err
		}
		if by.Role != account.RoleAdmin && !(by.Role == account.RoleSchoolManager && by.OrganisationID == c.OrganisationID) {
			return traded.Errorf(traded.ENOTFOUND, "There is no visit %d.", visitID)
		}
		if status != "planned" {
			return traded.Errorf(traded.ECONFLICT, "That visit is %s: only a planned visit can be cancelled.", status)
		}
		charge := 0
		d, _ := time.Parse(store.DateFormat, date)
		today := tx.Now.In(traded.London)
		todayDate := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
		if !todayDate.Before(s.Catalogue.Holidays().AddWorkingDays(d, -10)) {
			switch c.LateCancelRule {
			case "full":
				charge = halfDaysOf(part)
			case "half":
				charge = max(1, halfDaysOf(part)/2)
			}
		}
		now := store.FormatTime(tx.Now)
		if _, err := tx.ExecContext(ctx, `UPDATE consultancy_visits SET status = 'cancelled', charge_half_days = ?, cancelled_at = ?,
			sequence = sequence + 1, updated_at = ? WHERE id = ?`, charge, now, now, visitID); err != nil {
			return fmt.Errorf("cancel visit: %w", err)
		}
		if err := tx.Audit(ctx, by.Actor(remoteAddr), "consultancy.cancel_visit", "visit", strconv.FormatInt(visitID, 10),
			fmt.Sprintf("%s %s: %s; %d half day(s) charged", date, part, strings.TrimSpace(reason), charge)); err != nil {
			return err
		}
		// An engagement with nothing left planned and nothing to bill is over.
		var live int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM consultancy_visits WHERE request_id = ?
			AND (status IN ('planned', 'delivered') OR (status = 'cancelled' AND charge_half_days > 0))`, reqID).Scan(&live); err != nil {
			return fmt.Errorf("cancel visit: %w", err)
		}
		if live == 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE consultancy_requests SET status = 'cancelled', updated_at = ? WHERE id = ?`, now, reqID); err != nil {
				return fmt.Errorf("cancel visit: %w", err)
			}
		}
		if s.Notifier == nil {
			return nil
		}
		after, err := s.findRequest(ctx, tx, reqID)
		if err != nil {
			return err
		}
		for _, v := range after.Visits {
			if v.ID == visitID {
				return s.Notifier.VisitsChanged(ctx, tx, after, []*Visit{v})
			}
		}
		return nil
	})
}

// AdviserDay is one adviser's commitments on one day, for the planner.
type AdviserDay struct {
	Date  string
	Parts map[string]string // day/am/pm -> the request reference booked
}

// Planner returns each adviser's booked day parts between from and to
// (YYYY-MM-DD inclusive), by adviser id and date.
func (s *Service) Planner(ctx context.Context, from, to string) (map[int64]map[string]*AdviserDay, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT v.adviser_id, v.visit_date, v.part, r.reference FROM consultancy_visits v
		JOIN consultancy_requests r ON r.id = v.request_id WHERE v.visit_date BETWEEN ? AND ? AND v.status IN ('proposed', 'planned', 'delivered')
		ORDER BY v.visit_date`, from, to)
	if err != nil {
		return nil, fmt.Errorf("planner: %w", err)
	}
	defer rows.Close()
	out := map[int64]map[string]*AdviserDay{}
	for rows.Next() {
		var id int64
		var date, part, ref string
		if err := rows.Scan(&id, &date, &part, &ref); err != nil {
			return nil, err
		}
		if out[id] == nil {
			out[id] = map[string]*AdviserDay{}
		}
		if out[id][date] == nil {
			out[id][date] = &AdviserDay{Date: date, Parts: map[string]string{}}
		}
		out[id][date].Parts[part] = ref
	}
	return out, rows.Err()
}

// SetAvailability records how many days an adviser has for traded work in
// each half-term of a year.
func (s *Service) SetAvailability(ctx context.Context, actor store.Actor, adviserID int64, year pricing.AcademicYear, days map[string]int) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		u, err := s.Accounts.UserByIDTx(ctx, tx, adviserID)
		if err != nil || u.Role != account.RoleAdviser {
			return traded.FieldErrorf("adviser", "Choose an adviser.")
		}
		terms := make([]string, 0, len(days))
		for t := range days {
			terms = append(terms, t)
		}
		sort.Strings(terms)
		for _, t := range terms {
			if catalogue.TermNames[t] == "" || days[t] < 0 || days[t] > 40 {
				return traded.FieldErrorf("days", "Give each half-term's days, 0 to 40.")
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO adviser_availability (adviser_id, academic_year, term, days) VALUES (?, ?, ?, ?)
				ON CONFLICT (adviser_id, academic_year, term) DO UPDATE SET days = excluded.days`, adviserID, year.String(), t, days[t]); err != nil {
				return fmt.Errorf("availability: %w", err)
			}
		}
		return tx.Audit(ctx, actor, "adviser.availability", "user", strconv.FormatInt(adviserID, 10), year.String())
	})
}

// Utilisation is one adviser's traded days in one half-term.
type Utilisation struct {
	AdviserID   int64
	Adviser     string
	Term        string
	Available   int // days
	BookedHalf  int // half days planned or delivered
	Delivered   int // half days delivered
	PercentUsed int // booked as a share of available, 0 when none available
}

// AdviserUtilisation returns, for each adviser and half-term of the year,
// the days they have for traded work and how many are booked and delivered.
func (s *Service) AdviserUtilisation(ctx context.Context, year pricing.AcademicYear) ([]Utilisation, error) {
	terms, err := s.Catalogue.FindTerms(ctx, year)
	if err != nil {
		return nil, err
	}
	role := account.RoleAdviser
	advisers, err := s.Accounts.FindUsers(ctx, account.UserFilter{Role: &role})
	if err != nil {
		return nil, err
	}
	var out []Utilisation
	for _, a := range advisers {
		for _, t := range terms {
			u := Utilisation{AdviserID: a.ID, Adviser: a.Name, Term: t.Term}
			if err := s.db.Read().QueryRowContext(ctx, `SELECT COALESCE((SELECT days FROM adviser_availability WHERE adviser_id = ? AND academic_year = ? AND term = ?), 0),
					COALESCE(SUM(CASE WHEN status IN ('planned', 'delivered', 'proposed') THEN (CASE part WHEN 'day' THEN 2 ELSE 1 END) ELSE 0 END), 0),
					COALESCE(SUM(CASE WHEN status = 'delivered' THEN delivered_half_days ELSE 0 END), 0)
				FROM consultancy_visits WHERE adviser_id = ? AND visit_date BETWEEN ? AND ?`,
				a.ID, year.String(), t.Term, a.ID, t.StartsOn.Format(store.DateFormat), t.EndsOn.Format(store.DateFormat)).
				Scan(&u.Available, &u.BookedHalf, &u.Delivered); err != nil {
				return nil, fmt.Errorf("utilisation: %w", err)
			}
			if u.Available > 0 {
				u.PercentUsed = u.BookedHalf * 50 / u.Available
			}
			out = append(out, u)
		}
	}
	return out, nil
}

// Billable is an accepted engagement with the visits it may be billed for:
// each delivered visit and each cancelled one that carries a charge.
type Billable struct {
	ID             int64
	Reference      string
	OrganisationID int64
	ProductCode    string
	PONumber       string
	AcademicYear   string
	Day, HalfDay   pricing.Money // the quoted rates
	Billing        string        // monthly or completion
	Open           int           // visits still planned or proposed
	Visits         []BillableVisit
}

// BillableVisit is a visit an engagement may be billed for.
type BillableVisit struct {
	ID                int64
	Date              string // YYYY-MM-DD
	Part              string
	Status            string // delivered or cancelled
	DeliveredHalfDays int
	ChargeHalfDays    int
	DeliveredAt       string // stored instant, "" when none
	CancelledAt       string
}

// BillableEngagements returns, read through q, the accepted engagements
// with a visit delivered or cancelled with a charge, by id, each with
// those visits by date, part and id, in one query. Which visits are
// already billed is billing's to say (it records the invoice of each).
func BillableEngagements(ctx context.Context, q store.Queryer) ([]*Billable, error) {
	rows, err := q.QueryContext(ctx, `SELECT r.id, r.reference, r.organisation_id, r.product_code, r.po_number, r.academic_year,
			r.day_pence, r.half_day_pence, r.billing,
			(SELECT count(*) FROM consultancy_visits x WHERE x.request_id = r.id AND x.status IN ('planned', 'proposed')),
			v.id, v.visit_date, v.part, v.status, COALESCE(v.delivered_half_days, 0), v.charge_half_days, v.delivered_at, v.cancelled_at
		FROM consultancy_requests r JOIN consultancy_visits v ON v.request_id = r.id
		WHERE r.status = 'accepted' AND ((v.status = 'delivered') OR (v.status = 'cancelled' AND v.charge_half_days > 0))
		ORDER BY r.id, v.visit_date, v.part, v.id`)
	if err != nil {
		return nil, fmt.Errorf("billable engagements: %w", err)
	}
	defer rows.Close()
	var out []*Billable
	for rows.Next() {
		var e Billable
		var v BillableVisit
		var day, half int64
		var delivered, cancelled sql.NullString
		if err := rows.Scan(&e.ID, &e.Reference, &e.OrganisationID, &e.ProductCode, &e.PONumber, &e.AcademicYear, &day, &half, &e.Billing,
			&e.Open, &v.ID, &v.Date, &v.Part, &v.Status, &v.DeliveredHalfDays, &v.ChargeHalfDays, &delivered, &cancelled); err != nil {
			return nil, fmt.Errorf("billable engagements: %w", err)
		}
		v.DeliveredAt, v.CancelledAt = delivered.String, cancelled.String
		if n := len(out); n > 0 && out[n-1].ID == e.ID {
			out[n-1].Visits = append(out[n-1].Visits, v)
			continue
		}
		e.Day, e.HalfDay = pricing.Money(day), pricing.Money(half)
		e.Visits = []BillableVisit{v}
		out = append(out, &e)
	}
	return out, rows.Err()
}
