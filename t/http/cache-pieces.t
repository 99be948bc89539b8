# A body is kept in pieces (whole pages, chunks of the slab's size classes,
# its last bytes in the node): whatever is left of its last page, a body
# comes back byte for byte on hits and has its length on HEAD; each entry
# takes less than its body, its gzip variant and 1 KB; an entry replaced over and over frees
# its pieces, the zone's pages stay as they were; when a piece finds no
# room even in an emptied zone, the pieces already allocated are freed and
# nothing is stored.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use HTTP::Tiny;
use Disclosure::Test;
use Disclosure::Cache;
use Disclosure::Part;

my $pg = Disclosure::Test->pg(sample => 1);

# a report whose "problems" section is $k letters: its page is $k bytes
# longer than with none (slugs and names of one length)
sub report_sql {
    my ($n, $k) = @_;
    my $slug = sprintf 'sz-%03d', $n;
    return sprintf q{
        INSERT INTO disclosure.agency (slug, name, kind) VALUES ('%s', '尺寸局%03d', 'department');
        SELECT disclosure.new_report('%s', 2024);
        UPDATE disclosure.sections_grid SET body = repeat('x', %d)
         WHERE agency = '%s' AND year = 2024 AND section = 'problems';
        SELECT disclosure.publish('%s', 2024);
    }, $slug, $n, $slug, $k, $slug, $slug;
}

$pg->psql(report_sql(0, 1000));

# the same location without a cache, on a port of its own, for comparison
my $plain = Disclosure::Test::free_port();
my $ngx = Disclosure::Test->nginx(pg => $pg, http => <<CONF, server => <<'CONF2' . Disclosure::Cache::STATUS);
disclosure_cache_zone reports:8m;
disclosure_cache_zone mini:32k;
server {
    listen 127.0.0.1:$plain;
    location /c/ { disclosure; }
    location /m/ { disclosure; }
}
CONF
location /c/ { disclosure; disclosure_cache reports; disclosure_cache_bypass $http_x_refresh; }
location /m/ { disclosure; disclosure_cache mini; }
CONF2

my $http = HTTP::Tiny->new(keep_alive => 0);
sub uncached { $http->get("http://127.0.0.1:$plain$_[0]")->{content} }
sub cache { Disclosure::Cache::header($_[0]) }
sub zone { Disclosure::Cache::zone($ngx, $_[0]) }

Disclosure::Cache::wait_listening($ngx);

# -- a body for every kind of last page ------------------------------------------------
my $base = length(uncached('/c/sz-000/2024')) - 1000;
cmp_ok $base, '>', 4096, "a page of $base bytes besides the section";
my $json = length(uncached('/m/sz-000/2024.json')) - 1000;

# what is left of the last page: none, a byte, around each chunk size and
# the page's end, and a sweep in between
my @rests = (0, 1, 127, 128, 129, 255, 256, 257, 1023, 1024, 1025, 2047, 2048, 2049,
             3967, 3968, 3969, 4095, map { 64 + $_ * 173 } 0 .. 22);
my @k = map { my $k = ($_ - $base) % 4096; $k || 4096 } @rests;
# and a JSON document of two pages and 3,722 bytes (see the last part)
$pg->psql(join '', (map { report_sql($_, $k[$_ - 1]) } 1 .. @k),
                   report_sql(100, 2 * 4096 + 3722 - $json));

# every publication applied, so that none marks a fresh entry stale
my $version = $pg->psql('SELECT version FROM disclosure.data_version');
ok Disclosure::Test::poll(sub { Disclosure::Cache::status($ngx)->{listener}{data_version} == $version }),
    'the listener has seen the publications';

part 'a body for every kind of last page comes back byte for byte, in an entry a little larger than it' => sub {
    my (@sizes, @bad, @allocated);
    for my $n (1 .. @k) {
        my $path = sprintf '/c/sz-%03d/2024', $n;
        my $want = uncached($path);
        push @sizes, length($want) % 4096;

        my $before = zone()->{entry_allocated};
        my $r1 = $ngx->get($path);
        my $allocated = zone()->{entry_allocated} - $before;
        # and its gzip variant beside it
        my $gz = length $ngx->get($path, { 'Accept-Encoding' => 'gzip' })->{content};
        $allocated -= $gz;
        push @allocated, $allocated - length $want;
        my $r2 = $ngx->get($path);
        my $h = $ngx->head($path);

        push @bad, "$path: " . cache($r1) . ' ' . cache($r2) . ' ' . cache($h)
            unless cache($r1) eq 'MISS' && cache($r2) eq 'HIT' && cache($h) eq 'HIT';
        push @bad, "$path: other bytes on the miss" unless $r1->{content} eq $want;
        push @bad, "$path: other bytes on the hit" unless $r2->{content} eq $want;
        push @bad, "$path: HEAD" unless $h->{headers}{'content-length'} == length $want
                                        && ($h->{content} // '') eq '';
        push @bad, "$path: $allocated bytes for " . length($want)
            unless $allocated > length $want && $allocated <= length($want) + 1024;
    }
    is_deeply \@sizes, \@rests, 'bodies with every kind of last page';
    is_deeply \@bad, [], 'each a MISS, then a HIT with the same bytes, HEAD with its length, '
                         . 'and allocated within its body, gzip variant and 1 KB';
    diag sprintf '%d bodies of %d to %d bytes: %d to %d bytes an entry besides the body and its gzip variant',
        scalar @k, $base + 1, $base + 4096, (sort { $a <=> $b } @allocated)[0, -1];

    my $z = zone();
    is $z->{entries}, scalar @k, 'one entry each';
    cmp_ok $z->{entry_allocated}, '>=', $z->{entry_bytes}, 'allocated: rounded up, never down';
    cmp_ok $z->{bytes_used}, '>=', $z->{entry_allocated}, 'the zone\'s pages hold what the entries were given';
};

# -- replaced over and over: the pieces are freed ---------------------------------------
part 'an entry replaced over and over frees its pieces' => sub {
    my $path = '/c/sz-001/2024';
    $ngx->get($path, { 'X-Refresh' => 1 });
    my $z1 = zone();
    my $same = 0;
    for (1 .. 20) {
        my $r = $ngx->get($path, { 'X-Refresh' => 1 });
        $same++ if cache($r) eq 'BYPASS' && $r->{content} eq uncached($path);
    }
    is $same, 20, 'twenty fresh responses';
    my $z2 = zone();
    is $z2->{stored} - $z1->{stored}, 20, 'each stored, replacing the entry';
    is_deeply [ @$z2{qw(entries entry_bytes entry_allocated bytes_used)} ],
              [ @$z1{qw(entries entry_bytes entry_allocated bytes_used)} ],
        'entries, their bytes and the zone\'s used pages as before';
    is cache($ngx->get($path)), 'HIT', 'and the entry is there';
};

# -- a zone too small for the pieces: nothing is stored in part ------------------------
# 32 KB hold 7 pages; the zone's own structures take two (chunks of 256
# and 64 bytes).  Two pages and 3,722 bytes are less than half the zone,
# but their chunks of 2048, 1024, 512 and 128 bytes need a page of each
# size: one page more than there are.  Every entry is evicted, then what
# was allocated is freed, and the response is served, not stored.
part 'a zone too small for the pieces: nothing is stored in part' => sub {
    my $small = '/m/demo-district/2024.json';
    $ngx->get($small);
    is cache($ngx->get($small)), 'HIT', 'the small zone holds a small response';
    my $m0 = zone('mini');
    is $m0->{pages}, 7, 'in 7 pages';
    my $big = '/m/sz-100/2024.json';
    my $want = uncached($big);
    is length $want, 2 * 4096 + 3722, 'a response of two pages and 3,722 bytes';
    my $r = $ngx->get($big);
    is $r->{status}, 200, 'served';
    ok $r->{content} eq $want, 'whole';
    is cache($r), 'MISS', 'from the database';
    my $m1 = zone('mini');
    is $m1->{too_large} - $m0->{too_large}, 1, 'not stored: counted as too large';
    is $m1->{evictions} - $m0->{evictions}, 1, 'after evicting the small one';
    is_deeply [ @$m1{qw(entries fills entry_bytes entry_allocated)} ], [ 0, 0, 0, 0 ], 'the zone holds nothing';
    is $m1->{bytes_used}, 2 * 4096, 'only the pages of its own structures are in use';
    is cache($ngx->get($big)), 'MISS', 'the next request: a miss again';
    $ngx->get($small);
    is cache($ngx->get($small)), 'HIT', 'and the small response is cached again';
};

unlike $ngx->error_log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'no crash, no alert';
done_testing;
