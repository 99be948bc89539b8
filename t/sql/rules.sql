-- Every rule R1–R16 with a passing and a failing case.
BEGIN;
SELECT plan(48);

INSERT INTO disclosure.agency (slug, name, kind) VALUES ('t-rules', '测试局', 'department');
SELECT disclosure.new_report('t-rules', 2022);
SELECT disclosure.new_report('t-rules', 2023);

CREATE FUNCTION pg_temp.findings(p_rule text, p_year int DEFAULT 2023)
RETURNS SETOF text LANGUAGE sql AS $$
    SELECT coalesce(tbl, '') || '.' || coalesce(row_key, '') || '.' || coalesce(col_key, '') || ' ' || message
      FROM disclosure.check_report('t-rules', p_year) WHERE rule = p_rule
$$;
CREATE FUNCTION pg_temp.put(p_tbl text, p_row text, p_col text, p_text text, p_year int DEFAULT 2023)
RETURNS void LANGUAGE sql AS $$
    SELECT disclosure.set_cell(disclosure.draft_of('t-rules', p_year), p_tbl, p_row, p_col, p_text)
$$;
CREATE FUNCTION pg_temp.legacy_total(p_tbl text, p_row text, p_col text, p_value numeric)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO disclosure.published_total (revision_id, tbl, row_key, col_key, value, format)
    VALUES (disclosure.draft_of('t-rules', 2023), p_tbl, p_row, p_col, p_value, 2021)
$$;

-- R1
SELECT is_empty($$ SELECT * FROM pg_temp.findings('R1') $$, 'R1 passes on a fresh report');
SELECT pg_temp.put('applications', 'received', 'business', '5');
SELECT set_eq($$ SELECT * FROM pg_temp.findings('R1') $$,
    ARRAY['applications..business 三、商业企业列不满足勾稽关系：一 + 二 = 5 + 0 = 5，（七）总计 + 四 = 0 + 0 = 0，相差 5',
          'applications..total 三、总计列不满足勾稽关系：一 + 二 = 5 + 0 = 5，（七）总计 + 四 = 0 + 0 = 0，相差 5'],
    'R1 names the broken columns and the difference');
SELECT pg_temp.put('applications', 'granted', 'business', '3');
SELECT pg_temp.put('applications', 'carried_forward', 'business', '2');
SELECT is_empty($$ SELECT * FROM pg_temp.findings('R1') $$, 'R1 passes once the column balances');

-- R2, R3, R4 on the totals of a legacy report as printed
SELECT is_empty($$ SELECT * FROM pg_temp.findings('R2') $$, 'R2 passes without printed totals');
SELECT pg_temp.legacy_total('applications', 'closed_total', 'business', 3);
SELECT is_empty($$ SELECT * FROM pg_temp.findings('R2') $$, 'R2 passes when the printed total is the sum');
UPDATE disclosure.published_total SET value = 4 WHERE row_key = 'closed_total';
SELECT set_eq($$ SELECT * FROM pg_temp.findings('R2') $$,
    ARRAY['applications.closed_total.business applications.closed_total.business（（七）总计 · 商业企业）：发布的合计为 4，分项之和为 3，相差 1'],
    'R2 flags a printed （七）总计 that is not the sum of the results');
SELECT pg_temp.legacy_total('applications', 'received', 'total', 5);
SELECT is_empty($$ SELECT * FROM pg_temp.findings('R3') $$, 'R3 passes when the printed row total is the sum');
UPDATE disclosure.published_total SET value = 9 WHERE row_key = 'received';
SELECT ok((SELECT bool_and(f LIKE '%发布的合计为 9，分项之和为 5，相差 4') FROM pg_temp.findings('R3') f),
    'R3 flags a printed row total that is not the sum of the applicants');
SELECT pg_temp.legacy_total('appeals', 'review', 'total', 0);
SELECT is_empty($$ SELECT * FROM pg_temp.findings('R4') $$, 'R4 passes when the printed total is the sum');
UPDATE disclosure.published_total SET value = 2 WHERE tbl = 'appeals';
SELECT ok((SELECT bool_and(f LIKE 'appeals.review.total%发布的合计为 2，分项之和为 0，相差 2') FROM pg_temp.findings('R4') f),
    'R4 flags a 行政复议 total left apart from its parts');
DELETE FROM disclosure.published_total;

-- R5, R6: refused on entry, and caught by the check if loaded around the triggers
SELECT throws_ok($$ SELECT pg_temp.put('applications', 'received', 'research', '-1') $$, '23514',
    'applications.received.research（一、本年新收政府信息公开申请数量 · 科研机构）（R5）：件数不能为负数，收到 -1',
    'R5 refuses a negative count');
SELECT throws_ok($$ SELECT pg_temp.put('appeals', 'review', 'upheld', '1.5') $$, '23514',
    'appeals.review.upheld（行政复议 · 结果维持）（R5）：件数必须是整数，收到 1.5',
    'R5 refuses a fraction where a count belongs');
SELECT is_empty($$ SELECT * FROM pg_temp.findings('R5') $$, 'R5 passes on valid counts');
SET LOCAL session_replication_role = replica;
UPDATE disclosure.cell SET value = -2 WHERE tbl = 'appeals' AND row_key = 'review' AND col_key = 'other'
   AND revision_id = disclosure.draft_of('t-rules', 2023);
SET LOCAL session_replication_role = origin;
SELECT ok((SELECT bool_and(f LIKE '%件数不能为负数，收到 -2') FROM pg_temp.findings('R5') f)
          AND EXISTS (SELECT FROM pg_temp.findings('R5')),
    'R5 is found by check_report when a value went around the triggers');
SELECT pg_temp.put('appeals', 'review', 'other', '0');
SELECT throws_ok($$ SELECT pg_temp.put('proactive', 'fees', 'amount', '-0.5') $$, '23514', NULL,
    'R6 refuses a negative fee amount');
SELECT pg_temp.put('proactive', 'fees', 'amount', '1.2345');
SELECT is((SELECT value FROM disclosure.cell WHERE tbl = 'proactive' AND row_key = 'fees'
            AND revision_id = disclosure.draft_of('t-rules', 2023)), 1.2345::numeric,
    'R6 keeps a fee amount exact');
SELECT is_empty($$ SELECT * FROM pg_temp.findings('R6') $$, 'R6 passes on a non-negative amount');

-- R7: 上年结转 against last year's 结转下年度
SELECT is_empty($$ SELECT * FROM pg_temp.findings('R7') $$, 'R7 passes when both are 0');
SELECT pg_temp.put('applications', 'carried_forward', 'natural_person', '4', 2022);
SELECT set_eq($$ SELECT * FROM pg_temp.findings('R7') $$,
    ARRAY['applications.carried_over.natural_person 三、二、上年结转（自然人）为 0，但 2022 年报告的“四、结转下年度继续办理”为 4'],
    'R7 flags 上年结转 that differs from last year');
SELECT pg_temp.put('applications', 'carried_over', 'natural_person', '4');
SELECT is_empty($$ SELECT * FROM pg_temp.findings('R7') $$, 'R7 passes when they match');

-- R8, R9: the stock of normative documents
SELECT pg_temp.put('proactive', 'normative_documents', 'in_force', '10', 2022);
SELECT pg_temp.put('proactive', 'normative_documents', 'issued', '2');
SELECT pg_temp.put('proactive', 'normative_documents', 'repealed', '1');
SELECT pg_temp.put('proactive', 'normative_documents', 'in_force', '11');
SELECT is_empty($$ SELECT * FROM pg_temp.findings('R8') $$, 'R8 passes: 10 + 2 − 1 = 11');
SELECT pg_temp.put('proactive', 'normative_documents', 'in_force', '12');
SELECT set_eq($$ SELECT * FROM pg_temp.findings('R8') $$,
    ARRAY['proactive.normative_documents.in_force 二、行政规范性文件：上年现行有效 10 + 本年制发 2 − 本年废止 1 = 11，但本年现行有效件数为 12'],
    'R8 flags a stock that does not add up');
SELECT is_empty($$ SELECT * FROM pg_temp.findings('R9') $$, 'R9 passes when fewer are repealed than were in force');
SELECT pg_temp.put('proactive', 'normative_documents', 'repealed', '11');
SELECT set_eq($$ SELECT * FROM pg_temp.findings('R9') $$,
    ARRAY['proactive.normative_documents.repealed 二、行政规范性文件：本年废止 11 件，多于上年现行有效的 10 件'],
    'R9 flags more repealed than were in force');

-- R10: numbers in the narrative
UPDATE disclosure.sections_grid SET body = '全年新收政府信息公开申请 5 件。'
 WHERE agency = 't-rules' AND year = 2023 AND part = 'on_request';
SELECT is_empty($$ SELECT * FROM pg_temp.findings('R10') $$, 'R10 passes when the text quotes the table');
UPDATE disclosure.sections_grid SET body = '全年新收政府信息公开申请 17 件，行政复议 2 件。'
 WHERE agency = 't-rules' AND year = 2023 AND part = 'on_request';
SELECT set_eq($$ SELECT * FROM pg_temp.findings('R10') $$,
    ARRAY['applications.received.total 正文说本年新收申请 17 件，表格中为 5 件',
          'appeals.review.total 正文说行政复议 2 件，表格中为 0 件'],
    'R10 flags numbers in the text that contradict the tables');

-- R11: narrative present; fees explained in 六
SELECT ok(EXISTS (SELECT FROM pg_temp.findings('R11') f WHERE f LIKE '.problems.body 五、存在的主要问题及改进情况 为空'),
    'R11 flags an empty 五');
SELECT ok(NOT EXISTS (SELECT FROM pg_temp.findings('R11') f WHERE f LIKE 'proactive.fees.amount%'),
    'R11 does not flag 二（八）行政事业性收费 (an amount of 1.2345 万元): 六 is not about it');
UPDATE disclosure.sections_grid SET body = '本年度行政事业性收费已全部公开。' WHERE agency = 't-rules' AND year = 2023 AND section = 'other';
SELECT set_eq($$ SELECT * FROM pg_temp.findings('R11') f WHERE f NOT LIKE '%为空' $$,
    ARRAY['.other.body “六、其他需要报告的事项”没有说明信息处理费的收取情况（国办函〔2020〕109号，如“本年度未收取信息处理费”）'],
    'R11 flags a 六 that does not mention 信息处理费 (国办函〔2020〕109号)');
SELECT set_eq($$ SELECT rule || ' ' || message FROM disclosure.check_report('xigong-edz', 2024) WHERE rule = 'R11' $$,
    ARRAY['R11 “六、其他需要报告的事项”没有说明信息处理费的收取情况（国办函〔2020〕109号，如“本年度未收取信息处理费”）'],
    'the real 2024 report of 西工经开区 (六: 无其他需要报告的事项。) is flagged so');
SELECT disclosure.new_report('t-rules', 2020);
SELECT is_empty($$ SELECT * FROM pg_temp.findings('R11', 2020) f WHERE f LIKE '%信息处理费%' $$,
    'R11 asks for 信息处理费 from report year 2021 on, when the 办法 took effect');
UPDATE disclosure.sections_grid SET body = '存在问题若干。' WHERE agency = 't-rules' AND year = 2023 AND section = 'problems';
UPDATE disclosure.sections_grid SET body = '本年度未收取信息处理费。' WHERE agency = 't-rules' AND year = 2023 AND section = 'other';
UPDATE disclosure.sections_grid SET body = '总体情况。' WHERE agency = 't-rules' AND year = 2023 AND part = 'intro';
SELECT is_empty($$ SELECT * FROM pg_temp.findings('R11') $$, 'R11 passes once 一、五、六 are written');

-- R12: format version against the year
SELECT is_empty($$ SELECT * FROM pg_temp.findings('R12') $$, 'R12 passes: a 2023 report in the 2021 format');
SELECT disclosure.new_report('t-rules', 2024, 2019);
SELECT set_eq($$ SELECT * FROM pg_temp.findings('R12', 2024) $$,
    ARRAY['.. 2024 年度的报告应使用 2021 版格式，此报告使用 2019 版'],
    'R12 flags a 2024 report on the 2019 layout');

-- R13: the legal deadline
SELECT set_eq($$ SELECT * FROM pg_temp.findings('R13') $$,
    ARRAY['.. 政府部门的 2023 年度报告应在 2024-01-31 前发布，现在仍未发布'],
    'R13 flags a department''s report still unpublished after 31 January');
SELECT pg_temp.put('applications', 'received', 'business', '3');
SELECT pg_temp.put('applications', 'carried_forward', 'business', '0');
SELECT pg_temp.put('applications', 'carried_forward', 'natural_person', '4');
SELECT disclosure.publish('t-rules', 2023, '2024-01-20 10:00+08');
SELECT is_empty($$ SELECT * FROM pg_temp.findings('R13') $$, 'R13 passes for a report published on 20 January');

-- R14: blank and slash kept as given
SELECT disclosure.revise('t-rules', 2023, '补充空白与斜杠的测试');
SELECT is_empty($$ SELECT * FROM pg_temp.findings('R14') $$, 'R14 passes when every cell is a number');
SELECT pg_temp.put('appeals', 'suit_direct', 'pending', '/');
SELECT pg_temp.put('appeals', 'suit_direct', 'other', '');
SELECT set_eq($$ SELECT * FROM pg_temp.findings('R14') $$,
    ARRAY['appeals.suit_direct.other appeals.suit_direct.other（未经复议直接起诉 · 其他结果） 填写为空白，不计为 0',
          'appeals.suit_direct.pending appeals.suit_direct.pending（未经复议直接起诉 · 尚未审结） 填写为“/”，不计为 0'],
    'R14 reports blank and slash cells, kept as given');

-- R15: the three tables copied from last year; R16: a key figure ×5 or ÷5
INSERT INTO disclosure.agency (slug, name, kind) VALUES ('t-trend', '趋势局', 'department');
SELECT disclosure.new_report('t-trend', 2022);
SELECT disclosure.new_report('t-trend', 2023);
CREATE FUNCTION pg_temp.trend(p_rule text)
RETURNS SETOF text LANGUAGE sql AS $$
    SELECT coalesce(tbl, '') || '.' || coalesce(row_key, '') || '.' || coalesce(col_key, '') || ' ' || message
      FROM disclosure.check_report('t-trend', 2023) WHERE rule = p_rule
$$;
CREATE FUNCTION pg_temp.applied(p_year int, p_n int)
RETURNS void LANGUAGE sql AS $$
    UPDATE disclosure.applications_grid SET natural_person = p_n::text
     WHERE agency = 't-trend' AND year = p_year AND row_key IN ('received', 'granted')
$$;
SELECT is_empty($$ SELECT * FROM pg_temp.trend('R15') $$, 'R15 passes when both years are all 0');
SELECT pg_temp.applied(2022, 2);
SELECT pg_temp.applied(2023, 2);
SELECT ok((SELECT bool_and(f LIKE '.. 二、三、四三张表的 % 个单元格与 2022 年度报告完全相同，且不全为 0（如 applications.received.natural_person（一、本年新收政府信息公开申请数量 · 自然人）：2023 年度 2，2022 年度 2），请核对是否照抄了上年数据')
             AND count(*) = 1 FROM pg_temp.trend('R15') f),
    'R15 flags every cell equal to last year''s, naming both years'' numbers');
SELECT is_empty($$ SELECT * FROM pg_temp.trend('R16') $$, 'R16 passes: 2 and 2');
SELECT pg_temp.applied(2023, 12);
SELECT is_empty($$ SELECT * FROM pg_temp.trend('R15') $$, 'R15 passes once a cell differs');
SELECT set_eq($$ SELECT * FROM pg_temp.trend('R16') $$,
    ARRAY['applications.received.total 三、一、本年新收申请总计：2023 年度 12 件，2022 年度 2 件，为上年的 6 倍，请核对',
          'applications.closed_total.total 三、（七）总计：2023 年度 12 件，2022 年度 2 件，为上年的 6 倍，请核对'],
    'R16 flags key figures ×5 or more, with both years'' numbers');
SELECT pg_temp.applied(2022, 50);
SELECT pg_temp.applied(2023, 10);
SELECT set_eq($$ SELECT * FROM pg_temp.trend('R16') $$,
    ARRAY['applications.received.total 三、一、本年新收申请总计：2023 年度 10 件，2022 年度 50 件，为上年的 1/5，请核对',
          'applications.closed_total.total 三、（七）总计：2023 年度 10 件，2022 年度 50 件，为上年的 1/5，请核对'],
    'and those that fell to a fifth or less');
UPDATE disclosure.appeals_grid SET upheld = '10' WHERE agency = 't-trend' AND year = 2023 AND row_key = 'review';
SELECT ok(EXISTS (SELECT FROM pg_temp.trend('R16') f
                   WHERE f = 'appeals.review.total 四、行政复议总计：2023 年度 10 件，2022 年度 0 件，由 0 增加，请核对'),
    'and the totals of 四, from 0');
SELECT pg_temp.applied(2022, 3);
SELECT pg_temp.applied(2023, 12);
UPDATE disclosure.appeals_grid SET upheld = '1' WHERE agency = 't-trend' AND year = 2022 AND row_key = 'review';
UPDATE disclosure.appeals_grid SET upheld = '9' WHERE agency = 't-trend' AND year = 2023 AND row_key = 'review';
SELECT is_empty($$ SELECT * FROM pg_temp.trend('R16') $$,
    'R16 passes on ×4, and on ×9 when the larger side is under 10');
SELECT pg_temp.applied(2023, 2);
UPDATE disclosure.appeals_grid SET upheld = '1' WHERE agency = 't-trend' AND year = 2023 AND row_key = 'review';
SELECT pg_temp.applied(2022, 2);
SELECT ok(EXISTS (SELECT FROM pg_temp.trend('R15')), 'copied again');
SELECT lives_ok($$ SELECT disclosure.publish('t-trend', 2023) $$, 'R15 and R16 never block publication');

SELECT * FROM finish();
ROLLBACK;
