-- An issued invoice that could not be emailed because its organisation had
-- no billing contact (no billing email and no active school business
-- manager) is flagged here, not silently skipped: finance sees it on the
-- billing home page and the invoice, sets a contact and sends it. An issued
-- invoice is immutable, so the flag lives beside it. sent_at is when it was
-- finally queued.
CREATE TABLE invoices_not_mailed (
    invoice_id INTEGER PRIMARY KEY REFERENCES invoices (id),
    noted_at   TEXT NOT NULL,
    sent_at    TEXT,
    sent_by    TEXT
);
CREATE INDEX invoices_not_mailed_open ON invoices_not_mailed (sent_at);
