-- A change to the agencies is announced as a publication is: the data version
-- moves once per statement that changes rows, whoever makes it.
BEGIN;
SELECT plan(8);

CREATE TEMP TABLE v0 AS SELECT version FROM disclosure.data_version;

UPDATE disclosure.agency SET name = name || '（更名）' WHERE slug = 'xigong-edz';
SELECT is((SELECT version FROM disclosure.data_version), (SELECT version + 1 FROM v0),
    'a renamed agency moves the data version');

UPDATE disclosure.agency SET name = 'x' WHERE slug = 'no-such-agency';
SELECT is((SELECT version FROM disclosure.data_version), (SELECT version + 1 FROM v0),
    'a statement that changes no row does not');

INSERT INTO disclosure.agency (slug, name, kind)
VALUES ('t-announce-a', '测试甲局', 'department'), ('t-announce-b', '测试乙局', 'department');
SELECT is((SELECT version FROM disclosure.data_version), (SELECT version + 2 FROM v0),
    'two agencies added in one statement: one step');

DELETE FROM disclosure.agency WHERE slug = 't-announce-b';
SELECT is((SELECT version FROM disclosure.data_version), (SELECT version + 3 FROM v0),
    'an agency removed: one step');

SET LOCAL ROLE disclosure_publisher;
SELECT throws_ok($$ UPDATE disclosure.data_version SET version = version + 1 $$, '42501', NULL,
    'a publisher may not write the data version');
SELECT lives_ok($$ UPDATE disclosure.agency SET name = '测试丙局' WHERE slug = 't-announce-a' $$,
    'a publisher renames an agency');
RESET ROLE;
SELECT is((SELECT version FROM disclosure.data_version), (SELECT version + 4 FROM v0),
    'and the data version moves');
SELECT is((SELECT count(*)::int FROM pg_trigger
            WHERE tgrelid = 'disclosure.agency'::regclass AND tgname LIKE 'agencies_%'), 3,
    'inserts, updates and deletes are announced');

SELECT * FROM finish();
ROLLBACK;
