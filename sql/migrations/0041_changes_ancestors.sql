-- The change log names the ancestors of a changed report's agency, so that a
-- cache marks stale the roll-ups of that agency and of those above it only
-- (ngx_http_disclosure_stale.c), not every roll-up of the year.  The
-- ancestors are read from the tree as it is now: a move is itself a change
-- to the agencies (year 0), which makes every roll-up stale.

DROP FUNCTION disclosure_web.changes(bigint);

-- as in 0011, plus the ancestors' slugs, the top first, comma-separated
-- ('' for a top agency; NULL where agency is NULL or year is 0)
CREATE FUNCTION disclosure_web.changes(p_after bigint)
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
    'what each data version after the given one changed (agency, year, the agency''s ancestors; '
    'year 0: the agencies; NULL: unknown)';
REVOKE EXECUTE ON FUNCTION disclosure_web.changes(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure_web.changes(bigint) TO disclosure_reader, disclosure_editor;
