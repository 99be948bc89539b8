# Sending from the zone (issue 12): a large body is sent as buffers into
# the entry's pieces, the entry pinned while a request has them in flight.
# A slow client holds a pin (the status shows it); the entry replaced under
# it is unlinked, not freed, and the client still gets the old bytes whole;
# the last unpin frees it.  Past a quarter of the zone pinned, bodies are
# copied.  A worker killed with SIGKILL mid-send leaves its pins behind:
# the worker respawned in its slot releases them, with a log line.
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

# a listener with a send buffer so small that nginx cannot hand a 53 KB
# page to the kernel at once: a client that does not read keeps it sending
my $slow = Disclosure::Test::free_port();

my $ngx = Disclosure::Test->nginx(pg => $pg, http => <<CONF, server => <<'CONF2' . Disclosure::Cache::STATUS);
disclosure_cache_zone reports:8m;
disclosure_cache_zone small:256k;
server {
    listen 127.0.0.1:$slow sndbuf=4k;
    location /c/ { disclosure; disclosure_cache reports; }
    location /s/ { disclosure; disclosure_cache small; }
}
CONF
location /c/ { disclosure; disclosure_cache reports; disclosure_cache_bypass $http_x_refresh; }
location /s/ { disclosure; disclosure_cache small; }
CONF2

sub zone { Disclosure::Cache::zone($ngx, $_[0]) }
sub cache { Disclosure::Cache::header($_[0]) }

# a client with a small receive window that sends its request and reads
# nothing until told to
sub slow_client {
    my ($path) = @_;
    socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
    setsockopt($s, SOL_SOCKET, SO_RCVBUF, 2048) or die "setsockopt: $!";
    connect($s, pack_sockaddr_in($slow, inet_aton('127.0.0.1'))) or die "connect: $!";
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

Disclosure::Cache::wait_listening($ngx);

my $page = '/c/xigong-edz/2024';
is cache($ngx->get($page)), 'MISS', 'the page is cached';
my $want = $ngx->get($page)->{content};
cmp_ok length $want, '>', 40_000, 'a page of ' . length($want) . ' bytes';
my $z0 = zone();
is_deeply [ @$z0{qw(pins pinned pinned_bytes unlinked)} ], [0, 0, 0, 0], 'nothing pinned';

# -- a slow client holds a pin ---------------------------------------------------------------
part 'a slow client holds a pin; the entry replaced under it is unlinked, freed by the last unpin' => sub {
    my $s = slow_client($page);
    ok Disclosure::Test::poll(sub { zone()->{pins} == 1 }), 'a slow client: one pin';
    my $z1 = zone();
    is $z1->{pinned}, 1, 'one entry pinned';
    cmp_ok $z1->{pinned_bytes}, '>', length $want, 'its bytes counted as pinned';

    # -- replaced under it: unlinked, not freed ------------------------------------------------------
    is cache($ngx->get($page, { 'X-Refresh' => 1 })), 'BYPASS', 'a fresh response replaces the entry';
    my $z2 = zone();
    is $z2->{unlinked}, 1, 'the old one is unlinked, still pinned';
    is $z2->{entries}, $z1->{entries}, 'the new one in its place';
    is cache($ngx->get($page)), 'HIT', 'and served';

    my ($head, $body) = read_all($s);
    like $head, qr{^HTTP/1\.1 200}, 'the slow client got its 200';
    like $head, qr/X-Disclosure-Cache: HIT/i, 'from the cache';
    ok $body eq $want, 'and the whole page, byte for byte (' . length($body) . ' bytes)';
    ok Disclosure::Test::poll(sub { zone()->{pins} == 0 }), 'the pin is released';
    my $z3 = zone();
    is_deeply [ @$z3{qw(pins pinned pinned_bytes unlinked)} ], [0, 0, 0, 0], 'nothing pinned, nothing unlinked left';
    is $z3->{bytes_used}, $z1->{bytes_used}, 'the old entry freed: the zone uses what it did';
};

# -- HEAD and small bodies are not pinned ------------------------------------------------
part 'HEAD makes no pin' => sub {
    $ngx->head($page);
    is zone()->{pins}, 0, 'HEAD: no pin';
};

# -- the bound: a quarter of the zone ---------------------------------------------------
# 256 KB: 64 KB of pins hold one report page (53 KB + its gzip variant)
part 'past a quarter of the zone pinned, bodies are copied' => sub {
    my @small = map { "/s/$_/2024" } qw(xigong-edz demo-district);
    my @want = map { $ngx->get($_)->{content} } @small;
    is_deeply [ map { cache($ngx->get($_)) } @small ], [qw(HIT HIT)], 'two pages in the small zone';
    my $hits = zone('small')->{hits};
    my @s = map { slow_client($_) } @small;
    ok Disclosure::Test::poll(sub { zone('small')->{hits} == $hits + 2 }), 'both slow clients are being sent their pages';
    my $zs = zone('small');
    is $zs->{pins}, 1, 'one is pinned; the other\'s page was copied, past the bound';
    cmp_ok $zs->{pinned_bytes}, '<=', 256 * 1024 / 4, 'pinned bytes within a quarter of the zone';
    my @got = map { (read_all($_))[1] } @s;
    ok $got[0] eq $want[0] && $got[1] eq $want[1], 'both pages whole';
    ok Disclosure::Test::poll(sub { zone('small')->{pins} == 0 }), 'released';
};

# -- SIGKILL mid-send ----------------------------------------------------------------------
part 'SIGKILL mid-send: the respawned worker releases the pins' => sub {
    my ($worker) = Disclosure::Test::children($ngx->{pid});
    my $s = slow_client($page);
    ok Disclosure::Test::poll(sub { zone()->{pins} == 1 }), 'a slow client pins again';
    kill 'KILL', $worker;
    ok Disclosure::Test::poll(sub {
        my @w = Disclosure::Test::children($ngx->{pid});
        @w == 1 && $w[0] != $worker;
    }), 'the worker killed mid-send is respawned';
    my $z4;
    ok Disclosure::Test::poll(sub { $z4 = eval { zone() }; $z4 && $z4->{pins} == 0 }),
        'its pin released by the new worker';
    is $z4->{pins_reclaimed}, 1, 'counted';
    is_deeply [ @$z4{qw(pinned pinned_bytes unlinked)} ], [0, 0, 0], 'nothing left pinned';
    ok $ngx->wait_for_log(qr/1 pins of a worker that exited while sending from the cache zone "reports" released/),
        'and logged';
    close $s;
    is cache($ngx->get($page)), 'HIT', 'the entry is served as before';
};

done_testing;
