-- A consultancy visit's invoice becomes billing's, as a booking charge's
-- did in 0021 (issue 17): which invoice billed each delivered visit, or
-- each late cancellation's charge, is kept here, written only by billing
-- as it issues the invoice, and consultancy's table no longer names
-- invoices. The links consultancy_visits kept are copied here and the
-- column dropped, so that nothing reads a copy billing no longer keeps up.
--
-- A visit is billed once (the key). Not WITHOUT ROWID, so that
-- store.DB.Version sees it change (SQLite's update hook skips such tables).
CREATE TABLE invoiced_visits (
    visit_id   INTEGER PRIMARY KEY REFERENCES consultancy_visits (id),
    invoice_id INTEGER NOT NULL REFERENCES invoices (id)
);
INSERT INTO invoiced_visits (visit_id, invoice_id)
SELECT id, invoice_id FROM consultancy_visits WHERE invoice_id IS NOT NULL ORDER BY id;

ALTER TABLE consultancy_visits DROP COLUMN invoice_id;
