-- Open data in bulk (issue 14): every published report of a year as one file,
-- streamed by nginx from one snapshot, a catalog and the data dictionary.
--
-- The lines of every current publication are made once, from its stored report
-- document (published_document, the very document the per-report JSON and CSV
-- are rendered from) and its agency, into disclosure.data_line (migration 0051),
-- kept by triggers on publication, withdrawal and an agency's change.
-- nginx reads a file in one REPEATABLE READ transaction: disclosure_web.data_file()
-- says whether the file exists and gives the data version, the row count and the
-- CSV header; then one SELECT of data_wide_lines(), data_json_lines() or
-- data_all_lines() sends the stored lines in file order, row by row, so that a
-- slow client stops the backend instead of filling memory.  nginx's role reads no
-- table or view: only these functions.
--
-- A repeatable file (README, "Migrations"); the tables are migrations 0050 and
-- 0051.  Its last statement remakes every line when the functions that make
-- them changed.

-- A CSV field as _csv.c writes one: a leading = + - @ tab or CR gets an
-- apostrophe (no formula), a comma, quote or line break quotes the field.
CREATE OR REPLACE FUNCTION disclosure.csv_text(p text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p IS NULL THEN ''
                WHEN p ~ '[,"\r\n]'
                THEN '"' || CASE WHEN p ~ '^[=+@\t\r-]' THEN '''' ELSE '' END
                         || replace(p, '"', '""') || '"'
                ELSE CASE WHEN p ~ '^[=+@\t\r-]' THEN '''' ELSE '' END || p END
$$;

-- a cell of a document as the per-report CSV gives it: the number as written,
-- blank, "/"; absent: not_printed
CREATE OR REPLACE FUNCTION disclosure.csv_cell(v jsonb)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE jsonb_typeof(v) WHEN 'number' THEN v::text
                                WHEN 'string' THEN disclosure.csv_text(v #>> '{}')
                                WHEN 'null' THEN ''
                                ELSE 'not_printed' END
$$;

-- every report the public sees, with the year and format of its publication
CREATE OR REPLACE VIEW disclosure.data_report AS
SELECT s.year, s.format, a.slug, s.revision_id
  FROM disclosure.year_state s
  JOIN disclosure.agency a ON a.id = s.agency_id
 WHERE s.status = 'published' AND s.revision_id IS NOT NULL;
COMMENT ON VIEW disclosure.data_report IS
    'the current publication of every report: what /data/ files list, one row each';

-- the format of a year's own reports (2019 for 2019 and 2020, else 2021)
CREATE OR REPLACE FUNCTION disclosure.year_format(p_year int)
RETURNS smallint LANGUAGE sql STABLE AS $$
    SELECT f.format FROM disclosure.format f
     WHERE p_year >= f.first_year AND (f.last_year IS NULL OR p_year <= f.last_year)
     ORDER BY f.format DESC LIMIT 1
$$;

-- The cells a file gives for a format, in order: every cell of the format,
-- and where the format splits （六）其他处理 into three sub-rows (2021), the
-- row as legacy reports printed it in one, under the 2019 key
-- applications.other.{col}: the lines the per-report CSV (_csv.c) adds after
-- the applications table for such a report, from
-- published_totals.applications.other.  merged marks those.
CREATE OR REPLACE VIEW disclosure.data_column AS
SELECT f.format, f.tbl, f.row_key, f.col_key, f.ord::numeric AS ord, false AS merged
  FROM disclosure.format_cell f
UNION ALL
SELECT f.format, f.tbl, 'other', f.col_key, m.last + f.col_ord / 1000.0, true
  FROM disclosure.format_cell f
  JOIN (SELECT c.format, max(c.ord) AS last FROM disclosure.format_cell c
         WHERE c.tbl = 'applications' GROUP BY c.format) m ON m.format = f.format
 WHERE f.tbl = 'applications' AND f.row_key = 'other_misc'
   AND NOT EXISTS (SELECT 1 FROM disclosure.format_cell o
                    WHERE o.format = f.format AND o.tbl = 'applications' AND o.row_key = 'other');
COMMENT ON VIEW disclosure.data_column IS
    'the cells of the /data/ files per format, in order: the format''s, and applications.other.{col} where legacy reports print （六） as one row';

-- the merged （六） row of a legacy document, as _csv.c takes it
CREATE OR REPLACE FUNCTION disclosure.data_merged(doc jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN doc -> 'legacy' = 'true'
                 AND jsonb_typeof(doc #> '{published_totals,applications,other}') = 'object'
                THEN doc #> '{published_totals,applications,other}' END
$$;

CREATE OR REPLACE FUNCTION disclosure.data_wide_header(p_format smallint)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT E'\uFEFF' || 'slug,name,parent,kind,scope,year,format,revision,published_at,'
           'source_url,index_no,legacy,'
           || string_agg(f.tbl || '.' || f.row_key || '.' || f.col_key, ',' ORDER BY f.ord) || E'\r\n'
      FROM disclosure.data_column f WHERE f.format = p_format
$$;

-- all.csv's header, as data_file() sends it and the catalog sizes it
CREATE OR REPLACE FUNCTION disclosure.data_long_header()
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT E'\uFEFF' || E'agency,year,table,row,col,value\r\n'
$$;

-- The lines of one publication: wide (/data/{year}.csv; the agency as it is
-- today, the rest from the document; a merged cell the report did not print:
-- not_printed), the document (/data/{year}.jsonl, as /{slug}/{year}.json
-- gives it) and long (/data/all.csv: exactly the per-report CSV's lines,
-- prefixed with agency and year, without its derived column).
CREATE OR REPLACE FUNCTION disclosure.data_lines_of(p_doc json, p_slug text, p_name text,
    p_parent text, p_kind text, OUT wide text, OUT json text, OUT long text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    doc jsonb := p_doc::jsonb;
    merged_row jsonb := disclosure.data_merged(doc);
    pre text := disclosure.csv_text(p_slug) || ',' || (doc ->> 'year') || ',';
BEGIN
    SELECT string_agg(disclosure.csv_cell(x.v), ',' ORDER BY x.ord),
           string_agg(pre || x.tbl || ',' || x.row_key || ',' || x.col_key || ','
                      || disclosure.csv_cell(x.v) || E'\r\n', '' ORDER BY x.ord)
               FILTER (WHERE NOT x.merged OR merged_row IS NOT NULL)
      INTO wide, long
      FROM (SELECT f.*, CASE WHEN f.merged THEN merged_row -> f.col_key
                             ELSE doc -> 'tables' -> f.tbl -> f.row_key -> f.col_key END AS v
              FROM disclosure.data_column f
             WHERE f.format = (doc ->> 'format')::smallint) x;
    wide := concat_ws(',',
                disclosure.csv_text(p_slug), disclosure.csv_text(p_name),
                disclosure.csv_text(p_parent), disclosure.csv_text(p_kind),
                disclosure.csv_text(doc ->> 'scope'),
                doc ->> 'year', doc ->> 'format', doc ->> 'revision',
                disclosure.csv_text(doc ->> 'published_at'),
                disclosure.csv_text(doc ->> 'source_url'),
                disclosure.csv_text(doc ->> 'index_no'),
                doc ->> 'legacy', wide) || E'\r\n';
    json := p_doc::text || E'\n';
END
$$;

-- The lines of the current publications of some reports, made now: of the
-- latest revision published or withdrawn that has its document.  publish()
-- marks the revision published and then inserts its document: in between
-- the report keeps the line it had, so that a correction is one change of
-- its line, not a line deleted and another inserted.
CREATE OR REPLACE FUNCTION disclosure.data_lines_made(p_reports int[])
RETURNS SETOF disclosure.data_line LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT c.report_id, c.revision_id, c.year, c.format, a.slug,
           x.wide, octet_length(x.wide), x.json, octet_length(x.json), x.long, octet_length(x.long)
      FROM (SELECT DISTINCT ON (v.report_id) v.report_id, v.id AS revision_id, v.status,
                   r.year, v.format, r.agency_id, d.document
              FROM (SELECT DISTINCT i.id FROM unnest(p_reports) i(id)) i
              JOIN disclosure.report r ON r.id = i.id
              JOIN disclosure.revision v ON v.report_id = r.id AND v.status <> 'draft'
              JOIN disclosure.published_document d ON d.revision_id = v.id
             ORDER BY v.report_id, v.revision DESC) c
      JOIN disclosure.agency a ON a.id = c.agency_id
      LEFT JOIN disclosure.agency p ON p.id = a.parent_id
     CROSS JOIN LATERAL disclosure.data_lines_of(c.document, a.slug, a.name, p.slug, a.kind) x
     WHERE c.status = 'published'
$$;

-- called by the triggers below, as their owner: the lines of some reports
-- made again, and only those that differ written (the triggers on data_line
-- step the files a written line belongs to: an unchanged one steps none).
-- One statement: a line changed in place, one gone deleted, a new one
-- inserted; each report in one of the three.
CREATE OR REPLACE FUNCTION disclosure.data_line_refresh(p_reports int[])
RETURNS void LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    WITH made AS MATERIALIZED (
        SELECT * FROM disclosure.data_lines_made(p_reports)
    ), changed AS (
        UPDATE disclosure.data_line l
           SET revision_id = m.revision_id, year = m.year, format = m.format, slug = m.slug,
               wide = m.wide, wide_bytes = m.wide_bytes, json = m.json, json_bytes = m.json_bytes,
               long = m.long, long_bytes = m.long_bytes
          FROM made m
         WHERE l.report_id = m.report_id AND ROW(l.*) IS DISTINCT FROM ROW(m.*)
        RETURNING l.report_id
    ), gone AS (
        DELETE FROM disclosure.data_line l
         WHERE l.report_id = ANY (p_reports)
           AND NOT EXISTS (SELECT 1 FROM made m WHERE m.report_id = l.report_id)
        RETURNING l.report_id
    )
    INSERT INTO disclosure.data_line
    SELECT m.* FROM made m
     WHERE NOT EXISTS (SELECT 1 FROM disclosure.data_line l WHERE l.report_id = m.report_id)
$$;

-- the name of a file under /data/: 'csv' (p_format NULL: the year's own),
-- 'jsonl', 'all' or 'catalog'
CREATE OR REPLACE FUNCTION disclosure.data_file_name(p_kind text, p_year int, p_format int)
RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE p_kind
               WHEN 'all' THEN 'all.csv'
               WHEN 'catalog' THEN 'index.json'
               WHEN 'jsonl' THEN p_year || '.jsonl'
               WHEN 'csv' THEN p_year || CASE WHEN p_format IS NULL OR p_format = disclosure.year_format(p_year)
                                              THEN '' ELSE '-' || p_format END || '.csv'
           END
$$;

-- Some files changed: each gets a new version (the sequence's next: never
-- one a file had before) and the time, its row count and size move by the
-- rows and bytes its lines gained or lost (p_files: a file may come more than
-- once), and the catalog, which lists them, moves too.  data_version's row is
-- locked first, as announce() locks it: every writer of these rows takes that
-- one lock first, so two never wait on each other's rows.
CREATE OR REPLACE FUNCTION disclosure.data_file_step(p_files disclosure.data_file_count[])
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF coalesce(cardinality(p_files), 0) = 0 THEN
        RETURN;
    END IF;
    PERFORM 1 FROM disclosure.data_version FOR UPDATE;
    -- the rows there are moved, the others made: an INSERT ... ON CONFLICT
    -- would check a lost line's negative count against the table's CHECKs
    -- before it finds the row (the lock above keeps out another maker)
    WITH x AS (
        SELECT disclosure.data_file_name(c.kind, c.year, c.format) AS file, c.kind, c.year, c.format,
               sum(c.rows) AS rows, sum(c.bytes) AS bytes
          FROM unnest(p_files || ROW('catalog', NULL, NULL, 0, 0)::disclosure.data_file_count) c
         GROUP BY c.kind, c.year, c.format
    ), moved AS (
        UPDATE disclosure.data_file_version f
           SET version = nextval('disclosure.data_file_version_seq'), changed_at = clock_timestamp(),
               rows = f.rows + x.rows, bytes = f.bytes + x.bytes
          FROM x WHERE f.file = x.file
        RETURNING f.file
    )
    INSERT INTO disclosure.data_file_version (file, version, changed_at, kind, year, format, rows, bytes)
    SELECT x.file, nextval('disclosure.data_file_version_seq'), clock_timestamp(),
           x.kind, x.year, x.format, x.rows, x.bytes
      FROM x WHERE x.file NOT IN (SELECT m.file FROM moved m);
END
$$;

-- The triggers on data_line: not SECURITY DEFINER, since only its owner
-- writes it (the functions above, as the owner; a cascade, as the table's
-- owner; a migration).
--
-- Lines inserted or deleted (their transition table is "lines" either way):
-- the files they belong to, their year's wide file and .jsonl, and all.csv,
-- gain or lose them
CREATE OR REPLACE FUNCTION disclosure.data_line_written() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    sign int := CASE TG_OP WHEN 'DELETE' THEN -1 ELSE 1 END;
BEGIN
    PERFORM disclosure.data_file_step(ARRAY(
        SELECT ROW(x.kind, x.year, x.format, sign * count(*), sign * sum(x.bytes))::disclosure.data_file_count
          FROM lines l,
               LATERAL (VALUES ('csv', l.year, l.format, l.wide_bytes),
                               ('jsonl', l.year, NULL, l.json_bytes),
                               ('all', NULL, NULL, l.long_bytes)) x(kind, year, format, bytes)
         GROUP BY x.kind, x.year, x.format));
    RETURN NULL;
END
$$;

-- A line changed in place: only the files whose bytes changed, each losing
-- the old line and gaining the new one.  Its wide line names the agency (a
-- new name changes only the wide file); its JSON line is the document as
-- published, which keeps the names it was published with, but a new slug
-- can move it in the file's order (the file is stepped whether it does or
-- not); the long lines start with the slug.  A line that moved to another
-- year or format leaves one file for another.
CREATE OR REPLACE FUNCTION disclosure.data_line_updated() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM disclosure.data_file_step(ARRAY(
        SELECT ROW(x.kind, x.year, x.format, x.rows, x.bytes)::disclosure.data_file_count
          FROM old_lines o JOIN new_lines n USING (report_id),
               LATERAL (VALUES
                   ((o.wide, o.year, o.format, o.slug) IS DISTINCT FROM (n.wide, n.year, n.format, n.slug),
                    'csv', o.year, o.format, -1, -o.wide_bytes),
                   ((o.wide, o.year, o.format, o.slug) IS DISTINCT FROM (n.wide, n.year, n.format, n.slug),
                    'csv', n.year, n.format, 1, n.wide_bytes),
                   ((o.json, o.year, o.slug) IS DISTINCT FROM (n.json, n.year, n.slug),
                    'jsonl', o.year, NULL, -1, -o.json_bytes),
                   ((o.json, o.year, o.slug) IS DISTINCT FROM (n.json, n.year, n.slug),
                    'jsonl', n.year, NULL, 1, n.json_bytes),
                   ((o.long, o.year, o.slug) IS DISTINCT FROM (n.long, n.year, n.slug),
                    'all', NULL, NULL, -1, -o.long_bytes),
                   ((o.long, o.year, o.slug) IS DISTINCT FROM (n.long, n.year, n.slug),
                    'all', NULL, NULL, 1, n.long_bytes)
               ) x(changed, kind, year, format, rows, bytes)
         WHERE x.changed));
    RETURN NULL;
END
$$;

-- TRUNCATE names no line: every file there was, with no lines
CREATE OR REPLACE FUNCTION disclosure.data_line_truncated() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM disclosure.data_file_step(ARRAY(
        SELECT ROW(v.kind, v.year, v.format, -v.rows, -v.bytes)::disclosure.data_file_count
          FROM disclosure.data_file_version v WHERE v.kind <> 'catalog'));
    RETURN NULL;
END
$$;

-- the catalog's title, publisher, licence or source changed: the catalog
-- (the publisher updates data_catalog_meta; the versions are the owner's)
CREATE OR REPLACE FUNCTION disclosure.data_catalog_meta_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_meta o JOIN new_meta n USING (singleton)
                WHERE ROW(o.*) IS DISTINCT FROM ROW(n.*)) THEN
        PERFORM disclosure.data_file_step(ARRAY[ROW('catalog', NULL, NULL, 0, 0)::disclosure.data_file_count]);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION disclosure.data_line_documents() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM disclosure.data_line_refresh(ARRAY(
        SELECT v.report_id FROM new_documents n JOIN disclosure.revision v ON v.id = n.revision_id));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION disclosure.data_line_revisions() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM disclosure.data_line_refresh(ARRAY(
        SELECT DISTINCT n.report_id FROM new_revisions n WHERE n.status <> 'draft'));
    RETURN NULL;
END
$$;

-- an agency renamed, of another kind or moved: its lines; its slug changed:
-- also its children's (their parent column)
CREATE OR REPLACE FUNCTION disclosure.data_line_agencies() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM disclosure.data_line_refresh(ARRAY(
        SELECT l.report_id
          FROM new_agencies n JOIN old_agencies o USING (id)
          JOIN disclosure.agency a ON a.id = n.id OR (a.parent_id = n.id AND n.slug <> o.slug)
          JOIN disclosure.report r ON r.agency_id = a.id
          JOIN disclosure.data_line l ON l.report_id = r.id
         WHERE (n.slug, n.name, n.kind, n.parent_id) IS DISTINCT FROM (o.slug, o.name, o.kind, o.parent_id)));
    RETURN NULL;
END
$$;

REVOKE EXECUTE ON FUNCTION disclosure.data_merged(jsonb),
    disclosure.data_lines_of(json, text, text, text, text), disclosure.data_lines_made(int[]),
    disclosure.data_line_refresh(int[]), disclosure.data_line_documents(),
    disclosure.data_line_revisions(), disclosure.data_line_agencies(),
    disclosure.data_file_name(text, int, int), disclosure.data_file_step(disclosure.data_file_count[]),
    disclosure.data_line_written(), disclosure.data_line_updated(), disclosure.data_line_truncated(),
    disclosure.data_catalog_meta_updated() FROM PUBLIC;

-- The files' lines, in file order, read from the caller's snapshot.  SQL
-- functions called in the select list return their rows one by one (value
-- per call), so the backend sends as it reads; enable_sort off makes the plan
-- walk the index data_line_order, where a sort would first read the whole file
-- (and spill it to disk past work_mem) before the first line goes out.
CREATE OR REPLACE FUNCTION disclosure_web.data_wide_lines(p_year int, p_format int)
RETURNS SETOF text LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_sort = off AS $$
    SELECT l.wide FROM disclosure.data_line l
     WHERE l.year = p_year AND l.format = p_format ORDER BY l.year, l.slug
$$;
COMMENT ON FUNCTION disclosure_web.data_wide_lines(int, int) IS
    '/data/{year}.csv (or {year}-{format}.csv): its lines after the header';

CREATE OR REPLACE FUNCTION disclosure_web.data_json_lines(p_year int)
RETURNS SETOF text LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_sort = off AS $$
    SELECT l.json FROM disclosure.data_line l WHERE l.year = p_year ORDER BY l.year, l.slug
$$;
COMMENT ON FUNCTION disclosure_web.data_json_lines(int) IS '/data/{year}.jsonl: its lines';

CREATE OR REPLACE FUNCTION disclosure_web.data_all_lines()
RETURNS SETOF text LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET enable_sort = off AS $$
    SELECT l.long FROM disclosure.data_line l ORDER BY l.year, l.slug
$$;
COMMENT ON FUNCTION disclosure_web.data_all_lines() IS
    '/data/all.csv: its lines after the header, each row a report''s';

-- Whether a file exists, and what its response needs before its body:
-- p_kind 'csv' (p_format NULL: the year's own format; else the other format,
-- /data/{year}-{format}.csv), 'jsonl' or 'all'.  No row: 404.  bytes: the
-- body's size, BOM and header included, as nginx sends it (its
-- Content-Length): the stored lines' sizes are in the server's encoding, so
-- NULL when the session's client encoding is another.  The row count and
-- size are the file's data_file_version row's, which the triggers keep with
-- its lines: read in the download's snapshot, they are its lines'.
CREATE OR REPLACE FUNCTION disclosure_web.data_file(p_kind text, p_year int, p_format int,
    OUT format smallint, OUT version bigint, OUT changed_at bigint, OUT rows bigint, OUT header text,
    OUT bytes bigint)
RETURNS SETOF record LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    own smallint := disclosure.year_format(p_year);
BEGIN
    -- the year's own format has only the plain name
    IF p_kind = 'csv' AND p_format = own THEN
        RETURN;
    END IF;

    -- the file's own version and last change (Last-Modified: the second it
    -- falls in, as the catalog's "modified" gives it, never the next one)
    SELECT v.version, floor(extract(epoch FROM v.changed_at))::bigint, v.rows, v.bytes
      INTO version, changed_at, rows, bytes
      FROM disclosure.data_file_version v
     WHERE v.file = disclosure.data_file_name(p_kind, p_year, p_format) AND v.kind <> 'catalog';

    header := CASE p_kind WHEN 'all' THEN disclosure.data_long_header()
                          WHEN 'jsonl' THEN ''
                          WHEN 'csv' THEN disclosure.data_wide_header(coalesce(p_format, own)::smallint) END;
    format := CASE WHEN p_kind = 'csv' THEN coalesce(p_format, own) END;
    rows := coalesce(rows, 0);
    bytes := CASE WHEN pg_client_encoding() = current_setting('server_encoding')
                  THEN coalesce(bytes, 0) + octet_length(header) END;

    -- all.csv exists with no report; a year's file only with one
    IF p_kind = 'all' OR (header IS NOT NULL AND rows > 0) THEN
        RETURN NEXT;
    END IF;
END
$$;
COMMENT ON FUNCTION disclosure_web.data_file(text, int, int) IS
    'a /data/ file: its format, its version and last change (epoch seconds), its row count, CSV header and size in bytes (NULL when the client encoding is not the server''s); no row if there is no such file';

-- /data/index.json: every file, DCAT-like (dcat:Catalog → dataset → distribution),
-- each with its row count, its size in bytes (as sent uncompressed: BOM, header,
-- CRLF lines), its version and last change (its ETag's and Last-Modified's:
-- disclosure.data_file_version); the catalog's own version and last change
-- (its ETag's) move with any file's and with data_catalog_meta
CREATE OR REPLACE FUNCTION disclosure_web.data_catalog()
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        WITH dist AS (
            SELECT v.year, v.format, v.rows, v.file AS name, v.version, v.changed_at AS changed,
                   v.bytes + CASE v.kind WHEN 'csv' THEN octet_length(disclosure.data_wide_header(v.format))
                                         WHEN 'all' THEN octet_length(disclosure.data_long_header())
                                         ELSE 0 END AS bytes,
                   CASE v.kind WHEN 'jsonl' THEN 'application/x-ndjson' ELSE 'text/csv' END AS media
              FROM disclosure.data_file_version v
             WHERE v.kind <> 'catalog' AND v.rows > 0
        )
        SELECT json_build_object(
            'document', 'disclosure-data-catalog/1',
            '@type', 'dcat:Catalog',
            'title', m.title,
            'description', m.description,
            'publisher', json_build_object('name', m.publisher),
            'license', m.license,
            'source', m.source,
            'data_version', v.version,
            'modified', disclosure.json_time(v.changed_at),
            'conformsTo', json_build_array('../format/2021.json', '../format/2019.json'),
            'dataset', coalesce((
                SELECT json_agg(json_build_object(
                           '@type', 'dcat:Dataset',
                           'identifier', x.name,
                           'title', CASE WHEN x.name = 'all.csv' THEN '全部年度报告（长表）'
                                         ELSE x.year || ' 年度报告' END,
                           'year', x.year,
                           'format', x.format,
                           'rows', x.rows,
                           'data_version', x.version,
                           'modified', disclosure.json_time(x.changed),
                           'license', m.license,
                           'distribution', json_build_array(json_build_object(
                               '@type', 'dcat:Distribution',
                               'downloadURL', x.name,
                               'mediaType', x.media,
                               'byteSize', x.bytes,
                               'describedBy', CASE WHEN x.format IS NOT NULL
                                                   THEN '../format/' || x.format || '.json' END)))
                           ORDER BY x.year DESC NULLS FIRST, x.name)
                  FROM dist x), '[]'))
          FROM disclosure.data_catalog_meta m, disclosure.data_file_version v
         WHERE v.file = 'index.json'
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.data_catalog() IS
    'the open-data catalog: every /data/ file with its row count, size in bytes, version and last change, the catalog''s version, the licence and the source';

-- /format/{format}.json: the data dictionary, from format_cell (format/cells.tsv)
CREATE OR REPLACE FUNCTION disclosure_web.data_dictionary(p_format int)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        SELECT json_build_object(
            'document', 'disclosure-format/1',
            'format', f.format,
            'name', f.name,
            'issued_by', f.document,
            'years', json_build_object('first', f.first_year, 'last', f.last_year),
            'cells', (
                SELECT json_agg(json_build_object(
                           'key', c.tbl || '.' || c.row_key || '.' || c.col_key,
                           'table', c.tbl, 'row', c.row_key, 'col', c.col_key,
                           'kind', c.kind, 'unit', c.unit,
                           'row_group', c.row_group, 'row_label', c.row_label,
                           'col_group', c.col_group, 'col_label', c.col_label,
                           'sum_of', CASE WHEN c.kind = 'total' THEN (
                               SELECT json_agg(p.tbl || '.' || p.part_row || '.' || p.part_col
                                               ORDER BY pc.ord)
                                 FROM disclosure.format_total_part p
                                 JOIN disclosure.format_cell pc
                                   ON pc.format = p.format AND pc.tbl = p.tbl
                                  AND pc.row_key = p.part_row AND pc.col_key = p.part_col
                                WHERE p.format = c.format AND p.tbl = c.tbl
                                  AND p.row_key = c.row_key AND p.col_key = c.col_key) END)
                       ORDER BY c.ord)
                  FROM disclosure.format_cell c WHERE c.format = f.format),
            -- the columns of the /data/ files beyond cells: （六） printed as one row
            'merged_cells', coalesce((
                SELECT json_agg(json_build_object(
                           'key', c.tbl || '.' || 'other' || '.' || c.col_key,
                           'table', c.tbl, 'row', 'other', 'col', c.col_key,
                           'kind', 'as_printed', 'unit', c.unit,
                           'row_group', c.row_group, 'row_label', '（六）其他处理',
                           'col_group', c.col_group, 'col_label', c.col_label,
                           'instead_of', (SELECT json_agg(s.tbl || '.' || s.row_key || '.' || s.col_key
                                                          ORDER BY s.ord)
                                            FROM disclosure.format_cell s
                                           WHERE s.format = c.format AND s.tbl = c.tbl
                                             AND s.col_key = c.col_key
                                             AND s.row_key IN ('other_no_correction', 'other_unpaid_fee', 'other_misc')),
                           'note', '旧格式印法：（六）其他处理印为一行（2019 年版的行），三个子行为 not_printed；'
                                   || '取自报告文档的 published_totals.applications.other，其他报告为 not_printed')
                       ORDER BY d.ord)
                  FROM disclosure.data_column d
                  JOIN disclosure.format_cell c ON c.format = d.format AND c.tbl = d.tbl
                   AND c.row_key = 'other_misc' AND c.col_key = d.col_key
                 WHERE d.format = f.format AND d.merged), '[]'))
          FROM disclosure.format f WHERE f.format = p_format
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.data_dictionary(int) IS
    'the data dictionary of a format: every cell key with its labels as printed, kind, unit and the cells a total adds up, and the /data/ files'' merged （六） columns; NULL for no such format';

REVOKE EXECUTE ON FUNCTION disclosure.csv_text(text), disclosure.csv_cell(jsonb),
    disclosure.year_format(int), disclosure.data_wide_header(smallint), disclosure.data_long_header(),
    disclosure_web.data_wide_lines(int, int), disclosure_web.data_json_lines(int),
    disclosure_web.data_all_lines(), disclosure_web.data_file(text, int, int),
    disclosure_web.data_catalog(), disclosure_web.data_dictionary(int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.csv_text(text), disclosure.csv_cell(jsonb),
    disclosure.year_format(int), disclosure.data_wide_header(smallint), disclosure.data_long_header(),
    disclosure.data_merged(jsonb), disclosure.data_lines_of(json, text, text, text, text),
    disclosure.data_lines_made(int[])
    TO disclosure_editor;
GRANT EXECUTE ON FUNCTION disclosure_web.data_wide_lines(int, int), disclosure_web.data_json_lines(int),
    disclosure_web.data_all_lines(), disclosure_web.data_file(text, int, int),
    disclosure_web.data_catalog(), disclosure_web.data_dictionary(int)
    TO disclosure_reader, disclosure_editor;
GRANT SELECT ON disclosure.data_report, disclosure.data_column TO disclosure_editor;

-- Every line made again when the functions that make them, or the columns
-- they give (format_cell, through data_column), are not those that made them
-- (the first pass after migration 0051 fills the table).  Only the lines that
-- differ are written: the files they belong to, and only those, get a new
-- version (a comment changed in a function sends no client the files again).
DO $$
DECLARE
    fp text := md5(string_agg(pg_get_functiondef(p.oid), E'\n' ORDER BY p.proname)
                   || (SELECT pg_get_viewdef('disclosure.data_column'::regclass))
                   || (SELECT string_agg(concat_ws(' ', c.format, c.tbl, c.row_key, c.col_key, c.ord, c.merged),
                                         E'\n' ORDER BY c.format, c.ord)
                         FROM disclosure.data_column c))
                 FROM pg_proc p
                WHERE p.pronamespace = 'disclosure'::regnamespace
                  AND p.proname IN ('csv_text', 'csv_cell', 'data_merged', 'data_lines_of', 'data_lines_made');
BEGIN
    IF fp IS DISTINCT FROM (SELECT m.fingerprint FROM disclosure.data_line_maker m) THEN
        PERFORM disclosure.data_line_refresh(ARRAY(
            SELECT r.id FROM disclosure.report r UNION SELECT l.report_id FROM disclosure.data_line l));
        INSERT INTO disclosure.data_line_maker VALUES (true, fp)
            ON CONFLICT (singleton) DO UPDATE SET fingerprint = excluded.fingerprint;
    END IF;
END
$$;
