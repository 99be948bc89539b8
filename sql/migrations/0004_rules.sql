-- The consistency rules R1–R14 of the national format (format/README.md).
-- check_revision() returns one row per finding; messages are in Chinese and
-- name the cells and the numbers.

CREATE TABLE disclosure.rule (
    rule        text PRIMARY KEY,
    severity    text NOT NULL CHECK (severity IN ('error', 'warning', 'info')),
    description text NOT NULL
);
INSERT INTO disclosure.rule VALUES
    ('R1',  'error',   '三，每一列：一 + 二 = （七）总计 + 四（勾稽关系）'),
    ('R2',  'error',   '三，每一列：（七）总计 = 各项办理结果之和'),
    ('R3',  'error',   '三，每一行：总计 = 六类申请人之和'),
    ('R4',  'error',   '四，每一组：总计 = 维持 + 纠正 + 其他 + 尚未审结'),
    ('R5',  'error',   '件数为非负整数（2019 版“本年增/减”可为负）'),
    ('R6',  'error',   '收费金额为非负的精确小数，单位万元'),
    ('R7',  'warning', '本年“上年结转”= 上年“结转下年度继续办理”，逐列'),
    ('R8',  'warning', '上年现行有效件数 + 本年制发 − 本年废止 = 本年现行有效件数'),
    ('R9',  'warning', '本年废止件数 ≤ 上年现行有效件数'),
    ('R10', 'warning', '正文引用的数字与表格一致'),
    ('R11', 'warning', '六个部分齐全；五不为空；收取信息处理费时六中说明'),
    ('R12', 'error',   '格式版本与报告年度相符（2021 年起用 2021 版）'),
    ('R13', 'warning', '在法定期限内发布'),
    ('R14', 'info',    '空白或“/”不等于 0');

-- numbers the narrative quotes, and the cells they must equal (R10)
CREATE TABLE disclosure.narrative_pattern (
    id          int PRIMARY KEY,
    pattern     text NOT NULL,      -- a regular expression whose first group is the number
    tbl         text NOT NULL,
    row_keys    text[] NOT NULL,
    col_key     text NOT NULL,
    what        text NOT NULL
);
INSERT INTO disclosure.narrative_pattern VALUES
    (1, '(?:新收|收到)[^，。；0-9]{0,16}?申请[^，。；0-9]{0,6}?([0-9]+)\s*件',
        'applications', '{received}', 'total', '本年新收申请'),
    (2, '上年结转[^，。；0-9]{0,16}?([0-9]+)\s*件?',
        'applications', '{carried_over}', 'total', '上年结转申请'),
    (3, '结转下年度[^，。；0-9]{0,16}?([0-9]+)\s*件',
        'applications', '{carried_forward}', 'total', '结转下年度继续办理'),
    (4, '行政复议[^，。；0-9]{0,8}?([0-9]+)\s*(?:件|起)',
        'appeals', '{review}', 'total', '行政复议'),
    (5, '行政诉讼[^，。；0-9]{0,8}?([0-9]+)\s*(?:件|起)',
        'appeals', '{suit_direct,suit_after_review}', 'total', '行政诉讼');

-- the revision of the year before, as it stands: published if any, else its draft
CREATE FUNCTION disclosure.previous_revision(p_revision_id int)
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

CREATE FUNCTION disclosure.check_revision(p_revision_id int)
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

    -- R1: per column, with the totals as printed where a legacy report has them
    RETURN QUERY
    WITH x AS (
        SELECT c.col_key,
               sum(coalesce(c.published_value, c.value)) FILTER (WHERE c.row_key = 'received') AS received,
               sum(coalesce(c.published_value, c.value)) FILTER (WHERE c.row_key = 'carried_over') AS over,
               sum(coalesce(c.published_value, c.value)) FILTER (WHERE c.row_key = 'closed_total') AS closed,
               sum(coalesce(c.published_value, c.value)) FILTER (WHERE c.row_key = 'carried_forward') AS fwd
          FROM pg_temp.disclosure_check_cells c WHERE c.tbl = 'applications' GROUP BY c.col_key)
    SELECT 'R1', 'error', 'applications', NULL::text, x.col_key,
           format('三、%s列不满足勾稽关系：一 + 二 = %s + %s = %s，（七）总计 + 四 = %s + %s = %s，相差 %s',
                  f.col_label, x.received, x.over, x.received + x.over,
                  x.closed, x.fwd, x.closed + x.fwd, (x.received + x.over) - (x.closed + x.fwd))
      FROM x JOIN disclosure.format_cell f
        ON f.format = v.format AND f.tbl = 'applications' AND f.row_key = 'received' AND f.col_key = x.col_key
     WHERE x.received + x.over <> x.closed + x.fwd
     ORDER BY f.col_ord;

    -- R2, R3, R4: a total as printed that is not the sum of its parts
    RETURN QUERY
    SELECT CASE WHEN c.tbl = 'appeals' THEN 'R4'
                WHEN c.row_key = 'closed_total' THEN 'R2' ELSE 'R3' END,
           'error', c.tbl, c.row_key, c.col_key,
           format('%s：发布的合计为 %s，分项之和为 %s，相差 %s',
                  disclosure.cell_name(v.format, c.tbl, c.row_key, c.col_key),
                  coalesce(c.published_value::text, CASE c.published_given WHEN 'slash' THEN '“/”' ELSE '空白' END),
                  c.value, coalesce(c.published_value, 0) - c.value)
      FROM pg_temp.disclosure_check_cells c
     WHERE c.kind = 'total' AND c.published_given IS NOT NULL
       AND c.published_value IS DISTINCT FROM c.value
     ORDER BY c.ord;

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

    -- R7: 上年结转 equals last year's 结转下年度继续办理
    IF prev IS NOT NULL THEN
        RETURN QUERY
        SELECT 'R7', 'warning', 'applications', 'carried_over', c.col_key,
               format('三、二、上年结转（%s）为 %s，但 %s 年报告的“四、结转下年度继续办理”为 %s',
                      f.col_label, coalesce(c.value::text, '空白'), yr - 1, coalesce(l.value::text, '空白'))
          FROM pg_temp.disclosure_check_cells c
          JOIN disclosure.cell_value l
            ON l.revision_id = prev AND l.tbl = 'applications'
           AND l.row_key = 'carried_forward' AND l.col_key = c.col_key
          JOIN disclosure.format_cell f
            ON f.format = v.format AND f.tbl = c.tbl AND f.row_key = c.row_key AND f.col_key = c.col_key
         WHERE c.tbl = 'applications' AND c.row_key = 'carried_over' AND c.kind = 'input'
           AND c.value IS DISTINCT FROM l.value
         ORDER BY c.ord;

        -- R8, R9: the stock of regulations and normative documents
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
    END IF;

    -- R10: numbers quoted in the narrative
    SELECT string_agg(t.body, E'\n' ORDER BY fs.ord) INTO txt
      FROM disclosure.section_text t
      JOIN disclosure.format_section fs USING (format, section, part)
     WHERE t.revision_id = p_revision_id;
    FOR p IN SELECT * FROM disclosure.narrative_pattern ORDER BY id LOOP
        SELECT sum(c.value) INTO want FROM pg_temp.disclosure_check_cells c
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

    -- R11: narrative present
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
    IF EXISTS (SELECT 1 FROM pg_temp.disclosure_check_cells c
                WHERE c.tbl = 'proactive' AND c.row_key = 'fees' AND c.col_key = 'amount' AND c.value > 0)
       AND NOT EXISTS (SELECT 1 FROM disclosure.section_text t
                        WHERE t.revision_id = p_revision_id AND t.section = 'other' AND t.body ~ '费') THEN
        RETURN QUERY SELECT 'R11', 'warning', 'proactive', 'fees', 'amount',
            '二中有收费金额，但“六、其他需要报告的事项”没有说明收费情况'::text;
    END IF;

    -- R12: the format fits the year
    IF NOT EXISTS (SELECT 1 FROM disclosure.format f
                    WHERE f.format = v.format AND yr >= f.first_year
                      AND (f.last_year IS NULL OR yr <= f.last_year)) THEN
        RETURN QUERY SELECT 'R12', 'error', NULL::text, NULL::text, NULL::text,
            format('%s 年度的报告应使用 %s 版格式，此报告使用 %s 版',
                   yr, CASE WHEN yr >= 2021 THEN 2021 ELSE 2019 END, v.format);
    END IF;

    -- R13: the legal deadline (条例第四十九条), in Beijing time
    deadline := make_timestamptz(yr + 1, CASE a.kind WHEN 'government' THEN 3 ELSE 1 END, 31,
                                 0, 0, 0, 'Asia/Shanghai') + interval '1 day';
    IF coalesce(v.published_at, now()) >= deadline AND v.revision = 1 THEN
        RETURN QUERY SELECT 'R13', 'warning', NULL::text, NULL::text, NULL::text,
            format('%s的 %s 年度报告应在 %s 前发布，%s',
                   CASE a.kind WHEN 'government' THEN '本级政府' ELSE '政府部门' END, yr,
                   to_char((deadline - interval '1 day') AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'),
                   CASE WHEN v.published_at IS NULL THEN '现在仍未发布'
                        ELSE '实际发布于 ' || to_char(v.published_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') END);
    END IF;

    -- R14: blank and slash are kept as given, and are not zeros
    RETURN QUERY
    SELECT 'R14', 'info', c.tbl, c.row_key, c.col_key,
           format('%s 填写为%s，不计为 0', disclosure.cell_name(v.format, c.tbl, c.row_key, c.col_key),
                  CASE c.given WHEN 'slash' THEN '“/”' ELSE '空白' END)
      FROM pg_temp.disclosure_check_cells c
     WHERE c.kind = 'input' AND c.given <> 'number'
     ORDER BY c.ord;
END
$$;
COMMENT ON FUNCTION disclosure.check_revision(int) IS
    'findings of the rules R1–R14 for one revision';
