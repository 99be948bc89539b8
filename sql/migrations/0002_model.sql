-- The data model: agencies, reports and their revisions, the input cells of the
-- three tables, the narrative, and the totals of legacy reports as printed.
-- Totals are never stored for a report of ours: they are derived (view cell_value).

-- How every total is made: the input cells it adds up.  Derived from the layout
-- of format_cell, so that a total is never typed.
CREATE TABLE disclosure.format_total_part (
    format      smallint NOT NULL,
    tbl         text NOT NULL,
    row_key     text NOT NULL,
    col_key     text NOT NULL,
    part_row    text NOT NULL,
    part_col    text NOT NULL,
    PRIMARY KEY (format, tbl, row_key, col_key, part_row, part_col),
    FOREIGN KEY (format, tbl, row_key, col_key) REFERENCES disclosure.format_cell,
    FOREIGN KEY (format, tbl, part_row, part_col) REFERENCES disclosure.format_cell
);
COMMENT ON TABLE disclosure.format_total_part IS
    'for each total cell, the input cells it is the sum of';

-- the result rows of 三 (R2): every input row under 三、本年度办理结果
CREATE VIEW disclosure.format_result_row AS
SELECT DISTINCT format, row_key
  FROM disclosure.format_cell
 WHERE tbl = 'applications' AND kind = 'input'
   AND row_group LIKE '三、本年度办理结果%';

INSERT INTO disclosure.format_total_part
SELECT t.format, t.tbl, t.row_key, t.col_key, p.row_key, p.col_key
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

CREATE TABLE disclosure.agency (
    id          int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        text NOT NULL
                CONSTRAINT agency_slug_unique UNIQUE
                CONSTRAINT agency_slug_lowercase_letters_digits_hyphens
                CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 64),
    name        text NOT NULL CONSTRAINT agency_name_not_empty CHECK (btrim(name) <> ''),
    parent_id   int REFERENCES disclosure.agency,
    kind        text NOT NULL
                CONSTRAINT agency_kind_department_or_government
                CHECK (kind IN ('department', 'government')),
    note        text,
    CONSTRAINT agency_not_own_parent CHECK (parent_id <> id)
);
COMMENT ON TABLE disclosure.agency IS
    'agencies; slug is the URL segment; kind decides the legal deadline (R13)';

CREATE TABLE disclosure.report (
    id          int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agency_id   int NOT NULL REFERENCES disclosure.agency,
    year        int NOT NULL
                CONSTRAINT report_year_2019_to_2100 CHECK (year BETWEEN 2019 AND 2100),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT report_one_per_agency_and_year UNIQUE (agency_id, year)
);
COMMENT ON TABLE disclosure.report IS 'one annual report of one agency';

CREATE TABLE disclosure.revision (
    id           int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id    int NOT NULL REFERENCES disclosure.report ON DELETE CASCADE,
    revision     int NOT NULL CHECK (revision >= 1),
    format       smallint NOT NULL REFERENCES disclosure.format,
    scope        text NOT NULL DEFAULT 'office'
                 CONSTRAINT revision_scope_office_or_jurisdiction
                 CHECK (scope IN ('office', 'jurisdiction')),
    status       text NOT NULL DEFAULT 'draft'
                 CHECK (status IN ('draft', 'published', 'withdrawn')),
    reason       text,
    source_url   text,
    index_no     text,
    legacy       boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   name NOT NULL DEFAULT session_user,
    published_at timestamptz,
    published_by name,
    withdrawn_at timestamptz,
    withdraw_reason text,
    CONSTRAINT revision_number_unique UNIQUE (report_id, revision),
    CONSTRAINT revision_published_has_time
        CHECK ((status = 'draft') = (published_at IS NULL)),
    CONSTRAINT revision_correction_has_reason
        CHECK (revision = 1 OR btrim(coalesce(reason, '')) <> '')
);
CREATE UNIQUE INDEX revision_one_draft ON disclosure.revision (report_id)
    WHERE status = 'draft';
COMMENT ON TABLE disclosure.revision IS
    'the versions of a report: a draft, then published revisions; a correction is a new revision with a reason';

CREATE TABLE disclosure.cell (
    revision_id int NOT NULL REFERENCES disclosure.revision ON DELETE CASCADE,
    format      smallint NOT NULL,
    tbl         text NOT NULL,
    row_key     text NOT NULL,
    col_key     text NOT NULL,
    given       text NOT NULL DEFAULT 'number'
                CONSTRAINT cell_given_number_blank_or_slash
                CHECK (given IN ('number', 'blank', 'slash')),
    value       numeric,
    PRIMARY KEY (revision_id, tbl, row_key, col_key),
    CONSTRAINT cell_key_in_format
        FOREIGN KEY (format, tbl, row_key, col_key) REFERENCES disclosure.format_cell,
    CONSTRAINT cell_value_iff_number CHECK ((given = 'number') = (value IS NOT NULL))
);
COMMENT ON TABLE disclosure.cell IS
    'the input cells of a revision, each with how it was given (R14)';

-- totals as printed in a legacy report, kept beside the derived ones
CREATE TABLE disclosure.published_total (
    revision_id int NOT NULL REFERENCES disclosure.revision ON DELETE CASCADE,
    format      smallint NOT NULL,
    tbl         text NOT NULL,
    row_key     text NOT NULL,
    col_key     text NOT NULL,
    given       text NOT NULL DEFAULT 'number'
                CHECK (given IN ('number', 'blank', 'slash')),
    value       numeric,
    PRIMARY KEY (revision_id, tbl, row_key, col_key),
    FOREIGN KEY (format, tbl, row_key, col_key) REFERENCES disclosure.format_cell,
    CHECK ((given = 'number') = (value IS NOT NULL))
);
COMMENT ON TABLE disclosure.published_total IS
    'legacy reports only: the totals as they were published, beside the derived ones';

CREATE TABLE disclosure.section_text (
    revision_id int NOT NULL REFERENCES disclosure.revision ON DELETE CASCADE,
    format      smallint NOT NULL,
    section     text NOT NULL,
    part        text NOT NULL,
    body        text NOT NULL DEFAULT '',
    PRIMARY KEY (revision_id, section, part),
    FOREIGN KEY (format, section, part) REFERENCES disclosure.format_section
);
COMMENT ON TABLE disclosure.section_text IS
    'the narrative: one row per part of sections 一, 五 and 六; paragraphs separated by newlines';

-- the document of each published revision, made once at publication: a
-- published revision never changes, and the web API then reads one row
CREATE TABLE disclosure.published_document (
    revision_id int PRIMARY KEY REFERENCES disclosure.revision,
    document    json NOT NULL
);
COMMENT ON TABLE disclosure.published_document IS
    'the report document of every published revision, as made at publication';

-- bumped by every publish, correction and withdrawal; it replicates, so that a
-- cache on a read replica, where NOTIFY does not arrive, can poll it
CREATE TABLE disclosure.data_version (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version     bigint NOT NULL,
    changed_at  timestamptz NOT NULL
);
INSERT INTO disclosure.data_version VALUES (true, 0, now());

-- every cell of a revision, inputs as given and totals derived; for legacy
-- revisions the printed total beside the derived one
CREATE VIEW disclosure.cell_value AS
SELECT v.id AS revision_id, f.format, f.tbl, f.row_key, f.col_key, f.kind,
       f.ord, f.row_ord, f.col_ord,
       CASE WHEN f.kind = 'input' THEN c.given ELSE 'number' END AS given,
       CASE WHEN f.kind = 'input' THEN c.value
            ELSE (SELECT coalesce(sum(p.value), 0)
                    FROM disclosure.format_total_part tp
                    JOIN disclosure.cell p
                      ON p.revision_id = v.id AND p.tbl = tp.tbl
                     AND p.row_key = tp.part_row AND p.col_key = tp.part_col
                   WHERE tp.format = f.format AND tp.tbl = f.tbl
                     AND tp.row_key = f.row_key AND tp.col_key = f.col_key)
       END AS value,
       pt.given AS published_given,
       pt.value AS published_value
  FROM disclosure.revision v
  JOIN disclosure.format_cell f ON f.format = v.format
  LEFT JOIN disclosure.cell c
    ON c.revision_id = v.id AND c.tbl = f.tbl
   AND c.row_key = f.row_key AND c.col_key = f.col_key
  LEFT JOIN disclosure.published_total pt
    ON pt.revision_id = v.id AND pt.tbl = f.tbl
   AND pt.row_key = f.row_key AND pt.col_key = f.col_key;
COMMENT ON VIEW disclosure.cell_value IS
    'every cell of every revision: inputs as given, totals derived, legacy totals as printed';

-- the revision a report is edited or shown in: its draft, else its latest publication
CREATE VIEW disclosure.current_revision AS
SELECT DISTINCT ON (r.id)
       a.slug AS agency, a.id AS agency_id, r.year, r.id AS report_id,
       v.id AS revision_id, v.revision, v.format, v.status
  FROM disclosure.report r
  JOIN disclosure.agency a ON a.id = r.agency_id
  JOIN disclosure.revision v ON v.report_id = r.id
 ORDER BY r.id, (v.status = 'draft') DESC, v.revision DESC;

-- the revision the public sees: the latest published one, unless withdrawn
CREATE VIEW disclosure.public_revision AS
SELECT DISTINCT ON (r.id)
       a.slug AS agency, a.id AS agency_id, r.year, r.id AS report_id,
       v.id AS revision_id, v.revision, v.format, v.status, v.published_at
  FROM disclosure.report r
  JOIN disclosure.agency a ON a.id = r.agency_id
  JOIN disclosure.revision v ON v.report_id = r.id AND v.status <> 'draft'
 ORDER BY r.id, v.revision DESC;

CREATE VIEW disclosure.revision_history AS
SELECT a.slug AS agency, a.name AS agency_name, r.year, v.revision, v.status,
       v.reason, v.created_at, v.created_by, v.published_at, v.published_by,
       v.withdrawn_at, v.withdraw_reason
  FROM disclosure.revision v
  JOIN disclosure.report r ON r.id = v.report_id
  JOIN disclosure.agency a ON a.id = r.agency_id
 ORDER BY a.slug, r.year, v.revision;
COMMENT ON VIEW disclosure.revision_history IS
    'every revision of every report, with who published it and why it was corrected';
