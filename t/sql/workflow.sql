-- The editors' workflow: new_report, grids, bad input, publish, immutability,
-- revisions, withdrawal, data version.
BEGIN;
SELECT plan(34);

INSERT INTO disclosure.agency (slug, name, kind) VALUES ('t-flow', '测试流程局', 'department');

-- new_report: every input cell 0, narrative parts empty
SELECT lives_ok($$ SELECT disclosure.new_report('t-flow', 2022) $$, 'new_report makes a draft');
SELECT is((SELECT count(*)::int FROM disclosure.cell WHERE revision_id = disclosure.draft_of('t-flow', 2022)),
          (SELECT count(*)::int FROM disclosure.format_cell WHERE format = 2021 AND kind = 'input'),
          'every input cell of the 2021 format is there');
SELECT ok((SELECT bool_and(given = 'number' AND value = 0) FROM disclosure.cell
            WHERE revision_id = disclosure.draft_of('t-flow', 2022)), 'and every one is 0');
SELECT is((SELECT count(*)::int FROM disclosure.sections_grid WHERE agency = 't-flow' AND year = 2022), 8,
          'the narrative has its 8 parts (一 ×6, 五, 六)');

-- the grids, edited in place
UPDATE disclosure.applications_grid SET natural_person = '7', business = '2'
 WHERE agency = 't-flow' AND year = 2022 AND row_key = 'received';
UPDATE disclosure.applications_grid SET natural_person = '5', business = '2'
 WHERE agency = 't-flow' AND year = 2022 AND row_key = 'granted';
UPDATE disclosure.applications_grid SET natural_person = '2'
 WHERE agency = 't-flow' AND year = 2022 AND row_key = 'carried_forward';
SELECT results_eq($$ SELECT natural_person, business, total FROM disclosure.applications_grid
                      WHERE agency = 't-flow' AND year = 2022 AND row_key IN ('received', 'closed_total')
                      ORDER BY row_no $$,
    $$ VALUES ('7', '2', '9'), ('5', '2', '7') $$, 'the grid shows the cells and the derived totals');
SELECT throws_ok($$ UPDATE disclosure.applications_grid SET total = '10'
                     WHERE agency = 't-flow' AND year = 2022 AND row_key = 'received' $$, '23514',
    'applications.received.total（一、本年新收政府信息公开申请数量 · 总计） 是合计，由分项自动得出，不能填写',
    'a total cannot be typed');
SELECT throws_ok($$ UPDATE disclosure.applications_grid SET total = '8'
                     WHERE agency = 't-flow' AND year = 2022 AND row_key = 'closed_total' $$, '23514', NULL,
    'neither can （七）总计');
UPDATE disclosure.appeals_grid SET upheld = '1', pending = '/' WHERE agency = 't-flow' AND year = 2022 AND row_key = 'review';
SELECT results_eq($$ SELECT upheld, pending, total FROM disclosure.appeals_grid
                      WHERE agency = 't-flow' AND year = 2022 AND row_key = 'review' $$,
    $$ VALUES ('1', '/', '1') $$, 'a slash is kept as given and counts as nothing in the total');
UPDATE disclosure.proactive_grid SET amount = '0.75' WHERE agency = 't-flow' AND year = 2022 AND row_key = 'fees';
SELECT is((SELECT amount FROM disclosure.proactive_grid WHERE agency = 't-flow' AND year = 2022 AND row_key = 'fees'),
          '0.75', 'the fee amount is kept exact');
SELECT throws_ok($$ UPDATE disclosure.proactive_grid SET issued = '1'
                     WHERE agency = 't-flow' AND year = 2022 AND row_key = 'licensing' $$, '23514', NULL,
    'a cell that the format does not have cannot be set');
UPDATE disclosure.sections_grid SET body = E'第一段。\n第二段。' WHERE agency = 't-flow' AND year = 2022 AND section = 'problems';
UPDATE disclosure.sections_grid SET body = '无。' WHERE agency = 't-flow' AND year = 2022 AND section = 'other';
UPDATE disclosure.sections_grid SET body = '概述。' WHERE agency = 't-flow' AND year = 2022 AND part = 'intro';

-- bad input: a clear error, nothing half-written
SELECT throws_ok($$ UPDATE disclosure.applications_grid SET research = 'abc'
                     WHERE agency = 't-flow' AND year = 2022 AND row_key = 'received' $$, '22P02',
    '“abc” 不是数字；单元格填数字、空白、“/” 或 “未列出”', 'a word is not a number');
SELECT throws_ok($$ UPDATE disclosure.applications_grid SET research = '1', nonprofit = '-3'
                     WHERE agency = 't-flow' AND year = 2022 AND row_key = 'received' $$, '23514', NULL,
    'a negative count is refused ...');
SELECT is((SELECT research FROM disclosure.applications_grid
            WHERE agency = 't-flow' AND year = 2022 AND row_key = 'received'), '0',
    '... and the other cell of the same UPDATE was not written');
SELECT throws_ok($$ SELECT disclosure.set_cell(disclosure.draft_of('t-flow', 2022), 'applications', 'bogus', 'natural_person', '1') $$,
    '23514', NULL, 'an unknown row key is refused');
SELECT throws_ok($$ INSERT INTO disclosure.cell (revision_id, tbl, row_key, col_key, value)
                    VALUES (disclosure.draft_of('t-flow', 2022), 'applications', 'received', 'aliens', 1) $$,
    '23503', '2021 格式中没有单元格 applications.received.aliens', 'an unknown column key is refused');
SELECT throws_ok($$ SELECT disclosure.new_report('t-flow', 2101) $$, '23514', NULL, 'a year out of range is refused');
SELECT throws_ok($$ SELECT disclosure.new_report('t-flow', 2022) $$, '23505',
    '机关 “t-flow” 已有 2022 年度的报告', 'a second report for the same agency and year is refused');
SELECT throws_ok($$ SELECT disclosure.new_report('no-such-agency', 2022) $$, 'P0002',
    '没有机关 “no-such-agency”', 'an unknown agency is named');
SELECT throws_ok($$ INSERT INTO disclosure.agency (slug, name, kind) VALUES ('Bad Slug!', 'x', 'department') $$,
    '23514', NULL, 'a slug with odd characters is refused');

-- publish: refused with the reasons, then done
UPDATE disclosure.applications_grid SET natural_person = '9'
 WHERE agency = 't-flow' AND year = 2022 AND row_key = 'received';
SELECT throws_like($$ SELECT disclosure.publish('t-flow', 2022) $$, '报告未发布：“t-flow” 2022 年度有 2 处错误',
    'publish refuses a report that breaks 勾稽');
SELECT is((SELECT status FROM disclosure.reports WHERE agency = 't-flow' AND year = 2022), 'draft',
    'the refused report is still a draft');
UPDATE disclosure.applications_grid SET natural_person = '7'
 WHERE agency = 't-flow' AND year = 2022 AND row_key = 'received';
CREATE TEMP TABLE before AS SELECT version FROM disclosure.data_version;
SELECT is(disclosure.publish('t-flow', 2022, '2023-01-10 09:00+08'), 1, 'publish makes revision 1');
SELECT is((SELECT version FROM disclosure.data_version), (SELECT version + 1 FROM before),
          'publish bumps the data version that replicas poll');

-- carry-over into the next year
SELECT disclosure.new_report('t-flow', 2023);
SELECT results_eq($$ SELECT natural_person, business, total FROM disclosure.applications_grid
                      WHERE agency = 't-flow' AND year = 2023 AND row_key = 'carried_over' $$,
    $$ VALUES ('2', '0', '2') $$, 'new_report copies 上年结转 from last year''s 结转下年度继续办理');

-- a published report is immutable
SELECT throws_ok($$ UPDATE disclosure.applications_grid SET natural_person = '8'
                     WHERE agency = 't-flow' AND year = 2022 AND row_key = 'received' $$, '55000', NULL,
    'a published report cannot be edited through the grid');
SELECT throws_ok($$ UPDATE disclosure.cell SET value = 8 WHERE tbl = 'applications' AND row_key = 'received'
                     AND revision_id = (SELECT revision_id FROM disclosure.public_revision WHERE agency = 't-flow' AND year = 2022) $$,
    '55000', NULL, 'nor in its table');
SELECT throws_ok($$ UPDATE disclosure.revision SET published_at = now()
                     WHERE id = (SELECT revision_id FROM disclosure.public_revision WHERE agency = 't-flow' AND year = 2022) $$,
    '55000', NULL, 'its publication time cannot be changed silently');
SELECT throws_ok($$ DELETE FROM disclosure.report WHERE id = disclosure.find_report('t-flow', 2022) $$,
    '55000', NULL, 'it cannot be deleted');

-- a correction is a new revision with a reason; the history stays readable
SELECT throws_ok($$ SELECT disclosure.revise('t-flow', 2022, '') $$, '23502', '更正必须说明原因',
    'a correction needs a reason');
SELECT is(disclosure.revise('t-flow', 2022, '自然人申请数量录入有误') > 0, true, 'revise opens a correction draft');
UPDATE disclosure.applications_grid SET natural_person = '8' WHERE agency = 't-flow' AND year = 2022 AND row_key = 'received';
UPDATE disclosure.applications_grid SET natural_person = '6' WHERE agency = 't-flow' AND year = 2022 AND row_key = 'granted';
SELECT is(disclosure.publish('t-flow', 2022), 2, 'the correction is published as revision 2');
SELECT results_eq($$ SELECT revision, status, reason FROM disclosure.revision_history
                      WHERE agency = 't-flow' AND year = 2022 ORDER BY revision $$,
    $$ VALUES (1, 'published', NULL), (2, 'published', '自然人申请数量录入有误') $$,
    'the history keeps both revisions and the reason');
SELECT is((SELECT c.value FROM disclosure.cell c JOIN disclosure.revision v ON v.id = c.revision_id
            WHERE v.report_id = disclosure.find_report('t-flow', 2022) AND v.revision = 1
              AND c.tbl = 'applications' AND c.row_key = 'received' AND c.col_key = 'natural_person'),
          7::numeric, 'revision 1 still says what it said');

-- withdrawal hides the report from the public
SELECT disclosure.withdraw('t-flow', 2022, '重复发布');
SELECT ok(disclosure_web.report('t-flow', 2022) IS NULL, 'a withdrawn report is not served');

SELECT * FROM finish();
ROLLBACK;
