-- Open data in bulk (issue 14): each /data/ file's row count and size in
-- bytes kept in its data_file_version row, stepped by the triggers on
-- disclosure.data_line that already step its version, from the lines a
-- statement inserted, changed or deleted.  Before, every download's
-- data_file() counted and summed its file's lines (10,000 for a year of
-- 10,000 agencies, every line for all.csv) and the catalog every line of
-- every file: work that grew with the data, done at each request, while the
-- answer changes only when a line does.
--
-- A row also says which file it is (kind, year, format), so the catalog lists
-- the files from these rows alone.  A file whose lines are all gone keeps its
-- row with no rows (its version stays unique).  The step function now takes
-- the counts' changes with the files (disclosure.data_file_count): the old
-- one is dropped; sql/functions/85_open_data.sql defines the new one and the
-- triggers' new bodies.

CREATE TYPE disclosure.data_file_count AS (
    kind    text,           -- 'csv', 'jsonl', 'all', 'catalog' (index.json)
    year    int,            -- csv, jsonl
    format  smallint,       -- csv
    rows    bigint,         -- the lines added (negative: taken away)
    bytes   bigint
);
COMMENT ON TYPE disclosure.data_file_count IS
    'a change to a /data/ file''s lines: which file, the rows and bytes it gained (or lost)';

ALTER TABLE disclosure.data_file_version
    ADD COLUMN kind    text,
    ADD COLUMN year    int,
    ADD COLUMN format  smallint,
    ADD COLUMN rows    bigint NOT NULL DEFAULT 0 CHECK (rows >= 0),
    ADD COLUMN bytes   bigint NOT NULL DEFAULT 0 CHECK (bytes >= 0);

-- which file each row is, from its name (as data_file_name() makes them)
UPDATE disclosure.data_file_version v
   SET kind = CASE WHEN v.file = 'index.json' THEN 'catalog'
                   WHEN v.file = 'all.csv' THEN 'all'
                   WHEN v.file ~ '^[0-9]+\.jsonl$' THEN 'jsonl'
                   WHEN v.file ~ '^[0-9]+(-[0-9]+)?\.csv$' THEN 'csv' END,
       year = substring(v.file FROM '^([0-9]+)[-.]')::int,
       format = CASE WHEN v.file ~ '^[0-9]+-[0-9]+\.csv$'
                     THEN substring(v.file FROM '^[0-9]+-([0-9]+)\.csv$')::smallint
                     WHEN v.file ~ '^[0-9]+\.csv$' THEN (
                         SELECT f.format FROM disclosure.format f
                          WHERE substring(v.file FROM '^([0-9]+)')::int >= f.first_year
                            AND (f.last_year IS NULL OR substring(v.file FROM '^([0-9]+)')::int <= f.last_year)
                          ORDER BY f.format DESC LIMIT 1) END;

ALTER TABLE disclosure.data_file_version
    ALTER COLUMN kind SET NOT NULL,
    ADD CHECK (kind IN ('csv', 'jsonl', 'all', 'catalog')),
    ADD CHECK ((kind IN ('csv', 'jsonl')) = (year IS NOT NULL)),
    ADD CHECK ((kind = 'csv') = (format IS NOT NULL));

-- the counts of the lines there are now (0053 made a row for every file
-- with lines, and the triggers since; a row missing is made)
INSERT INTO disclosure.data_file_version AS v (file, version, changed_at, kind, year, format, rows, bytes)
SELECT c.file, nextval('disclosure.data_file_version_seq'), now(), c.kind, c.year, c.format, c.rows, c.bytes
  FROM (SELECT l.year || CASE WHEN l.format = (
                          SELECT f.format FROM disclosure.format f
                           WHERE l.year >= f.first_year AND (f.last_year IS NULL OR l.year <= f.last_year)
                           ORDER BY f.format DESC LIMIT 1)
                      THEN '' ELSE '-' || l.format END || '.csv' AS file,
               'csv' AS kind, l.year, l.format, count(*) AS rows, sum(l.wide_bytes) AS bytes
          FROM disclosure.data_line l GROUP BY l.year, l.format
        UNION ALL
        SELECT l.year || '.jsonl', 'jsonl', l.year, NULL, count(*), sum(l.json_bytes)
          FROM disclosure.data_line l GROUP BY l.year
        UNION ALL
        SELECT 'all.csv', 'all', NULL, NULL, count(*), sum(l.long_bytes)
          FROM disclosure.data_line l HAVING count(*) > 0) c
 ORDER BY c.file
    ON CONFLICT (file) DO UPDATE SET rows = excluded.rows, bytes = excluded.bytes;

COMMENT ON TABLE disclosure.data_file_version IS
    'each /data/ file''s version and last change (its ETag and Last-Modified), row count and size of its lines in bytes, and the catalog''s (index.json); kept by triggers on data_line; a file that is gone keeps its row, with no rows';

DROP FUNCTION IF EXISTS disclosure.data_file_step(text[]);
