-- Reports as they were printed (issue 10): cells not printed and the merged
-- （六） row, scope unknown, blank printed totals, printed totals as the values
-- of the document, the original publication date, legacy and R12.
BEGIN;
SELECT plan(47);

-- a real document of the sample (示例区住房和城乡建设局 2023) for another agency
INSERT INTO disclosure.agency (slug, name, kind) VALUES ('t-printed', '原样局', 'department');
CREATE TEMP TABLE base AS
SELECT jsonb_set(disclosure.export_report('demo-district-housing', 2023)::jsonb, '{agency}',
                 '{"slug": "t-printed", "name": "原样局", "kind": "department", "parent": null}') AS d;
CREATE FUNCTION pg_temp.findings(p_rule text)
RETURNS SETOF text LANGUAGE sql AS $$
    SELECT coalesce(tbl, '') || '.' || coalesce(row_key, '') || '.' || coalesce(col_key, '') || ' ' || message
      FROM disclosure.check_report('t-printed', 2023) WHERE rule = p_rule
$$;
-- the document with every cell of the three （六） sub-rows not printed
CREATE FUNCTION pg_temp.merged(d jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_set(d, '{tables,applications}', (d #> '{tables,applications}') ||
           jsonb_build_object(
               'other_no_correction', x.r, 'other_unpaid_fee', x.r, 'other_misc', x.r))
      FROM (SELECT jsonb_object_agg(k, 'not_printed') AS r
              FROM jsonb_object_keys(d #> '{tables,applications,other_misc}') k) x
$$;

-- 1. not printed: a 2021 report that printed （六）其他处理 as one row (the 2019
--    layout); one 重复申请 of a natural person is counted there instead
CREATE TEMP TABLE m AS
SELECT jsonb_set(jsonb_set(jsonb_set(pg_temp.merged(d), '{legacy}', 'true'),
                           '{tables,applications,rejected_duplicate}', (d #> '{tables,applications,rejected_duplicate}')
                           || '{"natural_person": 0, "total": 0}'),
                 '{published_totals}',
                 '{"applications": {"other": {"natural_person": 1, "business": 0, "research": 0,
                                              "nonprofit": 0, "legal_services": 0, "other_org": null,
                                              "total": 1}}}') AS d
  FROM base;
SELECT lives_ok($$ SELECT disclosure.import_report(d) FROM m $$,
    'a 2021 report with （六） printed as one row is imported');
SELECT is((SELECT count(*)::int FROM disclosure.cell
            WHERE revision_id = disclosure.draft_of('t-printed', 2023) AND given = 'not_printed'),
          18, 'its three sub-rows are kept as not printed, 6 cells each');
SELECT is(disclosure.export_report('t-printed', 2023, true)::jsonb #> '{tables,applications,other_misc}',
          '{"natural_person": "not_printed", "business": "not_printed", "research": "not_printed",
            "nonprofit": "not_printed", "legal_services": "not_printed", "other_org": "not_printed",
            "total": "not_printed"}'::jsonb,
          'the document gives them as "not_printed", their total too');
SELECT is(disclosure.export_report('t-printed', 2023, true)::jsonb #> '{published_totals,applications,other}',
          (SELECT d #> '{published_totals,applications,other}' FROM m),
          'the merged row is kept as printed, under the 2019 key');
SELECT is((disclosure.export_report('t-printed', 2023, true)::jsonb #>> '{tables,applications,closed_total,natural_person}')::int,
          30, '（七）总计 counts the merged row for its sub-rows');
SELECT is(disclosure.export_report('t-printed', 2023, true)::jsonb - '{agency,status,revision,published_at,revisions}'::text[],
          (SELECT d - '{agency,status,revision,published_at,revisions}'::text[] FROM m),
          'export(import(document)) is the document');
SELECT is_empty($$ SELECT * FROM disclosure.check_report('t-printed', 2023) WHERE severity = 'error' $$,
    'no error: the columns balance with the merged row');
SELECT is((SELECT count(*)::int FROM pg_temp.findings('R14') f WHERE f LIKE '%未列出（原报告没有这一格）%'), 18,
    'R14 notes every cell not printed');
SELECT is((SELECT natural_person || '|' || total FROM disclosure.applications_grid
            WHERE agency = 't-printed' AND year = 2023 AND row_key = 'other_misc'),
          '未列出|未列出', 'the grid shows 未列出, in the total too');
UPDATE disclosure.applications_grid SET business = '未列出'
 WHERE agency = 't-printed' AND year = 2023 AND row_key = 'granted';
SELECT is((SELECT given FROM disclosure.cell WHERE revision_id = disclosure.draft_of('t-printed', 2023)
            AND tbl = 'applications' AND row_key = 'granted' AND col_key = 'business'),
          'not_printed', 'an editor types 未列出 in the grid');
SELECT is((disclosure.parse_cell('not_printed')).given, 'not_printed', 'or not_printed, as the CSV has it');
SELECT throws_ok($$ SELECT disclosure.import_report(jsonb_set(d, '{tables,applications,other_misc,business}', '0')) FROM m $$,
    '22023', NULL, 'the merged row is refused while a sub-row has a printed cell');
SELECT throws_ok($$ SELECT disclosure.import_report(jsonb_set(d, '{tables,applications,granted,business}', '"not printed"')) FROM m $$,
    '22P02', 'tables.applications.granted.business：“not printed” 不是数字、null、"/" 或 "not_printed"',
    'any other text is refused, named');
-- a block of 二 the report left out
SELECT lives_ok($$ SELECT disclosure.import_report(jsonb_set(d, '{tables,proactive,fees,amount}', '"not_printed"')) FROM base $$,
    'a block of 二 not printed is imported');
SELECT is(disclosure.export_report('t-printed', 2023, true)::jsonb #> '{tables,proactive,fees,amount}',
          '"not_printed"'::jsonb, 'and given back as not printed');

-- 2. scope unknown: accepted and shown; never office by default
SELECT lives_ok($$ SELECT disclosure.import_report(jsonb_set(d, '{scope}', '"unknown"')) FROM base $$,
    'scope "unknown" is accepted');
SELECT is(disclosure.export_report('t-printed', 2023, true) ->> 'scope', 'unknown', 'and exported');
SELECT throws_ok($$ SELECT disclosure.import_report(d - 'scope') FROM base $$, '22023',
    'scope 应为 "office"、"jurisdiction" 或 "unknown"，收到 缺少',
    'a document without scope is refused, not stored as office');
SELECT throws_ok($$ SELECT disclosure.import_report(jsonb_set(d, '{scope}', '"county"')) FROM base $$, '22023',
    NULL, 'so is any other scope');
SELECT lives_ok($$ UPDATE disclosure.reports SET scope = 'jurisdiction' WHERE agency = 't-printed' AND year = 2023 $$,
    'an editor sets the scope of a draft');
SELECT lives_ok($$ SELECT disclosure.new_report('t-printed', 2022, NULL, 'unknown') $$,
    'new_report takes scope unknown');

-- 3. blank printed totals: not stated, not compared; a total of nothing is blank
CREATE TEMP TABLE bl AS
SELECT jsonb_set(jsonb_set(d, '{tables,appeals,suit_after_review}',
                           '{"upheld": null, "corrected": "/", "other": null, "pending": "not_printed", "total": 0}'),
                 '{published_totals}', '{"appeals": {"suit_after_review": {"total": null}}}') AS d
  FROM base;
SELECT disclosure.import_report(d) FROM bl;
SELECT is(disclosure.export_report('t-printed', 2023, true)::jsonb #> '{tables,appeals,suit_after_review,total}',
          'null'::jsonb, 'a total whose parts are blank, slash and not printed is blank, not 0');
SELECT is((SELECT total FROM disclosure.appeals_grid WHERE agency = 't-printed' AND year = 2023 AND row_key = 'suit_after_review'),
          NULL, 'the grid shows it blank');
SELECT is_empty($$ SELECT * FROM pg_temp.findings('R4') $$, 'a blank printed total is not compared');
SELECT ok(EXISTS (SELECT FROM pg_temp.findings('R14') f
                   WHERE f LIKE 'appeals.suit_after_review.total%发布的合计为空白，视为未填写，不与分项之和比较'),
    'R14 says it is not stated');
UPDATE bl SET d = jsonb_set(d, '{published_totals,appeals,suit_after_review,total}', '0');
SELECT disclosure.import_report(d) FROM bl;
SELECT is_empty($$ SELECT * FROM pg_temp.findings('R4') $$, 'a printed 0 over parts of nothing: no finding');
UPDATE bl SET d = jsonb_set(d, '{published_totals,appeals,suit_after_review,total}', '3');
SELECT disclosure.import_report(d) FROM bl;
SELECT set_eq($$ SELECT * FROM pg_temp.findings('R4') $$,
    ARRAY['appeals.suit_after_review.total appeals.suit_after_review.total（复议后起诉 · 总计）：发布的合计为 3，但分项均未填数字（空白、“/”或未列出）'],
    'a printed 3 over parts of nothing: named so, without a difference');
-- R2 also on the 总计 column: the printed （七）总计 against the printed row totals
UPDATE bl SET d = jsonb_set(d, '{published_totals}',
    '{"applications": {"granted": {"total": 25}, "partly_granted": {"total": 4}, "closed_total": {"total": 39}}}');
SELECT disclosure.import_report(d) FROM bl;
SELECT set_eq($$ SELECT * FROM pg_temp.findings('R2') $$,
    ARRAY['applications.closed_total.total 三、（七）总计的总计栏：发布为 39，各办理结果行发布的总计之和为 40，相差 -1'],
    'R2 compares the printed （七）总计 with the printed totals of the result rows');
SELECT ok((SELECT count(*) FROM pg_temp.findings('R3') f WHERE f LIKE 'applications.granted.total%相差 1') = 1,
    'and R3 flags the row total itself');
SELECT is_empty($$ SELECT * FROM disclosure.check_report('t-printed', 2023) WHERE message ~ '相差 0(?![0-9.])' $$,
    'no message says a difference of 0');

-- 4. the document gives the printed total as the value, the derived one beside it
UPDATE bl SET d = jsonb_set(d, '{published_totals}', '{"appeals": {"review": {"total": 0}}}');
SELECT disclosure.import_report(d) FROM bl;
SELECT is((disclosure.export_report('t-printed', 2023, true)::jsonb #>> '{tables,appeals,review,total}')::int, 0,
    'tables gives the total as printed');
SELECT is(disclosure.export_report('t-printed', 2023, true)::jsonb -> 'derived_totals',
          '{"appeals": {"review": {"total": 2}}}'::jsonb, 'derived_totals gives the derived one where it differs');
SELECT is(disclosure.export_report('t-printed', 2023, true)::jsonb -> 'published_totals',
          '{"appeals": {"review": {"total": 0}}}'::jsonb, 'published_totals as printed');

-- 6. the original publication date, source and index number are kept
UPDATE bl SET d = d || '{"published_at": "2024-01-20T09:30:00+08:00", "source_url": "https://example.invalid/2023.html",
                         "index_no": "T-2024-01"}';
SELECT disclosure.import_report(d) FROM bl;
SELECT is((SELECT source_url || ' ' || index_no FROM disclosure.reports WHERE agency = 't-printed' AND year = 2023),
          'https://example.invalid/2023.html T-2024-01', 'source_url and index_no are kept');
SELECT is(disclosure.export_report('t-printed', 2023, true) ->> 'published_at', '2024-01-20T09:30:00+08:00',
    'published_at is kept on the draft');
SELECT is_empty($$ SELECT * FROM pg_temp.findings('R13') $$, 'R13 judges that date: in time');
UPDATE bl SET d = jsonb_set(d, '{published_at}', '"2024-03-02T10:00:00+08:00"');
SELECT disclosure.import_report(d) FROM bl;
SELECT set_eq($$ SELECT * FROM pg_temp.findings('R13') $$,
    ARRAY['.. 政府部门的 2023 年度报告应在 2024-01-31 前发布，实际发布于 2024-03-02'], 'R13 judges that date: late');
SELECT throws_ok($$ SELECT disclosure.import_report(jsonb_set(d, '{published_at}', '"昨天"')) FROM bl $$, '22007',
    'published_at：“昨天” 不是带时区的 ISO 8601 时间', 'a date that is not one is refused');
SELECT is(disclosure.publish('t-printed', 2023), 1, 'the legacy report publishes (its R4 finding shown)');
SELECT is((SELECT published_at FROM disclosure.reports WHERE agency = 't-printed' AND year = 2023),
          '2024-03-02 10:00+08'::timestamptz, 'with the date it was first published');
SELECT is(disclosure_web.report('t-printed', 2023) ->> 'published_at', '2024-03-02T10:00:00+08:00',
          'which the web document shows');
SELECT disclosure.revise('t-printed', 2023, '更正');
SELECT disclosure.publish('t-printed', 2023);
SELECT ok((SELECT published_at > now() - interval '1 hour' FROM disclosure.reports WHERE agency = 't-printed' AND year = 2023),
    'a correction is published now');
-- a document of ours (not legacy) does not bring a publication date
SELECT disclosure.import_report(jsonb_set(d, '{year}', '2021')) FROM base;
SELECT is(disclosure.export_report('t-printed', 2021, true) ->> 'published_at', NULL,
    'a non-legacy document''s published_at is not kept');

-- 7. a legacy report on a stale layout publishes, R12 shown as a finding
CREATE TEMP TABLE old AS
SELECT jsonb_set(jsonb_set(disclosure.export_report('demo-district-housing', 2020)::jsonb, '{agency}',
                           '{"slug": "t-printed", "name": "原样局", "kind": "department", "parent": null}'),
                 '{year}', '2024') || '{"legacy": true}' AS d;
SELECT disclosure.import_report(d) FROM old;
SELECT ok(EXISTS (SELECT FROM disclosure.check_report('t-printed', 2024) WHERE rule = 'R12' AND severity = 'error'),
    'a 2024 report on the 2019 layout breaks R12');
SELECT is(disclosure.publish('t-printed', 2024), 1, 'imported as legacy, it publishes');
SELECT ok(EXISTS (SELECT FROM disclosure.check_report('t-printed', 2024) WHERE rule = 'R12'),
    'and R12 is still a finding of the published report');
SELECT disclosure.import_report(d - 'legacy') FROM (SELECT jsonb_set(d, '{year}', '2025') AS d FROM old) x;
SELECT throws_like($$ SELECT disclosure.publish('t-printed', 2025) $$, '%有 1 处错误%',
    'a report of ours on the stale layout is still refused');

SELECT * FROM finish();
ROLLBACK;
