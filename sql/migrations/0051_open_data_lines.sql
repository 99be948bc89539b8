-- Open data in bulk (issue 14): every current publication's lines, made once
-- when it is published (or its agency renamed or moved) instead of from the
-- document as each download sends them.  A download then reads text in file
-- order (data_line_order), inside its REPEATABLE READ snapshot as before.
--
-- The functions that make the lines, keep the table and stream it are in
-- sql/functions/85_open_data.sql; the triggers' functions are defined empty
-- here (a migration calls only what existed when it was written) and given
-- their bodies there.  That file fills the table when the functions that
-- make the lines changed (data_line_maker), which includes its first pass
-- after this migration: the backfill.

CREATE TABLE disclosure.data_line (
    report_id    int PRIMARY KEY REFERENCES disclosure.report ON DELETE CASCADE,
    revision_id  int NOT NULL UNIQUE REFERENCES disclosure.revision ON DELETE CASCADE,
    year         int NOT NULL,
    format       smallint NOT NULL,
    slug         text NOT NULL,          -- the agency's, today: the files' order
    wide         text NOT NULL,          -- /data/{year}.csv
    wide_bytes   int NOT NULL,
    json         text NOT NULL,          -- /data/{year}.jsonl
    json_bytes   int NOT NULL,
    long         text NOT NULL,          -- /data/all.csv: the report's lines
    long_bytes   int NOT NULL
);
CREATE UNIQUE INDEX data_line_order ON disclosure.data_line (year, slug);
COMMENT ON TABLE disclosure.data_line IS
    'the /data/ files'' lines of every current publication, with their sizes in bytes; kept by triggers';

-- which definition of the line functions made data_line
CREATE TABLE disclosure.data_line_maker (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    fingerprint  text NOT NULL
);
COMMENT ON TABLE disclosure.data_line_maker IS
    'a digest of the functions that made disclosure.data_line: another one remakes every line';

CREATE FUNCTION disclosure.data_line_documents() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE FUNCTION disclosure.data_line_revisions() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE FUNCTION disclosure.data_line_agencies() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
REVOKE EXECUTE ON FUNCTION disclosure.data_line_documents(), disclosure.data_line_revisions(),
    disclosure.data_line_agencies() FROM PUBLIC;

-- publish: the document is inserted after the revision is updated
CREATE TRIGGER data_line_documents_inserted AFTER INSERT ON disclosure.published_document
    REFERENCING NEW TABLE AS new_documents
    FOR EACH STATEMENT EXECUTE FUNCTION disclosure.data_line_documents();
CREATE TRIGGER data_line_documents_updated AFTER UPDATE ON disclosure.published_document
    REFERENCING NEW TABLE AS new_documents
    FOR EACH STATEMENT EXECUTE FUNCTION disclosure.data_line_documents();
-- withdraw, and a correction's draft that supersedes (published in turn)
CREATE TRIGGER data_line_revisions_updated AFTER UPDATE ON disclosure.revision
    REFERENCING NEW TABLE AS new_revisions
    FOR EACH STATEMENT EXECUTE FUNCTION disclosure.data_line_revisions();
-- slug, name, kind, parent: the lines name them (a child's, its parent's slug)
CREATE TRIGGER data_line_agencies_updated AFTER UPDATE ON disclosure.agency
    REFERENCING OLD TABLE AS old_agencies NEW TABLE AS new_agencies
    FOR EACH STATEMENT EXECUTE FUNCTION disclosure.data_line_agencies();

-- a line is now made from the document and the agency: data_document() of
-- 85_open_data.sql before 0051 goes (IF EXISTS: a fresh install has not made
-- it yet)
DROP FUNCTION IF EXISTS disclosure.data_document(int);

GRANT SELECT ON disclosure.data_line TO disclosure_editor;
