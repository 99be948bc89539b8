-- Open data in bulk (issue 14, migration 0050): the CSV escaping of the
-- per-report CSV, the files that exist, their lines against the stored
-- documents, drafts and withdrawn reports never listed, the reader's rights,
-- the catalog and the data dictionary.
BEGIN;
SELECT plan(26);

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

-- a line has a field for each header field, and the document's cells in order
SELECT is((SELECT array_length(regexp_split_to_array(rtrim(header, E'\r\n'), ','), 1)
             FROM disclosure_web.data_file('csv', 2024, NULL)),
          12 + (SELECT count(*)::int FROM disclosure.format_cell WHERE format = 2021),
          'the wide header: 12 fields and one per cell');
SELECT is((SELECT array_length(regexp_split_to_array(disclosure_web.data_wide_line(revision_id), ','), 1)
             FROM disclosure.data_report WHERE year = 2024 AND slug = 'demo-district'),
          12 + (SELECT count(*)::int FROM disclosure.format_cell WHERE format = 2021),
          'a line of demo-district (no commas in its texts) has as many');
SELECT is((SELECT array_length(string_to_array(rtrim(disclosure_web.data_long_lines(revision_id), E'\r\n'), E'\r\n'), 1)
             FROM disclosure.data_report WHERE year = 2024 AND slug = 'demo-district'),
          (SELECT count(*)::int FROM disclosure.format_cell WHERE format = 2021),
          'all.csv: a line per cell of a report');

-- a withdrawn report leaves the files; its revision's line is NULL
SELECT disclosure.withdraw('demo-district-market', 2024, '测试撤回');
SELECT is((SELECT count(*)::int FROM disclosure.data_report WHERE year = 2024 AND slug = 'demo-district-market'),
          0, 'a withdrawn report is not listed');
SELECT is(disclosure_web.data_wide_line((SELECT v.id FROM disclosure.revision v
                                           JOIN disclosure.report r ON r.id = v.report_id
                                           JOIN disclosure.agency a ON a.id = r.agency_id
                                          WHERE a.slug = 'demo-district-market' AND r.year = 2024
                                          ORDER BY v.revision LIMIT 1)),
          NULL, 'nor given by its revision id');
SELECT is(disclosure_web.data_json_line((SELECT v.id FROM disclosure.revision v WHERE v.status = 'draft' LIMIT 1)),
          NULL, 'a draft is never given');

-- the reader
SET LOCAL ROLE disclosure_reader;
SELECT ok((SELECT count(*) FROM disclosure_web.data_revisions(2024, NULL)) > 0, 'reader: reads the list');
SELECT throws_ok($$ SELECT * FROM disclosure.data_report $$, '42501', NULL, 'reader: through the function only');
SELECT throws_ok($$ SELECT disclosure.data_document(1) $$, '42501', NULL, 'reader: not the documents by id');
RESET ROLE;

SELECT is(ARRAY(SELECT disclosure_web.data_revisions(NULL, NULL)),
          ARRAY(SELECT revision_id FROM disclosure.data_report ORDER BY year, slug),
          'all.csv''s reports by year and slug');

-- the dictionary: every cell once, totals with their parts
SELECT is((SELECT json_array_length(disclosure_web.data_dictionary(2019) -> 'cells')),
          (SELECT count(*)::int FROM disclosure.format_cell WHERE format = 2019),
          'format/2019.json: every cell');

ROLLBACK;
