package Disclosure::Slow;

# Test data only: makes disclosure_web.agency() sleep for the slugs
# 'slow' (2 s) and 'slow-long' (30 s) before answering with demo-district,
# so that tests can hold a query open in the database.  The first query for
# 'slow-gate' waits until the test opens the gate (an advisory lock the
# test holds, see gate()); those of other sessions answer at once.  Each answers from
# the snapshot its statement began with, as any query of the web API.

use strict;
use warnings;
use IPC::Run ();
use Disclosure::Test ();

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
    ELSIF p_agency = 'slow-gate' THEN
        -- the first session to ask keeps lock 4712: only its query waits
        IF pg_try_advisory_lock(4712) THEN
            PERFORM pg_advisory_lock_shared(4711);
            PERFORM pg_advisory_unlock_shared(4711);
        END IF;
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


# Closes the gate: a session of the test holds the advisory lock until
# $gate->() is called.

sub gate {
    my ($pg) = @_;
    my ($in, $out, $err) = ('', '', '');
    my $h = IPC::Run::start(['psql', '-X', '-A', '-t', '-q', '-h', $pg->socket_dir,
                             '-p', $pg->port, '-U', 'postgres', '-d', 'disclosure'],
                            \$in, \$out, \$err);
    $in .= "SELECT 'held', pg_advisory_lock(4711);\n";
    Disclosure::Test::poll(sub { $h->pump_nb; $out =~ /held/ })
        or die "the gate did not close: $err";
    return sub {
        $in .= "SELECT pg_advisory_unlock(4711);\n\\q\n";
        $h->finish;
    };
}

1;
