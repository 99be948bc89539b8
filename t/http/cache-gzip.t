# Compressed entries (issue 12): a fill stores the page and its gzip
# variant; a client that takes gzip (Accept-Encoding read with its
# q-values, "*" and x-gzip) gets the variant with Content-Encoding, one
# that refuses it (q=0) or sends no Accept-Encoding the plain page, the
# same bytes as before; the variant inflates to exactly the plain page;
# Vary: Accept-Encoding once, with gzip_vary on or off; an ETag per
# encoding, so that 304 and HEAD are per encoding; nginx's gzip filter
# does not compress the variant again; gzip_proxied and gzip_disable are
# respected as gzip_static respects them; JSON and CSV alike; an SSI
# fragment stays plain.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use HTTP::Tiny;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use Disclosure::Test;
use Disclosure::Cache;
use Disclosure::Part;

my $pg = Disclosure::Test->pg(sample => 1);

# the same locations without a cache, on a port of their own: the bytes
# a page had before this change
my $plain = Disclosure::Test::free_port();

my $ngx = Disclosure::Test->nginx(pg => $pg, http => <<CONF, server => <<'CONF2' . Disclosure::Cache::STATUS);
disclosure_cache_zone reports:8m;
server {
    listen 127.0.0.1:$plain;
    location /c/ { disclosure; }
    location /v/ { disclosure; }
}
CONF
# no gzip settings at all
location /c/ { disclosure; disclosure_cache reports; }

# nginx's gzip filter on, as the demo has it, and gzip_vary
location /v/ {
    disclosure;
    disclosure_cache reports;
    gzip on;
    gzip_min_length 1;
    gzip_types application/json text/csv;
    gzip_vary on;
}

# gzip_proxied any, gzip_disable
location /p/ {
    disclosure;
    disclosure_cache reports;
    gzip_proxied any;
    gzip_disable "^Old";
}

# a portal page with a fragment inlined by SSI, compressed by nginx
location = /article.html {
    ssi on;
    gzip on;
    gzip_min_length 1;
    default_type text/html;
    return 200 '<main><!--# include virtual="/c/xigong-edz/2024/applications" --></main>';
}
CONF2

my $http = HTTP::Tiny->new(keep_alive => 0);
sub uncached { $http->get("http://127.0.0.1:$plain$_[0]")->{content} }
sub cache { Disclosure::Cache::header($_[0]) }
sub enc { $_[0]{headers}{'content-encoding'} // '' }
sub inflate {
    my ($bytes) = @_;
    my $out;
    gunzip(\$bytes => \$out) or return "gunzip: $GunzipError";
    return $out;
}
sub gz { { 'Accept-Encoding' => 'gzip', %{ $_[0] // {} } } }

Disclosure::Cache::wait_listening($ngx);

my $page = '/c/xigong-edz/2024';
my $want = uncached($page);
cmp_ok length $want, '>', 40_000, 'the plain page';

# the gzip variant and the plain page's ETag, as the first two parts get them:
# the HEAD and 304 parts compare with them
my ($hit, $etag);

# -- a MISS and a HIT for a client that takes gzip ----------------------------------------
part 'a MISS and a HIT for a client that takes gzip: the variant, which inflates to the plain page' => sub {
    my $miss = $ngx->get($page, gz());
    is cache($miss), 'MISS', 'the first request fills the entry';
    is enc($miss), 'gzip', 'and is sent the gzip variant';
    is inflate($miss->{content}), $want, 'which inflates to exactly the plain page';
    cmp_ok length $miss->{content}, '<', length($want) / 4, 'a quarter of its size or less';
    is $miss->{headers}{'content-length'}, length $miss->{content}, 'Content-Length: the variant\'s';
    is $miss->{headers}{vary}, 'Accept-Encoding', 'Vary: Accept-Encoding';
    like $miss->{headers}{etag}, qr/-gz"\z/, 'an ETag of its own';

    $hit = $ngx->get($page, gz());
    is cache($hit), 'HIT', 'then a HIT';
    is enc($hit), 'gzip', 'gzip';
    is $hit->{content}, $miss->{content}, 'the same bytes as the MISS sent';
    is $hit->{headers}{etag}, $miss->{headers}{etag}, 'and the same ETag';
    is $hit->{headers}{vary}, 'Accept-Encoding', 'Vary';
};

# -- no Accept-Encoding: the plain page, as before -----------------------------------------
part 'no Accept-Encoding: the plain page, byte for byte, with an ETag of its own' => sub {
    my $p = $ngx->get($page);
    is cache($p), 'HIT', 'no Accept-Encoding: a HIT';
    is enc($p), '', 'not compressed';
    is $p->{content}, $want, 'the plain page, byte for byte';
    is $p->{headers}{vary}, 'Accept-Encoding', 'Vary: Accept-Encoding';
    $etag = $p->{headers}{etag};
    unlike $etag, qr/-gz"\z/, 'the plain page\'s ETag';
    is $hit->{headers}{etag}, substr($etag, 0, -1) . '-gz"', 'the variant\'s is the plain one\'s with "-gz"';
};

# -- Accept-Encoding read properly ---------------------------------------------------------
part 'Accept-Encoding read with q-values, "*", x-gzip and refusals' => sub {
    my %cases = (
        'gzip'                      => 1,
        'gzip, deflate, br'         => 1,
        'deflate, gzip;q=0.5'       => 1,
        'GZIP ; Q=1'                => 1,
        'x-gzip'                    => 1,
        '*'                         => 1,
        'br;q=1, *;q=0.1'           => 1,
        'gzip;q=0'                  => 0,
        'gzip;q=0.000'              => 0,
        'gzip;q=0, *'               => 0,
        'deflate, *;q=0'            => 0,
        'deflate, br'               => 0,
        'identity'                  => 0,
        'gzipx, xgzip'              => 0,
        'gzip;q=1.5'                => 0,
        'gzip;q=abc'                => 0,
        ''                          => 0,
    );
    my @bad;
    for my $ae (sort keys %cases) {
        my $r = $ngx->get($page, { 'Accept-Encoding' => $ae });
        my $got = enc($r) eq 'gzip' ? 1 : 0;
        push @bad, "'$ae': " . ($got ? 'gzip' : 'plain') if $got != $cases{$ae};
        push @bad, "'$ae': other bytes"
            unless ($got ? inflate($r->{content}) : $r->{content}) eq $want;
        push @bad, "'$ae': " . cache($r) unless cache($r) eq 'HIT';
    }
    is_deeply \@bad, [], 'q-values, "*", x-gzip and refusals: ' . scalar(keys %cases) . ' Accept-Encoding headers';
};

# -- HEAD per encoding ------------------------------------------------------------------
part 'HEAD per encoding' => sub {
    my $h = $ngx->head($page, gz());
    is enc($h), 'gzip', 'HEAD with gzip: Content-Encoding';
    is $h->{headers}{'content-length'}, length $hit->{content}, 'and the variant\'s length';
    is $h->{content} // '', '', 'no body';
    is $h->{headers}{etag}, $hit->{headers}{etag}, 'the variant\'s ETag';
    $h = $ngx->head($page);
    is enc($h), '', 'HEAD without: plain';
    is $h->{headers}{'content-length'}, length $want, 'the page\'s length';
};

# -- 304 per encoding -------------------------------------------------------------------
part '304 per encoding' => sub {
    my $gzetag = $hit->{headers}{etag};
    is $ngx->get($page, gz({ 'If-None-Match' => $gzetag }))->{status}, 304, 'the variant\'s ETag, gzip: 304';
    is $ngx->get($page, { 'If-None-Match' => $etag })->{status}, 304, 'the plain ETag, no gzip: 304';
    my $r = $ngx->get($page, { 'If-None-Match' => $gzetag });
    is $r->{status}, 200, 'the variant\'s ETag, no gzip: 200';
    is $r->{content}, $want, 'with the plain page';
    $r = $ngx->get($page, gz({ 'If-None-Match' => $etag }));
    is $r->{status}, 200, 'the plain ETag, gzip: 200';
    is inflate($r->{content}), $want, 'with the variant';
};

# -- nginx's gzip filter on, gzip_vary on -----------------------------------------------------
part 'nginx\'s gzip filter on, gzip_vary on: compressed once, one Vary' => sub {
    my $vpage = '/v/xigong-edz/2024';
    my $vwant = uncached($vpage);
    $ngx->get($vpage);
    my $r = $ngx->get($vpage, gz());
    is cache($r), 'HIT', 'gzip on: a HIT';
    is enc($r), 'gzip', 'gzip';
    is inflate($r->{content}), $vwant, 'compressed once: it inflates to the page';
    is $r->{headers}{vary}, 'Accept-Encoding', 'one Vary, written by nginx (gzip_vary on)';
    $r = $ngx->get($vpage);
    is $r->{content}, $vwant, 'without Accept-Encoding: the plain page';
    is $r->{headers}{vary}, 'Accept-Encoding', 'and one Vary';

    for my $t (['index.json', 'application/json'], ['.csv', 'text/csv']) {
        my ($suffix, $type) = @$t;
        my $path = $suffix eq '.csv' ? "$vpage.csv" : "/v/$suffix";
        my $w = uncached($path);
        $ngx->get($path);
        my $r = $ngx->get($path, gz());
        ok cache($r) eq 'HIT' && enc($r) eq 'gzip' && inflate($r->{content}) eq $w
            && $r->{headers}{'content-type'} =~ /^\Q$type\E/,
            "$type: the stored gzip variant, which inflates to the document";
    }
};

# -- gzip_proxied and gzip_disable, as for gzip_static ----------------------------------------
part 'gzip_proxied and gzip_disable, as for gzip_static' => sub {
    $ngx->get($page);    # /c/: gzip_proxied off (nginx's default)
    my $r = $ngx->get($page, gz({ Via => '1.1 proxy' }));
    is enc($r), '', 'through a proxy (Via), gzip_proxied off: plain';
    is $r->{content}, $want, 'the plain page';
    my $ppage = '/p/xigong-edz/2024';
    $ngx->get($ppage);
    is enc($ngx->get($ppage, gz({ Via => '1.1 proxy' }))), 'gzip', 'gzip_proxied any: gzip';
    is enc($ngx->get($ppage, gz({ 'User-Agent' => 'Old/1.0' }))), '', 'gzip_disable matches: plain';
    is enc($ngx->get($ppage, gz({ 'User-Agent' => 'New/1.0' }))), 'gzip', 'gzip_disable does not: gzip';
};

# -- SSI: the fragment stays plain ---------------------------------------------------------
part 'SSI: the fragment stays plain' => sub {
    my $frag = '/c/xigong-edz/2024/applications';
    my $fwant = uncached($frag);
    $ngx->get($frag);
    my $r = $ngx->get($frag, gz());
    is cache($r), 'HIT', 'a fragment, asked for with gzip: a HIT';
    is enc($r), '', 'plain: fragments have no variant';
    is $r->{content}, $fwant, 'the fragment';
    $r = $ngx->get('/article.html', gz());
    is enc($r), 'gzip', 'the SSI page is compressed by nginx';
    is inflate($r->{content}), "<main>$fwant</main>", 'with the fragment inlined as plain HTML';
};

# -- what the zone holds ------------------------------------------------------------------------
part 'what the zone holds' => sub {
    my $z = Disclosure::Cache::zone($ngx);
    cmp_ok $z->{gzip_entries}, '>=', 4, 'the pages have gzip variants';
    cmp_ok $z->{gzip_entries}, '<', $z->{entries}, 'the fragment has none';
    cmp_ok $z->{gzip_bytes}, '<', $z->{body_bytes} / 4, 'the variants take a quarter of the bodies or less';
};

done_testing;
