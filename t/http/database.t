# PostgreSQL failures: down (503 with Retry-After within the timeout), up
# again (served again without touching nginx), a query slower than the
# timeout, and a client that goes away mid-query (the pool stays clean).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Time::HiRes qw(time);
use Disclosure::Test;
use Disclosure::Slow;
use Disclosure::Part;

my $pg = Disclosure::Test->pg(sample => 1);
Disclosure::Slow::install($pg);
my $ngx = Disclosure::Test->nginx(pg => $pg, worker_processes => 1, http => <<'CONF',
disclosure_keepalive 2;
disclosure_connect_timeout 2s;
disclosure_query_timeout 3s;
CONF
    server => 'location /r/ { disclosure; }');

sub nginx_sessions {
    return $pg->psql(q{SELECT count(*) FROM pg_stat_activity WHERE usename = 't_nginx'});
}

is $ngx->get('/r/xigong-edz/2024')->{status}, 200, 'served';
ok nginx_sessions() >= 1, 'through a pooled connection';

# the first part stops PostgreSQL, the second starts it again
# -- PostgreSQL down ----------------------------------------------------------
part 'PostgreSQL down: 503 with Retry-After, never a hang' => sub {
    $pg->stop;
    my $t0 = time;
    my $r = $ngx->get('/r/xigong-edz/2024');
    is $r->{status}, 503, 'PostgreSQL down: 503';
    ok $r->{headers}{'retry-after'}, 'with Retry-After';
    diag sprintf 'answered in %.3f s', time - $t0;
    $r = $ngx->get('/r/demo-district/2024');
    is $r->{status}, 503, 'and again: 503, never a hang';
    ok $ngx->wait_for_log(qr/disclosure: .*(connect|connection)/i), 'the reason is logged';
};

# -- up again: served without touching nginx -------------------------------------
part 'PostgreSQL up again: served without touching nginx' => sub {
    $pg->start;
    my $r = $ngx->get('/r/xigong-edz/2024');
    is $r->{status}, 200, 'PostgreSQL back: served again';
    is $ngx->get('/r/demo-district/2024.json')->{status}, 200, 'and again';
};

# -- a pooled connection killed under us: retried once on a fresh one ------------
part 'a pooled connection killed under us: retried once on a fresh one' => sub {
    $pg->psql(q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 't_nginx'});
    ok Disclosure::Test::poll(sub { nginx_sessions() == 0 }), 'the pooled connections were terminated';
    is $ngx->get('/r/xigong-edz/2024')->{status}, 200, 'the next request is served on a fresh connection';
};

# -- a query slower than the timeout ------------------------------------------
part 'a query slower than the timeout: 503' => sub {
    my $t0 = time;
    my $r = $ngx->get('/r/slow-long/');
    is $r->{status}, 503, 'a query over disclosure_query_timeout: 503';
    diag sprintf 'answered in %.3f s (timeout 3 s)', time - $t0;
    ok $ngx->wait_for_log(qr/disclosure: .*(timed out|statement timeout)/), 'logged as a timeout';
    ok Disclosure::Test::poll(sub {
        $pg->psql(q{SELECT count(*) FROM pg_stat_activity WHERE usename = 't_nginx' AND state = 'active'}) == 0 }),
        'and it does not go on running in the database';
    is $ngx->get('/r/xigong-edz/2024')->{status}, 200, 'served after the timeout';
};

# -- a client that goes away mid-query --------------------------------------------
part 'clients that go away mid-query leave the pool clean' => sub {
    for my $round (1 .. 3) {
        my $s = $ngx->send_get('/r/slow/');
        Disclosure::Test::poll(sub {
            my $n = $pg->psql(q{SELECT count(*) FROM pg_stat_activity WHERE usename = 't_nginx' AND state = 'active'
                                   AND query LIKE '%agency%'});
            note "round $round: $n active";
            $n >= 1 })
            or die 'the slow query did not start';
        close $s;
    }
    ok Disclosure::Test::poll(sub {
        $pg->psql(q{SELECT count(*) FROM pg_stat_activity WHERE usename = 't_nginx' AND state <> 'idle'}) == 0 }),
        'after three clients went away, no session is left busy or in a transaction';
    cmp_ok nginx_sessions(), '<=', 2, 'and no more sessions than disclosure_keepalive';
    is $ngx->get('/r/demo-district/2024')->{status}, 200, 'the pool serves the next request';
    is $ngx->get('/r/demo-district/')->{status}, 200, 'and the next';
};

unlike $ngx->error_log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'no crash, no alert';
done_testing;
