package Disclosure::Slow;

# Test data only: makes disclosure_web.agency() sleep for the slugs
# 'slow' (2 s) and 'slow-long' (30 s) before answering with demo-district,
# so that tests can hold a query open in the database.

use strict;
use warnings;

sub install {
    my ($pg) = @_;
    $pg->psql(<<'SQL');
ALTER FUNCTION disclosure_web.agency(text) RENAME TO agency_fast;
CREATE FUNCTION disclosure_web.agency(p_agency text)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_agency = 'slow' THEN
        PERFORM pg_sleep(2);
        RETURN disclosure_web.agency_fast('demo-district');
    ELSIF p_agency = 'slow-long' THEN
        PERFORM pg_sleep(30);
        RETURN disclosure_web.agency_fast('demo-district');
    END IF;
    RETURN disclosure_web.agency_fast(p_agency);
END
$$;
GRANT EXECUTE ON FUNCTION disclosure_web.agency(text) TO disclosure_reader;
SQL
}

1;
