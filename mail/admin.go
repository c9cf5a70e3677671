package mail

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"traded"
	"traded/store"
)

// Queued is one outbox row, as admins see it.
type Queued struct {
	ID            int64
	CreatedAt     time.Time
	Kind          string
	To            string
	Subject       string
	Status        string // queued, sent, failed
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	SentAt        time.Time
	Attachments   int
}

// OutboxCounts is how many messages are in each status.
type OutboxCounts struct{ Queued, Sent, Failed int }

// FindOutbox returns outbox messages, newest first: those of one status, or
// all; at most limit of them (0: 100; at most 500) after skipping offset.
// It returns EINVALID (status) for an unknown status.
func FindOutbox(ctx context.Context, db *store.DB, status string, limit, offset int) ([]Queued, OutboxCounts, error) {
	var counts OutboxCounts
	if err := db.Read().QueryRowContext(ctx, `SELECT
			COALESCE(SUM(status = 'queued'), 0), COALESCE(SUM(status = 'sent'), 0), COALESCE(SUM(status = 'failed'), 0) FROM outbox`).
		Scan(&counts.Queued, &counts.Sent, &counts.Failed); err != nil {
		return nil, counts, fmt.Errorf("outbox counts: %w", err)
	}
	where, args := "1 = 1", []any{}
	if status != "" {
		if status != "queued" && status != "sent" && status != "failed" {
			return nil, counts, traded.FieldErrorf("status", "Choose queued, sent or failed.")
		}
		where, args = "status = ?", append(args, status)
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := db.Read().QueryContext(ctx, `SELECT id, created_at, kind, to_addr, subject, status, attempts, next_attempt_at, last_error,
		COALESCE(sent_at, ''), attachments <> '' FROM outbox WHERE `+where+` ORDER BY id DESC LIMIT ? OFFSET ?`, append(args, limit, max(offset, 0))...)
	if err != nil {
		return nil, counts, fmt.Errorf("outbox: %w", err)
	}
	defer rows.Close()
	var out []Queued
	for rows.Next() {
		var q Queued
		var created, next, sent string
		var hasAtts bool
		if err := rows.Scan(&q.ID, &created, &q.Kind, &q.To, &q.Subject, &q.Status, &q.Attempts, &next, &q.LastError, &sent, &hasAtts); err != nil {
			return nil, counts, fmt.Errorf("outbox: %w", err)
		}
		q.CreatedAt, q.NextAttemptAt = store.MustTime(created), store.MustTime(next)
		if sent != "" {
			q.SentAt = store.MustTime(sent)
		}
		if hasAtts {
			q.Attachments = 1
		}
		out = append(out, q)
	}
	return out, counts, rows.Err()
}

// Resend queues a message again, now, with its attempts reset: for a failed
// message once the fault is mended, or a sent one someone lost. It returns
// ENOTFOUND for an unknown id and ECONFLICT for one already queued.
func Resend(ctx context.Context, db *store.DB, actor store.Actor, id int64) error {
	return db.Write(ctx, func(tx *store.Tx) error {
		var status, to string
		if err := tx.QueryRowContext(ctx, `SELECT status, to_addr FROM outbox WHERE id = ?`, id).Scan(&status, &to); err != nil {
			return traded.Errorf(traded.ENOTFOUND, "There is no message %d.", id)
		}
		if status == "queued" {
			return traded.Errorf(traded.ECONFLICT, "Message %d is already waiting to be sent.", id)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'queued', attempts = 0, last_error = '', next_attempt_at = ? WHERE id = ?`,
			store.FormatTime(tx.Now), id); err != nil {
			return fmt.Errorf("resend: %w", err)
		}
		return tx.Audit(ctx, actor, "mail.resend", "outbox", strconv.FormatInt(id, 10), fmt.Sprintf("%s, was %s", to, status))
	})
}
