-- MADE UP: 示例区 and its departments do not exist.  Their numbers are
-- invented, consistent (勾稽 holds, 上年结转 follows 结转下年度, the stock of
-- normative documents adds up, the narrative quotes the tables) and non-zero,
-- for the demo and the tests.  Years 2020 (2019 format) to 2024 are published;
-- 示例区人民政府 has a 2025 draft that the public must not see.

INSERT INTO disclosure.agency (slug, name, kind, note)
VALUES ('demo-district', '示例区人民政府', 'government', '虚构的示例数据（made up for the demo and the tests）');
INSERT INTO disclosure.agency (slug, name, kind, parent_id, note)
SELECT d.slug, d.name, 'department', p.id, '虚构的示例数据（made up for the demo and the tests）'
  FROM disclosure.agency p,
       (VALUES ('demo-district-education', '示例区教育局'),
               ('demo-district-housing', '示例区住房和城乡建设局'),
               ('demo-district-market', '示例区市场监督管理局')) d(slug, name)
 WHERE p.slug = 'demo-district';

-- fills one draft with invented, consistent numbers and narrative
CREATE FUNCTION pg_temp.invent(p_agency text, p_year int, p_seed int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    rev     int := disclosure.draft_of(p_agency, p_year);
    fmt     smallint := (SELECT format FROM disclosure.revision WHERE id = rev);
    col     text;
    ci      int := 0;
    avail   numeric;
    fwd     numeric;
    closed  numeric;
    left_   numeric;
    share   numeric;
    r       record;
    prev_in numeric;
    rcv     numeric;
    rev_t   numeric;
    suit_t  numeric;
    fee     numeric := CASE WHEN p_agency = 'demo-district-housing' THEN 1.25 + (p_year - 2021) * 0.5 ELSE 0 END;
BEGIN
    FOREACH col IN ARRAY ARRAY['natural_person', 'business', 'research', 'nonprofit', 'legal_services', 'other_org'] LOOP
        ci := ci + 1;
        UPDATE disclosure.cell SET value = CASE ci
                 WHEN 1 THEN 20 + (p_seed * 7 + p_year * 3) % 40
                 WHEN 2 THEN 2 + (p_seed + p_year) % 9
                 WHEN 3 THEN (p_seed * p_year) % 3
                 WHEN 4 THEN (p_seed + 2 * p_year) % 4
                 WHEN 5 THEN 1 + (p_year + p_seed) % 5
                 ELSE (p_seed * 3 + p_year) % 6 END
         WHERE revision_id = rev AND tbl = 'applications' AND row_key = 'received' AND col_key = col;
        IF p_year = 2020 THEN  -- the first year we have: something carried over
            UPDATE disclosure.cell SET value = (p_seed + ci) % 3
             WHERE revision_id = rev AND tbl = 'applications' AND row_key = 'carried_over' AND col_key = col;
        END IF;
        SELECT sum(value) INTO avail FROM disclosure.cell
         WHERE revision_id = rev AND tbl = 'applications' AND row_key IN ('received', 'carried_over') AND col_key = col;
        fwd := least(avail, (avail + p_seed) % 3);
        closed := avail - fwd;
        UPDATE disclosure.cell SET value = fwd
         WHERE revision_id = rev AND tbl = 'applications' AND row_key = 'carried_forward' AND col_key = col;
        -- share the closed applications out over the result rows
        left_ := closed;
        FOR r IN SELECT f.row_key, f.row_ord FROM disclosure.format_cell f
                  WHERE f.format = fmt AND f.tbl = 'applications' AND f.col_key = col AND f.kind = 'input'
                    AND f.row_group LIKE '三、本年度办理结果%' ORDER BY f.row_ord DESC LOOP
            share := CASE r.row_key
                     WHEN 'granted' THEN left_
                     WHEN 'partly_granted' THEN floor(closed * 0.15)
                     WHEN 'unavailable_not_held' THEN floor(closed * 0.2)
                     WHEN 'withheld_process_info' THEN floor(closed * 0.05)
                     WHEN 'withheld_third_party' THEN floor(closed * 0.04)
                     WHEN 'rejected_petition' THEN floor(closed * 0.08)
                     WHEN 'rejected_duplicate' THEN floor(closed * 0.06)
                     WHEN 'other_no_correction' THEN floor(closed * 0.03)
                     WHEN 'other' THEN floor(closed * 0.03)
                     ELSE 0 END;
            UPDATE disclosure.cell SET value = share
             WHERE revision_id = rev AND tbl = 'applications' AND row_key = r.row_key AND col_key = col;
            left_ := left_ - share;
        END LOOP;
    END LOOP;

    UPDATE disclosure.cell c SET value = v.n
      FROM (VALUES ('review', 'upheld', 1 + p_seed % 3), ('review', 'corrected', p_year % 2),
                   ('review', 'other', 0), ('review', 'pending', (p_seed + p_year) % 2),
                   ('suit_direct', 'upheld', p_seed % 2), ('suit_direct', 'pending', 1),
                   ('suit_after_review', 'upheld', (p_year + 1) % 2)) v(row_key, col_key, n)
     WHERE c.revision_id = rev AND c.tbl = 'appeals' AND c.row_key = v.row_key AND c.col_key = v.col_key;

    IF fmt = 2021 THEN
        SELECT l.value INTO prev_in FROM disclosure.cell_value l
         WHERE l.revision_id = disclosure.previous_revision(rev) AND l.tbl = 'proactive'
           AND l.row_key = 'normative_documents' AND l.col_key = 'in_force';
        UPDATE disclosure.cell c SET value = v.n
          FROM (VALUES ('normative_documents', 'issued', 3 + (p_seed + p_year) % 4),
                       ('normative_documents', 'repealed', (p_seed + p_year) % 2),
                       ('licensing', 'decisions', 100 * p_seed + p_year % 50),
                       ('penalties', 'decisions', 10 * p_seed + p_year % 7),
                       ('enforcement', 'decisions', p_seed + p_year % 3),
                       ('fees', 'amount', fee)) v(row_key, col_key, n)
         WHERE c.revision_id = rev AND c.tbl = 'proactive' AND c.row_key = v.row_key AND c.col_key = v.col_key;
        UPDATE disclosure.cell SET value = coalesce(prev_in, 12 + p_seed)
                   + 3 + (p_seed + p_year) % 4 - (p_seed + p_year) % 2
         WHERE revision_id = rev AND tbl = 'proactive' AND row_key = 'normative_documents' AND col_key = 'in_force';
    ELSE
        UPDATE disclosure.cell c SET value = v.n
          FROM (VALUES ('normative_documents', 'new_made', 4), ('normative_documents', 'new_published', 4),
                       ('normative_documents', 'total_published', 12 + p_seed),
                       ('licensing', 'last_year_items', 40 + p_seed), ('licensing', 'change', -2),
                       ('licensing', 'decisions', 90 * p_seed), ('penalties', 'last_year_items', 30),
                       ('penalties', 'change', 1), ('penalties', 'decisions', 9 * p_seed),
                       ('procurement', 'items', 3), ('procurement', 'amount', 12.5)) v(row_key, col_key, n)
         WHERE c.revision_id = rev AND c.tbl = 'proactive' AND c.row_key = v.row_key AND c.col_key = v.col_key;
    END IF;

    SELECT sum(value) FILTER (WHERE tbl = 'applications' AND row_key = 'received'),
           sum(value) FILTER (WHERE tbl = 'appeals' AND row_key = 'review'),
           sum(value) FILTER (WHERE tbl = 'appeals' AND row_key IN ('suit_direct', 'suit_after_review'))
      INTO rcv, rev_t, suit_t
      FROM disclosure.cell WHERE revision_id = rev;

    UPDATE disclosure.section_text SET body = CASE part
        WHEN 'intro' THEN format('%s 年，%s认真贯彻落实《中华人民共和国政府信息公开条例》，推进政务公开工作。本报告为虚构的示例数据。', p_year, (SELECT name FROM disclosure.agency WHERE slug = p_agency))
        WHEN 'proactive' THEN '（一）主动公开。通过门户网站主动公开行政规范性文件、行政许可、行政处罚等信息。'
        WHEN 'on_request' THEN format('（二）依申请公开。全年新收政府信息公开申请 %s 件，办理情况见第三部分。', rcv)
        WHEN 'management' THEN '（三）政府信息管理。落实公开前保密审查和发布审核。'
        WHEN 'platform' THEN '（四）政府信息公开平台建设。门户网站政府信息公开专栏运行平稳。'
        WHEN 'oversight' THEN format('（五）监督保障。全年因政府信息公开引起的行政复议 %s 件、行政诉讼 %s 件。', rev_t, suit_t)
        WHEN 'body' THEN CASE section
            WHEN 'problems' THEN E'一是公开内容的规范性有待加强。\n二是对申请人的答复说理仍需提升。下一步将加强培训和审核。'
            ELSE CASE WHEN fee > 0 THEN format('本年度未收取信息处理费。行政事业性收费金额 %s 万元已在第二部分列示。', fee)
                      ELSE '本年度未收取信息处理费。' END END
        END
     WHERE revision_id = rev;
END
$$;

DO $$
DECLARE
    a    text;
    seed int := 0;
    y    int;
BEGIN
    FOR y IN 2020 .. 2024 LOOP
        seed := 0;
        FOREACH a IN ARRAY ARRAY['demo-district', 'demo-district-education',
                                 'demo-district-housing', 'demo-district-market'] LOOP
            seed := seed + 1;
            PERFORM disclosure.new_report(a, y);
            PERFORM pg_temp.invent(a, y, seed);
            -- published in time: departments in January, the government in March
            PERFORM disclosure.publish(a, y, make_timestamptz(y + 1, CASE WHEN a = 'demo-district' THEN 3 ELSE 1 END,
                                                              20 + seed, 10, 0, 0, 'Asia/Shanghai'));
        END LOOP;
    END LOOP;
    PERFORM disclosure.new_report('demo-district', 2025);
    PERFORM pg_temp.invent('demo-district', 2025, 1);
END
$$;
