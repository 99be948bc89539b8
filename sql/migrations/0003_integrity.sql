-- What the database refuses outright, whoever writes: bad values (R5, R6),
-- totals typed by hand, and any change to a published revision.

-- label of a cell for messages: 'applications.received.natural_person（一、本年新收… · 自然人）'
CREATE FUNCTION disclosure.cell_name(p_format smallint, p_tbl text, p_row text, p_col text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT p_tbl || '.' || p_row || '.' || p_col ||
           coalesce('（' || (SELECT f.row_label || ' · ' || f.col_label
                               FROM disclosure.format_cell f
                              WHERE f.format = p_format AND f.tbl = p_tbl
                                AND f.row_key = p_row AND f.col_key = p_col) || '）', '')
$$;

-- cells, narrative and printed totals change only while their revision is a draft
CREATE FUNCTION disclosure.refuse_unless_draft() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    rev int := CASE WHEN TG_OP = 'DELETE' THEN OLD.revision_id ELSE NEW.revision_id END;
    st  record;
BEGIN
    SELECT v.status, v.revision INTO st FROM disclosure.revision v WHERE v.id = rev;
    IF TG_OP = 'UPDATE' AND OLD.revision_id <> NEW.revision_id THEN
        RAISE EXCEPTION '不能把内容移到另一个修订版本 (revision_id % → %)',
            OLD.revision_id, NEW.revision_id;
    END IF;
    IF FOUND AND st.status <> 'draft' THEN
        RAISE EXCEPTION '报告已发布，不可修改（修订版本 % 的状态为 %）', st.revision, st.status
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = '更正已发布的报告：SELECT disclosure.revise(机关, 年度, 更正原因); 修改新的草稿后再发布。';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE TRIGGER cell_only_in_draft BEFORE INSERT OR UPDATE OR DELETE
    ON disclosure.cell FOR EACH ROW EXECUTE FUNCTION disclosure.refuse_unless_draft();
CREATE TRIGGER section_text_only_in_draft BEFORE INSERT OR UPDATE OR DELETE
    ON disclosure.section_text FOR EACH ROW EXECUTE FUNCTION disclosure.refuse_unless_draft();
CREATE TRIGGER published_total_only_in_draft BEFORE INSERT OR UPDATE OR DELETE
    ON disclosure.published_total FOR EACH ROW EXECUTE FUNCTION disclosure.refuse_unless_draft();

-- R5, R6: counts are integers >= 0 (2019's 本年增/减 may be negative);
-- amounts are exact decimals >= 0; totals are derived and never entered
CREATE FUNCTION disclosure.validate_cell() RETURNS trigger
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
    IF NOT FOUND THEN
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

CREATE TRIGGER cell_validate BEFORE INSERT OR UPDATE
    ON disclosure.cell FOR EACH ROW EXECUTE FUNCTION disclosure.validate_cell();
CREATE TRIGGER published_total_validate BEFORE INSERT OR UPDATE
    ON disclosure.published_total FOR EACH ROW EXECUTE FUNCTION disclosure.validate_cell();

CREATE FUNCTION disclosure.validate_section_text() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    SELECT v.format INTO NEW.format FROM disclosure.revision v WHERE v.id = NEW.revision_id;
    IF NOT EXISTS (SELECT 1 FROM disclosure.format_section s
                    WHERE s.format = NEW.format AND s.section = NEW.section
                      AND s.part = NEW.part AND s.part <> '') THEN
        RAISE EXCEPTION '% 格式中没有叙述部分 %.%', NEW.format, NEW.section, NEW.part
            USING ERRCODE = 'foreign_key_violation',
                  HINT = '章节与部分的键见 format/sections.tsv。';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER section_text_validate BEFORE INSERT OR UPDATE
    ON disclosure.section_text FOR EACH ROW EXECUTE FUNCTION disclosure.validate_section_text();

-- a revision moves draft → published → withdrawn, and nothing else about a
-- published revision changes; published revisions are never deleted
CREATE FUNCTION disclosure.guard_revision() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION '已发布的修订版本不能删除 (revision %)', OLD.revision
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        RETURN OLD;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'draft' THEN
            RAISE EXCEPTION '新的修订版本必须是草稿；发布请用 disclosure.publish()'
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.status = 'draft' THEN
        IF NEW.format <> OLD.format THEN
            RAISE EXCEPTION '草稿的格式版本不能直接修改；请删除草稿后用 new_report(机关, 年度, 格式) 重建';
        END IF;
        IF NEW.status NOT IN ('draft', 'published') THEN
            RAISE EXCEPTION '草稿只能发布，不能直接撤回';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.status = 'published' AND NEW.status = 'withdrawn'
       AND (NEW.report_id, NEW.revision, NEW.format, NEW.scope, NEW.reason, NEW.source_url,
            NEW.index_no, NEW.legacy, NEW.published_at, NEW.published_by)
           IS NOT DISTINCT FROM
           (OLD.report_id, OLD.revision, OLD.format, OLD.scope, OLD.reason, OLD.source_url,
            OLD.index_no, OLD.legacy, OLD.published_at, OLD.published_by) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '报告已发布，不可修改（修订版本 % 的状态为 %）', OLD.revision, OLD.status
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = '更正已发布的报告：SELECT disclosure.revise(机关, 年度, 更正原因);';
END
$$;

CREATE TRIGGER revision_guard BEFORE INSERT OR UPDATE OR DELETE
    ON disclosure.revision FOR EACH ROW EXECUTE FUNCTION disclosure.guard_revision();

-- a report with a published revision is never deleted (its revisions cascade)
CREATE FUNCTION disclosure.guard_report() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM disclosure.revision
                WHERE report_id = OLD.id AND status <> 'draft') THEN
        RAISE EXCEPTION '已发布的报告不能删除；需要撤回时用 disclosure.withdraw()'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.agency_id, NEW.year) IS DISTINCT FROM (OLD.agency_id, OLD.year) THEN
        RAISE EXCEPTION '已发布的报告不能改机关或年度';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE TRIGGER report_guard BEFORE UPDATE OR DELETE
    ON disclosure.report FOR EACH ROW EXECUTE FUNCTION disclosure.guard_report();
