package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"traded"
)

// SMTP sends mail through an SMTP server (net/smtp), with STARTTLS when the
// server offers it and authentication when a username is set.
type SMTP struct {
	Host     string
	Port     int
	From     string // the sender address, such as traded@essex.gov.uk
	FromName string
	Username string
	Password string
	// Domain names the sending host in Message-IDs.
	Domain string
}

// Send delivers m. The Message-ID is kept with the queued message, so a
// message retried after a crash carries the same id and receiving servers
// can drop the duplicate.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	raw, err := Build(s.From, s.FromName, s.Domain, m, time.Now())
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp dial %s: %w", addr, err)
	}
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("smtp starttls: %w", err)
		}
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, s.Host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(s.From); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return fmt.Errorf("smtp RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if _, err := w.Write(raw); err != nil {
		return fmt.Errorf("smtp write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp end of data: %w", err)
	}
	// The server has taken the message: a failed QUIT after that must not
	// count as a failed send, or the message would go twice.
	_ = c.Quit()
	return nil
}

// Build renders m as an RFC 5322 message with CRLF line endings: a plain
// text body, any Alternative attachments as further alternative parts, and
// every attachment as an attachment.
func Build(from, fromName, domain string, m Message, now time.Time) ([]byte, error) {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	// A header is one line whatever reached the message: names and the
	// subject are folded to one line before net/mail and RFC 2047 encode them.
	h("From", (&mailAddress{traded.OneLine(fromName), from}).String())
	h("To", (&mailAddress{traded.OneLine(m.ToName), m.To}).String())
	h("Subject", mime.QEncoding.Encode("utf-8", traded.OneLine(m.Subject)))
	h("Date", now.UTC().Format(time.RFC1123Z))
	if domain == "" {
		domain = "traded.local"
	}
	// The outbox id, for people reading logs, and the random token queued
	// with the message, so no two messages share an id whatever database
	// they came from; a retry of the same message keeps it.
	if m.MessageID != "" {
		h("Message-ID", fmt.Sprintf("<outbox-%d.%s@%s>", m.ID, m.MessageID, domain))
	} else {
		h("Message-ID", fmt.Sprintf("<outbox-%d@%s>", m.ID, domain))
	}
	h("MIME-Version", "1.0")
	if m.Kind != "" {
		h("X-Traded-Kind", m.Kind)
	}

	if len(m.Attachments) == 0 {
		h("Content-Type", "text/plain; charset=utf-8")
		h("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		writeQP(&b, m.Text)
		return b.Bytes(), nil
	}

	mixed := multipart.NewWriter(&b)
	h("Content-Type", "multipart/mixed; boundary="+mixed.Boundary())
	b.WriteString("\r\n")

	// The readable body: text alone, or text and its alternatives.
	var alts []Attachment
	for _, a := range m.Attachments {
		if a.Alternative {
			alts = append(alts, a)
		}
	}
	if len(alts) == 0 {
		pw, err := mixed.CreatePart(textproto.MIMEHeader{
			"Content-Type": {"text/plain; charset=utf-8"}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, err
		}
		writeQP(pw, m.Text)
	} else {
		var inner bytes.Buffer
		alt := multipart.NewWriter(&inner)
		pw, err := mixed.CreatePart(textproto.MIMEHeader{"Content-Type": {"multipart/alternative; boundary=" + alt.Boundary()}})
		if err != nil {
			return nil, err
		}
		tw, _ := alt.CreatePart(textproto.MIMEHeader{
			"Content-Type": {"text/plain; charset=utf-8"}, "Content-Transfer-Encoding": {"quoted-printable"}})
		writeQP(tw, m.Text)
		for _, a := range alts {
			aw, _ := alt.CreatePart(textproto.MIMEHeader{
				"Content-Type": {a.ContentType}, "Content-Transfer-Encoding": {"base64"}})
			writeBase64(aw, a.Content)
		}
		alt.Close()
		if _, err := pw.Write(inner.Bytes()); err != nil {
			return nil, err
		}
	}
	for _, a := range m.Attachments {
		ct := a.ContentType
		if a.Alternative {
			// Attached again as a file, for clients that ignore the part.
			ct = strings.SplitN(ct, ";", 2)[0]
		}
		aw, err := mixed.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {mime.FormatMediaType(ct, map[string]string{"name": a.Filename})},
			"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename})},
			"Content-Transfer-Encoding": {"base64"},
		})
		if err != nil {
			return nil, err
		}
		writeBase64(aw, a.Content)
	}
	if err := mixed.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

type mailAddress struct{ name, addr string }

// maxEncodedName keeps a To line under RFC 5322's 998 characters with room
// for the address: a name of 200 characters of any script fits.
const maxEncodedName = 900

// String writes the address as RFC 5322 wants it: net/mail quotes a display
// name with specials ("Smith, Jo") and encodes one that is not ASCII.
//
// A name that is not ASCII is written as one B-encoded word rather than
// net/mail's Q-encoding, which splits a name into encoded words mid-word
// past about 20 characters of Arabic or CJK: some readers (CPython's email
// package among them) keep the space RFC 2047 says to drop between words,
// so "Pádraig" came back as "Pád raig". (Found by the property test over
// every emitter, web/emitters_test.go.)
func (a *mailAddress) String() string {
	for _, r := range a.name {
		if r >= utf8.RuneSelf {
			// One encoded word, even past RFC 2047's 75 characters, which
			// readers accept; split only when it would not fit a header line.
			if w := "=?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte(a.name)) + "?="; len(w) <= maxEncodedName {
				return w + " <" + a.addr + ">"
			}
			return mime.BEncoding.Encode("utf-8", a.name) + " <" + a.addr + ">"
		}
	}
	return (&mail.Address{Name: a.name, Address: a.addr}).String()
}

func writeQP(w interface{ Write([]byte) (int, error) }, text string) {
	qp := quotedprintable.NewWriter(w)
	_, _ = qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n")))
	_ = qp.Close()
}

func writeBase64(w interface{ Write([]byte) (int, error) }, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		_, _ = w.Write([]byte(enc[:76] + "\r\n"))
		enc = enc[76:]
	}
	_, _ = w.Write([]byte(enc + "\r\n"))
}

// Log "sends" mail by writing it to the log: demo mode, where people read
// their sign-in links from the server's output.
type Log struct {
	Log *slog.Logger
}

// Send logs m.
func (l *Log) Send(_ context.Context, m Message) error {
	names := make([]string, 0, len(m.Attachments))
	for _, a := range m.Attachments {
		names = append(names, a.Filename)
	}
	l.Log.Info("mail (demo: printed, not sent)", "id", m.ID, "to", m.To, "subject", m.Subject, "attachments", names, "body", m.Text)
	return nil
}
