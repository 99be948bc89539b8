-- The web API: the schema disclosure_web, all that nginx's role
-- (disclosure_reader) may call.  Every function is STABLE, SECURITY DEFINER
-- with its own search_path, and reads only what is published; each is
-- granted to disclosure_reader and disclosure_editor here, next to it.
--
-- A repeatable file (README, "Migrations").

CREATE OR REPLACE FUNCTION disclosure_web.data_version()
RETURNS bigint LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        SELECT version FROM disclosure.data_version
    );
END
$$;
REVOKE EXECUTE ON FUNCTION disclosure_web.data_version() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure_web.data_version() TO disclosure_editor, disclosure_reader;

CREATE OR REPLACE FUNCTION disclosure_web.report(p_agency text, p_year int)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        SELECT d.document
          FROM disclosure.agency a
          JOIN disclosure.report r ON r.agency_id = a.id AND r.year = p_year
          CROSS JOIN LATERAL (
               SELECT v.id, v.status FROM disclosure.revision v
                WHERE v.report_id = r.id AND v.status <> 'draft'
                ORDER BY v.revision DESC LIMIT 1) v
          JOIN disclosure.published_document d ON d.revision_id = v.id
         WHERE a.slug = p_agency AND v.status = 'published'
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.report(text,integer) IS
    'the report document of the latest publication, or NULL (never a draft)';
REVOKE EXECUTE ON FUNCTION disclosure_web.report(text,integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure_web.report(text,integer) TO disclosure_editor, disclosure_reader;

CREATE OR REPLACE FUNCTION disclosure_web.published_years(p_agency_id int)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        SELECT coalesce(json_agg(json_build_object(
                   'year', r.year, 'format', v.format, 'revision', v.revision,
                   'published_at', disclosure.json_time(v.published_at)) ORDER BY r.year DESC), '[]')
          FROM disclosure.report r
          CROSS JOIN LATERAL (
               SELECT v.format, v.revision, v.published_at, v.status FROM disclosure.revision v
                WHERE v.report_id = r.id AND v.status <> 'draft'
                ORDER BY v.revision DESC LIMIT 1) v
         WHERE r.agency_id = p_agency_id AND v.status = 'published'
    );
END
$$;
REVOKE EXECUTE ON FUNCTION disclosure_web.published_years(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure_web.published_years(integer) TO disclosure_editor, disclosure_reader;

-- The index at scale: only the top of the hierarchy (each agency page lists
-- its children), with the years anything was published, for /{year}/ links.
CREATE OR REPLACE FUNCTION disclosure_web.index()
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off AS $$
BEGIN
    RETURN (
        SELECT json_build_object(
            'document', 'disclosure-index/1',
            'data_version', v.version,
            'changed_at', disclosure.json_time(v.changed_at),
            'all_years', coalesce((
                SELECT json_agg(y.year ORDER BY y.year DESC)
                  FROM (SELECT DISTINCT s.year FROM disclosure.year_state s WHERE s.status = 'published') y), '[]'),
            'agencies', coalesce((
                SELECT json_agg(json_build_object(
                           'slug', a.slug, 'name', a.name, 'kind', a.kind,
                           'parent', NULL, 'depth', 0,
                           'children', (SELECT count(*) FROM disclosure.agency c
                                         WHERE c.parent_id = a.id AND disclosure.shown(c.id)),
                           'years', disclosure_web.published_years(a.id)) ORDER BY a.name, a.slug)
                  FROM disclosure.agency a
                 WHERE a.parent_id IS NULL AND disclosure.shown(a.id)),
                '[]'))
          FROM disclosure.data_version v
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.index() IS
    'the top-level agencies that have something published, with their years and how many children are shown';
REVOKE EXECUTE ON FUNCTION disclosure_web.index() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure_web.index() TO disclosure_editor, disclosure_reader;

-- An agency page: its children (those the index shows, 0022) each with its
-- published years.
CREATE OR REPLACE FUNCTION disclosure_web.agency(p_agency text)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off AS $$
BEGIN
    RETURN (
        WITH a AS (
            SELECT * FROM disclosure.agency WHERE slug = p_agency
        )
        SELECT json_build_object(
            'document', 'disclosure-agency/1',
            'data_version', v.version,
            'changed_at', disclosure.json_time(v.changed_at),
            'agency', disclosure.agency_json(a),
            'ancestors', disclosure.ancestors(a.id),
            'children', coalesce((
                SELECT json_agg(json_build_object(
                           'slug', c.slug, 'name', c.name,
                           'years', disclosure_web.published_years(c.id)) ORDER BY c.name, c.slug)
                  FROM disclosure.agency c WHERE c.parent_id = a.id AND disclosure.shown(c.id)), '[]'),
            'years', disclosure_web.published_years(a.id))
          FROM a, disclosure.data_version v
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.agency(text) IS
    'one agency, its children that the index shows with their published years, and its own years, or NULL';
REVOKE EXECUTE ON FUNCTION disclosure_web.agency(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure_web.agency(text) TO disclosure_editor, disclosure_reader;

-- What changed after data version p_after, one row per step up to the
-- current version, oldest first: the agency and year of a report; for a
-- change to the agencies year 0 (and the slug the notification carried);
-- agency NULL when the step is not known (older than the log, or
-- made without announce()): everything may have changed, and so it is when
-- more than 100 steps were missed (one row, the current version).  No rows
-- when nothing is newer: a version the database has not reached is not
-- taken on trust.  With each, the ancestors' slugs, the top first,
-- comma-separated ('' for a top agency; NULL where agency is NULL or year is 0).
CREATE OR REPLACE FUNCTION disclosure_web.changes(p_after bigint)
RETURNS TABLE (data_version bigint, agency text, year int, ancestors text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cur bigint;
BEGIN
    SELECT v.version INTO cur FROM disclosure.data_version v;
    IF p_after IS NULL OR p_after >= cur THEN
        RETURN;
    END IF;
    IF p_after < cur - 100 THEN
        RETURN QUERY SELECT cur, NULL::text, NULL::int, NULL::text;
        RETURN;
    END IF;
    RETURN QUERY
        SELECT g.v, c.agency, c.year,
               CASE WHEN c.year > 0 THEN
                   (SELECT coalesce(string_agg(p.slug, ',' ORDER BY t.depth DESC), '')
                      FROM disclosure.agency a
                      JOIN disclosure.agency_tree t ON t.agency_id = a.id AND t.depth > 0
                      JOIN disclosure.agency p ON p.id = t.ancestor_id
                     WHERE a.slug = c.agency)
               END
          FROM generate_series(p_after + 1, cur) AS g(v)
          LEFT JOIN disclosure.change c ON c.data_version = g.v
         ORDER BY g.v;
END
$$;
COMMENT ON FUNCTION disclosure_web.changes(bigint) IS
    'what each data version after the given one changed (agency, year, the agency''s ancestors; year 0: the agencies; NULL: unknown)';
REVOKE EXECUTE ON FUNCTION disclosure_web.changes(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure_web.changes(bigint) TO disclosure_editor, disclosure_reader;

-- /{agency}/trend: every published year side by side, key figures per
-- format_figure, the change from the year before where both are comparable
CREATE OR REPLACE FUNCTION disclosure_web.trend(p_agency text)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off AS $$
BEGIN
    RETURN (
        WITH a AS (
            SELECT * FROM disclosure.agency WHERE slug = p_agency
        ),
        y AS (  -- the published years
            SELECT r.year, v.format, v.revision, v.published_at, d.document::jsonb AS doc
              FROM a JOIN disclosure.report r ON r.agency_id = a.id
             CROSS JOIN LATERAL (
                   SELECT v.id, v.status, v.format, v.revision FROM disclosure.revision v
                    WHERE v.report_id = r.id AND v.status <> 'draft'
                    ORDER BY v.revision DESC LIMIT 1) v0
              JOIN disclosure.revision v ON v.id = v0.id
              JOIN disclosure.published_document d ON d.revision_id = v.id
             WHERE v.status = 'published'
        ),
        s AS (  -- sums
            SELECT f.figure, y.year, f.format, f.comparable, f.note,
                   coalesce((SELECT sum(disclosure.doc_number(y.doc -> 'tables', k))
                               FROM unnest(string_to_array(nullif(f.cells, ''), '+')) k),
                            disclosure.doc_number(y.doc -> 'published_totals', f.printed)) AS value
              FROM y JOIN disclosure.trend_figure f ON f.format = y.format AND f.kind = 'sum'
        ),
        sh AS (  -- shares, in per cent of the figures named
            SELECT f.figure, y.year, f.format, f.comparable, f.note,
                   round(100 * (SELECT sum(s.value) FROM s
                                 WHERE s.year = y.year
                                   AND s.figure = ANY (string_to_array(split_part(f.cells, '/', 1), '+')))
                         / nullif((SELECT s.value FROM s WHERE s.year = y.year
                                     AND s.figure = split_part(f.cells, '/', 2)), 0), 1) AS value
              FROM y JOIN disclosure.trend_figure f ON f.format = y.format AND f.kind = 'share'
        ),
        v AS (
            SELECT * FROM s UNION ALL SELECT * FROM sh
        ),
        c AS (  -- with the change from the year before, when both mean the same
            SELECT v.*, v.value - p.value AS change
              FROM v LEFT JOIN v p
                ON p.figure = v.figure AND p.year = v.year - 1
               AND (p.format = v.format OR (p.comparable AND v.comparable))
        )
        SELECT json_build_object(
            'document', 'disclosure-trend/1',
            'data_version', dv.version,
            'changed_at', disclosure.json_time(dv.changed_at),
            'agency', disclosure.agency_json(a),
            'ancestors', disclosure.ancestors(a.id),
            'years', coalesce((SELECT json_agg(json_build_object(
                         'year', y.year, 'format', y.format, 'revision', y.revision,
                         'published_at', disclosure.json_time(y.published_at)) ORDER BY y.year) FROM y), '[]'),
            'figures', coalesce((
                SELECT json_agg(json_build_object(
                           'key', f.figure, 'label', f.label, 'unit', f.unit,
                           'chart', f.figure IN ('received', 'closed_total', 'granted'),
                           'values', coalesce((
                               SELECT json_agg(json_build_object(
                                          'year', c.year, 'value', c.value, 'change', c.change,
                                          'comparable', c.comparable, 'note', c.note) ORDER BY c.year)
                                 FROM c WHERE c.figure = f.figure), '[]')) ORDER BY f.ord)
                  FROM disclosure.trend_figure f WHERE f.format = 2021), '[]'))
          FROM a, disclosure.data_version dv
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.trend(text) IS
    'the key figures of every published year of an agency (format/trend-figures.tsv), or NULL';
-- PUBLIC kept EXECUTE from 0040 (README, "Migrations"): no USAGE on the schema
GRANT EXECUTE ON FUNCTION disclosure_web.trend(text) TO disclosure_editor, disclosure_reader;

-- /{agency}/{year}/compare: every cell with last year's value and the change
CREATE OR REPLACE FUNCTION disclosure_web.compare(p_agency text, p_year int)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off AS $$
DECLARE
    cur  json := disclosure_web.report(p_agency, p_year);
    prev json;
BEGIN
    IF cur IS NULL THEN
        RETURN NULL;
    END IF;
    prev := disclosure_web.report(p_agency, p_year - 1);
    RETURN (
        WITH c AS (
            SELECT f.tbl, f.row_key, f.col_key, f.kind, f.row_group, f.row_label, f.col_group,
                   f.col_label, f.ord,
                   cur::jsonb -> 'tables' -> f.tbl -> f.row_key -> f.col_key AS value,
                   pf.format IS NOT NULL AS comparable,
                   CASE WHEN pf.format IS NOT NULL
                        THEN prev::jsonb -> 'tables' -> f.tbl -> f.row_key -> f.col_key END AS previous
              FROM disclosure.format_cell f
              LEFT JOIN disclosure.format_cell pf
                ON pf.format = (prev ->> 'format')::smallint AND pf.tbl = f.tbl
               AND pf.row_key = f.row_key AND pf.col_key = f.col_key
             WHERE f.format = (cur ->> 'format')::smallint
        )
        SELECT json_build_object(
            'document', 'disclosure-compare/1',
            'data_version', dv.version,
            'changed_at', disclosure.json_time(dv.changed_at),
            'agency', cur -> 'agency',
            'ancestors', disclosure.ancestors(a.id),
            'year', p_year,
            'format', cur -> 'format',
            'revision', cur -> 'revision',
            'published_at', cur -> 'published_at',
            'previous', CASE WHEN prev IS NOT NULL THEN json_build_object(
                'year', p_year - 1, 'format', prev -> 'format', 'revision', prev -> 'revision',
                'published_at', prev -> 'published_at') END,
            'tables', (
                SELECT json_agg(json_build_object(
                           'key', s.section, 'heading', s.heading,
                           'cells', (SELECT json_agg(json_build_object(
                                         'row', c.row_key, 'col', c.col_key, 'kind', c.kind,
                                         'row_group', c.row_group, 'row_label', c.row_label,
                                         'col_group', c.col_group, 'col_label', c.col_label,
                                         'value', c.value, 'previous', c.previous,
                                         'comparable', c.comparable,
                                         'change', CASE WHEN jsonb_typeof(c.value) = 'number'
                                                         AND jsonb_typeof(c.previous) = 'number'
                                                        THEN (c.value #>> '{}')::numeric
                                                             - (c.previous #>> '{}')::numeric END)
                                         ORDER BY c.ord)
                                       FROM c WHERE c.tbl = s.section)) ORDER BY s.no)
                  FROM (SELECT DISTINCT ON (fs.section) fs.section, fs.no, fs.heading
                          FROM disclosure.format_section fs
                         WHERE fs.format = (cur ->> 'format')::smallint
                           AND fs.section IN ('proactive', 'applications', 'appeals')
                         ORDER BY fs.section, fs.ord) s))
          FROM disclosure.agency a, disclosure.data_version dv
         WHERE a.slug = p_agency
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.compare(text,integer) IS
    'a published report, every cell with the previous year''s value and the change, or NULL';
-- PUBLIC kept EXECUTE from 0040 (README, "Migrations"): no USAGE on the schema
GRANT EXECUTE ON FUNCTION disclosure_web.compare(text,integer) TO disclosure_editor, disclosure_reader;

-- /{agency}/{year}/rollup: the agency and everything below it for one year.
-- Cells: the office-scope reports of the year's format summed (the
-- agency's own and rollup_below), totals derived from the sums, R1 checked
-- per column.  Completeness: the agency and its children, each with its
-- state and the counts of what is below it; counts over every descendant.
CREATE OR REPLACE FUNCTION disclosure_web.rollup(p_agency text, p_year int)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off AS $$
DECLARE
    a    disclosure.agency;
    fmt  smallint := CASE WHEN p_year >= 2021 THEN 2021 ELSE 2019 END;
BEGIN
    SELECT * INTO a FROM disclosure.agency WHERE slug = p_agency;
    IF NOT FOUND OR NOT EXISTS (SELECT 1 FROM disclosure.year_state WHERE year = p_year) THEN
        RETURN NULL;
    END IF;
    RETURN (
        WITH sub AS (  -- the agency (depth 0), everything below it, and its report of the year
            SELECT t.agency_id AS id, t.depth, s.state, s.status, s.first_published AS published_at,
                   s.scope, s.format, s.revision_id
              FROM disclosure.agency_tree t
              LEFT JOIN disclosure.year_state s ON s.agency_id = t.agency_id AND s.year = p_year
             WHERE t.ancestor_id = a.id
        ),
        inputs AS (
            SELECT u.tbl, u.row_key, u.col_key, sum(u.value) AS value, sum(u.numbers) AS numbers
              FROM (SELECT x.tbl, x.row_key, x.col_key, x.value, 1 AS numbers
                      FROM sub CROSS JOIN LATERAL disclosure.rollup_cells(sub.revision_id) x
                     WHERE sub.depth = 0 AND sub.scope = 'office' AND sub.format = fmt
                    UNION ALL
                    SELECT b.tbl, b.row_key, b.col_key, b.value, b.numbers
                      FROM disclosure.rollup_below b
                     WHERE b.agency_id = a.id AND b.year = p_year AND b.format = fmt) u
             GROUP BY u.tbl, u.row_key, u.col_key
        ),
        cells AS (  -- every cell of the format
            SELECT f.tbl, f.row_key, f.col_key, f.ord,
                   CASE WHEN f.kind = 'input' THEN i.value
                        ELSE (SELECT sum(p.value) FROM (
                                  SELECT i2.value FROM disclosure.format_total_part tp
                                    JOIN inputs i2 ON i2.tbl = tp.tbl AND i2.row_key = tp.part_row
                                                  AND i2.col_key = tp.part_col
                                   WHERE tp.format = f.format AND tp.tbl = f.tbl
                                     AND tp.row_key = f.row_key AND tp.col_key = f.col_key
                                  UNION ALL
                                  SELECT m.value FROM inputs m
                                   WHERE f.format = 2021 AND f.tbl = 'applications' AND f.row_key = 'closed_total'
                                     AND m.tbl = 'applications' AND m.row_key = 'other'
                                     AND (f.col_key = 'total' OR m.col_key = f.col_key)) p)
                   END AS value
              FROM disclosure.format_cell f
              LEFT JOIN inputs i ON i.tbl = f.tbl AND i.row_key = f.row_key AND i.col_key = f.col_key
             WHERE f.format = fmt
        ),
        r1 AS (  -- 一 + 二 = （七） + 四, per column of 三
            SELECT c.col_key, min(c.ord) AS ord,
                   coalesce(sum(c.value) FILTER (WHERE c.row_key IN ('received', 'carried_over')), 0) AS lhs,
                   coalesce(sum(c.value) FILTER (WHERE c.row_key IN ('closed_total', 'carried_forward')), 0) AS rhs
              FROM cells c WHERE c.tbl = 'applications'
             GROUP BY c.col_key
        ),
        apart AS (  -- published but not added, and why
            SELECT sub.*, x.slug, x.name, CASE
                       WHEN sub.scope = 'jurisdiction' THEN '全辖区范围的报告已包含下级机关的数字，相加会重复计算'
                       WHEN sub.scope = 'unknown' THEN '报告未说明范围（本机关或全辖区），不能相加'
                       ELSE format('报告使用 %s 年版格式，%s 年度按 %s 年版格式相加', sub.format, p_year, fmt) END AS reason
              FROM sub JOIN disclosure.agency x ON x.id = sub.id
             WHERE sub.status = 'published' AND (sub.scope <> 'office' OR sub.format <> fmt)
        ),
        near AS (  -- the agency and its children, for the completeness table
            SELECT sub.*, x.slug, x.name, x.kind
              FROM sub JOIN disclosure.agency x ON x.id = sub.id
             WHERE sub.depth <= 1
        )
        SELECT json_build_object(
            'document', 'disclosure-rollup/1',
            'data_version', dv.version,
            'changed_at', disclosure.json_time(dv.changed_at),
            'agency', disclosure.agency_json(a),
            'ancestors', disclosure.ancestors(a.id),
            'year', p_year,
            'format', fmt,
            'summed', (SELECT count(*) FROM sub
                        WHERE sub.status = 'published' AND sub.scope = 'office' AND sub.format = fmt),
            'report', json_build_object(
                'document', 'disclosure-report/1', 'format', fmt,
                'tables', (SELECT json_object_agg(t.tbl, t.rows)
                             FROM (SELECT r.tbl, json_object_agg(r.row_key, r.cols) AS rows
                                     FROM (SELECT c.tbl, c.row_key, json_object_agg(c.col_key, c.value ORDER BY c.ord) AS cols,
                                                  min(c.ord) AS ord
                                             FROM cells c GROUP BY c.tbl, c.row_key) r
                                    GROUP BY r.tbl) t)),
            'merged_other', (SELECT json_object_agg(i.col_key, i.value) FROM inputs i
                              WHERE fmt = 2021 AND i.tbl = 'applications' AND i.row_key = 'other'),
            'checks', json_build_array(
                json_build_object('rule', 'R1', 'ok', NOT EXISTS (SELECT 1 FROM r1 WHERE r1.lhs <> r1.rhs),
                    'message', coalesce((SELECT string_agg(format('%s：一 + 二 = %s，（七）+ 四 = %s，相差 %s',
                                                                   f.col_label, r1.lhs, r1.rhs, r1.lhs - r1.rhs), '；' ORDER BY r1.ord)
                                           FROM r1 JOIN disclosure.format_cell f
                                             ON f.format = fmt AND f.tbl = 'applications'
                                            AND f.row_key = 'received' AND f.col_key = r1.col_key
                                          WHERE r1.lhs <> r1.rhs),
                                        '每一列：一 + 二 = （七）总计 + 四，各列均相等')),
                json_build_object('rule', 'R2', 'ok', true,
                    'message', '（七）总计由相加后的各项办理结果得出'),
                json_build_object('rule', 'R3', 'ok', true,
                    'message', '三的总计列由相加后的六类申请人得出'),
                json_build_object('rule', 'R4', 'ok', true,
                    'message', '四的总计由相加后的维持、纠正、其他、尚未审结得出')),
            'not_added', coalesce((SELECT json_agg(json_build_object(
                              'slug', x.slug, 'name', x.name, 'scope', x.scope, 'format', x.format,
                              'reason', x.reason) ORDER BY x.depth, x.name, x.slug)
                            FROM (SELECT * FROM apart ORDER BY depth, name, slug LIMIT 200) x), '[]'),
            'not_added_count', (SELECT count(*) FROM apart),
            'counts', disclosure.state_counts(ARRAY(SELECT coalesce(sub.state, 'none') FROM sub WHERE sub.depth > 0)),
            'agencies', (
                SELECT json_agg(disclosure.state_json(n.slug, n.name, n.kind, n.depth, p_year, n.state,
                                                      n.status, n.published_at, n.scope, b.counts)
                                ORDER BY n.depth, n.name, n.slug)
                  FROM near n
                  LEFT JOIN disclosure.below_counts(p_year, ARRAY(SELECT id FROM near WHERE depth = 1)) b
                    ON b.agency_id = n.id))
          FROM disclosure.data_version dv
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.rollup(text,integer) IS
    'an agency and its descendants for one year: summed cells, what was not added and why, who published when, or NULL';
-- PUBLIC kept EXECUTE from 0040 (README, "Migrations"): no USAGE on the schema
GRANT EXECUTE ON FUNCTION disclosure_web.rollup(text,integer) TO disclosure_editor, disclosure_reader;

-- /{year}/: the whole portal for one year, by top-level agency
CREATE OR REPLACE FUNCTION disclosure_web.year_page(p_year int)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM disclosure.year_state WHERE year = p_year) THEN
        RETURN NULL;
    END IF;
    RETURN (
        WITH top AS (
            SELECT x.id, x.slug, x.name, x.kind, s.state, s.status, s.first_published, s.scope
              FROM disclosure.agency x
              LEFT JOIN disclosure.year_state s ON s.agency_id = x.id AND s.year = p_year
             WHERE x.parent_id IS NULL
        )
        SELECT json_build_object(
            'document', 'disclosure-year/1',
            'data_version', dv.version,
            'changed_at', disclosure.json_time(dv.changed_at),
            'year', p_year,
            'counts', (SELECT disclosure.state_counts(array_agg(coalesce(s.state, 'none')))
                         FROM disclosure.agency x
                         LEFT JOIN disclosure.year_state s ON s.agency_id = x.id AND s.year = p_year),
            'agencies', coalesce((
                SELECT json_agg(disclosure.state_json(t.slug, t.name, t.kind, NULL, p_year, t.state,
                                                      t.status, t.first_published, t.scope, b.counts)
                                ORDER BY t.name, t.slug)
                  FROM top t
                  LEFT JOIN disclosure.below_counts(p_year, ARRAY(SELECT id FROM top)) b ON b.agency_id = t.id),
                '[]'),
            'latest', coalesce((
                SELECT json_agg(json_build_object(
                           'slug', x.slug, 'name', x.name, 'state', s.state,
                           'published_at', disclosure.json_time(s.first_published))
                           ORDER BY s.first_published DESC, x.slug)
                  FROM (SELECT * FROM disclosure.year_state s
                         WHERE s.year = p_year AND s.first_published IS NOT NULL
                         ORDER BY s.first_published DESC LIMIT 50) s
                  JOIN disclosure.agency x ON x.id = s.agency_id), '[]'))
          FROM disclosure.data_version dv
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.year_page(integer) IS
    'one year across the portal: who published and when, by top-level agency, or NULL';
-- PUBLIC kept EXECUTE from 0040 (README, "Migrations"): no USAGE on the schema
GRANT EXECUTE ON FUNCTION disclosure_web.year_page(integer) TO disclosure_editor, disclosure_reader;

-- the slugs above an agency, the top first: what a publication of it also
-- changes (the roll-ups of its ancestors)
CREATE OR REPLACE FUNCTION disclosure_web.ancestors(p_agency text)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        SELECT (SELECT coalesce(json_agg(x ->> 'slug'), '[]')
                  FROM json_array_elements(disclosure.ancestors(a.id)) x)
          FROM disclosure.agency a WHERE a.slug = p_agency
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.ancestors(text) IS
    'the slugs of the agencies above one, the top first, or NULL';
-- PUBLIC kept EXECUTE from 0040 (README, "Migrations"): no USAGE on the schema
GRANT EXECUTE ON FUNCTION disclosure_web.ancestors(text) TO disclosure_editor, disclosure_reader;
