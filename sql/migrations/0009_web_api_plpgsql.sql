-- The web API in PL/pgSQL, for speed; what each function returns is unchanged.
--
-- A LANGUAGE sql function that cannot be inlined (these are SECURITY DEFINER
-- with SET search_path, so none can) has its body parsed and planned again on
-- every call: PostgreSQL 15 keeps no plan for it.  That was most of the cost
-- of a report page with the response cache off (pgbench, 2 clients, on the
-- sample data: disclosure_web.report() 10,300 calls/s as SQL, 53,500 as
-- PL/pgSQL).  PL/pgSQL keeps each statement's plan for the session, and
-- nginx's connections are long-lived.  CREATE OR REPLACE keeps the owner,
-- the privileges and the comments.
--
-- index() and agency() also turn JIT off: a generic plan of their recursive
-- or nested queries can be costed over jit_above_cost (always, on tables not
-- yet analyzed), and compiling it took 300 ms of a call that runs in 0.4 ms.

CREATE OR REPLACE FUNCTION disclosure_web.data_version()
RETURNS bigint LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        SELECT version FROM disclosure.data_version
    );
END
$$;

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

CREATE OR REPLACE FUNCTION disclosure_web.index()
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off AS $$
BEGIN
    RETURN (
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
    );
END
$$;

CREATE OR REPLACE FUNCTION disclosure_web.agency(p_agency text)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off AS $$
BEGIN
    RETURN (
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
    );
END
$$;
