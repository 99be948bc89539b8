# disclosure_max_connections: a worker never holds more PostgreSQL sessions
# than the cap; queries beyond it wait in a queue, first come first served,
# and get a connection as soon as one is free.  A wait longer than
# disclosure_connect_timeout is a 503 with Retry-After; a client that goes
# away leaves the queue; a closed connection lets a waiter open a new one;
# a worker that exits with queries waiting does not crash.
#
# Prepared statements: each statement is prepared once per session (counted
# in PostgreSQL's log); a session that lost them prepares again; a prepare
# that fails is a query that fails.
#
# disclosure_web.agency('gate') waits for an advisory lock that the test
# holds from a psql session of its own (the gate), so that the test decides
# when the slow queries end.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IO::Select;
use IPC::Run ();
use JSON::PP ();
use Disclosure::Test;
use Disclosure::Part;
use Disclosure::Reply;

use constant GATE => 4242;

# -- nginx -t ---------------------------------------------------------------------
part 'nginx -t: disclosure_max_connections and disclosure_keepalive' => sub {
    my $pg_conf = 'disclosure_database "hostaddr=127.0.0.1 port=1 dbname=x";';
    my %conf = (server => 'location /r/ { disclosure; }');

    my ($ok, $out) = Disclosure::Test->conf_test(%conf,
        http => "$pg_conf disclosure_max_connections 2; disclosure_keepalive 4;");
    ok !$ok, 'nginx -t: keepalive above max_connections is refused';
    like $out, qr/"disclosure_keepalive 4" is more than "disclosure_max_connections 2"/,
        'with the reason';

    for my $bad ('-1', 'many', '2k') {
        ($ok, $out) = Disclosure::Test->conf_test(%conf,
            http => "$pg_conf disclosure_max_connections $bad;");
        ok !$ok, "nginx -t: disclosure_max_connections $bad is refused";
        like $out, qr/invalid number.*disclosure_max_connections|disclosure_max_connections.*invalid/,
            'as an invalid number';
    }

    ($ok, $out) = Disclosure::Test->conf_test(%conf,
        http => "$pg_conf disclosure_max_connections 2; disclosure_keepalive 2;");
    ok $ok, 'keepalive equal to max_connections is accepted' or diag $out;
    ($ok, $out) = Disclosure::Test->conf_test(%conf,
        http => "$pg_conf disclosure_max_connections 1;");
    ok $ok, 'max_connections below the default keepalive: keepalive follows' or diag $out;
    ($ok, $out) = Disclosure::Test->conf_test(%conf,
        http => "$pg_conf disclosure_max_connections 0; disclosure_keepalive 8;");
    ok $ok, 'max_connections 0: no limit' or diag $out;
};

my $pg = Disclosure::Test->pg(sample => 1);

$pg->psql(sprintf <<'SQL', GATE);
ALTER FUNCTION disclosure_web.agency(text) RENAME TO agency_ungated;
CREATE FUNCTION disclosure_web.agency(p_agency text)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_agency = 'gate' THEN
        PERFORM pg_advisory_lock_shared(%d);
        PERFORM pg_advisory_unlock_shared(%1$d);
        PERFORM pg_sleep(0.02);
        RETURN disclosure_web.agency_ungated('demo-district');
    END IF;
    RETURN disclosure_web.agency_ungated(p_agency);
END
$$;
GRANT EXECUTE ON FUNCTION disclosure_web.agency(text) TO disclosure_reader;
SQL

my %nginx = (
    pg => $pg,
    worker_processes => 1,
    server => <<'CONF');
location /r/ { disclosure; }
location = /disclosure-status { disclosure_status; }
location = /metrics { disclosure_status prometheus; }
CONF

sub http_conf {
    my ($connect_timeout) = @_;
    return <<"CONF";
disclosure_max_connections 2;
disclosure_keepalive 2;
disclosure_connect_timeout $connect_timeout;
disclosure_query_timeout 60s;
CONF
}

my $ngx = Disclosure::Test->nginx(%nginx, http => http_conf('60s'));

like $ngx->error_log, qr/keepalive 2, timeouts: .*, max_connections 2\b/,
    'max_connections is logged at start';

# -- helpers ------------------------------------------------------------------------

my $gate;

sub close_gate {
    $gate = IPC::Run::start([ 'psql', '-X', '-q', '-h', $pg->socket_dir, '-p', $pg->port,
        '-U', 'postgres', '-d', 'dbname=disclosure application_name=pool-gate',
        '-c', sprintf('SELECT pg_advisory_lock(%d); SELECT pg_sleep(3600)', GATE) ],
        '<', \my $in, '>', \my $out, '2>', \my $err);
    Disclosure::Test::poll(sub {
        $pg->psql(sprintf q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
                                AND objid = %d AND mode = 'ExclusiveLock' AND granted}, GATE) == 1 })
        or die 'the gate did not close';
}

sub open_gate {
    $pg->psql(q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE application_name = 'pool-gate'});
    eval { $gate->finish };    # psql reports the terminated session
    undef $gate;
}

sub sessions {
    my ($where) = @_;
    return $pg->psql(q{SELECT count(*) FROM pg_stat_activity WHERE usename = 't_nginx'}
                     . ($where ? " AND $where" : ''));
}

sub at_the_gate { sessions(q{wait_event_type = 'Lock'}) }

sub status {
    my $r = $ngx->get('/disclosure-status');
    die "status: $r->{status}" unless $r->{status} == 200;
    my $db = JSON::PP::decode_json($r->{content})->{database};
    my ($w) = @{ $db->{workers} };
    return { %$db, worker => $w // {} };
}

sub request { $ngx->send_get($_[0]) }

sub wait_status {
    my ($what, $test) = @_;
    my $st;
    Disclosure::Test::poll(sub { $st = status(); $test->($st) })
        or diag "$what: " . JSON::PP->new->canonical->encode($st);
}

# -- twenty concurrent slow queries, two connections ---------------------------

part 'twenty concurrent slow queries share two connections, first come first served' => sub {
    is $ngx->get('/r/demo-district/2024')->{status}, 200, 'served';

    close_gate();
    my @socks = map { request('/r/gate/') } 1 .. 20;

    ok wait_status('18 waiting', sub { $_[0]{waiting} == 18 && $_[0]{worker}{active} == 2 }),
        'twenty slow requests: two connections busy, eighteen queries waiting';
    ok Disclosure::Test::poll(sub { at_the_gate() == 2 }), 'two queries at the gate in PostgreSQL';
    is sessions(), 2, 'two sessions of the nginx role';

    my $max = 0;
    open_gate();
    my @r = replies(\@socks, sub { my $n = sessions(); $max = $n if $n > $max });
    is scalar(grep { $_->{status} == 200 } @r), 20, 'all twenty answered 200';
    cmp_ok $max, '<=', 2, 'never more than two sessions while they were served';
    note "at most $max sessions";

    my $st = status();
    is $st->{waiting}, 0, 'nothing waits any more';
    cmp_ok $st->{waits}, '>=', 18, 'the waits are counted';
    is $st->{worker}{waits}, $st->{waits}, 'per worker too';
    is $st->{wait_timeouts}, 0, 'no wait timed out';
    is $st->{worker}{connects}, 2, 'the two connections were handed on, none reopened';
    is $st->{worker}{idle}, 2, 'and kept';
};

# -- a connection closed while queries wait: the first waiter opens one ------

# one part: the queries gated here are the ones the clients below queue behind
part 'a killed connection lets the first waiter open one; clients that go away leave the queue' => sub {
    # fresh connections, so that a lost one is not retried
    $pg->psql(q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 't_nginx'});
    ok wait_status('idle closed', sub { $_[0]{worker}{idle} == 0 }), 'the pooled connections are gone';

    close_gate();
    my @gated = map { request('/r/gate/') } 1 .. 2;
    ok Disclosure::Test::poll(sub { at_the_gate() == 2 }), 'two slow queries hold both connections';
    my $waiter = request('/r/demo-district/2024');
    ok wait_status('1 waiting', sub { $_[0]{waiting} == 1 }), 'a third query waits';
    my $connects = status()->{worker}{connects};

    $pg->psql(q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE usename = 't_nginx' AND wait_event_type = 'Lock' LIMIT 1});
    is reply($waiter)->{status}, 200, 'one connection killed: the waiter is served on a new one';
    is status()->{worker}{connects}, $connects + 1, 'which it opened';
    ok Disclosure::Test::poll(sub { at_the_gate() == 1 }), 'the other slow query still runs';
    my @killed;
    Disclosure::Test::poll(sub { @killed = grep { IO::Select->new($_)->can_read(0) } @gated; @killed == 1 });
    is scalar(@killed), 1, 'the slow query whose connection was killed is over';
    is reply($killed[0])->{status}, 503, 'with 503';
    @gated = grep { $_ != $killed[0] } @gated;

    # -- clients that go away while queued ----------------------------------------

    push @gated, request('/r/gate/');
    ok Disclosure::Test::poll(sub { at_the_gate() == 2 }), 'both connections at the gate again';

    my $offset = length $ngx->error_log;
    my $waits = status()->{waits};
    my @gone = map { request($_) } ('/r/demo-district/2024') x 3, ('/r/') x 2;
    ok wait_status('5 waiting', sub { $_[0]{waiting} == 5 }), 'five queries wait';
    close $_ for @gone;
    ok wait_status('left', sub { $_[0]{waiting} == 0 }), 'their clients went away: they left the queue';
    is status()->{waits}, $waits + 5, 'five waits counted';
    is sessions(), 2, 'still two sessions';

    open_gate();
    my @r = replies(\@gated);
    is scalar(grep { $_->{status} == 200 } @r), 2, 'the slow queries that were not killed are answered'
        or diag explain \@r;
    is $ngx->get('/r/demo-district/2024')->{status}, 200, 'later requests are served';
    is $ngx->get('/r/demo-district/')->{status}, 200, 'and the next';
    is $ngx->get('/r/')->{status}, 200, 'and the next';
    unlike substr($ngx->error_log, $offset), qr/\[(error|alert|crit|emerg)\]/,
        'no error or alert in the log since the clients went away';
    is status()->{wait_timeouts}, 0, 'no wait timed out';
};

# -- a worker that exits while queries wait ---------------------------------------

part 'a worker that exits while queries wait does not crash' => sub {
    close_gate();
    my @gated = map { request('/r/gate/') } 1 .. 2;
    ok Disclosure::Test::poll(sub { at_the_gate() == 2 }), 'both connections at the gate';
    my @waiting = map { request('/r/demo-district/2024') } 1 .. 3;
    ok wait_status('3 waiting', sub { $_[0]{waiting} == 3 }), 'three queries wait';

    my ($worker) = Disclosure::Test::children($ngx->{pid});
    kill 'TERM', $worker;
    ok Disclosure::Test::poll(sub { !Disclosure::Test::process_alive($worker) }), 'the worker exits (SIGTERM)';
    ok $ngx->wait_for_log(qr/query abandoned while waiting for a connection, worker is exiting/),
        'the waiting queries are abandoned';
    ok Disclosure::Test::poll(sub {
        my @w = Disclosure::Test::children($ngx->{pid});
        @w == 1 && $w[0] != $worker && $ngx->get('/r/demo-district/2024')->{status} == 200 }),
        'a new worker serves';
    unlike $ngx->error_log, qr/exited on signal|\[alert\]/, 'the old one did not crash';
    close $_ for @gated, @waiting;
    open_gate();
    ok Disclosure::Test::poll(sub { sessions(q{state <> 'idle'}) == 0 }), 'no session left busy';
};

# -- a wait longer than disclosure_connect_timeout ---------------------------------

part 'a wait longer than disclosure_connect_timeout: 503 with Retry-After' => sub {
    ok $ngx->reload(http => http_conf('1s')), 'reloaded with disclosure_connect_timeout 1s';

    close_gate();
    my @gated = map { request('/r/gate/') } 1 .. 2;
    ok Disclosure::Test::poll(sub { at_the_gate() == 2 }), 'both connections at the gate';

    my $r = $ngx->get('/r/demo-district/2024');
    is $r->{status}, 503, 'a query that waits too long: 503';
    ok $r->{headers}{'retry-after'}, 'with Retry-After';
    ok $ngx->wait_for_log(qr/\[error\].*disclosure: all 2 database connections busy for \d+ms/),
        'logged at error level';

    my $st = status();
    is $st->{wait_timeouts}, 1, 'a wait timeout counted';
    is $st->{worker}{wait_timeouts}, 1, 'in the worker';
    is $st->{waiting}, 0, 'nothing waits';

    my $metrics = $ngx->get('/metrics')->{content};
    like $metrics, qr/^disclosure_db_wait_timeouts_total 1$/m, 'Prometheus: wait timeouts';
    like $metrics, qr/^disclosure_db_waits_total 1$/m, 'Prometheus: waits';
    like $metrics, qr/^disclosure_db_waiting 0$/m, 'Prometheus: waiting';

    open_gate();
    my @r = replies(\@gated);
    is scalar(grep { $_->{status} == 200 } @r), 2, 'the slow queries are answered';
    is $ngx->get('/r/demo-district/2024')->{status}, 200, 'and the next request';
};

# (the worker killed above logged "signal 15 (SIGTERM) received")
unlike $ngx->error_log, qr/\[(alert|crit|emerg)\]|exited on signal/, 'no crash, no alert';
$ngx->stop;

# -- prepared statements ------------------------------------------------------------

# every parse and execute of nginx's sessions in PostgreSQL's log
$pg->psql(<<'SQL');
ALTER ROLE t_nginx SET log_min_duration_statement = 0;
CREATE FUNCTION disclosure_web.forget_statements() RETURNS void
LANGUAGE plpgsql VOLATILE AS $$ BEGIN EXECUTE 'DEALLOCATE ALL'; END $$;
CREATE OR REPLACE FUNCTION disclosure_web.agency(p_agency text)
RETURNS json LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_agency = 'forget' THEN
        -- what DISCARD ALL or a pooler does to the session
        PERFORM disclosure_web.forget_statements();
        RETURN disclosure_web.agency_ungated('demo-district');
    END IF;
    RETURN disclosure_web.agency_ungated(p_agency);
END
$$;
SQL

$ngx = Disclosure::Test->nginx(pg => $pg, worker_processes => 1,
    http => "disclosure_keepalive 1;\n", server => "location /r/ { disclosure; }\n");

# (pid, what, statement) of the parse and execute lines since $from
sub statements {
    my ($from, $sql) = @_;
    my $log = substr Disclosure::Test::read_file($pg->log_file), $from;
    my @s;
    while ($log =~ /\[(\d+)\] t_nginx\@disclosure LOG:  duration: \S+ ms  (parse|execute) (\S+): (.*)/g) {
        push @s, { pid => $1, what => $2, name => $3 } if index($4, $sql) >= 0;
    }
    return @s;
}

sub count { my ($what, @s) = @_; return scalar grep { $_->{what} eq $what } @s }

my $report = 'disclosure_web.report(';
my $agency = 'disclosure_web.agency(';
part 'each statement is prepared once per session, and again when the session lost them' => sub {
    my $from = length Disclosure::Test::read_file($pg->log_file);

    is $ngx->get('/r/demo-district/2024')->{status}, 200, 'served' for 1 .. 5;
    my @s;
    ok Disclosure::Test::poll(sub { @s = statements($from, $report); count(execute => @s) == 5 }),
        'five reports run';
    is count(parse => @s), 1, 'on one statement prepared once';
    like $s[0]{name}, qr/^ngx_disclosure_[0-9a-f]{8}:?$/, 'named after its text';
    is scalar(keys %{{ map { $_->{pid} => 1 } @s }}), 1, 'in one session';

    $from = length Disclosure::Test::read_file($pg->log_file);
    is $ngx->get('/r/forget/')->{status}, 200, 'a query that drops the prepared statements';
    is $ngx->get('/r/demo-district/')->{status}, 200, 'the next query on the session is served';
    ok $ngx->wait_for_log(qr/\[warn\].*the session lost its prepared statements \(.*does not exist\), preparing again/),
        'it prepared the statement again';
    is $ngx->get('/r/demo-district/2024')->{status}, 200, 'and so does the next one';
    ok Disclosure::Test::poll(sub { count(execute => statements($from, $report)) == 1 }), 'the report ran';
    is count(parse => statements($from, $report)), 1, 'prepared again: the session forgot all of them';
    is count(parse => statements($from, $agency)), 2,
        'the one that dropped them: prepared, lost, prepared again';
};

part 'a statement that cannot be prepared is a query that fails' => sub {
    my $offset = length $ngx->error_log;
    $pg->psql('ALTER FUNCTION disclosure_web.index() RENAME TO index_away');
    my $r = $ngx->get('/r/');
    is $r->{status}, 503, 'a statement that cannot be prepared: 503';
    ok $r->{headers}{'retry-after'}, 'with Retry-After';
    like substr($ngx->error_log, $offset),
        qr/\[error\].*query failed: ERROR: +function disclosure_web\.index\(\) does not exist/,
        'logged as a failed query';
    $pg->psql('ALTER FUNCTION disclosure_web.index_away() RENAME TO index');
    is $ngx->get('/r/')->{status}, 200, 'the function back: served';
    is $ngx->get('/r/demo-district/2024')->{status}, 200, 'the session still serves';
    is $ngx->get('/r/demo-district/2024.json')->{status}, 200, 'and again';
};

unlike $ngx->error_log, qr/\[(alert|crit|emerg)\]|signal \d+/, 'no crash, no alert';
done_testing;
