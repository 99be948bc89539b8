-- The editors' draft preview: the schema disclosure_preview, all that a
-- preview location's role (disclosure_previewer) may call (README, "The
-- editors' draft preview"; the role and the schema are 0030_preview.sql).
--
-- A repeatable file (README, "Migrations").

CREATE OR REPLACE FUNCTION disclosure_preview.check_caller()
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT pg_has_role(session_user, 'disclosure_previewer', 'MEMBER') THEN
        RAISE EXCEPTION '角色 “%” 不能预览草稿', session_user
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'GRANT disclosure_previewer TO 预览角色; (never to the public reader)';
    END IF;
    IF pg_has_role(session_user, 'disclosure_reader', 'MEMBER') THEN
        RAISE EXCEPTION '角色 “%” 是公开站点的只读角色 (disclosure_reader)，不能预览草稿', session_user
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'disclosure_preview_database needs a role of its own, in disclosure_previewer only';
    END IF;
END
$$;
COMMENT ON FUNCTION disclosure_preview.check_caller() IS
    'raises insufficient_privilege unless the session''s login role previews and is not the public reader';
REVOKE EXECUTE ON FUNCTION disclosure_preview.check_caller() FROM PUBLIC;

-- the draft's document (disclosure.export_report(…, true)) with a member
-- "preview" appended: {"findings": [check_report's rows]}; NULL when the
-- report has no draft.  VOLATILE: check_revision() fills a temporary table,
-- so nginx's preview sessions are not read-only (the role writes nothing:
-- no table privilege, no TEMPORARY on the database)
CREATE OR REPLACE FUNCTION disclosure_preview.report(p_agency text, p_year int)
RETURNS json LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    rev      int;
    doc      text;
    findings json;
BEGIN
    PERFORM disclosure_preview.check_caller();

    SELECT v.id INTO rev
      FROM disclosure.agency a
      JOIN disclosure.report r ON r.agency_id = a.id AND r.year = p_year
      JOIN disclosure.revision v ON v.report_id = r.id AND v.status = 'draft'
     WHERE a.slug = p_agency;

    IF rev IS NULL THEN
        RETURN NULL;
    END IF;

    SELECT coalesce(json_agg(json_build_object(
               'rule', f.rule, 'severity', f.severity, 'table', f.tbl,
               'row', f.row_key, 'col', f.col_key, 'message', f.message)
             ORDER BY CASE f.severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,
                      f.rule, f.tbl, f.row_key, f.col_key), '[]')
      INTO findings
      FROM disclosure.check_revision(rev) f;

    -- appended as text: the document keeps its members' order
    doc := disclosure.report_document(rev)::text;
    RETURN (left(rtrim(doc), -1) || ',"preview":'
            || json_build_object('findings', findings)::text || '}')::json;
END
$$;
COMMENT ON FUNCTION disclosure_preview.report(text,integer) IS
    'the draft''s report document with the findings of check_report in "preview", or NULL';
REVOKE EXECUTE ON FUNCTION disclosure_preview.report(text,integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure_preview.report(text,integer) TO disclosure_previewer;

-- the draft years of an agency, as disclosure_web.published_years() lists
-- published ones; called by index() and agency(), as their owner
CREATE OR REPLACE FUNCTION disclosure_preview.draft_years(p_agency_id int)
RETURNS json LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(json_agg(json_build_object(
               'year', r.year, 'format', v.format, 'revision', v.revision,
               'published_at', NULL) ORDER BY r.year DESC), '[]')
      FROM disclosure.report r
      JOIN disclosure.revision v ON v.report_id = r.id AND v.status = 'draft'
     WHERE r.agency_id = p_agency_id
$$;
REVOKE EXECUTE ON FUNCTION disclosure_preview.draft_years(integer) FROM PUBLIC;

-- disclosure-index/1 of the agencies with a draft, and their ancestors
CREATE OR REPLACE FUNCTION disclosure_preview.index()
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off AS $$
BEGIN
    PERFORM disclosure_preview.check_caller();

    RETURN (
        WITH RECURSIVE drafted AS (
            SELECT DISTINCT r.agency_id AS id
              FROM disclosure.report r
              JOIN disclosure.revision v ON v.report_id = r.id AND v.status = 'draft'
        ),
        shown AS (
            SELECT a.id, a.parent_id FROM disclosure.agency a JOIN drafted d USING (id)
            UNION
            SELECT a.id, a.parent_id FROM disclosure.agency a JOIN shown s ON s.parent_id = a.id
        ),
        tree AS (
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
                           'years', disclosure_preview.draft_years(a.id)) ORDER BY t.path)
                  FROM tree t JOIN disclosure.agency a ON a.id = t.id),
                '[]'),
            'preview', json_build_object('findings', '[]'::json))
          FROM disclosure.data_version v
    );
END
$$;
COMMENT ON FUNCTION disclosure_preview.index() IS
    'the agencies with drafts (disclosure-index/1), parents first';
REVOKE EXECUTE ON FUNCTION disclosure_preview.index() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure_preview.index() TO disclosure_previewer;

-- disclosure-agency/1 of one agency, with its draft years: the public
-- document with "years" replaced (members reordered by jsonb, which the
-- module does not mind)
CREATE OR REPLACE FUNCTION disclosure_preview.agency(p_agency text)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM disclosure_preview.check_caller();

    RETURN (
        SELECT (d::jsonb || jsonb_build_object(
                    'years', disclosure_preview.draft_years(a.id),
                    'preview', jsonb_build_object('findings', '[]'::jsonb)))::json
          FROM disclosure.agency a, disclosure_web.agency(p_agency) d
         WHERE a.slug = p_agency
    );
END
$$;
COMMENT ON FUNCTION disclosure_preview.agency(text) IS
    'one agency, its children and its draft years (disclosure-agency/1), or NULL';
REVOKE EXECUTE ON FUNCTION disclosure_preview.agency(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure_preview.agency(text) TO disclosure_previewer;
