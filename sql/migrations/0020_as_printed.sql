-- Reports as they were printed (issue 10).
--
--   * a fourth way a cell was given, not_printed: the report has no such cell
--     (its row or column was not printed); it counts as nothing, like blank
--   * a 2021 report that printed （六）其他处理 as one row (the 2019 layout):
--     its three sub-rows are not_printed and the printed row is kept in
--     published_total under the 2019 key applications.other
--   * scope unknown, and a document must say its scope (never office silently)
--   * a total whose parts are all blank, slash or not printed derives as blank
--     (NULL), not 0; all parts not printed: not printed
--   * the document gives a legacy report's printed totals as the values of
--     tables, and the derived ones where they differ in derived_totals
--   * a legacy document keeps published_at (source_published_at until publish)
--   * import_report: creating an agency, legacy and published_totals need the
--     publisher role (issue 11, item 3)

ALTER TABLE disclosure.cell
    DROP CONSTRAINT cell_given_number_blank_or_slash,
    ADD CONSTRAINT cell_given_number_blank_slash_or_not_printed
        CHECK (given IN ('number', 'blank', 'slash', 'not_printed'));
ALTER TABLE disclosure.published_total
    DROP CONSTRAINT published_total_given_check,
    ADD CONSTRAINT published_total_given_check
        CHECK (given IN ('number', 'blank', 'slash', 'not_printed')),
    -- the merged （六） row of a 2021 report is no cell of the 2021 format:
    -- validate_cell() checks every key instead
    DROP CONSTRAINT published_total_format_tbl_row_key_col_key_fkey;

-- never added up with office or jurisdiction reports (README, "Scope")
ALTER TABLE disclosure.revision
    DROP CONSTRAINT revision_scope_office_or_jurisdiction,
    ADD CONSTRAINT revision_scope_office_jurisdiction_or_unknown
        CHECK (scope IN ('office', 'jurisdiction', 'unknown')),
    ADD COLUMN source_published_at timestamptz;
COMMENT ON COLUMN disclosure.revision.scope IS
    'office: the agency alone; jurisdiction: the whole area it governs; unknown: the report does not say. '
    'A sum across agencies adds only reports of one scope, and never unknown ones (README, "Scope").';
COMMENT ON COLUMN disclosure.revision.source_published_at IS
    'legacy drafts: when the report was first published where it came from; publish() keeps it';

-- the merged （六）其他处理 row a 2021 report printed as one row: its cells
-- are those of the 2019 format's row applications.other
CREATE FUNCTION disclosure.merged_other_cell(p_format smallint, p_tbl text, p_row text, p_col text)
RETURNS disclosure.format_cell LANGUAGE sql STABLE AS $$
    SELECT f.* FROM disclosure.format_cell f
     WHERE p_format = 2021 AND p_tbl = 'applications' AND p_row = 'other'
       AND f.format = 2019 AND f.tbl = 'applications' AND f.row_key = 'other' AND f.col_key = p_col
$$;

CREATE OR REPLACE FUNCTION disclosure.validate_cell() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    f     disclosure.format_cell;
    fmt   smallint;
BEGIN
    SELECT v.format INTO fmt FROM disclosure.revision v WHERE v.id = NEW.revision_id;
    IF NEW.format IS NULL THEN
        NEW.format := fmt;
    ELSIF NEW.format <> fmt THEN
        RAISE EXCEPTION '单元格的格式版本 % 与报告的格式版本 % 不符', NEW.format, fmt;
    END IF;

    SELECT * INTO f FROM disclosure.format_cell c
     WHERE c.format = NEW.format AND c.tbl = NEW.tbl
       AND c.row_key = NEW.row_key AND c.col_key = NEW.col_key;
    IF NOT FOUND AND TG_TABLE_NAME = 'published_total' THEN
        f := disclosure.merged_other_cell(NEW.format, NEW.tbl, NEW.row_key, NEW.col_key);
        f.kind := 'total';      -- printed as it stands, like a total
    END IF;
    IF f.format IS NULL THEN
        RAISE EXCEPTION '% 格式中没有单元格 %.%.%', NEW.format, NEW.tbl, NEW.row_key, NEW.col_key
            USING ERRCODE = 'foreign_key_violation',
                  HINT = '表、行、列的键见 format/cells.tsv。';
    END IF;

    IF TG_TABLE_NAME = 'cell' AND f.kind <> 'input' THEN
        RAISE EXCEPTION '% 是合计，由分项自动得出，不能填写',
            disclosure.cell_name(NEW.format, NEW.tbl, NEW.row_key, NEW.col_key)
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_TABLE_NAME = 'published_total' AND f.kind <> 'total' THEN
        RAISE EXCEPTION '% 不是合计，不能作为“发布时的合计”保存',
            disclosure.cell_name(NEW.format, NEW.tbl, NEW.row_key, NEW.col_key)
            USING ERRCODE = 'check_violation';
    END IF;

    IF NEW.value IS NOT NULL THEN
        IF f.unit = '万元' OR (NEW.tbl, NEW.row_key, NEW.col_key) = ('proactive', 'procurement', 'amount') THEN
            IF NEW.value < 0 THEN
                RAISE EXCEPTION '%（R6）：金额不能为负数，收到 %',
                    disclosure.cell_name(NEW.format, NEW.tbl, NEW.row_key, NEW.col_key), NEW.value
                    USING ERRCODE = 'check_violation';
            END IF;
        ELSIF NEW.value <> trunc(NEW.value) THEN
            RAISE EXCEPTION '%（R5）：件数必须是整数，收到 %',
                disclosure.cell_name(NEW.format, NEW.tbl, NEW.row_key, NEW.col_key), NEW.value
                USING ERRCODE = 'check_violation';
        ELSIF NEW.value < 0 AND NEW.col_key <> 'change' THEN
            RAISE EXCEPTION '%（R5）：件数不能为负数，收到 %',
                disclosure.cell_name(NEW.format, NEW.tbl, NEW.row_key, NEW.col_key), NEW.value
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

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

CREATE OR REPLACE FUNCTION disclosure.cell_text(p_given text, p_value numeric)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_given WHEN 'number' THEN p_value::text WHEN 'slash' THEN '/'
                        WHEN 'not_printed' THEN '未列出' END
$$;

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

-- the grids show a total as a cell is shown: a number, NULL (blank) or 未列出
DO $$
DECLARE
    g record;
    cols text;
BEGIN
    FOR g IN SELECT * FROM (VALUES ('proactive_grid', 'proactive', '{2021}'::smallint[]),
                                   ('proactive_2019_grid', 'proactive', '{2019}'),
                                   ('applications_grid', 'applications', '{2021,2019}'),
                                   ('appeals_grid', 'appeals', '{2021,2019}')) x(v, tbl, formats) LOOP
        SELECT string_agg(format('max(CASE WHEN c.col_key = %L THEN disclosure.cell_text(c.given, c.value) END) AS %I',
                                 col_key, col_key), E',\n           ' ORDER BY ord)
          INTO cols
          FROM (SELECT col_key, min(col_ord) AS ord FROM disclosure.format_cell
                 WHERE tbl = g.tbl AND format = ANY (g.formats) GROUP BY col_key) x;
        EXECUTE format($v$
        CREATE OR REPLACE VIEW disclosure.%I AS
        SELECT cr.agency, cr.year, cr.revision, cr.status, cr.revision_id, cr.format,
               min(c.row_ord) AS row_no, c.row_key, min(f.row_label) AS row_label,
               %s
          FROM disclosure.current_revision cr
          JOIN disclosure.cell_value c ON c.revision_id = cr.revision_id AND c.tbl = %L
          JOIN disclosure.format_cell f ON f.format = c.format AND f.tbl = c.tbl
               AND f.row_key = c.row_key AND f.col_key = c.col_key
         WHERE cr.format = ANY (%L)
         GROUP BY cr.agency, cr.year, cr.revision, cr.status, cr.revision_id, cr.format, c.row_key
         ORDER BY cr.agency, cr.year, row_no$v$, g.v, cols, g.tbl, g.formats);
        EXECUTE format('COMMENT ON VIEW disclosure.%I IS %L', g.v,
                       'grid of table ' || g.tbl || ' for editors: UPDATE a cell with a number, NULL (blank), ''/'' or ''未列出''; totals are derived');
    END LOOP;
END
$$;

-- a cell in a document: a number, null (blank), "/" (slash), "not_printed"
CREATE OR REPLACE FUNCTION disclosure.json_cell(p_given text, p_value numeric)
RETURNS json LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_given WHEN 'number' THEN to_json(p_value)
                        WHEN 'slash' THEN to_json('/'::text)
                        WHEN 'not_printed' THEN to_json('not_printed'::text)
                        ELSE 'null'::json END
$$;

CREATE OR REPLACE FUNCTION disclosure.doc_cell(p jsonb, p_where text, OUT given text, OUT value numeric)
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    CASE jsonb_typeof(p)
    WHEN 'number' THEN given := 'number'; value := p::text::numeric;
    WHEN 'null' THEN given := 'blank';
    WHEN 'string' THEN
        IF p #>> '{}' IN ('/', '／') THEN
            given := 'slash';
        ELSIF p #>> '{}' = 'not_printed' THEN
            given := 'not_printed';
        ELSE
            RAISE EXCEPTION '%：“%” 不是数字、null、"/" 或 "not_printed"', p_where, p #>> '{}'
                USING ERRCODE = 'invalid_text_representation';
        END IF;
    ELSE
        RAISE EXCEPTION '%：缺少或不是数字（%）', p_where, coalesce(jsonb_typeof(p), '缺少')
            USING ERRCODE = 'invalid_text_representation';
    END CASE;
END
$$;

-- table → row → col → value in the format's order:
--   'tables'   every cell of the format as the report gives it: inputs as
--              given, totals as printed where a legacy report printed them,
--              else derived
--   'printed'  only what a legacy report printed of its totals (and its
--              merged （六） row), for published_totals
--   'derived'  the derived totals that differ from the printed ones
DROP FUNCTION disclosure.tables_json(int, boolean);
CREATE FUNCTION disclosure.tables_json(p_revision_id int, p_which text)
RETURNS json LANGUAGE sql STABLE AS $$
    WITH v AS (     -- cell_value once (a SQL function plans it on every call)
        SELECT * FROM disclosure.cell_value c
         WHERE c.revision_id = p_revision_id AND p_which IN ('tables', 'derived')
    ), c AS (
        SELECT v.tbl, v.row_key, v.col_key, v.ord,
               coalesce(v.published_given, v.given) AS given,
               CASE WHEN v.published_given IS NULL THEN v.value ELSE v.published_value END AS value
          FROM v WHERE p_which = 'tables'
        UNION ALL
        SELECT v.tbl, v.row_key, v.col_key, v.ord, v.given, v.value
          FROM v WHERE p_which = 'derived' AND v.published_given IS NOT NULL
           AND (v.published_given, v.published_value) IS DISTINCT FROM (v.given, v.value)
        UNION ALL
        SELECT pt.tbl, pt.row_key, pt.col_key,
               coalesce(f.ord, (SELECT s.ord FROM disclosure.format_cell s
                                 WHERE s.format = pt.format AND s.tbl = pt.tbl
                                   AND s.row_key = 'other_no_correction' AND s.col_key = pt.col_key)),
               pt.given, pt.value
          FROM disclosure.published_total pt
          LEFT JOIN disclosure.format_cell f USING (format, tbl, row_key, col_key)
         WHERE pt.revision_id = p_revision_id AND p_which = 'printed'
    ), rw AS (
        SELECT c.tbl, c.row_key, min(c.ord) AS ord,
               json_object_agg(c.col_key, disclosure.json_cell(c.given, c.value) ORDER BY c.ord) AS cols
          FROM c GROUP BY c.tbl, c.row_key
    ), t AS (
        SELECT rw.tbl, min(rw.ord) AS ord, json_object_agg(rw.row_key, rw.cols ORDER BY rw.ord) AS rows
          FROM rw GROUP BY rw.tbl
    )
    SELECT json_object_agg(t.tbl, t.rows ORDER BY t.ord) FROM t
$$;

-- the document of one revision; json (not jsonb) keeps the documented key order
CREATE OR REPLACE FUNCTION disclosure.report_document(p_revision_id int)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'document', 'disclosure-report/1',
        'agency', json_build_object(
            'slug', a.slug, 'name', a.name, 'kind', a.kind,
            'parent', (SELECT json_build_object('slug', p.slug, 'name', p.name)
                         FROM disclosure.agency p WHERE p.id = a.parent_id)),
        'year', r.year,
        'format', v.format,
        'scope', v.scope,
        'status', v.status,
        'revision', v.revision,
        'published_at', disclosure.json_time(coalesce(v.published_at, v.source_published_at)),
        'source_url', v.source_url,
        'index_no', v.index_no,
        'legacy', v.legacy,
        'revisions', coalesce((
            SELECT json_agg(json_build_object('revision', h.revision,
                                              'published_at', disclosure.json_time(h.published_at),
                                              'reason', h.reason) ORDER BY h.revision)
              FROM disclosure.revision h
             WHERE h.report_id = v.report_id AND h.status <> 'draft' AND h.revision <= v.revision),
            '[]'::json),
        'sections', (
            SELECT json_agg(CASE WHEN x.parts IS NULL
                                 THEN json_build_object('no', s.no, 'key', s.section, 'heading', s.heading)
                                 ELSE json_build_object('no', s.no, 'key', s.section, 'heading', s.heading,
                                                        'parts', x.parts) END ORDER BY s.ord)
              FROM disclosure.format_section s
              CROSS JOIN LATERAL (
                   SELECT json_agg(json_build_object('key', p.part, 'text', coalesce(t.body, ''))
                                   ORDER BY p.ord) AS parts
                     FROM disclosure.format_section p
                     LEFT JOIN disclosure.section_text t
                       ON t.revision_id = v.id AND t.section = p.section AND t.part = p.part
                    WHERE p.format = s.format AND p.section = s.section AND p.part <> '') x
             WHERE s.format = v.format AND s.part = ''),
        'tables', disclosure.tables_json(v.id, 'tables'),
        'published_totals', disclosure.tables_json(v.id, 'printed'),
        'derived_totals', CASE WHEN v.legacy THEN disclosure.tables_json(v.id, 'derived') END)
      FROM disclosure.revision v
      JOIN disclosure.report r ON r.id = v.report_id
      JOIN disclosure.agency a ON a.id = r.agency_id
     WHERE v.id = p_revision_id
$$;

-- who may do what a publisher does, inside a SECURITY DEFINER function: there
-- current_user is the function's owner, so the login role (session_user) is
-- asked; a publisher who SET ROLE disclosure_editor is still a publisher
CREATE FUNCTION disclosure.caller_is_publisher()
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT pg_has_role(session_user, 'disclosure_publisher', 'MEMBER')
$$;

CREATE OR REPLACE FUNCTION disclosure.import_report(p_doc jsonb)
RETURNS int LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    a_slug text := p_doc #>> '{agency,slug}';
    yr     int;
    fmt    smallint;
    aid    int;
    rid    int;
    rev    int;
    v      disclosure.revision;
    k      record;
    got    record;
    where_ text;
    scope_ text := p_doc ->> 'scope';
    totals jsonb := coalesce(nullif(p_doc -> 'published_totals', 'null'), '{}');
    is_legacy boolean;
    pub_at timestamptz;
BEGIN
    IF p_doc ->> 'document' IS DISTINCT FROM 'disclosure-report/1' THEN
        RAISE EXCEPTION '不是报告文档：document 应为 "disclosure-report/1"，收到 %',
            coalesce(p_doc ->> 'document', 'null') USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_typeof(p_doc -> 'year') <> 'number' OR jsonb_typeof(p_doc -> 'tables') <> 'object' THEN
        RAISE EXCEPTION '报告文档缺少 year 或 tables' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- a report that does not say whose numbers it gives is "unknown", never office by default
    IF scope_ IS NULL OR scope_ NOT IN ('office', 'jurisdiction', 'unknown') THEN
        RAISE EXCEPTION 'scope 应为 "office"、"jurisdiction" 或 "unknown"，收到 %', coalesce(p_doc ->> 'scope', '缺少')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = '报告没有说明数字是本机关的还是全辖区的，填 "unknown"。';
    END IF;
    IF jsonb_typeof(totals) <> 'object' THEN
        RAISE EXCEPTION 'published_totals 应为对象或 null' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    yr := (p_doc ->> 'year')::int;
    fmt := coalesce((p_doc ->> 'format')::smallint, CASE WHEN yr >= 2021 THEN 2021 ELSE 2019 END);
    is_legacy := coalesce((p_doc ->> 'legacy')::boolean, false) OR totals <> '{}';

    -- what only a publisher may do (issue 11): an editor could otherwise make
    -- agencies, or skip R1–R4 at publication by declaring a draft legacy
    IF is_legacy AND NOT disclosure.caller_is_publisher() THEN
        RAISE EXCEPTION '只有发布人（disclosure_publisher）可以导入原发布报告（legacy、published_totals）'
            USING ERRCODE = 'insufficient_privilege';
    END IF;

    IF is_legacy AND p_doc ->> 'published_at' IS NOT NULL THEN
        BEGIN
            pub_at := (p_doc ->> 'published_at')::timestamptz;
        EXCEPTION WHEN OTHERS THEN
            RAISE EXCEPTION 'published_at：“%” 不是带时区的 ISO 8601 时间', p_doc ->> 'published_at'
                USING ERRCODE = 'invalid_datetime_format';
        END;
        IF pub_at > now() THEN
            RAISE EXCEPTION 'published_at：% 晚于现在', p_doc ->> 'published_at'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;

    -- the agency: an existing one, or a new one described by the document
    SELECT id INTO aid FROM disclosure.agency a WHERE a.slug = a_slug;
    IF NOT FOUND THEN
        IF NOT disclosure.caller_is_publisher() THEN
            RAISE EXCEPTION '没有机关 “%”；只有发布人（disclosure_publisher）可以新建机关', a_slug
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        INSERT INTO disclosure.agency (slug, name, kind, parent_id)
        VALUES (a_slug, p_doc #>> '{agency,name}', p_doc #>> '{agency,kind}',
                (SELECT id FROM disclosure.agency p WHERE p.slug = p_doc #>> '{agency,parent,slug}'))
        RETURNING id INTO aid;
    END IF;

    SELECT id INTO rid FROM disclosure.report WHERE agency_id = aid AND year = yr;
    IF FOUND THEN
        SELECT * INTO v FROM disclosure.revision WHERE report_id = rid AND status = 'draft';
        IF NOT FOUND THEN
            RAISE EXCEPTION '机关 “%” 已有 % 年度的已发布报告', a_slug, yr
                USING ERRCODE = 'unique_violation',
                      HINT = '先用 disclosure.revise(机关, 年度, 原因) 建立更正草稿，再导入。';
        END IF;
        -- the draft is replaced by the document
        DELETE FROM disclosure.revision WHERE id = v.id;
        INSERT INTO disclosure.revision (report_id, revision, format, scope, reason)
             VALUES (rid, v.revision, fmt, scope_, v.reason)
          RETURNING id INTO rev;
    ELSE
        INSERT INTO disclosure.report (agency_id, year) VALUES (aid, yr) RETURNING id INTO rid;
        INSERT INTO disclosure.revision (report_id, revision, format, scope)
             VALUES (rid, 1, fmt, scope_)
          RETURNING id INTO rev;
    END IF;
    UPDATE disclosure.revision
       SET source_url = p_doc ->> 'source_url', index_no = p_doc ->> 'index_no',
           legacy = is_legacy, source_published_at = pub_at
     WHERE id = rev;

    -- every key of the document must be a cell of the format (the merged
    -- （六） row of a 2021 report only in published_totals)
    FOR k IN SELECT t.key AS tbl, r.key AS row_key, c.key AS col_key, 'tables' AS part
               FROM jsonb_each(p_doc -> 'tables') t, jsonb_each(t.value) r, jsonb_each(r.value) c
             UNION ALL
             SELECT t.key, r.key, c.key, 'published_totals'
               FROM jsonb_each(totals) t, jsonb_each(t.value) r, jsonb_each(r.value) c LOOP
        IF NOT EXISTS (SELECT 1 FROM disclosure.format_cell f
                        WHERE f.format = fmt AND f.tbl = k.tbl AND f.row_key = k.row_key AND f.col_key = k.col_key)
           AND (k.part = 'tables' OR (disclosure.merged_other_cell(fmt, k.tbl, k.row_key, k.col_key)).format IS NULL) THEN
            RAISE EXCEPTION '%.%.%.%：% 版格式中没有这个单元格', k.part, k.tbl, k.row_key, k.col_key, fmt
                USING ERRCODE = 'foreign_key_violation', HINT = '键见 format/cells.tsv。';
        END IF;
    END LOOP;

    FOR k IN SELECT * FROM disclosure.format_cell f WHERE f.format = fmt AND f.kind = 'input' ORDER BY f.ord LOOP
        where_ := format('tables.%s.%s.%s', k.tbl, k.row_key, k.col_key);
        got := disclosure.doc_cell(p_doc -> 'tables' -> k.tbl -> k.row_key -> k.col_key, where_);
        INSERT INTO disclosure.cell (revision_id, format, tbl, row_key, col_key, given, value)
             VALUES (rev, fmt, k.tbl, k.row_key, k.col_key, got.given, got.value);
    END LOOP;

    IF totals #> '{applications,other}' IS NOT NULL AND EXISTS (
           SELECT 1 FROM disclosure.cell c
            WHERE c.revision_id = rev AND c.tbl = 'applications'
              AND c.row_key IN ('other_no_correction', 'other_unpaid_fee', 'other_misc')
              AND c.given <> 'not_printed') THEN
        RAISE EXCEPTION 'published_totals.applications.other：（六）其他处理按一行发布时，三个分项行（other_no_correction、other_unpaid_fee、other_misc）的每一格都应为 "not_printed"'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    FOR k IN SELECT t.key AS tbl, r.key AS row_key, x.key AS col_key, x.value
               FROM jsonb_each(totals) t, jsonb_each(t.value) r, jsonb_each(r.value) x LOOP
        got := disclosure.doc_cell(k.value, format('published_totals.%s.%s.%s', k.tbl, k.row_key, k.col_key));
        INSERT INTO disclosure.published_total (revision_id, format, tbl, row_key, col_key, given, value)
             VALUES (rev, fmt, k.tbl, k.row_key, k.col_key, got.given, got.value);
    END LOOP;

    INSERT INTO disclosure.section_text (revision_id, format, section, part)
    SELECT rev, s.format, s.section, s.part
      FROM disclosure.format_section s WHERE s.format = fmt AND s.part <> '';
    FOR k IN SELECT s ->> 'key' AS section, p ->> 'key' AS part, p ->> 'text' AS body
               FROM jsonb_array_elements(coalesce(p_doc -> 'sections', '[]')) s,
                    jsonb_array_elements(coalesce(s -> 'parts', '[]')) p LOOP
        UPDATE disclosure.section_text SET body = coalesce(k.body, '')
         WHERE revision_id = rev AND section = k.section AND part = k.part;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'sections.%.%：% 版格式中没有这个叙述部分', k.section, k.part, fmt
                USING ERRCODE = 'foreign_key_violation', HINT = '键见 format/sections.tsv。';
        END IF;
    END LOOP;
    RETURN rev;
END
$$;
COMMENT ON FUNCTION disclosure.import_report(jsonb) IS
    'takes a report document back as a draft (new, or replacing the draft); totals are derived, published_totals kept; new agencies and legacy documents need disclosure_publisher';

REVOKE EXECUTE ON FUNCTION disclosure.merged_other_cell(smallint, text, text, text),
                           disclosure.tables_json(int, text),
                           disclosure.caller_is_publisher() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.merged_other_cell(smallint, text, text, text),
                          disclosure.tables_json(int, text),
                          disclosure.caller_is_publisher() TO disclosure_editor;

-- The stored documents of published revisions follow: a legacy report's
-- tables now give its printed totals, a total of nothing is blank, not 0.
-- What was published is unchanged; only how the document spells it.  The
-- data version moves without a notification, so every cache drops all of
-- its entries at its next poll.
UPDATE disclosure.published_document d SET document = disclosure.report_document(d.revision_id);
UPDATE disclosure.data_version SET version = version + 1, changed_at = clock_timestamp();

-- CSV of cells as the module now serves it: "table,row,col,value,derived";
-- a total line is checked against the derived column when it has one, else
-- against value (the four-column form is still read)
CREATE OR REPLACE FUNCTION disclosure.import_cells_csv(p_agency text, p_year int, p_csv text)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    rev   int := disclosure.draft_of(p_agency, p_year);
    fmt   smallint := (SELECT format FROM disclosure.revision WHERE id = rev);
    line  record;
    f     text[];
    val   text;
    n     int := 0;
    cell  disclosure.format_cell;
    totals text[] := '{}';
    got   numeric;
    five  boolean := false;
BEGIN
    FOR line IN SELECT l.text, l.no
                  FROM regexp_split_to_table(ltrim(p_csv, E'\uFEFF'), E'\r?\n') WITH ORDINALITY AS l(text, no) LOOP
        IF line.text ~ '^"?table"?,' THEN
            five := line.text ~ ',"?derived"?\s*$';
            CONTINUE;
        END IF;
        CONTINUE WHEN btrim(line.text) = '';
        f := regexp_split_to_array(line.text, ',');
        IF array_length(f, 1) < 4 + five::int THEN
            RAISE EXCEPTION 'CSV 第 % 行：应为 table,row,col,value%，收到 “%”', line.no,
                CASE WHEN five THEN ',derived' ELSE '' END, line.text
                USING ERRCODE = 'invalid_text_representation';
        END IF;
        -- a derived total, where given, is what the parts must add up to
        val := CASE WHEN five AND btrim(f[array_length(f, 1)], ' "') <> '' THEN f[array_length(f, 1)]
                    WHEN five THEN array_to_string(f[4:array_length(f, 1) - 1], ',')
                    ELSE array_to_string(f[4:], ',') END;
        IF val ~ '^".*"$' THEN
            val := replace(substr(val, 2, length(val) - 2), '""', '"');
        END IF;
        SELECT * INTO cell FROM disclosure.format_cell c
         WHERE c.format = fmt AND c.tbl = btrim(f[1], ' "') AND c.row_key = btrim(f[2], ' "')
           AND c.col_key = btrim(f[3], ' "');
        IF NOT FOUND THEN
            RAISE EXCEPTION 'CSV 第 % 行：% 版格式中没有单元格 %.%.%', line.no, fmt, f[1], f[2], f[3]
                USING ERRCODE = 'foreign_key_violation', HINT = '键见 format/cells.tsv。';
        END IF;
        IF cell.kind = 'total' THEN
            totals := totals || ARRAY[cell.tbl, cell.row_key, cell.col_key, val, line.no::text];
            CONTINUE;
        END IF;
        BEGIN
            PERFORM disclosure.set_cell(rev, cell.tbl, cell.row_key, cell.col_key, val);
        EXCEPTION WHEN OTHERS THEN
            RAISE EXCEPTION 'CSV 第 % 行：%', line.no, SQLERRM USING ERRCODE = SQLSTATE;
        END;
        n := n + 1;
    END LOOP;
    FOR i IN 1 .. coalesce(array_length(totals, 1), 0) / 5 LOOP
        SELECT value INTO got FROM disclosure.cell_value
         WHERE revision_id = rev AND tbl = totals[i * 5 - 4] AND row_key = totals[i * 5 - 3]
           AND col_key = totals[i * 5 - 2];
        IF (disclosure.parse_cell(totals[i * 5 - 1])).value IS DISTINCT FROM got THEN
            RAISE EXCEPTION 'CSV 第 % 行：% 的合计写作 “%”，分项之和为 %', totals[i * 5],
                disclosure.cell_name(fmt, totals[i * 5 - 4], totals[i * 5 - 3], totals[i * 5 - 2]),
                totals[i * 5 - 1], coalesce(got::text, '空白')
                USING ERRCODE = 'check_violation';
        END IF;
    END LOOP;
    RETURN n;
END
$$;
