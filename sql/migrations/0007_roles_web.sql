-- Roles, and the read-only web API that nginx uses.
--
--   disclosure_editor     enters and checks drafts (grids, new_report, import)
--   disclosure_publisher  an editor who also publishes, corrects, withdraws
--   disclosure_reader     what nginx connects as: the schema disclosure_web only,
--                         published reports only, writes nothing
--
-- Group roles are cluster-wide: a login role is made a member of one of them,
-- e.g. CREATE ROLE portal_nginx LOGIN PASSWORD '…' IN ROLE disclosure_reader;

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['disclosure_editor', 'disclosure_publisher', 'disclosure_reader'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$$;
GRANT disclosure_editor TO disclosure_publisher;

CREATE SCHEMA disclosure_web;
COMMENT ON SCHEMA disclosure_web IS
    'the read-only web API: one function per response, published reports only';

CREATE FUNCTION disclosure_web.data_version()
RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT version FROM disclosure.data_version
$$;

CREATE FUNCTION disclosure_web.report(p_agency text, p_year int)
RETURNS json LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT d.document
      FROM disclosure.agency a
      JOIN disclosure.report r ON r.agency_id = a.id AND r.year = p_year
      CROSS JOIN LATERAL (
           SELECT v.id, v.status FROM disclosure.revision v
            WHERE v.report_id = r.id AND v.status <> 'draft'
            ORDER BY v.revision DESC LIMIT 1) v
      JOIN disclosure.published_document d ON d.revision_id = v.id
     WHERE a.slug = p_agency AND v.status = 'published'
$$;
COMMENT ON FUNCTION disclosure_web.report(text, int) IS
    'the report document of the latest publication, or NULL (never a draft)';

-- the years an agency has published: each report's latest revision, unless withdrawn
CREATE FUNCTION disclosure_web.published_years(p_agency_id int)
RETURNS json LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(json_agg(json_build_object(
               'year', r.year, 'format', v.format, 'revision', v.revision,
               'published_at', disclosure.json_time(v.published_at)) ORDER BY r.year DESC), '[]')
      FROM disclosure.report r
      CROSS JOIN LATERAL (
           SELECT v.format, v.revision, v.published_at, v.status FROM disclosure.revision v
            WHERE v.report_id = r.id AND v.status <> 'draft'
            ORDER BY v.revision DESC LIMIT 1) v
     WHERE r.agency_id = p_agency_id AND v.status = 'published'
$$;

CREATE FUNCTION disclosure_web.index()
RETURNS json LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH RECURSIVE published AS (  -- agencies whose latest revision of some report is published
        SELECT DISTINCT r.agency_id AS id
          FROM disclosure.report r
          CROSS JOIN LATERAL (
               SELECT v.status FROM disclosure.revision v
                WHERE v.report_id = r.id AND v.status <> 'draft'
                ORDER BY v.revision DESC LIMIT 1) v
         WHERE v.status = 'published'
    ),
    shown AS (  -- those and their ancestors, walking up
        SELECT a.id, a.parent_id FROM disclosure.agency a JOIN published p USING (id)
        UNION
        SELECT a.id, a.parent_id FROM disclosure.agency a JOIN shown s ON s.parent_id = a.id
    ),
    tree AS (  -- depth-first order, walking down the shown agencies
        SELECT a.id, ARRAY[a.name || a.slug] AS path, 0 AS depth
          FROM disclosure.agency a JOIN shown s USING (id) WHERE a.parent_id IS NULL
        UNION ALL
        SELECT a.id, t.path || (a.name || a.slug), t.depth + 1
          FROM disclosure.agency a JOIN shown s USING (id) JOIN tree t ON a.parent_id = t.id
    )
    SELECT json_build_object(
        'document', 'disclosure-index/1',
        'data_version', v.version,
        'changed_at', disclosure.json_time(v.changed_at),
        'agencies', coalesce((
            SELECT json_agg(json_build_object(
                       'slug', a.slug, 'name', a.name, 'kind', a.kind,
                       'parent', (SELECT p.slug FROM disclosure.agency p WHERE p.id = a.parent_id),
                       'depth', t.depth,
                       'years', disclosure_web.published_years(a.id)) ORDER BY t.path)
              FROM tree t JOIN disclosure.agency a ON a.id = t.id),
            '[]'))
      FROM disclosure.data_version v
$$;
COMMENT ON FUNCTION disclosure_web.index() IS
    'the agencies with published reports, parents first, each followed by its children';

CREATE FUNCTION disclosure_web.agency(p_agency text)
RETURNS json LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT json_build_object(
        'document', 'disclosure-agency/1',
        'data_version', v.version,
        'changed_at', disclosure.json_time(v.changed_at),
        'agency', json_build_object(
            'slug', a.slug, 'name', a.name, 'kind', a.kind,
            'parent', (SELECT json_build_object('slug', p.slug, 'name', p.name)
                         FROM disclosure.agency p WHERE p.id = a.parent_id)),
        'children', coalesce((
            SELECT json_agg(json_build_object('slug', c.slug, 'name', c.name) ORDER BY c.name, c.slug)
              FROM disclosure.agency c WHERE c.parent_id = a.id), '[]'),
        'years', disclosure_web.published_years(a.id))
      FROM disclosure.agency a, disclosure.data_version v
     WHERE a.slug = p_agency
$$;
COMMENT ON FUNCTION disclosure_web.agency(text) IS
    'one agency, its children and its published years, or NULL';

-- privileges: nothing for PUBLIC; each role what its work needs
REVOKE ALL ON SCHEMA disclosure, disclosure_web FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA disclosure FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA disclosure, disclosure_web FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA disclosure, disclosure_web REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
DO $$
BEGIN
    -- temporary tables are writing too: the reader gets none
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT TEMPORARY, CONNECT ON DATABASE %I TO disclosure_editor', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO disclosure_reader', current_database());
END
$$;

GRANT USAGE ON SCHEMA disclosure TO disclosure_editor;
GRANT SELECT ON ALL TABLES IN SCHEMA disclosure TO disclosure_editor;
GRANT UPDATE (given, value) ON disclosure.cell TO disclosure_editor;
GRANT INSERT, UPDATE (body) ON disclosure.section_text TO disclosure_editor;
GRANT UPDATE ON disclosure.proactive_grid, disclosure.proactive_2019_grid,
                disclosure.applications_grid, disclosure.appeals_grid,
                disclosure.sections_grid, disclosure.reports TO disclosure_editor;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA disclosure TO disclosure_editor;
REVOKE EXECUTE ON FUNCTION disclosure.publish(text, int, timestamptz), disclosure.revise(text, int, text),
                           disclosure.withdraw(text, int, text) FROM disclosure_editor;
GRANT EXECUTE ON FUNCTION disclosure.publish(text, int, timestamptz), disclosure.revise(text, int, text),
                          disclosure.withdraw(text, int, text) TO disclosure_publisher;
GRANT INSERT, UPDATE (name, parent_id, kind, note) ON disclosure.agency TO disclosure_publisher;

GRANT USAGE ON SCHEMA disclosure_web TO disclosure_reader, disclosure_editor;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA disclosure_web TO disclosure_reader, disclosure_editor;
