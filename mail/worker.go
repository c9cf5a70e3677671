package mail

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"traded/store"
)

// MaxAttempts is how many times the worker tries a message before marking it
// failed for an admin to resend.
const MaxAttempts = 8

// Backoff returns how long to wait before attempt n+1 after n failures:
// 30 s, 1 min, 2 min, ... up to an hour.
func Backoff(n int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// Worker sends queued mail.
type Worker struct {
	db     *store.DB
	sender Sender
	log    *slog.Logger
	wake   chan struct{}
	// Poll is how often the worker looks for due mail when not woken.
	Poll time.Duration

	renderers map[string]RenderFunc
}

// RenderFunc renders an attachment's content from its key (the part of
// Attachment.Render after the colon).
type RenderFunc func(ctx context.Context, key string) ([]byte, error)

// Renderer renders, at send time, the attachments whose Render names its
// Kind ("invoice:TS-000001" is Kind "invoice"). The package that queues
// such attachments declares its kind as a constant and its renderer as a
// method (billing.InvoiceAttachment, notify.InviteAttachment); app.New
// lists them, and Register refuses a list it cannot use.
type Renderer struct {
	Kind   string
	Render RenderFunc
}

// Register adds renderers. It returns an error, registering none, for a
// renderer with no kind or no function, a kind with a colon, or a kind
// registered twice: the wiring is wrong, and mail with that attachment
// would fail at every attempt. Call it before Run.
func (w *Worker) Register(rs ...Renderer) error {
	add := map[string]RenderFunc{}
	for _, r := range rs {
		switch {
		case r.Kind == "" || r.Render == nil || strings.Contains(r.Kind, ":"):
			return fmt.Errorf("mail renderer %q: needs a kind without a colon and a function", r.Kind)
		case add[r.Kind] != nil || w.renderers[r.Kind] != nil:
			return fmt.Errorf("mail renderer %q: registered twice", r.Kind)
		}
		add[r.Kind] = r.Render
	}
	if w.renderers == nil {
		w.renderers = map[string]RenderFunc{}
	}
	for k, fn := range add {
		w.renderers[k] = fn
	}
	return nil
}

// Renders reports whether attachments of kind have a renderer.
func (w *Worker) Renders(kind string) bool { return w.renderers[kind] != nil }

// render fills in the content of m's attachments that are rendered at send
// time. Its error counts as a failed attempt, so the message is retried and
// the reason shows in the admin's outbox.
func (w *Worker) render(ctx context.Context, m *Message) error {
	for i, a := range m.Attachments {
		if a.Render == "" {
			continue
		}
		kind, key, _ := strings.Cut(a.Render, ":")
		fn := w.renderers[kind]
		if fn == nil {
			return fmt.Errorf("attachment %s: nothing renders %q", a.Filename, kind)
		}
		b, err := fn(ctx, key)
		if err != nil {
			return fmt.Errorf("attachment %s: %w", a.Filename, err)
		}
		m.Attachments[i].Content = b
	}
	return nil
}

// NewWorker returns a worker sending db's outbox through sender.
func NewWorker(db *store.DB, sender Sender, log *slog.Logger) *Worker {
	return &Worker{db: db, sender: sender, log: log, wake: make(chan struct{}, 1), Poll: 2 * time.Second}
}

// Wake tells the worker there may be new mail, so it need not wait to poll.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run sends mail until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.Poll)
	defer t.Stop()
	for {
		if _, err := w.SendDue(ctx); err != nil && ctx.Err() == nil {
			w.log.Error("mail worker", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.wake:
		}
	}
}

// SendDue sends every message whose time has come, one at a time, and
// returns how many were sent.
func (w *Worker) SendDue(ctx context.Context) (int, error) {
	sent := 0
	for ctx.Err() == nil {
		m, attempts, ok, err := w.next(ctx)
		if err != nil || !ok {
			return sent, err
		}
		// Touch the message before sending it: a write that changes
		// nothing, but that an unwritable database (read-only, full)
		// refuses, so nothing is sent rather than the same message every
		// round because its sending cannot be recorded. (A hold on the
		// message would also stop that, but would delay for its length the
		// resend of a message whose sender was killed mid-send.)
		if err := w.db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE outbox SET attempts = attempts WHERE id = ? AND status = 'queued'`, m.ID)
			return err
		}); err != nil {
			return sent, fmt.Errorf("mail %d: the outbox cannot be written: %w", m.ID, err)
		}
		rerr := w.render(ctx, &m)
		serr := rerr
		if serr == nil {
			serr = w.sender.Send(ctx, m)
		}
		if serr != nil && ctx.Err() != nil {
			// Stopped mid-send (the dial was cancelled): no fault of the
			// server's, so no attempt counted; it goes at the next start.
			return sent, ctx.Err()
		}
		// Record what happened even if ctx ends meanwhile (a shutdown): a
		// message delivered but left queued would be sent again at the next
		// start.
		rctx := context.WithoutCancel(ctx)
		err = w.db.Write(rctx, func(tx *store.Tx) error {
			if serr == nil {
				_, err := tx.ExecContext(rctx, `UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?, last_error = ''
					WHERE id = ?`, store.FormatTime(tx.Now), m.ID)
				return err
			}
			status := "queued"
			if attempts+1 >= MaxAttempts {
				status = "failed"
			}
			_, err := tx.ExecContext(rctx, `UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = ?
				WHERE id = ?`, status, truncate(serr.Error(), 500), store.FormatTime(tx.Now.Add(Backoff(attempts+1))), m.ID)
			return err
		})
		if err != nil {
			return sent, fmt.Errorf("record mail %d: %w", m.ID, err)
		}
		if rerr != nil {
			// This message's own fault: the rest can still go.
			w.log.Error("mail attachment not rendered; will retry", "id", m.ID, "to", m.To, "attempt", attempts+1, "err", rerr)
			continue
		}
		if serr != nil {
			w.log.Warn("mail not sent; will retry", "id", m.ID, "to", m.To, "attempt", attempts+1, "err", serr)
			// The server is likely down: leave the rest for the next round.
			return sent, nil
		}
		sent++
	}
	return sent, ctx.Err()
}

// next returns the oldest due message.
func (w *Worker) next(ctx context.Context) (Message, int, bool, error) {
	var m Message
	var atts string
	var attempts int
	err := w.db.Read().QueryRowContext(ctx, `SELECT id, COALESCE(message_id, ''), kind, to_addr, to_name, subject, body_text, attachments, attempts
		FROM outbox WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT 1`,
		store.FormatTime(w.db.Now())).Scan(&m.ID, &m.MessageID, &m.Kind, &m.To, &m.ToName, &m.Subject, &m.Text, &atts, &attempts)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return m, 0, false, nil
		}
		return m, 0, false, fmt.Errorf("next mail: %w", err)
	}
	if atts != "" {
		if err := json.Unmarshal([]byte(atts), &m.Attachments); err != nil {
			return m, 0, false, fmt.Errorf("mail %d attachments: %w", m.ID, err)
		}
	}
	return m, attempts, true, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
