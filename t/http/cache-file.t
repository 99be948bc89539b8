# The cache zone as a memfd (issue 12): a large body's pages go out with
# sendfile(), as a static file's do, with the same bytes as a copy.  A page
# handed to the kernel stays referenced by the socket after its request has
# ended; when the entry is evicted and another fills its pages, the client
# that has not read yet still gets the old bytes (the pages were punched
# out of the file before the slab gave them again).  sendfile off copies;
# an SSI fragment is copied; a reload keeps the zone's file, a resized zone
# gets a new one, and the master holds one descriptor a zone.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Socket qw(:all);
use IO::Handle;
use Disclosure::Test;
use Disclosure::Cache;
use Disclosure::Part;

my $pg = Disclosure::Test->pg(sample => 1);

# a listener whose socket takes a whole page at once: a client that does
# not read lets the request end with its bytes still in the kernel
my $big = Disclosure::Test::free_port();

sub http {
    my ($small) = @_;
    return <<CONF;
disclosure_cache_zone reports:8m;
disclosure_cache_zone small:$small;
server {
    listen 127.0.0.1:$big sndbuf=1m;
    location /s/ { disclosure; disclosure_cache small; }
}
CONF
}

my $server = <<'CONF' . Disclosure::Cache::STATUS;
location /c/ { disclosure; disclosure_cache reports; }
location /n/ { disclosure; disclosure_cache reports; sendfile off; }
location /s/ { disclosure; disclosure_cache small; }
location /s2/ { disclosure; disclosure_cache small; }
location /s3/ { disclosure; disclosure_cache small; }
location /portal/ {
    ssi on;
    default_type text/html;
    return 200 '<p><!--# include virtual="/c/xigong-edz/2024" --></p>';
}
CONF

# the small zone holds three report pages (53 KB and a 6 KB gzip variant,
# 15 pages of the slab), and a quarter of it one page's pin
my $ngx = Disclosure::Test->nginx(pg => $pg, http => http('256k'), server => $server);

sub zone { Disclosure::Cache::zone($ngx, $_[0]) }
sub cache { Disclosure::Cache::header($_[0]) }

# a client with a large receive buffer that sends its request and reads
# nothing until told to
sub unread_client {
    my ($path) = @_;
    socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
    setsockopt($s, SOL_SOCKET, SO_RCVBUF, 1024 * 1024) or die "setsockopt: $!";
    connect($s, pack_sockaddr_in($big, inet_aton('127.0.0.1'))) or die "connect: $!";
    $s->autoflush(1);
    syswrite $s, "GET $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    return $s;
}

sub read_all {
    my ($s) = @_;
    my $all = '';
    while (1) {
        my $n = sysread $s, my $buf, 65536;
        last unless $n;
        $all .= $buf;
    }
    close $s;
    my ($head, $body) = split /\r\n\r\n/, $all, 2;
    return ($head // '', $body // '');
}

# the master's descriptors that are cache zones' memfds
sub memfds {
    my ($pid) = @_;
    return scalar grep { (readlink($_) // '') =~ m{^/memfd:disclosure cache zone } }
        glob "/proc/$pid/fd/*";
}

Disclosure::Cache::wait_listening($ngx);

my $page = '/c/xigong-edz/2024';
is cache($ngx->get($page)), 'MISS', 'the page is cached';
my $want = $ngx->get($page)->{content};
cmp_ok length $want, '>', 40_000, 'a page of ' . length($want) . ' bytes';
is zone()->{sendfile}, 1, 'the zone is a memfd: its pages go out by sendfile()';
is memfds($ngx->{pid}), 2, 'the master holds one memfd a zone';

part 'a hit sends its pages by sendfile(), the same bytes' => sub {
    my $z0 = zone();
    my $r = $ngx->get($page);
    is cache($r), 'HIT', 'a hit';
    ok $r->{content} eq $want, 'byte for byte';
    is zone()->{file_pins}, $z0->{file_pins} + 1, 'its pages offered to sendfile()';

    my $g = $ngx->get($page, { 'Accept-Encoding' => 'gzip' });
    is $g->{headers}{'content-encoding'}, 'gzip', 'the gzip variant';
    is zone()->{file_pins}, $z0->{file_pins} + 1, 'under 16 KB: copied, not by file';

    $ngx->head($page);
    is zone()->{file_pins}, $z0->{file_pins} + 1, 'HEAD: nothing sent';
};

part 'sendfile off: copied from the zone, the same bytes' => sub {
    my $p = '/n/xigong-edz/2024';
    my $m = $ngx->get($p);
    is cache($m), 'MISS', 'its own entry';
    my $z0 = zone();
    my $r = $ngx->get($p);
    is cache($r), 'HIT', 'a hit';
    ok $r->{content} eq $m->{content}, 'byte for byte';
    is zone()->{file_pins}, $z0->{file_pins}, 'nothing offered to sendfile()';
};

part 'an SSI fragment is copied into the page' => sub {
    my $z0 = zone();
    my $r = $ngx->get('/portal/');
    is $r->{status}, 200, 'the portal page';
    ok $r->{content} eq "<p>$want</p>", 'with the fragment whole';
    is zone()->{hits}, $z0->{hits} + 1, 'from the cache';
    is zone()->{file_pins}, $z0->{file_pins}, 'not by sendfile()';
};

# -- the safety of it ------------------------------------------------------------------------
part 'bytes in a socket keep their value when the entry\'s pages are reused' => sub {
    my $a = '/s/xigong-edz/2024';
    my $r0 = $ngx->get($a);
    is cache($r0), 'MISS', 'the first page is cached';
    my $want_a = $r0->{content};
    my $z0 = zone('small');

    my $s = unread_client($a);
    ok Disclosure::Test::poll(sub {
        my $z = zone('small');
        $z->{hits} == $z0->{hits} + 1 && $z->{pins} == 0;
    }), 'a client that does not read: its request has ended, the pin is gone';
    is zone('small')->{file_pins}, $z0->{file_pins} + 1, 'the pages went by sendfile()';

    # other pages until the first, least recently used, is evicted: the
    # page that evicts it takes its slab pages
    my @other = map { my $p = $_; map { "$p$_/2024" } qw(demo-district xigong-edz) } qw(/s2/ /s3/);
    unshift @other, '/s/demo-district/2024';
    my ($filled, %want);
    for my $p (@other) {
        my $r = $ngx->get($p);
        is cache($r), 'MISS', "$p is cached";
        $want{$p} = $r->{content};
        $filled = $p;
        last if zone('small')->{evictions} > $z0->{evictions};
    }
    cmp_ok zone('small')->{evictions}, '>', $z0->{evictions}, "the first page evicted by $filled";
    my $r = $ngx->get($filled);
    ok cache($r) eq 'HIT' && $r->{content} eq $want{$filled}, 'which is served whole';
    ok $want{$filled} ne $want_a, 'and is another page';

    my ($head, $body) = read_all($s);
    like $head, qr{^HTTP/1\.1 200}, 'the client reads at last: 200';
    is length($body), length($want_a), 'the whole length';
    ok $body eq $want_a, 'and the first page\'s bytes, not the one that took its pages';
    is zone('small')->{sendfile}, 1, 'no punch failed';
    unlike $ngx->error_log, qr/\[(alert|crit|emerg)\]/, 'nothing at alert';
};

part 'a reload keeps the zone and its file; a resized zone gets a new one' => sub {
    for my $i (1 .. 3) {
        ok $ngx->reload(server => $server . "location = /r$i { return 204; }\n"), "reload $i";
    }
    is memfds($ngx->{pid}), 2, 'the master still holds one memfd a zone';
    my $z0 = zone();
    my $r = $ngx->get($page);
    is cache($r), 'HIT', 'the entry kept';
    ok $r->{content} eq $want, 'byte for byte';
    is zone()->{file_pins}, $z0->{file_pins} + 1, 'by sendfile(), through the new cycle\'s descriptor';

    ok $ngx->reload(http => http('512k')), 'the small zone resized';
    is memfds($ngx->{pid}), 2, 'its old memfd closed, a new one made';
    is zone('small')->{entries}, 0, 'the resized zone starts empty';
    is zone('small')->{sendfile}, 1, 'and sends by file';
    my $m = $ngx->get('/s/xigong-edz/2024');
    is cache($m), 'MISS', 'filled';
    $r = $ngx->get('/s/xigong-edz/2024');
    ok cache($r) eq 'HIT' && $r->{content} eq $m->{content}, 'a hit, byte for byte';
    is zone('small')->{file_pins}, 1, 'by sendfile()';
};

done_testing;
