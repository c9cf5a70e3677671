-- Traded school-improvement consultancy: day-rate services, requests,
-- quotes, engagements with planned visit days, advisers' availability,
-- delivery logs and their billing.

-- The services of the 2017 letter, sold by the day and half day. VAT is
-- set per service: standard-rated here (consultancy is not education
-- supplied to pupils), which an admin may change.
INSERT INTO products (code, name, description, kind, vat_treatment, vat_rate_bp, vat_note, sort) VALUES
('peer-review', 'Support and training for peer review', 'An adviser supports and trains your leaders to review each other''s schools, and joins the first reviews.', 'consultancy', 'standard', 2000, '', 100),
('governance-qa', 'Quality assurance of governance', 'A review of how well your governing board works, with a report and an action plan.', 'consultancy', 'standard', 2000, '', 110),
('ht-performance', 'Support for governors conducting headteacher performance management', 'Advice and support for governors setting and reviewing the headteacher''s objectives.', 'consultancy', 'standard', 2000, '', 120),
('ht-recruitment', 'Support for headteacher and deputy recruitment', 'Support for governors recruiting a headteacher, and for headteachers appointing deputies: from the advert to the interviews.', 'consultancy', 'standard', 2000, '', 130),
('curriculum-review', 'Bespoke curriculum review', 'A review of your curriculum, or a part of it, shaped to your school''s questions.', 'consultancy', 'standard', 2000, '', 140),
('review-new-head', 'Collaborative review for new headteachers', 'A review alongside a new headteacher, to see the school afresh and agree priorities.', 'consultancy', 'standard', 2000, '', 150),
('review-priorities', 'Collaborative review of improvement priorities', 'A review focused on your current improvement priorities, or any strand of the school''s work.', 'consultancy', 'standard', 2000, '', 160);

CREATE TABLE consultancy_services (
    product_code TEXT PRIMARY KEY REFERENCES products (code),
    -- typical length in half days (2 = one day)
    typical_half_days INTEGER NOT NULL CHECK (typical_half_days > 0)
) WITHOUT ROWID;
INSERT INTO consultancy_services (product_code, typical_half_days) VALUES
('peer-review', 4), ('governance-qa', 3), ('ht-performance', 2), ('ht-recruitment', 4),
('curriculum-review', 4), ('review-new-head', 2), ('review-priorities', 2);

-- How many days an adviser has for traded work in each half-term.
CREATE TABLE adviser_availability (
    adviser_id    INTEGER NOT NULL REFERENCES users (id),
    academic_year TEXT    NOT NULL,
    term          TEXT    NOT NULL,
    days          INTEGER NOT NULL CHECK (days >= 0),
    PRIMARY KEY (adviser_id, academic_year, term)
) WITHOUT ROWID;

CREATE TABLE consultancy_requests (
    id               INTEGER PRIMARY KEY,
    reference        TEXT    NOT NULL UNIQUE,
    organisation_id  INTEGER NOT NULL REFERENCES organisations (id),
    product_code     TEXT    NOT NULL REFERENCES products (code),
    requested_by     INTEGER REFERENCES users (id),
    need             TEXT    NOT NULL,
    preferred        TEXT    NOT NULL DEFAULT '',
    po_number        TEXT    NOT NULL DEFAULT '',
    -- requested -> quoted -> accepted (an engagement) or declined; or withdrawn;
    -- an engagement ends completed or cancelled
    status           TEXT    NOT NULL CHECK (status IN ('requested', 'quoted', 'accepted', 'declined', 'withdrawn', 'completed', 'cancelled')),
    adviser_id       INTEGER REFERENCES users (id),
    -- the quote, priced from the year's list at the school's tier
    academic_year    TEXT    NOT NULL DEFAULT '',
    day_pence        INTEGER NOT NULL DEFAULT 0,
    half_day_pence   INTEGER NOT NULL DEFAULT 0,
    quote_note       TEXT    NOT NULL DEFAULT '',
    -- billing: 'monthly' or 'completion'; late cancellation: 'full', 'half' or 'none'
    billing          TEXT    NOT NULL DEFAULT 'completion' CHECK (billing IN ('monthly', 'completion')),
    late_cancel_rule TEXT    NOT NULL DEFAULT 'full' CHECK (late_cancel_rule IN ('full', 'half', 'none')),
    quoted_at        TEXT,
    decided_at       TEXT,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL
);
CREATE INDEX consultancy_requests_org ON consultancy_requests (organisation_id, status);
CREATE INDEX consultancy_requests_adviser ON consultancy_requests (adviser_id, status);

-- Visit days: proposed with the quote, planned once accepted. part is the
-- whole day or a morning or afternoon; an adviser is never booked twice
-- on the same day part (checked in the one write transaction).
CREATE TABLE consultancy_visits (
    id            INTEGER PRIMARY KEY,
    request_id    INTEGER NOT NULL REFERENCES consultancy_requests (id),
    adviser_id    INTEGER NOT NULL REFERENCES users (id),
    visit_date    TEXT    NOT NULL,
    part          TEXT    NOT NULL CHECK (part IN ('day', 'am', 'pm')),
    mode          TEXT    NOT NULL CHECK (mode IN ('onsite', 'virtual')),
    status        TEXT    NOT NULL DEFAULT 'planned' CHECK (status IN ('proposed', 'planned', 'delivered', 'cancelled')),
    uid           TEXT    NOT NULL UNIQUE,
    sequence      INTEGER NOT NULL DEFAULT 0,
    -- what was delivered, in half days, with the adviser's note
    delivered_half_days INTEGER,
    delivery_note TEXT    NOT NULL DEFAULT '',
    delivered_at  TEXT,
    -- a late cancellation's charge, in half days, by the engagement's rule
    charge_half_days INTEGER NOT NULL DEFAULT 0,
    cancelled_at  TEXT,
    invoice_id    INTEGER REFERENCES invoices (id),
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);
CREATE INDEX consultancy_visits_adviser ON consultancy_visits (adviser_id, visit_date);
CREATE INDEX consultancy_visits_request ON consultancy_visits (request_id);

INSERT INTO number_series (name, prefix, next) VALUES ('consultancy', 'CR-', 1);
