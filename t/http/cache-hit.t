# The cache zone, hits and misses: every variant is MISS, then HIT with the
# same bytes and the same headers; 304 and HEAD work on hits; a hit makes
# no query; locations that render differently do not share entries;
# disclosure_cache off, disclosure_cache_bypass and $disclosure_cache_status;
# the directives are checked at configuration time.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use File::Temp ();
use Encode ();
use Disclosure::Test;
use Disclosure::Cache;
use Disclosure::Part;

my $pg = Disclosure::Test->pg(sample => 1);

# a portal template for a second location: other bytes, other entries
my $dir = File::Temp::tempdir('disclosure-portal-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
Disclosure::Test::write_file("$dir/template.html", Encode::encode_utf8(
    "<!DOCTYPE html><html><body><header>门户</header><!--# disclosure --><footer>页脚</footer></body></html>\n"));

my $ngx = Disclosure::Test->nginx(pg => $pg, http => <<CONF, server => <<CONF2);
disclosure_cache_zone reports:4m;
log_format cache '\$uri \$disclosure_cache_status';
CONF
location /c/ {
    disclosure;
    disclosure_cache reports;
    disclosure_cache_bypass \$http_x_refresh;
    access_log $dir/cache.log cache;

    location /c/uncached/ {
        disclosure;
        disclosure_cache off;
    }
}
location /portal/ {
    disclosure;
    disclosure_cache reports;
    disclosure_template $dir/template.html;
}
${\ Disclosure::Cache::STATUS }
CONF2

sub status { Disclosure::Cache::status($ngx) }
sub zone { Disclosure::Cache::zone($ngx) }
sub cache_of { Disclosure::Cache::header(@_) }

# entries filled before the listener first sees the data version do not count
Disclosure::Cache::wait_listening($ngx);

# -- every variant: MISS, then HIT with the same bytes and headers -------------
my @paths = (
    '/c/',                               # the index page
    '/c/index.json',
    '/c/demo-district/',                 # an agency page
    '/c/demo-district/index.json',
    '/c/xigong-edz/2024',                # a report page
    '/c/xigong-edz/2024.json',
    '/c/demo-district-housing/2023.csv',
    '/c/demo-district/2024/applications', # a fragment for SSI
);
part 'every variant: MISS, then HIT with the same bytes and headers' => sub {
    my @headers = qw(content-type content-length etag last-modified content-disposition x-content-type-options);

    for my $path (@paths) {
        my $miss = $ngx->get($path);
        is $miss->{status}, 200, "$path: 200";
        is cache_of($miss), 'MISS', "$path: first MISS";

        my $hit = $ngx->get($path);
        is cache_of($hit), 'HIT', "$path: then HIT";
        ok $hit->{content} eq $miss->{content}, "$path: the same bytes (" . length($hit->{content}) . ")";
        is_deeply { map { $_ => $hit->{headers}{$_} } @headers },
                  { map { $_ => $miss->{headers}{$_} } @headers }, "$path: the same headers";
    }

    is get_header('/c/xigong-edz/2024.html'), 'HIT', 'report.html is the same entry as the report';
};
sub get_header { cache_of($ngx->get(@_)) }

# (on the entries the first part filled)
# -- a hit makes no query -----------------------------------------------------------
part 'a hit makes no query' => sub {
    my $queries = status()->{database}{queries};
    my $hits = zone()->{hits};
    $ngx->get($_) for @paths;
    is status()->{database}{queries}, $queries, 'eight hits: no database query';
    is zone()->{hits}, $hits + 8, 'and eight hits counted';
};

# -- conditional requests and HEAD on hits ------------------------------------------
part 'conditional requests and HEAD on hits' => sub {
    my $r = $ngx->get('/c/xigong-edz/2024');
    my ($etag, $lm) = @{ $r->{headers} }{qw(etag last-modified)};
    ok $etag && $lm, 'a hit has an ETag and a Last-Modified';

    $r = $ngx->get('/c/xigong-edz/2024', { 'If-None-Match' => $etag });
    is $r->{status}, 304, 'If-None-Match on a hit: 304';
    is cache_of($r), 'HIT', 'served from the cache';
    is $ngx->get('/c/xigong-edz/2024', { 'If-Modified-Since' => $lm })->{status}, 304, 'If-Modified-Since on a hit: 304';
    is $ngx->get('/c/xigong-edz/2024', { 'If-None-Match' => '"other"' })->{status}, 200, 'another ETag: 200';

    $r = $ngx->head('/c/xigong-edz/2024');
    is $r->{status}, 200, 'HEAD on a hit: 200';
    is cache_of($r), 'HIT', 'from the cache';
    is $r->{content} // '', '', 'no body';
    is $r->{headers}{'content-length'}, length $ngx->get('/c/xigong-edz/2024')->{content}, 'the body\'s length';

    $r = $ngx->head('/c/demo-district/2023.json');
    is $r->{status}, 200, 'HEAD on a miss: 200';
    is cache_of($r), 'MISS', 'marked MISS';
    $r = $ngx->get('/c/demo-district/2023.json');
    is cache_of($r), 'HIT', 'and it filled the entry: GET is a HIT';
    is length $r->{content}, $ngx->head('/c/demo-district/2023.json')->{headers}{'content-length'},
        'with the length HEAD gave';
};

# -- a 404 of the database is cached (t/http/cache-404.t); a 400 is not ---------------
part 'a 404 of the database is cached, a 400 is not; disclosure_cache off' => sub {
    my $r = $ngx->get('/c/no-such-agency/2024');
    is $r->{status}, 404, 'an unknown report: 404';
    is cache_of($r), 'MISS', 'marked MISS';
    is cache_of($ngx->get('/c/no-such-agency/2024')), 'HIT', 'and cached: then a 404 HIT';
    is $ngx->get('/c/xigong-edz/24')->{status}, 400, 'a malformed path: 400';
    is $ngx->get('/c/xigong-edz/24')->{headers}{'x-disclosure-cache'}, undef, 'without a cache header';

    $r = $ngx->get('/c/uncached/xigong-edz/2024');
    is $r->{status}, 200, 'disclosure_cache off: served';
    is $r->{headers}{'x-disclosure-cache'}, undef, 'without a cache header';
};

# -- a location with another template: its own entries --------------------------------
part 'a location with another template has its own entries' => sub {
    my $r = $ngx->get('/portal/xigong-edz/2024');
    is cache_of($r), 'MISS', 'the same report in a location with a template: MISS';
    my $text = Encode::decode_utf8($r->{content});
    like $text, qr{<header>门户</header>}, 'wearing the portal template';
    like $text, qr{href="/portal/}, 'with its own links';
    is cache_of($ngx->get('/portal/xigong-edz/2024')), 'HIT', 'then HIT';
    unlike $ngx->get('/c/xigong-edz/2024')->{content}, qr{<header>}, 'the first location still has its own page';
};

# -- disclosure_cache_bypass: a fresh response, which refreshes the entry ---------------
part 'disclosure_cache_bypass: a fresh response, which refreshes the entry' => sub {
    my $misses = zone()->{misses};
    my $queries = status()->{database}{queries};
    my $r = $ngx->get('/c/xigong-edz/2024', { 'X-Refresh' => '1' });
    is $r->{status}, 200, 'bypass: 200';
    is cache_of($r), 'BYPASS', 'marked BYPASS';
    is status()->{database}{queries}, $queries + 1, 'with a query';
    is zone()->{bypass}, 1, 'counted as bypass';
    is zone()->{misses}, $misses, 'not as a miss';
    is cache_of($ngx->get('/c/xigong-edz/2024')), 'HIT', 'the entry is still there';
    is cache_of($ngx->get('/c/xigong-edz/2024', { 'X-Refresh' => '0' })), 'HIT', '"0" does not bypass';
};

# (the log lines of the first part's /c/ and of the bypass part)
# -- $disclosure_cache_status ------------------------------------------------------------
part '$disclosure_cache_status in the access log' => sub {
    ok Disclosure::Test::poll(sub {
        Disclosure::Test::read_file("$dir/cache.log") =~ m{^/c/xigong-edz/2024 BYPASS$}m }),
        '$disclosure_cache_status in the access log';
    like Disclosure::Test::read_file("$dir/cache.log"), qr{^/c/ MISS\n/c/ HIT$}m, 'MISS, then HIT';
};

# -- configuration ----------------------------------------------------------------------
part 'nginx -t accepts conf/cache.conf' => sub {
    my $conf = Disclosure::Test::read_file("$Disclosure::Test::REPO/conf/cache.conf");
    my $module = Disclosure::Test->module_path;
    my $tmp = $pg->dir;
    $conf =~ s{load_module modules/\S+;}{load_module $module;} or die;
    $conf =~ s{/var/log/nginx/|/run/}{$tmp/}g;
    my ($ok, $out) = Disclosure::Test->conf_test($conf);
    ok $ok, 'nginx -t accepts conf/cache.conf' or diag $out;
};

sub conf_error {
    my (%opt) = @_;
    my ($ok, $out) = Disclosure::Test->conf_test(%opt);
    ok !$ok, 'nginx -t fails';
    return $out;
}

part 'the directives are checked at configuration time' => sub {
    like conf_error(pg => $pg, server => 'location /c/ { disclosure; disclosure_cache nowhere; }'),
        qr/unknown "disclosure_cache_zone" "nowhere"/, 'an unknown zone is named';
    like conf_error(pg => $pg, http => 'disclosure_cache_zone tiny:16k;'),
        qr/zone "tiny:16k" is too small, the minimum is 32k/, 'a zone under eight pages';
    like conf_error(pg => $pg, http => 'disclosure_cache_zone bad;'),
        qr/invalid zone "bad", expected name:size/, 'a zone without a size';
    like conf_error(pg => $pg, http => 'disclosure_cache_zone a:1m; disclosure_cache_zone a:1m;'),
        qr/duplicate zone "a"/, 'a zone declared twice';
    like conf_error(http => 'disclosure_cache_zone a:1m;'),
        qr/"disclosure_cache_zone" is set, but "disclosure_database" is not/, 'a zone without a database';
    like conf_error(pg => $pg, http => 'disclosure_cache_zone a:1m; disclosure_cache_valid 0;'),
        qr/"disclosure_cache_valid" must be greater than zero/, 'a validity of zero';
    like conf_error(pg => $pg, http => 'disclosure_cache_poll 0;'),
        qr/must be greater than zero/, 'a poll interval of zero';
    like conf_error(pg => $pg, http => 'disclosure_cache_zone a:1m; disclosure_cache_use_stale sometimes;'),
        qr/invalid value "sometimes"/, 'an unknown use_stale condition';
    like conf_error(pg => $pg, server => 'location /s { disclosure_status xml; }'),
        qr/invalid value "xml", expected "json" or "prometheus"/, 'an unknown status format';
};

unlike $ngx->error_log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'no crash, no alert in the error log';
done_testing;
