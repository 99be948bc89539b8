-- B6 data: one city (bench-city, no reports) above :governments governments
-- with :departments departments each (100 × 99: 10,000 agencies and the
-- city, whose roll-up B8 measures), one report a year for 2021–2025 (50,000
-- reports), each a copy of the cells and narrative of one published
-- 2021-format report (the template), then published.  As postgres:
--
--   psql -v ON_ERROR_STOP=1 -v governments=100 -v departments=99 \
--        -v tpl_agency=demo-district -v tpl_year=2024 -f generate.sql
--
-- Set-based, not 50,000 calls of new_report() and publish() (those take
-- minutes): the rows those functions write, and the same rules.
--
--   * agencies, reports and draft revisions go through their triggers;
--   * the 8 million cells and the narrative are copied with the row
--     triggers off (session_replication_role = replica: 33 µs a row with
--     them, 4 µs without).  What the triggers check holds by construction
--     and is checked below: the rows are the template's rows, which passed
--     cell_validate and the foreign keys, in revisions of the template's
--     format that are drafts;
--   * publish() refuses a draft in which check_revision() finds an error.
--     The error rules (R1–R6, R12) depend only on a revision's cells and on
--     its format against its year, so every copy has the template's
--     findings: the template and one copy of each year are checked, and
--     every copy must hold exactly the template's cells;
--   * the drafts become published through the revision guard, as publish()
--     does; one announce() bumps the data version and sends one NOTIFY.

\set ON_ERROR_STOP 1

BEGIN;

CREATE TEMP TABLE bench_tpl ON COMMIT DROP AS
SELECT p.revision_id, p.format
  FROM disclosure.public_revision p
 WHERE p.agency = :'tpl_agency' AND p.year = :tpl_year AND p.status = 'published';

DO $$
BEGIN
    IF (SELECT count(*) FROM bench_tpl) <> 1
       OR (SELECT format FROM bench_tpl) <> 2021
    THEN
        RAISE EXCEPTION 'the template must be one published 2021-format report';
    END IF;
    IF EXISTS (SELECT 1 FROM disclosure.check_revision((SELECT revision_id FROM bench_tpl))
                WHERE severity = 'error') THEN
        RAISE EXCEPTION 'the template has errors';
    END IF;
END
$$;

INSERT INTO disclosure.agency (slug, name, kind)
VALUES ('bench-city', '基准测试市人民政府', 'government');

INSERT INTO disclosure.agency (slug, name, kind, parent_id)
SELECT format('bench-g%s', lpad(g::text, 3, '0')),
       format('基准测试第%s区人民政府', g), 'government',
       (SELECT id FROM disclosure.agency WHERE slug = 'bench-city')
  FROM generate_series(1, :governments) g;

INSERT INTO disclosure.agency (slug, name, kind, parent_id)
SELECT format('%s-d%s', a.slug, lpad(d::text, 2, '0')),
       format('%s第%s部门', a.name, d), 'department', a.id
  FROM disclosure.agency a CROSS JOIN generate_series(1, :departments) d
 WHERE a.slug LIKE 'bench-g%' AND a.slug NOT LIKE '%-d%';

INSERT INTO disclosure.report (agency_id, year)
SELECT a.id, y
  FROM disclosure.agency a CROSS JOIN generate_series(2021, 2025) y
 WHERE a.slug LIKE 'bench-g%';

CREATE TEMP TABLE bench_rev ON COMMIT DROP AS
WITH v AS (
    INSERT INTO disclosure.revision (report_id, revision, format, scope)
    SELECT r.id, 1, 2021, 'office'
      FROM disclosure.report r JOIN disclosure.agency a ON a.id = r.agency_id
     WHERE a.slug LIKE 'bench-g%'
    RETURNING id, report_id)
SELECT id, report_id FROM v;

SET LOCAL session_replication_role = replica;

INSERT INTO disclosure.cell (revision_id, format, tbl, row_key, col_key, given, value)
SELECT v.id, c.format, c.tbl, c.row_key, c.col_key, c.given, c.value
  FROM bench_rev v
 CROSS JOIN disclosure.cell c
 WHERE c.revision_id = (SELECT revision_id FROM bench_tpl);

INSERT INTO disclosure.section_text (revision_id, format, section, part, body)
SELECT v.id, t.format, t.section, t.part, t.body
  FROM bench_rev v
 CROSS JOIN disclosure.section_text t
 WHERE t.revision_id = (SELECT revision_id FROM bench_tpl);

SET LOCAL session_replication_role = origin;

-- the checks below join millions of rows: the planner needs to know
ANALYZE disclosure.agency, disclosure.report, disclosure.revision,
        disclosure.cell, disclosure.section_text;

DO $$
DECLARE
    n_tpl  bigint;
    rev    int;
BEGIN
    SELECT count(*) INTO n_tpl FROM disclosure.cell
     WHERE revision_id = (SELECT revision_id FROM bench_tpl);

    -- the primary key makes a revision's cells distinct, so the right
    -- number of them, all of the template's keys, is the template's set
    IF EXISTS (SELECT 1 FROM bench_rev v
                LEFT JOIN (SELECT c.revision_id, count(*) AS n
                             FROM disclosure.cell c
                            WHERE c.revision_id IN (SELECT id FROM bench_rev)
                            GROUP BY c.revision_id) x ON x.revision_id = v.id
                WHERE x.n IS DISTINCT FROM n_tpl)
       OR EXISTS (SELECT 1 FROM disclosure.cell c
                   WHERE c.revision_id IN (SELECT id FROM bench_rev)
                     AND NOT EXISTS (
                         SELECT 1 FROM disclosure.cell t
                          WHERE t.revision_id = (SELECT revision_id FROM bench_tpl)
                            AND (t.format, t.tbl, t.row_key, t.col_key, t.given, t.value)
                                IS NOT DISTINCT FROM
                                (c.format, c.tbl, c.row_key, c.col_key, c.given, c.value)))
    THEN
        RAISE EXCEPTION 'a copy does not hold the template''s cells';
    END IF;

    FOR rev IN SELECT DISTINCT ON (r.year) v.id
                 FROM bench_rev v JOIN disclosure.report r ON r.id = v.report_id
                ORDER BY r.year, v.id
    LOOP
        IF EXISTS (SELECT 1 FROM disclosure.check_revision(rev) WHERE severity = 'error') THEN
            RAISE EXCEPTION 'revision % has errors', rev;
        END IF;
    END LOOP;
END
$$;

UPDATE disclosure.revision
   SET status = 'published', published_at = now(), published_by = session_user
 WHERE id IN (SELECT id FROM bench_rev);

-- each publication's document, made as publish() makes it
INSERT INTO disclosure.published_document
SELECT id, disclosure.report_document(id) FROM bench_rev;

SELECT disclosure.announce((SELECT report_id FROM bench_rev ORDER BY id LIMIT 1), 1);

COMMIT;

ANALYZE;
