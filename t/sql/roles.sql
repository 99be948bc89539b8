-- Role privileges: the reader (nginx) sees published reports only and writes
-- nothing; editors edit drafts; only publishers publish.
BEGIN;
SELECT plan(19);

INSERT INTO disclosure.agency (slug, name, kind) VALUES ('t-roles', '测试权限局', 'department');

SET LOCAL ROLE disclosure_reader;
SELECT throws_ok($$ SELECT * FROM disclosure.revision $$, '42501', NULL, 'reader: no access to the tables');
SELECT throws_ok($$ SELECT * FROM disclosure.cell $$, '42501', NULL, 'reader: no access to the cells');
SELECT throws_ok($$ SELECT disclosure.export_report('demo-district', 2025, true) $$, '42501', NULL,
    'reader: cannot export a draft');
SELECT ok(disclosure_web.report('demo-district', 2025) IS NULL, 'reader: the 2025 draft is invisible');
SELECT ok(disclosure_web.report('demo-district', 2024) IS NOT NULL, 'reader: the 2024 publication is visible');
SELECT is((SELECT array_agg(DISTINCT (y ->> 'year')::int ORDER BY (y ->> 'year')::int)
             FROM json_array_elements(disclosure_web.index() -> 'agencies') a,
                  json_array_elements(a -> 'years') y),
          '{2020,2021,2022,2023,2024}'::int[], 'reader: the index lists the published years, not the draft''s');
SELECT throws_ok($$ SELECT disclosure.new_report('t-roles', 2024) $$, '42501', NULL, 'reader: cannot make a report');
SELECT throws_ok($$ SELECT disclosure.publish('demo-district', 2025) $$, '42501', NULL, 'reader: cannot publish');
SELECT throws_ok($$ INSERT INTO disclosure.agency (slug, name, kind) VALUES ('x', 'x', 'department') $$,
    '42501', NULL, 'reader: cannot insert');
SELECT throws_ok($$ CREATE TEMP TABLE scratch (i int) $$, '42501', NULL, 'reader: cannot create a temporary table');
SELECT throws_ok($$ CREATE TABLE public.scratch (i int) $$, '42501', NULL, 'reader: cannot create a table');
RESET ROLE;

SET LOCAL ROLE disclosure_editor;
SELECT lives_ok($$ SELECT disclosure.new_report('t-roles', 2024) $$, 'editor: makes a draft');
SELECT lives_ok($$ UPDATE disclosure.applications_grid SET natural_person = '1'
                   WHERE agency = 't-roles' AND year = 2024 AND row_key = 'received' $$, 'editor: edits the grid');
SELECT lives_ok($$ SELECT * FROM disclosure.check_report('t-roles', 2024) $$, 'editor: checks the draft');
SELECT throws_ok($$ UPDATE disclosure.revision SET status = 'published', published_at = now()
                    WHERE id = disclosure.draft_of('t-roles', 2024) $$, '42501', NULL,
    'editor: cannot set the status by hand');
SELECT throws_ok($$ SELECT disclosure.publish('t-roles', 2024) $$, '42501', NULL, 'editor: cannot publish');
SELECT throws_ok($$ SELECT disclosure.revise('demo-district', 2024, 'x') $$, '42501', NULL, 'editor: cannot revise');
RESET ROLE;

SET LOCAL ROLE disclosure_publisher;
UPDATE disclosure.applications_grid SET natural_person = '1'
 WHERE agency = 't-roles' AND year = 2024 AND row_key = 'granted';
SELECT is(disclosure.publish('t-roles', 2024), 1, 'publisher: publishes');
SELECT lives_ok($$ SELECT disclosure.revise('t-roles', 2024, '更正') $$, 'publisher: opens a correction');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
