# nginx -s reload keeps the cache when the zone's name and size are
# unchanged: entries and counters survive, the new workers take over the
# listener and invalidation goes on.  A new size starts an empty zone; a
# location that renders differently after the reload (another template)
# does not get the old pages.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Encode qw(encode_utf8);
use File::Temp ();
use Disclosure::Test;
use Disclosure::Cache;
use Disclosure::Part;

my $pg = Disclosure::Test->pg(sample => 1);

my $dir = File::Temp::tempdir('disclosure-portal-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
Disclosure::Test::write_file("$dir/a.html", encode_utf8("<html><body>甲<!--# disclosure --></body></html>\n"));
Disclosure::Test::write_file("$dir/b.html", encode_utf8("<html><body>乙<!--# disclosure --></body></html>\n"));

sub server {
    my ($template, $extra) = @_;
    return "location /c/ { disclosure; disclosure_cache reports; }\n"
         . "location /p/ { disclosure; disclosure_cache reports; disclosure_template $dir/$template; }\n"
         . ($extra // '') . Disclosure::Cache::STATUS;
}

my $ngx = Disclosure::Test->nginx(pg => $pg, worker_processes => 2,
    http => 'disclosure_cache_zone reports:4m;', server => server('a.html'));

sub cache { Disclosure::Cache::header($_[0]) }
sub zone { Disclosure::Cache::zone($ngx) }

Disclosure::Cache::wait_listening($ngx);

my @paths = ('/c/', '/c/xigong-edz/2024', '/c/demo-district/2024.json', '/p/xigong-edz/2024');
$ngx->get($_) for @paths;
is_deeply [ map { cache($ngx->get($_)) } @paths ], [ ('HIT') x @paths ], 'four pages cached';
my $before = zone();
my $listener = Disclosure::Cache::status($ngx)->{listener};

# -- a reload with the zone unchanged --------------------------------------------------
part 'a reload with the zone unchanged keeps entries, counters and invalidation' => sub {
    ok $ngx->reload(server => server('a.html', "location = /other { return 204; }\n")),
        'reloaded with a new location';
    my $after = zone();
    is $after->{entries}, $before->{entries}, 'the entries are still there';
    is $after->{entry_bytes}, $before->{entry_bytes}, 'all of them';
    cmp_ok $after->{hits}, '>=', $before->{hits}, 'and the counters';
    is_deeply [ map { cache($ngx->get($_)) } @paths ], [ ('HIT') x @paths ],
        'every page is a HIT for the new workers';
    is $ngx->get('/other')->{status}, 204, 'the new configuration is in force';

    my $l = Disclosure::Cache::wait_listening($ngx);
    isnt $l->{pid}, $listener->{pid}, 'a new worker listens';
    my %workers = map { $_ => 1 } Disclosure::Test::children($ngx->{pid});
    ok $workers{ $l->{pid} }, 'one of the new workers';
    is $pg->psql(q{SELECT count(*) FROM pg_stat_activity WHERE application_name = 'nginx-disclosure listener'}), 1,
        'one listener';
    is $l->{data_version}, $listener->{data_version}, 'the data version carried over';
    is cache($ngx->get('/c/xigong-edz/2024')), 'HIT', 'no publication in between: nothing invalidated';

    my $n = $l->{invalidations};
    $pg->psql(q{SELECT disclosure.revise('xigong-edz', 2024, '更正');
                SELECT disclosure.publish('xigong-edz', 2024);}, role => 't_publisher');
    ok Disclosure::Cache::wait_invalidation($ngx, $n), 'a publication after the reload is heard';
    my $r = $ngx->get('/c/xigong-edz/2024');
    is cache($r), 'MISS', 'and invalidates';
    like $r->{headers}{etag}, qr/-r2-/, 'the new revision';
};

# -- another template for /p/: not the old pages -----------------------------------------
part 'another template for /p/ after a reload: not the old pages, nor their validators' => sub {
    my $old = $ngx->get('/p/demo-district/2024');
    my ($old_etag, $old_lm) = @{ $old->{headers} }{qw(etag last-modified)};
    is $ngx->get('/p/demo-district/2024', { 'If-None-Match' => $old_etag })->{status}, 304,
        'the page revalidates while the template is unchanged';
    ok $ngx->reload(server => server('b.html')), 'reloaded with another template for /p/';
    # the validators name the template too: a browser or CDN revalidating gets
    # the new header and footer (issue 11)
    my $r = $ngx->get('/p/demo-district/2024', { 'If-None-Match' => $old_etag });
    is $r->{status}, 200, 'the old ETag gets 200 after the template changed, not 304';
    isnt $r->{headers}{etag}, $old_etag, 'and a new ETag';
    is $ngx->get('/p/demo-district/2024', { 'If-Modified-Since' => $old_lm })->{status}, 200,
        'the old Last-Modified gets 200 too';
    is $ngx->get('/p/demo-district/2024', { 'If-None-Match' => $r->{headers}{etag} })->{status}, 304,
        'the new ETag revalidates';
    is $ngx->get('/c/demo-district/2024', { 'If-None-Match' => $ngx->get('/c/demo-district/2024')->{headers}{etag} })->{status},
        304, '/c/ revalidates as before';
    $r = $ngx->get('/p/demo-district/2024.json');
    is cache($r), 'MISS', 'a page of /p/ is filled again';
    $r = $ngx->get('/p/demo-district/2024');
    like Encode::decode_utf8($r->{content}), qr/乙/, 'and wears the new template';
    is cache($ngx->get('/c/demo-district/2024.json')), 'HIT', '/c/ keeps its pages';
};

# -- another size: an empty zone ---------------------------------------------------------
part 'another size: an empty zone' => sub {
    ok $ngx->reload(http => 'disclosure_cache_zone reports:8m;'), 'reloaded with the zone at 8m';
    is zone()->{size}, 8 * 1024 * 1024, 'the new size';
    is zone()->{entries}, 0, 'a new, empty zone';
    is cache($ngx->get('/c/demo-district/2024.json')), 'MISS', 'pages are filled again';
    is cache($ngx->get('/c/demo-district/2024.json')), 'HIT', 'and cached';
};

unlike $ngx->error_log, qr/\[(alert|emerg|crit)\]|exited on signal/, 'no crash, no alert';
done_testing;
