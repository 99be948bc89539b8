# The cache on a hot standby: nginx reads from a streaming-replication
# standby, which refuses LISTEN ("cannot execute LISTEN during recovery").
# The listener says so once, in a notice, and carries on polling the data
# version on the same connection: no reconnection loop, one session on the
# standby.  A correction published on the primary reaches the page once the
# standby has replayed it and the next poll sees the new version; until
# then the cached page keeps being served.  Then the primary goes away and
# the standby is promoted: a poll learns that recovery ended, the same
# connection LISTENs, and a correction published on the promoted server
# reaches the page by its notification.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Time::HiRes qw(time);
use Encode qw(decode_utf8);
use Disclosure::Test;
use Disclosure::Cache;
use Disclosure::Part;

binmode Test::More->builder->$_, ":encoding(UTF-8)" for qw(output failure_output todo_output);

my $primary = Disclosure::Test->pg(sample => 1);
my $standby = $primary->standby;

is $standby->psql('SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery';

my $ngx = Disclosure::Test->nginx(
    pg => $standby, worker_processes => 2,
    http => "disclosure_cache_zone reports:8m;\ndisclosure_cache_poll 1s;",
    server => 'location /c/ { disclosure; disclosure_cache reports; }' . Disclosure::Cache::STATUS,
);

my $page = '/c/demo-district/2024';

sub text { my $r = $ngx->get($_[0]); $r->{text} = decode_utf8($r->{content}); $r }
sub cache { Disclosure::Cache::header($_[0]) }
sub listener { Disclosure::Cache::status($ngx)->{listener} }
sub sessions {
    my ($pg) = @_;
    return $pg->psql(q{SELECT count(*) FROM pg_stat_activity
                        WHERE application_name = 'nginx-disclosure listener'});
}
sub count_of { my ($re, $text) = @_; my $n = () = $text =~ /$re/g; $n }

# The parts are one story: each goes on from where the one before left the
# servers and the cache, and hands on the listener as last seen ($l) and its
# first backend ($backend).
my ($l, $backend);

# -- the listener falls back to polling ----------------------------------------------
part 'the listener falls back to polling on the standby' => sub {
    ok Disclosure::Test::poll(sub { $l = listener(); $l->{state} eq 'polling' && $l->{polls} > 0 }),
        'the listener polls the data version'
        or diag explain $l;
    is $l->{connects}, 1, 'on its first connection';
    is $l->{failures}, 0, 'which did not fail';
    is $l->{notifications}, 0, 'no notification: none can come';
    is $l->{data_version}, $standby->psql('SELECT version FROM disclosure.data_version'),
        'it knows the standby\'s data version';
    my %workers = map { $_ => 1 } Disclosure::Test::children($ngx->{pid});
    ok $workers{ $l->{pid} }, "it runs in a worker ($l->{pid})";

    is $standby->psql("SELECT application_name FROM pg_stat_activity WHERE pid = $l->{backend_pid}"),
        'nginx-disclosure listener', 'its session on the standby is the one the status names';
    is sessions($primary), 0, 'the primary has no listener session: nginx reads the standby';

    # (PostgreSQL's primary message, without "ERROR:  ")
    my ($refusal) = $ngx->error_log =~ /^(.*LISTEN refused.*)$/m;
    like $refusal // '',
        qr/\[notice\] \d+#\d+: disclosure: listener: the database is a hot standby \(LISTEN refused: cannot execute LISTEN during recovery\); publications are seen by polling the data version every 1s$/,
        'a notice says the database is a hot standby and polling goes on';
    diag "error log: $refusal" if defined $refusal;
    is $standby->psql("SELECT query FROM pg_stat_activity WHERE pid = $l->{backend_pid}"),
        'SELECT disclosure_web.data_version(), pg_catalog.pg_is_in_recovery()',
        'its poll also asks whether the standby is still in recovery';
};

# -- the page is cached, and stays so over several polls -----------------------------
part 'the page is cached and stays so over several polls, on one connection' => sub {
    $ngx->get($page);
    is cache($ngx->get($page)), 'HIT', 'the report is cached';
    unlike text($page)->{text}, qr/更正后的说明/, 'the report before the correction';
    like $ngx->get($page)->{headers}{etag}, qr/-r1-/, 'revision 1';

    my $polls = $l->{polls};
    $backend = $l->{backend_pid};
    my @between;
    ok Disclosure::Test::poll(sub {
        push @between, cache($ngx->get($page));
        listener()->{polls} >= $polls + 4;
    }), 'four more polls';
    is_deeply [ grep { $_ ne 'HIT' } @between ], [], scalar(@between) . ' requests meanwhile, all HIT';

    $l = listener();
    is $l->{state}, 'polling', 'still polling';
    is "$l->{connects} $l->{failures}", '1 0', 'on the same connection, no failure, no reconnection';
    is sessions($standby), 1, 'one listener session on the standby';
    is $l->{backend_pid}, $backend, 'the same backend as before';
    is $standby->psql(q{SELECT pid FROM pg_stat_activity WHERE application_name = 'nginx-disclosure listener'}),
        $backend, 'the one on the standby';
    is count_of(qr/LISTEN refused/, $ngx->error_log), 1, 'the refusal is logged once';
    is count_of(qr/cannot execute LISTEN during recovery/,
                Disclosure::Test::read_file($standby->log_file)), 1,
        'LISTEN was tried once: the standby\'s log has one refusal';
    unlike $ngx->error_log, qr/listener reconnects|listener could not connect/, 'no reconnection';
};

# -- a correction published on the primary -------------------------------------------
part 'a correction published on the primary reaches the page by the polled data version' => sub {
    my $version = $primary->psql('SELECT version FROM disclosure.data_version');
    my $n = $l->{invalidations};

    $primary->psql(q{SELECT disclosure.revise('demo-district', 2024, '更正说明');
                     UPDATE disclosure.sections_grid SET body = '更正后的说明。'
                      WHERE agency = 'demo-district' AND year = 2024 AND part = 'intro';
                     SELECT disclosure.publish('demo-district', 2024);}, role => 't_publisher');
    my $t0 = time;
    my $lsn = $primary->psql('SELECT pg_current_wal_lsn()');

    ok Disclosure::Test::poll(sub {
        $standby->psql("SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn") eq 't'
    }), "the standby replays the publication ($lsn)";
    diag sprintf 'publish to replayed on the standby: %.3f s', time - $t0;
    is $standby->psql('SELECT version FROM disclosure.data_version'), $version + 1,
        'the standby has the new data version';

    my (@seen, $r);
    ok Disclosure::Test::poll(sub {
        $r = text($page);
        push @seen, [ $r->{status}, cache($r), $r->{text} =~ /更正后的说明/ ? 'new' : 'old' ];
        $seen[-1][2] eq 'new';
    }), 'nginx serves the correction';
    diag sprintf 'publish to the changed page: %.3f s (%d requests)', time - $t0, scalar @seen;
    is_deeply [ grep { $_->[0] != 200 } @seen ], [], 'every request meanwhile answered 200';
    is_deeply [ grep { $_->[2] eq 'old' && $_->[1] ne 'HIT' } @seen ], [],
        'the old page was served from the cache until the invalidation';
    like $r->{headers}{etag}, qr/-r2-/, 'revision 2';

    my $last = Disclosure::Cache::wait_invalidation($ngx, $n);
    is $last->{source}, 'data version', 'learnt from the polled data version';
    is $last->{data_version}, $version + 1, 'the new one';
    like $ngx->error_log, qr/disclosure: data version ${\ ($version + 1)}, was $version, with no notification/,
        'the invalidation is logged';

    is cache($ngx->get($page)), 'HIT', 'the corrected report is cached in turn';
    like text($page)->{text}, qr/更正后的说明/, 'with the correction';
};

# -- still one connection, nothing alarming ------------------------------------------
part 'still one connection, nothing alarming' => sub {
    $l = listener();
    is "$l->{state} $l->{connects} $l->{failures}", 'polling 1 0',
        'the listener still polls on its first connection';
    is sessions($standby), 1, 'one listener session on the standby';
    is count_of(qr/cannot execute LISTEN during recovery/,
                Disclosure::Test::read_file($standby->log_file)), 1, 'LISTEN still tried once';
    unlike $ngx->error_log, qr/LISTEN accepted/, 'no LISTEN accepted while in recovery';
};

# -- failover: the primary goes away, the standby is promoted ------------------------
part 'failover: the promoted server\'s listener LISTENs on the same connection' => sub {
    $primary->stop;
    $standby->promote;
    is $standby->psql('SELECT pg_is_in_recovery()'), 'f', 'the standby is promoted';

    ok Disclosure::Test::poll(sub { $l = listener(); $l->{state} eq 'listening' }),
        'the listener LISTENs after the promotion'
        or diag explain $l;
    is "$l->{connects} $l->{failures}", '1 0', 'on its first connection, no failure';
    is $l->{backend_pid}, $backend, 'the same backend';
    is sessions($standby), 1, 'one listener session on the promoted server';
    like $ngx->error_log,
        qr/\[notice\] \d+#\d+: disclosure: listener: LISTEN accepted after promotion, publications are notified from now on$/m,
        'a notice says LISTEN was accepted after the promotion';
    is count_of(qr/LISTEN accepted/, $ngx->error_log), 1, 'once';
    is count_of(qr/cannot execute LISTEN during recovery/,
                Disclosure::Test::read_file($standby->log_file)), 1,
        'the LISTEN after the promotion was not refused';
    ok Disclosure::Test::poll(sub {
        $standby->psql("SELECT query FROM pg_stat_activity WHERE pid = $backend")
            eq 'SELECT disclosure_web.data_version()';
    }), 'its polls no longer ask about recovery';
    is $l->{notifications}, 0, 'no notification yet';
};

# -- a correction published on the promoted server -----------------------------------
part 'a correction published on the promoted server reaches the page by its notification' => sub {
    is cache($ngx->get($page)), 'HIT', 'the corrected report is still cached';

    my $version = $standby->psql('SELECT version FROM disclosure.data_version');
    my $n = $l->{invalidations};

    $standby->psql(q{SELECT disclosure.revise('demo-district', 2024, '再次更正');
                     UPDATE disclosure.sections_grid SET body = '再次更正后的说明。'
                      WHERE agency = 'demo-district' AND year = 2024 AND part = 'intro';
                     SELECT disclosure.publish('demo-district', 2024);}, role => 't_publisher');
    my $t0 = time;

    my (@seen, $r);
    ok Disclosure::Test::poll(sub {
        $r = text($page);
        push @seen, [ $r->{status}, cache($r), $r->{text} =~ /再次更正后的说明/ ? 'new' : 'old' ];
        $seen[-1][2] eq 'new';
    }), 'nginx serves the correction published on the promoted server';
    diag sprintf 'publish to the changed page: %.3f s (%d requests)', time - $t0, scalar @seen;
    is_deeply [ grep { $_->[0] != 200 } @seen ], [], 'every request meanwhile answered 200';
    is_deeply [ grep { $_->[2] eq 'old' && $_->[1] ne 'HIT' } @seen ], [],
        'the old page was served from the cache until the invalidation';
    like $r->{headers}{etag}, qr/-r3-/, 'revision 3';

    # a poll that ran while the publication committed may have seen the new
    # version first (everything invalidated); the notification comes all the same
    ok Disclosure::Test::poll(sub {
        $l = listener();
        $l->{invalidations} > $n && $l->{last_invalidation}{source} eq 'notification'
            && $l->{last_invalidation}{data_version} == $version + 1;
    }), 'the invalidation came from a notification'
        or diag explain $l;
    is $l->{notifications}, 1, 'the first notification on this connection';
    is "$l->{last_invalidation}{agency} $l->{last_invalidation}{year}", 'demo-district 2024',
        'for that report';
    like $ngx->error_log,
        qr/disclosure: "demo-district" 2024 changed \(data version ${\ ($version + 1)}\): \d+ cached entries invalidated$/m,
        'the notification is logged, no version skipped';
    diag 'the data version poll saw it too'
        if $ngx->error_log =~ /data version ${\ ($version + 1)}, was $version, with no notification/;

    is cache($ngx->get($page)), 'HIT', 'the corrected report is cached in turn';
    like text($page)->{text}, qr/再次更正后的说明/, 'with the correction';
};

# -- still one connection, nothing alarming ------------------------------------------
part 'still one connection, nothing alarming, after the failover' => sub {
    $l = listener();
    is "$l->{state} $l->{connects} $l->{failures}", 'listening 1 0',
        'the listener listens on its first connection';
    is sessions($standby), 1, 'one listener session on the promoted server';
    unlike $ngx->error_log, qr/\[warn\].*listener|listener reconnects/, 'no listener warning, no reconnection';
    unlike $ngx->error_log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'no alert, no crash';
    unlike $ngx->error_log, qr/\[error\]/, 'no error';
};

done_testing;
