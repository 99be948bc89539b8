# The download sessions (issue 14): kept by the worker after a download,
# the next one served on the same backend; a client leaving mid-file gets
# its query cancelled (pg_cancel_backend() from another session: with
# none idle, one connected in the free slot and kept) and the session back
# clean and idle, the same backend serving the next download whole; an idle session closed by a PostgreSQL restart is
# replaced; disclosure_keepalive_timeout closes an idle session.
#
# Which backend serves a download is read from pg_stat_activity while the
# download is held in PostgreSQL by the gate (Disclosure::Slow::gate: an
# advisory lock the test holds, taken in data_wide_lines() at the row of
# demo-district-health).  The client that stops reading all.csv goes
# through a listener with a 4 KB send buffer.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Disclosure::Test;
use Disclosure::Part;
use Disclosure::Slow;
use Disclosure::Reply;

my $pg = Disclosure::Test->pg(sample => 1);

# the gate: the file's query waits at its row of demo-district-health (all
# rows are computed before the first is sent: headers out, no row yet)
$pg->psql(<<'SQL');
ALTER FUNCTION disclosure_web.data_wide_lines(int, int) RENAME TO data_wide_lines_ungated;
CREATE FUNCTION disclosure_web.data_wide_lines(p_year int, p_format int) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN SELECT * FROM disclosure_web.data_wide_lines_ungated(p_year, p_format) LOOP
        IF line LIKE 'demo-district-health,%' THEN
            PERFORM pg_advisory_lock_shared(4711);
            PERFORM pg_advisory_unlock_shared(4711);
        END IF;
        RETURN NEXT line;
    END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION disclosure_web.data_wide_lines(int, int) TO disclosure_reader;
SQL

my $narrow = Disclosure::Test::free_port();
my $ngx = Disclosure::Test->nginx(pg => $pg, worker_processes => 1,
    http => 'disclosure_data_connections 2; disclosure_data_rate 0;',
    server => "listen 127.0.0.1:$narrow sndbuf=4k; location /r/ { disclosure; }");

# the backend a gated download waits in
sub gated_pid {
    my $pid;
    Disclosure::Test::poll(sub {
        $pid = $pg->psql(q{SELECT pid FROM pg_stat_activity
                            WHERE usename = 't_nginx' AND query LIKE '%data_wide_line%'
                              AND wait_event_type = 'Lock'});
        $pid =~ /^\d+$/;
    }) or die "no download held in PostgreSQL\n";
    return $pid;
}

sub state_of {
    my ($pid) = @_;
    return $pg->psql(qq{SELECT state || ':' || query FROM pg_stat_activity WHERE pid = $pid});
}

# a gated download of 2022.csv: the backend it ran in, and the reply
sub gated_download {
    my ($server) = @_;
    my $open = Disclosure::Slow::gate($pg);
    my $s = ($server // $ngx)->send_get('/r/data/2022.csv');
    my $pid = eval { gated_pid() };
    $open->();
    die $@ unless $pid;
    return ($pid, reply($s));
}

my $file = reply($ngx->send_get('/r/data/2022.csv'));
is $file->{status}, 200, '2022.csv';
like $file->{body}, qr/\r\ndemo-district-health,/, 'the file holds the gated row';

my $first;

part 'two downloads in a row: one session, one backend' => sub {
    my ($pid, $r) = gated_download();
    is $r->{status}, 200, 'the first download';
    ok $r->{body} eq $file->{body}, 'whole';
    is state_of($pid), 'idle:COMMIT', 'its transaction committed, the backend kept idle';
    my ($again, $r2) = gated_download();
    is $again, $pid, 'the next download runs in the same backend';
    ok $r2->{body} eq $file->{body}, 'whole';
    $first = $pid;
};

part 'a client leaving mid-file: the query cancelled, the session kept' => sub {
    my $open = Disclosure::Slow::gate($pg);
    my $s = $ngx->send_get('/r/data/2022.csv');
    my $pid = gated_pid();
    is $pid, $first, 'the kept session serves it';
    close $s;
    # the gate still closed: only a cancel gets the backend out of its lock wait
    ok Disclosure::Test::poll(sub { state_of($pid) eq 'idle:ROLLBACK' }),
       'the backend is idle again, its transaction rolled back, the gate still closed';
    ok $ngx->wait_for_log(qr/download session of backend $pid: query cancelled/), 'logged: cancelled';
    like $ngx->error_log, qr{"/r/data/2022\.csv" ended after \d+ rows, its query with it: cancelling},
         'the request\'s end logged';
    is $pg->psql(qq{SELECT count(*) FROM pg_stat_activity
                     WHERE usename = 't_nginx' AND pid <> $pid AND state = 'idle'
                       AND query LIKE '%pg_cancel_backend%'}), 1,
       'no session was idle: the cancel came from one connected in the free slot, kept';
    is $pg->psql(q{SELECT count(*) FROM pg_stat_activity WHERE usename = 't_nginx'}), 2,
       'two sessions, no connection past disclosure_data_connections';
    $open->();
    my ($again, $r) = gated_download();
    is $again, $pid, 'the same backend serves the next download';
    is $r->{status}, 200, 'answered';
    ok $r->{body} eq $file->{body}, 'whole and correct';
};

part 'two sessions: an idle one cancels for the other' => sub {
    # two downloads at once: the worker has both sessions afterwards
    my $open = Disclosure::Slow::gate($pg);
    my @s = map { $ngx->send_get('/r/data/2022.csv') } 1, 2;
    ok Disclosure::Test::poll(sub {
        $pg->psql(q{SELECT count(*) FROM pg_stat_activity
                     WHERE usename = 't_nginx' AND query LIKE '%data_wide_line%'
                       AND wait_event_type = 'Lock'}) == 2 }), 'two downloads held';
    $open->();
    ok $_->{body} eq $file->{body}, 'whole' for map { reply($_) } @s;

    $open = Disclosure::Slow::gate($pg);
    my $s = $ngx->send_get('/r/data/2022.csv');
    my $pid = gated_pid();
    close $s;
    ok Disclosure::Test::poll(sub { state_of($pid) eq 'idle:ROLLBACK' }), 'cancelled, the backend idle';
    ok $ngx->wait_for_log(qr/download session of backend $pid: query cancelled/), 'logged';
    $open->();
    is $pg->psql(q{SELECT count(*) FROM pg_stat_activity
                    WHERE usename = 't_nginx' AND query LIKE '%pg_cancel_backend%'
                      AND state = 'idle'}), 1, 'the other session ran the cancel and is idle';
    my @again = map { $ngx->send_get('/r/data/2022.csv') } 1, 2;
    ok $_->{body} eq $file->{body}, 'both sessions serve whole files' for map { reply($_) } @again;
};

part 'a client that stops reading and leaves: the suspended query cancelled' => sub {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $narrow, Proto => 'tcp')
        or die "connect: $!";
    setsockopt($s, SOL_SOCKET, SO_RCVBUF, 4096);
    print $s "GET /r/data/all.csv HTTP/1.0\r\nHost: localhost\r\n\r\n";
    my $pid;
    ok Disclosure::Test::poll(sub {
        $pid = $pg->psql(q{SELECT pid FROM pg_stat_activity
                            WHERE usename = 't_nginx' AND query LIKE '%data_all_lines%'
                              AND state <> 'idle'});
        $pid =~ /^\d+$/;
    }), 'the download runs';
    sysread $s, my $buf, 1024;
    like $buf, qr{^HTTP/1\.1 200}, 'the headers came, the client reads no more';
    close $s;
    ok Disclosure::Test::poll(sub { state_of($pid) =~ /^idle:(ROLLBACK|COMMIT)$/ }),
       'the backend is idle again, its transaction ended';
    ok $ngx->wait_for_log(qr{"/r/data/all\.csv" ended after \d+ rows, its query with it: cancelling}),
       'logged';
    my ($again, $r) = gated_download();
    ok $again == $pid || $again == $first, 'a kept session serves the next download';
    ok $r->{body} eq $file->{body}, 'whole';
};

part 'PostgreSQL restarted under an idle session: the next download connects anew' => sub {
    $pg->restart;
    my $r = reply($ngx->send_get('/r/data/2022.csv'));
    is $r->{status}, 200, 'answered';
    ok $r->{body} eq $file->{body}, 'whole';
    like $ngx->error_log, qr/download session of backend \d+: closed by the server|a kept session failed, connecting anew/,
         'the old session was seen closed';
};

part 'disclosure_keepalive_timeout closes an idle session' => sub {
    my $short = Disclosure::Test->nginx(pg => $pg, worker_processes => 1,
                                        http => 'disclosure_keepalive_timeout 1s;',
                                        server => 'location /r/ { disclosure; }');
    my ($pid, $r) = gated_download($short);
    ok $r->{body} eq $file->{body}, 'a download';
    ok Disclosure::Test::poll(sub { state_of($pid) eq '' }), 'its backend ends';
    ok $short->wait_for_log(qr/download session of backend $pid: closed after disclosure_keepalive_timeout/),
       'logged';
    $short->stop;
};

unlike $ngx->error_log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'no crash, no alert';
done_testing;
