-- Bank holidays in England and Wales become data (issue 15): shipped as
-- GOV.UK's published list (booking/data/bank-holidays.json, embedded),
-- loaded into bank_holidays at start-up, and edited by admins like term
-- dates. A year in bank_holiday_years is one the list covers: there only
-- the rows count. Later years keep the rules (Easter, the Mondays,
-- substitute days), with any admin rows on top.
--
-- An admin's removal keeps the row, marked removed, so that loading the
-- list again does not bring the day back (nor the rules, in a year the
-- list does not cover). source says where the holiday came from: 'govuk'
-- for the shipped list, 'admin' for an admin (who is recorded_by; a day
-- of the rules an admin removed is an 'admin' row, removed).
-- Not WITHOUT ROWID: SQLite's update hook, through which store.DB.Version
-- notices a change (and Traded reloads the holidays), skips such tables.
CREATE TABLE bank_holidays (
    date        TEXT PRIMARY KEY CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]'),
    name        TEXT NOT NULL CHECK (name <> ''),
    source      TEXT NOT NULL CHECK (source IN ('govuk', 'admin')),
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    removed_at  TEXT,
    removed_by  TEXT,
    CHECK ((removed_at IS NULL) = (removed_by IS NULL))
);

-- The calendar years the shipped list covers, and when each was loaded.
CREATE TABLE bank_holiday_years (
    year        INTEGER PRIMARY KEY CHECK (year BETWEEN 1900 AND 9999),
    recorded_at TEXT NOT NULL
);
