-- Sample data: the real seed report, and a made-up district with departments.
-- Loaded by `make demo` and by the tests, after sql/migrate:
--   psql -v ON_ERROR_STOP=1 -f sql/sample/load.sql
\set ON_ERROR_STOP 1
\ir xigong-edz-2024.sql
\ir demo-district.sql
\ir demo-district-completeness.sql
