-- What a school owes for one session is worked out again from its
-- chargeable places whenever places are cancelled in time (README,
-- Decisions): each booking keeps the rates it was confirmed at (tier that
-- day, subscriber then, the price list current then) and its order among
-- the school's bookings on the session; a place cancelled after the cut-off
-- keeps its charge; every commitment to money can carry a PO number.
ALTER TABLE bookings ADD COLUMN po_number TEXT NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN price_list_id INTEGER REFERENCES price_lists (id);
ALTER TABLE bookings ADD COLUMN tier TEXT CHECK (tier IN ('maintained', 'academy', 'external'));
-- 1, 2, ... in the order the school's bookings on the session were confirmed
ALTER TABLE bookings ADD COLUMN confirm_seq INTEGER;
ALTER TABLE delegates ADD COLUMN late_cancel INTEGER NOT NULL DEFAULT 0 CHECK (late_cancel IN (0, 1));

-- Bookings confirmed before this migration: the rates they were priced at
-- are the year's current list and the school's tier as it stands.
UPDATE bookings SET
    price_list_id = (SELECT pl.id FROM price_lists pl JOIN sessions s ON s.academic_year = pl.academic_year
                     WHERE s.id = bookings.session_id ORDER BY pl.version DESC LIMIT 1),
    tier = (SELECT COALESCE(o.tier_override, o.tier) FROM organisations o WHERE o.id = bookings.organisation_id),
    confirm_seq = (SELECT count(*) FROM bookings b2 WHERE b2.session_id = bookings.session_id
                   AND b2.organisation_id = bookings.organisation_id AND b2.confirmed_at IS NOT NULL
                   AND (b2.confirmed_at < bookings.confirmed_at OR (b2.confirmed_at = bookings.confirmed_at AND b2.id <= bookings.id)))
WHERE confirmed_at IS NOT NULL;

