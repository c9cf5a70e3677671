-- The charge-to-invoice link becomes billing's (issue 17): which invoice,
-- and which line of it, billed each booking charge is kept here, written
-- only by billing as it issues the invoice (when the booking is confirmed
-- or priced again, or in the monthly run), and read by booking through its
-- Charger. Booking's tables no longer name invoices: the links that
-- booking_charges and bookings kept are copied here and their columns
-- dropped, so that nothing reads a copy billing no longer keeps up.
--
-- A charge is billed once (the key), on a line that exists on its invoice
-- (the second foreign key). A booking's invoice, as its page, its JSON and
-- its confirmation name it, is the invoice of its first billed charge. For
-- a booking billed when it was confirmed that is the invoice
-- bookings.invoice_id named; for one billed by two monthly runs (a charge
-- added when it was priced again) that column named the later invoice, and
-- the booking now names the first: both charges keep their own invoice.
--
-- Not WITHOUT ROWID: SQLite's update hook, through which store.DB.Version
-- notices a change, skips such tables. No index on the invoice: issued
-- invoice lines are never deleted or renumbered (0004's triggers), so the
-- foreign key never looks for a line's charge, and every read is by booking.
CREATE TABLE invoiced_charges (
    booking_id   INTEGER NOT NULL,
    position     INTEGER NOT NULL,
    invoice_id   INTEGER NOT NULL,
    invoice_line INTEGER NOT NULL,
    PRIMARY KEY (booking_id, position),
    FOREIGN KEY (booking_id, position) REFERENCES booking_charges (booking_id, position),
    FOREIGN KEY (invoice_id, invoice_line) REFERENCES invoice_lines (invoice_id, position)
);
INSERT INTO invoiced_charges (booking_id, position, invoice_id, invoice_line)
SELECT booking_id, position, invoice_id, invoice_line FROM booking_charges WHERE invoice_id IS NOT NULL
ORDER BY booking_id, position;

-- Every booking's invoice was one its charges are on (each release wrote
-- the two together): a booking naming any other would lose it here, so the
-- migration stops instead (the CHECK fails) and the database is left as it
-- was.
CREATE TEMP TABLE bookings_invoice_kept (lost INTEGER NOT NULL CHECK (lost = 0));
INSERT INTO bookings_invoice_kept (lost)
SELECT count(*) FROM bookings b WHERE b.invoice_id IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM invoiced_charges c WHERE c.booking_id = b.id AND c.invoice_id = b.invoice_id);
DROP TABLE bookings_invoice_kept;

DROP INDEX booking_charges_uninvoiced;
ALTER TABLE booking_charges DROP COLUMN invoice_line;
ALTER TABLE booking_charges DROP COLUMN invoice_id;
ALTER TABLE bookings DROP COLUMN invoice_id;
