package mail_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"traded/mail"
	"traded/store"
	"traded/store/storetest"
)

// smtpServer is a real SMTP server (go-smtp) on a random local port that
// keeps every message it accepts.
type smtpServer struct {
	port int

	// user and pass, when set, are the credentials the server demands.
	user, pass string

	mu   sync.Mutex
	msgs []received
}

type received struct {
	from string
	to   []string
	data []byte
	user string // who authenticated, if anyone
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{port: ln.Addr().(*net.TCPAddr).Port}
	srv := smtp.NewServer(s)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		// Close closes only the listeners Serve has registered; if Serve
		// has not started yet, closing ln ourselves is what ends it.
		ln.Close()
		<-done
	})
	return s
}

// messages returns what the server has accepted so far.
func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

// NewSession implements smtp.Backend.
func (s *smtpServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{srv: s}, nil }

type smtpSession struct {
	srv  *smtpServer
	user string
	from string
	to   []string
}

func (x *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != x.srv.user || pass != x.srv.pass {
			return errors.New("bad credentials")
		}
		x.user = user
		return nil
	}), nil
}

func (x *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if x.srv.user != "" && x.user == "" {
		return smtp.ErrAuthRequired
	}
	x.from = from
	return nil
}

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
	x.srv.msgs = append(x.srv.msgs, received{from: x.from, to: x.to, data: b, user: x.user})
	return nil
}

func (x *smtpSession) Reset()        { x.from, x.to = "", nil }
func (x *smtpSession) Logout() error { return nil }

// closedPort returns a local port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func sender(port int) *mail.SMTP {
	return &mail.SMTP{Host: "127.0.0.1", Port: port, From: "traded@essex.gov.uk", FromName: "Essex Traded Services", Domain: "traded.test"}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// readMessage parses a received message and checks the headers every
// message carries.
func readMessage(t *testing.T, raw []byte, m mail.Message) *netmail.Message {
	t.Helper()
	if !bytes.Contains(raw, []byte("\r\n")) || bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Errorf("message does not use CRLF line endings throughout")
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("received message does not parse: %v\n%s", err, raw)
	}
	h := msg.Header
	from, err := netmail.ParseAddress(h.Get("From"))
	if err != nil || from.Address != "traded@essex.gov.uk" || from.Name != "Essex Traded Services" {
		t.Errorf("From %q parses as %v, %v", h.Get("From"), from, err)
	}
	to, err := netmail.ParseAddress(h.Get("To"))
	if err != nil || to.Address != m.To || to.Name != m.ToName {
		t.Errorf("To %q parses as %v, %v; want %q <%s>", h.Get("To"), to, err, m.ToName, m.To)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil || subject != m.Subject {
		t.Errorf("Subject %q decodes to %q, %v; want %q", h.Get("Subject"), subject, err, m.Subject)
	}
	// a message built by hand has no token; one from the outbox has one
	if got := h.Get("Message-Id"); !regexp.MustCompile(`^<outbox-`+itoa(m.ID)+`(\.[a-z2-7]{26})?@traded\.test>$`).MatchString(got) ||
		m.MessageID != "" && got != "<outbox-"+itoa(m.ID)+"."+m.MessageID+"@traded.test>" {
		t.Errorf("Message-ID %q, want <outbox-%d[.TOKEN]@traded.test>", got, m.ID)
	}
	if _, err := h.Date(); err != nil {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	if h.Get("MIME-Version") != "1.0" {
		t.Errorf("MIME-Version %q", h.Get("MIME-Version"))
	}
	if m.Kind != "" && h.Get("X-Traded-Kind") != m.Kind {
		t.Errorf("X-Traded-Kind %q, want %q", h.Get("X-Traded-Kind"), m.Kind)
	}
	return msg
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// decodePart returns a part's body decoded from its transfer encoding.
func decodePart(t *testing.T, cte string, body io.Reader) []byte {
	t.Helper()
	var r io.Reader
	switch strings.ToLower(cte) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body)
	case "", "7bit", "8bit":
		r = body
	default:
		t.Fatalf("unexpected Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", cte, err)
	}
	return b
}

const letter = "Dear Taylor,\n\nUse this link to sign in to Essex County Council's traded services. It works once, within 15 minutes, and this line is long enough to be wrapped:\n\nhttp://traded.test/sign-in/link/abc_DEF-123=456\n\nCafé, naïve, £315.00.\n"

func TestSMTP_Send(t *testing.T) {
	t.Run("PlainText", func(t *testing.T) {
		srv := startSMTP(t)
		m := mail.Message{ID: 42, Kind: "sign_in_link", To: "taylor@chelmervalley.example", ToName: "Taylor Teacher",
			Subject: "Your sign-in link – Essex traded services", Text: letter}
		if err := sender(srv.port).Send(context.Background(), m); err != nil {
			t.Fatalf("send: %v", err)
		}
		got := srv.messages()
		if len(got) != 1 {
			t.Fatalf("server received %d messages, want 1", len(got))
		}
		if got[0].from != "traded@essex.gov.uk" || len(got[0].to) != 1 || got[0].to[0] != m.To {
			t.Errorf("envelope from %q to %v; want traded@essex.gov.uk to [%s]", got[0].from, got[0].to, m.To)
		}
		msg := readMessage(t, got[0].data, m)
		mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		if err != nil || mt != "text/plain" || params["charset"] != "utf-8" {
			t.Fatalf("Content-Type %q", msg.Header.Get("Content-Type"))
		}
		body := decodePart(t, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		if want := strings.ReplaceAll(letter, "\n", "\r\n"); string(body) != want {
			t.Errorf("body:\n%q\nwant\n%q", body, want)
		}
	})

	t.Run("CalendarAndPDF", func(t *testing.T) {
		srv := startSMTP(t)
		ics := []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nPRODID:-//Essex//Traded//EN\r\nBEGIN:VEVENT\r\nUID:session-7@traded.test\r\nSUMMARY:KS2 teacher assessment\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
		pdf := []byte("%PDF-1.4\n")
		for i := 0; i < 300; i++ {
			pdf = append(pdf, byte(i))
		}
		m := mail.Message{ID: 7, Kind: "booking_confirmation", To: "morgan@chelmervalley.example", ToName: "Morgan Manager",
			Subject: "Booking confirmed", Text: "Your booking is confirmed.\nThe invite and invoice are attached.\n",
			Attachments: []mail.Attachment{
				{Filename: "session.ics", ContentType: "text/calendar; charset=utf-8; method=REQUEST", Content: ics, Alternative: true},
				{Filename: "INV-2026-0001.pdf", ContentType: "application/pdf", Content: pdf},
			}}
		if err := sender(srv.port).Send(context.Background(), m); err != nil {
			t.Fatalf("send: %v", err)
		}
		got := srv.messages()
		if len(got) != 1 {
			t.Fatalf("server received %d messages, want 1", len(got))
		}
		msg := readMessage(t, got[0].data, m)

		mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/mixed" {
			t.Fatalf("Content-Type %q, want multipart/mixed", msg.Header.Get("Content-Type"))
		}
		mixed := multipart.NewReader(msg.Body, params["boundary"])
		type part struct {
			mediaType   string
			params      map[string]string
			disposition string
			filename    string
			body        []byte
		}
		readParts := func(r *multipart.Reader) []part {
			var out []part
			for {
				p, err := r.NextRawPart()
				if err == io.EOF {
					return out
				} else if err != nil {
					t.Fatalf("next part: %v", err)
				}
				mt, params, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
				if err != nil {
					t.Fatalf("part Content-Type %q: %v", p.Header.Get("Content-Type"), err)
				}
				x := part{mediaType: mt, params: params}
				if cd := p.Header.Get("Content-Disposition"); cd != "" {
					d, dp, err := mime.ParseMediaType(cd)
					if err != nil {
						t.Fatalf("Content-Disposition %q: %v", cd, err)
					}
					x.disposition, x.filename = d, dp["filename"]
				}
				if strings.HasPrefix(mt, "multipart/") {
					x.body, _ = io.ReadAll(p)
				} else {
					x.body = decodePart(t, p.Header.Get("Content-Transfer-Encoding"), p)
				}
				out = append(out, x)
			}
		}
		parts := readParts(mixed)
		if len(parts) != 3 {
			t.Fatalf("multipart/mixed has %d parts, want 3 (alternative body, .ics, .pdf)", len(parts))
		}

		// The readable body: text and the calendar request as alternatives.
		if parts[0].mediaType != "multipart/alternative" {
			t.Fatalf("first part is %s, want multipart/alternative", parts[0].mediaType)
		}
		alts := readParts(multipart.NewReader(bytes.NewReader(parts[0].body), parts[0].params["boundary"]))
		if len(alts) != 2 {
			t.Fatalf("multipart/alternative has %d parts, want 2", len(alts))
		}
		if alts[0].mediaType != "text/plain" || string(alts[0].body) != strings.ReplaceAll(m.Text, "\n", "\r\n") {
			t.Errorf("first alternative: %s %q", alts[0].mediaType, alts[0].body)
		}
		if alts[1].mediaType != "text/calendar" || alts[1].params["method"] != "REQUEST" || !bytes.Equal(alts[1].body, ics) {
			t.Errorf("second alternative: %s %v %q; want text/calendar; method=REQUEST with the invite", alts[1].mediaType, alts[1].params, alts[1].body)
		}

		// Then both files as attachments.
		if p := parts[1]; p.mediaType != "text/calendar" || p.disposition != "attachment" || p.filename != "session.ics" || !bytes.Equal(p.body, ics) {
			t.Errorf("calendar attachment: %s %s %q, %d bytes", p.mediaType, p.disposition, p.filename, len(p.body))
		}
		if p := parts[2]; p.mediaType != "application/pdf" || p.disposition != "attachment" || p.filename != "INV-2026-0001.pdf" || !bytes.Equal(p.body, pdf) {
			t.Errorf("PDF attachment: %s %s %q, %d bytes (content equal: %v)", p.mediaType, p.disposition, p.filename, len(p.body), bytes.Equal(p.body, pdf))
		}
	})

	t.Run("Authenticates", func(t *testing.T) {
		srv := startSMTP(t)
		srv.user, srv.pass = "traded", "s3cret"
		s := sender(srv.port)
		m := mail.Message{ID: 1, To: "a@b.example", Subject: "Hello", Text: "Hi"}
		if err := s.Send(context.Background(), m); err == nil {
			t.Fatal("send without credentials to a server that demands them succeeded")
		}
		s.Username, s.Password = "traded", "s3cret"
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatalf("send with credentials: %v", err)
		}
		if got := srv.messages(); len(got) != 1 || got[0].user != "traded" {
			t.Errorf("server received %v; want one message from user traded", got)
		}
	})

	t.Run("ServerDown", func(t *testing.T) {
		if err := sender(closedPort(t)).Send(context.Background(), mail.Message{ID: 1, To: "a@b.example", Subject: "x", Text: "x"}); err == nil {
			t.Error("send to a closed port succeeded")
		}
	})
}

type outboxRow struct {
	id            int64
	status        string
	attempts      int
	nextAttemptAt string
	lastError     string
	sentAt        string
}

func outbox(t *testing.T, db *store.DB) []outboxRow {
	t.Helper()
	rows, err := db.Read().Query(`SELECT id, status, attempts, next_attempt_at, last_error, COALESCE(sent_at, '') FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		if err := rows.Scan(&r.id, &r.status, &r.attempts, &r.nextAttemptAt, &r.lastError, &r.sentAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWorker_SendDue(t *testing.T) {
	ctx := context.Background()
	db, clock := storetest.Open(t)
	srv := startSMTP(t)
	s := sender(closedPort(t))
	w := mail.NewWorker(db, s, quietLog())

	var ids []int64
	err := db.Write(ctx, func(tx *store.Tx) error {
		for _, to := range []string{"one@school.example", "two@school.example", "three@school.example"} {
			id, err := mail.Enqueue(ctx, tx, mail.Message{Kind: "test", To: to, ToName: "Staff", Subject: "Hello " + to, Text: "Hello.\n"})
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	queuedAt := store.FormatTime(clock.Now())
	retryAt := store.FormatTime(clock.Now().Add(mail.Backoff(1)))

	// The server is down. Each round tries the oldest due message, fails,
	// and leaves the rest for the next round; nothing is lost.
	for round := 1; round <= 3; round++ {
		n, err := w.SendDue(ctx)
		if err != nil || n != 0 {
			t.Fatalf("round %d with the server down: sent %d, %v; want 0, nil", round, n, err)
		}
		for i, r := range outbox(t, db) {
			wantAttempts, wantNext := 0, queuedAt
			if i < round {
				wantAttempts, wantNext = 1, retryAt
			}
			if r.status != "queued" || r.attempts != wantAttempts || r.nextAttemptAt != wantNext {
				t.Errorf("round %d, message %d: %s, %d attempts, next %s; want queued, %d, %s", round, i+1, r.status, r.attempts, r.nextAttemptAt, wantAttempts, wantNext)
			}
			if wantAttempts == 1 && r.lastError == "" {
				t.Errorf("round %d, message %d: no last_error recorded", round, i+1)
			}
		}
	}
	// Nothing is due until the backoff has passed, whatever the server does.
	s.Port = srv.port
	if n, err := w.SendDue(ctx); n != 0 || err != nil {
		t.Fatalf("before the backoff: sent %d, %v; want 0", n, err)
	}
	if got := len(srv.messages()); got != 0 {
		t.Fatalf("server received %d messages before the backoff", got)
	}

	clock.Advance(mail.Backoff(1) + time.Second)
	if n, err := w.SendDue(ctx); n != 3 || err != nil {
		t.Fatalf("after the backoff: sent %d, %v; want 3, nil", n, err)
	}
	for i, r := range outbox(t, db) {
		if r.status != "sent" || r.attempts != 2 || r.sentAt != store.FormatTime(clock.Now()) || r.lastError != "" {
			t.Errorf("message %d after sending: %+v; want sent, 2 attempts, sent_at now, no error", i+1, r)
		}
	}
	if n, err := w.SendDue(ctx); n != 0 || err != nil {
		t.Errorf("third SendDue: sent %d, %v; want 0", n, err)
	}
	clock.Advance(time.Hour)
	if n, err := w.SendDue(ctx); n != 0 || err != nil {
		t.Errorf("SendDue an hour later: sent %d, %v; want 0", n, err)
	}

	got := srv.messages()
	if len(got) != 3 {
		t.Fatalf("server received %d messages, want exactly 3", len(got))
	}
	seen := map[string]bool{}
	for _, m := range got {
		msg, err := netmail.ReadMessage(bytes.NewReader(m.data))
		if err != nil {
			t.Fatal(err)
		}
		seen[tokenRE.ReplaceAllString(msg.Header.Get("Message-Id"), "@")+" "+m.to[0]] = true
	}
	for i, to := range []string{"one@school.example", "two@school.example", "three@school.example"} {
		if key := "<outbox-" + itoa(ids[i]) + "@traded.test> " + to; !seen[key] {
			t.Errorf("no message %s among %v", key, seen)
		}
	}
}

func TestWorker_GivesUp(t *testing.T) {
	ctx := context.Background()
	db, clock := storetest.Open(t)
	w := mail.NewWorker(db, sender(closedPort(t)), quietLog())
	if err := db.Write(ctx, func(tx *store.Tx) error {
		_, err := mail.Enqueue(ctx, tx, mail.Message{Kind: "test", To: "x@school.example", Subject: "x", Text: "x"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= mail.MaxAttempts; attempt++ {
		if n, err := w.SendDue(ctx); n != 0 || err != nil {
			t.Fatalf("attempt %d: sent %d, %v", attempt, n, err)
		}
		r := outbox(t, db)[0]
		want := "queued"
		if attempt == mail.MaxAttempts {
			want = "failed"
		}
		if r.attempts != attempt || r.status != want {
			t.Fatalf("after attempt %d: %d attempts, %s; want %d, %s", attempt, r.attempts, r.status, attempt, want)
		}
		clock.Advance(mail.Backoff(attempt))
	}
	clock.Advance(24 * time.Hour)
	w2 := mail.NewWorker(db, sender(startSMTP(t).port), quietLog())
	if n, err := w2.SendDue(ctx); n != 0 || err != nil {
		t.Errorf("a failed message was sent again: %d, %v", n, err)
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{
		1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 4: 4 * time.Minute,
		7: 32 * time.Minute, 8: time.Hour, 20: time.Hour,
	} {
		if got := mail.Backoff(n); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestEnqueue_RolledBack(t *testing.T) {
	ctx := context.Background()
	db, _ := storetest.Open(t)
	errAbort := errors.New("abort")
	err := db.Write(ctx, func(tx *store.Tx) error {
		if _, err := mail.Enqueue(ctx, tx, mail.Message{Kind: "test", To: "x@school.example", Subject: "x", Text: "x"}); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("write: %v, want the abort", err)
	}
	if rows := outbox(t, db); len(rows) != 0 {
		t.Errorf("outbox holds %d rows after a rolled-back Enqueue, want 0", len(rows))
	}
	srv := startSMTP(t)
	if n, err := mail.NewWorker(db, sender(srv.port), quietLog()).SendDue(ctx); n != 0 || err != nil {
		t.Errorf("SendDue: %d, %v; want 0", n, err)
	}
	if len(srv.messages()) != 0 {
		t.Error("a rolled-back message was sent")
	}
}

func TestValidateAddress(t *testing.T) {
	for in, want := range map[string]string{
		"  Morgan@ChelmerValley.Example ": "morgan@chelmervalley.example",
		"a.b+c@school.sch.uk":             "a.b+c@school.sch.uk",
	} {
		if got, err := mail.ValidateAddress("email", in); err != nil || got != want {
			t.Errorf("ValidateAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "   ", "morgan", "morgan@localhost", "Morgan <morgan@school.example>", "a@b.example, c@d.example", "a@b.example\r\nBcc: x@y.example"} {
		if got, err := mail.ValidateAddress("email", bad); err == nil {
			t.Errorf("ValidateAddress(%q) = %q, want an error", bad, got)
		}
	}
}

func TestBuild_DisplayNames(t *testing.T) {
	for _, name := range []string{"Taylor Teacher", "O'Brien", "Zoë Smith", "Smith, Jo", `Jo "JJ" Smith`, "Jo (Head) Smith"} {
		t.Run(name, func(t *testing.T) {
			raw, err := mail.Build("traded@essex.gov.uk", "Essex Traded Services", "traded.test", mail.Message{ID: 1, To: "jo@school.example", ToName: name, Subject: "x", Text: "x"}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			msg, err := netmail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			to, err := netmail.ParseAddressList(msg.Header.Get("To"))
			if err != nil || len(to) != 1 || to[0].Name != name || to[0].Address != "jo@school.example" {
				t.Errorf("To %q parses as %v, %v; want one address named %q", msg.Header.Get("To"), to, err, name)
			}
		})
	}
}

// An attachment queued to be rendered is rendered when the message is sent;
// one that cannot be rendered fails its own message only.
func TestWorker_RendersAttachmentsAtSendTime(t *testing.T) {
	ctx := context.Background()
	db, _ := storetest.Open(t)
	srv := startSMTP(t)
	w := mail.NewWorker(db, sender(srv.port), quietLog())
	if err := w.Register(mail.Renderer{Kind: "invoice", Render: func(_ context.Context, key string) ([]byte, error) { return []byte("%PDF-1.4 invoice " + key), nil }}); err != nil {
		t.Fatal(err)
	}
	err := db.Write(ctx, func(tx *store.Tx) error {
		for _, render := range []string{"letter:1", "invoice:TS-000042"} {
			if _, err := mail.Enqueue(ctx, tx, mail.Message{Kind: "invoice", To: "bursar@school.example", Subject: render, Text: "Attached.\n",
				Attachments: []mail.Attachment{{Filename: "doc.pdf", ContentType: "application/pdf", Render: render}}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := w.SendDue(ctx); n != 1 || err != nil {
		t.Fatalf("sent %d, %v; want the invoice sent and the unrenderable letter left", n, err)
	}
	rows := outbox(t, db)
	if rows[0].status != "queued" || rows[0].attempts != 1 || !strings.Contains(rows[0].lastError, `nothing renders "letter"`) {
		t.Errorf("unrenderable message: %+v", rows[0])
	}
	if rows[1].status != "sent" {
		t.Errorf("invoice message: %+v", rows[1])
	}
	got := srv.messages()
	if len(got) != 1 {
		t.Fatalf("received %d messages, want 1", len(got))
	}
	msg := readMessage(t, got[0].data, mail.Message{ID: rows[1].id, Kind: "invoice", To: "bursar@school.example", Subject: "invoice:TS-000042"})
	body, _ := io.ReadAll(msg.Body)
	if !bytes.Contains(body, []byte(base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 invoice TS-000042")))) {
		t.Errorf("the rendered PDF is not attached:\n%s", body)
	}
}

// TestBuild_PythonReadsHeaders: Python's email package (not net/mail, which
// Build writes with) reads the To name and Subject back exactly, whatever
// people typed; a line break that reached a name or subject is folded to a
// space, never a header line of its own.
func TestBuild_PythonReadsHeaders(t *testing.T) {
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("Debian's python3 is missing: %v", err)
	}
	cases := []struct{ name, subject, wantName, wantSubject string }{
		{`Jo "JJ" Smith`, `Booking "confirmed"`, `Jo "JJ" Smith`, `Booking "confirmed"`},
		{"Seán Ó Briain, Deputy; KS2", "Llŷr’s place: Łódź 🎓", "Seán Ó Briain, Deputy; KS2", "Llŷr’s place: Łódź 🎓"},
		{"فاطمة الزهراء", "王小明 (booking)", "فاطمة الزهراء", "王小明 (booking)"},
		{"Jo\r\nBcc: evil@example.com", "Hi\nBcc: evil@example.com", "Jo Bcc: evil@example.com", "Hi Bcc: evil@example.com"},
	}
	const script = `import email, email.policy, json, sys
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
to = m["To"].addresses
json.dump({"name": to[0].display_name, "addr": to[0].addr_spec, "subject": str(m["Subject"]), "bcc": m["Bcc"] is not None, "defects": [str(d) for d in m.defects]}, sys.stdout)`
	for _, c := range cases {
		raw, err := mail.Build("traded@essex.gov.uk", "Essex Traded Services", "traded.test",
			mail.Message{ID: 1, To: "jo@school.example", ToName: c.name, Subject: c.subject, Text: "x"}, storetest.Epoch)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(python, "-c", script)
		cmd.Stdin = bytes.NewReader(raw)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%q: python: %v", c.name, err)
		}
		var got struct {
			Name, Addr, Subject string
			Bcc                 bool
			Defects             []string
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if got.Name != c.wantName || got.Addr != "jo@school.example" || got.Subject != c.wantSubject || got.Bcc || len(got.Defects) > 0 {
			t.Errorf("%q / %q: Python reads %+v", c.name, c.subject, got)
		}
	}
}

// tokenRE is the random token of a Message-ID, for tests that key by outbox id.
var tokenRE = regexp.MustCompile(`\.[a-z2-7]{26}@`)

// TestBuild_MessageIDs: two databases' message 1 have different
// Message-IDs; the same queued message keeps its id when built again (a
// retry), so receivers can drop the duplicate.
func TestBuild_MessageIDs(t *testing.T) {
	ctx := context.Background()
	var ids []string
	for range 2 {
		db, _ := storetest.Open(t)
		if err := db.Write(ctx, func(tx *store.Tx) error {
			_, err := mail.Enqueue(ctx, tx, mail.Message{To: "jo@school.example", Subject: "x", Text: "x"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var token string
		if err := db.Read().QueryRowContext(ctx, `SELECT message_id FROM outbox WHERE id = 1`).Scan(&token); err != nil {
			t.Fatal(err)
		}
		m := mail.Message{ID: 1, MessageID: token, To: "jo@school.example", Subject: "x", Text: "x"}
		for range 2 {
			raw, err := mail.Build("traded@essex.gov.uk", "", "traded.test", m, storetest.Epoch)
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := netmail.ReadMessage(bytes.NewReader(raw))
			ids = append(ids, msg.Header.Get("Message-Id"))
		}
	}
	if ids[0] != ids[1] || ids[2] != ids[3] || ids[0] == ids[2] || !strings.HasPrefix(ids[0], "<outbox-1.") {
		t.Errorf("Message-IDs %q: want one per database, the same on a retry", ids)
	}
}

// TestWorker_UnwritableDatabase: when the outbox cannot be written (a
// read-only file, a full disk), the worker sends nothing, rather than the
// same message every round because its sending cannot be recorded.
func TestWorker_UnwritableDatabase(t *testing.T) {
	ctx := context.Background()
	db, _ := storetest.Open(t)
	srv := startSMTP(t)
	w := mail.NewWorker(db, sender(srv.port), quietLog())
	if err := db.Write(ctx, func(tx *store.Tx) error {
		if _, err := mail.Enqueue(ctx, tx, mail.Message{Kind: "test", To: "one@school.example", Subject: "Hello", Text: "Hello.\n"}); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `CREATE TRIGGER outbox_readonly BEFORE UPDATE ON outbox
			BEGIN SELECT RAISE(ABORT, 'attempt to write a readonly database'); END`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		if n, err := w.SendDue(ctx); n != 0 || err == nil {
			t.Fatalf("round %d: sent %d, %v; want nothing sent and the error", round+1, n, err)
		}
	}
	if got := srv.messages(); len(got) != 0 {
		t.Errorf("the server received %d messages from a worker that cannot record a send", len(got))
	}
}
