-- The published 2021/22 tariff of the Primary Statutory Assessment traded
-- package (Essex Strategic Priorities 2021/22), exactly as published, in
-- pence. Every database has it. Training is exempt from VAT as education
-- supplied by a local authority (VAT Act 1994, Schedule 9, Group 6).

INSERT INTO products (code, name, description, kind, vat_treatment, vat_rate_bp, vat_note, sort) VALUES
('psa-subscription', 'Primary Statutory Assessment annual subscription',
 'Up to 2 members of staff at each of the 10 one-hour virtual training sessions of the academic year.',
 'subscription', 'exempt', 0, 'Exempt: education and vocational training supplied by a local authority (VAT Act 1994, Sch. 9 Group 6)', 10),
('psa-session', 'Primary Statutory Assessment training session',
 'One place on one of the 10 one-hour virtual training sessions, for up to 2 members of staff, for schools without the subscription.',
 'session', 'exempt', 0, 'Exempt: education and vocational training supplied by a local authority (VAT Act 1994, Sch. 9 Group 6)', 20),
('moderation', 'Assessment and moderation training event',
 'A place for one member of staff at a Year 2 or Year 6 moderation training event, priced per person per school.',
 'moderation', 'exempt', 0, 'Exempt: education and vocational training supplied by a local authority (VAT Act 1994, Sch. 9 Group 6)', 30);

INSERT INTO price_lists (id, academic_year, version, note, created_at, created_by) VALUES
(1, '2021/22', 1, 'Published tariff, Essex Strategic Priorities 2021/22', '2021-09-01T00:00:00Z', 'published');

INSERT INTO prices (price_list_id, product_code, tier, rate, amount_pence) VALUES
(1, 'psa-subscription', 'maintained', 'unit', 31500),
(1, 'psa-subscription', 'academy',    'unit', 39500),
(1, 'psa-subscription', 'external',   'unit', 49500),
(1, 'psa-session', 'maintained', 'unit', 5500),
(1, 'psa-session', 'academy',    'unit', 6500),
(1, 'psa-session', 'external',   'unit', 7500),
(1, 'moderation', 'maintained', 'first-subscriber',      4000),
(1, 'moderation', 'maintained', 'additional-subscriber', 1000),
(1, 'moderation', 'maintained', 'first',                 6000),
(1, 'moderation', 'maintained', 'additional',            1500),
(1, 'moderation', 'academy',    'first-subscriber',      4000),
(1, 'moderation', 'academy',    'additional-subscriber', 1000),
(1, 'moderation', 'academy',    'first',                 6000),
(1, 'moderation', 'academy',    'additional',            1500),
(1, 'moderation', 'external',   'first-subscriber',      5000),
(1, 'moderation', 'external',   'additional-subscriber', 2000),
(1, 'moderation', 'external',   'first',                 7000),
(1, 'moderation', 'external',   'additional',            2500);

INSERT INTO courses (code, product_code, title, description, sort) VALUES
('psa-briefing-autumn', 'psa-session', 'Primary Statutory Assessment briefing: Autumn 2', 'The termly briefing on statutory assessment for primary schools.', 10),
('psa-briefing-spring', 'psa-session', 'Primary Statutory Assessment briefing: Spring 2', 'The termly briefing on statutory assessment for primary schools.', 11),
('psa-briefing-summer', 'psa-session', 'Primary Statutory Assessment briefing: Summer 1', 'The termly briefing on statutory assessment for primary schools.', 12),
('psa-phonics', 'psa-session', 'Administering the phonics screening check', 'Preparing for and administering the Year 1 phonics screening check in June.', 20),
('psa-managing-ks1-ks2', 'psa-session', 'Managing the statutory assessment process for KS1 and KS2', 'Key dates, responsibilities and the administration of KS1 and KS2 statutory assessment.', 21),
('psa-mtc', 'psa-session', 'Administering the multiplication tables check', 'Preparing for and administering the Year 4 multiplication tables check in June.', 22),
('psa-ks1-taf', 'psa-session', 'Understanding the KS1 teacher assessment framework', 'Using the KS1 teacher assessment framework to make secure judgements.', 23),
('psa-ks2-taf', 'psa-session', 'Understanding the KS2 teacher assessment framework', 'Using the KS2 teacher assessment framework to make secure judgements.', 24),
('psa-y2-refresher', 'psa-session', 'Assessment and moderation in Year 2: refresher', 'A refresher on assessment and moderation in Year 2.', 25),
('psa-y6-refresher', 'psa-session', 'Assessment and moderation in Year 6: refresher', 'A refresher on assessment and moderation in Year 6.', 26),
('mod-y2-new', 'moderation', 'Assessment and moderation in Year 2: new teachers in Year 2 and NQTs', 'Moderation training for teachers new to Year 2 and newly qualified teachers.', 30),
('mod-y2-experienced', 'moderation', 'Assessment and moderation in Year 2: experienced Year 2 teachers', 'Moderation training for experienced Year 2 teachers.', 31),
('mod-y6-new', 'moderation', 'Assessment and moderation in Year 6: new teachers in Year 6 and NQTs', 'Moderation training for teachers new to Year 6 and newly qualified teachers.', 32),
('mod-y6-experienced', 'moderation', 'Assessment and moderation in Year 6: experienced Year 6 teachers', 'Moderation training for experienced Year 6 teachers.', 33);
