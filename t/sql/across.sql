-- Across years and agencies (issue 13, migration 0040): reserved slugs, the
-- roll-up's sums against sums computed here, scope exclusion, the sums kept
-- by triggers against a rebuild, completeness states, the 2019 mapping of
-- the trend, the comparison, the year page.
BEGIN;
SELECT plan(34);

-- sums of the input cells of the current office-scope publications of an
-- agency and everything below it, computed the plain way
CREATE FUNCTION pg_temp.expected(p_agency text, p_year int)
RETURNS TABLE (tbl text, row_key text, col_key text, value numeric) LANGUAGE sql AS $$
    WITH RECURSIVE sub AS (
        SELECT id FROM disclosure.agency WHERE slug = p_agency
        UNION ALL
        SELECT a.id FROM disclosure.agency a JOIN sub s ON a.parent_id = s.id
    )
    SELECT c.tbl, c.row_key, c.col_key, sum(c.value)
      FROM disclosure.public_revision p
      JOIN disclosure.revision v ON v.id = p.revision_id AND v.scope = 'office' AND v.status = 'published'
      JOIN disclosure.cell c ON c.revision_id = v.id AND c.given = 'number'
     WHERE p.agency_id IN (SELECT id FROM sub) AND p.year = p_year
     GROUP BY 1, 2, 3
$$;
-- the roll-up's input cells, from the web API's document
CREATE FUNCTION pg_temp.rolled(p_agency text, p_year int)
RETURNS TABLE (tbl text, row_key text, col_key text, value numeric) LANGUAGE sql AS $$
    SELECT t.key, r.key, c.key, (c.value #>> '{}')::numeric
      FROM jsonb_each(disclosure_web.rollup(p_agency, p_year)::jsonb -> 'report' -> 'tables') t,
           jsonb_each(t.value) r, jsonb_each(r.value) c, disclosure.format_cell f
     WHERE f.format = 2021 AND f.tbl = t.key AND f.row_key = r.key AND f.col_key = c.key
       AND f.kind = 'input' AND jsonb_typeof(c.value) = 'number'
$$;
CREATE FUNCTION pg_temp.state(p_agency text, p_year int, p_of text) RETURNS text LANGUAGE sql AS $$
    SELECT a ->> 'state' FROM json_array_elements(disclosure_web.rollup(p_of, p_year) -> 'agencies') a
     WHERE a ->> 'slug' = p_agency
$$;
CREATE TEMP TABLE kept AS SELECT * FROM disclosure.rollup_below WITH NO DATA;
CREATE TEMP TABLE kept_states AS SELECT * FROM disclosure.year_state WITH NO DATA;
CREATE TEMP TABLE kept_tree AS SELECT * FROM disclosure.agency_tree WITH NO DATA;
CREATE FUNCTION pg_temp.kept_equals_rebuilt() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    -- the states and the tree, made again from scratch, equal what triggers kept
    DELETE FROM kept_states;
    INSERT INTO kept_states SELECT * FROM disclosure.year_state;
    PERFORM disclosure.year_state_refresh(ARRAY(SELECT id FROM disclosure.report));
    IF EXISTS ((SELECT * FROM kept_states EXCEPT SELECT * FROM disclosure.year_state)
               UNION ALL (SELECT * FROM disclosure.year_state EXCEPT SELECT * FROM kept_states)) THEN
        RETURN false;
    END IF;
    DELETE FROM kept_tree;
    INSERT INTO kept_tree SELECT * FROM disclosure.agency_tree;
    PERFORM disclosure.agency_tree_rebuild();
    IF EXISTS ((SELECT * FROM kept_tree EXCEPT SELECT * FROM disclosure.agency_tree)
               UNION ALL (SELECT * FROM disclosure.agency_tree EXCEPT SELECT * FROM kept_tree)) THEN
        RETURN false;
    END IF;
    DELETE FROM kept;
    INSERT INTO kept SELECT * FROM disclosure.rollup_below;
    PERFORM disclosure.rollup_rebuild();
    RETURN NOT EXISTS ((SELECT * FROM kept EXCEPT SELECT * FROM disclosure.rollup_below)
                       UNION ALL (SELECT * FROM disclosure.rollup_below EXCEPT SELECT * FROM kept));
END
$$;

-- 1. path words
SELECT throws_ok($$ INSERT INTO disclosure.agency (slug, name, kind) VALUES ('trend', 'x', 'department') $$,
    '23514', '机构标识“trend”是保留字（route /{agency}/trend）', 'a reserved word is refused as a slug');
SELECT throws_ok($$ INSERT INTO disclosure.agency (slug, name, kind) VALUES ('2024', 'x', 'department') $$,
    '23514', '机构标识“2024”只有数字，会被当作年份（/2024/ 是年度页面）', 'a slug of digits only is refused');
SELECT throws_ok($$ UPDATE disclosure.agency SET slug = 'rollup' WHERE slug = 'demo-district-market' $$,
    '23514', NULL, 'a rename to a reserved word too');
SELECT lives_ok($$ INSERT INTO disclosure.agency (slug, name, kind) VALUES ('district-2024', 'x', 'department') $$,
    'digits with letters are a slug');

-- 2. the roll-up against plain sums
SELECT set_eq($$ SELECT * FROM pg_temp.rolled('demo-district', 2024) $$,
              $$ SELECT * FROM pg_temp.expected('demo-district', 2024) $$,
    'roll-up 2024: every input cell is the sum over the district and its departments');
SELECT is((disclosure_web.rollup('demo-district', 2024) -> 'report' -> 'tables' -> 'applications' -> 'closed_total' ->> 'total')::numeric,
          (SELECT sum(value) FROM pg_temp.expected('demo-district', 2024)
            WHERE tbl = 'applications' AND col_key <> 'total'
              AND row_key IN (SELECT row_key FROM disclosure.format_result_row WHERE format = 2021)),
    'roll-up: （七）总计 derived from the summed result rows');
SELECT is((disclosure_web.rollup('demo-district', 2024) ->> 'summed')::int, 5,
    '5 reports summed: the district and four departments (finance has none for 2024)');
SELECT set_eq($$ SELECT * FROM pg_temp.rolled('demo-district-education', 2023) $$,
              $$ SELECT * FROM pg_temp.expected('demo-district-education', 2023) $$,
    'a department''s roll-up is its own report');
SELECT is(disclosure_web.rollup('demo-district', 2024) -> 'checks' -> 0 ->> 'ok', 'true', 'R1 holds on the sums');

-- 3. scope: a jurisdiction-scope correction is listed, not added
SELECT lives_ok($$ SELECT disclosure.revise('demo-district-housing', 2024, '范围应为全辖区') $$, 'a correction');
UPDATE disclosure.reports SET scope = 'jurisdiction' WHERE agency = 'demo-district-housing' AND year = 2024 AND status = 'draft';
SELECT lives_ok($$ SELECT disclosure.publish('demo-district-housing', 2024) $$, 'published as jurisdiction scope');
SELECT set_eq($$ SELECT * FROM pg_temp.rolled('demo-district', 2024) $$,
              $$ SELECT * FROM pg_temp.expected('demo-district', 2024) $$,
    'the jurisdiction-scope report is no longer in the sums');
SELECT is((SELECT string_agg(x ->> 'slug' || ' ' || (x ->> 'reason'), '; ')
             FROM json_array_elements(disclosure_web.rollup('demo-district', 2024) -> 'not_added') x),
          'demo-district-housing 全辖区范围的报告已包含下级机关的数字，相加会重复计算',
    'it is listed with the reason');
SELECT is((disclosure_web.rollup('demo-district', 2024) ->> 'summed')::int, 4, '4 reports summed now');
SELECT ok(pg_temp.kept_equals_rebuilt(), 'the sums, states and tree kept at publication equal a rebuild');

-- 4. a withdrawal takes a report out; completeness says so
SELECT lives_ok($$ SELECT disclosure.withdraw('demo-district-market', 2024, '测试撤回') $$, 'a withdrawal');
SELECT set_eq($$ SELECT * FROM pg_temp.rolled('demo-district', 2024) $$,
              $$ SELECT * FROM pg_temp.expected('demo-district', 2024) $$,
    'the withdrawn report is out of the sums');
SELECT ok(pg_temp.kept_equals_rebuilt(), 'the kept sums still equal a rebuild');
SELECT is(pg_temp.state('demo-district-market', 2024, 'demo-district'), 'none', 'withdrawn: nothing published');

-- 5. completeness
SELECT is(pg_temp.state('demo-district-finance', 2024, 'demo-district'), 'none', 'finance 2024: nothing');
SELECT is(pg_temp.state('demo-district-health', 2024, 'demo-district'), 'late', 'health 2024: late');
SELECT is((SELECT a ->> 'published_at' || ' ' || (a ->> 'deadline')
             FROM json_array_elements(disclosure_web.rollup('demo-district', 2024) -> 'agencies') a
            WHERE a ->> 'slug' = 'demo-district-health'),
          '2025-03-12T16:00:00+08:00 2025-01-31', 'late: with its date and the deadline');
SELECT is(pg_temp.state('demo-district', 2025, 'demo-district'), 'draft', 'the district 2025: a draft only');
SELECT is(disclosure_web.rollup('demo-district', 2024) ->> 'counts',
          '{"agencies" : 5, "published" : 3, "on_time" : 2, "late" : 1, "draft" : 0, "none" : 2}',
          'the counts of the departments');
SELECT is((disclosure_web.year_page(2024) -> 'counts' ->> 'published')::int, 5,
    'the year page counts the whole portal (xigong-edz, the district and three departments)');

-- 6. moving an agency rebuilds the sums of its old and new ancestors
UPDATE disclosure.agency SET parent_id = (SELECT id FROM disclosure.agency WHERE slug = 'xigong-edz')
 WHERE slug = 'demo-district-education';
SELECT set_eq($$ SELECT * FROM pg_temp.rolled('xigong-edz', 2024) $$,
              $$ SELECT * FROM pg_temp.expected('xigong-edz', 2024) $$,
    'after a move, the new parent adds the department');
SELECT ok(pg_temp.kept_equals_rebuilt(), 'and the kept sums equal a rebuild');

-- agencies added one by one, parent and child in one statement, removed;
-- another kind moves the deadline
INSERT INTO disclosure.agency (slug, name, kind, parent_id)
SELECT 't-office-a', '甲科', 'department', id FROM disclosure.agency WHERE slug = 'demo-district-health';
INSERT INTO disclosure.agency (id, slug, name, kind, parent_id) OVERRIDING SYSTEM VALUE
VALUES (90001, 't-office-b', '乙科', 'department', (SELECT id FROM disclosure.agency WHERE slug = 't-office-a')),
       (90002, 't-office-c', '丙科', 'department', 90001);
DELETE FROM disclosure.agency WHERE slug = 't-office-c';
SELECT ok(pg_temp.kept_equals_rebuilt(), 'agencies added and removed: the tree equals a rebuild');
SELECT is((SELECT string_agg(a.slug, ',' ORDER BY t.depth) FROM disclosure.agency_tree t
             JOIN disclosure.agency a ON a.id = t.ancestor_id
            WHERE t.agency_id = 90001),
          't-office-b,t-office-a,demo-district-health,demo-district', 'a new agency''s ancestors');
UPDATE disclosure.agency SET kind = 'government' WHERE slug = 'demo-district-health';
SELECT is(pg_temp.state('demo-district-health', 2024, 'demo-district'), 'on_time',
    'as a government its deadline is 31 March: on time');
SELECT ok(pg_temp.kept_equals_rebuilt(), 'and the states equal a rebuild');

-- 7. the trend and its 2019 mapping
SELECT is((SELECT string_agg(format('%s:%s:%s', v ->> 'year', v ->> 'value', coalesce(v ->> 'change', '-')), ' ')
             FROM json_array_elements(disclosure_web.trend('demo-district') -> 'figures') f,
                  json_array_elements(f -> 'values') v
            WHERE f ->> 'key' = 'received'),
          (SELECT string_agg(format('%s:%s:%s', x.year, x.value, coalesce(x.change::text, '-')), ' ' ORDER BY x.year)
             FROM (SELECT p.year, c.value, c.value - lag(c.value) OVER (ORDER BY p.year) AS change
                     FROM disclosure.public_revision p
                     JOIN disclosure.cell_value c ON c.revision_id = p.revision_id
                    WHERE p.agency = 'demo-district' AND c.tbl = 'applications'
                      AND c.row_key = 'received' AND c.col_key = 'total') x),
    'trend: 本年新收 each year, 2020 (2019 format) included, with the change');
SELECT is((SELECT string_agg(format('%s:%s:%s', v ->> 'year', v ->> 'comparable', coalesce(v ->> 'change', '-')), ' ')
             FROM json_array_elements(disclosure_web.trend('demo-district') -> 'figures') f,
                  json_array_elements(f -> 'values') v
            WHERE f ->> 'key' = 'normative_issued' AND (v ->> 'year')::int <= 2021),
          '2020:false:- 2021:true:-',
    'trend: a 2019 figure that means something else is marked, and no change is made across it');

-- 8. the comparison
SELECT is((SELECT format('%s %s %s', c ->> 'value', c ->> 'previous', c ->> 'change')
             FROM json_array_elements(disclosure_web.compare('demo-district', 2024) -> 'tables') t,
                  json_array_elements(t -> 'cells') c
            WHERE t ->> 'key' = 'applications' AND c ->> 'row' = 'received' AND c ->> 'col' = 'total'),
          (SELECT format('%s %s %s', a.value, b.value, a.value - b.value)
             FROM disclosure.public_revision pa JOIN disclosure.cell_value a ON a.revision_id = pa.revision_id,
                  disclosure.public_revision pb JOIN disclosure.cell_value b ON b.revision_id = pb.revision_id
            WHERE pa.agency = 'demo-district' AND pa.year = 2024 AND pb.agency = 'demo-district' AND pb.year = 2023
              AND (a.tbl, a.row_key, a.col_key) = ('applications', 'received', 'total')
              AND (b.tbl, b.row_key, b.col_key) = ('applications', 'received', 'total')),
    'compare: this year, last year, the change');

SELECT * FROM finish();
ROLLBACK;
