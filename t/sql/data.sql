-- Open data in bulk (issue 14, migrations 0050, 0051): the CSV escaping of
-- the per-report CSV, the files that exist, the lines kept in data_line equal
-- to the lines made now after a publication, a correction, a withdrawal, a
-- slug change and a move, the merged （六） row of a legacy report, each
-- file's own version and last change (migration 0053: which files move on
-- each change, and only those), its row count and size kept with them
-- (migration 0055), a year with both formats, the reader's rights, the
-- catalog and the data dictionary.
BEGIN;
SELECT plan(80);

-- escaping as _csv.c does it
SELECT is(disclosure.csv_text('=1+1'), '''=1+1', 'a formula gets an apostrophe');
SELECT is(disclosure.csv_text('@x'), '''@x', 'so does @');
SELECT is(disclosure.csv_text('-3,4'), '"''-3,4"', 'quoted and guarded: the apostrophe inside the quotes');
SELECT is(disclosure.csv_text('say "hi"'), '"say ""hi"""', 'quotes doubled');
SELECT is(disclosure.csv_text(E'a\nb'), E'"a\nb"', 'a line break is quoted');
SELECT is(disclosure.csv_text(NULL), '', 'NULL is empty');
SELECT is(disclosure.csv_cell('1.250'::jsonb), '1.250', 'a number as written');
SELECT is(disclosure.csv_cell('null'::jsonb), '', 'blank is empty');
SELECT is(disclosure.csv_cell('"/"'::jsonb), '/', 'slash');
SELECT is(disclosure.csv_cell(NULL), 'not_printed', 'absent: not_printed');

-- which files exist
SELECT is((SELECT format FROM disclosure_web.data_file('csv', 2024, NULL)), 2021::smallint,
          '2024.csv: the 2021 format');
SELECT is((SELECT format FROM disclosure_web.data_file('csv', 2020, NULL)), 2019::smallint,
          '2020.csv: the 2019 format');
SELECT is_empty($$ SELECT * FROM disclosure_web.data_file('csv', 2024, 2021) $$,
                'the year''s own format has only the plain name');
SELECT is_empty($$ SELECT * FROM disclosure_web.data_file('csv', 2030, NULL) $$, 'no reports: no file');
SELECT is((SELECT rows FROM disclosure_web.data_file('all', NULL, NULL)),
          (SELECT count(*) FROM disclosure.public_revision WHERE status = 'published'),
          'all.csv: every current publication');

-- the size of each file as its lines and header add up (its Content-Length);
-- none when the client encoding differs from the server's (UTF8 here)
SELECT is((SELECT bytes FROM disclosure_web.data_file('csv', 2024, NULL)),
          (SELECT octet_length(disclosure.data_wide_header(2021::smallint) || string_agg(wide, ''))
             FROM disclosure.data_line WHERE year = 2024)::bigint,
          '2024.csv: its size is its header and lines, in bytes');
SELECT is((SELECT bytes FROM disclosure_web.data_file('jsonl', 2024, NULL)),
          (SELECT octet_length(string_agg(json, '')) FROM disclosure.data_line WHERE year = 2024)::bigint,
          '2024.jsonl: its lines');
SELECT is((SELECT bytes FROM disclosure_web.data_file('all', NULL, NULL)),
          (SELECT octet_length(E'\uFEFFagency,year,table,row,col,value\r\n' || string_agg(long, ''))
             FROM disclosure.data_line)::bigint,
          'all.csv: its header and every line');
SET client_encoding = 'GB18030';
SELECT is((SELECT bytes FROM disclosure_web.data_file('csv', 2024, NULL)), NULL::bigint,
          'another client encoding: no size (the lines are counted in UTF8)');
RESET client_encoding;

-- a line has a field for each header field, and the document's cells in order
SELECT is((SELECT array_length(regexp_split_to_array(rtrim(header, E'\r\n'), ','), 1)
             FROM disclosure_web.data_file('csv', 2024, NULL)),
          12 + (SELECT count(*)::int FROM disclosure.format_cell WHERE format = 2021) + 7,
          'the wide header: 12 fields, one per cell and 7 for the merged （六） row');
SELECT is((SELECT array_length(regexp_split_to_array(wide, ','), 1)
             FROM disclosure.data_line WHERE year = 2024 AND slug = 'demo-district'),
          12 + (SELECT count(*)::int FROM disclosure.format_cell WHERE format = 2021) + 7,
          'a line of demo-district (no commas in its texts) has as many');
SELECT is((SELECT array_length(string_to_array(rtrim(long, E'\r\n'), E'\r\n'), 1)
             FROM disclosure.data_line WHERE year = 2024 AND slug = 'demo-district'),
          (SELECT count(*)::int FROM disclosure.format_cell WHERE format = 2021),
          'all.csv: a line per cell of a report that printed （六） in three rows');
SELECT is((SELECT wide_bytes + json_bytes + long_bytes FROM disclosure.data_line WHERE year = 2024 AND slug = 'demo-district'),
          (SELECT octet_length(wide || json || long) FROM disclosure.data_line WHERE year = 2024 AND slug = 'demo-district'),
          'the sizes in bytes');

-- the kept lines are the lines made now, after every change that moves them
CREATE TEMP VIEW kept_vs_made AS
SELECT 'kept' AS side, * FROM (SELECT * FROM disclosure.data_line EXCEPT
                                SELECT * FROM disclosure.data_lines_made(ARRAY(SELECT id FROM disclosure.report))) k
UNION ALL
SELECT 'made', * FROM (SELECT * FROM disclosure.data_lines_made(ARRAY(SELECT id FROM disclosure.report)) EXCEPT
                       SELECT * FROM disclosure.data_line) m;
SELECT is_empty('SELECT * FROM kept_vs_made', 'the sample: kept = made');
-- each file's row count and size as data_file_version keeps them (migration
-- 0055) against its lines counted now
CREATE TEMP VIEW counts_off AS
SELECT coalesce(v.file, c.file) AS file, v.rows, v.bytes, c.rows AS counted_rows, c.bytes AS counted_bytes
  FROM (SELECT * FROM disclosure.data_file_version WHERE kind <> 'catalog') v
  FULL JOIN (SELECT disclosure.data_file_name('csv', l.year, l.format) AS file, count(*) AS rows,
                    sum(l.wide_bytes) AS bytes
               FROM disclosure.data_line l GROUP BY l.year, l.format
             UNION ALL
             SELECT l.year || '.jsonl', count(*), sum(l.json_bytes) FROM disclosure.data_line l GROUP BY l.year
             UNION ALL
             SELECT 'all.csv', count(*), sum(l.long_bytes) FROM disclosure.data_line l) c ON c.file = v.file
 WHERE (coalesce(v.rows, 0), coalesce(v.bytes, 0)) IS DISTINCT FROM (coalesce(c.rows, 0), coalesce(c.bytes, 0));
SELECT is_empty('SELECT * FROM counts_off', 'the sample: each file''s kept row count and size are its lines''');
SELECT set_eq('SELECT report_id, revision_id, year, format, slug FROM disclosure.data_line',
              $$SELECT s.report_id, s.revision_id, s.year, s.format, a.slug FROM disclosure.year_state s
                  JOIN disclosure.agency a ON a.id = s.agency_id WHERE s.status = 'published'$$,
              'a line for every current publication, none else');

SELECT disclosure.revise('demo-district-housing', 2024, '更正测试');
SELECT disclosure.publish('demo-district-housing', 2024);
SELECT is_empty('SELECT * FROM kept_vs_made', 'a correction published: kept = made');
SELECT is_empty('SELECT * FROM counts_off', 'and the counts');
SELECT is((SELECT revision_id FROM disclosure.data_line WHERE year = 2024 AND slug = 'demo-district-housing'),
          (SELECT revision_id FROM disclosure.data_report WHERE year = 2024 AND slug = 'demo-district-housing'),
          'the line is the correction''s');

SELECT disclosure.withdraw('demo-district-market', 2024, '测试撤回');
SELECT is_empty('SELECT * FROM kept_vs_made', 'a withdrawal: kept = made');
SELECT is_empty('SELECT * FROM counts_off', 'a withdrawal: the counts');
SELECT is((SELECT count(*)::int FROM disclosure.data_line WHERE year = 2024 AND slug = 'demo-district-market'),
          0, 'a withdrawn report is not listed');
SELECT is((SELECT rows FROM disclosure_web.data_file('all', NULL, NULL)),
          (SELECT count(*) FROM disclosure.public_revision WHERE status = 'published'),
          'all.csv: every current publication');

UPDATE disclosure.agency SET slug = 'demo-zone' WHERE slug = 'demo-district';
SELECT is_empty('SELECT * FROM kept_vs_made', 'a slug changed: kept = made');
SELECT is_empty('SELECT * FROM counts_off', 'a slug changed: the counts');
SELECT ok((SELECT bool_and(wide ~ '^demo-district-[a-z]+,[^,]*,demo-zone,') FROM disclosure.data_line
            WHERE slug LIKE 'demo-district-%'), 'the children name the parent''s new slug');

UPDATE disclosure.agency SET parent_id = NULL, name = name || '（新）' WHERE slug = 'demo-district-housing';
SELECT is_empty('SELECT * FROM kept_vs_made', 'an agency moved and renamed: kept = made');
SELECT is_empty('SELECT * FROM counts_off', 'an agency moved and renamed: the counts');

-- a legacy report that printed （六） as one row: the lines its CSV has
INSERT INTO disclosure.agency (slug, name, kind) VALUES ('t-printed', '原样局', 'department');
SELECT disclosure.import_report(d || '{"legacy": true, "published_at": "2025-01-20T09:30:00+08:00",
           "published_totals": {"applications": {"other": {"natural_person": 3, "business": 1, "research": 0,
               "nonprofit": null, "legal_services": "/", "other_org": 0, "total": 4}}}}')
  FROM (SELECT jsonb_set(jsonb_set(d, '{agency}', '{"slug": "t-printed", "name": "原样局", "kind": "department", "parent": null}'),
                         '{tables,applications}', (d #> '{tables,applications}') ||
                         (SELECT jsonb_object_agg(r, x.v) FROM unnest('{other_no_correction,other_unpaid_fee,other_misc}'::text[]) r,
                                 (SELECT jsonb_object_agg(k, 'not_printed') AS v
                                    FROM jsonb_object_keys(d #> '{tables,applications,other_misc}') k) x)) AS d
          FROM (SELECT disclosure.export_report('demo-zone', 2024)::jsonb AS d) e) x;
SELECT disclosure.publish('t-printed', 2024);
SELECT is_empty('SELECT * FROM kept_vs_made', 'a legacy import published: kept = made');
SELECT is_empty('SELECT * FROM counts_off', 'a legacy import published: the counts');
SELECT is(array_to_string(ARRAY(SELECT m[1] FROM disclosure.data_line l,
                                     regexp_matches(l.long, 't-printed,2024,(applications,other,[^\r]*)\r\n', 'g') m
                               WHERE l.slug = 't-printed'), ' '),
          'applications,other,natural_person,3 applications,other,business,1 applications,other,research,0 '
          'applications,other,nonprofit, applications,other,legal_services,/ applications,other,other_org,0 '
          'applications,other,total,4',
          'all.csv: its merged row under the 2019 key, as printed');
SELECT ok((SELECT wide ~ ',3,1,0,,/,0,4,' FROM disclosure.data_line WHERE slug = 't-printed'),
          'the wide line: the merged row''s columns');
SELECT ok((SELECT wide ~ (',' || repeat('not_printed,', 7)) FROM disclosure.data_line WHERE slug = 'demo-zone' AND year = 2024),
          'not_printed in them for a report that printed three rows');

-- a report of 2022 printed in the 2019 layout: 2022's 2019-format file
INSERT INTO disclosure.agency (slug, name, kind) VALUES ('t-old-layout', '旧表局', 'department');
SELECT disclosure.import_report(jsonb_set(jsonb_set(d, '{agency}',
           '{"slug": "t-old-layout", "name": "旧表局", "kind": "department", "parent": null}'), '{year}', '2022')
       || '{"legacy": true, "published_at": "2023-01-20T09:30:00+08:00"}')
  FROM (SELECT disclosure.export_report('demo-zone', 2020)::jsonb AS d) e;
SELECT disclosure.publish('t-old-layout', 2022);
SELECT is_empty('SELECT * FROM counts_off', 'a year with both formats: each format''s file counted on its own');
SELECT results_eq($$ SELECT format, rows, bytes FROM disclosure_web.data_file('csv', 2022, 2019) $$,
    $$ SELECT 2019::smallint, 1::bigint,
              (SELECT octet_length(disclosure.data_wide_header(2019::smallint) || wide)::bigint
                 FROM disclosure.data_line WHERE slug = 't-old-layout') $$,
    '2022-2019.csv: the one 2019-format report, its header and line');
SELECT is((SELECT rows FROM disclosure_web.data_file('csv', 2022, NULL)),
          (SELECT count(*) FROM disclosure.data_line WHERE year = 2022 AND format = 2021),
          '2022.csv: the 2021-format reports only');
SELECT is((SELECT rows FROM disclosure_web.data_file('jsonl', 2022, NULL)),
          (SELECT count(*) FROM disclosure.data_line WHERE year = 2022), '2022.jsonl: both');
SELECT is(ARRAY(SELECT d ->> 'identifier' FROM json_array_elements(disclosure_web.data_catalog() -> 'dataset') d
                 WHERE d ->> 'year' = '2022'),
          ARRAY['2022-2019.csv', '2022.csv', '2022.jsonl'], 'the catalog lists both of 2022''s CSV files');

-- the reader
SET LOCAL ROLE disclosure_reader;
SELECT ok((SELECT count(*) FROM disclosure_web.data_wide_lines(2024, 2021)) > 0, 'reader: reads the lines');
SELECT throws_ok($$ SELECT * FROM disclosure.data_line $$, '42501', NULL, 'reader: through the functions only');
SELECT throws_ok($$ SELECT * FROM disclosure.data_report $$, '42501', NULL, 'reader: not the view either');
RESET ROLE;

SELECT is(ARRAY(SELECT disclosure_web.data_all_lines()),
          ARRAY(SELECT l.long FROM disclosure.data_report d JOIN disclosure.data_line l ON l.revision_id = d.revision_id
                 ORDER BY d.year, d.slug),
          'all.csv''s reports by year and slug');
SELECT is(ARRAY(SELECT disclosure_web.data_json_lines(2024)),
          ARRAY(SELECT l.json FROM disclosure.data_report d JOIN disclosure.data_line l ON l.revision_id = d.revision_id
                 WHERE d.year = 2024 ORDER BY d.slug),
          '2024.jsonl''s reports by slug');

-- Each file's version and last change (its ETag and Last-Modified, through
-- data_file()) and the catalog's move exactly when the file's bytes change
-- (migration 0053): "moved" lists the files whose version changed since
-- "remember", index.json for the catalog's own.
CREATE TEMP TABLE seen (file text PRIMARY KEY, version bigint, changed_at bigint);
CREATE FUNCTION pg_temp.files() RETURNS TABLE (file text, version bigint, changed_at bigint,
                                               cat_version bigint, cat_modified text)
LANGUAGE sql AS $$
    SELECT d ->> 'identifier', f.version, f.changed_at, (d ->> 'data_version')::bigint, d ->> 'modified'
      FROM json_array_elements(disclosure_web.data_catalog() -> 'dataset') d
     CROSS JOIN LATERAL disclosure_web.data_file(
               CASE WHEN d ->> 'identifier' = 'all.csv' THEN 'all'
                    WHEN d ->> 'identifier' LIKE '%.jsonl' THEN 'jsonl' ELSE 'csv' END,
               (d ->> 'year')::int,
               CASE WHEN d ->> 'identifier' LIKE '%-%' THEN (d ->> 'format')::int END) f
    UNION ALL
    SELECT 'index.json', (c ->> 'data_version')::bigint, NULL, NULL, NULL
      FROM disclosure_web.data_catalog() c
$$;
CREATE FUNCTION pg_temp.remember() RETURNS void LANGUAGE sql AS $$
    DELETE FROM seen;
    INSERT INTO seen SELECT f.file, f.version, f.changed_at FROM pg_temp.files() f;
$$;
CREATE FUNCTION pg_temp.moved() RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(coalesce(f.file, s.file), ' ' ORDER BY coalesce(f.file, s.file)), '')
      FROM pg_temp.files() f FULL JOIN seen s ON s.file = f.file
     WHERE f.version IS DISTINCT FROM s.version
$$;
-- a file that moved has a Last-Modified no earlier than before; one that did not, the same
CREATE FUNCTION pg_temp.times_kept() RETURNS boolean LANGUAGE sql AS $$
    SELECT bool_and(CASE WHEN f.version = s.version THEN f.changed_at = s.changed_at
                         ELSE f.changed_at >= s.changed_at END)
      FROM pg_temp.files() f JOIN seen s ON s.file = f.file WHERE f.file <> 'index.json'
$$;

SELECT pg_temp.remember();
SELECT disclosure.revise('demo-district-health', 2024, '更正数字');
UPDATE disclosure.applications_grid
   SET natural_person = (coalesce(nullif(natural_person, ''), '0')::int + 1)::text
 WHERE agency = 'demo-district-health' AND year = 2024 AND row_key IN ('granted', 'received') AND status = 'draft';
SELECT is(pg_temp.moved(), '', 'a draft of a correction: no file moves');
SELECT disclosure.publish('demo-district-health', 2024);
SELECT is(pg_temp.moved(), '2024.csv 2024.jsonl all.csv index.json',
          'a correction published: its year''s files and all.csv move, 2023''s and the others'' keep their version');
SELECT ok(pg_temp.times_kept(), 'their Last-Modified no earlier; the others'' the same');

SELECT pg_temp.remember();
SELECT disclosure.revise('demo-district-health', 2024, '更正说明');
SELECT disclosure.publish('demo-district-health', 2024);
SELECT is(pg_temp.moved(), '2024.csv 2024.jsonl index.json',
          'a correction that changes no cell: all.csv (cells only) keeps its version');

SELECT pg_temp.remember();
SELECT disclosure.withdraw('demo-district-finance', 2023, '测试撤回');
SELECT is(pg_temp.moved(), '2023.csv 2023.jsonl all.csv index.json', 'a withdrawal in 2023: 2023''s files and all.csv');
SELECT ok(pg_temp.times_kept(), 'Last-Modified no earlier, the others'' the same');

SELECT pg_temp.remember();
UPDATE disclosure.agency SET name = name || '（更名）' WHERE slug = 'demo-district-education';
SELECT is(pg_temp.moved(), '2020.csv 2021.csv 2022.csv 2023.csv 2024.csv index.json',
          'an agency renamed: the wide files of its years (they name it); the documents keep the name they were published with');
SELECT ok(pg_temp.times_kept(), 'Last-Modified no earlier, the others'' the same');

SELECT pg_temp.remember();
UPDATE disclosure.agency SET slug = 'demo-zone-school' WHERE slug = 'demo-district-education';
SELECT is(pg_temp.moved(),
          '2020.csv 2020.jsonl 2021.csv 2021.jsonl 2022.csv 2022.jsonl 2023.csv 2023.jsonl 2024.csv 2024.jsonl all.csv index.json',
          'a new slug: every file of its years (the slug column, the order) and all.csv');

SELECT pg_temp.remember();
UPDATE disclosure.agency SET parent_id = (SELECT id FROM disclosure.agency WHERE slug = 'xigong-edz')
 WHERE slug = 'demo-district-market';
SELECT is(pg_temp.moved(), '2020.csv 2021.csv 2022.csv 2023.csv index.json',
          'an agency moved: the wide files of its years (the parent column; its 2024 report was withdrawn above)');

SELECT pg_temp.remember();
UPDATE disclosure.agency SET name = name, kind = kind;
SELECT is(pg_temp.moved(), '', 'an update that changes nothing: no file moves');

SELECT pg_temp.remember();
SET LOCAL ROLE disclosure_publisher;
UPDATE disclosure.data_catalog_meta SET license = 'https://creativecommons.org/licenses/by/4.0/';
RESET ROLE;
SELECT is(pg_temp.moved(), 'index.json', 'the publisher changes the licence: the catalog moves, no file');

SELECT pg_temp.remember();
SELECT disclosure.data_line_refresh(ARRAY(SELECT id FROM disclosure.report));
SELECT is(pg_temp.moved(), '', 'every line made again, the same bytes: no file moves');
UPDATE disclosure.data_line SET wide = 'x' || wide WHERE year = 2022 AND slug = 'demo-zone';
SELECT pg_temp.remember();
SELECT disclosure.data_line_refresh(ARRAY(SELECT id FROM disclosure.report));
SELECT is(pg_temp.moved(), '2022.csv index.json', 'a line that differs made again: its file moves');
SELECT is_empty('SELECT * FROM kept_vs_made', 'kept = made');
SELECT is_empty('SELECT * FROM counts_off', 'the counts too');

-- data_file() and the catalog give the kept counts, as read (not counted
-- again at each download)
UPDATE disclosure.data_file_version SET rows = rows + 1, bytes = bytes + 10 WHERE file = '2023.jsonl';
SELECT results_eq($$ SELECT rows, bytes FROM disclosure_web.data_file('jsonl', 2023, NULL) $$,
    $$ SELECT count(*) + 1, sum(json_bytes) + 10 FROM disclosure.data_line WHERE year = 2023 $$,
    'data_file() reads the kept counts');
SELECT is((SELECT (d #>> '{distribution,0,byteSize}')::bigint
             FROM json_array_elements(disclosure_web.data_catalog() -> 'dataset') d
            WHERE d ->> 'identifier' = '2023.jsonl'),
          (SELECT sum(json_bytes) + 10 FROM disclosure.data_line WHERE year = 2023),
          'so does the catalog');
UPDATE disclosure.data_file_version SET rows = rows - 1, bytes = bytes - 10 WHERE file = '2023.jsonl';

-- every line gone at once and made again
TRUNCATE disclosure.data_line;
SELECT is((SELECT count(*)::int FROM disclosure.data_file_version WHERE rows > 0 OR bytes > 0), 0,
          'TRUNCATE: every file has no lines');
SELECT is_empty($$ SELECT * FROM disclosure_web.data_file('csv', 2024, NULL) $$, 'no 2024.csv');
SELECT is((SELECT rows FROM disclosure_web.data_file('all', NULL, NULL)), 0::bigint, 'all.csv: no rows');
SELECT is(json_array_length(disclosure_web.data_catalog() -> 'dataset'), 0, 'the catalog lists none');
SELECT disclosure.data_line_refresh(ARRAY(SELECT id FROM disclosure.report));
SELECT is_empty('SELECT * FROM counts_off', 'made again: the counts');

SELECT is_empty($$ SELECT * FROM pg_temp.files()
                   WHERE file <> 'index.json'
                     AND (cat_version IS DISTINCT FROM version
                          OR cat_modified IS DISTINCT FROM disclosure.json_time(to_timestamp(changed_at))) $$,
                'the catalog gives each file the version and last change of its ETag and Last-Modified');
SELECT is((SELECT count(DISTINCT version)::int FROM pg_temp.files()), (SELECT count(*)::int FROM pg_temp.files()),
          'no two files share a version');

-- the dictionary: every cell once, totals with their parts
SELECT is((SELECT json_array_length(disclosure_web.data_dictionary(2019) -> 'cells')),
          (SELECT count(*)::int FROM disclosure.format_cell WHERE format = 2019),
          'format/2019.json: every cell');
SELECT is((SELECT json_array_length(disclosure_web.data_dictionary(2021) -> 'merged_cells')), 7,
          'format/2021.json: the files'' merged （六） columns, one per applicant column and the total');

ROLLBACK;
