-- Foundation: organisations and their tier history, products, versioned
-- price lists, courses and sessions, term dates, subscriptions, audit log.
-- Instants are UTC text 'YYYY-MM-DDTHH:MM:SSZ'; calendar dates 'YYYY-MM-DD';
-- money is integer pence in *_pence columns.

CREATE TABLE organisations (
    id                   INTEGER PRIMARY KEY,
    urn                  INTEGER NOT NULL UNIQUE CHECK (urn > 0),
    kind                 TEXT    NOT NULL DEFAULT 'school' CHECK (kind IN ('school', 'trust')),
    name                 TEXT    NOT NULL CHECK (name <> ''),
    la_code              INTEGER NOT NULL DEFAULT 0,
    la_name              TEXT    NOT NULL DEFAULT '',
    establishment_number TEXT    NOT NULL DEFAULT '',
    establishment_type   TEXT    NOT NULL DEFAULT '',
    type_group           TEXT    NOT NULL DEFAULT '',
    phase                TEXT    NOT NULL DEFAULT '',
    status               TEXT    NOT NULL DEFAULT 'Open',
    closed               INTEGER NOT NULL DEFAULT 0 CHECK (closed IN (0, 1)),
    street               TEXT    NOT NULL DEFAULT '',
    locality             TEXT    NOT NULL DEFAULT '',
    address3             TEXT    NOT NULL DEFAULT '',
    town                 TEXT    NOT NULL DEFAULT '',
    county               TEXT    NOT NULL DEFAULT '',
    postcode             TEXT    NOT NULL DEFAULT '',
    district             TEXT    NOT NULL DEFAULT '',
    -- tier is derived from GIAS; tier_override, when set by an admin, wins.
    tier                 TEXT    NOT NULL CHECK (tier IN ('maintained', 'academy', 'external')),
    tier_override        TEXT    CHECK (tier_override IN ('maintained', 'academy', 'external')),
    created_at           TEXT    NOT NULL,
    updated_at           TEXT    NOT NULL
);
CREATE INDEX organisations_name ON organisations (name);

-- Every tier an organisation has had, and from when; the current one is the
-- latest effective_from (ties: the latest id).
CREATE TABLE organisation_tiers (
    id              INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    tier            TEXT    NOT NULL CHECK (tier IN ('maintained', 'academy', 'external')),
    effective_from  TEXT    NOT NULL,
    source          TEXT    NOT NULL CHECK (source IN ('gias', 'admin', 'demo')),
    reason          TEXT    NOT NULL DEFAULT '',
    recorded_at     TEXT    NOT NULL
);
CREATE INDEX organisation_tiers_org ON organisation_tiers (organisation_id, effective_from);

CREATE TABLE products (
    code          TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL,
    description   TEXT    NOT NULL DEFAULT '',
    kind          TEXT    NOT NULL CHECK (kind IN ('subscription', 'session', 'moderation', 'consultancy')),
    -- VAT is set per product. Exempt lines print vat_note as the reason.
    vat_treatment TEXT    NOT NULL CHECK (vat_treatment IN ('exempt', 'standard', 'zero', 'outside_scope')),
    vat_rate_bp   INTEGER NOT NULL DEFAULT 0 CHECK (vat_rate_bp BETWEEN 0 AND 10000),
    vat_note      TEXT    NOT NULL DEFAULT '',
    sort          INTEGER NOT NULL DEFAULT 0,
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
);

CREATE TABLE price_lists (
    id            INTEGER PRIMARY KEY,
    academic_year TEXT    NOT NULL,
    version       INTEGER NOT NULL CHECK (version > 0),
    derived_from  INTEGER REFERENCES price_lists (id),
    uplift_bp     INTEGER,
    note          TEXT    NOT NULL DEFAULT '',
    created_at    TEXT    NOT NULL,
    created_by    TEXT    NOT NULL,
    UNIQUE (academic_year, version)
);

CREATE TABLE prices (
    price_list_id INTEGER NOT NULL REFERENCES price_lists (id),
    product_code  TEXT    NOT NULL REFERENCES products (code),
    tier          TEXT    NOT NULL CHECK (tier IN ('maintained', 'academy', 'external')),
    rate          TEXT    NOT NULL,
    amount_pence  INTEGER NOT NULL CHECK (amount_pence >= 0),
    PRIMARY KEY (price_list_id, product_code, tier, rate)
) WITHOUT ROWID;

-- A price list, once written, is never edited: a change is a new version.
CREATE TRIGGER prices_immutable_update BEFORE UPDATE ON prices
BEGIN SELECT RAISE(ABORT, 'prices are immutable: make a new price list version'); END;
CREATE TRIGGER prices_immutable_delete BEFORE DELETE ON prices
BEGIN SELECT RAISE(ABORT, 'prices are immutable: make a new price list version'); END;

CREATE TABLE courses (
    code         TEXT    PRIMARY KEY,
    product_code TEXT    NOT NULL REFERENCES products (code),
    title        TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    sort         INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    id                INTEGER PRIMARY KEY,
    course_code       TEXT    NOT NULL REFERENCES courses (code),
    academic_year     TEXT    NOT NULL,
    title             TEXT    NOT NULL,
    starts_at         TEXT    NOT NULL,
    duration_minutes  INTEGER NOT NULL CHECK (duration_minutes > 0),
    capacity          INTEGER NOT NULL CHECK (capacity > 0),
    joining_url       TEXT    NOT NULL DEFAULT '',
    presenter         TEXT    NOT NULL DEFAULT '',
    booking_cutoff_at TEXT    NOT NULL,
    status            TEXT    NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    -- sequence counts changes people must be told of (the .ics SEQUENCE).
    sequence          INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL
);
CREATE INDEX sessions_year ON sessions (academic_year, starts_at);

-- Term dates are data an admin edits each year. applies_to is 'la' for the
-- LA's own dates; academies that differ get their own rows later.
CREATE TABLE term_dates (
    id            INTEGER PRIMARY KEY,
    academic_year TEXT NOT NULL,
    term          TEXT NOT NULL CHECK (term IN ('autumn1', 'autumn2', 'spring1', 'spring2', 'summer1', 'summer2')),
    starts_on     TEXT NOT NULL,
    ends_on       TEXT NOT NULL CHECK (ends_on >= starts_on),
    applies_to    TEXT NOT NULL DEFAULT 'la',
    UNIQUE (academic_year, term, applies_to)
);

CREATE TABLE subscriptions (
    id              INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    product_code    TEXT    NOT NULL REFERENCES products (code),
    academic_year   TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);
CREATE UNIQUE INDEX subscriptions_one_active ON subscriptions (organisation_id, product_code, academic_year) WHERE status = 'active';

-- Every state change by a person (or an admin command) is recorded here.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT    NOT NULL,
    actor_id    INTEGER,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    entity      TEXT    NOT NULL DEFAULT '',
    entity_id   TEXT    NOT NULL DEFAULT '',
    detail      TEXT    NOT NULL DEFAULT '',
    remote_addr TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);
CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
