# NOTIFY needs no privilege: any role that may connect can send on channel
# "disclosure" (issue 11).  A notification is only a hint: malformed
# payloads are ignored (logged escaped, a few lines, not one per payload),
# versions not newer than the one known are ignored without a query, forged
# newer ones cost one read of disclosure_web.changes() per burst and
# invalidate nothing the change log does not name.  While nginx's own role
# floods the channel, cached pages stay hits and the content handler asks
# the database nothing; a real publication is still heard at once.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IPC::Run ();
use Disclosure::Test;
use Disclosure::Cache;
use Disclosure::Part;

my $pg = Disclosure::Test->pg(sample => 1);
my $ngx = Disclosure::Test->nginx(pg => $pg, worker_processes => 2,
    http => "disclosure_cache_zone reports:4m;\n",
    server => "location /c/ { disclosure; disclosure_cache reports; }\n" . Disclosure::Cache::STATUS);

Disclosure::Cache::wait_listening($ngx);

my @pages = ('/c/', '/c/demo-district/', '/c/xigong-edz/2024', '/c/demo-district/2024.json');
$ngx->get($_) for @pages;
is_deeply [ map { Disclosure::Cache::header($ngx->get($_)) } @pages ], [ ('HIT') x @pages ], 'pages cached';

sub st { Disclosure::Cache::status($ngx) }
my $s0 = st();
my $v = $s0->{listener}{data_version};

# the status after the flood, from which the last part counts
my $s1;

# -- the flood ---------------------------------------------------------------------------
part 'a flood of malformed and forged notifications from nginx\'s own role: pages stay hits, nothing invalidated' => sub {
    my $forged = 300;
    my $flood = <<"SQL";
SELECT pg_notify('disclosure', 'x' || g) FROM generate_series(1, 300) g;
SELECT pg_notify('disclosure', 'not json
2026/01/01 00:00:00 [emerg] 1#1: forged line ' || g) FROM generate_series(1, 100) g;
SELECT pg_notify('disclosure', json_build_object('agency', 'xigong-edz', 'year', 2024, 'revision', 9,
                                                 'data_version', 9223372036854775807 - g)::text)
  FROM generate_series(1, $forged) g;
SELECT pg_notify('disclosure', json_build_object('agency', 'xigong-edz', 'year', 2024, 'revision', 1,
                                                 'data_version', $v - g)::text)
  FROM generate_series(0, 299) g;
SELECT pg_notify('disclosure', '{"agency": "xigong-edz", "year": 2024, "data_version": 99999999999999999999999}');
SELECT pg_notify('disclosure', '{"agency": 7, "year": "x", "data_version": -1}');
SELECT pg_notify('disclosure', '');
SQL
    my $rounds = 3;
    $flood x= $rounds;
    my $sent = (300 + 100 + $forged + 300 + 3) * $rounds;

    # the nginx role itself sends, while requests run
    my ($out, $err) = ('', '');
    my $psql = IPC::Run::start(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', $pg->socket_dir,
                                '-p', $pg->port, '-U', 't_nginx', '-d', 'disclosure'],
                               \$flood, \$out, \$err);
    my (%seen, $requests);
    Disclosure::Test::poll(sub {
        for my $p (@pages) {
            $seen{ Disclosure::Cache::header($ngx->get($p)) }++;
            $requests++;
        }
        $psql->pump_nb if $psql->pumpable;
        st()->{listener}{notifications} >= $s0->{listener}{notifications} + $sent;
    }) or diag "flood not received: $err";
    $psql->finish;
    ok $psql->result == 0, 'the nginx role may NOTIFY (no privilege needed)';
    is st()->{listener}{notifications} - $s0->{listener}{notifications}, $sent,
        "all $sent notifications received by the listener";
    is_deeply \%seen, { HIT => $requests }, "all $requests requests during the flood were hits";
    is_deeply [ map { Disclosure::Cache::header($ngx->get($_)) } @pages ], [ ('HIT') x @pages ],
        'and after it';
    $s1 = st();
    is $s1->{database}{queries}, $s0->{database}{queries}, 'the pages asked the database nothing';
    is $s1->{listener}{invalidations}, $s0->{listener}{invalidations}, 'nothing was invalidated';
    is $s1->{zones}{reports}{invalidated}, $s0->{zones}{reports}{invalidated}, 'no entry marked stale';
    is $s1->{zones}{reports}{invalidations}, $s0->{zones}{reports}{invalidations}, 'the generation did not move';
    is $s1->{listener}{data_version}, $v, 'the known data version is the database\'s, not a forged one';
    cmp_ok $s1->{listener}{checks} - $s0->{listener}{checks}, '<', $forged * $rounds / 10,
        'forged newer versions: a few reads of the change log, not ' . $forged * $rounds;
    cmp_ok $s1->{listener}{ignored} - $s0->{listener}{ignored}, '>=', $sent - $forged * $rounds,
        'malformed and old ones ignored without a query';
    note "flood: $sent notifications, $requests requests (all hits), "
       . ($s1->{listener}{checks} - $s0->{listener}{checks}) . ' change log reads, '
       . ($s1->{database}{queries} - $s0->{database}{queries}) . ' page queries';

    my $log = $ngx->error_log;
    unlike $log, qr/^2026\/01\/01 00:00:00 \[emerg\] 1#1: forged line/m, 'no line of a payload becomes a log line';
    my $warned = () = $log =~ /ignored a malformed notification/g;
    cmp_ok $warned, '>=', 1, 'malformed notifications are logged';
    cmp_ok $warned, '<=', 5, 'at a limited rate (' . $warned . ' lines for ' . 403 * $rounds . ')';
    like $log, qr/ignored a malformed notification "(?:[^"\n\\]|\\.)*"/, 'escaped, in quotes';
};

# -- a real publication is still heard ------------------------------------------------------
part 'a real publication is still heard after the flood' => sub {
    my $n = $s1->{listener}{invalidations};
    $pg->psql(q{SELECT disclosure.revise('xigong-edz', 2024, '更正');
                SELECT disclosure.publish('xigong-edz', 2024);}, role => 't_publisher');
    my $last = Disclosure::Cache::wait_invalidation($ngx, $n);
    ok $last, 'a publication after the flood invalidates';
    is $last->{source}, 'notification', 'from the change log, as notified';
    is "$last->{agency} $last->{year}", 'xigong-edz 2024', 'that report';
    is Disclosure::Cache::header($ngx->get('/c/xigong-edz/2024')), 'MISS', 'its page is filled again';
    like $ngx->get('/c/xigong-edz/2024')->{headers}{etag}, qr/-r2-/, 'the new revision';
    is Disclosure::Cache::header($ngx->get('/c/demo-district/2024.json')), 'HIT', 'another report stays cached';
    is st()->{listener}{data_version}, $pg->psql('SELECT version FROM disclosure.data_version'),
        'the data version is the database\'s';
};

unlike $ngx->error_log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'no crash, no alert';
done_testing;
