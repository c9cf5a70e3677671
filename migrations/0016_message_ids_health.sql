-- Each queued message gets a random Message-ID token when it is queued, kept
-- with it so a retry carries the same id (receivers drop the duplicate)
-- while no two messages ever share one: not after a restore from an older
-- backup, not between a staging and a live database. Messages queued before
-- this migration keep the old outbox-N form.
ALTER TABLE outbox ADD COLUMN message_id TEXT;
CREATE UNIQUE INDEX outbox_message_id ON outbox (message_id) WHERE message_id IS NOT NULL;

-- One row the server writes at start and for /healthz: a database it cannot
-- write to (a read-only file or directory, a full disk) is found then, not
-- by the first school to book.
CREATE TABLE store_health (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at TEXT NOT NULL
);
