# Invalidation on publish, on two nginx instances reading one database:
# A hears notifications only (its poll is an hour), B also polls every
# second.  A publication changes the report and the lists on both and
# leaves other reports cached; a change with no notification (as on a read
# replica) reaches B through the data version; a notification lost while
# B's listener was away is caught up by the poll after it reconnects; a
# notification during a fill keeps the fill from being cached as fresh;
# one listener per instance, and another worker takes over when its worker
# dies.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time);
use Encode qw(decode_utf8);
use Disclosure::Test;
use Disclosure::Cache;
use Disclosure::Slow;
use Disclosure::Part;

binmode Test::More->builder->$_, ":encoding(UTF-8)" for qw(output failure_output todo_output);

my $pg = Disclosure::Test->pg(sample => 1);
Disclosure::Slow::install($pg);

my $server = 'location /c/ { disclosure; disclosure_cache reports; }' . Disclosure::Cache::STATUS;
my $a = Disclosure::Test->nginx(pg => $pg, worker_processes => 2, server => $server,
    http => "disclosure_cache_zone reports:8m;\ndisclosure_cache_poll 1h;");
my $b = Disclosure::Test->nginx(pg => $pg, worker_processes => 2, server => $server,
    http => "disclosure_cache_zone reports:8m;\ndisclosure_cache_poll 1s;");

sub text { my ($ngx, $path) = @_; my $r = $ngx->get($path); $r->{text} = decode_utf8($r->{content}); $r }
sub cache { Disclosure::Cache::header($_[0]) }
sub listeners {
    $pg->psql(q{SELECT count(*) FROM pg_stat_activity WHERE application_name = 'nginx-disclosure listener'});
}

Disclosure::Cache::wait_listening($_) for $a, $b;

# The parts run in order on the same database and instances: each counts
# the publications before it in the data version ($version, as it was before
# the first) and finds the caches as the one before left them.
my $version;

# -- one listener per instance -------------------------------------------------------
part 'one listener per instance' => sub {
    is listeners(), 2, 'two instances of two workers: two listeners';
    for my $ngx ($a, $b) {
        my $l = Disclosure::Cache::status($ngx)->{listener};
        my %workers = map { $_ => 1 } Disclosure::Test::children($ngx->{pid});
        ok $workers{ $l->{pid} }, "the listener runs in a worker of its instance ($l->{pid})";
        is $pg->psql("SELECT application_name FROM pg_stat_activity WHERE pid = $l->{backend_pid}"),
            'nginx-disclosure listener', 'on the backend the status names';
    }
};

# -- a publication: the report and the lists change, other reports stay --------------
part 'a publication: the report and the lists change on both, other reports stay' => sub {
    my @pages = ('/c/', '/c/demo-district/', '/c/demo-district/2024', '/c/demo-district/2024.json',
                 '/c/demo-district/2024/proactive', '/c/xigong-edz/2024');
    for my $ngx ($a, $b) {
        $ngx->get($_) for @pages;
        is_deeply [ map { cache($ngx->get($_)) } @pages ], [ ('HIT') x @pages ], 'every page cached';
    }
    unlike text($a, '/c/demo-district/2024')->{text}, qr/更正后的说明/, 'the report before the correction';

    my $n_a = Disclosure::Cache::status($a)->{listener}{invalidations};
    my $n_b = Disclosure::Cache::status($b)->{listener}{invalidations};
    $version = $pg->psql('SELECT version FROM disclosure.data_version');

    $pg->psql(q{SELECT disclosure.revise('demo-district', 2024, '更正说明');
                UPDATE disclosure.sections_grid SET body = '更正后的说明。'
                 WHERE agency = 'demo-district' AND year = 2024 AND part = 'intro';
                SELECT disclosure.publish('demo-district', 2024);}, role => 't_publisher');
    my $t0 = time;

    my $r;
    ok Disclosure::Test::poll(sub { $r = text($a, '/c/demo-district/2024'); $r->{text} =~ /更正后的说明/ }),
        'A serves the correction';
    my $elapsed = time - $t0;
    diag sprintf 'publish to the changed page on A: %.3f s', $elapsed;
    ok Disclosure::Test::poll(sub { text($b, '/c/demo-district/2024')->{text} =~ /更正后的说明/ }),
        'and so does B';
    diag sprintf 'publish to the changed page on B: %.3f s', time - $t0;

    my $last = Disclosure::Cache::wait_invalidation($a, $n_a);
    is $last->{source}, 'notification', 'A learnt it from the notification';
    is "$last->{agency} $last->{year} $last->{data_version}", "demo-district 2024 " . ($version + 1),
        'of that report, at the new data version';
    is $last->{entries}, 5, 'five entries of A: the report, its JSON and fragment, the index, the agency';
    is Disclosure::Cache::wait_invalidation($b, $n_b)->{source}, 'notification', 'B too';

    for my $ngx ($a, $b) {
        is cache($ngx->get('/c/xigong-edz/2024')), 'HIT', 'another report is still cached';
        like text($ngx, '/c/demo-district/2024.json')->{text}, qr/更正后的说明/, 'the JSON changed';
        like text($ngx, '/c/demo-district/2024/proactive')->{headers}{etag}, qr/-r2-/, 'the fragment is revision 2';
        like text($ngx, '/c/demo-district/')->{headers}{etag}, qr/-v${\ ($version + 1)}-/, 'the agency page changed';
        like text($ngx, '/c/')->{headers}{etag}, qr/-v${\ ($version + 1)}-/, 'the index changed';
    }
    is cache($a->get('/c/demo-district/2024')), 'HIT', 'the new report is cached in turn';
};

# -- an agency renamed by a publisher: announced, the lists follow at once --------------
part 'an agency renamed by a publisher: announced, the lists follow at once' => sub {
    $_->get('/c/demo-district/'), $_->get('/c/demo-district/2024') for $a, $a;
    is cache($a->get('/c/demo-district/2024')), 'HIT', 'A has the report page';
    my $n_a = Disclosure::Cache::status($a)->{listener}{invalidations};
    $pg->psql(q{UPDATE disclosure.agency SET name = '示例区人民政府（更名）' WHERE slug = 'demo-district'},
              role => 't_publisher');
    my $t0 = time;
    ok Disclosure::Test::poll(sub { text($a, '/c/demo-district/')->{text} =~ /示例区人民政府（更名）/ }),
        'A, which only hears notifications, shows the new name';
    diag sprintf 'rename to the changed agency page on A: %.3f s', time - $t0;
    my $last = Disclosure::Cache::wait_invalidation($a, $n_a);
    is $last->{source}, 'notification', 'told by a notification';
    is $last->{data_version}, $version + 2, 'of the next data version';
    like text($a, '/c/')->{text}, qr/示例区人民政府（更名）/, 'the index shows it too';
    is cache($a->get('/c/demo-district/2024')), 'HIT',
        'the report page stays cached: a report keeps the name it was published with';
};

# -- a change with no notification: the data version, polled by B -----------------------
# (as on a read replica, where LISTEN is refused and NOTIFY never arrives)
part 'a change with no notification reaches B through the data version' => sub {
    $_->get('/c/xigong-edz/') for $a, $b;
    my $n_b = Disclosure::Cache::status($b)->{listener}{invalidations};
    # (session_replication_role = replica: no trigger announces the rename, as a
    # replica applies it; only the data version moves)
    $pg->psql(q{SET session_replication_role = replica;
                UPDATE disclosure.agency SET name = '西工经开区管委会（更名）' WHERE slug = 'xigong-edz';
                UPDATE disclosure.data_version SET version = version + 1, changed_at = now();});
    my $t0 = time;
    ok Disclosure::Test::poll(sub { text($b, '/c/xigong-edz/')->{text} =~ /更名/ }), 'B shows the change';
    diag sprintf 'change to the changed page on B, by polling: %.3f s', time - $t0;
    my $last = Disclosure::Cache::wait_invalidation($b, $n_b);
    is $last->{source}, 'data version', 'through the data version';
    is $last->{data_version}, $version + 3, 'the new one';
    # (a report shows its agency as it was named at publication: the page is
    # refilled, not changed)
    isnt cache($b->get('/c/xigong-edz/2024')), 'HIT', 'everything was invalidated: the report page too';
    is cache($a->get('/c/xigong-edz/')), 'HIT', 'A, which was not told and does not poll, still has its copy';
};

# -- a notification lost: B's listener is away when the publication happens ------------
part 'a notification lost while B\'s listener is away is caught up after it reconnects' => sub {
    my $n_b = Disclosure::Cache::status($b)->{listener}{invalidations};
    my $l = Disclosure::Cache::status($b)->{listener};
    $b->get('/c/demo-district/2023') for 1 .. 2;
    is cache($b->get('/c/demo-district/2023')), 'HIT', 'B has the 2023 report';

    # the role cannot log in again until after the publication, so the listener
    # cannot be back in time to hear it (the pool keeps its open connections)
    $pg->psql(qq{ALTER ROLE t_nginx NOLOGIN;
                 SELECT pg_terminate_backend($l->{backend_pid}, 10000);});
    ok Disclosure::Test::poll(sub { Disclosure::Cache::status($b)->{listener}{failures} > $l->{failures} }),
        'B\'s listener lost its connection';
    $pg->psql(q{SELECT disclosure.revise('demo-district', 2023, '补正');
                UPDATE disclosure.sections_grid SET body = '二〇二三年补正。'
                 WHERE agency = 'demo-district' AND year = 2023 AND part = 'intro';
                SELECT disclosure.publish('demo-district', 2023);}, role => 't_publisher');
    $pg->psql('ALTER ROLE t_nginx LOGIN');
    my $t0 = time;
    ok Disclosure::Test::poll(sub { text($b, '/c/demo-district/2023')->{text} =~ /二〇二三年补正/ }),
        'after it reconnects, B serves the publication it was not told about';
    diag sprintf 'login allowed to the changed page on B: %.3f s', time - $t0;
    my $last = Disclosure::Cache::wait_invalidation($b, $n_b);
    is $last->{source}, 'data version', 'the poll after reconnecting brought it';
    $l = Disclosure::Cache::wait_listening($b);
    is $l->{connects}, 2, 'the listener connected again';
    isnt $l->{backend_pid}, 0, 'on a new backend';
    like $b->error_log, qr/disclosure: listener reconnects in \d+ms/, 'the reconnection is logged';
};

# -- a notification during a fill: the fill is not cached as fresh --------------------
# (disclosure_web.agency('slow') takes 2 s; any publication changes agency pages)
part 'a notification during a fill keeps the fill from being cached as fresh' => sub {
    $a->get('/c/slow/');
    my $n_a = Disclosure::Cache::status($a)->{listener}{invalidations};
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $a->port, Proto => 'tcp') or die $!;
    # the entry is now stale (invalidated by the last publication, on A too); its refresh begins
    $pg->psql(q{SELECT disclosure.revise('demo-district', 2024, '再次更正');
                SELECT disclosure.publish('demo-district', 2024);}, role => 't_publisher');
    Disclosure::Cache::wait_invalidation($a, $n_a);
    $n_a = Disclosure::Cache::status($a)->{listener}{invalidations};
    print $s "GET /c/slow/ HTTP/1.0\r\nHost: localhost\r\n\r\n";
    ok Disclosure::Test::poll(sub {
        $pg->psql(q{SELECT count(*) FROM pg_stat_activity WHERE usename = 't_nginx' AND state = 'active'
                       AND query LIKE '%disclosure_web.agency%'}) == 1 }), 'the slow fill is running';
    $pg->psql(q{SELECT disclosure.revise('xigong-edz', 2024, '第三次');
                SELECT disclosure.publish('xigong-edz', 2024);}, role => 't_publisher');
    ok Disclosure::Cache::wait_invalidation($a, $n_a), 'a notification arrives';
    ok !IO::Select->new($s)->can_read(0), 'while the fill still runs';
    my $reply = '';
    while (sysread $s, my $buf, 65536) { $reply .= $buf }
    like $reply, qr{^HTTP/1\.1 200.*X-Disclosure-Cache: MISS}s, 'the fill answers its own request';
    my $r = $a->get('/c/slow/');
    is cache($r), 'MISS', 'but its response was stored stale: the next request queries again';
    is cache($a->get('/c/slow/')), 'HIT', 'and that one is cached';
};

# -- the listener's worker dies: another worker takes over ---------------------------
part 'the listener\'s worker dies: another worker takes over' => sub {
    my $l = Disclosure::Cache::status($b)->{listener};
    kill 'KILL', $l->{pid};
    my $l2;
    ok Disclosure::Test::poll(sub {
        $l2 = Disclosure::Cache::status($b)->{listener};
        $l2->{pid} != $l->{pid} && $l2->{state} eq 'listening' }), 'another worker listens';
    ok Disclosure::Test::poll(sub { listeners() == 2 }), 'still one listener per instance';
    $pg->psql(q{SELECT disclosure.revise('demo-district', 2023, '又一次');
                UPDATE disclosure.sections_grid SET body = '第三版。'
                 WHERE agency = 'demo-district' AND year = 2023 AND part = 'intro';
                SELECT disclosure.publish('demo-district', 2023);}, role => 't_publisher');
    ok Disclosure::Test::poll(sub { text($b, '/c/demo-district/2023')->{text} =~ /第三版/ }),
        'and B follows publications again';
};

unlike $a->error_log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'A: no crash, no alert';
my $log_b = $b->error_log;
$log_b =~ s/^.*(exited on signal 9|signal 17 \(SIGCHLD\)|signal 29 \(SIGIO\)).*$//mg;
unlike $log_b, qr/\[(alert|emerg|crit)\]|signal \d+/, 'B: nothing but the worker we killed';
done_testing;
