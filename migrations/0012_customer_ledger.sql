-- The customer ledger (README, Credit control). Each organisation's account
-- is its invoices (debits), credit notes and payments (credits) and refunds
-- (debits). What pays an invoice is an allocation: part of a payment or a
-- credit note set against it. What a payment or credit note has not had
-- allocated or refunded is credit on the account. No balance is stored:
-- every balance, status, statement and aged-debt figure is summed from these
-- rows, and triggers refuse any row that would allocate more than a document
-- holds.

-- A payment belongs to an organisation; the invoice it was received against
-- is only what it quoted (none for money on account or a split receipt).
-- SQLite cannot relax NOT NULL in place, so the table is rebuilt; nothing
-- refers to payments yet, and the rows keep their ids.
DROP TRIGGER payments_immutable;
DROP TRIGGER payments_no_delete;
CREATE TABLE payments_0012 (
    id                 INTEGER PRIMARY KEY,
    organisation_id    INTEGER NOT NULL REFERENCES organisations (id),
    invoice_id         INTEGER REFERENCES invoices (id),
    method             TEXT    NOT NULL CHECK (method IN ('bacs', 'journal', 'card')),
    amount_pence       INTEGER NOT NULL CHECK (amount_pence > 0),
    received_on        TEXT    NOT NULL,
    reference          TEXT    NOT NULL DEFAULT '',
    stripe_checkout_id TEXT    UNIQUE,
    journal_batch_id   INTEGER REFERENCES journal_batches (id),
    bank_line_id       INTEGER UNIQUE,
    recorded_at        TEXT    NOT NULL,
    recorded_by        TEXT    NOT NULL,
    idempotency_key    TEXT,
    request_hash       TEXT    NOT NULL DEFAULT ''
);
INSERT INTO payments_0012 (id, organisation_id, invoice_id, method, amount_pence, received_on, reference, stripe_checkout_id,
    journal_batch_id, bank_line_id, recorded_at, recorded_by, idempotency_key, request_hash)
SELECT p.id, i.organisation_id, p.invoice_id, p.method, p.amount_pence, p.received_on, p.reference, p.stripe_checkout_id,
    p.journal_batch_id, p.bank_line_id, p.recorded_at, p.recorded_by, p.idempotency_key, p.request_hash
FROM payments p JOIN invoices i ON i.id = p.invoice_id;
DROP TABLE payments;
ALTER TABLE payments_0012 RENAME TO payments;
CREATE INDEX payments_organisation ON payments (organisation_id, received_on);
CREATE INDEX payments_invoice ON payments (invoice_id);
CREATE INDEX payments_received ON payments (received_on);
CREATE UNIQUE INDEX payments_idempotency ON payments (recorded_by, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE TRIGGER payments_immutable BEFORE UPDATE ON payments
BEGIN SELECT RAISE(ABORT, 'a recorded payment is immutable'); END;
CREATE TRIGGER payments_no_delete BEFORE DELETE ON payments
BEGIN SELECT RAISE(ABORT, 'a recorded payment is immutable'); END;

-- A refund pays credit back to the organisation, out of one payment or one
-- credit note. A card refund goes through Stripe: it is 'pending' from the
-- moment it is asked for (so the credit cannot be refunded twice) until
-- Stripe answers, then 'done' or 'failed'; a failed refund gives its credit
-- back. A BACS refund is 'done' when recorded.
CREATE TABLE refunds (
    id               INTEGER PRIMARY KEY,
    organisation_id  INTEGER NOT NULL REFERENCES organisations (id),
    payment_id       INTEGER REFERENCES payments (id),
    credit_note_id   INTEGER REFERENCES credit_notes (id),
    method           TEXT    NOT NULL CHECK (method IN ('bacs', 'card')),
    amount_pence     INTEGER NOT NULL CHECK (amount_pence > 0),
    refunded_on      TEXT    NOT NULL,
    reference        TEXT    NOT NULL DEFAULT '',
    reason           TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    stripe_refund_id TEXT    UNIQUE,
    failure          TEXT    NOT NULL DEFAULT '',
    idempotency_key  TEXT    NOT NULL UNIQUE,
    request_hash     TEXT    NOT NULL DEFAULT '',
    created_at       TEXT    NOT NULL,
    created_by       TEXT    NOT NULL,
    CHECK ((payment_id IS NULL) <> (credit_note_id IS NULL)),
    CHECK (method = 'bacs' OR payment_id IS NOT NULL)
);
CREATE INDEX refunds_organisation ON refunds (organisation_id);
CREATE INDEX refunds_payment ON refunds (payment_id);
CREATE INDEX refunds_credit_note ON refunds (credit_note_id);
CREATE TRIGGER refunds_settle BEFORE UPDATE ON refunds
WHEN OLD.status <> 'pending' OR NEW.status = 'pending' OR NEW.amount_pence <> OLD.amount_pence
    OR NEW.payment_id IS NOT OLD.payment_id OR NEW.credit_note_id IS NOT OLD.credit_note_id
    OR NEW.organisation_id <> OLD.organisation_id
BEGIN SELECT RAISE(ABORT, 'a refund changes only once, from pending to done or failed'); END;
CREATE TRIGGER refunds_no_delete BEFORE DELETE ON refunds
BEGIN SELECT RAISE(ABORT, 'a refund is never deleted'); END;

-- An allocation sets amount_pence of one payment or credit note against one
-- invoice of the same organisation. It is never changed: undoing one is a
-- second row with the opposite amount that names it in reverses.
CREATE TABLE allocations (
    id              INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    invoice_id      INTEGER NOT NULL REFERENCES invoices (id),
    payment_id      INTEGER REFERENCES payments (id),
    credit_note_id  INTEGER REFERENCES credit_notes (id),
    amount_pence    INTEGER NOT NULL CHECK (amount_pence <> 0),
    reverses        INTEGER UNIQUE REFERENCES allocations (id),
    created_at      TEXT    NOT NULL,
    created_by      TEXT    NOT NULL,
    CHECK ((payment_id IS NULL) <> (credit_note_id IS NULL)),
    CHECK ((amount_pence > 0) = (reverses IS NULL))
);
CREATE INDEX allocations_invoice ON allocations (invoice_id);
CREATE INDEX allocations_payment ON allocations (payment_id);
CREATE INDEX allocations_credit_note ON allocations (credit_note_id);
CREATE INDEX allocations_organisation ON allocations (organisation_id);
CREATE TRIGGER allocations_immutable BEFORE UPDATE ON allocations
BEGIN SELECT RAISE(ABORT, 'an allocation is immutable: reverse it'); END;
CREATE TRIGGER allocations_no_delete BEFORE DELETE ON allocations
BEGIN SELECT RAISE(ABORT, 'an allocation is immutable: reverse it'); END;

-- The limits, enforced where no code path can miss them.
CREATE TRIGGER allocations_same_account BEFORE INSERT ON allocations
WHEN (SELECT organisation_id FROM invoices WHERE id = NEW.invoice_id AND status = 'issued') IS NOT NEW.organisation_id
    OR COALESCE((SELECT organisation_id FROM payments WHERE id = NEW.payment_id),
                (SELECT i.organisation_id FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id WHERE c.id = NEW.credit_note_id))
       IS NOT NEW.organisation_id
BEGIN SELECT RAISE(ABORT, 'an allocation joins an issued invoice and a credit of the same organisation'); END;
CREATE TRIGGER allocations_reversal BEFORE INSERT ON allocations WHEN NEW.reverses IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM allocations a WHERE a.id = NEW.reverses AND a.reverses IS NULL
        AND a.amount_pence = -NEW.amount_pence AND a.invoice_id = NEW.invoice_id
        AND a.payment_id IS NEW.payment_id AND a.credit_note_id IS NEW.credit_note_id)
BEGIN SELECT RAISE(ABORT, 'a reversal undoes exactly one allocation'); END;
CREATE TRIGGER allocations_invoice_limit BEFORE INSERT ON allocations WHEN NEW.amount_pence > 0
    AND COALESCE((SELECT SUM(amount_pence) FROM allocations WHERE invoice_id = NEW.invoice_id), 0) + NEW.amount_pence
        > (SELECT total_pence FROM invoices WHERE id = NEW.invoice_id)
BEGIN SELECT RAISE(ABORT, 'an allocation would take an invoice past its total'); END;
CREATE TRIGGER allocations_payment_limit BEFORE INSERT ON allocations WHEN NEW.amount_pence > 0 AND NEW.payment_id IS NOT NULL
    AND COALESCE((SELECT SUM(amount_pence) FROM allocations WHERE payment_id = NEW.payment_id), 0)
        + COALESCE((SELECT SUM(amount_pence) FROM refunds WHERE payment_id = NEW.payment_id AND status <> 'failed'), 0)
        + NEW.amount_pence > (SELECT amount_pence FROM payments WHERE id = NEW.payment_id)
BEGIN SELECT RAISE(ABORT, 'an allocation would use more of a payment than it holds'); END;
CREATE TRIGGER allocations_credit_note_limit BEFORE INSERT ON allocations WHEN NEW.amount_pence > 0 AND NEW.credit_note_id IS NOT NULL
    AND COALESCE((SELECT SUM(amount_pence) FROM allocations WHERE credit_note_id = NEW.credit_note_id), 0)
        + COALESCE((SELECT SUM(amount_pence) FROM refunds WHERE credit_note_id = NEW.credit_note_id AND status <> 'failed'), 0)
        + NEW.amount_pence > (SELECT total_pence FROM credit_notes WHERE id = NEW.credit_note_id)
BEGIN SELECT RAISE(ABORT, 'an allocation would use more of a credit note than it holds'); END;
CREATE TRIGGER refunds_limit BEFORE INSERT ON refunds
WHEN COALESCE((SELECT organisation_id FROM payments WHERE id = NEW.payment_id),
              (SELECT i.organisation_id FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id WHERE c.id = NEW.credit_note_id))
        IS NOT NEW.organisation_id
    OR (NEW.payment_id IS NOT NULL AND
        COALESCE((SELECT SUM(amount_pence) FROM allocations WHERE payment_id = NEW.payment_id), 0)
        + COALESCE((SELECT SUM(amount_pence) FROM refunds WHERE payment_id = NEW.payment_id AND status <> 'failed'), 0)
        + NEW.amount_pence > (SELECT amount_pence FROM payments WHERE id = NEW.payment_id))
    OR (NEW.credit_note_id IS NOT NULL AND
        COALESCE((SELECT SUM(amount_pence) FROM allocations WHERE credit_note_id = NEW.credit_note_id), 0)
        + COALESCE((SELECT SUM(amount_pence) FROM refunds WHERE credit_note_id = NEW.credit_note_id AND status <> 'failed'), 0)
        + NEW.amount_pence > (SELECT total_pence FROM credit_notes WHERE id = NEW.credit_note_id))
BEGIN SELECT RAISE(ABORT, 'a refund would pay back more credit than the account holds'); END;

-- The ledger so far, as allocations: each credit note against its own
-- invoice in full (a credit note never exceeds what is left of its
-- invoice's lines), then each payment against the invoice it paid, in the
-- order received, up to what the invoice still owed; what a payment paid
-- beyond that is now credit on the account.
INSERT INTO allocations (organisation_id, invoice_id, credit_note_id, amount_pence, created_at, created_by)
SELECT i.organisation_id, c.invoice_id, c.id, c.total_pence, c.created_at, c.created_by
FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id ORDER BY c.id;
INSERT INTO allocations (organisation_id, invoice_id, payment_id, amount_pence, created_at, created_by)
SELECT organisation_id, invoice_id, id, amount, recorded_at, recorded_by FROM (
    SELECT p.id, p.organisation_id, p.invoice_id, p.recorded_at, p.recorded_by,
        MIN(p.amount_pence, MAX(0, i.total_pence
            - COALESCE((SELECT SUM(c.total_pence) FROM credit_notes c WHERE c.invoice_id = i.id), 0)
            - COALESCE(SUM(p.amount_pence) OVER (PARTITION BY p.invoice_id ORDER BY p.received_on, p.id
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))) AS amount
    FROM payments p JOIN invoices i ON i.id = p.invoice_id
) WHERE amount > 0 ORDER BY id;
