-- Open data in bulk (issue 14): every published report of a year as one file,
-- streamed by nginx from one snapshot, a catalog and the data dictionary.
--
-- nginx reads a file in one REPEATABLE READ transaction: disclosure_web.data_file()
-- says whether the file exists and gives the data version, the row count and the
-- CSV header; then one SELECT over disclosure_web.data_revisions() (the file's
-- reports in slug order) yields one line (or one report's lines) per row, computed
-- as the row is sent, so that a slow client stops the backend instead of filling
-- memory.  nginx's role reads no table or view: only these functions.
-- The lines are made from the stored report documents (published_document), the
-- very documents the per-report JSON and CSV are rendered from.
--
-- A repeatable file (README, "Migrations"); the table of the catalog's fixed
-- part is migration 0050.

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

-- the reports of a file in its order: a year's (NULL: every year, by year),
-- of a format (NULL: any); only ids, the lines are made one by one
CREATE OR REPLACE FUNCTION disclosure_web.data_revisions(p_year int, p_format int)
RETURNS SETOF int LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
        SELECT d.revision_id FROM disclosure.data_report d
         WHERE (p_year IS NULL OR d.year = p_year) AND (p_format IS NULL OR d.format = p_format)
         ORDER BY d.year, d.slug;
END
$$;
COMMENT ON FUNCTION disclosure_web.data_revisions(int, int) IS
    'the revisions a /data/ file lists, in its order';

-- the document of a revision only while it is a current publication
CREATE OR REPLACE FUNCTION disclosure.data_document(p_revision_id int)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        SELECT d.document::jsonb
          FROM disclosure.published_document d
          JOIN disclosure.year_state s ON s.revision_id = d.revision_id AND s.status = 'published'
         WHERE d.revision_id = p_revision_id
    );
END
$$;

-- the format of a year's own reports (2019 for 2019 and 2020, else 2021)
CREATE OR REPLACE FUNCTION disclosure.year_format(p_year int)
RETURNS smallint LANGUAGE sql STABLE AS $$
    SELECT f.format FROM disclosure.format f
     WHERE p_year >= f.first_year AND (f.last_year IS NULL OR p_year <= f.last_year)
     ORDER BY f.format DESC LIMIT 1
$$;

CREATE OR REPLACE FUNCTION disclosure.data_wide_header(p_format smallint)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT E'\uFEFF' || 'slug,name,parent,kind,scope,year,format,revision,published_at,'
           'source_url,index_no,legacy,'
           || string_agg(f.tbl || '.' || f.row_key || '.' || f.col_key, ',' ORDER BY f.ord) || E'\r\n'
      FROM disclosure.format_cell f WHERE f.format = p_format
$$;

-- /data/{year}.csv: one report on one line
CREATE OR REPLACE FUNCTION disclosure_web.data_wide_line(p_revision_id int)
RETURNS text LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    doc jsonb := disclosure.data_document(p_revision_id);
BEGIN
    IF doc IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN concat_ws(',',
               disclosure.csv_text(doc #>> '{agency,slug}'),
               disclosure.csv_text(doc #>> '{agency,name}'),
               disclosure.csv_text(doc #>> '{agency,parent,slug}'),
               disclosure.csv_text(doc #>> '{agency,kind}'),
               disclosure.csv_text(doc ->> 'scope'),
               doc ->> 'year', doc ->> 'format', doc ->> 'revision',
               disclosure.csv_text(doc ->> 'published_at'),
               disclosure.csv_text(doc ->> 'source_url'),
               disclosure.csv_text(doc ->> 'index_no'),
               doc ->> 'legacy',
               (SELECT string_agg(disclosure.csv_cell(doc -> 'tables' -> f.tbl -> f.row_key -> f.col_key),
                                  ',' ORDER BY f.ord)
                  FROM disclosure.format_cell f WHERE f.format = (doc ->> 'format')::smallint))
           || E'\r\n';
END
$$;

-- /data/all.csv: one report's lines, agency,year,table,row,col,value
CREATE OR REPLACE FUNCTION disclosure_web.data_long_lines(p_revision_id int)
RETURNS text LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    doc jsonb := disclosure.data_document(p_revision_id);
    pre text;
BEGIN
    IF doc IS NULL THEN
        RETURN NULL;
    END IF;
    pre := disclosure.csv_text(doc #>> '{agency,slug}') || ',' || (doc ->> 'year') || ',';
    RETURN (SELECT string_agg(pre || f.tbl || ',' || f.row_key || ',' || f.col_key || ','
                              || disclosure.csv_cell(doc -> 'tables' -> f.tbl -> f.row_key -> f.col_key)
                              || E'\r\n', '' ORDER BY f.ord)
              FROM disclosure.format_cell f WHERE f.format = (doc ->> 'format')::smallint);
END
$$;

-- /data/{year}.jsonl: the report document on one line
CREATE OR REPLACE FUNCTION disclosure_web.data_json_line(p_revision_id int)
RETURNS text LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        SELECT d.document::text || E'\n'
          FROM disclosure.published_document d
          JOIN disclosure.year_state s ON s.revision_id = d.revision_id AND s.status = 'published'
         WHERE d.revision_id = p_revision_id
    );
END
$$;

-- Whether a file exists, and what its response needs before its body:
-- p_kind 'csv' (p_format NULL: the year's own format; else the other format,
-- /data/{year}-{format}.csv), 'jsonl' or 'all'.  No row: 404.
CREATE OR REPLACE FUNCTION disclosure_web.data_file(p_kind text, p_year int, p_format int,
    OUT format smallint, OUT version bigint, OUT changed_at bigint, OUT rows bigint, OUT header text)
RETURNS SETOF record LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    own smallint := disclosure.year_format(p_year);
    fmt smallint := coalesce(p_format, own);
BEGIN
    SELECT v.version, extract(epoch FROM v.changed_at)::bigint INTO version, changed_at
      FROM disclosure.data_version v;

    IF p_kind = 'all' THEN
        rows := (SELECT count(*) FROM disclosure.data_report);
        header := E'\uFEFF' || E'agency,year,table,row,col,value\r\n';
        RETURN NEXT;
        RETURN;
    END IF;

    IF p_kind = 'jsonl' THEN
        rows := (SELECT count(*) FROM disclosure.data_report d WHERE d.year = p_year);
        header := '';
    ELSIF p_kind = 'csv' AND (p_format IS NULL OR p_format IS DISTINCT FROM own) THEN
        format := fmt;
        rows := (SELECT count(*) FROM disclosure.data_report d
                  WHERE d.year = p_year AND d.format = fmt);
        header := disclosure.data_wide_header(fmt);
    END IF;

    IF rows > 0 THEN
        RETURN NEXT;
    END IF;
END
$$;
COMMENT ON FUNCTION disclosure_web.data_file(text, int, int) IS
    'a /data/ file: its format, the data version and time, its row count and CSV header; no row if there is no such file';

-- /data/index.json: every file, DCAT-like (dcat:Catalog → dataset → distribution)
CREATE OR REPLACE FUNCTION disclosure_web.data_catalog()
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        WITH f AS (
            SELECT d.year, d.format, count(*) AS rows,
                   d.format = disclosure.year_format(d.year) AS own
              FROM disclosure.data_report d GROUP BY d.year, d.format
        ), dist AS (
            SELECT f.year, f.format, f.rows,
                   CASE WHEN f.own THEN f.year || '.csv' ELSE f.year || '-' || f.format || '.csv' END AS name,
                   'text/csv' AS media
              FROM f
            UNION ALL
            SELECT f.year, NULL, sum(f.rows), f.year || '.jsonl', 'application/x-ndjson'
              FROM f GROUP BY f.year
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
                           'data_version', v.version,
                           'modified', disclosure.json_time(v.changed_at),
                           'license', m.license,
                           'distribution', json_build_array(json_build_object(
                               '@type', 'dcat:Distribution',
                               'downloadURL', x.name,
                               'mediaType', x.media,
                               'describedBy', CASE WHEN x.format IS NOT NULL
                                                   THEN '../format/' || x.format || '.json' END)))
                           ORDER BY x.year DESC NULLS FIRST, x.name)
                  FROM (SELECT * FROM dist
                        UNION ALL
                        SELECT NULL, NULL, (SELECT count(*) FROM disclosure.data_report),
                               'all.csv', 'text/csv') x), '[]'))
          FROM disclosure.data_catalog_meta m, disclosure.data_version v
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.data_catalog() IS
    'the open-data catalog: every /data/ file with its row count, the data version, the licence and the source';

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
                  FROM disclosure.format_cell c WHERE c.format = f.format))
          FROM disclosure.format f WHERE f.format = p_format
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.data_dictionary(int) IS
    'the data dictionary of a format: every cell key with its labels as printed, kind, unit and the cells a total adds up; NULL for no such format';

REVOKE EXECUTE ON FUNCTION disclosure.csv_text(text), disclosure.csv_cell(jsonb),
    disclosure.data_document(int), disclosure.year_format(int), disclosure.data_wide_header(smallint),
    disclosure_web.data_wide_line(int), disclosure_web.data_long_lines(int),
    disclosure_web.data_json_line(int), disclosure_web.data_file(text, int, int),
    disclosure_web.data_catalog(), disclosure_web.data_dictionary(int),
    disclosure_web.data_revisions(int, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.csv_text(text), disclosure.csv_cell(jsonb),
    disclosure.year_format(int), disclosure.data_wide_header(smallint)
    TO disclosure_editor;
GRANT EXECUTE ON FUNCTION disclosure_web.data_wide_line(int), disclosure_web.data_long_lines(int),
    disclosure_web.data_json_line(int), disclosure_web.data_file(text, int, int),
    disclosure_web.data_catalog(), disclosure_web.data_dictionary(int),
    disclosure_web.data_revisions(int, int)
    TO disclosure_reader, disclosure_editor;
GRANT SELECT ON disclosure.data_report TO disclosure_editor;
