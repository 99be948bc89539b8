-- The draft preview (sql/migrations/0030_preview.sql): a previewer reads the
-- current draft with its findings; the public reader role, and a role that
-- is both, are refused; nobody else may call it.
BEGIN;
SELECT plan(18);

SET LOCAL client_min_messages = warning;
CREATE ROLE t_pv_login LOGIN IN ROLE disclosure_previewer;
CREATE ROLE t_pv_both LOGIN IN ROLE disclosure_previewer, disclosure_reader;
CREATE ROLE t_pv_reader LOGIN IN ROLE disclosure_reader;
CREATE ROLE t_pv_editor LOGIN IN ROLE disclosure_editor;

-- a finding of each severity in the 2025 draft: R1 (error) breaks 勾稽
UPDATE disclosure.applications_grid SET natural_person = '999'
 WHERE agency = 'demo-district' AND year = 2025 AND row_key = 'received';

SELECT count(*) AS n_findings FROM disclosure.check_report('demo-district', 2025) \gset

SET SESSION AUTHORIZATION t_pv_login;
SELECT is(disclosure_preview.report('demo-district', 2025) ->> 'status', 'draft',
    'previewer: the 2025 draft');
SELECT is(disclosure_preview.report('demo-district', 2025) ->> 'document', 'disclosure-report/1',
    'previewer: a report document');
SELECT ok((SELECT bool_or(f ->> 'rule' = 'R1' AND f ->> 'severity' = 'error' AND f ->> 'message' <> '')
             FROM json_array_elements(disclosure_preview.report('demo-district', 2025) -> 'preview' -> 'findings') f),
    'previewer: the findings of check_report, with the R1 error and its message');
SELECT is((SELECT count(*) FROM json_array_elements(
              disclosure_preview.report('demo-district', 2025) -> 'preview' -> 'findings')),
          :n_findings::bigint,
    'previewer: every finding');
SELECT ok(disclosure_preview.report('demo-district', 2024) IS NULL,
    'previewer: a published report without a draft is not a preview');
SELECT ok(disclosure_preview.report('no-such-agency', 2025) IS NULL, 'previewer: an unknown agency is NULL');
SELECT is((SELECT array_agg((y ->> 'year')::int)
             FROM json_array_elements(disclosure_preview.agency('demo-district') -> 'years') y),
          '{2025}'::int[], 'previewer: the agency page lists the draft year');
SELECT ok((SELECT bool_or(a ->> 'slug' = 'demo-district')
             FROM json_array_elements(disclosure_preview.index() -> 'agencies') a),
    'previewer: the index lists the agency with a draft');
SELECT throws_ok($$ SELECT * FROM disclosure.cell $$, '42501', NULL, 'previewer: no access to the tables');
SELECT throws_ok($$ CREATE TEMP TABLE scratch (i int) $$, '42501', NULL,
    'previewer: cannot create a temporary table');
SELECT throws_ok($$ CREATE TABLE public.scratch (i int) $$, '42501', NULL, 'previewer: cannot create a table');
SELECT throws_ok($$ SELECT count(*) FROM disclosure_web.data_all_lines() $$, '42501', NULL,
    'previewer: no bulk files (published data is the reader''s)');
SELECT throws_ok($$ SELECT disclosure_web.report('demo-district', 2024) $$, '42501', NULL,
    'previewer: not the public web API');
RESET SESSION AUTHORIZATION;

SET SESSION AUTHORIZATION t_pv_reader;
SELECT throws_ok($$ SELECT disclosure_preview.report('demo-district', 2025) $$, '42501', NULL,
    'reader: cannot call the preview');
SELECT throws_ok($$ SELECT disclosure_preview.index() $$, '42501', NULL, 'reader: no preview index');
RESET SESSION AUTHORIZATION;

SET SESSION AUTHORIZATION t_pv_both;
SELECT throws_ok($$ SELECT disclosure_preview.report('demo-district', 2025) $$, '42501',
    '角色 “t_pv_both” 是公开站点的只读角色 (disclosure_reader)，不能预览草稿',
    'a previewer that is also the public reader is refused');
RESET SESSION AUTHORIZATION;

SET SESSION AUTHORIZATION t_pv_editor;
SELECT throws_ok($$ SELECT disclosure_preview.report('demo-district', 2025) $$, '42501', NULL,
    'editor: not a previewer unless granted');
RESET SESSION AUTHORIZATION;

-- SET ROLE from a superuser session: EXECUTE is checked against the role
SET LOCAL ROLE disclosure_reader;
SELECT throws_ok($$ SELECT disclosure_preview.agency('demo-district') $$, '42501', NULL,
    'SET ROLE disclosure_reader: no EXECUTE');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
