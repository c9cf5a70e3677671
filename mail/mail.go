package mail

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"

	"traded"
	"traded/store"
)

// Message is one email to one recipient.
type Message struct {
	ID          int64  // the outbox id, once queued
	MessageID   string // the random part of its Message-ID, set when queued
	Kind        string // what it is, for the admin's outbox view: "sign_in_link", "invoice", ...
	To          string
	ToName      string
	Subject     string
	Text        string // the plain-text body
	Attachments []Attachment
}

// Attachment is a file sent with a message. An attachment with Alternative
// set is sent as an alternative body part as well (how a calendar invite
// reaches calendar clients as text/calendar; method=REQUEST).
//
// An attachment with Render set ("invoice:TS-000001") has no Content in the
// outbox: the worker renders it when it sends the message, through the
// RenderFunc registered for its kind (Worker.Renders). Rendering an invoice
// PDF takes longer than the rest of a booking, so it is kept out of the
// booking's transaction, and the outbox does not store a copy of every PDF.
type Attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Content     []byte `json:"content,omitempty"`
	Render      string `json:"render,omitempty"`
	Alternative bool   `json:"alternative,omitempty"`
}

// ValidateAddress checks an email address as people type it and returns it
// trimmed and lower-cased. It returns EINVALID naming field when it is not
// one address.
func ValidateAddress(field, addr string) (string, error) {
	a := strings.TrimSpace(addr)
	if a == "" {
		return "", traded.FieldErrorf(field, "Enter an email address.")
	}
	parsed, err := mail.ParseAddress(a)
	if err != nil || parsed.Address != a || !strings.Contains(a[strings.LastIndex(a, "@")+1:], ".") || len(a) > 254 {
		return "", traded.FieldErrorf(field, "Enter an email address in the correct format, like name@school.sch.uk.")
	}
	return strings.ToLower(a), nil
}

// Enqueue writes a message to the outbox in tx. It is sent after the
// transaction commits; if the transaction rolls back, it never existed.
func Enqueue(ctx context.Context, tx *store.Tx, m Message) (int64, error) {
	atts := ""
	if len(m.Attachments) > 0 {
		b, err := json.Marshal(m.Attachments)
		if err != nil {
			return 0, fmt.Errorf("enqueue mail: %w", err)
		}
		atts = string(b)
	}
	now := store.FormatTime(tx.Now)
	res, err := tx.ExecContext(ctx, `INSERT INTO outbox (created_at, kind, to_addr, to_name, subject, body_text, attachments, next_attempt_at,
		message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, now, m.Kind, m.To, m.ToName, m.Subject, m.Text, atts, now, strings.ToLower(rand.Text()))
	if err != nil {
		return 0, fmt.Errorf("enqueue mail: %w", err)
	}
	id, _ := res.LastInsertId()
	return id, nil
}

// Sender delivers one message. It returns an error if the message was not
// accepted; the worker then tries again later.
type Sender interface {
	Send(ctx context.Context, m Message) error
}
