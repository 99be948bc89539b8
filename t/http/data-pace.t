# The pace of the bulk downloads (disclosure_data_rate): alone, or beside
# fewer other requests than its busy= rate, a download goes as fast as its
# client reads; while the server answers more (nginx's request counter moves
# by more than the downloads' own, at busy= a second or faster), this
# worker's downloads wait for the rate; 0 turns the pace off.  The bytes are
# the same either way.  A download's start (its statements, even for a 304)
# takes 64 KB of the pace: many small downloads wait as one large one does,
# and a client that leaves while its start waits takes nothing with it.
#
# What the worker did is read from its log line at the end of a download
# ("N rows, M bytes, K waits for disclosure_data_rate"), not from a clock.
# The busy download goes through a listener with a 4 KB send buffer, a page
# request between two reads, so that it is still sending when the worker
# sees the pages.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IO::Socket::INET;
use IO::Select;
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Disclosure::Test;
use Disclosure::Part;

my $pg = Disclosure::Test->pg(sample => 1);

# 40 more published reports: all.csv of a few hundred KB
$pg->psql(<<'SQL');
DO $$
DECLARE
    doc jsonb := disclosure.export_report('demo-district-housing', 2024)::jsonb;
BEGIN
    FOR i IN 1 .. 40 LOOP
        INSERT INTO disclosure.agency (slug, name, kind)
            VALUES ('t-pace-' || i, '测速局' || i, 'department');
        PERFORM disclosure.import_report(jsonb_set(doc, '{agency}',
            jsonb_build_object('slug', 't-pace-' || i, 'name', '测速局' || i,
                               'kind', 'department', 'parent', null)));
        PERFORM disclosure.publish('t-pace-' || i, 2024);
    END LOOP;
END
$$;
SQL

my %narrow = map { $_ => Disclosure::Test::free_port() } qw(on off few starts leave);

sub server {
    my ($rate, $port) = @_;
    return Disclosure::Test->nginx(pg => $pg, worker_processes => 1,
        http => "disclosure_data_rate $rate;",
        server => "listen 127.0.0.1:$port sndbuf=4k; location /r/ { disclosure; }");
}

# the whole body of a download read at once, headers cut off
sub download {
    my ($ngx) = @_;
    my $r = $ngx->get('/r/data/all.csv');
    return $r->{status} == 200 ? $r->{content} : die "all.csv: $r->{status}\n";
}

# a download through the 4 KB listener, a page request between two reads
sub busy_download {
    my ($ngx, $port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp')
        or die "connect: $!";
    $s->blocking(0);
    print $s "GET /r/data/all.csv HTTP/1.0\r\nHost: localhost\r\n\r\n";
    my ($text, $pages, $sel) = ('', 0, IO::Select->new($s));
    my $deadline = time + $Disclosure::Test::TIMEOUT;
    READ: while (time < $deadline) {
        $pages++ if $ngx->get('/r/demo-district-housing/2024')->{status} == 200;
        $sel->can_read(0.01) or next;
        while (1) {
            my $got = sysread $s, my $buf, 65536;
            last READ if defined $got && $got == 0;
            last unless $got;
            $text .= $buf;
        }
    }
    close $s;
    $text =~ s/\A.*?\r\n\r\n//s or die "no headers\n";
    return ($text, $pages);
}

# the last "waits for disclosure_data_rate" of all.csv in the log
sub waits {
    my ($ngx, $nth) = @_;
    Disclosure::Test::poll(sub {
        my @w = $ngx->error_log =~ /"\/r\/data\/all\.csv": \d+ rows, \d+ bytes, (\d+) waits/g;
        @w >= $nth;
    }) or return undef;
    my @w = $ngx->error_log =~ /"\/r\/data\/all\.csv": \d+ rows, \d+ bytes, (\d+) waits/g;
    return $w[$nth - 1];
}

# busy=1: one other request in the window is busy enough
my $ngx = server('512k busy=1r/s', $narrow{on});
my $file;

part 'alone: no wait' => sub {
    $file = download($ngx);
    cmp_ok length $file, '>', 512 * 1024, 'all.csv is larger than a second of the rate';
    is waits($ngx, 1), 0, 'no other request: the download never waited';
};

part 'busy: the download waits for the rate, the bytes unchanged' => sub {
    my ($text, $pages) = busy_download($ngx, $narrow{on});
    cmp_ok $pages, '>', 10, "pages served during the download ($pages)";
    ok $text eq $file, 'the same bytes as alone';
    cmp_ok waits($ngx, 2), '>', 0, 'the download waited for disclosure_data_rate';
};

part 'busy: starts take the pace too, a 304 as a whole file' => sub {
    # each start takes 64 KB of the pace: past the burst (128 KB at this
    # rate) the next start waits, though a 304 sends no byte of the file
    my $other = server('1m busy=1r/s', $narrow{starts});
    my $etag = $other->get('/r/data/2024.csv')->{headers}{etag};
    ok $etag, 'a file and its ETag';
    my @status;
    for (1 .. 6) {
        $other->get('/r/demo-district-housing/2024');
        push @status, $other->get('/r/data/2024.csv', { 'If-None-Match' => $etag })->{status};
    }
    is "@status", '304 304 304 304 304 304', 'every conditional request answered 304';
    my @waited = $other->error_log =~ /"\/r\/data\/2024\.csv" waits (\d+) ms for disclosure_data_rate to start/g;
    cmp_ok scalar @waited, '>', 0, 'starts waited for disclosure_data_rate (' . scalar(@waited) . ')';
    $other->get('/r/demo-district-housing/2024');
    my $r = $other->get('/r/data/all.csv');
    is $r->{status}, 200, 'a download after a wait: 200';
    ok $r->{content} eq $file, 'the whole file';
    $other->stop;
};

part 'a client that leaves while its start waits: nothing left behind' => sub {
    # 64 KB a second: past the burst every start waits a second more
    my $other = server('64k busy=1r/s', $narrow{leave});
    my @workers = Disclosure::Test::children($other->{pid});
    for (1 .. 3) {
        $other->get('/r/demo-district-housing/2024');
        $other->get('/r/data/2024.csv', { 'If-None-Match' => '"x"' });
    }
    $other->get('/r/demo-district-housing/2024');
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $narrow{leave}, Proto => 'tcp')
        or die "connect: $!";
    print $s "GET /r/data/2023.csv HTTP/1.0\r\nHost: localhost\r\n\r\n";
    my ($ms) = $other->wait_for_log(qr{"/r/data/2023\.csv" waits (\d+) ms for disclosure_data_rate to start})
        ? $other->error_log =~ /"\/r\/data\/2023\.csv" waits (\d+) ms/ : ();
    ok $ms, "the start waits ($ms ms)";
    close $s;
    # the next start waits longer (the pace's debt only grows while busy):
    # once it is answered, the timer of the one that left is past its time
    $other->get('/r/demo-district-housing/2024');
    my $r = $other->get('/r/data/2023.csv');
    is $r->{status}, 200, 'the next download: 200';
    my @waits = $other->error_log =~ /"\/r\/data\/2023\.csv" waits (\d+) ms/g;
    is scalar @waits, 2, "it waited too, longer ($waits[-1] ms)";
    cmp_ok $waits[-1], '>', $ms, 'longer than the one that left';
    like Disclosure::Test::read_file("$other->{dir}/access.log"), qr{"GET /r/data/2023\.csv HTTP/1\.0" 499 },
         'the one that left ended when it left (499)';
    is_deeply [ Disclosure::Test::children($other->{pid}) ], \@workers, 'the same workers: none crashed';
    unlike $other->error_log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'no alert, no crash';
    $other->stop;
};

# 0: the pace off; busy=100000r/s: the loop asks for a page at most every
# read, far below that
for (['disclosure_data_rate 0: no pace', '0', 'off'],
     ['fewer other requests than busy=: no pace', '512k busy=100000r/s', 'few']) {
    my ($name, $rate, $port) = @$_;
    part $name => sub {
        my $other = server($rate, $narrow{$port});
        my ($text, $pages) = busy_download($other, $narrow{$port});
        cmp_ok $pages, '>', 0, "pages served during the download ($pages)";
        ok $text eq $file, 'the same bytes';
        is waits($other, 1), 0, 'the download never waited';
        $other->stop;
    };
}

part 'a bad rate or busy= is refused' => sub {
    for ([fast => qr/"disclosure_data_rate" directive invalid value/],
         ['4m slow' => qr/invalid parameter "slow"/],
         ['4m busy=0' => qr/invalid busy rate "busy=0"/],
         ['4m busy=r/s' => qr/invalid busy rate "busy=r\/s"/]) {
        my ($value, $says) = @$_;
        my ($ok, $out) = Disclosure::Test->conf_test(http => "disclosure_data_rate $value;",
                                                     server => 'location /r/ { disclosure; }');
        ok !$ok, "nginx -t fails on \"$value\"";
        like $out, $says, 'and says why';
    }
};

done_testing;
