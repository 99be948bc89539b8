# Concurrent misses on one key make one database query (counted by the
# status page and in PostgreSQL's own log): the others wait and get the
# fill (HIT), or get the stale copy at once (UPDATING); a request waits no
# longer than disclosure_cache_lock_timeout; a filler or a waiter whose
# client goes away leaves nothing locked.  disclosure_web.agency('slow')
# takes 2 s (Disclosure::Slow); two workers share the zone.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IO::Select;
use Disclosure::Test;
use Disclosure::Cache;
use Disclosure::Slow;
use Disclosure::Part;
use Disclosure::Reply;

my $pg = Disclosure::Test->pg(sample => 1);
Disclosure::Slow::install($pg);

# every statement of nginx's sessions in PostgreSQL's log
$pg->psql(q{ALTER ROLE t_nginx SET log_statement = 'all'});

my $ngx = Disclosure::Test->nginx(pg => $pg, worker_processes => 2, http => <<'CONF', server => <<'CONF2' . Disclosure::Cache::STATUS);
disclosure_cache_zone reports:8m;
disclosure_query_timeout 20s;
CONF
location /c/ { disclosure; disclosure_cache reports; }
location /w/ { disclosure; disclosure_cache reports; disclosure_cache_use_stale error; }
location /t/ { disclosure; disclosure_cache reports; disclosure_cache_use_stale off;
               disclosure_cache_lock_timeout 300ms; }
location /g/ { disclosure; disclosure_cache reports; disclosure_cache_lock_timeout 300ms; }
CONF2

Disclosure::Cache::wait_listening($ngx);

sub request { $ngx->send_get($_[0]) }

# executions of disclosure_web.agency('slow') in PostgreSQL's log
sub slow_queries {
    my @n = Disclosure::Test::read_file($pg->log_file) =~ /DETAIL:\s+parameters: \$1 = 'slow'/g;
    return scalar @n;
}

sub slow_running {
    Disclosure::Test::poll(sub {
        $pg->psql(q{SELECT count(*) FROM pg_stat_activity WHERE usename = 't_nginx' AND state = 'active'
                       AND query LIKE '%disclosure_web.agency%'}) >= 1 });
}

sub counters {
    my $st = Disclosure::Cache::status($ngx);
    return { queries => $st->{database}{queries}, %{ $st->{zones}{reports} } };
}

sub invalidate_lists {
    my $n = Disclosure::Cache::status($ngx)->{listener}{invalidations};
    $pg->psql(qq{SELECT disclosure.revise('xigong-edz', 2024, 'x$n');
                 SELECT disclosure.publish('xigong-edz', 2024);}, role => 't_publisher');
    Disclosure::Cache::wait_invalidation($ngx, $n) or die 'no invalidation';
}

# -- ten concurrent misses: one query ---------------------------------------------
part 'ten concurrent misses make one query' => sub {
    my $c0 = counters();
    my $q0 = slow_queries();
    my @s = map { request('/c/slow/') } 1 .. 10;
    my @r = map { reply($_) } @s;
    is_deeply [ map { $_->{status} } @r ], [ (200) x 10 ], 'ten concurrent requests for one page: all 200';
    is scalar(grep { $_->{body} eq $r[0]{body} } @r), 10, 'the same page';
    is_deeply [ sort map { $_->{cache} } @r ], [ ('HIT') x 9, 'MISS' ], 'one MISS, nine HIT';
    my $c1 = counters();
    is $c1->{queries} - $c0->{queries}, 1, 'one database query (the status counters)';
    is $c1->{misses} - $c0->{misses}, 1, 'one miss';
    is $c1->{hits} - $c0->{hits}, 9, 'nine hits';
    ok Disclosure::Test::poll(sub { slow_queries() - $q0 >= 1 }), 'the query is in PostgreSQL\'s log';
    is slow_queries() - $q0, 1, 'once';
};

# -- stale while updating: the others do not wait ----------------------------------
part 'stale while updating: the others get the stale copy at once' => sub {
    my $old = $ngx->get('/c/slow/')->{content};
    invalidate_lists();
    my $c0 = counters();
    my $q0 = slow_queries();
    my $filler = request('/c/slow/');
    slow_running() or die 'the refresh did not start';
    my @r = map { reply(request('/c/slow/')) } 1 .. 5;
    ok !IO::Select->new($filler)->can_read(0), 'while one request refreshes the page';
    is_deeply [ map { "$_->{status} $_->{cache}" } @r ], [ ('200 UPDATING') x 5 ], 'five others get the stale copy';
    is scalar(grep { $_->{body} eq $old } @r), 5, 'the page as it was';
    my $f = reply($filler);
    is "$f->{status} $f->{cache}", '200 MISS', 'the refresh answers its own request';
    isnt $f->{body}, $old, 'with the new page (a new data version)';
    is counters()->{queries} - $c0->{queries}, 1, 'one query in all';
    is counters()->{updating} - $c0->{updating}, 5, 'five counted as updating';
    is $ngx->get('/c/slow/')->{content}, $f->{body}, 'the new page is cached';
};

# -- without "updating", the others wait for the fill --------------------------------
part 'without "updating", the others wait for the fill' => sub {
    $ngx->get('/w/slow/');
    is Disclosure::Cache::header($ngx->get('/w/slow/')), 'HIT', 'use_stale error: cached';
    invalidate_lists();
    my $c0 = counters();
    my $filler = request('/w/slow/');
    slow_running() or die 'the refresh did not start';
    my @s = map { request('/w/slow/') } 1 .. 3;
    my $f = reply($filler);
    my @r = map { reply($_) } @s;
    is "$f->{status} $f->{cache}", '200 MISS', 'one refreshes';
    is_deeply [ map { "$_->{status} $_->{cache}" } @r ], [ ('200 HIT') x 3 ], 'three waited, then got the fill';
    is scalar(grep { $_->{body} eq $f->{body} } @r), 3, 'the new page';
    is counters()->{queries} - $c0->{queries}, 1, 'one query';
};

# -- disclosure_cache_lock_timeout: a request waits no longer ------------------------
part 'disclosure_cache_lock_timeout: a request waits no longer' => sub {
    my $c0 = counters();
    my $filler = request('/t/slow/');
    slow_running() or die 'the fill did not start';
    my $waiter = request('/t/slow/');
    ok Disclosure::Test::poll(sub {
        $pg->psql(q{SELECT count(*) FROM pg_stat_activity WHERE usename = 't_nginx' AND state = 'active'
                       AND query LIKE '%disclosure_web.agency%'}) == 2 }),
        'after the lock timeout the waiter queries too, while the fill still runs';
    $waiter = reply($waiter);
    is "$waiter->{status} $waiter->{cache}", '200 MISS', 'and is answered from its own query';
    is reply($filler)->{status}, 200, 'the first one is answered too';
    is counters()->{queries} - $c0->{queries}, 2, 'two queries';
    is Disclosure::Cache::header($ngx->get('/t/slow/')), 'HIT', 'and the page is cached';
};

# -- clients that go away ------------------------------------------------------------
part 'a filler or a waiter whose client goes away leaves nothing locked' => sub {
    my $c0 = counters();
    my $filler = request('/c/slow/index.json');
    slow_running() or die 'the fill did not start';
    my $gone_waiter = request('/c/slow/index.json');
    my $waiter = request('/c/slow/index.json');
    ok Disclosure::Test::poll(sub { counters()->{fills} == 1 }), 'one fill in progress';
    # the waiter that leaves is gone (499 logged) before the filler leaves, so
    # that only the waiter still there takes the dropped lock
    my $left = sub { scalar grep { / 499 / } do { open my $fh, '<', $ngx->dir . '/access.log' or return 0; <$fh> } };
    my $left0 = $left->();
    close $gone_waiter;
    ok Disclosure::Test::poll(sub { $left->() > $left0 }), 'a waiter went away (499)';
    close $filler;
    $waiter = reply($waiter);
    is $waiter->{status}, 200, 'the filler went away: a waiter is answered';
    is $waiter->{cache}, 'MISS', 'by a query of its own, once the lock was dropped';
    is counters()->{queries} - $c0->{queries}, 2, 'two queries';
    ok Disclosure::Test::poll(sub { counters()->{fills} == 0 }), 'no fill left locked';
    is Disclosure::Cache::header($ngx->get('/c/slow/index.json')), 'HIT', 'the page is cached';
};

# -- a late fill never replaces a newer one (issue 11) ----------------------------------
# A's query reads the page before a publication and is held (the gate); B waits
# out the lock after the publication, reads the new page and caches it fresh;
# then A's answer arrives: it must not replace B's page.
part 'a late fill never replaces a newer one (issue 11)' => sub {
    my $open = Disclosure::Slow::gate($pg);
    my $late = request('/g/slow-gate/');
    slow_running() or die 'the first fill did not start';
    invalidate_lists();
    my $new = reply(request('/g/slow-gate/'));
    is "$new->{status} $new->{cache}", '200 MISS', 'after the lock timeout, a fill after the publication';
    is reply(request('/g/slow-gate/'))->{cache}, 'HIT', 'cached fresh';
    $open->();
    $late = reply($late);
    is $late->{status}, 200, 'the fill that began before the publication is answered';
    isnt $late->{body}, $new->{body}, 'with the page as it was';
    my $after = reply(request('/g/slow-gate/'));
    is $after->{cache}, 'HIT', 'the newer page stays cached, fresh';
    is $after->{body}, $new->{body}, 'and it is the one served';
    is reply(request('/g/slow-gate/index.json'))->{status}, 200, 'another variant is filled as usual';
};

unlike $ngx->error_log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'no crash, no alert';
done_testing;
