-- The change log: every publication, revision, withdrawal and agency change
-- steps disclosure.data_version and records what changed, so that nginx's
-- cache drops only those pages (README, "The cache"; the table is
-- 0011_change_log.sql, the agency triggers 0010).
--
-- A repeatable file (README, "Migrations").

-- one step of the data version, recorded; older steps than the last 1000 go
CREATE OR REPLACE FUNCTION disclosure.step_data_version(p_agency text, p_year int)
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ver bigint;
BEGIN
    UPDATE disclosure.data_version SET version = version + 1, changed_at = clock_timestamp()
    RETURNING version INTO ver;
    INSERT INTO disclosure.change (data_version, agency, year) VALUES (ver, p_agency, p_year)
        ON CONFLICT (data_version) DO UPDATE SET agency = EXCLUDED.agency, year = EXCLUDED.year,
                                                changed_at = EXCLUDED.changed_at;
    DELETE FROM disclosure.change WHERE data_version <= ver - 1000;
    RETURN ver;
END
$$;
COMMENT ON FUNCTION disclosure.step_data_version(text,integer) IS
    'bumps the data version and records what it was for (disclosure.change)';
REVOKE EXECUTE ON FUNCTION disclosure.step_data_version(text,integer) FROM PUBLIC;

-- a report changed: one step of the data version, recorded in
-- disclosure.change, and a notification naming it for nginx's cache
CREATE OR REPLACE FUNCTION disclosure.announce(p_report_id int, p_revision int)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    ver   bigint;
    slug  text;
    yr    int;
BEGIN
    SELECT a.slug, r.year INTO slug, yr
      FROM disclosure.report r JOIN disclosure.agency a ON a.id = r.agency_id
     WHERE r.id = p_report_id;
    ver := disclosure.step_data_version(slug, yr);
    PERFORM pg_notify('disclosure', json_build_object(
        'agency', slug, 'year', yr, 'revision', p_revision, 'data_version', ver)::text);
END
$$;
REVOKE EXECUTE ON FUNCTION disclosure.announce(integer,integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.announce(integer,integer) TO disclosure_editor;

-- agencies inserted, updated or deleted (statement triggers of 0010): the
-- same for the agency's pages
CREATE OR REPLACE FUNCTION disclosure.announce_agencies()
RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ver   bigint;
    slug  text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT o.slug INTO slug FROM old_agencies o LIMIT 1;
    ELSE
        SELECT n.slug INTO slug FROM new_agencies n LIMIT 1;
    END IF;

    IF slug IS NULL THEN
        RETURN NULL;
    END IF;

    ver := disclosure.step_data_version(slug, 0);

    -- year 0 names no report: a cache drops the index and agency pages only
    PERFORM pg_notify('disclosure', json_build_object(
        'agency', slug, 'year', 0, 'revision', 0, 'data_version', ver)::text);

    RETURN NULL;
END
$$;
COMMENT ON FUNCTION disclosure.announce_agencies() IS
    'after a statement on disclosure.agency: bumps the data version and notifies the caches';
REVOKE EXECUTE ON FUNCTION disclosure.announce_agencies() FROM PUBLIC;
