-- Role privileges: the reader (nginx) sees published reports only and writes
-- nothing; editors edit drafts; only publishers publish.
BEGIN;
SELECT plan(78);

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

-- Every SECURITY DEFINER function, for an editor, a publisher and nginx's role
-- (issue 11, item 3).  Inside such a function current_user is its owner, so
-- import_report asks about the login role: these run as the login roles.
SELECT set_eq($$ SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE p.prosecdef AND n.nspname IN ('disclosure', 'disclosure_web', 'disclosure_preview') $$,
    ARRAY['disclosure.new_report(text,integer,integer,text)', 'disclosure.publish(text,integer,timestamp with time zone)',
          'disclosure.revise(text,integer,text)', 'disclosure.withdraw(text,integer,text)',
          'disclosure.delete_draft(text,integer)', 'disclosure.reports_update()', 'disclosure.import_report(jsonb)',
          'disclosure.announce_agencies()', 'disclosure_web.data_version()', 'disclosure_web.report(text,integer)',
          'disclosure_web.published_years(integer)', 'disclosure_web.index()', 'disclosure_web.agency(text)',
          'disclosure_web.changes(bigint)',
          'disclosure_preview.report(text,integer)', 'disclosure_preview.index()', 'disclosure_preview.agency(text)',
          'disclosure.check_slug()', 'disclosure.rollup_rebuild()', 'disclosure.rollup_revisions_changed()',
          'disclosure.rollup_agencies_moved()', 'disclosure_web.trend(text)', 'disclosure_web.compare(text,integer)',
          'disclosure_web.rollup(text,integer)', 'disclosure_web.year_page(integer)',
          'disclosure_web.ancestors(text)', 'disclosure.agency_tree_rebuild()',
          'disclosure.year_state_refresh(integer[])', 'disclosure.year_state_revisions()',
          'disclosure.agency_tree_changed()',
          'disclosure_web.data_wide_lines(integer,integer)', 'disclosure_web.data_json_lines(integer)',
          'disclosure_web.data_all_lines()',
          'disclosure_web.data_file(text,integer,integer)', 'disclosure_web.data_catalog()',
          'disclosure_web.data_dictionary(integer)', 'disclosure.data_line_documents()',
          'disclosure.data_line_revisions()', 'disclosure.data_line_agencies()',
          'disclosure.data_catalog_meta_updated()'],
    'the SECURITY DEFINER functions, each tested below');
-- PUBLIC executes nothing in the project's schemas (sql/functions/99_no_public.sql)
SELECT is_empty($$ SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                    WHERE n.nspname IN ('disclosure', 'disclosure_web', 'disclosure_preview')
                      AND has_function_privilege('public', p.oid, 'EXECUTE') $$,
    'no function of the three schemas is executable by PUBLIC');
CREATE TEMP TABLE doc AS
SELECT jsonb_set(disclosure.export_report('demo-district-housing', 2023)::jsonb, '{agency}',
                 '{"slug": "t-roles", "name": "测试权限局", "kind": "department", "parent": null}') AS d;
GRANT SELECT ON doc TO PUBLIC;
CREATE TEMP VIEW docs AS
SELECT d AS ours,
       d || '{"legacy": true}' AS legacy,
       d || '{"published_totals": {"appeals": {"review": {"total": 0}}}}' AS printed,
       jsonb_set(d, '{agency}', '{"slug": "t-roles-child", "name": "新下级局", "kind": "department",
                                 "parent": {"slug": "demo-district", "name": "示例区人民政府"}}') AS new_agency
  FROM doc;
GRANT SELECT ON docs TO PUBLIC;
CREATE FUNCTION pg_temp.children() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(c ->> 'slug', ',' ORDER BY c ->> 'slug')
      FROM json_array_elements(disclosure_web.agency('demo-district') -> 'children') c
$$;
GRANT EXECUTE ON FUNCTION pg_temp.children() TO PUBLIC;

SET LOCAL SESSION AUTHORIZATION t_editor;
SELECT lives_ok($$ SELECT disclosure.import_report(ours) FROM docs $$, 'editor: imports a document into a draft');
SELECT throws_ok($$ SELECT disclosure.import_report(new_agency) FROM docs $$, '42501',
    '没有机关 “t-roles-child”；只有发布人（disclosure_publisher）可以新建机关', 'editor: cannot make an agency by importing');
SELECT throws_ok($$ SELECT disclosure.import_report(legacy) FROM docs $$, '42501', NULL,
    'editor: cannot declare a draft legacy (it would skip R1–R4 at publication)');
SELECT throws_ok($$ SELECT disclosure.import_report(printed) FROM docs $$, '42501', NULL,
    'editor: cannot give printed totals');
SELECT ok(NOT (SELECT legacy FROM disclosure.reports WHERE agency = 't-roles' AND year = 2023),
    'editor: the draft stays a report of ours');
SELECT lives_ok($$ UPDATE disclosure.reports SET scope = 'unknown', index_no = 'X-1' WHERE agency = 't-roles' AND year = 2023 $$,
    'editor: sets scope and index number through reports (reports_update)');
SELECT throws_ok($$ UPDATE disclosure.reports SET legacy = true WHERE agency = 't-roles' AND year = 2023 $$, '23514', NULL,
    'editor: but not legacy');
SELECT throws_ok($$ SELECT disclosure.withdraw('demo-district', 2024, 'x') $$, '42501', NULL, 'editor: cannot withdraw');
SELECT throws_ok($$ INSERT INTO disclosure.agency (slug, name, kind) VALUES ('t-e', 'x', 'department') $$, '42501', NULL,
    'editor: cannot insert an agency (nor fire announce_agencies)');
SELECT lives_ok($$ SELECT disclosure_web.data_version(), disclosure_web.report('demo-district', 2024),
                          disclosure_web.index(), disclosure_web.agency('demo-district'),
                          disclosure_web.published_years(1),
                          (SELECT count(*) FROM disclosure_web.data_all_lines()),
                          disclosure_web.data_catalog() $$, 'editor: reads the web API, the bulk files too');
SELECT lives_ok($$ SELECT disclosure.delete_draft('t-roles', 2023) $$, 'editor: deletes a draft');
SELECT throws_ok($$ SELECT disclosure_preview.report('demo-district', 2025) $$, '42501', NULL,
    'editor: no draft preview through nginx''s previewer functions (an editor reads the grids)');
SELECT throws_ok($$ SELECT disclosure.rollup_rebuild() $$, '42501', NULL,
    'editor: cannot rebuild the sums either');
SELECT throws_ok($$ SELECT disclosure.agency_tree_rebuild() $$, '42501', NULL, 'editor: nor the tree');
RESET SESSION AUTHORIZATION;

SET LOCAL SESSION AUTHORIZATION t_publisher;
SELECT lives_ok($$ SELECT disclosure.import_report(new_agency) FROM docs $$, 'publisher: makes an agency by importing');
SELECT is(pg_temp.children(), 'demo-district-education,demo-district-finance,demo-district-health,demo-district-housing,demo-district-market',
    'the new child with only a draft is not listed on its parent''s page');
SELECT lives_ok($$ SELECT disclosure.publish('t-roles-child', 2023) $$, 'publisher: publishes it');
SELECT is(pg_temp.children(), 'demo-district-education,demo-district-finance,demo-district-health,demo-district-housing,demo-district-market,t-roles-child',
    'now it is listed');
SELECT lives_ok($$ SELECT disclosure.import_report(printed) FROM docs $$, 'publisher: imports a legacy report');
SELECT ok((SELECT legacy FROM disclosure.reports WHERE agency = 't-roles' AND year = 2023), 'publisher: legacy it is');
SELECT lives_ok($$ SELECT disclosure.withdraw('t-roles-child', 2023, '测试') $$, 'publisher: withdraws');
SELECT is(pg_temp.children(), 'demo-district-education,demo-district-finance,demo-district-health,demo-district-housing,demo-district-market',
    'withdrawn, the child is not listed again');
SELECT lives_ok($$ INSERT INTO disclosure.agency (slug, name, kind) VALUES ('t-p', 'x', 'department') $$,
    'publisher: inserts an agency (announce_agencies runs)');
SELECT lives_ok($$ SELECT disclosure.delete_draft('t-roles', 2023) $$, 'publisher: deletes a draft');
SELECT lives_ok($$ SELECT disclosure.new_report('t-roles', 2023, NULL, 'unknown') $$, 'publisher: makes a report');
SELECT lives_ok($$ UPDATE disclosure.reports SET scope = 'office' WHERE agency = 't-roles' AND year = 2023 $$,
    'publisher: updates reports');
SELECT lives_ok($$ SELECT disclosure_web.data_version(), disclosure_web.report('demo-district', 2024),
                          disclosure_web.index(), disclosure_web.agency('demo-district'),
                          disclosure_web.published_years(1),
                          (SELECT count(*) FROM disclosure_web.data_all_lines()),
                          disclosure_web.data_catalog() $$, 'publisher: reads the web API, the bulk files too');
SELECT throws_ok($$ SELECT disclosure_preview.index() $$, '42501', NULL, 'publisher: not a previewer either');
SELECT throws_ok($$ SELECT disclosure.rollup_rebuild() $$, '42501', NULL,
    'publisher: cannot rebuild the sums (only their owner; publications keep them)');
SELECT throws_ok($$ INSERT INTO disclosure.agency (slug, name, kind) VALUES ('trend', 'x', 'department') $$,
    '23514', NULL, 'publisher: an agency named like a route is refused (check_slug)');
RESET SESSION AUTHORIZATION;

SET LOCAL SESSION AUTHORIZATION t_nginx;
SELECT throws_ok($$ SELECT disclosure.import_report(ours) FROM docs $$, '42501', NULL, 'nginx: cannot import');
SELECT throws_ok($$ SELECT disclosure.new_report('t-roles', 2030) $$, '42501', NULL, 'nginx: cannot make a report');
SELECT throws_ok($$ SELECT disclosure.delete_draft('demo-district', 2025) $$, '42501', NULL, 'nginx: cannot delete a draft');
SELECT throws_ok($$ SELECT disclosure.revise('demo-district', 2024, 'x') $$, '42501', NULL, 'nginx: cannot revise');
SELECT throws_ok($$ SELECT disclosure.withdraw('demo-district', 2024, 'x') $$, '42501', NULL, 'nginx: cannot withdraw');
SELECT throws_ok($$ UPDATE disclosure.reports SET scope = 'office' $$, '42501', NULL, 'nginx: cannot update reports');
SELECT lives_ok($$ SELECT disclosure_web.data_version(), disclosure_web.report('demo-district', 2024),
                          disclosure_web.index(), disclosure_web.agency('demo-district'),
                          disclosure_web.published_years(1) $$, 'nginx: reads the web API');
SELECT lives_ok($$ SELECT * FROM disclosure_web.changes(0) $$, 'nginx: reads the change log');
SELECT throws_ok($$ SELECT disclosure.step_data_version('x', 0) $$, '42501', NULL,
    'nginx: cannot step the data version');
SELECT lives_ok($$ SELECT disclosure_web.trend('demo-district'), disclosure_web.compare('demo-district', 2024),
                          disclosure_web.rollup('demo-district', 2024), disclosure_web.year_page(2024),
                          disclosure_web.ancestors('demo-district-market') $$,
    'nginx: reads the pages across reports (issue 13)');
SELECT throws_ok($$ SELECT disclosure.rollup_rebuild() $$, '42501', NULL, 'nginx: cannot rebuild the sums');
SELECT throws_ok($$ SELECT disclosure.year_state_refresh('{1}') $$, '42501', NULL, 'nginx: nor the states');
SELECT throws_ok($$ SELECT disclosure.agency_tree_rebuild() $$, '42501', NULL, 'nginx: nor the tree');
SELECT is(pg_temp.children(), 'demo-district-education,demo-district-finance,demo-district-health,demo-district-housing,demo-district-market',
    'nginx: sees only the children the index shows');
SELECT throws_ok($$ SELECT disclosure_preview.report('demo-district', 2025) $$, '42501', NULL,
    'nginx: the public role cannot read drafts');
SELECT throws_ok($$ SELECT disclosure_preview.agency('demo-district') $$, '42501', NULL,
    'nginx: nor the preview''s agency page');
SELECT lives_ok($$ SELECT (SELECT count(*) FROM disclosure_web.data_wide_lines(2024, 2021)),
                          (SELECT count(*) FROM disclosure_web.data_json_lines(2024)),
                          (SELECT count(*) FROM disclosure_web.data_all_lines()),
                          disclosure_web.data_catalog(), disclosure_web.data_dictionary(2021) $$,
    'nginx: reads the bulk files (issue 14)');
SELECT throws_ok($$ SELECT * FROM disclosure.data_line LIMIT 1 $$, '42501', NULL,
    'nginx: but not the stored lines themselves, only through the functions');
SELECT lives_ok($$ SELECT * FROM disclosure_web.data_file('csv', 2024, NULL) $$, 'nginx: and what each holds');
SELECT throws_ok($$ SELECT disclosure.data_line_refresh(ARRAY[1]) $$, '42501', NULL,
    'nginx: does not remake lines (the triggers do, as the owner)');
RESET SESSION AUTHORIZATION;

-- the catalog's licence and title: the publisher's; the trigger that steps
-- the catalog's version runs as its owner (SECURITY DEFINER), nobody calls it
CREATE TEMP TABLE catalog_before AS
    SELECT version FROM disclosure.data_file_version WHERE file = 'index.json';
SET LOCAL SESSION AUTHORIZATION t_editor;
SELECT throws_ok($$ UPDATE disclosure.data_catalog_meta SET title = title || ' ' $$, '42501', NULL,
    'editor: cannot change the catalog''s licence or title');
RESET SESSION AUTHORIZATION;
SET LOCAL SESSION AUTHORIZATION t_publisher;
SELECT lives_ok($$ UPDATE disclosure.data_catalog_meta SET title = title || ' ' $$,
    'publisher: changes the catalog''s title');
SELECT throws_ok($$ SELECT disclosure.data_catalog_meta_updated() $$, '42501', NULL,
    'publisher: cannot call the catalog''s trigger function');
SELECT throws_ok($$ SELECT disclosure.data_file_step(ARRAY[ROW('all', NULL, NULL, 1, 100)::disclosure.data_file_count]) $$,
    '42501', NULL, 'publisher: cannot step a file''s version or counts by hand');
RESET SESSION AUTHORIZATION;
SELECT ok((SELECT version FROM disclosure.data_file_version WHERE file = 'index.json')
          > (SELECT version FROM catalog_before),
    'the publisher''s change stepped the catalog''s version (the trigger, as its owner)');
SET LOCAL SESSION AUTHORIZATION t_nginx;
SELECT throws_ok($$ UPDATE disclosure.data_catalog_meta SET title = title || ' ' $$, '42501', NULL,
    'nginx: cannot change the catalog''s licence or title');
SELECT throws_ok($$ SELECT disclosure.data_catalog_meta_updated() $$, '42501', NULL,
    'nginx: cannot call the catalog''s trigger function');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
ROLLBACK;
