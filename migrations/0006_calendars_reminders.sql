-- Calendar subscription feeds, and reminders sent (so each goes once).

-- A private feed at an unguessable URL: a user's own bookings ('mine'), or
-- a school manager's whole school ('school'). Resetting makes a new token.
CREATE TABLE calendar_feeds (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    scope      TEXT    NOT NULL CHECK (scope IN ('mine', 'school')),
    token      TEXT    NOT NULL UNIQUE,
    created_at TEXT    NOT NULL,
    UNIQUE (user_id, scope)
);

-- The day-before reminder of a delegate's place.
CREATE TABLE session_reminders (
    delegate_id INTEGER PRIMARY KEY REFERENCES delegates (id),
    sent_at     TEXT NOT NULL
);

-- Payment reminders of an overdue invoice, one per stage (days overdue).
CREATE TABLE invoice_reminders (
    invoice_id INTEGER NOT NULL REFERENCES invoices (id),
    stage      INTEGER NOT NULL,
    sent_at    TEXT    NOT NULL,
    PRIMARY KEY (invoice_id, stage)
) WITHOUT ROWID;
