-- The per-revision functions of the first open-data files (data_revisions,
-- data_wide_line, data_long_lines, data_json_line) were kept over the stored
-- lines of 0051 only for bench/run's B9, which now runs nginx's own queries
-- (data_wide_lines, data_json_lines, data_all_lines).  Dropped here because
-- a repeatable file cannot remove what it no longer defines (README,
-- "Migrations"); in a fresh install they never existed.
DROP FUNCTION IF EXISTS disclosure_web.data_revisions(int, int);
DROP FUNCTION IF EXISTS disclosure_web.data_wide_line(int);
DROP FUNCTION IF EXISTS disclosure_web.data_long_lines(int);
DROP FUNCTION IF EXISTS disclosure_web.data_json_line(int);
