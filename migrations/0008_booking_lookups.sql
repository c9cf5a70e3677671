-- A school's bookings on one session are read on every booking, to price
-- the marginal PSA place: without this index SQLite walks every booking on
-- the session (or every booking of the school), which grows all year.
CREATE INDEX bookings_session_org ON bookings (session_id, organisation_id, status);
