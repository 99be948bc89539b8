-- Across years and agencies (issue 13): path words that never collide with an
-- agency, the key figures of the trend page and how the 2019 format maps to
-- them (format/trend-figures.tsv), sums over an agency's descendants kept up
-- to date at publication, and the web API of the trend, comparison, roll-up
-- and year pages.

-- 1. Path words.  "/{year}/" is four digits, and "/{agency}/trend",
-- "/{agency}/{year}/compare", "/{agency}/{year}/rollup" add words below an
-- agency: an agency named only with digits or with a reserved word would
-- collide with a route, now or later.
CREATE TABLE disclosure.reserved_word (
    word    text PRIMARY KEY,
    why     text NOT NULL
);
COMMENT ON TABLE disclosure.reserved_word IS
    'URL words that no agency slug may be (the module''s routes, and words kept for later ones)';
INSERT INTO disclosure.reserved_word VALUES
    ('trend', 'route /{agency}/trend'),
    ('compare', 'route /{agency}/{year}/compare'),
    ('rollup', 'route /{agency}/{year}/rollup'),
    ('fragment', 'SSI form of the trend and year pages'),
    ('completeness', 'SSI form of the roll-up''s completeness table'),
    ('index', 'index.json, index.csv'),
    ('data', 'kept'), ('format', 'kept'), ('formats', 'kept'), ('year', 'kept'),
    ('years', 'kept'), ('api', 'kept'), ('static', 'kept'), ('assets', 'kept'),
    ('search', 'kept'), ('feed', 'kept'), ('status', 'kept'), ('all', 'kept'),
    ('latest', 'kept'), ('json', 'kept'), ('csv', 'kept'), ('html', 'kept');

CREATE FUNCTION disclosure.slug_refusal(p_slug text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p_slug ~ '^[0-9]+$' THEN
            format('机构标识“%s”只有数字，会被当作年份（/%s/ 是年度页面）', p_slug, p_slug)
        WHEN EXISTS (SELECT 1 FROM disclosure.reserved_word w WHERE w.word = p_slug) THEN
            format('机构标识“%s”是保留字（%s）', p_slug,
                   (SELECT w.why FROM disclosure.reserved_word w WHERE w.word = p_slug))
        END
$$;

DO $$
DECLARE
    bad text;
BEGIN
    SELECT string_agg(format('%s（%s）: %s', a.slug, a.name, disclosure.slug_refusal(a.slug)), E'\n' ORDER BY a.slug)
      INTO bad
      FROM disclosure.agency a WHERE disclosure.slug_refusal(a.slug) IS NOT NULL;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION '0040: existing agencies have slugs that collide with routes; rename them first'
            USING ERRCODE = 'check_violation', DETAIL = bad,
                  HINT = 'UPDATE disclosure.agency SET slug = ''new-slug'' WHERE slug = ''old''; then run sql/migrate again';
    END IF;
END
$$;

CREATE FUNCTION disclosure.check_slug() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    why text := disclosure.slug_refusal(NEW.slug);
BEGIN
    IF why IS NOT NULL THEN
        RAISE EXCEPTION '%', why USING ERRCODE = 'check_violation',
            HINT = 'SELECT word FROM disclosure.reserved_word; 机构标识不能只有数字';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER agency_slug_not_reserved BEFORE INSERT OR UPDATE OF slug ON disclosure.agency
    FOR EACH ROW EXECUTE FUNCTION disclosure.check_slug();

-- the hierarchy is walked down from any agency
CREATE INDEX agency_parent ON disclosure.agency (parent_id);

-- 2. The key figures of the trend page, from format/trend-figures.tsv.
CREATE TABLE disclosure.trend_figure (
    figure      text NOT NULL,
    ord         int NOT NULL,
    label       text NOT NULL,
    unit        text NOT NULL,
    format      smallint NOT NULL REFERENCES disclosure.format,
    kind        text NOT NULL CHECK (kind IN ('sum', 'share')),
    cells       text NOT NULL,
    comparable  boolean NOT NULL,
    note        text,
    printed     text,
    PRIMARY KEY (figure, format)
);
COMMENT ON TABLE disclosure.trend_figure IS
    'format/trend-figures.tsv: the trend''s key figures per format; comparable = false: not the 2021 figure';
INSERT INTO disclosure.trend_figure (figure, ord, label, unit, format, kind, cells, comparable, note, printed) VALUES
    ('received', 1, '一、本年新收申请', '件', 2021, 'sum', 'applications.received.total', true, NULL, NULL),
    ('received', 2, '一、本年新收申请', '件', 2019, 'sum', 'applications.received.total', true, NULL, NULL),
    ('carried_over', 3, '二、上年结转申请', '件', 2021, 'sum', 'applications.carried_over.total', true, NULL, NULL),
    ('carried_over', 4, '二、上年结转申请', '件', 2019, 'sum', 'applications.carried_over.total', true, NULL, NULL),
    ('closed_total', 5, '三、（七）办理结果总计', '件', 2021, 'sum', 'applications.closed_total.total', true, NULL, NULL),
    ('closed_total', 6, '三、（七）办理结果总计', '件', 2019, 'sum', 'applications.closed_total.total', true, NULL, NULL),
    ('granted', 7, '（一）予以公开', '件', 2021, 'sum', 'applications.granted.total', true, NULL, NULL),
    ('granted', 8, '（一）予以公开', '件', 2019, 'sum', 'applications.granted.total', true, NULL, NULL),
    ('partly_granted', 9, '（二）部分公开', '件', 2021, 'sum', 'applications.partly_granted.total', true, NULL, NULL),
    ('partly_granted', 10, '（二）部分公开', '件', 2019, 'sum', 'applications.partly_granted.total', true, NULL, NULL),
    ('withheld', 11, '（三）不予公开', '件', 2021, 'sum', 'applications.withheld_state_secret.total+applications.withheld_prohibited_by_law.total+applications.withheld_security_stability.total+applications.withheld_third_party.total+applications.withheld_internal_affairs.total+applications.withheld_process_info.total+applications.withheld_enforcement_files.total+applications.withheld_query_matter.total', true, NULL, NULL),
    ('withheld', 12, '（三）不予公开', '件', 2019, 'sum', 'applications.withheld_state_secret.total+applications.withheld_prohibited_by_law.total+applications.withheld_security_stability.total+applications.withheld_third_party.total+applications.withheld_internal_affairs.total+applications.withheld_process_info.total+applications.withheld_enforcement_files.total+applications.withheld_query_matter.total', true, NULL, NULL),
    ('unavailable', 13, '（四）无法提供', '件', 2021, 'sum', 'applications.unavailable_not_held.total+applications.unavailable_needs_creation.total+applications.unavailable_unclear.total', true, NULL, NULL),
    ('unavailable', 14, '（四）无法提供', '件', 2019, 'sum', 'applications.unavailable_not_held.total+applications.unavailable_needs_creation.total+applications.unavailable_unclear.total', true, NULL, NULL),
    ('rejected', 15, '（五）不予处理', '件', 2021, 'sum', 'applications.rejected_petition.total+applications.rejected_duplicate.total+applications.rejected_publication.total+applications.rejected_excessive.total+applications.rejected_confirmation.total', true, NULL, NULL),
    ('rejected', 16, '（五）不予处理', '件', 2019, 'sum', 'applications.rejected_petition.total+applications.rejected_duplicate.total+applications.rejected_publication.total+applications.rejected_excessive.total+applications.rejected_confirmation.total', true, NULL, NULL),
    ('other', 17, '（六）其他处理', '件', 2021, 'sum', 'applications.other_no_correction.total+applications.other_unpaid_fee.total+applications.other_misc.total', true, NULL, 'applications.other.total'),
    ('other', 18, '（六）其他处理', '件', 2019, 'sum', 'applications.other.total', true, '2019 年版（六）其他处理为一行，即 2021 年版三个分项之和', NULL),
    ('carried_forward', 19, '四、结转下年度继续办理', '件', 2021, 'sum', 'applications.carried_forward.total', true, NULL, NULL),
    ('carried_forward', 20, '四、结转下年度继续办理', '件', 2019, 'sum', 'applications.carried_forward.total', true, NULL, NULL),
    ('granted_share', 21, '予以公开和部分公开占办理结果', '%', 2021, 'share', 'granted+partly_granted/closed_total', true, NULL, NULL),
    ('granted_share', 22, '予以公开和部分公开占办理结果', '%', 2019, 'share', 'granted+partly_granted/closed_total', true, NULL, NULL),
    ('review_total', 23, '行政复议总计', '件', 2021, 'sum', 'appeals.review.total', true, NULL, NULL),
    ('review_total', 24, '行政复议总计', '件', 2019, 'sum', 'appeals.review.total', true, NULL, NULL),
    ('review_corrected', 25, '行政复议结果纠正', '件', 2021, 'sum', 'appeals.review.corrected', true, NULL, NULL),
    ('review_corrected', 26, '行政复议结果纠正', '件', 2019, 'sum', 'appeals.review.corrected', true, NULL, NULL),
    ('suit_total', 27, '行政诉讼总计', '件', 2021, 'sum', 'appeals.suit_direct.total+appeals.suit_after_review.total', true, NULL, NULL),
    ('suit_total', 28, '行政诉讼总计', '件', 2019, 'sum', 'appeals.suit_direct.total+appeals.suit_after_review.total', true, NULL, NULL),
    ('suit_corrected', 29, '行政诉讼结果纠正', '件', 2021, 'sum', 'appeals.suit_direct.corrected+appeals.suit_after_review.corrected', true, NULL, NULL),
    ('suit_corrected', 30, '行政诉讼结果纠正', '件', 2019, 'sum', 'appeals.suit_direct.corrected+appeals.suit_after_review.corrected', true, NULL, NULL),
    ('regulations_issued', 31, '规章本年制发件数', '件', 2021, 'sum', 'proactive.regulations.issued', true, NULL, NULL),
    ('regulations_issued', 32, '规章本年制发件数', '件', 2019, 'sum', 'proactive.regulations.new_made', false, '2019 年版为“本年新制作数量”，与“本年制发件数”口径不同', NULL),
    ('normative_issued', 33, '行政规范性文件本年制发件数', '件', 2021, 'sum', 'proactive.normative_documents.issued', true, NULL, NULL),
    ('normative_issued', 34, '行政规范性文件本年制发件数', '件', 2019, 'sum', 'proactive.normative_documents.new_made', false, '2019 年版为规范性文件“本年新制作数量”，口径不同', NULL),
    ('normative_in_force', 35, '行政规范性文件现行有效件数', '件', 2021, 'sum', 'proactive.normative_documents.in_force', true, NULL, NULL),
    ('normative_in_force', 36, '行政规范性文件现行有效件数', '件', 2019, 'sum', '', false, '2019 年版没有此项（“对外公开总数量”不是现行有效件数）', NULL),
    ('licensing_decisions', 37, '行政许可处理决定数量', '件', 2021, 'sum', 'proactive.licensing.decisions', true, NULL, NULL),
    ('licensing_decisions', 38, '行政许可处理决定数量', '件', 2019, 'sum', 'proactive.licensing.decisions', true, NULL, NULL),
    ('penalties_decisions', 39, '行政处罚处理决定数量', '件', 2021, 'sum', 'proactive.penalties.decisions', true, NULL, NULL),
    ('penalties_decisions', 40, '行政处罚处理决定数量', '件', 2019, 'sum', 'proactive.penalties.decisions', true, NULL, NULL),
    ('enforcement_decisions', 41, '行政强制处理决定数量', '件', 2021, 'sum', 'proactive.enforcement.decisions', true, NULL, NULL),
    ('enforcement_decisions', 42, '行政强制处理决定数量', '件', 2019, 'sum', 'proactive.enforcement.decisions', true, NULL, NULL),
    ('fees_amount', 43, '行政事业性收费金额', '万元', 2021, 'sum', 'proactive.fees.amount', true, NULL, NULL),
    ('fees_amount', 44, '行政事业性收费金额', '万元', 2019, 'sum', '', false, '2019 年版行政事业性收费只列项目数量，没有金额', NULL);

-- 3. Sums over the descendants, kept at publication.  rollup_below holds, for
-- every agency, the input cells of the office-scope reports published by the
-- agencies below it (not its own), summed: a roll-up is then the agency's own
-- report plus one row per cell, whatever the number of descendants.  Only
-- numbers are added (blank, "/" and not printed count as nothing); numbers
-- counts the reports that gave the cell as a number.  The merged （六） row of
-- a 2021 report printed in the 2019 layout is kept under applications.other.
CREATE TABLE disclosure.rollup_below (
    agency_id   int NOT NULL REFERENCES disclosure.agency ON DELETE CASCADE,
    year        int NOT NULL,
    format      smallint NOT NULL,
    tbl         text NOT NULL,
    row_key     text NOT NULL,
    col_key     text NOT NULL,
    value       numeric NOT NULL,
    numbers     int NOT NULL,
    PRIMARY KEY (agency_id, year, format, tbl, row_key, col_key)
);
COMMENT ON TABLE disclosure.rollup_below IS
    'per agency and year: the input cells of the published office-scope reports of its descendants, summed (kept by triggers)';

-- the input cells a revision adds to a sum
CREATE FUNCTION disclosure.rollup_cells(p_revision_id int)
RETURNS TABLE (tbl text, row_key text, col_key text, value numeric)
LANGUAGE sql STABLE AS $$
    SELECT c.tbl, c.row_key, c.col_key, c.value FROM disclosure.cell c
     WHERE c.revision_id = p_revision_id AND c.given = 'number'
    UNION ALL
    SELECT t.tbl, t.row_key, t.col_key, t.value FROM disclosure.published_total t
     WHERE t.revision_id = p_revision_id AND t.format = 2021 AND t.tbl = 'applications'
       AND t.row_key = 'other' AND t.col_key <> 'total' AND t.given = 'number'
$$;

-- adds (sign 1) or takes away (-1) the cells of office-scope revisions to the
-- sums of every agency above theirs
CREATE FUNCTION disclosure.rollup_apply(p_revision int[], p_sign int[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    WITH RECURSIVE d AS (
        SELECT x.revision_id, x.sign, r.agency_id, r.year, v.format
          FROM unnest(p_revision, p_sign) AS x(revision_id, sign)
          JOIN disclosure.revision v ON v.id = x.revision_id AND v.scope = 'office'
          JOIN disclosure.report r ON r.id = v.report_id
    ),
    up AS (  -- (the report's agency, an agency above it)
        SELECT a.id AS start, a.parent_id AS id
          FROM disclosure.agency a WHERE a.id IN (SELECT agency_id FROM d) AND a.parent_id IS NOT NULL
        UNION
        SELECT u.start, a.parent_id FROM up u JOIN disclosure.agency a ON a.id = u.id
         WHERE a.parent_id IS NOT NULL
    )
    INSERT INTO disclosure.rollup_below AS b (agency_id, year, format, tbl, row_key, col_key, value, numbers)
    SELECT u.id, d.year, d.format, c.tbl, c.row_key, c.col_key, sum(d.sign * c.value), sum(d.sign)
      FROM d JOIN up u ON u.start = d.agency_id
      CROSS JOIN LATERAL disclosure.rollup_cells(d.revision_id) c
     GROUP BY u.id, d.year, d.format, c.tbl, c.row_key, c.col_key
    ON CONFLICT (agency_id, year, format, tbl, row_key, col_key)
    DO UPDATE SET value = b.value + excluded.value, numbers = b.numbers + excluded.numbers;

    DELETE FROM disclosure.rollup_below WHERE numbers = 0;
END
$$;

-- the sums made again from the published reports (after a change of parents)
CREATE FUNCTION disclosure.rollup_rebuild()
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ids int[];
BEGIN
    DELETE FROM disclosure.rollup_below;
    SELECT array_agg(p.revision_id) INTO ids
      FROM disclosure.public_revision p WHERE p.status = 'published';
    IF ids IS NOT NULL THEN
        PERFORM disclosure.rollup_apply(ids, array_fill(1, ARRAY[cardinality(ids)]));
    END IF;
END
$$;
COMMENT ON FUNCTION disclosure.rollup_rebuild() IS
    'makes disclosure.rollup_below again from every current publication';

-- after publish, revise+publish, withdraw: one set-based pass per statement
CREATE FUNCTION disclosure.rollup_revisions_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ids   int[];
    signs int[];
BEGIN
    SELECT array_agg(x.id), array_agg(x.sign) INTO ids, signs FROM (
        -- a publication adds its cells ...
        SELECT n.id, 1 AS sign
          FROM new_revisions n JOIN old_revisions o USING (id)
         WHERE o.status = 'draft' AND n.status = 'published'
        UNION ALL
        -- ... and takes away those of the publication it corrects
        SELECT p.id, -1
          FROM new_revisions n JOIN old_revisions o USING (id)
         CROSS JOIN LATERAL (
               SELECT v.id, v.status FROM disclosure.revision v
                WHERE v.report_id = n.report_id AND v.revision < n.revision AND v.status <> 'draft'
                ORDER BY v.revision DESC LIMIT 1) p
         WHERE o.status = 'draft' AND n.status = 'published' AND p.status = 'published'
        UNION ALL
        -- a withdrawal of the current publication takes its cells away
        SELECT n.id, -1
          FROM new_revisions n JOIN old_revisions o USING (id)
         WHERE o.status = 'published' AND n.status = 'withdrawn'
           AND NOT EXISTS (SELECT 1 FROM disclosure.revision v
                            WHERE v.report_id = n.report_id AND v.revision > n.revision
                              AND v.status <> 'draft')) x;
    IF ids IS NOT NULL THEN
        PERFORM disclosure.rollup_apply(ids, signs);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER revisions_rolled_up AFTER UPDATE ON disclosure.revision
    REFERENCING OLD TABLE AS old_revisions NEW TABLE AS new_revisions
    FOR EACH STATEMENT EXECUTE FUNCTION disclosure.rollup_revisions_changed();

-- an agency that moves changes the sums of both its old and new ancestors
CREATE FUNCTION disclosure.rollup_agencies_moved() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_agencies n JOIN old_agencies o USING (id)
                WHERE n.parent_id IS DISTINCT FROM o.parent_id) THEN
        PERFORM disclosure.rollup_rebuild();
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER rollup_agencies_moved AFTER UPDATE ON disclosure.agency
    REFERENCING OLD TABLE AS old_agencies NEW TABLE AS new_agencies
    FOR EACH STATEMENT EXECUTE FUNCTION disclosure.rollup_agencies_moved();

REVOKE EXECUTE ON FUNCTION disclosure.rollup_apply(int[], int[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION disclosure.rollup_rebuild() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION disclosure.rollup_revisions_changed() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION disclosure.rollup_agencies_moved() FROM PUBLIC;

SELECT disclosure.rollup_rebuild();

-- 3b. What the lists across the hierarchy read, kept so that no page walks
-- ten thousand agencies' revisions: agency_tree, every agency with each of
-- its ancestors (and itself, depth 0), made again when agencies are added,
-- moved or removed; year_state, the state of every report of every year,
-- made again for the reports a statement on revisions touched.
CREATE TABLE disclosure.agency_tree (
    ancestor_id int NOT NULL,
    agency_id   int NOT NULL,
    depth       int NOT NULL,
    PRIMARY KEY (ancestor_id, agency_id)
);
CREATE INDEX agency_tree_agency ON disclosure.agency_tree (agency_id);
COMMENT ON TABLE disclosure.agency_tree IS
    'every agency with its ancestors and itself (depth 0); kept by triggers on disclosure.agency';

CREATE FUNCTION disclosure.agency_tree_rebuild()
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM disclosure.agency_tree;
    INSERT INTO disclosure.agency_tree
    WITH RECURSIVE t AS (
        SELECT a.id AS ancestor_id, a.id AS agency_id, 0 AS depth FROM disclosure.agency a
        UNION ALL
        SELECT t.ancestor_id, c.id, t.depth + 1
          FROM t JOIN disclosure.agency c ON c.parent_id = t.agency_id
         WHERE t.depth < 64
    )
    SELECT * FROM t;
END
$$;

CREATE TABLE disclosure.year_state (
    report_id       int PRIMARY KEY,
    agency_id       int NOT NULL,
    year            int NOT NULL,
    state           text NOT NULL CHECK (state IN ('on_time', 'late', 'draft', 'none')),
    status          text,          -- of the latest revision that is not a draft
    first_published timestamptz,   -- of the current publication's report
    revision_id     int,           -- the current publication
    scope           text,
    format          smallint,
    UNIQUE (agency_id, year)
);
CREATE INDEX year_state_year ON disclosure.year_state (year, first_published);
COMMENT ON TABLE disclosure.year_state IS
    'every report''s state for the completeness views (on time / late per R13''s deadline, draft only, none); kept by triggers';

-- the legal deadline of R13 (条例第四十九条): published before it is on time
CREATE FUNCTION disclosure.deadline(p_kind text, p_year int)
RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
    SELECT make_timestamptz(p_year + 1, CASE p_kind WHEN 'government' THEN 3 ELSE 1 END, 31,
                            0, 0, 0, 'Asia/Shanghai') + interval '1 day'
$$;

CREATE FUNCTION disclosure.year_state_refresh(p_reports int[])
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM disclosure.year_state s USING unnest(p_reports) i(id) WHERE s.report_id = i.id;
    INSERT INTO disclosure.year_state
    SELECT x.report_id, x.agency_id, x.year,
           CASE WHEN x.status = 'published'
                THEN CASE WHEN x.first_published < disclosure.deadline(a.kind, x.year) THEN 'on_time' ELSE 'late' END
                WHEN x.has_draft THEN 'draft' ELSE 'none' END,
           x.status,
           CASE WHEN x.status = 'published' THEN x.first_published END,
           CASE WHEN x.status = 'published' THEN x.revision_id END,
           CASE WHEN x.status = 'published' THEN x.scope END,
           CASE WHEN x.status = 'published' THEN x.format END
      FROM (SELECT r.id AS report_id, r.agency_id, r.year,
                   bool_or(v.status = 'draft') AS has_draft,
                   min(v.published_at) AS first_published,
                   (array_agg(v.status ORDER BY v.revision DESC) FILTER (WHERE v.status <> 'draft'))[1] AS status,
                   (array_agg(v.id ORDER BY v.revision DESC) FILTER (WHERE v.status <> 'draft'))[1] AS revision_id,
                   (array_agg(v.scope ORDER BY v.revision DESC) FILTER (WHERE v.status <> 'draft'))[1] AS scope,
                   (array_agg(v.format ORDER BY v.revision DESC) FILTER (WHERE v.status <> 'draft'))[1] AS format
              FROM (SELECT DISTINCT id FROM unnest(p_reports) i(id)) i
              JOIN disclosure.report r ON r.id = i.id
              JOIN disclosure.revision v ON v.report_id = r.id
             GROUP BY r.id) x
      JOIN disclosure.agency a ON a.id = x.agency_id;
END
$$;

CREATE FUNCTION disclosure.year_state_revisions() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM disclosure.year_state_refresh(ARRAY(SELECT DISTINCT report_id FROM old_revisions));
    ELSE
        PERFORM disclosure.year_state_refresh(ARRAY(SELECT DISTINCT report_id FROM new_revisions));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER year_state_inserted AFTER INSERT ON disclosure.revision
    REFERENCING NEW TABLE AS new_revisions
    FOR EACH STATEMENT EXECUTE FUNCTION disclosure.year_state_revisions();
CREATE TRIGGER year_state_updated AFTER UPDATE ON disclosure.revision
    REFERENCING NEW TABLE AS new_revisions
    FOR EACH STATEMENT EXECUTE FUNCTION disclosure.year_state_revisions();
CREATE TRIGGER year_state_deleted AFTER DELETE ON disclosure.revision
    REFERENCING OLD TABLE AS old_revisions
    FOR EACH STATEMENT EXECUTE FUNCTION disclosure.year_state_revisions();

-- agencies added (their rows: below their parent's), moved (the tree made
-- again), removed (a removed agency has no children: the foreign key), or of
-- another kind (the deadline changes their states)
CREATE FUNCTION disclosure.agency_tree_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF EXISTS (SELECT 1 FROM new_agencies n JOIN new_agencies p ON p.id = n.parent_id) THEN
            PERFORM disclosure.agency_tree_rebuild();
        ELSE
            INSERT INTO disclosure.agency_tree
            SELECT n.id, n.id, 0 FROM new_agencies n
            UNION ALL
            SELECT t.ancestor_id, n.id, t.depth + 1
              FROM new_agencies n JOIN disclosure.agency_tree t ON t.agency_id = n.parent_id;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        DELETE FROM disclosure.agency_tree t USING old_agencies o
         WHERE t.agency_id = o.id OR t.ancestor_id = o.id;
    ELSE
        IF EXISTS (SELECT 1 FROM new_agencies n JOIN old_agencies o USING (id)
                    WHERE n.parent_id IS DISTINCT FROM o.parent_id) THEN
            PERFORM disclosure.agency_tree_rebuild();
        END IF;
        PERFORM disclosure.year_state_refresh(ARRAY(
            SELECT r.id FROM new_agencies n JOIN old_agencies o USING (id)
              JOIN disclosure.report r ON r.agency_id = n.id
             WHERE n.kind IS DISTINCT FROM o.kind));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER rollup_agency_tree_inserted AFTER INSERT ON disclosure.agency
    REFERENCING NEW TABLE AS new_agencies
    FOR EACH STATEMENT EXECUTE FUNCTION disclosure.agency_tree_changed();
CREATE TRIGGER rollup_agency_tree_updated AFTER UPDATE ON disclosure.agency
    REFERENCING OLD TABLE AS old_agencies NEW TABLE AS new_agencies
    FOR EACH STATEMENT EXECUTE FUNCTION disclosure.agency_tree_changed();
CREATE TRIGGER rollup_agency_tree_deleted AFTER DELETE ON disclosure.agency
    REFERENCING OLD TABLE AS old_agencies
    FOR EACH STATEMENT EXECUTE FUNCTION disclosure.agency_tree_changed();

REVOKE EXECUTE ON FUNCTION disclosure.agency_tree_rebuild(), disclosure.year_state_refresh(int[]),
    disclosure.year_state_revisions(), disclosure.agency_tree_changed() FROM PUBLIC;

SELECT disclosure.agency_tree_rebuild();
SELECT disclosure.year_state_refresh(ARRAY(SELECT id FROM disclosure.report));

-- an agency the index and agency pages show: a publication of its own or
-- below it (the first one found ends the search)
CREATE FUNCTION disclosure.shown(p_agency_id int)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM disclosure.agency_tree t
                     JOIN disclosure.year_state s ON s.agency_id = t.agency_id AND s.status = 'published'
                    WHERE t.ancestor_id = p_agency_id)
$$;

-- the counts of a set of states, in one pass
CREATE FUNCTION disclosure.state_counts(p_states text[])
RETURNS json LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_object(
        'agencies', count(*),
        'published', count(*) FILTER (WHERE s IN ('on_time', 'late')),
        'on_time', count(*) FILTER (WHERE s = 'on_time'),
        'late', count(*) FILTER (WHERE s = 'late'),
        'draft', count(*) FILTER (WHERE s = 'draft'),
        'none', count(*) FILTER (WHERE s = 'none'))
      FROM unnest(p_states) s
$$;

-- the counts of the states of one year over the agencies below each agency
-- of p_ids (not itself), as state_counts
CREATE FUNCTION disclosure.below_counts(p_year int, p_ids int[])
RETURNS TABLE (agency_id int, counts json) LANGUAGE sql STABLE AS $$
    SELECT t.ancestor_id, disclosure.state_counts(array_agg(coalesce(s.state, 'none')))
      FROM (SELECT DISTINCT id FROM unnest(p_ids) i(id)) i
      JOIN disclosure.agency_tree t ON t.ancestor_id = i.id AND t.depth > 0
      LEFT JOIN disclosure.year_state s ON s.agency_id = t.agency_id AND s.year = p_year
     GROUP BY t.ancestor_id
$$;

-- 4. Helpers of the web API.


-- a number of a report document (tables or published_totals), NULL if the
-- cell is blank, "/" or not printed
CREATE FUNCTION disclosure.doc_number(p jsonb, p_key text)
RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(p #> string_to_array(p_key, '.')) = 'number'
                THEN (p #>> string_to_array(p_key, '.'))::numeric END
$$;

CREATE FUNCTION disclosure.agency_json(a disclosure.agency)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('slug', a.slug, 'name', a.name, 'kind', a.kind,
        'parent', (SELECT json_build_object('slug', p.slug, 'name', p.name)
                     FROM disclosure.agency p WHERE p.id = a.parent_id))
$$;

-- the agencies above one, the top first
CREATE FUNCTION disclosure.ancestors(p_agency_id int)
RETURNS json LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up AS (
        SELECT a.parent_id AS id, 1 AS n FROM disclosure.agency a WHERE a.id = p_agency_id
        UNION ALL
        SELECT a.parent_id, u.n + 1 FROM up u JOIN disclosure.agency a ON a.id = u.id
         WHERE u.n < 64
    )
    SELECT coalesce(json_agg(json_build_object('slug', a.slug, 'name', a.name) ORDER BY u.n DESC), '[]')
      FROM up u JOIN disclosure.agency a ON a.id = u.id
$$;


-- one line of a completeness table; depth NULL: not said
CREATE FUNCTION disclosure.state_json(p_slug text, p_name text, p_kind text, p_depth int, p_year int,
                                      p_state text, p_status text, p_published_at timestamptz,
                                      p_scope text, p_below json)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_strip_nulls(json_build_object(
        'slug', p_slug, 'name', p_name, 'kind', p_kind, 'depth', p_depth,
        'state', coalesce(p_state, 'none'), 'withdrawn', coalesce(p_status = 'withdrawn', false),
        'published_at', disclosure.json_time(p_published_at),
        'deadline', to_char((disclosure.deadline(p_kind, p_year) - interval '1 day') AT TIME ZONE 'Asia/Shanghai',
                            'YYYY-MM-DD'),
        'scope', p_scope,
        'below', p_below))
$$;

-- 5. The web API (reader role; every function SECURITY DEFINER, PL/pgSQL as
-- 0009 explains, published reports only).

-- /{agency}/trend: every published year side by side, key figures per
-- format_figure, the change from the year before where both are comparable
CREATE FUNCTION disclosure_web.trend(p_agency text)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off AS $$
BEGIN
    RETURN (
        WITH a AS (
            SELECT * FROM disclosure.agency WHERE slug = p_agency
        ),
        y AS (  -- the published years
            SELECT r.year, v.format, v.revision, v.published_at, d.document::jsonb AS doc
              FROM a JOIN disclosure.report r ON r.agency_id = a.id
             CROSS JOIN LATERAL (
                   SELECT v.id, v.status, v.format, v.revision FROM disclosure.revision v
                    WHERE v.report_id = r.id AND v.status <> 'draft'
                    ORDER BY v.revision DESC LIMIT 1) v0
              JOIN disclosure.revision v ON v.id = v0.id
              JOIN disclosure.published_document d ON d.revision_id = v.id
             WHERE v.status = 'published'
        ),
        s AS (  -- sums
            SELECT f.figure, y.year, f.format, f.comparable, f.note,
                   coalesce((SELECT sum(disclosure.doc_number(y.doc -> 'tables', k))
                               FROM unnest(string_to_array(nullif(f.cells, ''), '+')) k),
                            disclosure.doc_number(y.doc -> 'published_totals', f.printed)) AS value
              FROM y JOIN disclosure.trend_figure f ON f.format = y.format AND f.kind = 'sum'
        ),
        sh AS (  -- shares, in per cent of the figures named
            SELECT f.figure, y.year, f.format, f.comparable, f.note,
                   round(100 * (SELECT sum(s.value) FROM s
                                 WHERE s.year = y.year
                                   AND s.figure = ANY (string_to_array(split_part(f.cells, '/', 1), '+')))
                         / nullif((SELECT s.value FROM s WHERE s.year = y.year
                                     AND s.figure = split_part(f.cells, '/', 2)), 0), 1) AS value
              FROM y JOIN disclosure.trend_figure f ON f.format = y.format AND f.kind = 'share'
        ),
        v AS (
            SELECT * FROM s UNION ALL SELECT * FROM sh
        ),
        c AS (  -- with the change from the year before, when both mean the same
            SELECT v.*, v.value - p.value AS change
              FROM v LEFT JOIN v p
                ON p.figure = v.figure AND p.year = v.year - 1
               AND (p.format = v.format OR (p.comparable AND v.comparable))
        )
        SELECT json_build_object(
            'document', 'disclosure-trend/1',
            'data_version', dv.version,
            'changed_at', disclosure.json_time(dv.changed_at),
            'agency', disclosure.agency_json(a),
            'ancestors', disclosure.ancestors(a.id),
            'years', coalesce((SELECT json_agg(json_build_object(
                         'year', y.year, 'format', y.format, 'revision', y.revision,
                         'published_at', disclosure.json_time(y.published_at)) ORDER BY y.year) FROM y), '[]'),
            'figures', coalesce((
                SELECT json_agg(json_build_object(
                           'key', f.figure, 'label', f.label, 'unit', f.unit,
                           'chart', f.figure IN ('received', 'closed_total', 'granted'),
                           'values', coalesce((
                               SELECT json_agg(json_build_object(
                                          'year', c.year, 'value', c.value, 'change', c.change,
                                          'comparable', c.comparable, 'note', c.note) ORDER BY c.year)
                                 FROM c WHERE c.figure = f.figure), '[]')) ORDER BY f.ord)
                  FROM disclosure.trend_figure f WHERE f.format = 2021), '[]'))
          FROM a, disclosure.data_version dv
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.trend(text) IS
    'the key figures of every published year of an agency (format/trend-figures.tsv), or NULL';

-- /{agency}/{year}/compare: every cell with last year's value and the change
CREATE FUNCTION disclosure_web.compare(p_agency text, p_year int)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off AS $$
DECLARE
    cur  json := disclosure_web.report(p_agency, p_year);
    prev json;
BEGIN
    IF cur IS NULL THEN
        RETURN NULL;
    END IF;
    prev := disclosure_web.report(p_agency, p_year - 1);
    RETURN (
        WITH c AS (
            SELECT f.tbl, f.row_key, f.col_key, f.kind, f.row_group, f.row_label, f.col_group,
                   f.col_label, f.ord,
                   cur::jsonb -> 'tables' -> f.tbl -> f.row_key -> f.col_key AS value,
                   pf.format IS NOT NULL AS comparable,
                   CASE WHEN pf.format IS NOT NULL
                        THEN prev::jsonb -> 'tables' -> f.tbl -> f.row_key -> f.col_key END AS previous
              FROM disclosure.format_cell f
              LEFT JOIN disclosure.format_cell pf
                ON pf.format = (prev ->> 'format')::smallint AND pf.tbl = f.tbl
               AND pf.row_key = f.row_key AND pf.col_key = f.col_key
             WHERE f.format = (cur ->> 'format')::smallint
        )
        SELECT json_build_object(
            'document', 'disclosure-compare/1',
            'data_version', dv.version,
            'changed_at', disclosure.json_time(dv.changed_at),
            'agency', cur -> 'agency',
            'ancestors', disclosure.ancestors(a.id),
            'year', p_year,
            'format', cur -> 'format',
            'revision', cur -> 'revision',
            'published_at', cur -> 'published_at',
            'previous', CASE WHEN prev IS NOT NULL THEN json_build_object(
                'year', p_year - 1, 'format', prev -> 'format', 'revision', prev -> 'revision',
                'published_at', prev -> 'published_at') END,
            'tables', (
                SELECT json_agg(json_build_object(
                           'key', s.section, 'heading', s.heading,
                           'cells', (SELECT json_agg(json_build_object(
                                         'row', c.row_key, 'col', c.col_key, 'kind', c.kind,
                                         'row_group', c.row_group, 'row_label', c.row_label,
                                         'col_group', c.col_group, 'col_label', c.col_label,
                                         'value', c.value, 'previous', c.previous,
                                         'comparable', c.comparable,
                                         'change', CASE WHEN jsonb_typeof(c.value) = 'number'
                                                         AND jsonb_typeof(c.previous) = 'number'
                                                        THEN (c.value #>> '{}')::numeric
                                                             - (c.previous #>> '{}')::numeric END)
                                         ORDER BY c.ord)
                                       FROM c WHERE c.tbl = s.section)) ORDER BY s.no)
                  FROM (SELECT DISTINCT ON (fs.section) fs.section, fs.no, fs.heading
                          FROM disclosure.format_section fs
                         WHERE fs.format = (cur ->> 'format')::smallint
                           AND fs.section IN ('proactive', 'applications', 'appeals')
                         ORDER BY fs.section, fs.ord) s))
          FROM disclosure.agency a, disclosure.data_version dv
         WHERE a.slug = p_agency
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.compare(text, int) IS
    'a published report, every cell with the previous year''s value and the change, or NULL';

-- /{agency}/{year}/rollup: the agency and everything below it for one year.
-- Cells: the office-scope reports of the year's format summed (the
-- agency's own and rollup_below), totals derived from the sums, R1 checked
-- per column.  Completeness: the agency and its children, each with its
-- state and the counts of what is below it; counts over every descendant.
CREATE FUNCTION disclosure_web.rollup(p_agency text, p_year int)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off AS $$
DECLARE
    a    disclosure.agency;
    fmt  smallint := CASE WHEN p_year >= 2021 THEN 2021 ELSE 2019 END;
BEGIN
    SELECT * INTO a FROM disclosure.agency WHERE slug = p_agency;
    IF NOT FOUND OR NOT EXISTS (SELECT 1 FROM disclosure.year_state WHERE year = p_year) THEN
        RETURN NULL;
    END IF;
    RETURN (
        WITH sub AS (  -- the agency (depth 0), everything below it, and its report of the year
            SELECT t.agency_id AS id, t.depth, s.state, s.status, s.first_published AS published_at,
                   s.scope, s.format, s.revision_id
              FROM disclosure.agency_tree t
              LEFT JOIN disclosure.year_state s ON s.agency_id = t.agency_id AND s.year = p_year
             WHERE t.ancestor_id = a.id
        ),
        inputs AS (
            SELECT u.tbl, u.row_key, u.col_key, sum(u.value) AS value, sum(u.numbers) AS numbers
              FROM (SELECT x.tbl, x.row_key, x.col_key, x.value, 1 AS numbers
                      FROM sub CROSS JOIN LATERAL disclosure.rollup_cells(sub.revision_id) x
                     WHERE sub.depth = 0 AND sub.scope = 'office' AND sub.format = fmt
                    UNION ALL
                    SELECT b.tbl, b.row_key, b.col_key, b.value, b.numbers
                      FROM disclosure.rollup_below b
                     WHERE b.agency_id = a.id AND b.year = p_year AND b.format = fmt) u
             GROUP BY u.tbl, u.row_key, u.col_key
        ),
        cells AS (  -- every cell of the format
            SELECT f.tbl, f.row_key, f.col_key, f.ord,
                   CASE WHEN f.kind = 'input' THEN i.value
                        ELSE (SELECT sum(p.value) FROM (
                                  SELECT i2.value FROM disclosure.format_total_part tp
                                    JOIN inputs i2 ON i2.tbl = tp.tbl AND i2.row_key = tp.part_row
                                                  AND i2.col_key = tp.part_col
                                   WHERE tp.format = f.format AND tp.tbl = f.tbl
                                     AND tp.row_key = f.row_key AND tp.col_key = f.col_key
                                  UNION ALL
                                  SELECT m.value FROM inputs m
                                   WHERE f.format = 2021 AND f.tbl = 'applications' AND f.row_key = 'closed_total'
                                     AND m.tbl = 'applications' AND m.row_key = 'other'
                                     AND (f.col_key = 'total' OR m.col_key = f.col_key)) p)
                   END AS value
              FROM disclosure.format_cell f
              LEFT JOIN inputs i ON i.tbl = f.tbl AND i.row_key = f.row_key AND i.col_key = f.col_key
             WHERE f.format = fmt
        ),
        r1 AS (  -- 一 + 二 = （七） + 四, per column of 三
            SELECT c.col_key, min(c.ord) AS ord,
                   coalesce(sum(c.value) FILTER (WHERE c.row_key IN ('received', 'carried_over')), 0) AS lhs,
                   coalesce(sum(c.value) FILTER (WHERE c.row_key IN ('closed_total', 'carried_forward')), 0) AS rhs
              FROM cells c WHERE c.tbl = 'applications'
             GROUP BY c.col_key
        ),
        apart AS (  -- published but not added, and why
            SELECT sub.*, x.slug, x.name, CASE
                       WHEN sub.scope = 'jurisdiction' THEN '全辖区范围的报告已包含下级机关的数字，相加会重复计算'
                       WHEN sub.scope = 'unknown' THEN '报告未说明范围（本机关或全辖区），不能相加'
                       ELSE format('报告使用 %s 年版格式，%s 年度按 %s 年版格式相加', sub.format, p_year, fmt) END AS reason
              FROM sub JOIN disclosure.agency x ON x.id = sub.id
             WHERE sub.status = 'published' AND (sub.scope <> 'office' OR sub.format <> fmt)
        ),
        near AS (  -- the agency and its children, for the completeness table
            SELECT sub.*, x.slug, x.name, x.kind
              FROM sub JOIN disclosure.agency x ON x.id = sub.id
             WHERE sub.depth <= 1
        )
        SELECT json_build_object(
            'document', 'disclosure-rollup/1',
            'data_version', dv.version,
            'changed_at', disclosure.json_time(dv.changed_at),
            'agency', disclosure.agency_json(a),
            'ancestors', disclosure.ancestors(a.id),
            'year', p_year,
            'format', fmt,
            'summed', (SELECT count(*) FROM sub
                        WHERE sub.status = 'published' AND sub.scope = 'office' AND sub.format = fmt),
            'report', json_build_object(
                'document', 'disclosure-report/1', 'format', fmt,
                'tables', (SELECT json_object_agg(t.tbl, t.rows)
                             FROM (SELECT r.tbl, json_object_agg(r.row_key, r.cols) AS rows
                                     FROM (SELECT c.tbl, c.row_key, json_object_agg(c.col_key, c.value ORDER BY c.ord) AS cols,
                                                  min(c.ord) AS ord
                                             FROM cells c GROUP BY c.tbl, c.row_key) r
                                    GROUP BY r.tbl) t)),
            'merged_other', (SELECT json_object_agg(i.col_key, i.value) FROM inputs i
                              WHERE fmt = 2021 AND i.tbl = 'applications' AND i.row_key = 'other'),
            'checks', json_build_array(
                json_build_object('rule', 'R1', 'ok', NOT EXISTS (SELECT 1 FROM r1 WHERE r1.lhs <> r1.rhs),
                    'message', coalesce((SELECT string_agg(format('%s：一 + 二 = %s，（七）+ 四 = %s，相差 %s',
                                                                   f.col_label, r1.lhs, r1.rhs, r1.lhs - r1.rhs), '；' ORDER BY r1.ord)
                                           FROM r1 JOIN disclosure.format_cell f
                                             ON f.format = fmt AND f.tbl = 'applications'
                                            AND f.row_key = 'received' AND f.col_key = r1.col_key
                                          WHERE r1.lhs <> r1.rhs),
                                        '每一列：一 + 二 = （七）总计 + 四，各列均相等')),
                json_build_object('rule', 'R2', 'ok', true,
                    'message', '（七）总计由相加后的各项办理结果得出'),
                json_build_object('rule', 'R3', 'ok', true,
                    'message', '三的总计列由相加后的六类申请人得出'),
                json_build_object('rule', 'R4', 'ok', true,
                    'message', '四的总计由相加后的维持、纠正、其他、尚未审结得出')),
            'not_added', coalesce((SELECT json_agg(json_build_object(
                              'slug', x.slug, 'name', x.name, 'scope', x.scope, 'format', x.format,
                              'reason', x.reason) ORDER BY x.depth, x.name, x.slug)
                            FROM (SELECT * FROM apart ORDER BY depth, name, slug LIMIT 200) x), '[]'),
            'not_added_count', (SELECT count(*) FROM apart),
            'counts', disclosure.state_counts(ARRAY(SELECT coalesce(sub.state, 'none') FROM sub WHERE sub.depth > 0)),
            'agencies', (
                SELECT json_agg(disclosure.state_json(n.slug, n.name, n.kind, n.depth, p_year, n.state,
                                                      n.status, n.published_at, n.scope, b.counts)
                                ORDER BY n.depth, n.name, n.slug)
                  FROM near n
                  LEFT JOIN disclosure.below_counts(p_year, ARRAY(SELECT id FROM near WHERE depth = 1)) b
                    ON b.agency_id = n.id))
          FROM disclosure.data_version dv
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.rollup(text, int) IS
    'an agency and its descendants for one year: summed cells, what was not added and why, who published when, or NULL';

-- /{year}/: the whole portal for one year, by top-level agency
CREATE FUNCTION disclosure_web.year_page(p_year int)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM disclosure.year_state WHERE year = p_year) THEN
        RETURN NULL;
    END IF;
    RETURN (
        WITH top AS (
            SELECT x.id, x.slug, x.name, x.kind, s.state, s.status, s.first_published, s.scope
              FROM disclosure.agency x
              LEFT JOIN disclosure.year_state s ON s.agency_id = x.id AND s.year = p_year
             WHERE x.parent_id IS NULL
        )
        SELECT json_build_object(
            'document', 'disclosure-year/1',
            'data_version', dv.version,
            'changed_at', disclosure.json_time(dv.changed_at),
            'year', p_year,
            'counts', (SELECT disclosure.state_counts(array_agg(coalesce(s.state, 'none')))
                         FROM disclosure.agency x
                         LEFT JOIN disclosure.year_state s ON s.agency_id = x.id AND s.year = p_year),
            'agencies', coalesce((
                SELECT json_agg(disclosure.state_json(t.slug, t.name, t.kind, NULL, p_year, t.state,
                                                      t.status, t.first_published, t.scope, b.counts)
                                ORDER BY t.name, t.slug)
                  FROM top t
                  LEFT JOIN disclosure.below_counts(p_year, ARRAY(SELECT id FROM top)) b ON b.agency_id = t.id),
                '[]'),
            'latest', coalesce((
                SELECT json_agg(json_build_object(
                           'slug', x.slug, 'name', x.name, 'state', s.state,
                           'published_at', disclosure.json_time(s.first_published))
                           ORDER BY s.first_published DESC, x.slug)
                  FROM (SELECT * FROM disclosure.year_state s
                         WHERE s.year = p_year AND s.first_published IS NOT NULL
                         ORDER BY s.first_published DESC LIMIT 50) s
                  JOIN disclosure.agency x ON x.id = s.agency_id), '[]'))
          FROM disclosure.data_version dv
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.year_page(int) IS
    'one year across the portal: who published and when, by top-level agency, or NULL';

-- the slugs above an agency, the top first: what a publication of it also
-- changes (the roll-ups of its ancestors)
CREATE FUNCTION disclosure_web.ancestors(p_agency text)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        SELECT (SELECT coalesce(json_agg(x ->> 'slug'), '[]')
                  FROM json_array_elements(disclosure.ancestors(a.id)) x)
          FROM disclosure.agency a WHERE a.slug = p_agency
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.ancestors(text) IS
    'the slugs of the agencies above one, the top first, or NULL';

-- The index at scale: only the top of the hierarchy (each agency page lists
-- its children), with the years anything was published, for /{year}/ links.
CREATE OR REPLACE FUNCTION disclosure_web.index()
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off AS $$
BEGIN
    RETURN (
        SELECT json_build_object(
            'document', 'disclosure-index/1',
            'data_version', v.version,
            'changed_at', disclosure.json_time(v.changed_at),
            'all_years', coalesce((
                SELECT json_agg(y.year ORDER BY y.year DESC)
                  FROM (SELECT DISTINCT s.year FROM disclosure.year_state s WHERE s.status = 'published') y), '[]'),
            'agencies', coalesce((
                SELECT json_agg(json_build_object(
                           'slug', a.slug, 'name', a.name, 'kind', a.kind,
                           'parent', NULL, 'depth', 0,
                           'children', (SELECT count(*) FROM disclosure.agency c
                                         WHERE c.parent_id = a.id AND disclosure.shown(c.id)),
                           'years', disclosure_web.published_years(a.id)) ORDER BY a.name, a.slug)
                  FROM disclosure.agency a
                 WHERE a.parent_id IS NULL AND disclosure.shown(a.id)),
                '[]'))
          FROM disclosure.data_version v
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.index() IS
    'the top-level agencies that have something published, with their years and how many children are shown';

-- An agency page: its children (those the index shows, 0022) each with its
-- published years.
CREATE OR REPLACE FUNCTION disclosure_web.agency(p_agency text)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off AS $$
BEGIN
    RETURN (
        WITH a AS (
            SELECT * FROM disclosure.agency WHERE slug = p_agency
        )
        SELECT json_build_object(
            'document', 'disclosure-agency/1',
            'data_version', v.version,
            'changed_at', disclosure.json_time(v.changed_at),
            'agency', disclosure.agency_json(a),
            'ancestors', disclosure.ancestors(a.id),
            'children', coalesce((
                SELECT json_agg(json_build_object(
                           'slug', c.slug, 'name', c.name,
                           'years', disclosure_web.published_years(c.id)) ORDER BY c.name, c.slug)
                  FROM disclosure.agency c WHERE c.parent_id = a.id AND disclosure.shown(c.id)), '[]'),
            'years', disclosure_web.published_years(a.id))
          FROM a, disclosure.data_version v
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.agency(text) IS
    'one agency, its children that the index shows with their published years, and its own years, or NULL';

GRANT SELECT ON disclosure.reserved_word, disclosure.trend_figure, disclosure.rollup_below,
    disclosure.agency_tree, disclosure.year_state TO disclosure_editor;
GRANT EXECUTE ON FUNCTION disclosure.slug_refusal(text), disclosure.deadline(text, int),
    disclosure.doc_number(jsonb, text), disclosure.below_counts(int, int[]), disclosure.shown(int),
    disclosure.agency_json(disclosure.agency), disclosure.ancestors(int),
    disclosure.state_counts(text[]), disclosure.rollup_cells(int),
    disclosure.state_json(text, text, text, int, int, text, text, timestamptz, text, json)
    TO disclosure_editor;
GRANT EXECUTE ON FUNCTION disclosure_web.trend(text), disclosure_web.compare(text, int),
    disclosure_web.rollup(text, int), disclosure_web.year_page(int),
    disclosure_web.ancestors(text) TO disclosure_reader, disclosure_editor;
