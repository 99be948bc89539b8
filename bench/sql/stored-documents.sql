-- What-if for B3 (bench/run --stored-documents), not the project's schema:
-- disclosure_web.report() as one index lookup of the document, stored once
-- per published revision, instead of building it from the cells on every
-- call.  A published revision never changes, so publish() could store it.

\set ON_ERROR_STOP 1

CREATE TABLE disclosure.bench_document (
    agency  text NOT NULL,
    year    int NOT NULL,
    doc     json NOT NULL,
    PRIMARY KEY (agency, year)
);

INSERT INTO disclosure.bench_document
SELECT p.agency, p.year, disclosure.report_document(p.revision_id)
  FROM disclosure.public_revision p
 WHERE p.status = 'published';

CREATE OR REPLACE FUNCTION disclosure_web.report(p_agency text, p_year int)
RETURNS json LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
    SELECT d.doc FROM disclosure.bench_document d
     WHERE d.agency = p_agency AND d.year = p_year
$$;

ANALYZE disclosure.bench_document;
