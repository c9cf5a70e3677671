package account

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"traded/store"
)

// SessionStore keeps the web layer's server-side sessions in the
// web_sessions table, writing through the one writer connection like
// everything else. It has the methods of Fiber's session storage (Get, Set,
// Delete, Reset, Close) without importing Fiber. A session is kept under the
// SHA-256 of its id (SessionKey), never the id the cookie holds, and a
// signed-in one names its user (Bind), so that a password change or a
// deactivation ends the user's other sessions in its own transaction.
// (The gofiber/storage SQLite driver opens a second writer pool on the file,
// which would contend with ours, so this small adapter stands in for it.)
// Expiry is judged by the injected clock, so tests can expire a session.
type SessionStore struct {
	db *store.DB
}

// Get returns a session's data, or nil if it is unknown or expired.
func (s *SessionStore) Get(key string) ([]byte, error) {
	if key == "" {
		return nil, nil
	}
	var data []byte
	err := s.db.Read().QueryRowContext(context.Background(), `SELECT data FROM web_sessions WHERE id = ? AND expires_at > ?`,
		SessionKey(key), store.FormatTime(s.db.Now())).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return data, err
}

// Set stores a session's data until exp from now (0: a year).
func (s *SessionStore) Set(key string, val []byte, exp time.Duration) error {
	if key == "" || len(val) == 0 {
		return nil
	}
	if exp <= 0 {
		exp = 365 * 24 * time.Hour
	}
	return s.db.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.ExecContext(context.Background(), `INSERT INTO web_sessions (id, data, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`,
			SessionKey(key), val, store.FormatTime(tx.Now.Add(exp)))
		return err
	})
}

// Delete removes a session.
func (s *SessionStore) Delete(key string) error {
	return s.db.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.ExecContext(context.Background(), `DELETE FROM web_sessions WHERE id = ?`, SessionKey(key))
		return err
	})
}

// Bind records that the session with the id belongs to the user.
func (s *SessionStore) Bind(ctx context.Context, id string, userID int64) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE web_sessions SET user_id = ? WHERE id = ?`, userID, SessionKey(id))
		return err
	})
}

// Reset removes every session.
func (s *SessionStore) Reset() error {
	return s.db.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.ExecContext(context.Background(), `DELETE FROM web_sessions`)
		return err
	})
}

// Close does nothing: the database belongs to the server.
func (s *SessionStore) Close() error { return nil }

// Sweep deletes expired sessions.
func (s *SessionStore) Sweep(ctx context.Context) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE expires_at <= ?`, store.FormatTime(tx.Now))
		return err
	})
}

// Sessions returns the store of web sessions.
func (s *Service) Sessions() *SessionStore { return &SessionStore{db: s.db} }
