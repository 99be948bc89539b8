-- Index and agency pages show the agencies as they are now (names, parents,
-- kinds), so a change to disclosure.agency is announced as a publication is:
-- the data version moves and a notification tells every cache, which drops
-- its index and agency pages within a second instead of when they expire.
-- Published reports keep the names they were published with: they are not
-- touched.  One announcement per statement, whatever the number of rows;
-- a statement that changes no row announces nothing.

CREATE FUNCTION disclosure.announce_agencies()
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

    UPDATE disclosure.data_version SET version = version + 1, changed_at = clock_timestamp()
    RETURNING version INTO ver;

    -- year 0 names no report: a cache drops the index and agency pages only
    PERFORM pg_notify('disclosure', json_build_object(
        'agency', slug, 'year', 0, 'revision', 0, 'data_version', ver)::text);

    RETURN NULL;
END
$$;
COMMENT ON FUNCTION disclosure.announce_agencies() IS
    'after a statement on disclosure.agency: bumps the data version and notifies the caches';
REVOKE EXECUTE ON FUNCTION disclosure.announce_agencies() FROM PUBLIC;

CREATE TRIGGER agencies_inserted AFTER INSERT ON disclosure.agency
    REFERENCING NEW TABLE AS new_agencies
    FOR EACH STATEMENT EXECUTE FUNCTION disclosure.announce_agencies();
CREATE TRIGGER agencies_updated AFTER UPDATE ON disclosure.agency
    REFERENCING NEW TABLE AS new_agencies
    FOR EACH STATEMENT EXECUTE FUNCTION disclosure.announce_agencies();
CREATE TRIGGER agencies_deleted AFTER DELETE ON disclosure.agency
    REFERENCING OLD TABLE AS old_agencies
    FOR EACH STATEMENT EXECUTE FUNCTION disclosure.announce_agencies();
