package web

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"traded/booking"
	"traded/store"
)

// sessionStorage keeps Fiber's server-side sessions in the web_sessions
// table, writing through the one writer connection like everything else.
// A session is kept under the SHA-256 of its id (sessionKey), never the id
// the cookie holds, and a signed-in one names its user (bind), so that
// booking can end a user's sessions when their password changes or they
// are deactivated.
// (The gofiber/storage SQLite driver opens a second writer pool on the file,
// which would contend with ours, so this small adapter stands in for it.)
// Expiry is judged by the injected clock, so tests can expire a session.
type sessionStorage struct {
	db *store.DB
}

// Get returns a session's data, or nil if it is unknown or expired.
func (s *sessionStorage) Get(key string) ([]byte, error) {
	if key == "" {
		return nil, nil
	}
	var data []byte
	err := s.db.Read().QueryRowContext(context.Background(), `SELECT data FROM web_sessions WHERE id = ? AND expires_at > ?`,
		sessionKey(key), store.FormatTime(s.db.Now())).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return data, err
}

// Set stores a session's data until exp from now (0: a year).
func (s *sessionStorage) Set(key string, val []byte, exp time.Duration) error {
	if key == "" || len(val) == 0 {
		return nil
	}
	if exp <= 0 {
		exp = 365 * 24 * time.Hour
	}
	return s.db.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.ExecContext(context.Background(), `INSERT INTO web_sessions (id, data, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`,
			sessionKey(key), val, store.FormatTime(tx.Now.Add(exp)))
		return err
	})
}

// Delete removes a session.
func (s *sessionStorage) Delete(key string) error {
	return s.db.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.ExecContext(context.Background(), `DELETE FROM web_sessions WHERE id = ?`, sessionKey(key))
		return err
	})
}

// bind records that the session with the id belongs to the user.
func (s *sessionStorage) bind(ctx context.Context, id string, userID int64) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE web_sessions SET user_id = ? WHERE id = ?`, userID, sessionKey(id))
		return err
	})
}

// sessionKey is what a session is stored under: the hex SHA-256 of the id
// in its cookie (booking.SessionKey, which ends sessions, uses the same).
func sessionKey(id string) string { return booking.SessionKey(id) }

// Reset removes every session.
func (s *sessionStorage) Reset() error {
	return s.db.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.ExecContext(context.Background(), `DELETE FROM web_sessions`)
		return err
	})
}

// Close does nothing: the database belongs to the server.
func (s *sessionStorage) Close() error { return nil }

// sweep deletes expired sessions.
func (s *sessionStorage) sweep(ctx context.Context) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE expires_at <= ?`, store.FormatTime(tx.Now))
		return err
	})
}
