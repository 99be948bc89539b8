-- The report document (doc/report-document.md): export, import, CSV of cells.

CREATE FUNCTION disclosure.json_time(p timestamptz)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(p AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"')
$$;

CREATE FUNCTION disclosure.json_cell(p_given text, p_value numeric)
RETURNS json LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_given WHEN 'number' THEN to_json(p_value)
                        WHEN 'slash' THEN to_json('/'::text)
                        ELSE 'null'::json END
$$;

-- table → row → col → value in the format's order: every cell of a revision
-- (inputs as given, totals derived), or only the totals a legacy report printed
CREATE FUNCTION disclosure.tables_json(p_revision_id int, p_printed boolean)
RETURNS json LANGUAGE sql STABLE AS $$
    WITH c AS (
        SELECT c.tbl, c.row_key, c.col_key, c.ord, c.given, c.value
          FROM disclosure.cell_value c
         WHERE c.revision_id = p_revision_id AND NOT p_printed
        UNION ALL
        SELECT pt.tbl, pt.row_key, pt.col_key, f.ord, pt.given, pt.value
          FROM disclosure.published_total pt
          JOIN disclosure.format_cell f USING (format, tbl, row_key, col_key)
         WHERE pt.revision_id = p_revision_id AND p_printed
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
CREATE FUNCTION disclosure.report_document(p_revision_id int)
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
        'published_at', disclosure.json_time(v.published_at),
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
        'tables', disclosure.tables_json(v.id, false),
        'published_totals', disclosure.tables_json(v.id, true))
      FROM disclosure.revision v
      JOIN disclosure.report r ON r.id = v.report_id
      JOIN disclosure.agency a ON a.id = r.agency_id
     WHERE v.id = p_revision_id
$$;

CREATE FUNCTION disclosure.export_report(p_agency text, p_year int, p_draft boolean DEFAULT false)
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
COMMENT ON FUNCTION disclosure.export_report(text, int, boolean) IS
    'the report document (doc/report-document.md) of the latest publication, or of the draft';

-- one cell of a document: a number, null (blank) or "/" (slash)
CREATE FUNCTION disclosure.doc_cell(p jsonb, p_where text, OUT given text, OUT value numeric)
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    CASE jsonb_typeof(p)
    WHEN 'number' THEN given := 'number'; value := p::text::numeric;
    WHEN 'null' THEN given := 'blank';
    WHEN 'string' THEN
        IF p #>> '{}' IN ('/', '／') THEN
            given := 'slash';
        ELSE
            RAISE EXCEPTION '%：“%” 不是数字、null 或 "/"', p_where, p #>> '{}'
                USING ERRCODE = 'invalid_text_representation';
        END IF;
    ELSE
        RAISE EXCEPTION '%：缺少或不是数字（%）', p_where, coalesce(jsonb_typeof(p), '缺少')
            USING ERRCODE = 'invalid_text_representation';
    END CASE;
END
$$;

CREATE FUNCTION disclosure.import_report(p_doc jsonb)
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
BEGIN
    IF p_doc ->> 'document' IS DISTINCT FROM 'disclosure-report/1' THEN
        RAISE EXCEPTION '不是报告文档：document 应为 "disclosure-report/1"，收到 %',
            coalesce(p_doc ->> 'document', 'null') USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_typeof(p_doc -> 'year') <> 'number' OR jsonb_typeof(p_doc -> 'tables') <> 'object' THEN
        RAISE EXCEPTION '报告文档缺少 year 或 tables' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    yr := (p_doc ->> 'year')::int;
    fmt := coalesce((p_doc ->> 'format')::smallint, CASE WHEN yr >= 2021 THEN 2021 ELSE 2019 END);

    -- the agency: an existing one, or a new one described by the document
    SELECT id INTO aid FROM disclosure.agency a WHERE a.slug = a_slug;
    IF NOT FOUND THEN
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
             VALUES (rid, v.revision, fmt, coalesce(p_doc ->> 'scope', 'office'), v.reason)
          RETURNING id INTO rev;
    ELSE
        INSERT INTO disclosure.report (agency_id, year) VALUES (aid, yr) RETURNING id INTO rid;
        INSERT INTO disclosure.revision (report_id, revision, format, scope)
             VALUES (rid, 1, fmt, coalesce(p_doc ->> 'scope', 'office'))
          RETURNING id INTO rev;
    END IF;
    UPDATE disclosure.revision
       SET source_url = p_doc ->> 'source_url', index_no = p_doc ->> 'index_no',
           legacy = coalesce((p_doc ->> 'legacy')::boolean, false) OR p_doc ? 'published_totals'
                    AND jsonb_typeof(p_doc -> 'published_totals') = 'object'
     WHERE id = rev;

    -- every key of the document must be a cell of the format
    FOR k IN SELECT t.key AS tbl, r.key AS row_key, c.key AS col_key, 'tables' AS part
               FROM jsonb_each(p_doc -> 'tables') t, jsonb_each(t.value) r, jsonb_each(r.value) c
             UNION ALL
             SELECT t.key, r.key, c.key, 'published_totals'
               FROM jsonb_each(coalesce(nullif(p_doc -> 'published_totals', 'null'), '{}')) t,
                    jsonb_each(t.value) r, jsonb_each(r.value) c LOOP
        IF NOT EXISTS (SELECT 1 FROM disclosure.format_cell f
                        WHERE f.format = fmt AND f.tbl = k.tbl AND f.row_key = k.row_key AND f.col_key = k.col_key) THEN
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

    FOR k IN SELECT t.key AS tbl, r.key AS row_key, x.key AS col_key, x.value
               FROM jsonb_each(coalesce(nullif(p_doc -> 'published_totals', 'null'), '{}')) t,
                    jsonb_each(t.value) r, jsonb_each(r.value) x LOOP
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
    'takes a report document back as a draft (new, or replacing the draft); totals are derived, published_totals kept';

-- CSV of cells, "table,row,col,value", as the module serves it at .csv; total
-- lines are checked against the derived totals
CREATE FUNCTION disclosure.import_cells_csv(p_agency text, p_year int, p_csv text)
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
BEGIN
    FOR line IN SELECT l.text, l.no
                  FROM regexp_split_to_table(ltrim(p_csv, E'\uFEFF'), E'\r?\n') WITH ORDINALITY AS l(text, no) LOOP
        CONTINUE WHEN btrim(line.text) = '' OR line.text ~ '^"?table"?,';
        f := regexp_split_to_array(line.text, ',');
        IF array_length(f, 1) < 4 THEN
            RAISE EXCEPTION 'CSV 第 % 行：应为 table,row,col,value，收到 “%”', line.no, line.text
                USING ERRCODE = 'invalid_text_representation';
        END IF;
        val := array_to_string(f[4:], ',');
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
                totals[i * 5 - 1], got
                USING ERRCODE = 'check_violation';
        END IF;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION disclosure.import_cells_csv(text, int, text) IS
    'sets the draft''s cells from CSV lines table,row,col,value (keys of format/cells.tsv); returns the number of cells set';
