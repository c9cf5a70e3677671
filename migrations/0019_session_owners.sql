-- Web sessions are kept under the SHA-256 of their id, as link and API
-- tokens are: a copy of the database (a backup, a support snapshot) holds
-- no cookie anyone could present. Each signed-in session names its user, so
-- a password change or reset, or deactivating the user, can end the user's
-- other sessions. Sessions kept under their plain ids cannot be carried
-- over (SQLite has no SHA-256), so everyone signs in again once.
DELETE FROM web_sessions;
ALTER TABLE web_sessions ADD COLUMN user_id INTEGER REFERENCES users (id) ON DELETE CASCADE;
CREATE INDEX web_sessions_user ON web_sessions (user_id);
