-- A notification is only a hint (issue 11): what changed is read from the
-- change log through disclosure_web.changes(), and only the project's roles
-- may connect to the database at all.
BEGIN;
SELECT plan(19);

CREATE TEMP TABLE v0 AS SELECT version FROM disclosure.data_version;

-- connecting
SELECT ok(NOT has_database_privilege('public', current_database(), 'CONNECT'),
    'PUBLIC may not connect to the database');
CREATE ROLE t_changes_nobody LOGIN;
SELECT ok(NOT has_database_privilege('t_changes_nobody', current_database(), 'CONNECT'),
    'a role of no project group may not connect (nor NOTIFY)');
SELECT ok(has_database_privilege('t_nginx', current_database(), 'CONNECT'),
    'a member of disclosure_reader may');
SELECT ok(has_database_privilege('t_editor', current_database(), 'CONNECT')
          AND has_database_privilege('t_publisher', current_database(), 'CONNECT'),
    'members of disclosure_editor and disclosure_publisher may');

-- the log
SELECT is_empty($$ SELECT * FROM disclosure_web.changes((SELECT version FROM v0)) $$,
    'nothing changed: no rows');
SELECT disclosure.revise('xigong-edz', 2024, '更正测试');
SELECT disclosure.publish('xigong-edz', 2024);
SELECT results_eq($$ SELECT data_version, agency, year FROM disclosure_web.changes((SELECT version FROM v0)) $$,
    $$ SELECT version + 1, 'xigong-edz'::text, 2024 FROM v0 $$,
    'a publication: its agency and year, at its data version');
UPDATE disclosure.agency SET name = name || '（更名）' WHERE slug = 'xigong-edz';
SELECT results_eq($$ SELECT data_version, agency, year FROM disclosure_web.changes((SELECT version + 1 FROM v0)) $$,
    $$ SELECT version + 2, 'xigong-edz'::text, 0 FROM v0 $$,
    'a change to the agencies: year 0');
SELECT is((SELECT count(*)::int FROM disclosure_web.changes((SELECT version FROM v0))), 2,
    'one row per step');
SELECT is((SELECT ancestors FROM disclosure_web.changes((SELECT version FROM v0)) LIMIT 1),
    '', 'a publication names the agency''s ancestors: none for a top agency (0041)');
SELECT is((SELECT ancestors FROM disclosure_web.changes((SELECT version + 1 FROM v0))), NULL,
    'a change to the agencies names none (every roll-up is stale)');
SELECT disclosure.revise('demo-district-education', 2024, '更正测试');
SELECT disclosure.publish('demo-district-education', 2024);
SELECT is((SELECT ancestors FROM disclosure_web.changes((SELECT version + 2 FROM v0))), 'demo-district',
    'a department names its district');
SELECT disclosure.withdraw('xigong-edz', 2024, '撤回测试');
SELECT results_eq($$ SELECT agency, year FROM disclosure_web.changes((SELECT version + 3 FROM v0)) $$,
    $$ VALUES ('xigong-edz'::text, 2024) $$, 'a withdrawal');

-- what is not trusted
SELECT is_empty($$ SELECT * FROM disclosure_web.changes(9223372036854775807) $$,
    'a version the database has not reached: no rows');
SELECT is_empty($$ SELECT * FROM disclosure_web.changes(NULL) $$, 'NULL: no rows');
SELECT results_eq($$ SELECT data_version, agency FROM disclosure_web.changes(-9223372036854775808) $$,
    $$ SELECT version, NULL::text FROM disclosure.data_version $$,
    'more than 100 steps missed: one row, everything');
UPDATE disclosure.data_version SET version = version + 1;
SELECT results_eq($$ SELECT agency FROM disclosure_web.changes((SELECT version + 4 FROM v0)) $$,
    $$ VALUES (NULL::text) $$, 'a step with no record: agency NULL, everything');

-- who may do what
SET LOCAL ROLE t_nginx;
SELECT lives_ok($$ SELECT * FROM disclosure_web.changes(0) $$, 'the reader reads the changes');
SELECT throws_ok($$ SELECT * FROM disclosure.change $$, '42501', NULL, 'but not the table');
RESET ROLE;
SET LOCAL ROLE t_editor;
SELECT throws_ok($$ SELECT disclosure.step_data_version('x', 1) $$, '42501', NULL,
    'an editor may not step the data version');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
