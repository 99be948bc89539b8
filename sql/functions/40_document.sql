-- The report document (doc/report-document.md): written from a revision
-- (report_document, export_report) and read back (import_report,
-- import_cells_csv), losslessly.
--
-- A repeatable file (README, "Migrations").

CREATE OR REPLACE FUNCTION disclosure.json_time(p timestamptz)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(p AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"')
$$;
REVOKE EXECUTE ON FUNCTION disclosure.json_time(timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.json_time(timestamp with time zone) TO disclosure_editor;

-- a cell in a document: a number, null (blank), "/" (slash), "not_printed"
CREATE OR REPLACE FUNCTION disclosure.json_cell(p_given text, p_value numeric)
RETURNS json LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_given WHEN 'number' THEN to_json(p_value)
                        WHEN 'slash' THEN to_json('/'::text)
                        WHEN 'not_printed' THEN to_json('not_printed'::text)
                        ELSE 'null'::json END
$$;
REVOKE EXECUTE ON FUNCTION disclosure.json_cell(text,numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.json_cell(text,numeric) TO disclosure_editor;

CREATE OR REPLACE FUNCTION disclosure.tables_json(p_revision_id int, p_which text)
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
REVOKE EXECUTE ON FUNCTION disclosure.tables_json(integer,text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.tables_json(integer,text) TO disclosure_editor;

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
REVOKE EXECUTE ON FUNCTION disclosure.report_document(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.report_document(integer) TO disclosure_editor;

CREATE OR REPLACE FUNCTION disclosure.export_report(p_agency text, p_year int, p_draft boolean DEFAULT false)
RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
    rid int := disclosure.find_report(p_agency, p_year);
    rev int;
BEGIN
    IF p_draft THEN
        rev := disclosure.draft_of(p_agency, p_year);
    ELSE
        SELECT revision_id INTO rev FROM disclosure.public_revision WHERE report_id = rid;
        IF rev IS NULL THEN
            RAISE EXCEPTION '“%” % 年度的报告尚未发布', p_agency, p_year
                USING ERRCODE = 'no_data_found',
                      HINT = '导出草稿：SELECT disclosure.export_report(机关, 年度, true);';
        END IF;
    END IF;
    RETURN disclosure.report_document(rev);
END
$$;
COMMENT ON FUNCTION disclosure.export_report(text,integer,boolean) IS
    'the report document (doc/report-document.md) of the latest publication, or of the draft';
REVOKE EXECUTE ON FUNCTION disclosure.export_report(text,integer,boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.export_report(text,integer,boolean) TO disclosure_editor;

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
REVOKE EXECUTE ON FUNCTION disclosure.doc_cell(jsonb,text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.doc_cell(jsonb,text) TO disclosure_editor;

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
REVOKE EXECUTE ON FUNCTION disclosure.import_report(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.import_report(jsonb) TO disclosure_editor;

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
COMMENT ON FUNCTION disclosure.import_cells_csv(text,integer,text) IS
    'sets the draft''s cells from CSV lines table,row,col,value (keys of format/cells.tsv); returns the number of cells set';
REVOKE EXECUTE ON FUNCTION disclosure.import_cells_csv(text,integer,text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.import_cells_csv(text,integer,text) TO disclosure_editor;
