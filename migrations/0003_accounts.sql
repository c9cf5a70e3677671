-- Accounts: users and roles, API tokens, emailed single-use links, web
-- sessions, and the mail outbox every message goes through.

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    email           TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    name            TEXT    NOT NULL CHECK (name <> ''),
    role            TEXT    NOT NULL CHECK (role IN ('school_manager', 'teacher', 'finance', 'admin', 'adviser')),
    organisation_id INTEGER REFERENCES organisations (id),
    -- bcrypt; '' until the user sets a password (sign-in links still work).
    password_hash   TEXT    NOT NULL DEFAULT '',
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    last_sign_in_at TEXT,
    -- School roles belong to exactly one organisation; LA roles to none.
    CHECK ((role IN ('school_manager', 'teacher')) = (organisation_id IS NOT NULL))
);
CREATE INDEX users_organisation ON users (organisation_id);

-- Bearer tokens for the API, stored as SHA-256 hashes; shown once.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    label        TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   TEXT    NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

-- Single-use emailed links: sign in, set a first password, reset one.
CREATE TABLE link_tokens (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    purpose    TEXT    NOT NULL CHECK (purpose IN ('sign_in', 'set_password', 'reset_password')),
    token_hash TEXT    NOT NULL UNIQUE,
    created_at TEXT    NOT NULL,
    expires_at TEXT    NOT NULL,
    used_at    TEXT
);
CREATE INDEX link_tokens_user ON link_tokens (user_id, purpose);

-- Server-side web sessions (Fiber's session middleware stores them here).
CREATE TABLE web_sessions (
    id         TEXT PRIMARY KEY,
    data       BLOB NOT NULL,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

-- Mail is written here in the transaction of the change that causes it and
-- sent after commit by the mail worker.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    created_at      TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    to_addr         TEXT    NOT NULL,
    to_name         TEXT    NOT NULL DEFAULT '',
    subject         TEXT    NOT NULL,
    body_text       TEXT    NOT NULL,
    -- JSON list of {filename, content_type, base64 content}; '' for none.
    attachments     TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    sent_at         TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
