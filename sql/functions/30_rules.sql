-- The consistency rules R1–R16 (README, "Editors' workflow" and "Reports
-- as they were printed"): check_revision() returns one row per finding,
-- messages in Chinese naming the cells and the numbers.  The rules'
-- descriptions and the narrative patterns are data, in the versioned
-- migrations 0004_rules.sql and 0021_rules_as_printed.sql (0004's first
-- line points to a format/README.md that this repository never had: the
-- rules are documented in the README).
--
-- A repeatable file (README, "Migrations").

-- the revision of the year before, as it stands: published if any, else its draft
CREATE OR REPLACE FUNCTION disclosure.previous_revision(p_revision_id int)
RETURNS int LANGUAGE sql STABLE AS $$
    SELECT c.revision_id
      FROM disclosure.revision v
      JOIN disclosure.report r ON r.id = v.report_id
      JOIN disclosure.report p ON p.agency_id = r.agency_id AND p.year = r.year - 1
      JOIN LATERAL (
           SELECT pv.id AS revision_id FROM disclosure.revision pv
            WHERE pv.report_id = p.id
            ORDER BY (pv.status = 'published') DESC, (pv.status = 'draft') DESC, pv.revision DESC
            LIMIT 1) c ON true
     WHERE v.id = p_revision_id
$$;
REVOKE EXECUTE ON FUNCTION disclosure.previous_revision(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.previous_revision(integer) TO disclosure_editor;

CREATE OR REPLACE FUNCTION disclosure.check_revision(p_revision_id int)
RETURNS TABLE (rule text, severity text, tbl text, row_key text, col_key text, message text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v        disclosure.revision;
    a        disclosure.agency;
    yr       int;
    prev     int := disclosure.previous_revision(p_revision_id);
    deadline timestamptz;
    txt      text;
    p        disclosure.narrative_pattern;
    m        text[];
    want     numeric;
BEGIN
    SELECT * INTO v FROM disclosure.revision WHERE id = p_revision_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION '没有修订版本 %', p_revision_id;
    END IF;
    SELECT r.year INTO yr FROM disclosure.report r WHERE r.id = v.report_id;
    SELECT ag.* INTO a FROM disclosure.report r JOIN disclosure.agency ag ON ag.id = r.agency_id
     WHERE r.id = v.report_id;

    -- the cells, computed once for all the rules below
    IF to_regclass('pg_temp.disclosure_check_cells') IS NULL THEN
        CREATE TEMP TABLE disclosure_check_cells (LIKE disclosure.cell_value) ON COMMIT DROP;
    END IF;
    TRUNCATE pg_temp.disclosure_check_cells;
    INSERT INTO pg_temp.disclosure_check_cells SELECT * FROM disclosure.cell_value c WHERE c.revision_id = p_revision_id;

    -- R1: per column, with the totals as printed where a legacy report printed
    -- numbers; blank, slash and not printed count as nothing; a column of nothing
    -- is not checked
    RETURN QUERY
    WITH s AS (
        SELECT c.col_key, c.row_key,
               disclosure.shown_value(c.given, c.value, c.published_given, c.published_value) AS n
          FROM pg_temp.disclosure_check_cells c
         WHERE c.tbl = 'applications' AND c.row_key IN ('received', 'carried_over', 'closed_total', 'carried_forward')
    ), x AS (
        SELECT s.col_key,
               max(s.n) FILTER (WHERE s.row_key = 'received') AS received,
               max(s.n) FILTER (WHERE s.row_key = 'carried_over') AS over,
               max(s.n) FILTER (WHERE s.row_key = 'closed_total') AS closed,
               max(s.n) FILTER (WHERE s.row_key = 'carried_forward') AS fwd
          FROM s GROUP BY s.col_key)
    SELECT 'R1', 'error', 'applications', NULL::text, x.col_key,
           format('三、%s列不满足勾稽关系：一 + 二 = %s + %s = %s，（七）总计 + 四 = %s + %s = %s，相差 %s',
                  f.col_label, coalesce(x.received::text, '空白'), coalesce(x.over::text, '空白'),
                  coalesce(x.received, 0) + coalesce(x.over, 0),
                  coalesce(x.closed::text, '空白'), coalesce(x.fwd::text, '空白'),
                  coalesce(x.closed, 0) + coalesce(x.fwd, 0),
                  (coalesce(x.received, 0) + coalesce(x.over, 0)) - (coalesce(x.closed, 0) + coalesce(x.fwd, 0)))
      FROM x JOIN disclosure.format_cell f
        ON f.format = v.format AND f.tbl = 'applications' AND f.row_key = 'received' AND f.col_key = x.col_key
     WHERE coalesce(x.received, 0) + coalesce(x.over, 0) <> coalesce(x.closed, 0) + coalesce(x.fwd, 0)
     ORDER BY f.col_ord;

    -- R2, R3, R4: a total printed as a number that is not the sum of its parts
    RETURN QUERY
    SELECT CASE WHEN c.tbl = 'appeals' THEN 'R4'
                WHEN c.row_key = 'closed_total' THEN 'R2' ELSE 'R3' END,
           'error', c.tbl, c.row_key, c.col_key,
           CASE WHEN c.value IS NULL
                THEN format('%s：发布的合计为 %s，但分项均未填数字（空白、“/”或未列出）',
                            disclosure.cell_name(v.format, c.tbl, c.row_key, c.col_key), c.published_value)
                ELSE format('%s：发布的合计为 %s，分项之和为 %s，相差 %s',
                            disclosure.cell_name(v.format, c.tbl, c.row_key, c.col_key),
                            c.published_value, c.value, c.published_value - c.value) END
      FROM pg_temp.disclosure_check_cells c
     WHERE c.kind = 'total' AND c.published_given = 'number'
       AND c.published_value <> coalesce(c.value, 0)
     ORDER BY c.ord;

    -- R3 on the merged （六） row a 2021 report printed as one row
    RETURN QUERY
    WITH mr AS (
        SELECT max(pt.value) FILTER (WHERE pt.col_key = 'total' AND pt.given = 'number') AS total,
               sum(pt.value) FILTER (WHERE pt.col_key <> 'total') AS parts
          FROM disclosure.published_total pt
         WHERE pt.revision_id = p_revision_id AND pt.tbl = 'applications' AND pt.row_key = 'other'
           AND v.format = 2021)
    SELECT 'R3', 'error', 'applications', 'other', 'total',
           CASE WHEN mr.parts IS NULL
                THEN format('applications.other（（六）其他处理，按一行发布 · 总计）：发布的合计为 %s，但分项均未填数字（空白、“/”或未列出）', mr.total)
                ELSE format('applications.other（（六）其他处理，按一行发布 · 总计）：发布的合计为 %s，分项之和为 %s，相差 %s',
                            mr.total, mr.parts, mr.total - mr.parts) END
      FROM mr
     WHERE mr.total IS NOT NULL AND mr.total <> coalesce(mr.parts, 0);

    -- R2, the 总计 column: the printed （七）总计 against the printed 总计 of
    -- the result rows (each as printed where it was, else derived)
    RETURN QUERY
    WITH rows_ AS (
        SELECT sum(disclosure.shown_value(c.given, c.value, c.published_given, c.published_value)) AS n,
               count(*) FILTER (WHERE c.published_given IS NOT NULL) AS printed
          FROM pg_temp.disclosure_check_cells c
          JOIN disclosure.format_result_row rr ON rr.format = v.format AND rr.row_key = c.row_key
         WHERE c.tbl = 'applications' AND c.col_key = 'total'
    ), merged AS (
        SELECT sum(m.value) FILTER (WHERE m.given = 'number') AS n, count(*) AS printed
          FROM disclosure.published_total m
         WHERE m.revision_id = p_revision_id AND m.tbl = 'applications' AND m.row_key = 'other'
           AND m.col_key = 'total'
    ), x AS (
        SELECT c.published_value AS closed,
               CASE WHEN rows_.n IS NULL AND merged.n IS NULL THEN NULL
                    ELSE coalesce(rows_.n, 0) + coalesce(merged.n, 0) END AS sum_rows
          FROM pg_temp.disclosure_check_cells c, rows_, merged
         WHERE c.tbl = 'applications' AND c.row_key = 'closed_total' AND c.col_key = 'total'
           AND c.published_given = 'number' AND rows_.printed + merged.printed > 0
    )
    SELECT 'R2', 'error', 'applications', 'closed_total', 'total',
           CASE WHEN x.sum_rows IS NULL
                THEN format('三、（七）总计的总计栏：发布为 %s，但各办理结果行的总计栏均未填数字', x.closed)
                ELSE format('三、（七）总计的总计栏：发布为 %s，各办理结果行发布的总计之和为 %s，相差 %s',
                            x.closed, x.sum_rows, x.closed - x.sum_rows) END
      FROM x
     WHERE x.closed <> coalesce(x.sum_rows, 0);

    -- R5, R6: enforced on entry; checked again for data loaded around the triggers
    RETURN QUERY
    SELECT CASE WHEN f.unit = '万元' THEN 'R6' ELSE 'R5' END, 'error', c.tbl, c.row_key, c.col_key,
           format('%s：%s，收到 %s', disclosure.cell_name(v.format, c.tbl, c.row_key, c.col_key),
                  CASE WHEN f.unit = '万元' THEN '金额不能为负数'
                       WHEN c.value <> trunc(c.value) THEN '件数必须是整数'
                       ELSE '件数不能为负数' END, c.value)
      FROM pg_temp.disclosure_check_cells c JOIN disclosure.format_cell f USING (format, tbl, row_key, col_key)
     WHERE c.kind = 'input' AND c.value IS NOT NULL
       AND ((f.unit = '万元' AND c.value < 0)
            OR (f.unit <> '万元' AND c.tbl || c.row_key <> 'proactiveprocurement'
                AND (c.value <> trunc(c.value) OR (c.value < 0 AND c.col_key <> 'change'))))
     ORDER BY c.ord;

    IF prev IS NOT NULL THEN
        -- R7: 上年结转 equals last year's 结转下年度继续办理
        RETURN QUERY
        SELECT 'R7', 'warning', 'applications', 'carried_over', c.col_key,
               format('三、二、上年结转（%s）为 %s，但 %s 年报告的“四、结转下年度继续办理”为 %s',
                      f.col_label, coalesce(disclosure.cell_text(c.given, c.value), '空白'), yr - 1,
                      coalesce(disclosure.cell_text(l.given, l.value), '空白'))
          FROM pg_temp.disclosure_check_cells c
          JOIN disclosure.cell_value l
            ON l.revision_id = prev AND l.tbl = 'applications'
           AND l.row_key = 'carried_forward' AND l.col_key = c.col_key
          JOIN disclosure.format_cell f
            ON f.format = v.format AND f.tbl = c.tbl AND f.row_key = c.row_key AND f.col_key = c.col_key
         WHERE c.tbl = 'applications' AND c.row_key = 'carried_over' AND c.kind = 'input'
           AND c.value IS DISTINCT FROM l.value
         ORDER BY c.ord;

        -- R8, R9: the stock of regulations and normative documents; a blank,
        -- slash or not printed term makes no comparison
        RETURN QUERY
        WITH s AS (
            SELECT c.row_key,
                   max(c.value) FILTER (WHERE c.col_key = 'issued') AS issued,
                   max(c.value) FILTER (WHERE c.col_key = 'repealed') AS repealed,
                   max(c.value) FILTER (WHERE c.col_key = 'in_force') AS in_force,
                   (SELECT l.value FROM disclosure.cell_value l
                     WHERE l.revision_id = prev AND l.tbl = 'proactive'
                       AND l.row_key = c.row_key AND l.col_key = 'in_force') AS last_in_force
              FROM pg_temp.disclosure_check_cells c
             WHERE c.tbl = 'proactive' AND c.row_key IN ('regulations', 'normative_documents')
             GROUP BY c.row_key)
        SELECT r.rule, 'warning', 'proactive', s.row_key, r.col, r.msg
          FROM s
          JOIN disclosure.format_cell f
            ON f.format = v.format AND f.tbl = 'proactive' AND f.row_key = s.row_key AND f.col_key = 'in_force'
          CROSS JOIN LATERAL (VALUES
              ('R8', 'in_force',
               CASE WHEN s.last_in_force + s.issued - s.repealed <> s.in_force THEN
                   format('二、%s：上年现行有效 %s + 本年制发 %s − 本年废止 %s = %s，但本年现行有效件数为 %s',
                          f.row_label, s.last_in_force, s.issued, s.repealed,
                          s.last_in_force + s.issued - s.repealed, s.in_force) END),
              ('R9', 'repealed',
               CASE WHEN s.repealed > s.last_in_force THEN
                   format('二、%s：本年废止 %s 件，多于上年现行有效的 %s 件',
                          f.row_label, s.repealed, s.last_in_force) END)) r(rule, col, msg)
         WHERE r.msg IS NOT NULL;

        -- R15: the three tables copied from last year: every input cell given
        -- alike (same format), and not all zero
        RETURN QUERY
        WITH pair AS (
            SELECT c.ord, c.tbl, c.row_key, c.col_key, c.given, c.value, l.given AS lgiven, l.value AS lvalue
              FROM pg_temp.disclosure_check_cells c
              LEFT JOIN disclosure.cell l
                ON l.revision_id = prev AND l.format = c.format AND l.tbl = c.tbl
               AND l.row_key = c.row_key AND l.col_key = c.col_key
             WHERE c.kind = 'input'
        ), ex AS (
            SELECT * FROM pair WHERE pair.value <> 0 ORDER BY pair.ord LIMIT 1
        )
        SELECT 'R15', 'warning', NULL::text, NULL::text, NULL::text,
               format('二、三、四三张表的 %s 个单元格与 %s 年度报告完全相同，且不全为 0（如 %s：%s 年度 %s，%s 年度 %s），请核对是否照抄了上年数据',
                      (SELECT count(*) FROM pair), yr - 1,
                      disclosure.cell_name(v.format, ex.tbl, ex.row_key, ex.col_key),
                      yr, ex.value, yr - 1, ex.lvalue)
          FROM ex
         WHERE NOT EXISTS (SELECT 1 FROM pair
                            WHERE (pair.given, pair.value) IS DISTINCT FROM (pair.lgiven, pair.lvalue));

        -- R16: a key figure that jumped or collapsed
        RETURN QUERY
        WITH kf AS (
            SELECT k.tbl, k.row_key, k.col_key, k.what,
                   disclosure.shown_value(c.given, c.value, c.published_given, c.published_value) AS cur,
                   disclosure.shown_value(l.given, l.value, l.published_given, l.published_value) AS last
              FROM disclosure.key_figure k
              JOIN pg_temp.disclosure_check_cells c
                ON c.tbl = k.tbl AND c.row_key = k.row_key AND c.col_key = k.col_key
              JOIN disclosure.cell_value l
                ON l.revision_id = prev AND l.tbl = k.tbl AND l.row_key = k.row_key AND l.col_key = k.col_key
        )
        SELECT 'R16', 'warning', kf.tbl, kf.row_key, kf.col_key,
               format('%s：%s 年度 %s 件，%s 年度 %s 件，%s，请核对', kf.what, yr, kf.cur, yr - 1, kf.last,
                      CASE WHEN kf.cur > kf.last AND kf.last = 0 THEN '由 0 增加'
                           WHEN kf.cur > kf.last THEN format('为上年的 %s 倍', trim_scale(round(kf.cur / kf.last, 1)))
                           WHEN kf.cur = 0 THEN '降为 0'
                           ELSE format('为上年的 1/%s', trim_scale(round(kf.last / kf.cur, 1))) END)
          FROM kf
         WHERE kf.cur IS NOT NULL AND kf.last IS NOT NULL AND greatest(kf.cur, kf.last) >= 10
           AND (kf.cur >= 5 * kf.last OR 5 * kf.cur <= kf.last)
         ORDER BY kf.tbl DESC, kf.row_key;
    END IF;

    -- R10: numbers quoted in the narrative
    SELECT string_agg(t.body, E'\n' ORDER BY fs.ord) INTO txt
      FROM disclosure.section_text t
      JOIN disclosure.format_section fs USING (format, section, part)
     WHERE t.revision_id = p_revision_id;
    FOR p IN SELECT * FROM disclosure.narrative_pattern ORDER BY id LOOP
        SELECT sum(disclosure.shown_value(c.given, c.value, c.published_given, c.published_value)) INTO want
          FROM pg_temp.disclosure_check_cells c
         WHERE c.tbl = p.tbl AND c.row_key = ANY (p.row_keys) AND c.col_key = p.col_key;
        FOR m IN SELECT regexp_matches(coalesce(txt, ''), p.pattern, 'g') LOOP
            IF m[1]::numeric IS DISTINCT FROM want THEN
                rule := 'R10'; severity := 'warning'; tbl := p.tbl;
                row_key := array_to_string(p.row_keys, ','); col_key := p.col_key;
                message := format('正文说%s %s 件，表格中为 %s 件', p.what, m[1], coalesce(want::text, '空白'));
                RETURN NEXT;
            END IF;
        END LOOP;
    END LOOP;

    -- R11: narrative present; from 2021 (国办函〔2020〕109号, in force since
    -- 2021-01-01) 六 says whether 信息处理费 was charged for answering
    -- applications.  二（八）行政事业性收费 is another matter: not checked.
    RETURN QUERY
    SELECT 'R11', 'warning', NULL::text, fs.section, fs.part,
           format('%s%s 为空', sh.heading, CASE WHEN fs.heading <> '' THEN ' ' || fs.heading ELSE '' END)
      FROM disclosure.format_section fs
      JOIN disclosure.format_section sh ON sh.format = fs.format AND sh.section = fs.section AND sh.part = ''
      LEFT JOIN disclosure.section_text t
        ON t.revision_id = p_revision_id AND t.section = fs.section AND t.part = fs.part
     WHERE fs.format = v.format AND fs.part <> ''
       AND (fs.section IN ('problems', 'other') OR fs.part = 'intro')
       AND btrim(coalesce(t.body, '')) = ''
     ORDER BY fs.ord;
    IF yr >= 2021 AND NOT EXISTS (SELECT 1 FROM disclosure.section_text t
                                   WHERE t.revision_id = p_revision_id AND t.section = 'other'
                                     AND strpos(t.body, '信息处理费') > 0) THEN
        RETURN QUERY SELECT 'R11', 'warning', NULL::text, 'other', 'body',
            '“六、其他需要报告的事项”没有说明信息处理费的收取情况（国办函〔2020〕109号，如“本年度未收取信息处理费”）'::text;
    END IF;

    -- R12: the format fits the year
    IF NOT EXISTS (SELECT 1 FROM disclosure.format f
                    WHERE f.format = v.format AND yr >= f.first_year
                      AND (f.last_year IS NULL OR yr <= f.last_year)) THEN
        RETURN QUERY SELECT 'R12', 'error', NULL::text, NULL::text, NULL::text,
            format('%s 年度的报告应使用 %s 版格式，此报告使用 %s 版',
                   yr, CASE WHEN yr >= 2021 THEN 2021 ELSE 2019 END, v.format);
    END IF;

    -- R13: the legal deadline (条例第四十九条), in Beijing time; a legacy
    -- draft is judged by the date it was first published at its source
    deadline := make_timestamptz(yr + 1, CASE a.kind WHEN 'government' THEN 3 ELSE 1 END, 31,
                                 0, 0, 0, 'Asia/Shanghai') + interval '1 day';
    IF coalesce(v.published_at, v.source_published_at, now()) >= deadline AND v.revision = 1 THEN
        RETURN QUERY SELECT 'R13', 'warning', NULL::text, NULL::text, NULL::text,
            format('%s的 %s 年度报告应在 %s 前发布，%s',
                   CASE a.kind WHEN 'government' THEN '本级政府' ELSE '政府部门' END, yr,
                   to_char((deadline - interval '1 day') AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'),
                   CASE WHEN coalesce(v.published_at, v.source_published_at) IS NULL THEN '现在仍未发布'
                        ELSE '实际发布于 ' || to_char(coalesce(v.published_at, v.source_published_at)
                                                      AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') END);
    END IF;

    -- R14: blank, slash and not printed are kept as given, and are not zeros;
    -- a total printed blank, "/" or not at all is not stated, and not compared
    RETURN QUERY
    SELECT 'R14', 'info', c.tbl, c.row_key, c.col_key,
           format('%s 填写为%s，不计为 0', disclosure.cell_name(v.format, c.tbl, c.row_key, c.col_key),
                  CASE c.given WHEN 'slash' THEN '“/”' WHEN 'not_printed' THEN '未列出（原报告没有这一格）'
                               ELSE '空白' END)
      FROM pg_temp.disclosure_check_cells c
     WHERE c.kind = 'input' AND c.given <> 'number'
     ORDER BY c.ord;
    RETURN QUERY
    SELECT 'R14', 'info', pt.tbl, pt.row_key, pt.col_key,
           format('%s 发布的合计为%s，视为未填写，不与分项之和比较',
                  disclosure.cell_name(v.format, pt.tbl, pt.row_key, pt.col_key),
                  CASE pt.given WHEN 'slash' THEN '“/”' WHEN 'not_printed' THEN '未列出' ELSE '空白' END)
      FROM disclosure.published_total pt
      LEFT JOIN disclosure.format_cell f USING (format, tbl, row_key, col_key)
     WHERE pt.revision_id = p_revision_id AND pt.given <> 'number'
     ORDER BY f.ord NULLS LAST, pt.col_key;
END
$$;
COMMENT ON FUNCTION disclosure.check_revision(integer) IS
    'findings of the rules R1–R16 for one revision';
REVOKE EXECUTE ON FUNCTION disclosure.check_revision(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disclosure.check_revision(integer) TO disclosure_editor;
