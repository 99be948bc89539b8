-- Across reports and years: the roll-up sums of the agencies below, the
-- agency tree, the state of each year's reports against their deadlines,
-- and the JSON pieces the trend, compare, roll-up and year pages share.
-- Tables and triggers: 0040_across_reports.sql.
--
-- A repeatable file (README, "Migrations").

-- the input cells a revision adds to a sum
CREATE OR REPLACE FUNCTION disclosure.rollup_cells(p_revision_id int)
RETURNS TABLE (tbl text, row_key text, col_key text, value numeric)
LANGUAGE sql STABLE AS $$
    SELECT c.tbl, c.row_key, c.col_key, c.value FROM disclosure.cell c
     WHERE c.revision_id = p_revision_id AND c.given = 'number'
    UNION ALL
    SELECT t.tbl, t.row_key, t.col_key, t.value FROM disclosure.published_total t
     WHERE t.revision_id = p_revision_id AND t.format = 2021 AND t.tbl = 'applications'
       AND t.row_key = 'other' AND t.col_key <> 'total' AND t.given = 'number'
$$;
-- PUBLIC kept EXECUTE from 0040 (README, "Migrations"): no USAGE on the schema
GRANT EXECUTE ON FUNCTION disclosure.rollup_cells(integer) TO disclosure_editor;

-- adds (sign 1) or takes away (-1) the cells of office-scope revisions to the
-- sums of every agency above theirs
CREATE OR REPLACE FUNCTION disclosure.rollup_apply(p_revision int[], p_sign int[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    WITH RECURSIVE d AS (
        SELECT x.revision_id, x.sign, r.agency_id, r.year, v.format
          FROM unnest(p_revision, p_sign) AS x(revision_id, sign)
          JOIN disclosure.revision v ON v.id = x.revision_id AND v.scope = 'office'
          JOIN disclosure.report r ON r.id = v.report_id
    ),
    up AS (  -- (the report's agency, an agency above it)
        SELECT a.id AS start, a.parent_id AS id
          FROM disclosure.agency a WHERE a.id IN (SELECT agency_id FROM d) AND a.parent_id IS NOT NULL
        UNION
        SELECT u.start, a.parent_id FROM up u JOIN disclosure.agency a ON a.id = u.id
         WHERE a.parent_id IS NOT NULL
    )
    INSERT INTO disclosure.rollup_below AS b (agency_id, year, format, tbl, row_key, col_key, value, numbers)
    SELECT u.id, d.year, d.format, c.tbl, c.row_key, c.col_key, sum(d.sign * c.value), sum(d.sign)
      FROM d JOIN up u ON u.start = d.agency_id
      CROSS JOIN LATERAL disclosure.rollup_cells(d.revision_id) c
     GROUP BY u.id, d.year, d.format, c.tbl, c.row_key, c.col_key
    ON CONFLICT (agency_id, year, format, tbl, row_key, col_key)
    DO UPDATE SET value = b.value + excluded.value, numbers = b.numbers + excluded.numbers;

    DELETE FROM disclosure.rollup_below WHERE numbers = 0;
END
$$;
REVOKE EXECUTE ON FUNCTION disclosure.rollup_apply(integer[],integer[]) FROM PUBLIC;

-- the sums made again from the published reports (after a change of parents)
CREATE OR REPLACE FUNCTION disclosure.rollup_rebuild()
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ids int[];
BEGIN
    DELETE FROM disclosure.rollup_below;
    SELECT array_agg(p.revision_id) INTO ids
      FROM disclosure.public_revision p WHERE p.status = 'published';
    IF ids IS NOT NULL THEN
        PERFORM disclosure.rollup_apply(ids, array_fill(1, ARRAY[cardinality(ids)]));
    END IF;
END
$$;
COMMENT ON FUNCTION disclosure.rollup_rebuild() IS
    'makes disclosure.rollup_below again from every current publication';
REVOKE EXECUTE ON FUNCTION disclosure.rollup_rebuild() FROM PUBLIC;

-- after publish, revise+publish, withdraw: one set-based pass per statement
CREATE OR REPLACE FUNCTION disclosure.rollup_revisions_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ids   int[];
    signs int[];
BEGIN
    SELECT array_agg(x.id), array_agg(x.sign) INTO ids, signs FROM (
        -- a publication adds its cells ...
        SELECT n.id, 1 AS sign
          FROM new_revisions n JOIN old_revisions o USING (id)
         WHERE o.status = 'draft' AND n.status = 'published'
        UNION ALL
        -- ... and takes away those of the publication it corrects
        SELECT p.id, -1
          FROM new_revisions n JOIN old_revisions o USING (id)
         CROSS JOIN LATERAL (
               SELECT v.id, v.status FROM disclosure.revision v
                WHERE v.report_id = n.report_id AND v.revision < n.revision AND v.status <> 'draft'
                ORDER BY v.revision DESC LIMIT 1) p
         WHERE o.status = 'draft' AND n.status = 'published' AND p.status = 'published'
        UNION ALL
        -- a withdrawal of the current publication takes its cells away
        SELECT n.id, -1
          FROM new_revisions n JOIN old_revisions o USING (id)
         WHERE o.status = 'published' AND n.status = 'withdrawn'
           AND NOT EXISTS (SELECT 1 FROM disclosure.revision v
                            WHERE v.report_id = n.report_id AND v.revision > n.revision
                              AND v.status <> 'draft')) x;
    IF ids IS NOT NULL THEN
        PERFORM disclosure.rollup_apply(ids, signs);
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION disclosure.rollup_revisions_changed() FROM PUBLIC;

-- an agency that moves changes the sums of both its old and new ancestors
CREATE OR REPLACE FUNCTION disclosure.rollup_agencies_moved() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_agencies n JOIN old_agencies o USING (id)
                WHERE n.parent_id IS DISTINCT FROM o.parent_id) THEN
        PERFORM disclosure.rollup_rebuild();
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION disclosure.rollup_agencies_moved() FROM PUBLIC;

CREATE OR REPLACE FUNCTION disclosure.agency_tree_rebuild()
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM disclosure.agency_tree;
    INSERT INTO disclosure.agency_tree
    WITH RECURSIVE t AS (
        SELECT a.id AS ancestor_id, a.id AS agency_id, 0 AS depth FROM disclosure.agency a
        UNION ALL
        SELECT t.ancestor_id, c.id, t.depth + 1
          FROM t JOIN disclosure.agency c ON c.parent_id = t.agency_id
         WHERE t.depth < 64
    )
    SELECT * FROM t;
END
$$;
REVOKE EXECUTE ON FUNCTION disclosure.agency_tree_rebuild() FROM PUBLIC;

-- the legal deadline of R13 (条例第四十九条): published before it is on time
CREATE OR REPLACE FUNCTION disclosure.deadline(p_kind text, p_year int)
RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
    SELECT make_timestamptz(p_year + 1, CASE p_kind WHEN 'government' THEN 3 ELSE 1 END, 31,
                            0, 0, 0, 'Asia/Shanghai') + interval '1 day'
$$;
-- PUBLIC kept EXECUTE from 0040 (README, "Migrations"): no USAGE on the schema
GRANT EXECUTE ON FUNCTION disclosure.deadline(text,integer) TO disclosure_editor;

CREATE OR REPLACE FUNCTION disclosure.year_state_refresh(p_reports int[])
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM disclosure.year_state s USING unnest(p_reports) i(id) WHERE s.report_id = i.id;
    INSERT INTO disclosure.year_state
    SELECT x.report_id, x.agency_id, x.year,
           CASE WHEN x.status = 'published'
                THEN CASE WHEN x.first_published < disclosure.deadline(a.kind, x.year) THEN 'on_time' ELSE 'late' END
                WHEN x.has_draft THEN 'draft' ELSE 'none' END,
           x.status,
           CASE WHEN x.status = 'published' THEN x.first_published END,
           CASE WHEN x.status = 'published' THEN x.revision_id END,
           CASE WHEN x.status = 'published' THEN x.scope END,
           CASE WHEN x.status = 'published' THEN x.format END
      FROM (SELECT r.id AS report_id, r.agency_id, r.year,
                   bool_or(v.status = 'draft') AS has_draft,
                   min(v.published_at) AS first_published,
                   (array_agg(v.status ORDER BY v.revision DESC) FILTER (WHERE v.status <> 'draft'))[1] AS status,
                   (array_agg(v.id ORDER BY v.revision DESC) FILTER (WHERE v.status <> 'draft'))[1] AS revision_id,
                   (array_agg(v.scope ORDER BY v.revision DESC) FILTER (WHERE v.status <> 'draft'))[1] AS scope,
                   (array_agg(v.format ORDER BY v.revision DESC) FILTER (WHERE v.status <> 'draft'))[1] AS format
              FROM (SELECT DISTINCT id FROM unnest(p_reports) i(id)) i
              JOIN disclosure.report r ON r.id = i.id
              JOIN disclosure.revision v ON v.report_id = r.id
             GROUP BY r.id) x
      JOIN disclosure.agency a ON a.id = x.agency_id;
END
$$;
REVOKE EXECUTE ON FUNCTION disclosure.year_state_refresh(integer[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION disclosure.year_state_revisions() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM disclosure.year_state_refresh(ARRAY(SELECT DISTINCT report_id FROM old_revisions));
    ELSE
        PERFORM disclosure.year_state_refresh(ARRAY(SELECT DISTINCT report_id FROM new_revisions));
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION disclosure.year_state_revisions() FROM PUBLIC;

-- agencies added (their rows: below their parent's), moved (the tree made
-- again), removed (a removed agency has no children: the foreign key), or of
-- another kind (the deadline changes their states)
CREATE OR REPLACE FUNCTION disclosure.agency_tree_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF EXISTS (SELECT 1 FROM new_agencies n JOIN new_agencies p ON p.id = n.parent_id) THEN
            PERFORM disclosure.agency_tree_rebuild();
        ELSE
            INSERT INTO disclosure.agency_tree
            SELECT n.id, n.id, 0 FROM new_agencies n
            UNION ALL
            SELECT t.ancestor_id, n.id, t.depth + 1
              FROM new_agencies n JOIN disclosure.agency_tree t ON t.agency_id = n.parent_id;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        DELETE FROM disclosure.agency_tree t USING old_agencies o
         WHERE t.agency_id = o.id OR t.ancestor_id = o.id;
    ELSE
        IF EXISTS (SELECT 1 FROM new_agencies n JOIN old_agencies o USING (id)
                    WHERE n.parent_id IS DISTINCT FROM o.parent_id) THEN
            PERFORM disclosure.agency_tree_rebuild();
        END IF;
        PERFORM disclosure.year_state_refresh(ARRAY(
            SELECT r.id FROM new_agencies n JOIN old_agencies o USING (id)
              JOIN disclosure.report r ON r.agency_id = n.id
             WHERE n.kind IS DISTINCT FROM o.kind));
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION disclosure.agency_tree_changed() FROM PUBLIC;

-- an agency the index and agency pages show: a publication of its own or
-- below it (the first one found ends the search)
CREATE OR REPLACE FUNCTION disclosure.shown(p_agency_id int)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM disclosure.agency_tree t
                     JOIN disclosure.year_state s ON s.agency_id = t.agency_id AND s.status = 'published'
                    WHERE t.ancestor_id = p_agency_id)
$$;
-- PUBLIC kept EXECUTE from 0040 (README, "Migrations"): no USAGE on the schema
GRANT EXECUTE ON FUNCTION disclosure.shown(integer) TO disclosure_editor;

-- the counts of a set of states, in one pass
CREATE OR REPLACE FUNCTION disclosure.state_counts(p_states text[])
RETURNS json LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_object(
        'agencies', count(*),
        'published', count(*) FILTER (WHERE s IN ('on_time', 'late')),
        'on_time', count(*) FILTER (WHERE s = 'on_time'),
        'late', count(*) FILTER (WHERE s = 'late'),
        'draft', count(*) FILTER (WHERE s = 'draft'),
        'none', count(*) FILTER (WHERE s = 'none'))
      FROM unnest(p_states) s
$$;
-- PUBLIC kept EXECUTE from 0040 (README, "Migrations"): no USAGE on the schema
GRANT EXECUTE ON FUNCTION disclosure.state_counts(text[]) TO disclosure_editor;

-- the counts of the states of one year over the agencies below each agency
-- of p_ids (not itself), as state_counts
CREATE OR REPLACE FUNCTION disclosure.below_counts(p_year int, p_ids int[])
RETURNS TABLE (agency_id int, counts json) LANGUAGE sql STABLE AS $$
    SELECT t.ancestor_id, disclosure.state_counts(array_agg(coalesce(s.state, 'none')))
      FROM (SELECT DISTINCT id FROM unnest(p_ids) i(id)) i
      JOIN disclosure.agency_tree t ON t.ancestor_id = i.id AND t.depth > 0
      LEFT JOIN disclosure.year_state s ON s.agency_id = t.agency_id AND s.year = p_year
     GROUP BY t.ancestor_id
$$;
-- PUBLIC kept EXECUTE from 0040 (README, "Migrations"): no USAGE on the schema
GRANT EXECUTE ON FUNCTION disclosure.below_counts(integer,integer[]) TO disclosure_editor;

-- a number of a report document (tables or published_totals), NULL if the
-- cell is blank, "/" or not printed
CREATE OR REPLACE FUNCTION disclosure.doc_number(p jsonb, p_key text)
RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(p #> string_to_array(p_key, '.')) = 'number'
                THEN (p #>> string_to_array(p_key, '.'))::numeric END
$$;
-- PUBLIC kept EXECUTE from 0040 (README, "Migrations"): no USAGE on the schema
GRANT EXECUTE ON FUNCTION disclosure.doc_number(jsonb,text) TO disclosure_editor;

CREATE OR REPLACE FUNCTION disclosure.agency_json(a disclosure.agency)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('slug', a.slug, 'name', a.name, 'kind', a.kind,
        'parent', (SELECT json_build_object('slug', p.slug, 'name', p.name)
                     FROM disclosure.agency p WHERE p.id = a.parent_id))
$$;
-- PUBLIC kept EXECUTE from 0040 (README, "Migrations"): no USAGE on the schema
GRANT EXECUTE ON FUNCTION disclosure.agency_json(disclosure.agency) TO disclosure_editor;

-- the agencies above one, the top first
CREATE OR REPLACE FUNCTION disclosure.ancestors(p_agency_id int)
RETURNS json LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up AS (
        SELECT a.parent_id AS id, 1 AS n FROM disclosure.agency a WHERE a.id = p_agency_id
        UNION ALL
        SELECT a.parent_id, u.n + 1 FROM up u JOIN disclosure.agency a ON a.id = u.id
         WHERE u.n < 64
    )
    SELECT coalesce(json_agg(json_build_object('slug', a.slug, 'name', a.name) ORDER BY u.n DESC), '[]')
      FROM up u JOIN disclosure.agency a ON a.id = u.id
$$;
-- PUBLIC kept EXECUTE from 0040 (README, "Migrations"): no USAGE on the schema
GRANT EXECUTE ON FUNCTION disclosure.ancestors(integer) TO disclosure_editor;

-- one line of a completeness table; depth NULL: not said
CREATE OR REPLACE FUNCTION disclosure.state_json(p_slug text, p_name text, p_kind text, p_depth int, p_year int,
                                      p_state text, p_status text, p_published_at timestamptz,
                                      p_scope text, p_below json)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_strip_nulls(json_build_object(
        'slug', p_slug, 'name', p_name, 'kind', p_kind, 'depth', p_depth,
        'state', coalesce(p_state, 'none'), 'withdrawn', coalesce(p_status = 'withdrawn', false),
        'published_at', disclosure.json_time(p_published_at),
        'deadline', to_char((disclosure.deadline(p_kind, p_year) - interval '1 day') AT TIME ZONE 'Asia/Shanghai',
                            'YYYY-MM-DD'),
        'scope', p_scope,
        'below', p_below))
$$;
-- PUBLIC kept EXECUTE from 0040 (README, "Migrations"): no USAGE on the schema
GRANT EXECUTE ON FUNCTION disclosure.state_json(text,text,text,integer,integer,text,text,timestamp with time zone,text,json) TO disclosure_editor;
