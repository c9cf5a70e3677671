-- Keys the web layer derives tokens from, made at random the first time
-- the server starts with this database: today the key that CSRF tokens are
-- an HMAC under (web/csrf.go). Kept in the database, not in memory, so that
-- a form stays good across a restart or a deploy, and every process
-- serving one database agrees.
CREATE TABLE web_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
