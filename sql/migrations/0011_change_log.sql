-- A notification on channel disclosure is only a hint: NOTIFY needs no
-- privilege, so any role that can connect may send one, with any payload.
-- What changed is read here instead, through the read-only web API: every
-- step of the data version, keyed by it, names the report (agency and year)
-- or, with year 0, a change to the agencies (the index and agency pages).
-- The payloads stay as they were, for tools that listen.
--
-- And CONNECT is no longer granted to PUBLIC: only the project's roles (and
-- the login roles made members of them) connect to this database.

CREATE TABLE disclosure.change (
    data_version  bigint PRIMARY KEY,
    agency        text NOT NULL,
    year          int NOT NULL,            -- 0: the agencies changed
    changed_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE disclosure.change IS
    'what each step of the data version changed: a report, or (year 0) the agencies; the last 1000 steps';
REVOKE ALL ON disclosure.change FROM PUBLIC;
GRANT SELECT ON disclosure.change TO disclosure_editor;

-- one step of the data version, recorded; older steps than the last 1000 go
CREATE FUNCTION disclosure.step_data_version(p_agency text, p_year int)
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
COMMENT ON FUNCTION disclosure.step_data_version(text, int) IS
    'bumps the data version and records what it was for (disclosure.change)';
REVOKE EXECUTE ON FUNCTION disclosure.step_data_version(text, int) FROM PUBLIC;  -- owner only

-- redefined: as in 0005, the step recorded
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

-- redefined: as in 0010, the step recorded
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

-- What changed after data version p_after, one row per step up to the
-- current version, oldest first: the agency and year of a report; for a
-- change to the agencies year 0 (and the slug the notification carried);
-- agency NULL when the step is not known (older than the log, or
-- made without announce()): everything may have changed, and so it is when
-- more than 100 steps were missed (one row, the current version).  No rows
-- when nothing is newer: a version the database has not reached is not
-- taken on trust.
CREATE FUNCTION disclosure_web.changes(p_after bigint)
RETURNS TABLE (data_version bigint, agency text, year int)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cur bigint;
BEGIN
    SELECT v.version INTO cur FROM disclosure.data_version v;
    IF p_after IS NULL OR p_after >= cur THEN
        RETURN;
    END IF;
    IF p_after < cur - 100 THEN
        RETURN QUERY SELECT cur, NULL::text, NULL::int;
        RETURN;
    END IF;
    RETURN QUERY
        SELECT g.v, c.agency, c.year
          FROM generate_series(p_after + 1, cur) AS g(v)
          LEFT JOIN disclosure.change c ON c.data_version = g.v
         ORDER BY g.v;
END
$$;
COMMENT ON FUNCTION disclosure_web.changes(bigint) IS
    'what each data version after the given one changed (agency, year; year 0: the agencies; NULL: unknown)';
REVOKE EXECUTE ON FUNCTION disclosure_web.changes(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure_web.changes(bigint) TO disclosure_reader, disclosure_editor;

DO $$
BEGIN
    EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO disclosure_reader, disclosure_editor, disclosure_publisher',
                   current_database());
END
$$;
