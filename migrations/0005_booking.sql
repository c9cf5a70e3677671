-- Booking places: bookings for one organisation naming their delegates,
-- their priced charges, waiting lists and offers, approvals, attendance,
-- and the idempotency keys that make a retried POST answer once.
-- A session's capacity counts people: each delegate takes one place.

-- How a school wants its booking invoices: one per paid booking, or all of
-- a month's gathered on one; and whether teachers' bookings need approval.
ALTER TABLE organisations ADD COLUMN booking_invoices TEXT NOT NULL DEFAULT 'per_booking'
    CHECK (booking_invoices IN ('per_booking', 'monthly'));
ALTER TABLE organisations ADD COLUMN teacher_approval INTEGER NOT NULL DEFAULT 0 CHECK (teacher_approval IN (0, 1));

-- Places held: confirmed delegates, requests awaiting approval, and places
-- offered from the waiting list. Kept in the transaction that changes them,
-- so a capacity check is one read under the write lock.
ALTER TABLE sessions ADD COLUMN places_taken INTEGER NOT NULL DEFAULT 0 CHECK (places_taken >= 0);
ALTER TABLE sessions ADD COLUMN location TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN cancel_reason TEXT NOT NULL DEFAULT '';

CREATE TABLE bookings (
    id               INTEGER PRIMARY KEY,
    reference        TEXT    NOT NULL UNIQUE,
    session_id       INTEGER NOT NULL REFERENCES sessions (id),
    organisation_id  INTEGER NOT NULL REFERENCES organisations (id),
    booked_by        INTEGER REFERENCES users (id),
    status           TEXT    NOT NULL CHECK (status IN ('requested', 'confirmed', 'waitlisted', 'offered', 'cancelled', 'declined', 'expired')),
    -- the school's state when the booking was priced, so a later change of
    -- delegates is priced the same way
    subscriber       INTEGER NOT NULL DEFAULT 0,
    price_pence      INTEGER NOT NULL DEFAULT 0 CHECK (price_pence >= 0),
    invoice_id       INTEGER REFERENCES invoices (id),
    offer_expires_at TEXT,
    cancelled_at     TEXT,
    cancel_reason    TEXT    NOT NULL DEFAULT '',
    -- cancelled after the free-cancellation cut-off: the charge stands
    late_cancel      INTEGER NOT NULL DEFAULT 0 CHECK (late_cancel IN (0, 1)),
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    confirmed_at     TEXT,
    idempotency_key  TEXT,
    request_hash     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX bookings_session ON bookings (session_id, status, created_at);
CREATE INDEX bookings_org ON bookings (organisation_id, status);

CREATE TABLE delegates (
    id            INTEGER PRIMARY KEY,
    booking_id    INTEGER NOT NULL REFERENCES bookings (id),
    name          TEXT    NOT NULL,
    email         TEXT    NOT NULL COLLATE NOCASE,
    status        TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled', 'replaced')),
    -- the calendar UID of this delegate's place on this session, for ever
    uid           TEXT    NOT NULL UNIQUE,
    replaces_id   INTEGER REFERENCES delegates (id),
    attendance    TEXT    CHECK (attendance IN ('attended', 'absent', 'partial')),
    marked_at     TEXT,
    marked_by     TEXT,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);
CREATE INDEX delegates_booking ON delegates (booking_id, status);
CREATE INDEX delegates_email ON delegates (email);

-- What a booking costs, line by line, as priced when it was confirmed:
-- entitlement places at £0 included. invoice_id is set when it is billed
-- (at once, or by the monthly run); credited when a credit note takes it back.
CREATE TABLE booking_charges (
    id             INTEGER PRIMARY KEY,
    booking_id     INTEGER NOT NULL REFERENCES bookings (id),
    position       INTEGER NOT NULL,
    product_code   TEXT    NOT NULL REFERENCES products (code),
    description    TEXT    NOT NULL,
    quantity       INTEGER NOT NULL CHECK (quantity > 0),
    unit_pence     INTEGER NOT NULL CHECK (unit_pence >= 0),
    amount_pence   INTEGER NOT NULL CHECK (amount_pence >= 0),
    invoice_id     INTEGER REFERENCES invoices (id),
    invoice_line   INTEGER,
    credited_pence INTEGER NOT NULL DEFAULT 0,
    UNIQUE (booking_id, position)
);
CREATE INDEX booking_charges_uninvoiced ON booking_charges (invoice_id) WHERE invoice_id IS NULL;

-- A retried POST with the same Idempotency-Key (per user) finds the booking
-- the first made, in the same transaction, instead of making a second.
CREATE UNIQUE INDEX bookings_idempotency ON bookings (booked_by, idempotency_key) WHERE idempotency_key IS NOT NULL;

INSERT INTO number_series (name, prefix, next) VALUES ('booking', 'BK-', 1);
