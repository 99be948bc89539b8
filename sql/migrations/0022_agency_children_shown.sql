-- An agency page lists only the children the index shows (issue 11, item 3):
-- those with a published report, or with a descendant that has one.  An
-- agency made for a draft (import_report of a new agency) appears nowhere
-- until something of it or below it is published.

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
                WITH RECURSIVE below AS (  -- each child, and everything below it
                    SELECT c.id AS child, c.id FROM disclosure.agency c WHERE c.parent_id = a.id
                    UNION
                    SELECT b.child, d.id FROM disclosure.agency d JOIN below b ON d.parent_id = b.id
                )
                SELECT json_agg(json_build_object('slug', c.slug, 'name', c.name) ORDER BY c.name, c.slug)
                  FROM disclosure.agency c
                 WHERE c.parent_id = a.id
                   AND EXISTS (
                       SELECT 1 FROM below b
                         JOIN disclosure.report r ON r.agency_id = b.id
                         CROSS JOIN LATERAL (
                              SELECT rv.status FROM disclosure.revision rv
                               WHERE rv.report_id = r.id AND rv.status <> 'draft'
                               ORDER BY rv.revision DESC LIMIT 1) rv
                        WHERE b.child = c.id AND rv.status = 'published')), '[]'),
            'years', disclosure_web.published_years(a.id))
          FROM disclosure.agency a, disclosure.data_version v
         WHERE a.slug = p_agency
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.agency(text) IS
    'one agency, its children that the index shows, and its published years, or NULL';
