-- Billing: invoices and credit notes in gap-free series, payments, card
-- checkouts and Stripe events, journal batches, bank statements.
-- An issued invoice or credit note is immutable: the triggers refuse edits.

ALTER TABLE organisations ADD COLUMN cost_centre TEXT NOT NULL DEFAULT '';
ALTER TABLE organisations ADD COLUMN po_required INTEGER NOT NULL DEFAULT 0 CHECK (po_required IN (0, 1));
ALTER TABLE organisations ADD COLUMN billing_email TEXT NOT NULL DEFAULT '';

-- One row per numbered series; next is the next number to give. Numbers are
-- taken inside the issuing transaction, so a rolled-back issue gives its
-- number back and the series has no gaps.
CREATE TABLE number_series (
    name   TEXT PRIMARY KEY,
    prefix TEXT    NOT NULL,
    next   INTEGER NOT NULL CHECK (next > 0)
);
INSERT INTO number_series (name, prefix, next) VALUES ('invoice', 'TS-', 1), ('credit_note', 'CN-', 1);

CREATE TABLE invoices (
    id               INTEGER PRIMARY KEY,
    number           TEXT UNIQUE,            -- NULL while a draft
    seq              INTEGER UNIQUE,         -- the number's place in the series
    organisation_id  INTEGER NOT NULL REFERENCES organisations (id),
    status           TEXT    NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'issued')),
    source           TEXT    NOT NULL,       -- subscription, booking, consultancy, manual
    academic_year    TEXT    NOT NULL DEFAULT '',
    po_number        TEXT    NOT NULL DEFAULT '',
    settlement       TEXT    NOT NULL CHECK (settlement IN ('journal', 'bacs_or_card')),
    -- Snapshot at issue: what the document says for ever.
    customer_urn     INTEGER NOT NULL DEFAULT 0,
    customer_name    TEXT    NOT NULL DEFAULT '',
    customer_address TEXT    NOT NULL DEFAULT '',
    customer_tier    TEXT    NOT NULL DEFAULT '',
    cost_centre      TEXT    NOT NULL DEFAULT '',
    supplier_name    TEXT    NOT NULL DEFAULT '',
    supplier_address TEXT    NOT NULL DEFAULT '',
    supplier_vat     TEXT    NOT NULL DEFAULT '',
    issue_date       TEXT    NOT NULL DEFAULT '',
    tax_point        TEXT    NOT NULL DEFAULT '',
    due_date         TEXT    NOT NULL DEFAULT '',
    net_pence        INTEGER NOT NULL DEFAULT 0,
    vat_pence        INTEGER NOT NULL DEFAULT 0,
    total_pence      INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT    NOT NULL,
    issued_at        TEXT,
    CHECK ((status = 'draft') = (number IS NULL))
);
CREATE INDEX invoices_org ON invoices (organisation_id, status);
CREATE INDEX invoices_due ON invoices (status, due_date);

CREATE TABLE invoice_lines (
    id            INTEGER PRIMARY KEY,
    invoice_id    INTEGER NOT NULL REFERENCES invoices (id),
    position      INTEGER NOT NULL,
    product_code  TEXT    NOT NULL,
    description   TEXT    NOT NULL,
    quantity      INTEGER NOT NULL CHECK (quantity > 0),
    unit_pence    INTEGER NOT NULL CHECK (unit_pence >= 0),
    net_pence     INTEGER NOT NULL,
    vat_treatment TEXT    NOT NULL,
    vat_rate_bp   INTEGER NOT NULL,
    vat_pence     INTEGER NOT NULL,
    vat_note      TEXT    NOT NULL DEFAULT '',
    UNIQUE (invoice_id, position)
);

CREATE TRIGGER invoices_immutable BEFORE UPDATE ON invoices WHEN OLD.status = 'issued'
BEGIN SELECT RAISE(ABORT, 'an issued invoice is immutable: correct it with a credit note'); END;
CREATE TRIGGER invoices_no_delete BEFORE DELETE ON invoices WHEN OLD.status = 'issued'
BEGIN SELECT RAISE(ABORT, 'an issued invoice is immutable: correct it with a credit note'); END;
CREATE TRIGGER invoice_lines_immutable BEFORE UPDATE ON invoice_lines
WHEN (SELECT status FROM invoices WHERE id = OLD.invoice_id) = 'issued'
BEGIN SELECT RAISE(ABORT, 'an issued invoice is immutable: correct it with a credit note'); END;
CREATE TRIGGER invoice_lines_no_delete BEFORE DELETE ON invoice_lines
WHEN (SELECT status FROM invoices WHERE id = OLD.invoice_id) = 'issued'
BEGIN SELECT RAISE(ABORT, 'an issued invoice is immutable: correct it with a credit note'); END;
CREATE TRIGGER invoice_lines_no_insert BEFORE INSERT ON invoice_lines
WHEN (SELECT status FROM invoices WHERE id = NEW.invoice_id) = 'issued'
BEGIN SELECT RAISE(ABORT, 'an issued invoice is immutable: correct it with a credit note'); END;

CREATE TABLE credit_notes (
    id          INTEGER PRIMARY KEY,
    number      TEXT    NOT NULL UNIQUE,
    seq         INTEGER NOT NULL UNIQUE,
    invoice_id  INTEGER NOT NULL REFERENCES invoices (id),
    reason      TEXT    NOT NULL,
    issue_date  TEXT    NOT NULL,
    net_pence   INTEGER NOT NULL CHECK (net_pence >= 0),
    vat_pence   INTEGER NOT NULL CHECK (vat_pence >= 0),
    total_pence INTEGER NOT NULL CHECK (total_pence > 0),
    created_at  TEXT    NOT NULL,
    created_by  TEXT    NOT NULL
);
CREATE INDEX credit_notes_invoice ON credit_notes (invoice_id);

CREATE TABLE credit_note_lines (
    id              INTEGER PRIMARY KEY,
    credit_note_id  INTEGER NOT NULL REFERENCES credit_notes (id),
    invoice_line_id INTEGER NOT NULL REFERENCES invoice_lines (id),
    description     TEXT    NOT NULL,
    net_pence       INTEGER NOT NULL CHECK (net_pence > 0),
    vat_pence       INTEGER NOT NULL CHECK (vat_pence >= 0)
);
CREATE INDEX credit_note_lines_line ON credit_note_lines (invoice_line_id);

CREATE TRIGGER credit_notes_immutable BEFORE UPDATE ON credit_notes
BEGIN SELECT RAISE(ABORT, 'a credit note is immutable'); END;
CREATE TRIGGER credit_notes_no_delete BEFORE DELETE ON credit_notes
BEGIN SELECT RAISE(ABORT, 'a credit note is immutable'); END;
CREATE TRIGGER credit_note_lines_immutable BEFORE UPDATE ON credit_note_lines
BEGIN SELECT RAISE(ABORT, 'a credit note is immutable'); END;

CREATE TABLE journal_batches (
    id          INTEGER PRIMARY KEY,
    created_at  TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    posted_at   TEXT,
    posted_by   TEXT,
    total_pence INTEGER NOT NULL
);
CREATE TABLE journal_batch_invoices (
    batch_id     INTEGER NOT NULL REFERENCES journal_batches (id),
    invoice_id   INTEGER NOT NULL UNIQUE REFERENCES invoices (id),
    cost_centre  TEXT    NOT NULL,
    amount_pence INTEGER NOT NULL CHECK (amount_pence > 0),
    PRIMARY KEY (batch_id, invoice_id)
);

CREATE TABLE payments (
    id                 INTEGER PRIMARY KEY,
    invoice_id         INTEGER NOT NULL REFERENCES invoices (id),
    method             TEXT    NOT NULL CHECK (method IN ('bacs', 'journal', 'card')),
    amount_pence       INTEGER NOT NULL CHECK (amount_pence > 0),
    received_on        TEXT    NOT NULL,
    reference          TEXT    NOT NULL DEFAULT '',
    -- a card payment is recorded once per Stripe Checkout Session
    stripe_checkout_id TEXT    UNIQUE,
    journal_batch_id   INTEGER REFERENCES journal_batches (id),
    bank_line_id       INTEGER UNIQUE,
    recorded_at        TEXT    NOT NULL,
    recorded_by        TEXT    NOT NULL
);
CREATE INDEX payments_invoice ON payments (invoice_id);
CREATE INDEX payments_received ON payments (received_on);
CREATE TRIGGER payments_immutable BEFORE UPDATE ON payments
BEGIN SELECT RAISE(ABORT, 'a recorded payment is immutable'); END;
CREATE TRIGGER payments_no_delete BEFORE DELETE ON payments
BEGIN SELECT RAISE(ABORT, 'a recorded payment is immutable'); END;

-- Every Stripe event handled, so each is processed exactly once.
CREATE TABLE stripe_events (
    id           TEXT PRIMARY KEY,
    type         TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    outcome      TEXT NOT NULL
);

-- Each Pay by card attempt: its idempotency key, and what Stripe gave back.
CREATE TABLE card_checkouts (
    id               INTEGER PRIMARY KEY,
    invoice_id       INTEGER NOT NULL REFERENCES invoices (id),
    idempotency_key  TEXT    NOT NULL UNIQUE,
    amount_pence     INTEGER NOT NULL CHECK (amount_pence > 0),
    stripe_session   TEXT    UNIQUE,
    url              TEXT    NOT NULL DEFAULT '',
    status           TEXT    NOT NULL DEFAULT 'creating' CHECK (status IN ('creating', 'open', 'failed', 'paid')),
    created_at       TEXT    NOT NULL,
    created_by       TEXT    NOT NULL
);

CREATE TABLE bank_statements (
    id          INTEGER PRIMARY KEY,
    filename    TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    imported_by TEXT NOT NULL
);
CREATE TABLE bank_lines (
    id           INTEGER PRIMARY KEY,
    statement_id INTEGER NOT NULL REFERENCES bank_statements (id),
    line_no      INTEGER NOT NULL,
    posted_on    TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    amount_pence INTEGER NOT NULL,
    -- the same line seen in two statements has the same fingerprint
    fingerprint  TEXT    NOT NULL UNIQUE,
    status       TEXT    NOT NULL CHECK (status IN ('matched', 'review', 'ignored')),
    invoice_id   INTEGER REFERENCES invoices (id),
    note         TEXT    NOT NULL DEFAULT ''
);

ALTER TABLE subscriptions ADD COLUMN invoice_id INTEGER REFERENCES invoices (id);
ALTER TABLE subscriptions ADD COLUMN po_number TEXT NOT NULL DEFAULT '';
