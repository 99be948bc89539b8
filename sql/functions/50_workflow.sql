-- The editors' workflow (README, "Editors' workflow"): a draft is made,
-- filled, checked, published, revised, withdrawn or deleted.  The functions
-- a publisher calls check the caller themselves (caller_is_publisher).
--
-- A repeatable file (README, "Migrations").

-- who may do what a publisher does, inside a SECURITY DEFINER function: there
-- current_user is the function's owner, so the login role (session_user) is
-- asked; a publisher who SET ROLE disclosure_editor is still a publisher
CREATE OR REPLACE FUNCTION disclosure.caller_is_publisher()
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT pg_has_role(session_user, 'disclosure_publisher', 'MEMBER')
$$;
REVOKE EXECUTE ON FUNCTION disclosure.caller_is_publisher() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.caller_is_publisher() TO disclosure_editor;

CREATE OR REPLACE FUNCTION disclosure.find_report(p_agency text, p_year int)
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
REVOKE EXECUTE ON FUNCTION disclosure.find_report(text,integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.find_report(text,integer) TO disclosure_editor;

CREATE OR REPLACE FUNCTION disclosure.draft_of(p_agency text, p_year int)
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
REVOKE EXECUTE ON FUNCTION disclosure.draft_of(text,integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.draft_of(text,integer) TO disclosure_editor;

CREATE OR REPLACE FUNCTION disclosure.set_cell(p_revision_id int, p_tbl text, p_row text, p_col text, p_text text)
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
REVOKE EXECUTE ON FUNCTION disclosure.set_cell(integer,text,text,text,text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.set_cell(integer,text,text,text,text) TO disclosure_editor;

CREATE OR REPLACE FUNCTION disclosure.new_report(p_agency text, p_year int, p_format int DEFAULT NULL,
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
COMMENT ON FUNCTION disclosure.new_report(text,integer,integer,text) IS
    'a draft with every input cell 0 and 上年结转 copied from last year''s 结转下年度继续办理';
REVOKE EXECUTE ON FUNCTION disclosure.new_report(text,integer,integer,text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.new_report(text,integer,integer,text) TO disclosure_editor;

CREATE OR REPLACE FUNCTION disclosure.check_report(p_agency text, p_year int)
RETURNS TABLE (rule text, severity text, tbl text, row_key text, col_key text, message text)
LANGUAGE sql AS $$
    SELECT * FROM disclosure.check_revision(
        (SELECT revision_id FROM disclosure.current_revision
          WHERE report_id = disclosure.find_report(p_agency, p_year)))
$$;
COMMENT ON FUNCTION disclosure.check_report(text,integer) IS
    'findings of R1–R14 for the draft of a report (or its latest publication)';
REVOKE EXECUTE ON FUNCTION disclosure.check_report(text,integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.check_report(text,integer) TO disclosure_editor;

-- publish: a legacy report is published as it was printed, its R1–R4 and R12
-- findings shown on the page; revision 1 of an imported legacy report keeps
-- the date it was first published at its source
CREATE OR REPLACE FUNCTION disclosure.publish(p_agency text, p_year int, p_published_at timestamptz DEFAULT NULL)
RETURNS int LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    rev     disclosure.revision;
    errors  text;
    n       int;
    at_     timestamptz;
BEGIN
    SELECT * INTO rev FROM disclosure.revision WHERE id = disclosure.draft_of(p_agency, p_year)
       FOR UPDATE;
    SELECT count(*), string_agg(c.rule || ' ' || c.message, E'\n')
      INTO n, errors
      FROM disclosure.check_revision(rev.id) c
     WHERE c.severity = 'error' AND NOT (rev.legacy AND c.rule IN ('R1', 'R2', 'R3', 'R4', 'R12'));
    IF n > 0 THEN
        RAISE EXCEPTION '报告未发布：“%” % 年度有 % 处错误', p_agency, p_year, n
            USING ERRCODE = 'check_violation', DETAIL = errors,
                  HINT = format('SELECT * FROM disclosure.check_report(%L, %s);', p_agency, p_year);
    END IF;
    at_ := coalesce(p_published_at, CASE WHEN rev.legacy AND rev.revision = 1 THEN rev.source_published_at END);
    IF at_ > now() OR at_ < (
           SELECT max(published_at) FROM disclosure.revision WHERE report_id = rev.report_id) THEN
        RAISE EXCEPTION '发布时间 % 不能晚于现在，也不能早于上一修订版本', at_
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE disclosure.revision
       SET status = 'published', published_at = coalesce(at_, now()), published_by = session_user
     WHERE id = rev.id;
    INSERT INTO disclosure.published_document VALUES (rev.id, disclosure.report_document(rev.id));
    PERFORM disclosure.announce(rev.report_id, rev.revision);
    RETURN rev.revision;
END
$$;
COMMENT ON FUNCTION disclosure.publish(text,integer,timestamp with time zone) IS
    'publishes the draft, refused while check_report finds an error; sends NOTIFY disclosure';
REVOKE EXECUTE ON FUNCTION disclosure.publish(text,integer,timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.publish(text,integer,timestamp with time zone) TO disclosure_publisher;

CREATE OR REPLACE FUNCTION disclosure.revise(p_agency text, p_year int, p_reason text)
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
COMMENT ON FUNCTION disclosure.revise(text,integer,text) IS
    'starts a correction: a new draft revision, a copy of the latest one, with the reason';
REVOKE EXECUTE ON FUNCTION disclosure.revise(text,integer,text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.revise(text,integer,text) TO disclosure_publisher;

CREATE OR REPLACE FUNCTION disclosure.withdraw(p_agency text, p_year int, p_reason text)
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
REVOKE EXECUTE ON FUNCTION disclosure.withdraw(text,integer,text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.withdraw(text,integer,text) TO disclosure_publisher;

CREATE OR REPLACE FUNCTION disclosure.delete_draft(p_agency text, p_year int)
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
REVOKE EXECUTE ON FUNCTION disclosure.delete_draft(text,integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.delete_draft(text,integer) TO disclosure_editor;
