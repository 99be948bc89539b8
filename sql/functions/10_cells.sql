-- Cells: how a cell is named, typed, shown and merged, and the views every
-- other file reads them through (cell_value derives the totals), the current
-- and the public revision of each report, and the revision history.
--
-- A repeatable file (README, "Migrations"): sql/migrate applies every
-- sql/functions/*.sql again, in name order, whenever one of them changed.
-- So only what can run twice: CREATE OR REPLACE, COMMENT, GRANT, REVOKE.
-- A changed signature or return type, or a view losing a column, goes in a
-- versioned migration that drops the old one; the file makes the new one.

-- label of a cell for messages: 'applications.received.natural_person（一、本年新收… · 自然人）'
CREATE OR REPLACE FUNCTION disclosure.cell_name(p_format smallint, p_tbl text, p_row text, p_col text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT p_tbl || '.' || p_row || '.' || p_col ||
           coalesce('（' || (SELECT f.row_label || ' · ' || f.col_label
                               FROM disclosure.format_cell f
                              WHERE f.format = p_format AND f.tbl = p_tbl
                                AND f.row_key = p_row AND f.col_key = p_col) || '）', '')
$$;
REVOKE EXECUTE ON FUNCTION disclosure.cell_name(smallint,text,text,text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.cell_name(smallint,text,text,text) TO disclosure_editor;

-- how an editor types a cell: a number, '' or NULL for blank, '/' for a
-- slash, 未列出 (or not_printed, as in the CSV) for a cell the report lacks
CREATE OR REPLACE FUNCTION disclosure.parse_cell(p_text text, OUT given text, OUT value numeric)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    t text := btrim(p_text);
BEGIN
    IF t IS NULL OR t = '' THEN
        given := 'blank';
    ELSIF t IN ('/', '／') THEN
        given := 'slash';
    ELSIF t IN ('未列出', 'not_printed') THEN
        given := 'not_printed';
    ELSIF t ~ '^[+-]?[0-9]+(\.[0-9]+)?$' THEN
        given := 'number';
        value := t::numeric;
    ELSE
        RAISE EXCEPTION '“%” 不是数字；单元格填数字、空白、“/” 或 “未列出”', p_text
            USING ERRCODE = 'invalid_text_representation';
    END IF;
END
$$;
REVOKE EXECUTE ON FUNCTION disclosure.parse_cell(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.parse_cell(text) TO disclosure_editor;

CREATE OR REPLACE FUNCTION disclosure.cell_text(p_given text, p_value numeric)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_given WHEN 'number' THEN p_value::text WHEN 'slash' THEN '/'
                        WHEN 'not_printed' THEN '未列出' END
$$;
REVOKE EXECUTE ON FUNCTION disclosure.cell_text(text,numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.cell_text(text,numeric) TO disclosure_editor;

-- the merged （六）其他处理 row a 2021 report printed as one row: its cells
-- are those of the 2019 format's row applications.other
CREATE OR REPLACE FUNCTION disclosure.merged_other_cell(p_format smallint, p_tbl text, p_row text, p_col text)
RETURNS disclosure.format_cell LANGUAGE sql STABLE AS $$
    SELECT f.* FROM disclosure.format_cell f
     WHERE p_format = 2021 AND p_tbl = 'applications' AND p_row = 'other'
       AND f.format = 2019 AND f.tbl = 'applications' AND f.row_key = 'other' AND f.col_key = p_col
$$;
REVOKE EXECUTE ON FUNCTION disclosure.merged_other_cell(smallint,text,text,text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.merged_other_cell(smallint,text,text,text) TO disclosure_editor;

-- a cell's value as a number for the rules: as printed where a legacy report
-- printed it as a number, else as derived or given; NULL when it is nothing
CREATE OR REPLACE FUNCTION disclosure.shown_value(p_given text, p_value numeric, p_published_given text,
                                       p_published_value numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_published_given = 'number' THEN p_published_value ELSE p_value END
$$;
REVOKE EXECUTE ON FUNCTION disclosure.shown_value(text,numeric,text,numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.shown_value(text,numeric,text,numeric) TO disclosure_editor;

-- the result rows of 三 (R2): every input row under 三、本年度办理结果
CREATE OR REPLACE VIEW disclosure.format_result_row AS
SELECT DISTINCT format, row_key
  FROM disclosure.format_cell
 WHERE tbl = 'applications' AND kind = 'input'
   AND row_group LIKE '三、本年度办理结果%';
GRANT SELECT ON disclosure.format_result_row TO disclosure_editor;

-- Totals: the numbers among the parts added up; parts that are all blank,
-- slash or not printed make a blank total (NULL), all not printed a total
-- not printed.  The closed_total of a 2021 report that printed （六） as
-- one row counts that printed row for its three sub-rows.
CREATE OR REPLACE VIEW disclosure.cell_value AS
SELECT v.id AS revision_id, f.format, f.tbl, f.row_key, f.col_key, f.kind,
       f.ord, f.row_ord, f.col_ord,
       CASE WHEN f.kind = 'input' THEN c.given ELSE d.given END AS given,
       CASE WHEN f.kind = 'input' THEN c.value ELSE d.value END AS value,
       pt.given AS published_given,
       pt.value AS published_value
  FROM disclosure.revision v
  JOIN disclosure.format_cell f ON f.format = v.format
  LEFT JOIN disclosure.cell c
    ON c.revision_id = v.id AND c.tbl = f.tbl
   AND c.row_key = f.row_key AND c.col_key = f.col_key
  LEFT JOIN disclosure.published_total pt
    ON pt.revision_id = v.id AND pt.tbl = f.tbl
   AND pt.row_key = f.row_key AND pt.col_key = f.col_key
  CROSS JOIN LATERAL (
       SELECT CASE WHEN bool_or(p.given = 'number') THEN 'number'
                   WHEN bool_and(p.given = 'not_printed') THEN 'not_printed'
                   ELSE 'blank' END AS given,
              sum(p.value) AS value
         FROM (SELECT p.given, p.value
                 FROM disclosure.format_total_part tp
                 JOIN disclosure.cell p
                   ON p.revision_id = v.id AND p.tbl = tp.tbl
                  AND p.row_key = tp.part_row AND p.col_key = tp.part_col
                WHERE f.kind = 'total' AND tp.format = f.format AND tp.tbl = f.tbl
                  AND tp.row_key = f.row_key AND tp.col_key = f.col_key
               UNION ALL
               SELECT m.given, m.value
                 FROM disclosure.published_total m
                WHERE f.kind = 'total' AND f.format = 2021 AND f.tbl = 'applications'
                  AND f.row_key = 'closed_total'
                  AND m.revision_id = v.id AND m.tbl = 'applications' AND m.row_key = 'other'
                  AND CASE WHEN f.col_key = 'total' THEN m.col_key <> 'total'
                           ELSE m.col_key = f.col_key END) p
       ) d;
COMMENT ON VIEW disclosure.cell_value IS
    'every cell of every revision: inputs as given, totals derived (blank when no part is a number), legacy totals as printed';
GRANT SELECT ON disclosure.cell_value TO disclosure_editor;

-- the revision a report is edited or shown in: its draft, else its latest publication
CREATE OR REPLACE VIEW disclosure.current_revision AS
SELECT DISTINCT ON (r.id)
       a.slug AS agency, a.id AS agency_id, r.year, r.id AS report_id,
       v.id AS revision_id, v.revision, v.format, v.status
  FROM disclosure.report r
  JOIN disclosure.agency a ON a.id = r.agency_id
  JOIN disclosure.revision v ON v.report_id = r.id
 ORDER BY r.id, (v.status = 'draft') DESC, v.revision DESC;
GRANT SELECT ON disclosure.current_revision TO disclosure_editor;

-- the revision the public sees: the latest published one, unless withdrawn
CREATE OR REPLACE VIEW disclosure.public_revision AS
SELECT DISTINCT ON (r.id)
       a.slug AS agency, a.id AS agency_id, r.year, r.id AS report_id,
       v.id AS revision_id, v.revision, v.format, v.status, v.published_at
  FROM disclosure.report r
  JOIN disclosure.agency a ON a.id = r.agency_id
  JOIN disclosure.revision v ON v.report_id = r.id AND v.status <> 'draft'
 ORDER BY r.id, v.revision DESC;
GRANT SELECT ON disclosure.public_revision TO disclosure_editor;

CREATE OR REPLACE VIEW disclosure.revision_history AS
SELECT a.slug AS agency, a.name AS agency_name, r.year, v.revision, v.status,
       v.reason, v.created_at, v.created_by, v.published_at, v.published_by,
       v.withdrawn_at, v.withdraw_reason
  FROM disclosure.revision v
  JOIN disclosure.report r ON r.id = v.report_id
  JOIN disclosure.agency a ON a.id = r.agency_id
 ORDER BY a.slug, r.year, v.revision;
COMMENT ON VIEW disclosure.revision_history IS
    'every revision of every report, with who published it and why it was corrected';
GRANT SELECT ON disclosure.revision_history TO disclosure_editor;
