-- Open data in bulk (issue 14): a version and a time of last change per
-- /data/ file, for its ETag and Last-Modified and the catalog, instead of the
-- one data version of the whole portal.  A publication in 2024 left every
-- other year's file as it was but gave it a new ETag (a client's conditional
-- GET of 2023.csv got 200 and the whole file again), and the catalog's last
-- change of a file ignored an agency's new name or slug and a remade line.
--
-- A file's row moves exactly when its bytes change: the triggers below, on
-- disclosure.data_line itself, compare the lines a statement inserted,
-- changed or deleted (whoever ran it: publication, correction, withdrawal,
-- an agency's change, a remake of every line, a cascade) and step the files
-- they belong to, and the catalog (index.json) with them.  Their functions
-- are defined empty here and given their bodies in
-- sql/functions/85_open_data.sql, as 0051's are.

-- every version comes from this sequence: unique over every file, and past
-- every data version the files' ETags were made of before ("d{version}-")
CREATE SEQUENCE disclosure.data_file_version_seq AS bigint;
SELECT setval('disclosure.data_file_version_seq', greatest(v.version, 1)) FROM disclosure.data_version v;

CREATE TABLE disclosure.data_file_version (
    file        text PRIMARY KEY,       -- '2024.csv', '2021-2019.csv', '2024.jsonl', 'all.csv', 'index.json'
    version     bigint NOT NULL,
    changed_at  timestamptz NOT NULL
);
COMMENT ON TABLE disclosure.data_file_version IS
    'each /data/ file''s version and last change (its ETag and Last-Modified), and the catalog''s (index.json); kept by triggers on data_line; a file that is gone keeps its row';

-- the files there are now: their last change unknown, the data version's
-- time is no earlier than it
INSERT INTO disclosure.data_file_version
SELECT f.file, nextval('disclosure.data_file_version_seq'), v.changed_at
  FROM (SELECT DISTINCT l.year || CASE WHEN l.format = (
                            SELECT f.format FROM disclosure.format f
                             WHERE l.year >= f.first_year AND (f.last_year IS NULL OR l.year <= f.last_year)
                             ORDER BY f.format DESC LIMIT 1)
                        THEN '' ELSE '-' || l.format END || '.csv' AS file
          FROM disclosure.data_line l
        UNION
        SELECT DISTINCT l.year || '.jsonl' FROM disclosure.data_line l
        UNION
        SELECT 'all.csv' FROM disclosure.data_line l
        UNION
        SELECT 'index.json') f, disclosure.data_version v
 ORDER BY f.file;

CREATE FUNCTION disclosure.data_line_written() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE FUNCTION disclosure.data_line_updated() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE FUNCTION disclosure.data_line_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE FUNCTION disclosure.data_catalog_meta_updated() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
REVOKE EXECUTE ON FUNCTION disclosure.data_line_written(), disclosure.data_line_updated(),
    disclosure.data_line_truncated(), disclosure.data_catalog_meta_updated() FROM PUBLIC;

-- inserted and deleted lines: one function, the transition table "lines"
CREATE TRIGGER data_line_inserted AFTER INSERT ON disclosure.data_line
    REFERENCING NEW TABLE AS lines
    FOR EACH STATEMENT EXECUTE FUNCTION disclosure.data_line_written();
CREATE TRIGGER data_line_deleted AFTER DELETE ON disclosure.data_line
    REFERENCING OLD TABLE AS lines
    FOR EACH STATEMENT EXECUTE FUNCTION disclosure.data_line_written();
CREATE TRIGGER data_line_updated AFTER UPDATE ON disclosure.data_line
    REFERENCING OLD TABLE AS old_lines NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION disclosure.data_line_updated();
CREATE TRIGGER data_line_truncated AFTER TRUNCATE ON disclosure.data_line
    FOR EACH STATEMENT EXECUTE FUNCTION disclosure.data_line_truncated();
-- the catalog names the title, publisher, licence and source
CREATE TRIGGER data_catalog_meta_updated AFTER UPDATE ON disclosure.data_catalog_meta
    REFERENCING OLD TABLE AS old_meta NEW TABLE AS new_meta
    FOR EACH STATEMENT EXECUTE FUNCTION disclosure.data_catalog_meta_updated();

GRANT SELECT ON disclosure.data_file_version TO disclosure_editor;
