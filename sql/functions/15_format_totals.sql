-- How every total is made: the input cells it adds up (the table
-- disclosure.format_total_part of 0002_model.sql, which first filled it the
-- same way).  Derived from the layout of format_cell, so that a total is
-- never typed, and derived again each time the repeatable files run, so that
-- a row or column added to format/cells.tsv (00_format.sql) counts in its
-- totals.  The rows kept are left alone; 00_format.sql has already deleted
-- those of cells gone from the TSV.
--
-- A repeatable file (README, "Migrations").

CREATE TEMP TABLE format_total_part_new ON COMMIT DROP AS
SELECT t.format, t.tbl, t.row_key, t.col_key, p.row_key AS part_row, p.col_key AS part_col
  FROM disclosure.format_cell t
  JOIN disclosure.format_cell p
    ON p.format = t.format AND p.tbl = t.tbl AND p.kind = 'input'
 WHERE t.kind = 'total'
   AND CASE
       -- （七）总计: the leaf result rows, in the same column (or all six)
       WHEN t.tbl = 'applications' AND t.row_key = 'closed_total' THEN
            p.row_key IN (SELECT row_key FROM disclosure.format_result_row r
                           WHERE r.format = t.format)
            AND (p.col_key = t.col_key OR t.col_key = 'total')
       -- 总计 column of 三 and of 四: the inputs of the same row
       ELSE p.row_key = t.row_key
       END;

DELETE FROM disclosure.format_total_part o
 WHERE NOT EXISTS (SELECT FROM format_total_part_new n
                    WHERE (n.format, n.tbl, n.row_key, n.col_key, n.part_row, n.part_col)
                        = (o.format, o.tbl, o.row_key, o.col_key, o.part_row, o.part_col));
INSERT INTO disclosure.format_total_part SELECT * FROM format_total_part_new
    ON CONFLICT DO NOTHING;
