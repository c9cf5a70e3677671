package notify_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-smtp"

	"traded"
	"traded/account"
	"traded/app"
	"traded/billing"
	"traded/booking"
	"traded/catalogue"
	"traded/demo"
	"traded/mail"
	"traded/notify"
	"traded/store"
	"traded/store/storetest"
)

const (
	baseURL  = "https://traded.test"
	contact  = "training@essex.example"
	mailFrom = "traded@essex.gov.uk"
	fromName = "Essex Traded Services"

	managerEmail = "manager@chelmervalley.example" // Morgan Manager, school_manager of 990001
	teacherEmail = "teacher@chelmervalley.example" // Taylor Teacher, teacher of 990001
	urn          = 990001

	coursePSA        = "psa-ks2-taf"      // Tue 19 Jan 2027 16:00 GMT
	coursePSA2       = "psa-y2-refresher" // Thu 28 Jan 2027 16:00 GMT
	courseModeration = "mod-y2-new"       // Wed 20 Jan 2027 13:30 GMT
)

// smtpServer is a real SMTP server (go-smtp) on a local port that keeps
// every message it accepts. It can be stopped and started again on the same
// address, as a mail server going down and coming back.
type smtpServer struct {
	t    *testing.T
	addr string

	mu   sync.Mutex
	srv  *smtp.Server
	ln   net.Listener
	done chan struct{}
	msgs [][]byte
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	s := &smtpServer{t: t, addr: "127.0.0.1:0"}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *smtpServer) port() int {
	_, p, _ := net.SplitHostPort(s.addr)
	n, _ := strconv.Atoi(p)
	return n
}

// start listens on the server's address (a random port the first time).
func (s *smtpServer) start() {
	s.t.Helper()
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("listen %s: %v", s.addr, err)
	}
	s.addr = ln.Addr().String()
	srv := smtp.NewServer(s)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	s.mu.Lock()
	s.srv, s.ln, s.done = srv, ln, done
	s.mu.Unlock()
}

// stop closes the server: connections are refused until start.
func (s *smtpServer) stop() {
	s.mu.Lock()
	srv, ln, done := s.srv, s.ln, s.done
	s.srv, s.ln, s.done = nil, nil, nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	srv.Close()
	// Close closes only the listeners Serve has registered; if Serve has
	// not started yet, closing ln ourselves is what ends it.
	ln.Close()
	<-done
}

func (s *smtpServer) messages() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.msgs...)
}

// NewSession implements smtp.Backend.
func (s *smtpServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{srv: s}, nil }

type smtpSession struct {
	srv *smtpServer
	to  []string
}

func (x *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (x *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}
func (x *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.srv.mu.Lock()
	defer x.srv.mu.Unlock()
	x.srv.msgs = append(x.srv.msgs, b)
	return nil
}
func (x *smtpSession) Reset()        { x.to = nil }
func (x *smtpSession) Logout() error { return nil }

// fixture is the demo data with booking, billing as its Charger, the
// Notifier, and the real mail worker sending to a real SMTP server.
type fixture struct {
	t        *testing.T
	ctx      context.Context
	db       *store.DB
	clock    *traded.FixedClock
	svc      *booking.Service
	notifier *notify.Notifier
	smtp     *smtpServer
	worker   *mail.Worker
	la       store.Actor
	seen     int // messages of the server already looked at
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, clock := storetest.Open(t)
	svc := app.Domains(db).Booking
	svc.Accounts.PasswordCost = 4
	ctx := context.Background()
	if err := demo.LoadBase(ctx, svc); err != nil {
		t.Fatal(err)
	}
	cfg := billing.DefaultConfig()
	cfg.BaseURL = baseURL
	bill := billing.NewService(db, svc.Organisations, svc.Catalogue, cfg, nil)
	svc.Charger = bill
	n := notify.New(baseURL, contact, svc.Accounts, svc.Organisations)
	svc.Notifier = n
	srv := startSMTP(t)
	sender := &mail.SMTP{Host: "127.0.0.1", Port: srv.port(), From: mailFrom, FromName: fromName, Domain: "traded.test"}
	w := mail.NewWorker(db, sender, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := w.Register(mail.Renderer{Kind: billing.InvoiceAttachment, Render: bill.RenderInvoiceAttachment},
		mail.Renderer{Kind: notify.InviteAttachment, Render: n.RenderInvite(svc)}); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, ctx: ctx, db: db, clock: clock, svc: svc, notifier: n, smtp: srv, worker: w, la: store.Actor{Name: "admin@test"}}
}

func (f *fixture) user(email string) *account.User {
	f.t.Helper()
	u, err := f.svc.Accounts.FindUserByEmail(f.ctx, email)
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

func (f *fixture) session(code string) *catalogue.Session {
	f.t.Helper()
	sessions, err := f.svc.Catalogue.FindSessions(f.ctx, catalogue.SessionFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, s := range sessions {
		if s.CourseCode == code && s.Year == 2026 {
			return s
		}
	}
	f.t.Fatalf("no 2026/27 session of %s", code)
	return nil
}

func (f *fixture) booking(id int64) *booking.Booking {
	f.t.Helper()
	b, err := f.svc.FindBookingByID(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// deliver runs the mail worker and returns the messages the server got.
func (f *fixture) deliver(t *testing.T) []*received {
	t.Helper()
	if _, err := f.worker.SendDue(f.ctx); err != nil {
		t.Fatalf("SendDue: %v", err)
	}
	all := f.smtp.messages()
	var out []*received
	for _, raw := range all[f.seen:] {
		out = append(out, parseMail(t, raw))
	}
	f.seen = len(all)
	return out
}

// received is one message as the server got it, taken apart.
type received struct {
	raw       []byte
	header    netmail.Header
	toName    string
	to        string
	subject   string
	messageID string
	kind      string
	text      string // the text/plain body, decoded
	calendar  *part  // the text/calendar alternative, if any
	files     []part // attachments
}

type part struct {
	mediaType   string
	params      map[string]string
	disposition string
	filename    string
	body        []byte
}

func parseMail(t *testing.T, raw []byte) *received {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("message does not parse: %v\n%s", err, raw)
	}
	r := &received{raw: raw, header: msg.Header, messageID: msg.Header.Get("Message-Id"), kind: msg.Header.Get("X-Traded-Kind")}
	from, err := netmail.ParseAddress(msg.Header.Get("From"))
	if err != nil || from.Address != mailFrom || from.Name != fromName {
		t.Errorf("From %q parses as %v, %v; want %s <%s>", msg.Header.Get("From"), from, err, fromName, mailFrom)
	}
	to, err := netmail.ParseAddress(msg.Header.Get("To"))
	if err != nil {
		t.Fatalf("To %q: %v", msg.Header.Get("To"), err)
	}
	r.to, r.toName = to.Address, to.Name
	if r.subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Errorf("Subject %q: %v", msg.Header.Get("Subject"), err)
	}
	top := readPart(t, msg.Header, msg.Body)
	switch top.mediaType {
	case "text/plain":
		r.text = string(top.body)
	case "multipart/mixed":
		parts := readMultipart(t, top)
		if len(parts) == 0 {
			t.Fatalf("%s: empty multipart/mixed", r.subject)
		}
		body := parts[0]
		switch body.mediaType {
		case "text/plain":
			r.text = string(body.body)
		case "multipart/alternative":
			alts := readMultipart(t, body)
			if len(alts) != 2 || alts[0].mediaType != "text/plain" || alts[1].mediaType != "text/calendar" {
				var types []string
				for _, a := range alts {
					types = append(types, a.mediaType)
				}
				t.Fatalf("%s: multipart/alternative holds %v, want text/plain and text/calendar", r.subject, types)
			}
			r.text, r.calendar = string(alts[0].body), &alts[1]
		default:
			t.Fatalf("%s: first part is %s", r.subject, body.mediaType)
		}
		r.files = parts[1:]
	default:
		t.Fatalf("%s: top-level Content-Type %s", r.subject, top.mediaType)
	}
	return r
}

// readPart reads a part's body, decoded from its transfer encoding (a
// multipart body is kept raw for readMultipart).
func readPart(t *testing.T, h map[string][]string, body io.Reader) part {
	t.Helper()
	get := func(k string) string {
		if v := h[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	mt, params, err := mime.ParseMediaType(get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", get("Content-Type"), err)
	}
	p := part{mediaType: mt, params: params}
	if cd := get("Content-Disposition"); cd != "" {
		d, dp, err := mime.ParseMediaType(cd)
		if err != nil {
			t.Fatalf("Content-Disposition %q: %v", cd, err)
		}
		p.disposition, p.filename = d, dp["filename"]
	}
	var r io.Reader = body
	switch strings.ToLower(get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body)
	case "", "7bit", "8bit":
	default:
		t.Fatalf("Content-Transfer-Encoding %q", get("Content-Transfer-Encoding"))
	}
	if p.body, err = io.ReadAll(r); err != nil {
		t.Fatalf("read %s part: %v", mt, err)
	}
	return p
}

func readMultipart(t *testing.T, p part) []part {
	t.Helper()
	mr := multipart.NewReader(bytes.NewReader(p.body), p.params["boundary"])
	var out []part
	for {
		np, err := mr.NextRawPart()
		if err == io.EOF {
			return out
		} else if err != nil {
			t.Fatalf("%s: next part: %v", p.mediaType, err)
		}
		out = append(out, readPart(t, np.Header, np))
	}
}

// invite is what a calendar part says, read with go-ical.
type invite struct {
	method, uid, status, summary string
	sequence                     int
	start                        time.Time
	attendee                     string
}

func decodeInvite(t *testing.T, what string, body []byte) invite {
	t.Helper()
	cal, err := ical.NewDecoder(bytes.NewReader(body)).Decode()
	if err != nil {
		t.Fatalf("%s: calendar does not decode: %v\n%s", what, err, body)
	}
	events := cal.Events()
	if len(events) != 1 {
		t.Fatalf("%s: %d VEVENTs, want 1", what, len(events))
	}
	ev := events[0]
	text := func(props ical.Props, name string) string {
		s, err := props.Text(name)
		if err != nil {
			t.Errorf("%s: %s: %v", what, name, err)
		}
		return s
	}
	var inv invite
	inv.method = text(cal.Props, ical.PropMethod)
	inv.uid = text(ev.Props, ical.PropUID)
	inv.status = text(ev.Props, ical.PropStatus)
	inv.summary = text(ev.Props, ical.PropSummary)
	if p := ev.Props.Get(ical.PropSequence); p == nil {
		t.Errorf("%s: no SEQUENCE", what)
	} else if inv.sequence, err = p.Int(); err != nil {
		t.Errorf("%s: SEQUENCE: %v", what, err)
	}
	if inv.start, err = ev.DateTimeStart(nil); err != nil {
		t.Errorf("%s: DTSTART: %v", what, err)
	}
	if a := ev.Props.Get(ical.PropAttendee); a != nil {
		inv.attendee = strings.TrimPrefix(strings.ToLower(a.Value), "mailto:")
	}
	return inv
}

// messageID is the outbox id and the random token queued with the message.
var messageID = regexp.MustCompile(`^<outbox-(\d+)\.[a-z2-7]{26}@traded\.test>$`)

// checkHeaders checks the headers of a message to one person.
func (f *fixture) checkHeaders(t *testing.T, m *received, name, email, subject string) {
	t.Helper()
	if m.to != email || m.toName != name {
		t.Errorf("To: got %q <%s>, want %q <%s>", m.toName, m.to, name, email)
	}
	if m.subject != subject {
		t.Errorf("Subject: got %q, want %q", m.subject, subject)
	}
	id := messageID.FindStringSubmatch(m.messageID)
	if id == nil {
		t.Errorf("Message-ID %q, want <outbox-N.TOKEN@traded.test>", m.messageID)
		return
	}
	var to, subj string
	if err := f.db.Read().QueryRow(`SELECT to_addr, subject FROM outbox WHERE id = ?`, id[1]).Scan(&to, &subj); err != nil || to != email || subj != subject {
		t.Errorf("Message-ID %s names outbox row to %q %q (%v), want %s %q", m.messageID, to, subj, err, email, subject)
	}
}

// checkInviteMail checks a message carrying a delegate's invite: the
// text/calendar alternative with its method, the same bytes attached as
// invite.ics, and what the calendar says.
func (f *fixture) checkInviteMail(t *testing.T, m *received, method string) invite {
	t.Helper()
	if m.calendar == nil {
		t.Fatalf("%s to %s: no text/calendar alternative", m.subject, m.to)
	}
	c := m.calendar
	if c.params["charset"] != "utf-8" || c.params["method"] != method {
		t.Errorf("%s to %s: calendar part %s %v, want text/calendar; charset=utf-8; method=%s", m.subject, m.to, c.mediaType, c.params, method)
	}
	var file *part
	for i := range m.files {
		if m.files[i].filename == "invite.ics" {
			file = &m.files[i]
		}
	}
	if file == nil || file.disposition != "attachment" || file.mediaType != "text/calendar" || !bytes.Equal(file.body, c.body) {
		t.Errorf("%s to %s: invite.ics attachment %+v, want the calendar attached as text/calendar", m.subject, m.to, file)
	}
	inv := decodeInvite(t, m.subject+" to "+m.to, c.body)
	if inv.method != method {
		t.Errorf("%s to %s: METHOD %q, want %q", m.subject, m.to, inv.method, method)
	}
	if inv.attendee != m.to {
		t.Errorf("%s to %s: ATTENDEE %q, want the recipient", m.subject, m.to, inv.attendee)
	}
	return inv
}

// byRecipient indexes messages by address and subject prefix.
func byRecipient(ms []*received, prefix string) map[string][]*received {
	out := map[string][]*received{}
	for _, m := range ms {
		if strings.HasPrefix(m.subject, prefix) {
			out[m.to] = append(out[m.to], m)
		}
	}
	return out
}

func describe(ms []*received) string {
	var s []string
	for _, m := range ms {
		s = append(s, fmt.Sprintf("%s: %q", m.to, m.subject))
	}
	return strings.Join(s, "; ")
}

// TestNotifier_BookingMail books, reschedules, swaps and cancels through the
// booking service, with the Notifier queueing mail and the real worker
// sending it over SMTP, and reads every message back at the server.
func TestNotifier_BookingMail(t *testing.T) {
	f := newFixture(t)
	manager := f.user(managerEmail)
	sess := f.session(coursePSA)
	people := []booking.DelegateInput{
		{Name: "Zoë Delegate", Email: "zoe@chelmervalley.example"},
		{Name: "Sam O’Neill", Email: "sam@chelmervalley.example"},
	}
	b, err := f.svc.CreateBooking(f.ctx, manager, "192.0.2.1", booking.BookingRequest{SessionID: sess.ID, URN: urn, Delegates: people})
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != booking.StatusConfirmed || len(b.Delegates) != 2 {
		t.Fatalf("booking %s: %s with %d delegates, want confirmed with 2", b.Reference, b.Status, len(b.Delegates))
	}
	uids := map[string]string{}
	for _, d := range b.Delegates {
		uids[d.Email] = d.UID
	}

	t.Run("Confirmed", func(t *testing.T) {
		got := f.deliver(t)
		booked := byRecipient(got, "Booked: ")
		for _, p := range people {
			ms := booked[p.Email]
			if len(ms) != 1 {
				t.Errorf("%s got %d confirmations, want 1 (all: %s)", p.Email, len(ms), describe(got))
				continue
			}
			m := ms[0]
			f.checkHeaders(t, m, p.Name, p.Email, "Booked: "+sess.Title)
			if m.kind != "booking_confirmed" {
				t.Errorf("X-Traded-Kind %q, want booking_confirmed", m.kind)
			}
			inv := f.checkInviteMail(t, m, "REQUEST")
			if inv.uid != uids[p.Email] || inv.sequence != 0 || inv.status != "CONFIRMED" || inv.summary != sess.Title || !inv.start.Equal(sess.StartsAt) {
				t.Errorf("%s invite: %+v; want UID %s, SEQUENCE 0, CONFIRMED, %q at %s", p.Email, inv, uids[p.Email], sess.Title, sess.StartsAt)
			}
			for _, want := range []string{"Dear " + p.Name, sess.JoiningURL, b.Reference, "Tuesday 19 January 2027, 4:00pm to 5:00pm (UK time)", contact} {
				if !strings.Contains(m.text, want) {
					t.Errorf("%s: body lacks %q:\n%s", p.Email, want, m.text)
				}
			}
		}
		// The booker, not a delegate, gets the summary, without an invite.
		var summary []*received
		for _, m := range got {
			if m.to == managerEmail && strings.HasPrefix(m.subject, "Booking "+b.Reference+" confirmed") {
				summary = append(summary, m)
			}
		}
		if len(summary) != 1 {
			t.Fatalf("the booker got %d summaries, want 1 (all: %s)", len(summary), describe(got))
		}
		s := summary[0]
		f.checkHeaders(t, s, "Morgan Manager", managerEmail, "Booking "+b.Reference+" confirmed: "+sess.Title)
		if s.calendar != nil || len(s.files) != 0 {
			t.Errorf("the booker's summary carries a calendar or files: %+v", s.files)
		}
		for _, want := range []string{"Zoë Delegate", "Sam O’Neill", b.Reference} {
			if !strings.Contains(s.text, want) {
				t.Errorf("summary lacks %q:\n%s", want, s.text)
			}
		}
		if n := len(f.deliver(t)); n != 0 {
			t.Errorf("a second SendDue delivered %d more", n)
		}
	})

	newStart := sess.StartsAt.AddDate(0, 0, 7)
	t.Run("Rescheduled", func(t *testing.T) {
		if _, err := f.svc.UpdateSession(f.ctx, f.la, sess.ID, catalogue.SessionUpdate{StartsAt: &newStart}); err != nil {
			t.Fatal(err)
		}
		got := f.deliver(t)
		changed := byRecipient(got, "Changed: ")
		if len(got) != 2 {
			t.Errorf("got %d messages, want 2 (one per delegate): %s", len(got), describe(got))
		}
		for _, p := range people {
			if len(changed[p.Email]) != 1 {
				t.Errorf("%s got %d change notices, want 1", p.Email, len(changed[p.Email]))
				continue
			}
			m := changed[p.Email][0]
			f.checkHeaders(t, m, p.Name, p.Email, "Changed: "+sess.Title)
			inv := f.checkInviteMail(t, m, "REQUEST")
			if inv.uid != uids[p.Email] || inv.sequence != 1 || inv.status != "CONFIRMED" || !inv.start.Equal(newStart) {
				t.Errorf("%s updated invite: UID %s SEQUENCE %d %s at %s; want %s, 1, CONFIRMED at %s", p.Email, inv.uid, inv.sequence, inv.status, inv.start, uids[p.Email], newStart)
			}
			if !strings.Contains(m.text, "Tuesday 26 January 2027, 4:00pm") {
				t.Errorf("%s: body does not give the new time:\n%s", p.Email, m.text)
			}
		}
	})

	const newEmail = "new@chelmervalley.example"
	t.Run("Swapped", func(t *testing.T) {
		cur := f.booking(b.ID)
		old := cur.Delegates[0]
		if err := f.svc.SwapDelegate(f.ctx, manager, "", b.ID, old.ID, "Nia New", newEmail); err != nil {
			t.Fatal(err)
		}
		var newUID string
		for _, d := range f.booking(b.ID).Delegates {
			if d.Email == newEmail {
				newUID = d.UID
			}
		}
		uids[newEmail] = newUID
		got := f.deliver(t)
		if len(got) != 2 {
			t.Errorf("got %d messages, want 2 (old and new delegate): %s", len(got), describe(got))
		}
		gone := byRecipient(got, "Cancelled: ")[old.Email]
		if len(gone) != 1 {
			t.Fatalf("%s got %d cancellations, want 1: %s", old.Email, len(gone), describe(got))
		}
		f.checkHeaders(t, gone[0], old.Name, old.Email, "Cancelled: "+sess.Title)
		inv := f.checkInviteMail(t, gone[0], "CANCEL")
		if inv.uid != uids[old.Email] || inv.status != "CANCELLED" || inv.sequence <= 1 {
			t.Errorf("old delegate's cancel: UID %s %s SEQUENCE %d; want %s CANCELLED after the last REQUEST's 1", inv.uid, inv.status, inv.sequence, uids[old.Email])
		}
		if !strings.Contains(gone[0].text, "Nia New") {
			t.Errorf("the old delegate is not told who has the place:\n%s", gone[0].text)
		}
		added := byRecipient(got, "Booked: ")[newEmail]
		if len(added) != 1 {
			t.Fatalf("%s got %d invites, want 1: %s", newEmail, len(added), describe(got))
		}
		f.checkHeaders(t, added[0], "Nia New", newEmail, "Booked: "+sess.Title)
		inv = f.checkInviteMail(t, added[0], "REQUEST")
		if inv.uid != newUID || newUID == "" || newUID == uids[old.Email] || inv.sequence != 1 || inv.status != "CONFIRMED" || !inv.start.Equal(newStart) {
			t.Errorf("new delegate's invite: UID %s SEQUENCE %d %s; want a new UID %s, 1, CONFIRMED", inv.uid, inv.sequence, inv.status, newUID)
		}
	})

	t.Run("BookingCancelled", func(t *testing.T) {
		if err := f.svc.CancelBooking(f.ctx, manager, "", b.ID, "staff illness"); err != nil {
			t.Fatal(err)
		}
		got := f.deliver(t)
		cancelled := byRecipient(got, "Cancelled: ")
		for _, email := range []string{people[1].Email, newEmail} {
			if len(cancelled[email]) != 1 {
				t.Errorf("%s got %d cancellations, want 1: %s", email, len(cancelled[email]), describe(got))
				continue
			}
			m := cancelled[email][0]
			inv := f.checkInviteMail(t, m, "CANCEL")
			if inv.uid != uids[email] || inv.status != "CANCELLED" || inv.sequence <= 1 {
				t.Errorf("%s: cancel UID %s %s SEQUENCE %d; want %s CANCELLED after the last REQUEST's 1", email, inv.uid, inv.status, inv.sequence, uids[email])
			}
			if !strings.Contains(m.text, "staff illness") {
				t.Errorf("%s: the reason is missing:\n%s", email, m.text)
			}
		}
		if n := len(cancelled[people[0].Email]); n != 0 {
			t.Errorf("the swapped-out delegate got %d more cancellations, want none", n)
		}
		var booker int
		for _, m := range got {
			if m.to == managerEmail && strings.Contains(m.subject, b.Reference) {
				booker++
			}
		}
		if booker != 1 {
			t.Errorf("the booker got %d notices of the cancellation, want 1: %s", booker, describe(got))
		}
	})
}

type outboxRow struct {
	id       int64
	to       string
	status   string
	attempts int
}

func (f *fixture) outbox(t *testing.T, after int64) []outboxRow {
	t.Helper()
	rows, err := f.db.Read().Query(`SELECT id, to_addr, status, attempts FROM outbox WHERE id > ? ORDER BY id`, after)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		if err := rows.Scan(&r.id, &r.to, &r.status, &r.attempts); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// TestNotifier_SMTPDownThenUp: a confirmation queued while the mail server
// is down waits in the outbox and goes, once, when it is back.
func TestNotifier_SMTPDownThenUp(t *testing.T) {
	f := newFixture(t)
	var before int64
	f.db.Read().QueryRow(`SELECT COALESCE(MAX(id), 0) FROM outbox`).Scan(&before)
	f.deliver(t) // whatever the demo data queued

	f.smtp.stop()
	teacher := f.user(teacherEmail)
	sess := f.session(courseModeration)
	b, err := f.svc.CreateBooking(f.ctx, teacher, "", booking.BookingRequest{SessionID: sess.ID, URN: urn,
		Delegates: []booking.DelegateInput{{Name: teacher.Name, Email: teacher.Email}}})
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != booking.StatusConfirmed {
		t.Fatalf("teacher's booking %s, want confirmed", b.Status)
	}
	queued := f.outbox(t, before)
	if len(queued) == 0 {
		t.Fatal("the confirmation queued no mail")
	}
	if n, err := f.worker.SendDue(f.ctx); n != 0 || err != nil {
		t.Fatalf("SendDue with the server down: sent %d, %v; want 0, nil", n, err)
	}
	for i, r := range f.outbox(t, before) {
		want := 0
		if i == 0 {
			want = 1 // the first tried; the rest wait for the next round
		}
		if r.status != "queued" || r.attempts != want {
			t.Errorf("message %d to %s: %s with %d attempts, want queued with %d", r.id, r.to, r.status, r.attempts, want)
		}
	}
	if n := len(f.smtp.messages()); n != f.seen {
		t.Fatalf("the stopped server received %d messages", n-f.seen)
	}

	f.smtp.start()
	f.clock.Advance(mail.Backoff(1) + time.Second)
	got := f.deliver(t)
	if len(got) != len(queued) {
		t.Errorf("after the server came back: delivered %d, want %d: %s", len(got), len(queued), describe(got))
	}
	ids := map[string]int{} // by outbox id
	for _, m := range got {
		if id := messageID.FindStringSubmatch(m.messageID); id != nil {
			ids[id[1]]++
		}
	}
	for _, r := range f.outbox(t, before) {
		if r.status != "sent" {
			t.Errorf("message %d to %s: %s, want sent", r.id, r.to, r.status)
		}
		if n := ids[fmt.Sprint(r.id)]; n != 1 {
			t.Errorf("message %d delivered %d times, want exactly once", r.id, n)
		}
	}
	// The teacher booked themselves: one invite, no booker's summary.
	mine := byRecipient(got, "")[teacherEmail]
	if len(mine) != 1 || mine[0].subject != "Booked: "+sess.Title {
		t.Errorf("the teacher got %s; want one message, Booked: %s", describe(mine), sess.Title)
	} else {
		f.checkInviteMail(t, mine[0], "REQUEST")
	}
	if more := f.deliver(t); len(more) != 0 {
		t.Errorf("SendDue again delivered %d more: %s", len(more), describe(more))
	}
}

// TestNotifier_SessionReminders: the day before a session each delegate
// gets one reminder with the joining link.
func TestNotifier_SessionReminders(t *testing.T) {
	f := newFixture(t)
	manager := f.user(managerEmail)
	sess := f.session(coursePSA2)
	people := []booking.DelegateInput{{Name: "Rae Reminded", Email: "rae@chelmervalley.example"}, {Name: "Kit Reminded", Email: "kit@chelmervalley.example"}}
	b, err := f.svc.CreateBooking(f.ctx, manager, "", booking.BookingRequest{SessionID: sess.ID, URN: urn, Delegates: people})
	if err != nil {
		t.Fatal(err)
	}
	// Another booking, on a session not tomorrow, gets no reminder.
	if _, err := f.svc.CreateBooking(f.ctx, manager, "", booking.BookingRequest{SessionID: f.session(coursePSA).ID, URN: urn,
		Delegates: []booking.DelegateInput{{Name: "Not Tomorrow", Email: "later@chelmervalley.example"}}}); err != nil {
		t.Fatal(err)
	}
	f.deliver(t)

	start := sess.StartsAt.In(traded.London)
	f.clock.Set(time.Date(start.Year(), start.Month(), start.Day()-1, 9, 0, 0, 0, traded.London))
	if n, err := f.svc.SendSessionReminders(f.ctx, f.notifier.SessionReminder); n != 2 || err != nil {
		t.Fatalf("SendSessionReminders the day before: %d, %v; want 2, nil", n, err)
	}
	got := f.deliver(t)
	if len(got) != 2 {
		t.Errorf("delivered %d, want 2: %s", len(got), describe(got))
	}
	tomorrow := byRecipient(got, "Tomorrow: ")
	for i, p := range people {
		if len(tomorrow[p.Email]) != 1 {
			t.Errorf("%s got %d reminders, want 1: %s", p.Email, len(tomorrow[p.Email]), describe(got))
			continue
		}
		m := tomorrow[p.Email][0]
		f.checkHeaders(t, m, p.Name, p.Email, "Tomorrow: "+sess.Title)
		if m.kind != "session_reminder" {
			t.Errorf("X-Traded-Kind %q, want session_reminder", m.kind)
		}
		for _, want := range []string{"Join online: " + sess.JoiningURL, b.Reference, "Thursday 28 January 2027, 4:00pm"} {
			if !strings.Contains(m.text, want) {
				t.Errorf("%s: reminder lacks %q:\n%s", p.Email, want, m.text)
			}
		}
		inv := f.checkInviteMail(t, m, "REQUEST")
		if inv.uid != b.Delegates[i].UID || inv.sequence != 0 {
			t.Errorf("%s: reminder's invite UID %s SEQUENCE %d, want %s 0", p.Email, inv.uid, inv.sequence, b.Delegates[i].UID)
		}
	}

	f.clock.Advance(3 * time.Hour)
	if n, err := f.svc.SendSessionReminders(f.ctx, f.notifier.SessionReminder); n != 0 || err != nil {
		t.Errorf("SendSessionReminders again: %d, %v; want 0", n, err)
	}
	if more := f.deliver(t); len(more) != 0 {
		t.Errorf("a second run delivered %d: %s", len(more), describe(more))
	}
}

// TestNotifier_InviteRenderedWhenSent: invites are rendered as the mail
// goes, from the place as it is then. A confirmation still queued when the
// session moves carries the new time; a cancellation's CANCEL is never
// older than the REQUESTs before it, so a calendar that gets them in any
// order ends with the place removed.
func TestNotifier_InviteRenderedWhenSent(t *testing.T) {
	f := newFixture(t)
	manager := f.user(managerEmail)
	sess := f.session(coursePSA)
	b, err := f.svc.CreateBooking(f.ctx, manager, "", booking.BookingRequest{SessionID: sess.ID, URN: urn,
		Delegates: []booking.DelegateInput{{Name: "Ada Delegate", Email: "ada@chelmervalley.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	d := b.Delegates[0]
	newStart := sess.StartsAt.AddDate(0, 0, 14)
	if _, err := f.svc.UpdateSession(f.ctx, f.la, sess.ID, catalogue.SessionUpdate{StartsAt: &newStart}); err != nil {
		t.Fatal(err)
	}
	got := byRecipient(f.deliver(t), "")[d.Email]
	if len(got) != 2 {
		t.Fatalf("ada got %d messages, want the confirmation and the change: %s", len(got), describe(got))
	}
	for _, m := range got {
		inv := f.checkInviteMail(t, m, "REQUEST")
		if inv.uid != d.UID || !inv.start.Equal(newStart) || inv.status != "CONFIRMED" {
			t.Errorf("%s: invite %+v, want UID %s CONFIRMED at the new start %s", m.subject, inv, d.UID, newStart)
		}
	}

	// Queued together: the session moved again, then the place cancelled.
	later := newStart.Add(time.Hour)
	if _, err := f.svc.UpdateSession(f.ctx, f.la, sess.ID, catalogue.SessionUpdate{StartsAt: &later}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.CancelPlace(f.ctx, manager, "", b.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	got = byRecipient(f.deliver(t), "")[d.Email]
	var request, cancel *invite
	for _, m := range got {
		switch {
		case strings.HasPrefix(m.subject, "Changed: "):
			inv := f.checkInviteMail(t, m, "REQUEST")
			request = &inv
		case strings.HasPrefix(m.subject, "Cancelled: "):
			inv := f.checkInviteMail(t, m, "CANCEL")
			cancel = &inv
		}
	}
	if request == nil || cancel == nil {
		t.Fatalf("ada got %s, want a change and a cancellation", describe(got))
	}
	if cancel.status != "CANCELLED" || cancel.uid != d.UID || cancel.sequence < request.sequence {
		t.Errorf("CANCEL %+v after REQUEST %+v: want CANCELLED, the same UID and a SEQUENCE no lower", *cancel, *request)
	}

	render := f.notifier.RenderInvite(f.svc)
	for _, key := range []string{"", "x", "1:2", fmt.Sprintf("%d:%d:PUBLISH", b.ID, d.ID), fmt.Sprintf("999999:%d:REQUEST", d.ID),
		fmt.Sprintf("%d:999999:REQUEST", b.ID)} {
		if out, err := render(f.ctx, key); err == nil {
			t.Errorf("render %q: got %d bytes, want an error", key, len(out))
		}
	}
}
