-- Every index on bookings is another page written with each booking, and
-- the session's bookings were indexed twice: by (session, status, created)
-- for its lists and waiting list, and by (session, school, status) for
-- pricing. One index on (session, status, school) serves both: the lists
-- sort the few rows of one status themselves.
DROP INDEX bookings_session;
DROP INDEX bookings_session_org;
CREATE INDEX bookings_session ON bookings (session_id, status, organisation_id);
