-- The editors' workflow: new_report, grid views edited in place, check_report,
-- publish, revise, withdraw, and the JSON and CSV ways in and out.

CREATE FUNCTION disclosure.find_report(p_agency text, p_year int)
RETURNS int LANGUAGE plpgsql STABLE AS $$
DECLARE
    rid int;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM disclosure.agency WHERE slug = p_agency) THEN
        RAISE EXCEPTION '没有机关 “%”', p_agency
            USING ERRCODE = 'no_data_found', HINT = 'SELECT slug, name FROM disclosure.agency;';
    END IF;
    SELECT r.id INTO rid FROM disclosure.report r JOIN disclosure.agency a ON a.id = r.agency_id
     WHERE a.slug = p_agency AND r.year = p_year;
    IF NOT FOUND THEN
        RAISE EXCEPTION '机关 “%” 没有 % 年度的报告', p_agency, p_year
            USING ERRCODE = 'no_data_found', HINT = '新建：SELECT disclosure.new_report(机关, 年度);';
    END IF;
    RETURN rid;
END
$$;

CREATE FUNCTION disclosure.draft_of(p_agency text, p_year int)
RETURNS int LANGUAGE plpgsql STABLE AS $$
DECLARE
    rev int;
BEGIN
    SELECT v.id INTO rev FROM disclosure.revision v
     WHERE v.report_id = disclosure.find_report(p_agency, p_year) AND v.status = 'draft';
    IF NOT FOUND THEN
        RAISE EXCEPTION '“%” % 年度的报告没有草稿', p_agency, p_year
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = '更正已发布的报告：SELECT disclosure.revise(机关, 年度, 更正原因);';
    END IF;
    RETURN rev;
END
$$;

-- how an editor types a cell: a number, '' or NULL for blank, '/' for a slash
CREATE FUNCTION disclosure.parse_cell(p_text text, OUT given text, OUT value numeric)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    t text := btrim(p_text);
BEGIN
    IF t IS NULL OR t = '' THEN
        given := 'blank';
    ELSIF t IN ('/', '／') THEN
        given := 'slash';
    ELSIF t ~ '^[+-]?[0-9]+(\.[0-9]+)?$' THEN
        given := 'number';
        value := t::numeric;
    ELSE
        RAISE EXCEPTION '“%” 不是数字；单元格填数字、空白或 “/”', p_text
            USING ERRCODE = 'invalid_text_representation';
    END IF;
END
$$;

CREATE FUNCTION disclosure.cell_text(p_given text, p_value numeric)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_given WHEN 'number' THEN p_value::text WHEN 'slash' THEN '/' END
$$;

CREATE FUNCTION disclosure.set_cell(p_revision_id int, p_tbl text, p_row text, p_col text, p_text text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    c record := disclosure.parse_cell(p_text);
    fmt smallint;
BEGIN
    UPDATE disclosure.cell SET given = c.given, value = c.value
     WHERE revision_id = p_revision_id AND tbl = p_tbl AND row_key = p_row AND col_key = p_col;
    IF NOT FOUND THEN
        SELECT format INTO fmt FROM disclosure.revision WHERE id = p_revision_id;
        RAISE EXCEPTION '% 不是可以填写的单元格', disclosure.cell_name(fmt, p_tbl, p_row, p_col)
            USING ERRCODE = 'check_violation',
                  HINT = '合计由分项自动得出；表、行、列的键见 format/cells.tsv。';
    END IF;
END
$$;

CREATE FUNCTION disclosure.new_report(p_agency text, p_year int, p_format int DEFAULT NULL,
                                      p_scope text DEFAULT 'office')
RETURNS int LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    aid  int;
    rid  int;
    rev  int;
    fmt  smallint := coalesce(p_format, CASE WHEN p_year >= 2021 THEN 2021 ELSE 2019 END);
    prev int;
BEGIN
    SELECT id INTO aid FROM disclosure.agency WHERE slug = p_agency;
    IF NOT FOUND THEN
        RAISE EXCEPTION '没有机关 “%”', p_agency
            USING ERRCODE = 'no_data_found', HINT = 'SELECT slug, name FROM disclosure.agency;';
    END IF;
    IF EXISTS (SELECT 1 FROM disclosure.report WHERE agency_id = aid AND year = p_year) THEN
        RAISE EXCEPTION '机关 “%” 已有 % 年度的报告', p_agency, p_year
            USING ERRCODE = 'unique_violation',
                  HINT = '一个机关每年只有一份报告；更正已发布的报告用 disclosure.revise()。';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM disclosure.format WHERE format = fmt) THEN
        RAISE EXCEPTION '没有 % 版格式；可用 2021 或 2019', fmt USING ERRCODE = 'foreign_key_violation';
    END IF;

    INSERT INTO disclosure.report (agency_id, year) VALUES (aid, p_year) RETURNING id INTO rid;
    INSERT INTO disclosure.revision (report_id, revision, format, scope)
         VALUES (rid, 1, fmt, p_scope) RETURNING id INTO rev;

    -- every input cell 0; 上年结转 from last year's 结转下年度继续办理
    prev := disclosure.previous_revision(rev);
    INSERT INTO disclosure.cell (revision_id, format, tbl, row_key, col_key, given, value)
    SELECT rev, f.format, f.tbl, f.row_key, f.col_key,
           coalesce(l.given, 'number'), CASE WHEN l.given IS NULL THEN 0 ELSE l.value END
      FROM disclosure.format_cell f
      LEFT JOIN disclosure.cell l
        ON l.revision_id = prev AND f.tbl = 'applications' AND f.row_key = 'carried_over'
       AND l.tbl = 'applications' AND l.row_key = 'carried_forward' AND l.col_key = f.col_key
     WHERE f.format = fmt AND f.kind = 'input';

    INSERT INTO disclosure.section_text (revision_id, format, section, part)
    SELECT rev, s.format, s.section, s.part
      FROM disclosure.format_section s WHERE s.format = fmt AND s.part <> '';
    RETURN rev;
END
$$;
COMMENT ON FUNCTION disclosure.new_report(text, int, int, text) IS
    'a draft with every input cell 0 and 上年结转 copied from last year''s 结转下年度继续办理';

CREATE FUNCTION disclosure.check_report(p_agency text, p_year int)
RETURNS TABLE (rule text, severity text, tbl text, row_key text, col_key text, message text)
LANGUAGE sql AS $$
    SELECT * FROM disclosure.check_revision(
        (SELECT revision_id FROM disclosure.current_revision
          WHERE report_id = disclosure.find_report(p_agency, p_year)))
$$;
COMMENT ON FUNCTION disclosure.check_report(text, int) IS
    'findings of R1–R14 for the draft of a report (or its latest publication)';

CREATE FUNCTION disclosure.announce(p_report_id int, p_revision int)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    ver bigint;
BEGIN
    UPDATE disclosure.data_version SET version = version + 1, changed_at = clock_timestamp()
    RETURNING version INTO ver;
    PERFORM pg_notify('disclosure', json_build_object(
        'agency', a.slug, 'year', r.year, 'revision', p_revision, 'data_version', ver)::text)
       FROM disclosure.report r JOIN disclosure.agency a ON a.id = r.agency_id
      WHERE r.id = p_report_id;
END
$$;

-- p_published_at: when a report loaded from an old portal was first published there
CREATE FUNCTION disclosure.publish(p_agency text, p_year int, p_published_at timestamptz DEFAULT NULL)
RETURNS int LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    rev     disclosure.revision;
    errors  text;
    n       int;
BEGIN
    SELECT * INTO rev FROM disclosure.revision WHERE id = disclosure.draft_of(p_agency, p_year)
       FOR UPDATE;
    -- a legacy report is published as it was printed: its R1–R4 findings stay visible
    SELECT count(*), string_agg(c.rule || ' ' || c.message, E'\n')
      INTO n, errors
      FROM disclosure.check_revision(rev.id) c
     WHERE c.severity = 'error' AND NOT (rev.legacy AND c.rule IN ('R1', 'R2', 'R3', 'R4'));
    IF n > 0 THEN
        RAISE EXCEPTION '报告未发布：“%” % 年度有 % 处错误', p_agency, p_year, n
            USING ERRCODE = 'check_violation', DETAIL = errors,
                  HINT = format('SELECT * FROM disclosure.check_report(%L, %s);', p_agency, p_year);
    END IF;
    IF p_published_at > now() OR p_published_at < (
           SELECT max(published_at) FROM disclosure.revision WHERE report_id = rev.report_id) THEN
        RAISE EXCEPTION '发布时间 % 不能晚于现在，也不能早于上一修订版本', p_published_at
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE disclosure.revision
       SET status = 'published', published_at = coalesce(p_published_at, now()), published_by = session_user
     WHERE id = rev.id;
    INSERT INTO disclosure.published_document VALUES (rev.id, disclosure.report_document(rev.id));
    PERFORM disclosure.announce(rev.report_id, rev.revision);
    RETURN rev.revision;
END
$$;
COMMENT ON FUNCTION disclosure.publish(text, int, timestamptz) IS
    'publishes the draft, refused while check_report finds an error; sends NOTIFY disclosure';

CREATE FUNCTION disclosure.revise(p_agency text, p_year int, p_reason text)
RETURNS int LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    old  disclosure.revision;
    rev  int;
BEGIN
    IF btrim(coalesce(p_reason, '')) = '' THEN
        RAISE EXCEPTION '更正必须说明原因' USING ERRCODE = 'not_null_violation';
    END IF;
    SELECT v.* INTO old FROM disclosure.revision v
     WHERE v.report_id = disclosure.find_report(p_agency, p_year)
     ORDER BY v.revision DESC LIMIT 1;
    IF old.status = 'draft' THEN
        RAISE EXCEPTION '“%” % 年度已有草稿（修订版本 %），请直接修改它', p_agency, p_year, old.revision
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    INSERT INTO disclosure.revision (report_id, revision, format, scope, reason, source_url, index_no, legacy)
         VALUES (old.report_id, old.revision + 1, old.format, old.scope, p_reason,
                 old.source_url, old.index_no, old.legacy)
      RETURNING id INTO rev;
    INSERT INTO disclosure.cell (revision_id, format, tbl, row_key, col_key, given, value)
    SELECT rev, format, tbl, row_key, col_key, given, value FROM disclosure.cell WHERE revision_id = old.id;
    INSERT INTO disclosure.published_total (revision_id, format, tbl, row_key, col_key, given, value)
    SELECT rev, format, tbl, row_key, col_key, given, value FROM disclosure.published_total WHERE revision_id = old.id;
    INSERT INTO disclosure.section_text (revision_id, format, section, part, body)
    SELECT rev, format, section, part, body FROM disclosure.section_text WHERE revision_id = old.id;
    RETURN rev;
END
$$;
COMMENT ON FUNCTION disclosure.revise(text, int, text) IS
    'starts a correction: a new draft revision, a copy of the latest one, with the reason';

CREATE FUNCTION disclosure.withdraw(p_agency text, p_year int, p_reason text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    old disclosure.revision;
BEGIN
    IF btrim(coalesce(p_reason, '')) = '' THEN
        RAISE EXCEPTION '撤回必须说明原因' USING ERRCODE = 'not_null_violation';
    END IF;
    SELECT v.* INTO old FROM disclosure.revision v
     WHERE v.report_id = disclosure.find_report(p_agency, p_year) AND v.status = 'published'
     ORDER BY v.revision DESC LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION '“%” % 年度没有已发布的报告可撤回', p_agency, p_year
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE disclosure.revision SET status = 'withdrawn', withdrawn_at = now(), withdraw_reason = p_reason
     WHERE id = old.id;
    PERFORM disclosure.announce(old.report_id, old.revision);
END
$$;

CREATE FUNCTION disclosure.delete_draft(p_agency text, p_year int)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    rev disclosure.revision;
BEGIN
    SELECT * INTO rev FROM disclosure.revision WHERE id = disclosure.draft_of(p_agency, p_year);
    DELETE FROM disclosure.revision WHERE id = rev.id;
    IF rev.revision = 1 THEN
        DELETE FROM disclosure.report WHERE id = rev.report_id;
    END IF;
END
$$;

-- Grid views: one row per table row, one column per table column, totals
-- shown and read-only.  Cells read and write as text: a number, NULL (blank)
-- or '/'.  Generated from format_cell, so a column is never typed twice.
CREATE FUNCTION disclosure.grid_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    o   jsonb := to_jsonb(OLD);
    n   jsonb := to_jsonb(NEW);
    k   text;
    f   disclosure.format_cell;
BEGIN
    FOR k IN SELECT jsonb_object_keys(n) LOOP
        CONTINUE WHEN (o -> k) IS NOT DISTINCT FROM (n -> k);
        SELECT * INTO f FROM disclosure.format_cell c
         WHERE c.format = OLD.format AND c.tbl = TG_ARGV[0] AND c.row_key = OLD.row_key AND c.col_key = k;
        IF NOT FOUND THEN
            RAISE EXCEPTION '列 “%” 不能修改', k USING ERRCODE = 'check_violation';
        ELSIF f.kind <> 'input' THEN
            RAISE EXCEPTION '% 是合计，由分项自动得出，不能填写',
                disclosure.cell_name(f.format, f.tbl, f.row_key, f.col_key)
                USING ERRCODE = 'check_violation';
        END IF;
        PERFORM disclosure.set_cell(OLD.revision_id, f.tbl, f.row_key, f.col_key, n ->> k);
    END LOOP;
    RETURN NEW;
END
$$;

CREATE FUNCTION disclosure.make_grid(p_view text, p_tbl text, p_formats smallint[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    cols text;
BEGIN
    SELECT string_agg(format(
               'max(CASE WHEN c.col_key = %L THEN %s END) AS %I', col_key,
               CASE WHEN bool_and_kind THEN 'c.value::text' ELSE 'disclosure.cell_text(c.given, c.value)' END,
               col_key), E',\n           ' ORDER BY ord)
      INTO cols
      FROM (SELECT col_key, min(col_ord) AS ord, bool_and(kind = 'total') AS bool_and_kind
              FROM disclosure.format_cell
             WHERE tbl = p_tbl AND format = ANY (p_formats)
             GROUP BY col_key) x;
    EXECUTE format($v$
    CREATE VIEW disclosure.%I AS
    SELECT cr.agency, cr.year, cr.revision, cr.status, cr.revision_id, cr.format,
           min(c.row_ord) AS row_no, c.row_key, min(f.row_label) AS row_label,
           %s
      FROM disclosure.current_revision cr
      JOIN disclosure.cell_value c ON c.revision_id = cr.revision_id AND c.tbl = %L
      JOIN disclosure.format_cell f ON f.format = c.format AND f.tbl = c.tbl
           AND f.row_key = c.row_key AND f.col_key = c.col_key
     WHERE cr.format = ANY (%L)
     GROUP BY cr.agency, cr.year, cr.revision, cr.status, cr.revision_id, cr.format, c.row_key
     ORDER BY cr.agency, cr.year, row_no$v$, p_view, cols, p_tbl, p_formats);
    EXECUTE format('CREATE TRIGGER %I INSTEAD OF UPDATE ON disclosure.%I
                    FOR EACH ROW EXECUTE FUNCTION disclosure.grid_update(%L)',
                   p_view || '_update', p_view, p_tbl);
    EXECUTE format('COMMENT ON VIEW disclosure.%I IS %L', p_view,
                   'grid of table ' || p_tbl || ' for editors: UPDATE a cell with a number, NULL (blank) or ''/''; totals are derived');
END
$$;

DO $$
BEGIN
    PERFORM disclosure.make_grid('proactive_grid', 'proactive', '{2021}');
    PERFORM disclosure.make_grid('proactive_2019_grid', 'proactive', '{2019}');
    PERFORM disclosure.make_grid('applications_grid', 'applications', '{2021,2019}');
    PERFORM disclosure.make_grid('appeals_grid', 'appeals', '{2021,2019}');
END
$$;
DROP FUNCTION disclosure.make_grid(text, text, smallint[]);

CREATE VIEW disclosure.sections_grid AS
SELECT cr.agency, cr.year, cr.revision, cr.status, cr.revision_id, cr.format,
       s.ord AS part_no, s.section, s.part,
       concat_ws(' ', h.heading, nullif(s.heading, '')) AS heading, t.body
  FROM disclosure.current_revision cr
  JOIN disclosure.format_section s ON s.format = cr.format AND s.part <> ''
  JOIN disclosure.format_section h ON h.format = s.format AND h.section = s.section AND h.part = ''
  LEFT JOIN disclosure.section_text t
    ON t.revision_id = cr.revision_id AND t.section = s.section AND t.part = s.part
 ORDER BY cr.agency, cr.year, s.ord;
COMMENT ON VIEW disclosure.sections_grid IS
    'the narrative for editors: UPDATE body; paragraphs separated by newlines';

CREATE FUNCTION disclosure.sections_grid_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.agency, NEW.year, NEW.revision, NEW.section, NEW.part, NEW.heading)
       IS DISTINCT FROM (OLD.agency, OLD.year, OLD.revision, OLD.section, OLD.part, OLD.heading) THEN
        RAISE EXCEPTION '只有 body（正文）可以修改' USING ERRCODE = 'check_violation';
    END IF;
    UPDATE disclosure.section_text SET body = coalesce(NEW.body, '')
     WHERE revision_id = OLD.revision_id AND section = OLD.section AND part = OLD.part;
    IF NOT FOUND THEN
        INSERT INTO disclosure.section_text (revision_id, section, part, body)
             VALUES (OLD.revision_id, OLD.section, OLD.part, coalesce(NEW.body, ''));
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER sections_grid_update INSTEAD OF UPDATE ON disclosure.sections_grid
    FOR EACH ROW EXECUTE FUNCTION disclosure.sections_grid_update();

-- the reports, for editors: scope, source_url and index_no of a draft can be changed here
CREATE VIEW disclosure.reports AS
SELECT cr.agency, a.name AS agency_name, cr.year, cr.revision, cr.status, cr.format,
       v.scope, v.source_url, v.index_no, v.legacy, v.published_at, cr.revision_id
  FROM disclosure.current_revision cr
  JOIN disclosure.agency a ON a.id = cr.agency_id
  JOIN disclosure.revision v ON v.id = cr.revision_id
 ORDER BY cr.agency, cr.year;

CREATE FUNCTION disclosure.reports_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF (NEW.agency, NEW.agency_name, NEW.year, NEW.revision, NEW.status, NEW.format, NEW.legacy,
        NEW.published_at, NEW.revision_id)
       IS DISTINCT FROM (OLD.agency, OLD.agency_name, OLD.year, OLD.revision, OLD.status, OLD.format,
                         OLD.legacy, OLD.published_at, OLD.revision_id) THEN
        RAISE EXCEPTION '这里只能修改 scope、source_url、index_no' USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.status <> 'draft' THEN
        RAISE EXCEPTION '报告已发布，不可修改（修订版本 % 的状态为 %）', OLD.revision, OLD.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE disclosure.revision SET scope = NEW.scope, source_url = NEW.source_url, index_no = NEW.index_no
     WHERE id = OLD.revision_id;
    RETURN NEW;
END
$$;
CREATE TRIGGER reports_update INSTEAD OF UPDATE ON disclosure.reports
    FOR EACH ROW EXECUTE FUNCTION disclosure.reports_update();
