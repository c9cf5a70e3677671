package billing_test

// A property test of what schools are charged: random booking histories
// run against the real booking and billing services on real SQLite
// databases, each step also told to internal/oracle, a second and much
// simpler implementation of the tariff and of README's "What a school owes
// for one session". After each history the invoices and credit notes must
// agree with the oracle to the penny (see TestBookingHistories for every
// check). A failing history is shrunk (steps removed while, replayed alone
// on a fresh database, it still fails the same check) and printed as a
// script with the expected and the actual figures.
//
//	go test ./billing -run TestBookingHistories -v
//
// Settings, all optional:
//
//	TRADED_HISTORIES=300              histories to run (60 under -race)
//	TRADED_HISTORY_SEED=20210901      the seed; history i is rand.NewPCG(seed, i)
//	TRADED_HISTORY_WORKERS=2          databases run at once, histories packed in each
//	TRADED_HISTORY_REPORTS=8          failing histories to shrink and print
//	TRADED_HISTORY_SHRINK_SECONDS=90  time allowed for shrinking
//	TRADED_HISTORY_OPS=book,cancel    generate only these kinds of step (see opNames)
//
// The same seed and number of workers make the same histories.
// TestBookingHistoryScripts plays hand-written histories the same way.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"traded"
	"traded/account"
	"traded/app"
	"traded/billing"
	"traded/booking"
	"traded/catalogue"
	"traded/internal/oracle"
	"traded/organisation"
	"traded/pricing"
	"traded/store"
)

const (
	perDatabase = 200 // histories packed into one database
	defaultSeed = 20210901
)

// defaultHistories takes about 6 seconds on 2 cores (50 histories a
// second); history_race_test.go lowers it under the race detector, which
// runs them about 4 times slower.
var defaultHistories = 300

// histLA is who the LA's own steps are recorded as.
var histLA = store.Actor{Name: "admin@history.test"}

// Courses the histories book (2021/22 sessions of them are made per history).
var (
	psaCourses = []string{"psa-ks1-taf", "psa-ks2-taf", "psa-y2-refresher", "psa-y6-refresher", "psa-phonics", "psa-mtc"}
	modCourses = []string{"mod-y2-new", "mod-y2-experienced", "mod-y6-new", "mod-y6-experienced"}
)

// historyStart is when every history begins: Wednesday 1 September 2021,
// 08:00 in London, the first day of the 2021/22 academic year.
var historyStart = time.Date(2021, 9, 1, 8, 0, 0, 0, traded.London).UTC()

// through is when the monthly run bills, after everything.
var through = time.Date(2022, 8, 1, 0, 0, 0, 0, traded.London).UTC()

// ---- what a history is ----

type schoolSpec struct {
	Tier     oracle.Tier
	Monthly  bool // invoiced monthly rather than per booking
	Approval bool // teachers' bookings wait for the manager
}

type sessionSpec struct {
	Name     string // PSA-1, MOD-2
	Kind     oracle.Kind
	Course   string
	Start    time.Time
	Capacity int
}

type opKind int

const (
	opBook opKind = iota
	opSubscribe
	opApprove
	opDecline
	opCancel
	opCancelPlace
	opSwap
	opAccept
	opDeclineOffer
	opExpire
	opCancelSession
	opTierOverride
	opTierImport
	opPublish
)

var opNames = map[opKind]string{opBook: "book", opSubscribe: "subscribe", opApprove: "approve", opDecline: "decline",
	opCancel: "cancel", opCancelPlace: "cancel-place", opSwap: "swap", opAccept: "accept-offer", opDeclineOffer: "decline-offer",
	opExpire: "expire-offers", opCancelSession: "la-cancels-session", opTierOverride: "tier-override", opTierImport: "tier-import",
	opPublish: "publish-price-list"}

// step is one thing done in a history. It names what it acts on by index
// (school, session) and by the ID of the step that made a booking, so a
// step still means the same when other steps are removed; one whose
// booking was never made does nothing.
type step struct {
	ID        int
	At        time.Time
	Op        opKind
	School    int
	Session   int
	N         int  // staff to book (a teacher books 1: themselves)
	Teacher   int  // -1: the school business manager books; else which teacher
	Waitlist  bool // join the waiting list when full
	Booking   int  // the ID of the step that made the booking acted on
	Which     int  // which active delegate (mod their number)
	ByTeacher bool
	Tier      oracle.Tier
	Days      int // tier import: effective this many days from At's date
	Prices    oracle.Prices
}

type historySpec struct {
	Index    int
	Seed     uint64
	Schools  []schoolSpec
	Sessions []sessionSpec
	Prices   *oracle.Prices // the 2021/22 list current at the start, if not the published one
	Steps    []step
}

// ---- the database histories run on ----

type histEnv struct {
	ctx     context.Context
	dir     string
	db      *store.DB
	clock   *traded.FixedClock
	svc     *booking.Service
	bill    *billing.Service
	prices  oracle.Prices  // the current 2021/22 list
	changed bool           // a list other than the published one is current
	checked map[string]int // the numbers of each series checked so far
}

// openHistEnv opens a database in dir: a copy of template (a migrated
// database, which is quicker than migrating) unless template is "".
func openHistEnv(dir, template string) (*histEnv, error) {
	path := filepath.Join(dir, "traded.db")
	if template != "" {
		b, err := os.ReadFile(template)
		if err == nil {
			err = os.WriteFile(path, b, 0o600)
		}
		if err != nil {
			return nil, err
		}
	}
	clock := traded.NewFixedClock(historyStart)
	db, err := store.Open(path, clock)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	svc := app.Domains(db).Booking
	svc.Accounts.PasswordCost = 4
	bill := billing.NewService(db, svc.Organisations, svc.Catalogue, billing.DefaultConfig(), nil)
	bill.Users = svc.Accounts
	svc.Charger = bill
	return &histEnv{ctx: ctx, dir: dir, db: db, clock: clock, svc: svc, bill: bill, prices: oracle.Published(), checked: map[string]int{}}, nil
}

func (e *histEnv) close() { e.db.Close() }

// publish stores a new version of the 2021/22 price list with the given
// prices, as an admin publishing a corrected tariff would.
func (e *histEnv) publish(p oracle.Prices) error {
	err := e.db.Write(e.ctx, func(tx *store.Tx) error {
		var v int
		if err := tx.QueryRowContext(e.ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM price_lists WHERE academic_year = '2021/22'`).Scan(&v); err != nil {
			return err
		}
		res, err := tx.ExecContext(e.ctx, `INSERT INTO price_lists (academic_year, version, note, created_at, created_by)
			VALUES ('2021/22', ?, 'published by the history test', ?, 'history test')`, v, store.FormatTime(tx.Now))
		if err != nil {
			return err
		}
		id, _ := res.LastInsertId()
		for _, t := range oracle.Tiers {
			m := p.Moderation[t]
			for _, r := range []struct {
				product, rate string
				pence         int64
			}{
				{"psa-subscription", "unit", p.Subscription[t]}, {"psa-session", "unit", p.Session[t]},
				{"moderation", "first-subscriber", m.SubscriberFirst}, {"moderation", "additional-subscriber", m.SubscriberAdditional},
				{"moderation", "first", m.First}, {"moderation", "additional", m.Additional},
			} {
				if _, err := tx.ExecContext(e.ctx, `INSERT INTO prices (price_list_id, product_code, tier, rate, amount_pence) VALUES (?, ?, ?, ?, ?)`,
					id, r.product, string(t), r.rate, r.pence); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		e.prices, e.changed = p, true
	}
	return err
}

// ---- one history played on a database ----

type failure struct {
	check string // owed, zero-share, series, quote, late-flag, state, oracle, error
	msg   string
}

type wSchool struct {
	letter   string
	spec     schoolSpec
	urn      int64
	orgID    int64
	manager  *account.User
	teachers []*account.User
	derived  oracle.Tier // the tier GIAS gives, as last imported
	override bool
	tierStep bool // generation has changed its tier once
}

type wBooking struct {
	label     string
	step      int
	school    int
	session   int
	teacher   int // -1: the manager booked
	id        int64
	b         *booking.Booking // as last read
	confirmed bool             // the oracle has been told
}

type world struct {
	env        *histEnv
	spec       *historySpec
	prefix     string
	orc        *oracle.Oracle
	orcVersion int
	schools    []*wSchool
	sessions   []*catalogue.Session
	bookings   map[int]*wBooking
	order      []int // booking step IDs in the order made
	lines      []string
	fails      []failure
	setupErr   error
	publishes  int
	// finalScript is the script, written before the database closes.
	finalScript string
	ops         map[opKind]bool // the kinds of step to generate; nil: all
	stats       map[string]int  // steps by kind and outcome, if not nil
	// shown is what the approval or offer page showed (QuoteConfirmation)
	// for the booking this step confirms, checked against what is invoiced.
	shown map[string]int64
}

// showConfirmation records what the page approving a request or taking an
// offer shows the school before it commits.
func (w *world) showConfirmation(s step, wb *wBooking, by *account.User) {
	charges, err := w.env.svc.QuoteConfirmation(w.env.ctx, by, wb.id)
	w.sysErr(s, "quote confirmation", err)
	if err != nil {
		return
	}
	var q int64
	for _, c := range charges {
		q += int64(c.Amount)
	}
	if w.shown == nil {
		w.shown = map[string]int64{}
	}
	w.shown[wb.label] = q
}

func (w *world) fail(check, format string, args ...any) {
	w.fails = append(w.fails, failure{check, fmt.Sprintf(format, args...)})
}

func (w *world) has(check string) bool {
	return slices.ContainsFunc(w.fails, func(f failure) bool { return f.check == check })
}

var tierSetup = map[oracle.Tier]struct {
	la   int
	kind string
}{
	oracle.Maintained: {881, "Community school"},
	oracle.Academy:    {881, "Academy converter"},
	oracle.External:   {882, "Community school"},
}

// newWorld sets up a history's schools, users and sessions on env.
func newWorld(env *histEnv, spec *historySpec) *world {
	w := &world{env: env, spec: spec, prefix: fmt.Sprintf("h%d", spec.Index), bookings: map[int]*wBooking{}}
	w.setupErr = w.setup()
	return w
}

func (w *world) setup() error {
	env, ctx := w.env, w.env.ctx
	env.clock.Set(historyStart)
	if w.spec.Prices != nil && !env.changed {
		if err := env.publish(*w.spec.Prices); err != nil {
			return fmt.Errorf("publish the starting price list: %w", err)
		}
	}
	var sessions []oracle.Session
	for i, ss := range w.spec.Sessions {
		sess, err := env.svc.Catalogue.CreateSession(ctx, histLA, catalogue.SessionInput{CourseCode: ss.Course, StartsAt: ss.Start, Duration: time.Hour, Capacity: ss.Capacity})
		if err != nil {
			return fmt.Errorf("session %s: %w", ss.Name, err)
		}
		w.sessions = append(w.sessions, sess)
		sessions = append(sessions, oracle.Session{ID: w.spec.Sessions[i].Name, Kind: ss.Kind, Start: ss.Start})
	}
	w.orc = oracle.New(oracle.DefaultCancelWorkingDays, sessions...)
	w.orcVersion = 1
	if env.changed {
		w.orcVersion = 2
		if err := w.orc.Apply(oracle.PublishPriceList{At: historyStart, Version: 2, Prices: env.prices}); err != nil {
			return err
		}
	}
	for i, sc := range w.spec.Schools {
		letter := string(rune('A' + i))
		s := &wSchool{letter: letter, spec: sc, urn: int64(700000 + w.spec.Index*10 + i), derived: sc.Tier}
		ts := tierSetup[sc.Tier]
		if err := env.svc.Organisations.Upsert(ctx, histLA, []organisation.Organisation{{URN: s.urn, Name: w.schoolName(i), LACode: ts.la,
			EstablishmentType: ts.kind}}, "demo"); err != nil {
			return err
		}
		org, err := env.svc.Organisations.FindByURN(ctx, s.urn)
		if err != nil {
			return err
		}
		if org.Tier != pricing.Tier(sc.Tier) {
			return fmt.Errorf("school %s: tier %s, want %s", letter, org.Tier, sc.Tier)
		}
		s.orgID = org.ID
		invoices := "per_booking"
		if sc.Monthly {
			invoices = "monthly"
		}
		if err := env.svc.Organisations.SetBookingSettings(ctx, histLA, org.ID, invoices, sc.Approval); err != nil {
			return err
		}
		if s.manager, err = env.svc.Accounts.CreateUser(ctx, histLA, account.UserInput{Email: w.email(i, "manager"), Name: "Manager " + letter,
			Role: account.RoleSchoolManager, URN: s.urn}); err != nil {
			return err
		}
		for k := range 2 {
			u, err := env.svc.Accounts.CreateUser(ctx, histLA, account.UserInput{Email: w.email(i, fmt.Sprintf("teacher%d", k+1)),
				Name: fmt.Sprintf("Teacher %s%d", letter, k+1), Role: account.RoleTeacher, URN: s.urn})
			if err != nil {
				return err
			}
			s.teachers = append(s.teachers, u)
		}
		w.schools = append(w.schools, s)
		if err := w.orc.Apply(oracle.NewSchool{At: historyStart, School: letter, Tier: sc.Tier}); err != nil {
			return err
		}
	}
	return nil
}

func (w *world) schoolName(i int) string {
	return fmt.Sprintf("History %d School %c", w.spec.Index, rune('A'+i))
}

func (w *world) email(school int, who string) string {
	return fmt.Sprintf("%s@%s%c.example", who, w.prefix, rune('a'+school))
}

// play runs steps one after another.
func (w *world) play(steps []step) {
	if w.setupErr != nil {
		w.fail("error", "setup: %v", w.setupErr)
		return
	}
	for _, s := range steps {
		w.do(s)
	}
}

// ---- formatting ----

func money(p int64) string { return pricing.Money(p).String() }

func (w *world) when(t time.Time) string {
	l := t.In(traded.London)
	start := historyStart.In(traded.London)
	d0 := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
	d := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
	return fmt.Sprintf("day %-3d %s", int(d.Sub(d0).Hours()/24)+1, l.Format("Mon 2 Jan 15:04"))
}

func (w *world) who(school int, at time.Time) string {
	s := w.schools[school]
	sub := "not subscribed"
	if w.orc.Subscriber(s.letter, at) {
		sub = "subscriber"
	}
	return fmt.Sprintf("%s (%s, %s)", s.letter, w.orc.TierOn(s.letter, at.In(traded.London).Format("2006-01-02")), sub)
}

func pricesText(p oracle.Prices) string {
	var b strings.Builder
	for _, t := range oracle.Tiers {
		m := p.Moderation[t]
		fmt.Fprintf(&b, " %s: subscription %s, session %s, moderation %s/%s (subscriber %s/%s);", t, money(p.Subscription[t]),
			money(p.Session[t]), money(m.First), money(m.Additional), money(m.SubscriberFirst), money(m.SubscriberAdditional))
	}
	return strings.TrimSuffix(b.String(), ";")
}

func (w *world) say(s step, format string, args ...any) {
	w.lines = append(w.lines, fmt.Sprintf("%s  %s", w.when(s.At), fmt.Sprintf(format, args...)))
}

// outcome says how Traded answered a step, and counts it.
func (w *world) outcome(s step, err error) string {
	if err == nil {
		w.count(opNames[s.Op] + " done")
		return "done"
	}
	w.count(opNames[s.Op] + " refused")
	return "refused (" + traded.ErrorCode(err) + ": " + traded.ErrorMessage(err) + ")"
}

func (w *world) count(what string) {
	if w.stats != nil {
		w.stats[what]++
	}
}

// sysErr records an internal error (a fault, not a rule) as a failure.
func (w *world) sysErr(s step, what string, err error) {
	if err != nil && traded.ErrorCode(err) == traded.EINTERNAL {
		w.fail("error", "step %d (%s): %s: %v", s.ID, opNames[s.Op], what, err)
	}
}

func (w *world) netCharges(b *booking.Booking) int64 {
	var n int64
	for _, c := range b.Charges {
		n += int64(c.Amount - c.Credited)
	}
	return n
}

// ---- doing one step ----

func (w *world) do(s step) {
	env, ctx := w.env, w.env.ctx
	env.clock.Set(s.At)
	var wb *wBooking
	var before *booking.Booking
	if s.Op >= opApprove && s.Op <= opDeclineOffer {
		if wb = w.bookings[s.Booking]; wb == nil {
			w.say(s, "%s b%d: skipped (b%d was never made)", opNames[s.Op], s.Booking, s.Booking)
			return
		}
		before = wb.b
	}
	switch s.Op {
	case opBook:
		w.book(s)
	case opSubscribe:
		sc := w.schools[s.School]
		who := w.who(s.School, s.At)
		sub, err := env.bill.BuySubscription(ctx, sc.manager.Actor(""), sc.urn, 2021, "")
		w.sysErr(s, "subscribe", err)
		if err != nil {
			w.say(s, "%s buys the PSA subscription: %s", who, w.outcome(s, err))
			break
		}
		w.count("subscribe done")
		w.say(s, "%s buys the PSA subscription: %s, invoice %s", who, sub.Price, sub.InvoiceNumber)
		w.tell(s, oracle.Subscribe{At: s.At, School: sc.letter})
	case opApprove, opDecline:
		sc := w.schools[wb.school]
		var err error
		verb := "approves"
		if s.Op == opApprove {
			w.showConfirmation(s, wb, sc.manager)
			err = env.svc.ApproveBooking(ctx, sc.manager, "", wb.id, "")
		} else {
			verb = "declines"
			err = env.svc.DeclineBooking(ctx, sc.manager, "", wb.id, "not this term")
		}
		w.sysErr(s, verb, err)
		w.say(s, "%s manager %s %s's request %s: %s", w.who(wb.school, s.At), verb, w.teacherName(wb), wb.label, w.outcome(s, err))
	case opCancel, opCancelPlace:
		sc := w.schools[wb.school]
		active := before.Active()
		var err error
		what := "booking " + wb.label
		whole := s.Op == opCancel || len(active) == 1
		if s.Op == opCancel {
			err = env.svc.CancelBooking(ctx, sc.manager, "", wb.id, "changed plans")
		} else {
			if len(active) == 0 {
				w.say(s, "cancel a place of %s: skipped (no places)", wb.label)
				return
			}
			d := active[s.Which%len(active)]
			what = fmt.Sprintf("one place (%s) of %s", d.Email[:strings.Index(d.Email, "@")], wb.label)
			err = env.svc.CancelPlace(ctx, sc.manager, "", wb.id, d.ID)
		}
		w.sysErr(s, "cancel", err)
		verdict := ""
		if err == nil && wb.confirmed && before.Status == booking.StatusConfirmed {
			cut, cerr := w.orc.FreeUntil(w.spec.Sessions[wb.session].Name)
			if cerr == nil {
				if s.At.After(cut) {
					verdict = "late by the oracle"
				} else {
					verdict = "free by the oracle"
				}
			}
			if whole {
				w.tell(s, oracle.CancelBooking{At: s.At, Booking: wb.label})
			} else {
				w.tell(s, oracle.CancelPlace{At: s.At, Booking: wb.label})
			}
		}
		w.refresh()
		line := fmt.Sprintf("%s cancels %s (%s, %s on %s): %s", w.who(wb.school, s.At), what, before.Status,
			plural(len(active), "place"), w.spec.Sessions[wb.session].Name, w.outcome(s, err))
		if err == nil && before.Status == booking.StatusConfirmed {
			line += fmt.Sprintf(", %s; Traded: charges net %s -> %s", verdict, money(w.netCharges(before)), money(w.netCharges(wb.b)))
			if wb.b.Status == booking.StatusCancelled {
				line += fmt.Sprintf(", late_cancel=%t", wb.b.LateCancel)
			}
		}
		w.lines = append(w.lines, fmt.Sprintf("%s  %s", w.when(s.At), line))
		w.noteConfirmations(s)
		return
	case opSwap:
		sc := w.schools[wb.school]
		active := before.Active()
		if len(active) == 0 {
			w.say(s, "swap a delegate of %s: skipped (no places)", wb.label)
			return
		}
		d := active[s.Which%len(active)]
		err := env.svc.SwapDelegate(ctx, sc.manager, "", wb.id, d.ID, fmt.Sprintf("Colleague %d", s.ID), w.email(wb.school, fmt.Sprintf("swap%d", s.ID)))
		w.sysErr(s, "swap", err)
		w.say(s, "%s gives a place of %s to a colleague: %s", w.who(wb.school, s.At), wb.label, w.outcome(s, err))
		if err == nil && wb.confirmed && before.Status == booking.StatusConfirmed {
			w.tell(s, oracle.Swap{At: s.At, Booking: wb.label})
		}
	case opAccept, opDeclineOffer:
		sc := w.schools[wb.school]
		by, whoName := sc.manager, "manager"
		if s.ByTeacher && wb.teacher >= 0 {
			by, whoName = sc.teachers[wb.teacher], w.teacherName(wb)
		}
		var err error
		verb := "takes"
		if s.Op == opAccept {
			w.showConfirmation(s, wb, by)
			err = env.svc.AcceptOffer(ctx, by, "", wb.id, "")
		} else {
			verb = "declines"
			err = env.svc.DeclineOffer(ctx, sc.manager, "", wb.id)
			whoName = "manager"
		}
		w.sysErr(s, verb+" offer", err)
		w.say(s, "%s %s %s the offer of %s: %s", w.who(wb.school, s.At), whoName, verb, wb.label, w.outcome(s, err))
	case opExpire:
		err := env.svc.ExpireOffers(ctx)
		w.sysErr(s, "expire offers", err)
		w.say(s, "offers whose 48 hours are up expire: %s", w.outcome(s, err))
	case opCancelSession:
		name := w.spec.Sessions[s.Session].Name
		err := env.svc.CancelSession(ctx, histLA, w.sessions[s.Session].ID, "presenter unavailable")
		w.sysErr(s, "cancel session", err)
		if got, err := env.svc.Catalogue.FindSessionByID(ctx, w.sessions[s.Session].ID); err == nil {
			w.sessions[s.Session] = got
		}
		w.say(s, "the LA cancels %s: %s", name, w.outcome(s, err))
		if err == nil {
			w.tell(s, oracle.SessionCancelled{At: s.At, Session: name})
		}
	case opTierOverride:
		sc := w.schools[s.School]
		who := w.who(s.School, s.At)
		err := env.svc.Organisations.SetTierOverride(ctx, histLA, sc.urn, pricing.Tier(s.Tier), "tier corrected")
		w.sysErr(s, "tier override", err)
		w.say(s, "an admin overrides %s's tier to %s (from today): %s", who, s.Tier, w.outcome(s, err))
		if err == nil {
			sc.override = true
			w.tell(s, oracle.TierFrom{At: s.At, School: sc.letter, Tier: s.Tier, EffectiveDay: s.At.In(traded.London).Format("2006-01-02")})
		}
	case opTierImport:
		sc := w.schools[s.School]
		who := w.who(s.School, s.At)
		l := s.At.In(traded.London)
		eff := time.Date(l.Year(), l.Month(), l.Day()+s.Days, 12, 0, 0, 0, time.UTC).Format("2006-01-02")
		ts := tierSetup[s.Tier]
		csv := "\"URN\",\"LA (code)\",\"EstablishmentName\",\"TypeOfEstablishment (name)\",\"EstablishmentStatus (name)\"\r\n" +
			fmt.Sprintf("\"%d\",\"%d\",\"%s\",\"%s\",\"Open\"\r\n", sc.urn, ts.la, w.schoolName(s.School), ts.kind)
		rep, err := env.svc.Organisations.ImportSchools(ctx, strings.NewReader(csv), int64(len(csv)), organisation.ImportOptions{EffectiveFrom: eff, Actor: histLA})
		w.sysErr(s, "import", err)
		if err == nil && len(rep.Rejected) > 0 {
			w.fail("error", "step %d: import rejected: %s", s.ID, rep)
		}
		note := ""
		if err == nil && s.Tier != sc.derived && !sc.override {
			w.tell(s, oracle.TierFrom{At: s.At, School: sc.letter, Tier: s.Tier, EffectiveDay: eff})
		} else if err == nil {
			note = " (no change of tier in force: " + map[bool]string{true: "an admin's override stands", false: "same type"}[sc.override] + ")"
		}
		if err == nil {
			sc.derived = s.Tier
		}
		w.say(s, "GIAS import: %s becomes %s %s (%s) effective %s%s: %s", who, ts.kind, strconv.Itoa(ts.la), s.Tier, eff, note, w.outcome(s, err))
	case opPublish:
		err := env.publish(s.Prices)
		w.sysErr(s, "publish", err)
		w.say(s, "the LA publishes a new 2021/22 price list (v%d):%s: %s", w.orcVersion+1, pricesText(s.Prices), w.outcome(s, err))
		if err == nil {
			w.orcVersion++
			w.tell(s, oracle.PublishPriceList{At: s.At, Version: w.orcVersion, Prices: s.Prices})
		}
	}
	w.refresh()
	w.noteConfirmations(s)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func (w *world) teacherName(wb *wBooking) string {
	if wb.teacher < 0 {
		return "the manager"
	}
	return fmt.Sprintf("teacher %s%d", w.schools[wb.school].letter, wb.teacher+1)
}

// tell gives the oracle an event; one it refuses means Traded allowed what
// the rules say cannot happen.
func (w *world) tell(s step, e oracle.Event) {
	if err := w.orc.Apply(e); err != nil {
		w.fail("oracle", "step %d (%s): Traded did it, the oracle refuses: %v", s.ID, opNames[s.Op], err)
	}
}

func (w *world) book(s step) {
	env, ctx := w.env, w.env.ctx
	sc := w.schools[s.School]
	sess := w.sessions[s.Session]
	by, whoName, n := sc.manager, "as manager", s.N
	var ds []booking.DelegateInput
	if s.Teacher >= 0 {
		by, n = sc.teachers[s.Teacher], 1
		whoName = fmt.Sprintf("as teacher %s%d", sc.letter, s.Teacher+1)
		ds = []booking.DelegateInput{{Name: by.Name, Email: by.Email}}
	} else {
		for i := range n {
			ds = append(ds, booking.DelegateInput{Name: fmt.Sprintf("Staff %d-%d", s.ID, i+1), Email: w.email(s.School, fmt.Sprintf("s%d-%d", s.ID, i+1))})
		}
	}
	who := w.who(s.School, s.At)
	// What the booking page shows before the user books (not for a
	// request, which is priced when approved).
	var quote *int64
	if !(s.Teacher >= 0 && sc.spec.Approval) {
		charges, _, err := env.svc.QuoteBooking(ctx, sc.urn, sess.ID, n)
		w.sysErr(s, "quote", err)
		if err == nil {
			var q int64
			for _, c := range charges {
				q += int64(c.Amount)
			}
			quote = &q
		}
	}
	wl := ""
	if s.Waitlist {
		wl = ", waiting list if full"
	}
	b, err := env.svc.CreateBooking(ctx, by, "", booking.BookingRequest{SessionID: sess.ID, URN: sc.urn, Delegates: ds, Waitlist: s.Waitlist})
	w.sysErr(s, "book", err)
	label := fmt.Sprintf("b%d", s.ID)
	if err != nil {
		w.say(s, "%s books %d on %s %s%s: %s", who, n, w.spec.Sessions[s.Session].Name, whoName, wl, w.outcome(s, err))
		return
	}
	w.count(fmt.Sprintf("book %s", b.Status))
	wb := &wBooking{label: label, step: s.ID, school: s.School, session: s.Session, teacher: s.Teacher, id: b.ID, b: b}
	if s.Teacher < 0 {
		wb.teacher = -1
	}
	w.bookings[s.ID] = wb
	w.order = append(w.order, s.ID)
	line := fmt.Sprintf("%s books %d on %s %s%s: %s %s", who, n, w.spec.Sessions[s.Session].Name, whoName, wl, label, b.Status)
	if b.Status == booking.StatusConfirmed {
		line += ", price " + b.Price.String()
		if quote != nil {
			line += " (quoted " + money(*quote) + ")"
			if *quote != int64(b.Price) {
				w.fail("quote", "step %d: %s was quoted %s before booking and priced %s", s.ID, label, money(*quote), b.Price)
			}
		}
		if !sc.spec.Monthly && b.Price > 0 {
			inv, err := env.bill.FindInvoiceByNumber(ctx, b.InvoiceNumber)
			if err != nil {
				w.fail("quote", "step %d: %s priced %s has no invoice (%v)", s.ID, label, b.Price, err)
			} else {
				line += fmt.Sprintf(", invoice %s %s", inv.Number, inv.Total)
				if quote != nil && int64(inv.Total) != *quote {
					w.fail("quote", "step %d: %s was quoted %s and invoiced %s", s.ID, label, money(*quote), inv.Total)
				}
			}
		}
	}
	w.lines = append(w.lines, fmt.Sprintf("%s  %s", w.when(s.At), line))
}

// refresh reads again every booking of the history that promotions,
// expiries or cancellations have changed (not only the one acted on): a
// cheap look at every booking's status and places, and the whole booking
// where either has moved.
func (w *world) refresh() {
	ctx := w.env.ctx
	if len(w.order) == 0 {
		return
	}
	var orgs []string
	for _, sc := range w.schools {
		orgs = append(orgs, strconv.FormatInt(sc.orgID, 10))
	}
	rows, err := w.env.db.Read().QueryContext(ctx, `SELECT b.id, b.status, b.late_cancel,
			(SELECT count(*) FROM delegates d WHERE d.booking_id = b.id AND d.status = 'active'),
			(SELECT COALESCE(SUM(d.id), 0) FROM delegates d WHERE d.booking_id = b.id AND d.status = 'active'),
			(SELECT COALESCE(SUM(c.amount_pence - c.credited_pence), 0) FROM booking_charges c WHERE c.booking_id = b.id)
		FROM bookings b WHERE b.organisation_id IN (`+strings.Join(orgs, ", ")+`)`)
	if err != nil {
		w.fail("error", "refresh: %v", err)
		return
	}
	type look struct {
		status      string
		late        bool
		active, ids int64
		net         int64
	}
	looks := map[int64]look{}
	for rows.Next() {
		var id int64
		var l look
		if err := rows.Scan(&id, &l.status, &l.late, &l.active, &l.ids, &l.net); err != nil {
			w.fail("error", "refresh: %v", err)
			break
		}
		looks[id] = l
	}
	rows.Close()
	for _, id := range w.order {
		wb := w.bookings[id]
		l, ok := looks[wb.id]
		var ids int64
		for _, d := range wb.b.Active() {
			ids += d.ID
		}
		if !ok || (l.status == wb.b.Status && l.late == wb.b.LateCancel && l.active == int64(len(wb.b.Active())) && l.ids == ids &&
			l.net == w.netCharges(wb.b)) {
			continue
		}
		b, err := w.env.svc.FindBookingByID(ctx, wb.id)
		if err != nil {
			w.fail("error", "refresh %s: %v", wb.label, err)
			continue
		}
		wb.b = b
	}
}

// noteConfirmations tells the oracle of every booking that has become
// confirmed (booked, approved or an offer taken), with its places then.
// checkShown: the figure shown before approving or taking an offer is the
// booking's price when confirmed, and what its invoice charges.
func (w *world) checkShown(s step, wb *wBooking, shown int64) {
	delete(w.shown, wb.label)
	var priced int64
	for _, c := range wb.b.Charges {
		priced += int64(c.Amount)
	}
	if priced != shown {
		w.fail("quote", "step %d: %s was shown %s before it was confirmed and priced %s", s.ID, wb.label, money(shown), money(priced))
	}
	if w.schools[wb.school].spec.Monthly || shown == 0 {
		return
	}
	got, err := w.env.svc.FindBookingByID(w.env.ctx, wb.id)
	if err != nil || got.InvoiceNumber == "" {
		w.fail("quote", "step %d: %s confirmed at %s has no invoice (%v)", s.ID, wb.label, money(shown), err)
		return
	}
	inv, err := w.env.bill.FindInvoiceByNumber(w.env.ctx, got.InvoiceNumber)
	if err != nil || int64(inv.Total) != shown {
		w.fail("quote", "step %d: %s was shown %s before it was confirmed and invoiced %v (%v)", s.ID, wb.label, money(shown), inv, err)
	}
}

func (w *world) noteConfirmations(s step) {
	for _, id := range w.order {
		wb := w.bookings[id]
		if wb.confirmed || wb.b.Status != booking.StatusConfirmed {
			continue
		}
		wb.confirmed = true
		n := len(wb.b.Active())
		w.tell(s, oracle.Confirm{At: s.At, Booking: wb.label, School: w.schools[wb.school].letter, Session: w.spec.Sessions[wb.session].Name, Places: n})
		if s.Op != opBook || s.ID != wb.step {
			w.lines = append(w.lines, fmt.Sprintf("%s      -> %s confirmed, %s, price %s", strings.Repeat(" ", len(w.when(s.At))), wb.label,
				plural(n, "place"), wb.b.Price))
		}
		if shown, ok := w.shown[wb.label]; ok && (s.Op == opApprove || s.Op == opAccept) {
			w.checkShown(s, wb, shown)
		}
	}
	// The places Traded holds for each confirmed booking are the oracle's.
	for _, id := range w.order {
		wb := w.bookings[id]
		if !wb.confirmed {
			continue
		}
		ob, _ := w.orc.Booking(wb.label)
		held := 0
		if wb.b.Status == booking.StatusConfirmed {
			held = len(wb.b.Active())
		}
		if ob.Held != held && ob.Cancelled != oracle.ByLA {
			w.fail("state", "after step %d: %s holds %d places in Traded (%s), %d by the oracle", s.ID, wb.label, held, wb.b.Status, ob.Held)
		}
	}
}

// ---- the checks after a history ----

type schoolFigures struct {
	invoiced, credited int64
}

func (w *world) finish() {
	if w.setupErr != nil {
		return
	}
	env, ctx := w.env, w.env.ctx
	monthly := slices.ContainsFunc(w.schools, func(s *wSchool) bool { return s.spec.Monthly })
	if monthly {
		env.clock.Set(through)
		run, err := env.bill.InvoiceMonthlyBookings(ctx, histLA, through)
		if err != nil {
			w.fail("error", "monthly run: %v", err)
		} else {
			w.lines = append(w.lines, fmt.Sprintf("%s  monthly run through %s: %d invoice(s) for %d booking(s) %v",
				w.when(through), through.In(traded.London).Format("2 Jan 2006"), len(run.Invoices), run.Bookings, run.Invoices))
		}
	}
	// (a) what each school owes.
	for _, sc := range w.schools {
		f := w.figures(sc)
		if want := w.orc.Owed(sc.letter); f.invoiced-f.credited != want {
			w.fail("owed", "school %s: the oracle says it owes %s; Traded invoiced %s and credited %s: %s", sc.letter, money(want),
				money(f.invoiced), money(f.credited), money(f.invoiced-f.credited))
		}
	}
	// (b) no money left on a booking with no chargeable place; (e) the
	// late-cancellation mark.
	for _, id := range w.order {
		wb := w.bookings[id]
		chargeable, share := 0, int64(0)
		ob, known := w.orc.Booking(wb.label)
		if known {
			chargeable, share = w.orc.Chargeable(wb.label), w.orc.Share(wb.label)
		}
		if share == 0 && chargeable == 0 {
			net, lines := w.net(wb)
			if net != 0 || lines != 0 {
				w.fail("zero-share", "%s (oracle: %s, no chargeable place, share £0.00; Traded: %s) still carries money: charges net %s, invoice lines net %s",
					wb.label, w.cancelText(ob, known), wb.b.Status, money(net), money(lines))
			}
		}
		if known && wb.b.Status == booking.StatusCancelled {
			switch {
			case ob.Cancelled == oracle.Free && wb.b.LateCancel:
				w.fail("late-flag", "%s was cancelled in the free window (%s), but Traded marks it a late cancellation", wb.label,
					ob.CancelledAt.In(traded.London).Format("Mon 2 Jan 15:04"))
			case ob.Cancelled == oracle.Late && share > 0 && !wb.b.LateCancel:
				w.fail("late-flag", "%s was cancelled after the cut-off (%s) and its charge of %s stands, but Traded does not mark it a late cancellation",
					wb.label, ob.CancelledAt.In(traded.London).Format("Mon 2 Jan 15:04"), money(share))
			}
		}
	}
	// (c) gap-free numbering, whatever else the database holds (checked
	// from where the previous history left off).
	for _, series := range []struct{ table, prefix, where string }{
		{"invoices", "TS-", "status = 'issued'"}, {"credit_notes", "CN-", "1 = 1"},
	} {
		rows, err := env.db.Read().QueryContext(ctx, `SELECT seq, number FROM `+series.table+` WHERE `+series.where+` AND seq > ? ORDER BY seq`,
			env.checked[series.table])
		if err != nil {
			w.fail("error", "series: %v", err)
			continue
		}
		for rows.Next() {
			var seq int
			var number string
			if err := rows.Scan(&seq, &number); err != nil {
				w.fail("error", "series: %v", err)
				break
			}
			i := env.checked[series.table] + 1
			if want := fmt.Sprintf("%s%06d", series.prefix, i); seq != i || number != want {
				w.fail("series", "%s: number %d of the series is %s (seq %d), want %s", series.table, i, number, seq, want)
			}
			env.checked[series.table] = seq
		}
		rows.Close()
	}
}

func (w *world) cancelText(ob oracle.Booking, known bool) string {
	switch {
	case !known:
		return "never confirmed"
	case ob.Cancelled == oracle.NotCancelled:
		return "confirmed"
	case ob.Cancelled == oracle.ByLA:
		return "session cancelled by the LA"
	}
	return "cancelled " + string(ob.Cancelled)
}

func (w *world) figures(sc *wSchool) schoolFigures {
	var f schoolFigures
	r := w.env.db.Read()
	if err := r.QueryRowContext(w.env.ctx, `SELECT COALESCE(SUM(total_pence), 0) FROM invoices WHERE organisation_id = ? AND status = 'issued'`,
		sc.orgID).Scan(&f.invoiced); err != nil {
		w.fail("error", "invoices: %v", err)
	}
	if err := r.QueryRowContext(w.env.ctx, `SELECT COALESCE(SUM(c.total_pence), 0) FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id
		WHERE i.organisation_id = ?`, sc.orgID).Scan(&f.credited); err != nil {
		w.fail("error", "credit notes: %v", err)
	}
	return f
}

// net returns what a booking's charges still come to, and what the invoice
// lines billing it (by its charges, or naming it) come to less their credits.
func (w *world) net(wb *wBooking) (charges, lines int64) {
	r := w.env.db.Read()
	if err := r.QueryRowContext(w.env.ctx, `SELECT COALESCE(SUM(amount_pence - credited_pence), 0) FROM booking_charges WHERE booking_id = ?`,
		wb.id).Scan(&charges); err != nil {
		w.fail("error", "booking charges: %v", err)
	}
	if err := r.QueryRowContext(w.env.ctx, `SELECT COALESCE(SUM(l.net_pence + l.vat_pence
			- COALESCE((SELECT SUM(cl.net_pence + cl.vat_pence) FROM credit_note_lines cl WHERE cl.invoice_line_id = l.id), 0)), 0)
		FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id
		WHERE i.organisation_id = ? AND i.status = 'issued' AND (l.description LIKE '%(booking ' || ? || ')%'
			OR EXISTS (SELECT 1 FROM invoiced_charges c WHERE c.booking_id = ? AND c.invoice_id = l.invoice_id AND c.invoice_line = l.position))`,
		w.schools[wb.school].orgID, wb.b.Reference, wb.id).Scan(&lines); err != nil {
		w.fail("error", "invoice lines: %v", err)
	}
	return charges, lines
}

// ---- the script of a history ----

func (w *world) script() string {
	var b strings.Builder
	used := map[int]bool{}
	usedSess := map[int]bool{}
	for _, s := range w.spec.Steps {
		switch s.Op {
		case opBook, opSubscribe, opTierOverride, opTierImport:
			used[s.School] = true
			if s.Op == opBook {
				usedSess[s.Session] = true
			}
		case opCancelSession:
			usedSess[s.Session] = true
		}
	}
	start := "the published list (v1)"
	if w.spec.Prices != nil {
		start = "a list published earlier (v2):" + pricesText(*w.spec.Prices)
	}
	fmt.Fprintf(&b, "history %d of seed %d; 2021/22 price list current at the start: %s\n", w.spec.Index, w.spec.Seed, start)
	for i, sc := range w.schools {
		if !used[i] {
			continue
		}
		inv := "invoiced per booking"
		if sc.spec.Monthly {
			inv = "invoiced monthly"
		}
		appr := "teachers book without approval"
		if sc.spec.Approval {
			appr = "teachers' bookings need the manager's approval"
		}
		fmt.Fprintf(&b, "  school %s: %s (URN %d), %s, %s\n", sc.letter, sc.spec.Tier, sc.urn, inv, appr)
	}
	for i, ss := range w.spec.Sessions {
		if !usedSess[i] {
			continue
		}
		cut, _ := oracle.FreeCancellationUntil(ss.Start, oracle.DefaultCancelWorkingDays)
		until := cut.In(traded.London).Format("Mon 2 Jan 15:04")
		if l := cut.In(traded.London); l.Hour() == 0 && l.Minute() == 0 {
			until = "the end of " + l.Add(-time.Minute).Format("Mon 2 Jan")
		}
		fmt.Fprintf(&b, "  session %s: %s %s, %s, %d places, free cancellation until %s\n", ss.Name, ss.Kind, ss.Course,
			ss.Start.In(traded.London).Format("Mon 2 Jan 2006 15:04"), ss.Capacity, until)
	}
	for _, l := range w.lines {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	b.WriteString("  expected (oracle) and actual (Traded):\n")
	for i, sc := range w.schools {
		if !used[i] {
			continue
		}
		f := w.figures(sc)
		mark := "ok"
		if f.invoiced-f.credited != w.orc.Owed(sc.letter) {
			mark = "WRONG"
		}
		fmt.Fprintf(&b, "    school %s owes %s (subscriptions %s); Traded invoiced %s, credited %s, net %s  %s\n", sc.letter,
			money(w.orc.Owed(sc.letter)), money(w.orc.Subscriptions(sc.letter)), money(f.invoiced), money(f.credited),
			money(f.invoiced-f.credited), mark)
	}
	for _, id := range w.order {
		wb := w.bookings[id]
		ob, known := w.orc.Booking(wb.label)
		charges, lines := w.net(wb)
		exp := "never confirmed: owes nothing"
		if known {
			exp = fmt.Sprintf("share %s, %s chargeable, %s", money(w.orc.Share(wb.label)), plural(w.orc.Chargeable(wb.label), "place"),
				w.cancelText(ob, known))
			if known {
				exp += fmt.Sprintf("; rates %s%s list v%d", ob.Tier, map[bool]string{true: " subscriber", false: ""}[ob.Subscriber], ob.Version)
			}
		}
		fmt.Fprintf(&b, "    %s %s %s: %s; Traded: %s, late_cancel=%t, charges net %s, invoice lines net %s\n", wb.label,
			w.schools[wb.school].letter, w.spec.Sessions[wb.session].Name, exp, wb.b.Status, wb.b.LateCancel, money(charges), money(lines))
	}
	if len(w.fails) == 0 {
		b.WriteString("  every check passed\n")
	} else {
		b.WriteString("  failed:\n")
	}
	for _, f := range w.fails {
		fmt.Fprintf(&b, "    [%s] %s\n", f.check, f.msg)
	}
	return b.String()
}

// ---- making histories ----

func randomSpec(rng *rand.Rand, index int, seed uint64) *historySpec {
	spec := &historySpec{Index: index, Seed: seed}
	for range 1 + rng.IntN(3) {
		spec.Schools = append(spec.Schools, schoolSpec{Tier: oracle.Tiers[rng.IntN(3)], Monthly: rng.IntN(10) < 3, Approval: rng.IntN(2) == 0})
	}
	first := time.Date(2021, 10, 4, 0, 0, 0, 0, time.UTC)
	nPSA, nMod := 1+rng.IntN(2), 1+rng.IntN(2)
	for i := range nPSA + nMod {
		ss := sessionSpec{Kind: oracle.PSASession, Capacity: 2 + rng.IntN(5)}
		d := first.AddDate(0, 0, rng.IntN(75))
		for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			d = d.AddDate(0, 0, 1)
		}
		hh, mm := 16, 0
		if i < nPSA {
			ss.Name, ss.Course = fmt.Sprintf("PSA-%d", i+1), psaCourses[rng.IntN(len(psaCourses))]
		} else {
			ss.Name, ss.Kind, ss.Course = fmt.Sprintf("MOD-%d", i-nPSA+1), oracle.Moderation, modCourses[rng.IntN(len(modCourses))]
			hh, mm = 13, 30
		}
		ss.Start = time.Date(d.Year(), d.Month(), d.Day(), hh, mm, 0, 0, traded.London).UTC()
		spec.Sessions = append(spec.Sessions, ss)
	}
	return spec
}

func nextTime(rng *rand.Rand, at time.Time) time.Time {
	var d time.Duration
	switch r := rng.IntN(10); {
	case r < 4:
		d = time.Duration(rng.IntN(5*60)) * time.Minute
	case r < 8:
		d = time.Duration(24*60+rng.IntN(4*24*60)) * time.Minute
	default:
		d = time.Duration(5*24*60+rng.IntN(9*24*60)) * time.Minute
	}
	return at.Add(d).Truncate(time.Minute)
}

// newPrices is a corrected tariff: the published one moved by one factor
// (85% to 125%), each price rounded to 5p.
func newPrices(rng *rand.Rand) oracle.Prices {
	pub, pct := oracle.Published(), int64(85+rng.IntN(41))
	f := func(x int64) int64 { return (x*pct/100 + 2) / 5 * 5 }
	out := oracle.Prices{Subscription: map[oracle.Tier]int64{}, Session: map[oracle.Tier]int64{}, Moderation: map[oracle.Tier]oracle.ModerationRates{}}
	for _, t := range oracle.Tiers {
		m := pub.Moderation[t]
		out.Subscription[t], out.Session[t] = f(pub.Subscription[t]), f(pub.Session[t])
		out.Moderation[t] = oracle.ModerationRates{SubscriberFirst: f(m.SubscriberFirst), SubscriberAdditional: f(m.SubscriberAdditional),
			First: f(m.First), Additional: f(m.Additional)}
	}
	return out
}

// generate plays a random history on w, choosing each step from the state
// the previous ones left, and records the steps in w.spec.
func (w *world) generate(rng *rand.Rand) {
	if w.setupErr != nil {
		w.fail("error", "setup: %v", w.setupErr)
		return
	}
	var last time.Time
	for _, s := range w.spec.Sessions {
		if s.Start.After(last) {
			last = s.Start
		}
	}
	at := historyStart
	nSteps := 8 + rng.IntN(33)
	for id := 1; id <= nSteps; id++ {
		prev := at
		at = nextTime(rng, at)
		if at.After(last) {
			break
		}
		s, ok := w.pick(rng, id, prev, at)
		if !ok {
			continue
		}
		at = s.At
		w.spec.Steps = append(w.spec.Steps, s)
		w.do(s)
	}
}

type choice struct {
	weight float64
	make   func() step
}

func (w *world) bookingsIn(statuses ...string) []*wBooking {
	var out []*wBooking
	for _, id := range w.order {
		if wb := w.bookings[id]; slices.Contains(statuses, wb.b.Status) {
			out = append(out, wb)
		}
	}
	return out
}

// pick chooses the next step, at at (after prev, the time of the step
// before), from what the state allows.
func (w *world) pick(rng *rand.Rand, id int, prev, at time.Time) (step, bool) {
	base := step{ID: id, At: at, Teacher: -1}
	var cs []choice
	add := func(weight float64, f func(s *step)) {
		cs = append(cs, choice{weight, func() step { s := base; f(&s); return s }})
	}
	var open []int
	for i, sess := range w.sessions {
		if sess.Status == "scheduled" && at.Before(sess.BookingCutoffAt) {
			open = append(open, i)
		}
	}
	if len(open) > 0 {
		add(6, func(s *step) {
			s.Op, s.School, s.Session = opBook, rng.IntN(len(w.schools)), open[rng.IntN(len(open))]
			s.N, s.Waitlist = 1+rng.IntN(3), rng.IntN(2) == 0
			if rng.IntN(3) == 0 {
				s.Teacher = rng.IntN(2)
			}
		})
	}
	var unsubscribed []int
	for i, sc := range w.schools {
		if !w.orc.Subscriber(sc.letter, at) {
			unsubscribed = append(unsubscribed, i)
		}
	}
	if len(unsubscribed) > 0 {
		add(1.2, func(s *step) { s.Op, s.School = opSubscribe, unsubscribed[rng.IntN(len(unsubscribed))] })
	}
	pickOf := func(bs []*wBooking) int { return bs[rng.IntN(len(bs))].step }
	if rs := w.bookingsIn(booking.StatusRequested); len(rs) > 0 {
		add(3, func(s *step) {
			s.Op, s.Booking = opApprove, pickOf(rs)
			if rng.IntN(4) == 0 {
				s.Op = opDecline
			}
		})
	}
	// Cancelling a place someone waits for makes an offer.
	waiting := map[int]bool{}
	for _, wb := range w.bookingsIn(booking.StatusWaitlisted) {
		waiting[wb.session] = true
	}
	var freeing []*wBooking
	for _, wb := range w.bookingsIn(booking.StatusConfirmed) {
		if waiting[wb.session] {
			freeing = append(freeing, wb)
		}
	}
	if len(freeing) > 0 {
		add(1.5, func(s *step) { s.Op, s.Booking = opCancel, pickOf(freeing) })
	}
	if bs := w.bookingsIn(booking.StatusConfirmed, booking.StatusRequested, booking.StatusWaitlisted, booking.StatusOffered); len(bs) > 0 {
		add(2.5, func(s *step) { s.Op, s.Booking = opCancel, pickOf(bs) })
		var multi []*wBooking
		for _, wb := range bs {
			if len(wb.b.Active()) >= 2 {
				multi = append(multi, wb)
			}
		}
		if len(multi) > 0 {
			add(2.5, func(s *step) { s.Op, s.Booking, s.Which = opCancelPlace, pickOf(multi), rng.IntN(3) })
		}
	}
	if bs := w.bookingsIn(booking.StatusConfirmed); len(bs) > 0 {
		add(0.8, func(s *step) { s.Op, s.Booking, s.Which = opSwap, pickOf(bs), rng.IntN(3) })
	}
	if offered := w.bookingsIn(booking.StatusOffered); len(offered) > 0 {
		var live []*wBooking
		for _, wb := range offered {
			if wb.b.OfferExpiresAt.After(prev.Add(time.Minute)) {
				live = append(live, wb)
			}
		}
		weight := 8.0
		if len(live) == 0 { // only lapsed offers: taking one is refused
			live, weight = offered, 0.3
		}
		add(weight, func(s *step) {
			wb := live[rng.IntN(len(live))]
			s.Op, s.Booking, s.ByTeacher = opAccept, wb.step, rng.IntN(2) == 0
			if rng.IntN(4) == 0 {
				s.Op = opDeclineOffer
			}
			// Mostly while the offer is held; sometimes once it has lapsed.
			if hold := wb.b.OfferExpiresAt.Sub(prev); hold > time.Minute && rng.IntN(5) > 0 {
				s.At = prev.Add(time.Duration(rng.Int64N(int64(hold)))).Truncate(time.Minute)
				if s.At.Before(prev) {
					s.At = prev
				}
			}
		})
		add(1.5, func(s *step) {
			s.Op = opExpire
			soonest := offered[0].b.OfferExpiresAt
			for _, wb := range offered {
				if wb.b.OfferExpiresAt.Before(soonest) {
					soonest = wb.b.OfferExpiresAt
				}
			}
			if t := soonest.Add(time.Duration(1+rng.IntN(180)) * time.Minute).Truncate(time.Minute); t.After(s.At) {
				s.At = t
			}
		})
	}
	var scheduled []int
	for i, sess := range w.sessions {
		if sess.Status == "scheduled" && at.Before(sess.StartsAt) {
			scheduled = append(scheduled, i)
		}
	}
	if len(scheduled) > 0 {
		add(0.3, func(s *step) { s.Op, s.Session = opCancelSession, scheduled[rng.IntN(len(scheduled))] })
	}
	// At most one change of tier per school: how an override and a GIAS
	// change pending from a later date combine is not written down.
	var steady []int
	for i, sc := range w.schools {
		if !sc.tierStep {
			steady = append(steady, i)
		}
	}
	if len(steady) > 0 {
		add(0.6, func(s *step) {
			s.School = steady[rng.IntN(len(steady))]
			sc := w.schools[s.School]
			now := w.orc.TierOn(sc.letter, at.In(traded.London).Format("2006-01-02"))
			for s.Tier = oracle.Tiers[rng.IntN(3)]; s.Tier == now || s.Tier == sc.derived; s.Tier = oracle.Tiers[rng.IntN(3)] {
			}
			s.Op = opTierImport
			if rng.IntN(3) == 0 {
				s.Op = opTierOverride
			} else if rng.IntN(4) == 0 {
				s.Days = -rng.IntN(10) // effective from a past date
			} else {
				s.Days = rng.IntN(45) // from today or a later date
			}
		})
	}
	if w.publishes < 1 {
		add(0.3, func(s *step) { s.Op, s.Prices = opPublish, newPrices(rng) })
	}
	for range 20 {
		if len(cs) == 0 {
			return step{}, false
		}
		var total float64
		for _, c := range cs {
			total += c.weight
		}
		r, k := rng.Float64()*total, len(cs)-1
		for i, c := range cs {
			if r -= c.weight; r < 0 {
				k = i
				break
			}
		}
		s := cs[k].make()
		if w.ops != nil && !w.ops[s.Op] {
			continue // not wanted (TRADED_HISTORY_OPS): choose again
		}
		if s.Op == opPublish {
			w.publishes++
		}
		switch s.Op {
		case opTierImport, opTierOverride:
			w.schools[s.School].tierStep = true
		}
		return s, true
	}
	return step{}, false
}

// ---- shrinking ----

// replayFresh plays a history's steps on a fresh database and checks it.
func replayFresh(template string, spec *historySpec) (*world, error) {
	dir, err := os.MkdirTemp("", "traded-history")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	env, err := openHistEnv(dir, template)
	if err != nil {
		return nil, err
	}
	defer env.close()
	w := newWorld(env, spec)
	w.play(spec.Steps)
	w.finish()
	w.finalScript = w.script() // it reads the database

	return w, nil
}

// shrink removes steps (in chunks, then one at a time) while the history,
// replayed on a fresh database, still fails check. It stops at the deadline
// with the shortest found so far.
func shrink(template string, spec *historySpec, check string, deadline time.Time) (*world, bool) {
	best, err := replayFresh(template, spec)
	if err != nil || !best.has(check) {
		return best, false
	}
	steps, prices := spec.Steps, spec.Prices
	try := func(cand []step, p *oracle.Prices) bool {
		if time.Now().After(deadline) {
			return false
		}
		sp := *spec
		sp.Steps, sp.Prices = cand, p
		w, err := replayFresh(template, &sp)
		if err != nil || !w.has(check) {
			return false
		}
		best, steps, prices = w, cand, p
		return true
	}
	// The published tariff makes an easier script to read.
	if prices != nil {
		try(steps, nil)
	}
	for chunk := len(steps) / 2; chunk >= 1; chunk /= 2 {
		for i := 0; i+chunk <= len(steps); {
			cand := append(slices.Clone(steps[:i]), steps[i+chunk:]...)
			if !try(cand, prices) {
				i += chunk
			}
		}
	}
	for changed := true; changed && time.Now().Before(deadline); {
		changed = false
		for i := 0; i < len(steps); {
			if try(append(slices.Clone(steps[:i]), steps[i+1:]...), prices) {
				changed = true
			} else {
				i++
			}
		}
	}
	return best, true
}

// signature tells failures apart for reporting: the check and the kinds of
// step the shrunk history needs.
func signature(check string, w *world) string {
	kinds := map[string]bool{}
	for _, s := range w.spec.Steps {
		k := opNames[s.Op]
		if s.Op == opBook && s.Teacher >= 0 {
			k = "teacher-book"
		}
		kinds[k] = true
	}
	var ks []string
	for k := range kinds {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return check + ": " + strings.Join(ks, ",")
}

// opsFromEnv reads TRADED_HISTORY_OPS, the kinds of step to generate
// (comma-separated names as opNames spells them; all when unset), to look
// at one part of the rules at a time.
func opsFromEnv() (map[opKind]bool, error) {
	v := strings.TrimSpace(os.Getenv("TRADED_HISTORY_OPS"))
	if v == "" {
		return nil, nil
	}
	ops := map[opKind]bool{}
	for _, name := range strings.Split(v, ",") {
		found := false
		for k, n := range opNames {
			if n == strings.TrimSpace(name) {
				ops[k], found = true, true
			}
		}
		if !found {
			var all []string
			for _, n := range opNames {
				all = append(all, n)
			}
			sort.Strings(all)
			return nil, fmt.Errorf("TRADED_HISTORY_OPS: no kind of step %q; the kinds are %s", name, strings.Join(all, ","))
		}
	}
	return ops, nil
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

// TestBookingHistories runs random booking histories against the real
// services and checks each against internal/oracle: (a) what each school
// was invoiced less what it was credited is what the oracle says it owes;
// (b) a booking with no chargeable place and no share carries no money on
// its charges or invoice lines; (c) invoice and credit-note numbers run
// without gaps; (d) the price quoted before a booking is the one it is
// priced and invoiced at; and a cancellation in the free window is not
// marked late (nor a paid one after it left unmarked).
//
// Histories are packed many to a database (each its own schools and
// sessions), on TRADED_HISTORY_WORKERS databases at once; a failing one is
// shrunk and replayed alone on a fresh database.
func TestBookingHistories(t *testing.T) {
	n := envInt("TRADED_HISTORIES", defaultHistories)
	seed := uint64(envInt("TRADED_HISTORY_SEED", defaultSeed))
	workers := max(1, envInt("TRADED_HISTORY_WORKERS", 2))
	reports := envInt("TRADED_HISTORY_REPORTS", 8)
	budget := time.Duration(envInt("TRADED_HISTORY_SHRINK_SECONDS", 90)) * time.Second
	t.Logf("TRADED_HISTORIES=%d TRADED_HISTORY_SEED=%d TRADED_HISTORY_WORKERS=%d", n, seed, workers)
	ops, err := opsFromEnv()
	if err != nil {
		t.Fatal(err)
	}

	type failed struct {
		spec  *historySpec
		fails []failure
	}
	tdir := t.TempDir()
	tenv, err := openHistEnv(tdir, "")
	if err != nil {
		t.Fatal(err)
	}
	tenv.close()
	template := filepath.Join(tdir, "traded.db")

	results := make([][]failed, workers)
	stepsDone := make([]int, workers)
	stats := make([]map[string]int, workers)
	errs := make(chan error, workers)
	began := time.Now()
	for k := range workers {
		stats[k] = map[string]int{}
		go func() {
			var env *histEnv
			defer func() {
				if env != nil {
					env.close()
				}
			}()
			for i, j := k, 0; i < n; i, j = i+workers, j+1 {
				// A new database now and then: packed too full, the
				// service slows down.
				if j%perDatabase == 0 {
					if env != nil {
						env.close()
					}
					dir, err := os.MkdirTemp(tdir, "packed")
					if err == nil {
						env, err = openHistEnv(dir, template)
					}
					if err != nil {
						errs <- err
						return
					}
				}
				rng := rand.New(rand.NewPCG(seed, uint64(i)))
				spec := randomSpec(rng, i+1, seed)
				if env.changed {
					p := env.prices
					spec.Prices = &p
				}
				w := newWorld(env, spec)
				w.ops, w.stats = ops, stats[k]
				w.generate(rng)
				w.finish()
				stepsDone[k] += len(spec.Steps)
				if len(w.fails) > 0 {
					results[k] = append(results[k], failed{spec, w.fails})
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(began)
	var failing []failed
	steps := 0
	for k := range workers {
		failing = append(failing, results[k]...)
		steps += stepsDone[k]
	}
	t.Logf("%d histories (%d steps) in %s: %.0f histories/s; %d failed", n, steps, elapsed.Round(time.Millisecond),
		float64(n)/elapsed.Seconds(), len(failing))
	all := map[string]int{}
	for k := range workers {
		for what, c := range stats[k] {
			all[what] += c
		}
	}
	var lines []string
	for what, c := range all {
		lines = append(lines, fmt.Sprintf("%s %d", what, c))
	}
	sort.Strings(lines)
	t.Logf("steps: %s", strings.Join(lines, ", "))
	if len(failing) == 0 {
		return
	}
	counts := map[string]int{}
	for _, f := range failing {
		seen := map[string]bool{}
		for _, x := range f.fails {
			if !seen[x.check] {
				seen[x.check] = true
				counts[x.check]++
			}
		}
	}
	var ks []string
	for k, c := range counts {
		ks = append(ks, fmt.Sprintf("%s %d", k, c))
	}
	sort.Strings(ks)
	t.Errorf("%d of %d histories failed (histories failing each check: %s); shrinking up to %d of them, for at most %s",
		len(failing), n, strings.Join(ks, ", "), reports, budget)

	// Shrink failures, the shortest histories first, for each check they
	// fail, and show each different shortest history once: a check and the
	// kinds of step it needs tell different bugs apart, roughly.
	sort.SliceStable(failing, func(i, j int) bool {
		if len(failing[i].spec.Steps) != len(failing[j].spec.Steps) {
			return len(failing[i].spec.Steps) < len(failing[j].spec.Steps)
		}
		return failing[i].spec.Index < failing[j].spec.Index
	})
	deadline := time.Now().Add(budget)
	seen := map[string]bool{}
	shown := 0
	for _, f := range failing {
		var checks []string
		for _, x := range f.fails {
			if !slices.Contains(checks, x.check) {
				checks = append(checks, x.check)
			}
		}
		for _, check := range checks {
			if shown >= reports || time.Now().After(deadline) {
				break
			}
			w, ok := shrink(template, f.spec, check, deadline)
			if !ok {
				if w != nil {
					t.Errorf("history %d fails [%s] packed with others but passes alone on a fresh database; packed it said: %s",
						f.spec.Index, check, f.fails[0].msg)
					shown++
				}
				continue
			}
			sig := signature(check, w)
			var ids []string
			for _, s := range w.spec.Steps {
				ids = append(ids, strconv.Itoa(s.ID))
			}
			same := fmt.Sprintf("%d:%s", f.spec.Index, strings.Join(ids, ","))
			if seen[sig] || seen[same] {
				continue
			}
			seen[sig], seen[same] = true, true
			shown++
			t.Errorf("FAILED [%s], shrunk from %d to %d steps; replayed alone on a fresh database:\n%s", check, len(f.spec.Steps),
				len(w.spec.Steps), w.finalScript)
		}
	}
}

// ---- hand-written histories ----

// londonAt is a London wall-clock time as UTC.
func londonAt(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, traded.London)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// TestBookingHistoryScripts plays hand-written histories through the same
// harness: one for each rule of "What a school owes for one session", and
// each bug the random histories found (so each has a name to run). Steps
// are numbered from 1; a booking is named by the number of the step that
// made it. MOD and PSA are on Wednesday 10 November 2021 (free cancellation
// until the end of Wednesday 27 October); MOD2 on Thursday 11 November.
func TestBookingHistoryScripts(t *testing.T) {
	sessions := []sessionSpec{
		{Name: "MOD", Kind: oracle.Moderation, Course: "mod-y2-new", Start: londonAt("2021-11-10 13:30"), Capacity: 10},
		{Name: "PSA", Kind: oracle.PSASession, Course: "psa-ks1-taf", Start: londonAt("2021-11-10 16:00"), Capacity: 10},
		{Name: "ONE", Kind: oracle.Moderation, Course: "mod-y6-new", Start: londonAt("2021-11-11 13:30"), Capacity: 1},
	}
	const (
		mod, psa, one = 0, 1, 2
		early         = "2021-09-13 10:00" // long before the cut-off
		inTime        = "2021-10-27 23:59" // the last minute of free cancellation
		late          = "2021-10-28 09:00" // after it
	)
	book := func(at string, school, session, n int) step {
		return step{At: londonAt(at), Op: opBook, School: school, Session: session, N: n, Teacher: -1}
	}
	teacher := func(at string, school, session, which int) step {
		return step{At: londonAt(at), Op: opBook, School: school, Session: session, N: 1, Teacher: which}
	}
	on := func(at string, op opKind, bookingStep int) step {
		return step{At: londonAt(at), Op: op, Booking: bookingStep, Teacher: -1}
	}
	subscribe := func(at string, school int) step {
		return step{At: londonAt(at), Op: opSubscribe, School: school, Teacher: -1}
	}
	waitlist := func(s step) step { s.Waitlist = true; return s }
	maintained := []schoolSpec{{Tier: oracle.Maintained}}
	pricesUp := oracle.Published()
	pricesUp.Moderation = map[oracle.Tier]oracle.ModerationRates{}
	for _, tr := range oracle.Tiers {
		m := oracle.Published().Moderation[tr]
		pricesUp.Moderation[tr] = oracle.ModerationRates{SubscriberFirst: m.SubscriberFirst + 500, SubscriberAdditional: m.SubscriberAdditional + 500,
			First: m.First + 500, Additional: m.Additional + 500}
	}
	template := scriptTemplate(t)
	for _, tt := range []struct {
		name    string
		schools []schoolSpec
		steps   []step
	}{
		// Rule 5 and 6: a school that cancels everything in time owes nothing.
		{"ModerationCancelFirstThenSecondInTime", maintained, []step{
			book(early, 0, mod, 1), book(early, 0, mod, 2), on(inTime, opCancel, 1), on(inTime, opCancel, 2)}},
		// Rule 6: the booking that paid the first-person price is credited in
		// full; the next one pays the difference.
		{"ModerationCancelFirstInTime", maintained, []step{
			book(early, 0, mod, 1), book(early, 0, mod, 1), on(inTime, opCancel, 1)}},
		{"PSASharedPlaceCancelFirstInTime", maintained, []step{
			book(early, 0, psa, 1), book(early, 0, psa, 1), on(inTime, opCancel, 1)}},
		{"PSASharedPlaceCancelBothInTime", maintained, []step{
			book(early, 0, psa, 1), book(early, 0, psa, 1), on(inTime, opCancel, 1), on(inTime, opCancel, 2)}},
		// Rule 6 then a new booking: charged once, not twice.
		{"PSACancelInTimeThenBookAgain", []schoolSpec{{Tier: oracle.External}}, []step{
			book(early, 0, psa, 3), teacher(early, 0, psa, 0), on(inTime, opCancel, 1), book(inTime, 0, psa, 1)}},
		// Rule 6: a booking that now owes less is credited, whichever
		// booking's place was cancelled: the third subscriber's place shares
		// the place bought before subscribing once a free one is given up.
		{"PSACancelPlaceInTimeCreditsAnotherBooking", []schoolSpec{{Tier: oracle.External}}, []step{
			book(early, 0, psa, 1), subscribe(early, 0), book(early, 0, psa, 3), book(early, 0, psa, 1),
			{At: londonAt(inTime), Op: opCancelPlace, Booking: 3}}},
		// Rule 2 and 7: a late cancellation still counts.
		{"ModerationLateCancelStillCounts", []schoolSpec{{Tier: oracle.External}}, []step{
			book(early, 0, mod, 2), on(late, opCancel, 1), book(late, 0, mod, 2)}},
		{"PSALateCancelStillCounts", maintained, []step{
			book(early, 0, psa, 1), on(late, opCancel, 1), book(late, 0, psa, 1)}},
		// ... also as one of the subscription's 2 free places (rule 2 read
		// literally: the late-cancelled place counts as if still held).
		{"PSALateCancelledFreePlaceStillCounts", []schoolSpec{{Tier: oracle.External}}, []step{
			subscribe(early, 0), book(early, 0, psa, 1), on(late, opCancel, 2), book(late, 0, psa, 2)}},
		// Rule 8: the LA cancelling the session credits late cancellations too.
		{"SessionCancelledAfterLateCancel", []schoolSpec{{Tier: oracle.Academy}}, []step{
			book(early, 0, mod, 1), on(late, opCancel, 1), {At: londonAt(late).Add(time.Hour), Op: opCancelSession, Session: mod}}},
		// Rule 1: each booking keeps the price list it was confirmed under.
		{"NewPriceListThenCancelPlaceInTime", maintained, []step{
			book(early, 0, mod, 3), {At: londonAt(early).Add(time.Hour), Op: opPublish, Prices: pricesUp}, {At: londonAt(inTime), Op: opCancelPlace, Booking: 1}}},
		// Rule 1: ... and its tier.
		{"TierOverrideThenCancelPlaceInTime", []schoolSpec{{Tier: oracle.External}}, []step{
			book(early, 0, mod, 3), {At: londonAt(early).Add(time.Hour), Op: opTierOverride, School: 0, Tier: oracle.Academy},
			{At: londonAt(inTime), Op: opCancelPlace, Booking: 1}}},
		// Rule 1: ... and whether it was made as a subscriber.
		{"SubscribedBetweenBookingsThenCancelPlaceInTime", []schoolSpec{{Tier: oracle.Academy}}, []step{
			book(early, 0, mod, 1), subscribe(early, 0), book(early, 0, mod, 3), {At: londonAt(inTime), Op: opCancelPlace, Booking: 3}}},
		// The tier in force: a GIAS change from a later date changes nothing yet.
		{"FutureTierNotYetForBooking", []schoolSpec{{Tier: oracle.External}}, []step{
			{At: londonAt(early), Op: opTierImport, School: 0, Tier: oracle.Maintained, Days: 60}, book(early, 0, mod, 1)}},
		{"FutureTierNotYetForSubscription", []schoolSpec{{Tier: oracle.External}}, []step{
			{At: londonAt(early), Op: opTierImport, School: 0, Tier: oracle.Maintained, Days: 60}, subscribe(early, 0)}},
		// A monthly school's free cancellation is never billed.
		{"MonthlyCancelFirstInTime", []schoolSpec{{Tier: oracle.Maintained, Monthly: true}}, []step{
			book(early, 0, mod, 1), book(early, 0, mod, 1), on(inTime, opCancel, 1)}},
		// Rule 9: requests and waiting-list offers are priced when confirmed.
		{"RequestApprovedAfterSubscribing", []schoolSpec{{Tier: oracle.Maintained, Approval: true}}, []step{
			teacher(early, 0, mod, 0), subscribe(early, 0), on(early, opApprove, 1)}},
		{"OfferTakenAfterAPlaceFrees", []schoolSpec{{Tier: oracle.Maintained}, {Tier: oracle.External}}, []step{
			book(early, 0, one, 1), waitlist(book(early, 1, one, 1)), on(inTime, opCancel, 1), on(inTime, opAccept, 2)}},
		{"OfferLapses", []schoolSpec{{Tier: oracle.Maintained}, {Tier: oracle.External}}, []step{
			book(early, 0, one, 1), waitlist(book(early, 1, one, 1)), on(early, opCancel, 1),
			{At: londonAt(early).Add(49 * time.Hour), Op: opExpire}, on(londonAt(early).Add(50*time.Hour).In(traded.London).Format("2006-01-02 15:04"), opAccept, 2)}},
		// Swapping a delegate changes nothing.
		{"SwapThenCancelLate", []schoolSpec{{Tier: oracle.Academy}}, []step{
			book(early, 0, mod, 2), on(early, opSwap, 1), on(late, opCancel, 1)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec := &historySpec{Index: 1, Schools: tt.schools, Sessions: sessions}
			for i, s := range tt.steps {
				s.ID = i + 1
				spec.Steps = append(spec.Steps, s)
			}
			w, err := replayFresh(template, spec)
			if err != nil {
				t.Fatal(err)
			}
			if len(w.fails) > 0 {
				t.Errorf("\n%s", w.finalScript)
			} else if testing.Verbose() {
				t.Logf("\n%s", w.finalScript)
			}
		})
	}
}

// scriptTemplate is a migrated database to copy, made once per test.
func scriptTemplate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	env, err := openHistEnv(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	env.close()
	return filepath.Join(dir, "traded.db")
}
