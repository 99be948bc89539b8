# A zone far smaller than the site: filled past capacity it keeps serving,
# byte for byte what an uncached location serves, evicting the least
# recently used entries (counted); what is used often stays; a response
# larger than half the zone is served but not stored; the smallest zone
# (32 KB) still serves everything and caches small responses.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use HTTP::Tiny;
use Disclosure::Test;
use Disclosure::Cache;
use Disclosure::Part;

my $pg = Disclosure::Test->pg(sample => 1);

# the same locations without a cache, on a port of their own, for comparison
my $plain = Disclosure::Test::free_port();
my $ngx = Disclosure::Test->nginx(pg => $pg, http => <<CONF, server => <<'CONF2' . Disclosure::Cache::STATUS);
disclosure_cache_zone small:256k;
disclosure_cache_zone mini:32k;
server {
    listen 127.0.0.1:$plain;
    location /c/ { disclosure; }
    location /m/ { disclosure; }
}
CONF
location /c/ { disclosure; disclosure_cache small; }
location /m/ { disclosure; disclosure_cache mini; }
CONF2

my $http = HTTP::Tiny->new(keep_alive => 0);
sub uncached { $http->get("http://127.0.0.1:$plain$_[0]")->{content} }

sub cache { Disclosure::Cache::header($_[0]) }
sub zone { Disclosure::Cache::zone($ngx, $_[0] // 'small') }

Disclosure::Cache::wait_listening($ngx);

my @reports = split /\n/, $pg->psql(q{SELECT DISTINCT agency || '/' || year FROM disclosure.revision_history
                                       WHERE status = 'published' ORDER BY 1});
my @paths = map { my $p = $_; map { "$p$_" } ('', '.json', '.csv', '/proactive', '/applications', '/appeals') }
            @reports;
my %want = map { $_ => uncached("/c/$_") } @paths;
my $total = 0;
$total += length $_ for values %want;
note scalar(@paths) . " responses, $total bytes, for a zone of 256 KB";

# -- filled past capacity, twice over -------------------------------------------------
my $hot = '/c/xigong-edz/2024';
$ngx->get($hot);
part 'filled past capacity, twice over: every response served byte for byte, the least recently used evicted' => sub {
    my $cold = "/c/$paths[0]";
    my ($ok, $same) = (0, 0);
    for my $round (1, 2) {
        for my $path (@paths) {
            my $r = $ngx->get("/c/$path");
            $ok++ if $r->{status} == 200;
            $same++ if $r->{content} eq $want{$path};
            $ngx->get($hot);                 # used between every two others
        }
    }
    is $ok, 2 * @paths, 'every response 200';
    is $same, 2 * @paths, 'every response byte for byte what the uncached location serves';

    my $z = zone();
    cmp_ok $z->{evictions}, '>', 0, "entries were evicted ($z->{evictions})";
    cmp_ok $z->{entries}, '<', scalar @paths, "the zone holds a part ($z->{entries} entries)";
    cmp_ok $z->{entry_allocated}, '<=', $z->{size}, 'inside the zone';
    cmp_ok $z->{bytes_used}, '<=', $z->{size}, 'its pages too';
    is $z->{fills}, 0, 'no fill is left locked';
    cmp_ok $z->{bytes_used}, '>=', $z->{entry_allocated}, 'and they hold what the entries were given';
    cmp_ok $z->{entry_allocated}, '>=', $z->{entry_bytes}, 'rounded up, never down';
    cmp_ok $z->{entry_allocated} - $z->{entry_bytes}, '<', 512 * $z->{entries},
        'by less than 512 bytes an entry (bodies in pieces, not whole pages)';
    diag sprintf '%d entries: %.0f bytes each on average, %.0f allocated (%.1f%% lost to rounding)',
        $z->{entries}, $z->{entry_bytes} / $z->{entries}, $z->{entry_allocated} / $z->{entries},
        100 * (1 - $z->{entry_bytes} / $z->{entry_allocated});

    is cache($ngx->get($hot)), 'HIT', 'the entry used most recently stayed';
    is cache($ngx->get($cold)), 'MISS', 'the least recently used one went';
};

# -- larger than half the zone: served, not stored ------------------------------------
part 'larger than half the zone: served, not stored' => sub {
    $pg->psql(q{
        INSERT INTO disclosure.agency (slug, name, kind) VALUES ('long', '长篇局', 'department');
        SELECT disclosure.new_report('long', 2024);
        UPDATE disclosure.sections_grid SET body = repeat(E'这是一段很长的说明文字，用来把报告撑到一百五十千字节以上。\n', 2000)
         WHERE agency = 'long' AND year = 2024 AND section = 'problems';
        SELECT disclosure.publish('long', 2024);
    });
    # its notifications heard before going on: one arriving during the next
    # part would mark that part's fills stale (a new generation)
    my $version = $pg->psql('SELECT version FROM disclosure.data_version');
    ok Disclosure::Test::poll(sub { Disclosure::Cache::status($ngx)->{listener}{data_version} == $version }),
        'the listener has seen the publication';
    my $long = uncached('/c/long/2024');
    cmp_ok length $long, '>', 128 * 1024, 'a page over half the zone';
    for (1, 2) {
        my $r = $ngx->get('/c/long/2024');
        is $r->{status}, 200, "served ($_)";
        ok $r->{content} eq $long, 'whole';
        is cache($r), 'MISS', 'from the database';
    }
    is zone()->{too_large}, 2, 'counted as too large';
    like $ngx->error_log, qr/disclosure: a response of \d+ bytes is too large for the cache zone "small"/,
        'and logged';
    is cache($ngx->get($hot)), 'HIT', 'without evicting the others for nothing';
};

# -- the smallest zone ----------------------------------------------------------------
part 'the smallest zone still serves everything and caches small responses' => sub {
    is zone('mini')->{size}, 32768, 'a zone of 32 KB';
    my %second;
    for my $path ('/m/xigong-edz/2024', '/m/demo-district/2024.json', '/m/demo-district/2024.csv') {
        my $r1 = $ngx->get($path);
        my $r2 = $ngx->get($path);
        is $r1->{status} . $r2->{status}, '200200', "$path: served twice";
        ok $r2->{content} eq uncached($path), "$path: whole";
        note "$path: " . cache($r1) . ', ' . cache($r2);
        $second{$path} = cache($r2);
    }
    is_deeply [ @second{'/m/demo-district/2024.json', '/m/demo-district/2024.csv'} ], [ 'HIT', 'HIT' ],
        'small responses are cached even there';
};

unlike $ngx->error_log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'no crash, no alert, no "no memory"';
done_testing;
