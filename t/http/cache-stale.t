# PostgreSQL down: fresh entries are hits as before; what is no longer
# fresh is served STALE, for disclosure_cache_stale_time and no longer;
# nothing cached gives 503 as before, and so does "use_stale off".  Back
# up, the listener reconnects and pages are refreshed.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Time::HiRes qw(time);
use Disclosure::Test;
use Disclosure::Cache;
use Disclosure::Part;

my $pg = Disclosure::Test->pg(sample => 1);
my $ngx = Disclosure::Test->nginx(pg => $pg, worker_processes => 2, http => <<'CONF', server => <<'CONF2' . Disclosure::Cache::STATUS);
disclosure_cache_zone reports:8m;
disclosure_connect_timeout 2s;
disclosure_query_timeout 3s;
CONF
location /c/ { disclosure; disclosure_cache reports; }
location /e/ { disclosure; disclosure_cache reports; disclosure_cache_valid 1s;
               disclosure_cache_stale_time 3s; }
location /o/ { disclosure; disclosure_cache reports; disclosure_cache_valid 1s;
               disclosure_cache_use_stale off; }
CONF2

sub cache { Disclosure::Cache::header($_[0]) }
sub st { Disclosure::Cache::status($ngx) }

Disclosure::Cache::wait_listening($ngx);

# -- fill, then invalidate /c/'s report and lists by a publication ---------------------
my %old;
for my $path ('/c/demo-district/2024', '/c/demo-district/2024.json', '/c/', '/c/xigong-edz/2024',
              '/e/xigong-edz/2024', '/o/xigong-edz/2024') {
    $old{$path} = $ngx->get($path)->{content};
    is cache($ngx->get($path)), 'HIT', "$path cached";
}
my $n = st()->{listener}{invalidations};
$pg->psql(q{SELECT disclosure.revise('demo-district', 2024, '更正');
            SELECT disclosure.publish('demo-district', 2024);}, role => 't_publisher');
Disclosure::Cache::wait_invalidation($ngx, $n) or die 'no invalidation';

# the parts below run in order: the database is down for the first two,
# the last starts it again
# -- PostgreSQL down -------------------------------------------------------------------
my $errors = st()->{database}{errors};
$pg->stop;
my $t_down = time;

part 'PostgreSQL down: fresh entries HIT, invalidated ones STALE, nothing cached 503' => sub {
    my $r = $ngx->get('/c/xigong-edz/2024');
    is "$r->{status} " . cache($r), '200 HIT', 'a fresh entry: HIT, the database is not asked';

    for my $path ('/c/demo-district/2024', '/c/demo-district/2024.json', '/c/') {
        $r = $ngx->get($path);
        is "$r->{status} " . cache($r), '200 STALE', "$path, invalidated: served STALE";
        ok $r->{content} eq $old{$path}, 'the copy it had';
    }
    $r = $ngx->head('/c/demo-district/2024');
    is "$r->{status} " . cache($r), '200 STALE', 'HEAD: STALE';
    is $r->{headers}{'content-length'}, length $old{'/c/demo-district/2024'}, 'with its length';
    ok $r->{headers}{etag}, 'and its ETag';

    $r = $ngx->get('/c/demo-district/2023');
    is $r->{status}, 503, 'nothing cached: 503 as before';
    is cache($r), 'MISS', 'marked MISS';
    ok $r->{headers}{'retry-after'}, 'with Retry-After';

    my $s = st();
    cmp_ok $s->{database}{errors}, '>', $errors, 'the failed queries are counted';
    is $s->{zones}{reports}{stale}, 4, 'four stale responses counted';
    ok Disclosure::Test::poll(sub { st()->{listener}{state} =~ /^(disconnected|connecting)$/ }),
        'the listener knows the database is gone';
};

# -- past the validity: stale for disclosure_cache_stale_time, then 503 ---------------
part 'past the validity: stale for disclosure_cache_stale_time, then 503' => sub {
    my $r;
    ok Disclosure::Test::poll(sub { $r = $ngx->get('/e/xigong-edz/2024'); cache($r) eq 'STALE' }),
        'disclosure_cache_valid 1s: expired, served STALE';
    ok $r->{content} eq $old{'/e/xigong-edz/2024'}, 'the copy it had';
    ok Disclosure::Test::poll(sub { $ngx->get('/e/xigong-edz/2024')->{status} == 503 }),
        'after disclosure_cache_stale_time 3s: 503';
    diag sprintf 'STALE until %.1f s after the database went down (valid 1s, stale_time 3s)', time - $t_down;

    ok Disclosure::Test::poll(sub { $ngx->get('/o/xigong-edz/2024')->{status} == 503 }),
        'use_stale off: 503 once expired';
};

# -- up again ----------------------------------------------------------------------------
part 'PostgreSQL up again: the listener reconnects, pages are refreshed' => sub {
    $pg->start;
    Disclosure::Cache::wait_listening($ngx, st()->{listener}{polls});
    my $r = $ngx->get('/c/demo-district/2024');
    is "$r->{status} " . cache($r), '200 MISS', 'PostgreSQL back: the stale page is refreshed';
    like $r->{headers}{etag}, qr/-r2-/, 'to the new revision';
    is cache($ngx->get('/c/demo-district/2024')), 'HIT', 'and cached';
    is cache($ngx->get('/e/xigong-edz/2024')), 'MISS', 'the expired one is filled again';
    cmp_ok st()->{listener}{connects}, '>=', 2, 'the listener reconnected';
};

unlike $ngx->error_log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'no crash, no alert';
done_testing;
