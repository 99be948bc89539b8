-- The installed schema: migrations recorded in order, the format loaded from
-- format/*.tsv, the grids and the web API in place.
BEGIN;
SELECT plan(13);

SELECT results_eq($$ SELECT name FROM disclosure.migration ORDER BY name $$,
    ARRAY['0001_format.sql', '0002_model.sql', '0003_integrity.sql', '0004_rules.sql',
          '0005_workflow.sql', '0006_document.sql', '0007_roles_web.sql',
          '0008_reader_writes_nothing.sql', '0009_web_api_plpgsql.sql',
          '0010_agency_changes_announced.sql', '0011_change_log.sql', '0020_as_printed.sql',
          '0021_rules_as_printed.sql', '0022_agency_children_shown.sql', '0030_preview.sql',
          '0040_across_reports.sql', '0041_changes_ancestors.sql', '0050_open_data.sql',
          '0051_open_data_lines.sql', '0052_open_data_per_revision_dropped.sql',
          '0053_open_data_file_versions.sql', '0054_open_data_file_bytes.sql',
          '0055_open_data_file_counts.sql'],
    'every migration is recorded once, in order');
SELECT results_eq($$ SELECT format, count(*)::int FROM disclosure.format_cell GROUP BY format ORDER BY format $$,
    $$ VALUES (2019::smallint, 198), (2021::smallint, 200) $$, 'every cell of cells.tsv, both versions');
SELECT is((SELECT row_label FROM disclosure.format_cell
            WHERE format = 2021 AND tbl = 'proactive' AND row_key = 'regulations' AND col_key = 'repealed'),
          '规章', 'labels verbatim');
SELECT is((SELECT col_label FROM disclosure.format_cell
            WHERE format = 2021 AND tbl = 'proactive' AND row_key = 'regulations' AND col_key = 'repealed'),
          '本年废止件数', 'the format''s 本年废止件数, not the seed''s typo');
SELECT is((SELECT count(*)::int FROM disclosure.format_total_part
            WHERE format = 2021 AND tbl = 'applications' AND row_key = 'closed_total' AND col_key = 'total'),
          21 * 6, '（七）总计 adds up the 21 result rows × 6 applicant columns (R2)');
SELECT is((SELECT count(*)::int FROM disclosure.format_total_part
            WHERE format = 2019 AND tbl = 'applications' AND row_key = 'closed_total' AND col_key = 'natural_person'),
          19, 'in the 2019 format, 19 result rows');
SELECT is((SELECT count(*)::int FROM disclosure.format_total_part
            WHERE format = 2021 AND tbl = 'appeals' AND row_key = 'review' AND col_key = 'total'),
          4, '行政复议 总计 adds up its four results (R4)');
SELECT is((SELECT heading FROM disclosure.format_section WHERE format = 2019 AND section = 'problems' AND part = ''),
          '五、政府信息公开工作存在的主要问题及改进情况', 'the 2019 heading of 五');
SELECT has_view('disclosure', 'applications_grid', 'the applications grid');
SELECT columns_are('disclosure', 'appeals_grid',
    ARRAY['agency', 'year', 'revision', 'status', 'revision_id', 'format', 'row_no', 'row_key', 'row_label',
          'upheld', 'corrected', 'other', 'pending', 'total'], 'the appeals grid has one column per table column');
SELECT functions_are('disclosure_web', ARRAY['data_version', 'report', 'published_years', 'index', 'agency',
                                             'changes', 'trend', 'compare', 'rollup', 'year_page', 'ancestors',
                                             'data_wide_lines', 'data_json_lines', 'data_all_lines', 'data_file',
                                             'data_catalog', 'data_dictionary'],
    'the web API');
SELECT is((SELECT string_agg(format('%s %s %s %s', p.proname, l.lanname, p.prosecdef, p.proconfig), '; '
                           ORDER BY p.proname)
             FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
            WHERE p.pronamespace = 'disclosure_web'::regnamespace),
          (SELECT string_agg(f || CASE WHEN j = ',enable_sort=off' THEN ' sql' ELSE ' plpgsql' END
                             || ' t {"search_path=pg_catalog, pg_temp"' || j || '}', '; ' ORDER BY f)
             FROM (VALUES ('agency', ',jit=off'), ('ancestors', ''), ('changes', ''), ('compare', ',jit=off'),
                          ('data_catalog', ''), ('data_dictionary', ''), ('data_file', ''),
                          ('data_all_lines', ',enable_sort=off'), ('data_json_lines', ',enable_sort=off'),
                          ('data_wide_lines', ',enable_sort=off'),
                          ('data_version', ''), ('index', ',jit=off'), ('published_years', ''),
                          ('report', ''), ('rollup', ',jit=off'), ('trend', ',jit=off'),
                          ('year_page', ',jit=off')) v(f, j)),
    'the web API keeps its plans between calls (PL/pgSQL), as its owner, with a fixed search_path, '
    'index and agency pages without JIT; the bulk files'' lines in SQL (rows one by one, in index order)');
SELECT is((SELECT count(*)::int FROM disclosure.revision v JOIN disclosure.report r ON r.id = v.report_id
            JOIN disclosure.agency a ON a.id = r.agency_id
           WHERE a.slug LIKE 'demo-district%' AND v.status = 'published'), 27,
    'the made-up district: 4 agencies × 5 published years, 3 + 4 of two more departments');

SELECT * FROM finish();
ROLLBACK;
