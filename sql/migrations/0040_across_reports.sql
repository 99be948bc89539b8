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

-- 4. Helpers of the web API.

-- the legal deadline of R13 (条例第四十九条): published before it is on time
CREATE FUNCTION disclosure.deadline(p_kind text, p_year int)
RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
    SELECT make_timestamptz(p_year + 1, CASE p_kind WHEN 'government' THEN 3 ELSE 1 END, 31,
                            0, 0, 0, 'Asia/Shanghai') + interval '1 day'
$$;

-- a number of a report document (tables or published_totals), NULL if the
-- cell is blank, "/" or not printed
CREATE FUNCTION disclosure.doc_number(p jsonb, p_key text)
RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(p #> string_to_array(p_key, '.')) = 'number'
                THEN (p #>> string_to_array(p_key, '.'))::numeric END
$$;

-- the state of each agency's report of one year: on_time, late, draft, none
CREATE FUNCTION disclosure.year_states(p_year int, p_ids int[])
RETURNS TABLE (agency_id int, state text, published_at timestamptz, deadline timestamptz,
               scope text, format smallint, revision_id int, withdrawn boolean)
LANGUAGE sql STABLE AS $$
    WITH r AS (
        SELECT r.agency_id,
               bool_or(v.status = 'draft') AS has_draft,
               min(v.published_at) AS first_published,
               (array_agg(v.status ORDER BY v.revision DESC) FILTER (WHERE v.status <> 'draft'))[1] AS status,
               (array_agg(v.id ORDER BY v.revision DESC) FILTER (WHERE v.status <> 'draft'))[1] AS revision_id,
               (array_agg(v.scope ORDER BY v.revision DESC) FILTER (WHERE v.status <> 'draft'))[1] AS scope,
               (array_agg(v.format ORDER BY v.revision DESC) FILTER (WHERE v.status <> 'draft'))[1] AS format
          FROM disclosure.report r JOIN disclosure.revision v ON v.report_id = r.id
         WHERE r.year = p_year AND r.agency_id = ANY (p_ids)
         GROUP BY r.agency_id
    )
    SELECT a.id,
           CASE WHEN r.status = 'published'
                THEN CASE WHEN r.first_published < disclosure.deadline(a.kind, p_year) THEN 'on_time' ELSE 'late' END
                WHEN r.has_draft THEN 'draft' ELSE 'none' END,
           CASE WHEN r.status = 'published' THEN r.first_published END,
           disclosure.deadline(a.kind, p_year),
           CASE WHEN r.status = 'published' THEN r.scope END,
           CASE WHEN r.status = 'published' THEN r.format END,
           CASE WHEN r.status = 'published' THEN r.revision_id END,
           coalesce(r.status = 'withdrawn', false)
      FROM disclosure.agency a LEFT JOIN r ON r.agency_id = a.id
     WHERE a.id = ANY (p_ids)
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

-- the counts of a set of states
CREATE FUNCTION disclosure.state_counts(p_states text[])
RETURNS json LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_object(
        'agencies', cardinality(p_states),
        'published', (SELECT count(*) FROM unnest(p_states) s WHERE s IN ('on_time', 'late')),
        'on_time', (SELECT count(*) FROM unnest(p_states) s WHERE s = 'on_time'),
        'late', (SELECT count(*) FROM unnest(p_states) s WHERE s = 'late'),
        'draft', (SELECT count(*) FROM unnest(p_states) s WHERE s = 'draft'),
        'none', (SELECT count(*) FROM unnest(p_states) s WHERE s = 'none'))
$$;

-- one line of a completeness table; depth NULL: not said
CREATE FUNCTION disclosure.state_json(p_slug text, p_name text, p_kind text, p_depth int, p_state text,
                                      p_withdrawn boolean, p_published_at timestamptz,
                                      p_deadline timestamptz, p_scope text, p_below text[])
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_strip_nulls(json_build_object(
        'slug', p_slug, 'name', p_name, 'kind', p_kind, 'depth', p_depth,
        'state', p_state, 'withdrawn', p_withdrawn,
        'published_at', disclosure.json_time(p_published_at),
        'deadline', to_char((p_deadline - interval '1 day') AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'),
        'scope', p_scope,
        'below', CASE WHEN p_below IS NOT NULL THEN disclosure.state_counts(p_below) END))
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
    IF NOT FOUND OR NOT EXISTS (SELECT 1 FROM disclosure.report WHERE year = p_year) THEN
        RETURN NULL;
    END IF;
    RETURN (
        WITH RECURSIVE sub AS (  -- (agency, the child of a it is below, depth)
            SELECT a.id, NULL::int AS child, 0 AS depth
            UNION ALL
            SELECT c.id, coalesce(s.child, c.id), s.depth + 1
              FROM sub s JOIN disclosure.agency c ON c.parent_id = s.id
             WHERE s.depth < 64
        ),
        st AS (
            SELECT s.child, s.depth, y.*, x.slug, x.name, x.kind
              FROM sub s
              JOIN disclosure.year_states(p_year, (SELECT array_agg(id) FROM sub)) y ON y.agency_id = s.id
              JOIN disclosure.agency x ON x.id = s.id
        ),
        inputs AS (
            SELECT u.tbl, u.row_key, u.col_key, sum(u.value) AS value, sum(u.numbers) AS numbers
              FROM (SELECT x.tbl, x.row_key, x.col_key, x.value, 1 AS numbers
                      FROM st CROSS JOIN LATERAL disclosure.rollup_cells(st.revision_id) x
                     WHERE st.depth = 0 AND st.scope = 'office' AND st.format = fmt
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
        summed AS (
            SELECT * FROM st WHERE st.state IN ('on_time', 'late') AND st.scope = 'office' AND st.format = fmt
        ),
        apart AS (  -- published but not added, and why
            SELECT st.*, CASE
                       WHEN st.scope = 'jurisdiction' THEN '全辖区范围的报告已包含下级机关的数字，相加会重复计算'
                       WHEN st.scope = 'unknown' THEN '报告未说明范围（本机关或全辖区），不能相加'
                       ELSE format('报告使用 %s 年版格式，%s 年度按 %s 年版格式相加', st.format, p_year, fmt) END AS reason
              FROM st
             WHERE st.state IN ('on_time', 'late') AND (st.scope <> 'office' OR st.format <> fmt)
        )
        SELECT json_build_object(
            'document', 'disclosure-rollup/1',
            'data_version', dv.version,
            'changed_at', disclosure.json_time(dv.changed_at),
            'agency', disclosure.agency_json(a),
            'ancestors', disclosure.ancestors(a.id),
            'year', p_year,
            'format', fmt,
            'summed', (SELECT count(*) FROM summed),
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
            'counts', disclosure.state_counts(ARRAY(SELECT st.state FROM st WHERE st.depth > 0)),
            'agencies', (
                SELECT json_agg(disclosure.state_json(st.slug, st.name, st.kind, st.depth, st.state,
                                                      st.withdrawn, st.published_at, st.deadline,
                                                      st.scope, b.states)
                                ORDER BY st.depth, st.name, st.slug)
                  FROM st
                  LEFT JOIN (SELECT x.child, array_agg(x.state) AS states FROM st x
                              WHERE x.depth > 1 GROUP BY x.child) b ON b.child = st.agency_id
                 WHERE st.depth <= 1))
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
    IF NOT EXISTS (SELECT 1 FROM disclosure.report WHERE year = p_year) THEN
        RETURN NULL;
    END IF;
    RETURN (
        WITH RECURSIVE sub AS (  -- (agency, its top-level agency, depth)
            SELECT a.id, a.id AS top, 0 AS depth FROM disclosure.agency a WHERE a.parent_id IS NULL
            UNION ALL
            SELECT c.id, s.top, s.depth + 1
              FROM sub s JOIN disclosure.agency c ON c.parent_id = s.id
             WHERE s.depth < 64
        ),
        st AS (
            SELECT s.top, s.depth, y.*, x.slug, x.name, x.kind
              FROM sub s
              JOIN disclosure.year_states(p_year, (SELECT array_agg(id) FROM sub)) y ON y.agency_id = s.id
              JOIN disclosure.agency x ON x.id = s.id
        )
        SELECT json_build_object(
            'document', 'disclosure-year/1',
            'data_version', dv.version,
            'changed_at', disclosure.json_time(dv.changed_at),
            'year', p_year,
            'counts', disclosure.state_counts(ARRAY(SELECT st.state FROM st)),
            'agencies', coalesce((
                SELECT json_agg(disclosure.state_json(st.slug, st.name, st.kind, NULL, st.state,
                                                      st.withdrawn, st.published_at, st.deadline,
                                                      st.scope, b.states)
                                ORDER BY st.name, st.slug)
                  FROM st
                  LEFT JOIN (SELECT x.top, array_agg(x.state) AS states FROM st x
                              WHERE x.depth > 0 GROUP BY x.top) b ON b.top = st.agency_id
                 WHERE st.depth = 0), '[]'),
            'latest', coalesce((
                SELECT json_agg(json_build_object(
                           'slug', x.slug, 'name', x.name, 'state', x.state,
                           'published_at', disclosure.json_time(x.published_at)) ORDER BY x.published_at DESC, x.slug)
                  FROM (SELECT * FROM st WHERE st.published_at IS NOT NULL
                         ORDER BY st.published_at DESC, st.slug LIMIT 50) x), '[]'))
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
        WITH RECURSIVE published AS (  -- agencies whose latest revision of some report is published
            SELECT DISTINCT r.agency_id AS id
              FROM disclosure.report r
              CROSS JOIN LATERAL (
                   SELECT v.status FROM disclosure.revision v
                    WHERE v.report_id = r.id AND v.status <> 'draft'
                    ORDER BY v.revision DESC LIMIT 1) v
             WHERE v.status = 'published'
        ),
        shown AS (  -- those and their ancestors, walking up
            SELECT a.id, a.parent_id FROM disclosure.agency a JOIN published p USING (id)
            UNION
            SELECT a.id, a.parent_id FROM disclosure.agency a JOIN shown s ON s.parent_id = a.id
        )
        SELECT json_build_object(
            'document', 'disclosure-index/1',
            'data_version', v.version,
            'changed_at', disclosure.json_time(v.changed_at),
            'all_years', coalesce((
                SELECT json_agg(y.year ORDER BY y.year DESC)
                  FROM (SELECT DISTINCT r.year FROM disclosure.report r
                         WHERE EXISTS (SELECT 1 FROM disclosure.revision rv
                                        WHERE rv.report_id = r.id AND rv.status = 'published')) y), '[]'),
            'agencies', coalesce((
                SELECT json_agg(json_build_object(
                           'slug', a.slug, 'name', a.name, 'kind', a.kind,
                           'parent', NULL, 'depth', 0,
                           'children', (SELECT count(*) FROM shown c WHERE c.parent_id = a.id),
                           'years', disclosure_web.published_years(a.id)) ORDER BY a.name, a.slug)
                  FROM shown s JOIN disclosure.agency a ON a.id = s.id
                 WHERE s.parent_id IS NULL),
                '[]'))
          FROM disclosure.data_version v
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.index() IS
    'the top-level agencies that have something published, with their years and how many children are shown';

-- An agency page: its children (those the index shows, 0022) each with its
-- published years, and how many agencies below each have published.
CREATE OR REPLACE FUNCTION disclosure_web.agency(p_agency text)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off AS $$
BEGIN
    RETURN (
        WITH RECURSIVE a AS (
            SELECT * FROM disclosure.agency WHERE slug = p_agency
        ),
        below AS (  -- each child, and everything below it
            SELECT c.id AS child, c.id, c.parent_id FROM disclosure.agency c JOIN a ON c.parent_id = a.id
            UNION
            SELECT b.child, d.id, d.parent_id FROM disclosure.agency d JOIN below b ON d.parent_id = b.id
        ),
        shown AS (
            SELECT DISTINCT b.child, b.id, b.parent_id FROM below b
              JOIN disclosure.report r ON r.agency_id = b.id
              CROSS JOIN LATERAL (
                   SELECT rv.status FROM disclosure.revision rv
                    WHERE rv.report_id = r.id AND rv.status <> 'draft'
                    ORDER BY rv.revision DESC LIMIT 1) rv
             WHERE rv.status = 'published'
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
                           'below', (SELECT count(DISTINCT s.id) FROM shown s
                                      WHERE s.child = c.id AND s.id <> c.id),
                           'years', disclosure_web.published_years(c.id)) ORDER BY c.name, c.slug)
                  FROM disclosure.agency c JOIN a ON c.parent_id = a.id
                 WHERE EXISTS (SELECT 1 FROM shown s WHERE s.child = c.id)), '[]'),
            'years', disclosure_web.published_years(a.id))
          FROM a, disclosure.data_version v
    );
END
$$;
COMMENT ON FUNCTION disclosure_web.agency(text) IS
    'one agency, its children that the index shows with their published years, and its own years, or NULL';

GRANT SELECT ON disclosure.reserved_word, disclosure.trend_figure, disclosure.rollup_below TO disclosure_editor;
GRANT EXECUTE ON FUNCTION disclosure.slug_refusal(text), disclosure.deadline(text, int),
    disclosure.doc_number(jsonb, text), disclosure.year_states(int, int[]),
    disclosure.agency_json(disclosure.agency), disclosure.ancestors(int),
    disclosure.state_counts(text[]), disclosure.rollup_cells(int),
    disclosure.state_json(text, text, text, int, text, boolean, timestamptz, timestamptz, text, text[])
    TO disclosure_editor;
GRANT EXECUTE ON FUNCTION disclosure_web.trend(text), disclosure_web.compare(text, int),
    disclosure_web.rollup(text, int), disclosure_web.year_page(int),
    disclosure_web.ancestors(text) TO disclosure_reader, disclosure_editor;
