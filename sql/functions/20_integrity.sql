-- Integrity: the trigger functions that keep published revisions frozen,
-- cells and narrative valid, and slugs off the reserved words.  The
-- triggers themselves belong to their tables, in the versioned migrations
-- (0003_integrity.sql, 0040_across_reports.sql).
--
-- A repeatable file (README, "Migrations").

-- cells, narrative and printed totals change only while their revision is a draft
CREATE OR REPLACE FUNCTION disclosure.refuse_unless_draft() RETURNS trigger
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
REVOKE EXECUTE ON FUNCTION disclosure.refuse_unless_draft() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.refuse_unless_draft() TO disclosure_editor;

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
REVOKE EXECUTE ON FUNCTION disclosure.validate_cell() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.validate_cell() TO disclosure_editor;

CREATE OR REPLACE FUNCTION disclosure.validate_section_text() RETURNS trigger
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
REVOKE EXECUTE ON FUNCTION disclosure.validate_section_text() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.validate_section_text() TO disclosure_editor;

-- a revision moves draft → published → withdrawn, and nothing else about a
-- published revision changes; published revisions are never deleted
CREATE OR REPLACE FUNCTION disclosure.guard_revision() RETURNS trigger
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
REVOKE EXECUTE ON FUNCTION disclosure.guard_revision() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.guard_revision() TO disclosure_editor;

-- a report with a published revision is never deleted (its revisions cascade)
CREATE OR REPLACE FUNCTION disclosure.guard_report() RETURNS trigger
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
REVOKE EXECUTE ON FUNCTION disclosure.guard_report() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.guard_report() TO disclosure_editor;

CREATE OR REPLACE FUNCTION disclosure.slug_refusal(p_slug text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p_slug ~ '^[0-9]+$' THEN
            format('机构标识“%s”只有数字，会被当作年份（/%s/ 是年度页面）', p_slug, p_slug)
        WHEN EXISTS (SELECT 1 FROM disclosure.reserved_word w WHERE w.word = p_slug) THEN
            format('机构标识“%s”是保留字（%s）', p_slug,
                   (SELECT w.why FROM disclosure.reserved_word w WHERE w.word = p_slug))
        END
$$;
-- PUBLIC kept EXECUTE from 0040 (README, "Migrations"): no USAGE on the schema
GRANT EXECUTE ON FUNCTION disclosure.slug_refusal(text) TO disclosure_editor;

CREATE OR REPLACE FUNCTION disclosure.check_slug() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    why text := disclosure.slug_refusal(NEW.slug);
BEGIN
    IF why IS NOT NULL THEN
        RAISE EXCEPTION '%', why USING ERRCODE = 'check_violation',
            HINT = 'SELECT word FROM disclosure.reserved_word; 机构标识不能只有数字';
    END IF;
    RETURN NEW;
END
$$;
-- PUBLIC kept EXECUTE from 0040 (README, "Migrations"): no USAGE on the schema
