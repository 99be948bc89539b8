-- The report document: export, lossless import, legacy totals, CSV of cells.
BEGIN;
SELECT plan(22);

CREATE TEMP TABLE doc AS SELECT disclosure.export_report('demo-district-housing', 2023)::jsonb AS d;

SELECT is((SELECT d ->> 'document' FROM doc), 'disclosure-report/1', 'the document says what it is');
SELECT is((SELECT jsonb_array_length(d -> 'sections') FROM doc), 6, 'six sections');
SELECT is((SELECT d #>> '{sections,0,heading}' FROM doc), '一、总体情况', 'headings verbatim');
SELECT is((SELECT (d #>> '{tables,applications,received,total}')::int FROM doc),
          (SELECT total::int FROM disclosure.applications_grid
            WHERE agency = 'demo-district-housing' AND year = 2023 AND row_key = 'received'),
          'the totals are in the document');
SELECT is((SELECT d #> '{tables,proactive,fees,amount}' FROM doc), '2.25'::jsonb, 'the fee is an exact decimal');
SELECT is((SELECT count(*)::int FROM doc, jsonb_each(d -> 'tables') t, jsonb_each(t.value) r, jsonb_each(r.value) c),
          (SELECT count(*)::int FROM disclosure.format_cell WHERE format = 2021), 'every cell of the format');
SELECT is((SELECT d -> 'published_totals' FROM doc), 'null'::jsonb, 'no printed totals for a report of ours');
SELECT ok(disclosure.export_report('demo-district-housing', 2023)::text
          ~ '^\{"document" : "disclosure-report/1", "agency" : \{"slug" : "demo-district-housing"',
          'keys come in the documented order');

-- round trip into another agency: the same tables, narrative and metadata
INSERT INTO disclosure.agency (slug, name, kind) VALUES ('t-copy', '副本局', 'department');
UPDATE doc SET d = jsonb_set(d, '{agency}', '{"slug": "t-copy", "name": "副本局", "kind": "department", "parent": null}');
UPDATE doc SET d = jsonb_set(d, '{sections,4,parts,0,text}', to_jsonb(E'含 "引号"、<标签> 与 \\ 反斜杠\n第二段'::text));
SELECT lives_ok($$ SELECT disclosure.import_report(d) FROM doc $$, 'import_report takes the document back');
SELECT is((SELECT disclosure.export_report('t-copy', 2023, true)::jsonb
                  - '{agency,status,revision,published_at,revisions}'::text[]),
          (SELECT d - '{agency,status,revision,published_at,revisions}'::text[] FROM doc),
          'export(import(document)) is the document: nothing lost');
SELECT lives_ok($$ SELECT disclosure.import_report(d) FROM doc $$, 'importing again replaces the draft');
SELECT is((SELECT count(*)::int FROM disclosure.revision v JOIN disclosure.report r ON r.id = v.report_id
            JOIN disclosure.agency a ON a.id = r.agency_id WHERE a.slug = 't-copy'), 1, 'still one draft');

-- bad documents: named, and nothing written
SELECT throws_ok($$ SELECT disclosure.import_report(jsonb_set(d, '{agency,slug}', '"t-new"')
                                                    #- '{tables,appeals,review,upheld}') FROM doc $$,
    '22P02', 'tables.appeals.review.upheld：缺少或不是数字（缺少）', 'a missing cell is named');
SELECT throws_ok($$ SELECT disclosure.import_report(jsonb_set(jsonb_set(d, '{agency,slug}', '"t-new"'),
                                                    '{tables,appeals,review,bogus}', '1')) FROM doc $$,
    '23503', 'tables.appeals.review.bogus：2021 版格式中没有这个单元格', 'an unknown key is named');
SELECT throws_ok($$ SELECT disclosure.import_report(jsonb_set(jsonb_set(d, '{agency,slug}', '"t-new"'),
                                                    '{tables,appeals,review,upheld}', '-4')) FROM doc $$,
    '23514', NULL, 'a negative count is refused');
SELECT ok(NOT EXISTS (SELECT FROM disclosure.agency WHERE slug = 't-new'), 'and nothing of the refused imports remains');

-- a legacy report keeps its printed totals, is flagged, and may be published as printed
UPDATE doc SET d = jsonb_set(jsonb_set(d, '{agency,slug}', '"t-legacy"'), '{published_totals}',
                   '{"appeals": {"review": {"total": 0}}}');
SELECT disclosure.import_report(d) FROM doc;
SELECT ok((SELECT legacy FROM disclosure.reports WHERE agency = 't-legacy'), 'printed totals make a legacy report');
SELECT ok(EXISTS (SELECT FROM disclosure.check_report('t-legacy', 2023) WHERE rule = 'R4'),
    'its 行政复议 total left at 0 is flagged (R4)');

-- CSV of cells, as spreadsheet users give it
SELECT disclosure.new_report('t-copy', 2024);
SELECT is(disclosure.import_cells_csv('t-copy', 2024,
    E'\uFEFFtable,row,col,value\r\napplications,received,natural_person,4\r\napplications,granted,natural_person,4\r\n'
    || E'applications,received,total,4\r\nproactive,fees,amount,"1.5"\r\nappeals,review,pending,/\r\n'),
    4, 'import_cells_csv sets the cells and checks the totals');
SELECT throws_ok($$ SELECT disclosure.import_cells_csv('t-copy', 2024,
    E'table,row,col,value\napplications,received,business,2\napplications,received,total,5\n') $$,
    '23514', 'CSV 第 3 行：applications.received.total（一、本年新收政府信息公开申请数量 · 总计） 的合计写作 “5”，分项之和为 6',
    'a CSV total that is not the sum is refused, and named by its line');

-- the five columns the module serves: value as printed, derived beside it
SELECT disclosure.new_report('t-copy', 2025);
SELECT is(disclosure.import_cells_csv('t-copy', 2025,
    E'\uFEFFtable,row,col,value,derived\r\napplications,received,natural_person,4,\r\n'
    || E'applications,granted,natural_person,4,\r\napplications,received,total,9,4\r\n'
    || E'appeals,review,pending,not_printed,\r\n'),
    3, 'import_cells_csv reads table,row,col,value,derived; a total is checked against derived');
SELECT is((SELECT pending FROM disclosure.appeals_grid WHERE agency = 't-copy' AND year = 2025 AND row_key = 'review'),
          '未列出', 'and takes not_printed');

SELECT * FROM finish();
ROLLBACK;
