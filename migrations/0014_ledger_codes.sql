-- Ledger coding: what the council's finance ledger needs to post Traded's
-- documents. Each product carries the income (nominal) code its sales are
-- credited to and a VAT code; each invoice line keeps the codes it was
-- issued with, so a later change of code does not rewrite history; the
-- control accounts the journal export posts to are settings finance edits.
--
-- The defaults follow two conventions a finance team will recognise: the
-- nominal codes of Sage's standard UK chart (1100 debtors control, 1200
-- bank, 2200 VAT output, 4000s sales) and the VAT category codes of the UK
-- e-invoicing standard (UNCL 5305: S standard, Z zero, E exempt, O outside
-- the scope). A council on another chart changes them on the ledger codes
-- page; nothing in Traded depends on their values.
ALTER TABLE products ADD COLUMN income_code TEXT NOT NULL DEFAULT '';
ALTER TABLE products ADD COLUMN vat_code TEXT NOT NULL DEFAULT '';

UPDATE products SET income_code = CASE kind
        WHEN 'subscription' THEN '4010'
        WHEN 'session' THEN '4020'
        WHEN 'moderation' THEN '4030'
        ELSE '4100' END,
    vat_code = CASE vat_treatment
        WHEN 'standard' THEN 'S'
        WHEN 'zero' THEN 'Z'
        WHEN 'exempt' THEN 'E'
        ELSE 'O' END;

ALTER TABLE invoice_lines ADD COLUMN income_code TEXT NOT NULL DEFAULT '';
ALTER TABLE invoice_lines ADD COLUMN vat_code TEXT NOT NULL DEFAULT '';

-- Lines issued before this migration take their product's codes. This is
-- the one time an issued line is written to: the codes are new columns,
-- not a change to what the document says.
DROP TRIGGER invoice_lines_immutable;
UPDATE invoice_lines SET
    income_code = COALESCE((SELECT p.income_code FROM products p WHERE p.code = invoice_lines.product_code), ''),
    vat_code = COALESCE((SELECT p.vat_code FROM products p WHERE p.code = invoice_lines.product_code), '');
CREATE TRIGGER invoice_lines_immutable BEFORE UPDATE ON invoice_lines
WHEN (SELECT status FROM invoices WHERE id = OLD.invoice_id) = 'issued'
BEGIN SELECT RAISE(ABORT, 'an issued invoice is immutable: correct it with a credit note'); END;

-- The control accounts and the cost centre the journal export posts to.
CREATE TABLE ledger_settings (
    name       TEXT PRIMARY KEY,
    code       TEXT NOT NULL,
    updated_at TEXT,
    updated_by TEXT
) WITHOUT ROWID;
INSERT INTO ledger_settings (name, code) VALUES
    ('debtors', '1100'),
    ('bank', '1200'),
    ('card_clearing', '1210'),
    ('internal_recharge', '1250'),
    ('vat_output', '2200'),
    ('income_cost_centre', 'TS100');
