-- The views editors type into: the four table grids, the narrative and the
-- reports, each with its INSTEAD OF trigger (a trigger on a view lives with
-- the view, so that a versioned migration may drop and this file remake it).
--
-- A repeatable file (README, "Migrations").

-- Grid views: one row per table row, one column per table column, totals
-- shown and read-only.  Cells read and write as text: a number, NULL (blank)
-- or '/'.  Generated from format_cell, so a column is never typed twice.
CREATE OR REPLACE FUNCTION disclosure.grid_update() RETURNS trigger
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
REVOKE EXECUTE ON FUNCTION disclosure.grid_update() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.grid_update() TO disclosure_editor;

-- The four grids (0005_workflow.sql made them, 0020_as_printed.sql made them
-- show a total as a cell is shown: a number, NULL (blank) or 未列出), with
-- their INSTEAD OF trigger and the editors' grant, from format_cell.  A
-- column added at the end of a table comes in here; one added elsewhere or
-- removed needs a versioned migration that drops the grid first.
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
        EXECUTE format('GRANT SELECT, UPDATE ON disclosure.%I TO disclosure_editor', g.v);
        EXECUTE format('CREATE OR REPLACE TRIGGER %I INSTEAD OF UPDATE ON disclosure.%I
                        FOR EACH ROW EXECUTE FUNCTION disclosure.grid_update(%L)', g.v || '_update', g.v, g.tbl);
    END LOOP;
END
$$;

CREATE OR REPLACE VIEW disclosure.sections_grid AS
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
GRANT SELECT, UPDATE ON disclosure.sections_grid TO disclosure_editor;
CREATE OR REPLACE TRIGGER sections_grid_update
    INSTEAD OF UPDATE ON disclosure.sections_grid
    FOR EACH ROW EXECUTE FUNCTION disclosure.sections_grid_update();

CREATE OR REPLACE FUNCTION disclosure.sections_grid_update() RETURNS trigger
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
REVOKE EXECUTE ON FUNCTION disclosure.sections_grid_update() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.sections_grid_update() TO disclosure_editor;

-- the reports, for editors: scope, source_url and index_no of a draft can be changed here
CREATE OR REPLACE VIEW disclosure.reports AS
SELECT cr.agency, a.name AS agency_name, cr.year, cr.revision, cr.status, cr.format,
       v.scope, v.source_url, v.index_no, v.legacy, v.published_at, cr.revision_id
  FROM disclosure.current_revision cr
  JOIN disclosure.agency a ON a.id = cr.agency_id
  JOIN disclosure.revision v ON v.id = cr.revision_id
 ORDER BY cr.agency, cr.year;
GRANT SELECT, UPDATE ON disclosure.reports TO disclosure_editor;
CREATE OR REPLACE TRIGGER reports_update
    INSTEAD OF UPDATE ON disclosure.reports
    FOR EACH ROW EXECUTE FUNCTION disclosure.reports_update();

CREATE OR REPLACE FUNCTION disclosure.reports_update() RETURNS trigger
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
REVOKE EXECUTE ON FUNCTION disclosure.reports_update() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.reports_update() TO disclosure_editor;
