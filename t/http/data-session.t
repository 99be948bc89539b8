# The download sessions' failure paths (issue 14) that data-reuse.t cannot
# reach.  With disclosure_data_connections 1:
#  - a kept session whose backend died without nginx seeing it fails on its
#    first statement (BEGIN): the download is retried once on a new
#    connection and the client gets the whole file;
#  - a download that waits for the session while it ends its transaction
#    (the COMMIT after a download) gets a new connection in the slot when
#    that session's backend dies, and the whole file; when no new
#    connection can be made, a 503 with Retry-After.  Either way the slot
#    is not lost and the worker goes on;
#  - a client leaving mid-file when no other session can cancel its query
#    (the one slot is its own): the session is closed, never a connection
#    past the slot, and its backend ends while its query still waits.
# With 2 (a client's leaving is cancelled from the other session, which is
# then made busy with a download held at the gate):
#  - a download that waits for the session's ROLLBACK after its client left
#    mid-file gets a new connection in the slot when that backend dies;
#  - a download that arrives while the session drains (its client left
#    mid-file: the query cancelled, the rest read and dropped) waits for
#    it rather than a 503, and is served on it once it is idle, or on a new
#    connection if it dies draining; a waiting client that leaves gives its
#    place up.
#
# nginx reaches PostgreSQL through a proxy in a child process of the test
# (its conninfo points at the proxy's port), which finds each
# connection's backend in its BackendKeyData and can, for one backend:
#   deaf      pass nothing more to nginx, the backend's end included, and
#             reset nginx's side at the first byte nginx sends: a backend
#             that died unseen (pg_terminate_backend()'s FATAL and close
#             would otherwise reach the idle session, which closes at once)
#   hold-end  keep back nginx's COMMIT or ROLLBACK and all after it: the
#             session stays ending, its backend idle in a transaction
#   mute      keep back all the backend sends nginx until "release": the
#             session cannot finish draining; if the backend ends
#             meanwhile, what was kept is lost and nginx's side closed
# and, for all, refuse: close every new connection at once.
# That a download waits is read from stub_status (a request being written
# besides the status request).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC SOL_SOCKET SO_LINGER);
use Disclosure::Test;
use Disclosure::Part;
use Disclosure::Slow;
use Disclosure::Reply;

my $pg = Disclosure::Test->pg(sample => 1);

my %proxy = start_proxy($pg->port);
END { stop_proxy() }

my $conninfo = $pg->conninfo =~ s/port=\d+/port=$proxy{port}/r;
my $ngx = Disclosure::Test->nginx(pg => $pg, worker_processes => 1,
    http => qq{disclosure_database "$conninfo"; disclosure_data_connections 1;
               disclosure_data_rate 0;},
    server => 'location /r/ { disclosure; } location = /status { stub_status; }');
my ($worker) = Disclosure::Test::children($ngx->{pid});

# the gate: the file's query waits before its first row (headers out) while
# the test holds advisory lock 4711 (Disclosure::Slow::gate); all.csv's at
# its tenth line, the nine before it sent (a SQL function in the select list
# runs row by row), more than nginx's first buffer of the body
$pg->psql(<<'SQL');
ALTER FUNCTION disclosure_web.data_wide_lines(int, int) RENAME TO data_wide_lines_open;
CREATE FUNCTION disclosure_web.data_wide_lines(p_year int, p_format int) RETURNS SETOF text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_lock_shared(4711);
    PERFORM pg_advisory_unlock_shared(4711);
    RETURN QUERY SELECT disclosure_web.data_wide_lines_open(p_year, p_format);
END
$$;
GRANT EXECUTE ON FUNCTION disclosure_web.data_wide_lines(int, int) TO disclosure_reader;
ALTER FUNCTION disclosure_web.data_all_lines() RENAME TO data_all_lines_open;
CREATE FUNCTION disclosure_web.gate() RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_lock_shared(4711);
    PERFORM pg_advisory_unlock_shared(4711);
    RETURN true;
END
$$;
CREATE FUNCTION disclosure_web.data_all_lines() RETURNS SETOF text
LANGUAGE sql AS $$
    SELECT l FROM disclosure_web.data_all_lines_open() WITH ORDINALITY AS t(l, n)
     WHERE n < 10 OR disclosure_web.gate()
$$;
GRANT EXECUTE ON FUNCTION disclosure_web.data_all_lines() TO disclosure_reader;
SQL

my $file;

sub activity {
    my ($pid, $column) = @_;
    return $pg->psql("SELECT $column FROM pg_stat_activity WHERE pid = $pid");
}

# the download sessions' backends (nothing else here connects as t_nginx)
sub backends {
    return $pg->psql(q{SELECT count(*) FROM pg_stat_activity WHERE usename = 't_nginx'});
}

# the backend of the one download session, idle after its COMMIT
sub session_pid {
    my $pid;
    Disclosure::Test::poll(sub {
        $pid = $pg->psql(q{SELECT pid FROM pg_stat_activity
                            WHERE usename = 't_nginx' AND state = 'idle' AND query = 'COMMIT'});
        $pid =~ /^\d+$/;
    }) or die "no idle download session\n";
    return $pid;
}

# a download first: the session it leaves kept, its backend
sub kept_session {
    is $ngx->get('/r/data/2022.csv')->{content}, $file, 'a download, its session kept';
    return session_pid();
}

sub backend_gone {
    my ($pid) = @_;
    return Disclosure::Test::poll(sub { activity($pid, 'count(*)') == 0 });
}

# the file as PostgreSQL makes it: the header and the lines
$file = $pg->psql(q{SELECT (SELECT header FROM disclosure_web.data_file('csv', 2022, NULL))
                           || string_agg(l, '')
                      FROM disclosure_web.data_wide_lines_open(2022, disclosure.year_format(2022)) l});
like $file, qr/\r\ndemo-district-health,.*\n\z/s, 'the file has rows';
my $first = $ngx->get('/r/data/2022.csv');
is $first->{status}, 200, '2022.csv through the proxy';
ok $first->{content} eq $file, 'whole and correct';

# requests being written, this status request included
sub writing {
    return ($ngx->get('/status')->{content} =~ /Writing: (\d+)/)[0];
}

# a download sent now that waits for a session: no answer yet (a refused
# one has its 503 at once); $writing: requests then being written, this
# status request and any download held at the gate included
sub waiting {
    my ($writing) = @_;
    $writing //= 2;
    my $s = $ngx->send_get('/r/data/2022.csv');
    $s->blocking(0);
    my $answered = sub { IO::Select->new($s)->can_read(0) };
    Disclosure::Test::poll(sub { writing() == $writing || $answered->() });
    ok !$answered->() && writing() == $writing,
       'a download waits (being written besides this status request)';
    return $s;
}

# The session of backend $old is ending its transaction, its COMMIT or
# ROLLBACK held by the proxy: a download sent now waits for it, then the
# backend is killed.  The download's reply.
sub waits_for_ending {
    my ($old) = @_;
    my $s = waiting();
    $pg->psql("SELECT pg_terminate_backend($old)");
    ok backend_gone($old), 'the ending session\'s backend is gone';

    my $r = reply($s);
    ok $ngx->error_log =~ /download session of backend $old: (failed|closed by the server)/,
       'logged: the ending session failed';
    return $r;
}

# the slot is not lost: the next download whole, on a session kept after
# it, the one download session there is
sub slot_kept {
    my ($old) = @_;
    is $ngx->get('/r/data/2022.csv')->{content}, $file, 'the next download is whole';
    my $new = session_pid();
    isnt $new, $old, 'on a new backend, kept afterwards';
    is $pg->psql(q{SELECT count(*) FROM pg_stat_activity
                    WHERE usename = 't_nginx' AND query IN ('COMMIT', 'ROLLBACK')}), 1,
       'one download session, no other left behind';
    return $new;
}

# the waiting download on a new connection in the slot: the whole file, and
# the session it leaves serves the next one
sub served_anew {
    my ($old) = @_;
    my $r = waits_for_ending($old);
    is $r->{status}, 200, 'the waiting download is answered';
    ok $r->{body} eq $file, 'whole and correct';
    my $new = session_pid();
    is slot_kept($old), $new, 'the session it was served on';
}

part 'a kept session whose backend died unseen: the download retried once on a new connection' => sub {
    my $old = kept_session();
    is proxy('deaf', $old), 'ok', 'the proxy hides the backend\'s end from nginx';
    $pg->psql("SELECT pg_terminate_backend($old)");
    ok backend_gone($old), 'the backend is gone';
    ok $ngx->error_log !~ /download session of backend $old:/, 'nginx has not seen it go';

    my $r = $ngx->get('/r/data/2022.csv');
    is $r->{status}, 200, 'answered';
    ok $r->{content} eq $file, 'whole and correct';
    is proxy('resets'), 1, 'its first statement went to the dead connection';
    ok $ngx->error_log =~ m{"/r/data/2022\.csv": a kept session failed, connecting anew},
       'logged: the retry';
    ok $ngx->error_log !~ m{"/r/data/2022\.csv"[^\n]* failed after}, 'no failure logged';
    my $new = session_pid();
    isnt $new, $old, 'a new backend served it and is kept';
};

part 'a download waiting for a session\'s COMMIT, whose backend dies: a new connection' => sub {
    my $old = kept_session();
    is proxy('hold-end', $old), 'ok', 'the proxy will keep back the session\'s next COMMIT';
    my $r = $ngx->get('/r/data/2022.csv');
    is $r->{status}, 200, 'a download on the kept session';
    ok $r->{content} eq $file, 'whole';
    ok Disclosure::Test::poll(sub { proxy('held', $old) > 0 }), 'its COMMIT is held: the session is ending';
    is activity($old, 'state'), 'idle in transaction', 'its backend is still in the transaction';
    served_anew($old);
};

part 'a download waiting for an ending session whose backend dies, PostgreSQL unreachable: 503' => sub {
    my $old = kept_session();
    is proxy('hold-end', $old), 'ok', 'the proxy will keep back the session\'s next COMMIT';
    is $ngx->get('/r/data/2022.csv')->{content}, $file, 'a download on the kept session';
    ok Disclosure::Test::poll(sub { proxy('held', $old) > 0 }), 'its COMMIT is held: the session is ending';
    is proxy('refuse', 1), 'ok', 'the proxy closes every new connection';
    my $r = waits_for_ending($old);
    is $r->{status}, 503, 'the waiting download: 503';
    is $r->{headers}{'retry-after'}, 10, 'with Retry-After';
    ok $ngx->error_log =~ /\*\d+ disclosure: download could not connect to/, 'logged: no new connection';
    is proxy('refuse', 0), 'ok', 'PostgreSQL reachable again';
    slot_kept($old);
};

part 'a client leaving mid-file, no other session to cancel from: the session closed, its backend ends' => sub {
    my $old = kept_session();
    my $mark = length $ngx->error_log;
    my $open = Disclosure::Slow::gate($pg);
    my $leaving = $ngx->send_get('/r/data/2022.csv');
    ok Disclosure::Test::poll(sub { activity($old, 'wait_event_type') eq 'Lock' }),
       'a download held in the kept session\'s backend';
    close $leaving;
    # client_connection_check_interval: the closed connection is seen in
    # the lock wait; a cancelled session would idle after its ROLLBACK
    my $state;
    Disclosure::Test::poll(sub { $state = activity($old, q{state || ':' || query}); $state !~ /^active:/ });
    is $state, '', 'its backend ends, the gate still closed; not kept';
    ok $ngx->wait_for_log(qr/download session of backend $old: closed, no session free to cancel its query/),
       'logged: the session closed, no slot to cancel from';
    is backends(), 0, 'no connection opened past the slot';
    ok substr($ngx->error_log, $mark) !~ /query cancelled|could not connect/, 'nothing cancelled, nothing connected';
    $open->();
    slot_kept($old);
};

is [Disclosure::Test::children($ngx->{pid})]->[0], $worker, 'the same worker served throughout';
unlike $ngx->error_log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'no crash, no alert';
$ngx->stop;
like $ngx->error_log, qr/worker process $worker exited with code 0/, 'the worker exits cleanly';
ok Disclosure::Test::poll(sub { backends() == 0 }), 'its sessions closed';


# -- two slots ----------------------------------------------------------------

$ngx = Disclosure::Test->nginx(pg => $pg, worker_processes => 1,
    http => qq{disclosure_database "$conninfo"; disclosure_data_connections 2;
               disclosure_data_rate 0;},
    server => 'location /r/ { disclosure; } location = /status { stub_status; }');
($worker) = Disclosure::Test::children($ngx->{pid});

# a download of 2022.csv that takes the idle session of backend $pid and
# waits at the (closed) gate; its socket
sub held_on {
    my ($pid) = @_;
    my $s = $ngx->send_get('/r/data/2022.csv');
    ok Disclosure::Test::poll(sub { activity($pid, 'wait_event_type') eq 'Lock' }),
       "a download takes the other session and is held at the gate";
    return $s;
}

sub whole {
    my ($r, $what) = @_;
    is $r->{status}, 200, "$what: answered";
    ok $r->{body} eq $file, "$what: whole and correct";
}

# the session of backend $other busy with a download held at the gate, a
# download that waits for the $what session of backend $old, whose backend
# is then killed: both whole once the gate opens, the waiting one on a new
# connection in the slot
sub dies_waited_for {
    my ($old, $other, $open, $what) = @_;
    my $busy = held_on($other);
    my $s = waiting(3);
    $pg->psql("SELECT pg_terminate_backend($old)");
    ok backend_gone($old), "the $what session's backend is gone";
    $open->();
    whole(reply($s), 'the waiting download, on a new connection');
    whole(reply($busy), 'the held download');
}

part 'a client leaving mid-file: cancelled from a session connected in the free slot; a download waiting for the ROLLBACK, the backend dies: a new connection' => sub {
    my $old = kept_session();
    is backends(), 1, 'one download session, the other slot free';
    my $open = Disclosure::Slow::gate($pg);
    my $leaving = $ngx->send_get('/r/data/2022.csv');
    ok Disclosure::Test::poll(sub { activity($old, 'wait_event_type') eq 'Lock' }),
       'a download held in the kept session\'s backend';
    is proxy('hold-end', $old), 'ok', 'the proxy will keep back the session\'s ROLLBACK';
    close $leaving;
    ok $ngx->wait_for_log(qr/download session of backend $old: query cancelled/),
       'the client gone, its query cancelled';
    ok Disclosure::Test::poll(sub { proxy('held', $old) > 0 }), 'its ROLLBACK is held: the session is ending';
    is activity($old, 'state'), 'idle in transaction (aborted)', 'its backend is still in the transaction';
    my $other = $pg->psql(qq{SELECT pid FROM pg_stat_activity
                              WHERE usename = 't_nginx' AND pid <> $old
                                AND state = 'idle' AND query LIKE '%pg_cancel_backend%'});
    like $other, qr/^\d+$/, 'the cancel came from a session connected in the free slot, kept idle';
    is backends(), 2, 'no connection past the two slots';

    dies_waited_for($old, $other, $open, 'ending');
    ok $ngx->error_log =~ /download session of backend $old: (failed|closed by the server)/,
       'logged: the ending session failed';
    is backends(), 2, 'two download sessions kept, none other';
};

# A download of all.csv on one of the two idle sessions whose client reads
# a little and leaves while its query waits at the gate: the other session
# cancels the query while the proxy keeps back what the backend sends, so
# that the session drains.  Its backend, the other's, the gate's opener.
sub draining {
    is backends(), 2, 'two idle download sessions';
    my $open = Disclosure::Slow::gate($pg);
    my $leaving = $ngx->send_get('/r/data/all.csv');
    $leaving->blocking(0);
    my $text = '';
    Disclosure::Test::poll(sub { sysread $leaving, $text, 65536, length $text; $text =~ /\r\n\r\n./s });
    like $text, qr{\AHTTP/1\.\d 200 .*\r\n\r\n\x{ef}\x{bb}\x{bf}agency,}s,
       'a download, its headers and first lines read';
    my $old;
    ok Disclosure::Test::poll(sub {
        $old = $pg->psql(q{SELECT pid FROM pg_stat_activity
                            WHERE usename = 't_nginx' AND query LIKE '%data_all_lines%'
                              AND wait_event_type = 'Lock'});
        $old =~ /^\d+$/;
    }), 'its query waits at the gate';
    my $other = $pg->psql(qq{SELECT pid FROM pg_stat_activity WHERE usename = 't_nginx' AND pid <> $old});
    is proxy('mute', $old), 'ok', 'the proxy will keep back what the backend sends';
    close $leaving;
    ok Disclosure::Test::poll(sub { activity($old, 'state') eq 'idle in transaction (aborted)' }),
       'the client gone mid-file, its query cancelled';
    ok Disclosure::Test::poll(sub { proxy('held', $old) > 0 }),
       'the cancelled query\'s end kept back: the session drains';
    ok Disclosure::Test::poll(sub { activity($other, 'state') eq 'idle' }),
       'the other session ran the cancel and idles';
    return ($old, $other, $open);
}

part 'a download arriving while the session drains waits for it, and is served on it' => sub {
    my $mark = length $ngx->error_log;
    my ($old, $other, $open) = draining();
    my $busy = held_on($other);
    my $gone = waiting(3);
    close $gone;
    ok Disclosure::Test::poll(sub { writing() == 2 }), 'a waiting client that leaves is let go';
    my $s = waiting(3);
    $open->();
    whole(reply($busy), 'the held download');
    is proxy('release', $old), 'ok', 'the backend\'s answers go on to nginx';

    whole(reply($s), 'the waiting download');
    ok substr($ngx->error_log, $mark) =~ /download session of backend $old: query cancelled/,
       'logged: the drained query was cancelled';
    ok Disclosure::Test::poll(sub { activity($old, q{state || ':' || query}) eq 'idle:COMMIT' }),
       'served on the drained session, kept afterwards';
    is backends(), 2, 'two download sessions, none other';
};

part 'a download waiting for a draining session whose backend dies: a new connection' => sub {
    my $mark = length $ngx->error_log;
    my ($old, $other, $open) = draining();
    dies_waited_for($old, $other, $open, 'draining');
    my $log = substr $ngx->error_log, $mark;
    ok $log =~ /download session of backend $old: (failed|closed by the server)/,
       'logged: the draining session failed';
    ok $log !~ /download session of backend $old: query (cancelled|ended)/,
       'before its query was known to end';
    ok Disclosure::Test::poll(sub { backends() == 2 }), 'two download sessions kept, none other';
    whole(reply($ngx->send_get('/r/data/2022.csv')), 'the next download');
};

is [Disclosure::Test::children($ngx->{pid})]->[0], $worker, 'the same worker served throughout';
unlike $ngx->error_log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'no crash, no alert';
$ngx->stop;
like $ngx->error_log, qr/worker process $worker exited with code 0/, 'the worker exits cleanly';
stop_proxy();
done_testing;


# -- the proxy ---------------------------------------------------------------

sub start_proxy {
    my ($upstream) = @_;
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                       Proto => 'tcp', Listen => 64, ReuseAddr => 1)
        or die "proxy: listen: $!";
    socketpair(my $ctl, my $theirs, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        close $ctl;
        eval { proxy_loop($listen, $theirs, $upstream) };
        print STDERR "proxy: $@" if $@;
        POSIX::_exit(0);        # not the test's END blocks
    }

    close $theirs;
    $ctl->autoflush(1);
    return (pid => $pid, port => $listen->sockport, ctl => $ctl);
}

sub stop_proxy {
    return unless $proxy{pid};
    kill 'TERM', $proxy{pid};
    waitpid $proxy{pid}, 0;
    delete $proxy{pid};
}

# a command to the proxy, its one-line answer
sub proxy {
    my $ctl = $proxy{ctl};
    print {$ctl} "@_\n";
    my $line = <$ctl> // die "the proxy is gone\n";
    chomp $line;
    return $line;
}

sub proxy_loop {
    my ($listen, $ctl, $upstream) = @_;
    my @conns;
    my $resets = 0;
    my $refuse = 0;
    my $in = '';

    $listen->blocking(0);

    for (;;) {
        my $r = IO::Select->new($listen, $ctl);
        my $w = IO::Select->new;
        my %of;

        for my $k (@conns) {
            for my $side ('c', 'u') {
                my $fh = $k->{$side} or next;
                my $out = $side eq 'c' ? 'to_c' : 'to_u';
                my $other = $side eq 'c' ? 'to_u' : 'to_c';
                $of{fileno $fh} = [$k, $side];
                # read a side only while the other side takes what it sent
                $r->add($fh) if length $k->{$other} < 1 << 20 && !$k->{closing};
                $w->add($fh) if length $k->{$out};
            }
        }

        my ($rr, $ww) = IO::Select->select($r, $w, undef);

        for my $fh (@{ $ww // [] }) {
            my ($k, $side) = @{ $of{fileno $fh} // next };
            my $out = $side eq 'c' ? 'to_c' : 'to_u';
            my $n = syswrite $fh, $k->{$out};
            if (!defined $n) {
                next if $!{EAGAIN};
                $k->{dead} = 1;
                next;
            }
            substr $k->{$out}, 0, $n, '';
            $k->{dead} = 1 if $k->{closing} && !length $k->{to_c};
        }

        for my $fh (@{ $rr // [] }) {
            if ($fh == $listen) {
                my $c = $listen->accept or next;
                if ($refuse) {
                    close $c;
                    next;
                }
                my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $upstream,
                                              Proto => 'tcp');
                if (!$u) {
                    close $c;
                    next;
                }
                $_->blocking(0) for $c, $u;
                push @conns, { c => $c, u => $u, to_c => '', to_u => '', head => '',
                               kept => '', mode => '', held => 0 };
                next;
            }

            if ($fh == $ctl) {
                my $n = sysread $ctl, $in, 4096, length $in;
                return if !$n;      # the test is gone
                while ($in =~ s/\A([^\n]*)\n//) {
                    my ($cmd, $pid) = split ' ', $1;
                    my ($k) = grep { ($_->{pid} // 0) == ($pid // -1) } @conns;
                    my $answer = $cmd eq 'resets' ? $resets
                               : $cmd eq 'refuse' ? do { $refuse = $pid; 'ok' }
                               : !$k ? 'no such backend'
                               : $cmd eq 'held' ? $k->{held}
                               : $cmd =~ /^(deaf|hold-end)$/ ? do { $k->{mode} = $cmd; 'ok' }
                               : $cmd eq 'mute' ? do {
                                     @$k{qw(mode kept to_c)} = ('mute', $k->{to_c}, '');
                                     'ok' }
                               : $cmd eq 'release' ? do {
                                     $k->{to_c} .= $k->{kept};
                                     @$k{qw(kept mode held)} = ('', '', 0);
                                     'ok' }
                               : 'unknown command';
                    syswrite $ctl, "$answer\n";
                }
                next;
            }

            my ($k, $side) = @{ $of{fileno $fh} // next };
            next if $k->{dead};
            my $n = sysread $fh, my $buf, 65536;
            next if !defined $n && $!{EAGAIN};

            if ($side eq 'c') {
                if (!$n) {
                    $k->{dead} = 1;
                } elsif ($k->{mode} eq 'deaf') {
                    # a dead peer answers data with a reset
                    setsockopt $k->{c}, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0);
                    $resets++;
                    $k->{dead} = 1;
                } elsif ($k->{held}) {
                    $k->{held} += $n;
                } elsif ($k->{mode} eq 'hold-end'
                         && $buf =~ /Q....(?:COMMIT|ROLLBACK)\0/s) {
                    $k->{to_u} .= substr $buf, 0, $-[0];
                    $k->{held} += $n - $-[0];
                } else {
                    $k->{to_u} .= $buf;
                }
                next;
            }

            if (!$n) {
                # the backend's end: hidden from a deaf connection, what a
                # mute one kept lost
                close $k->{u};
                delete $k->{u};
                $k->{to_u} = '';
                $k->{kept} = '';
                next if $k->{mode} eq 'deaf';
                $k->{closing} = 1;
                $k->{dead} = 1 if !length $k->{to_c};
                next;
            }

            if (!defined $k->{pid}) {
                $k->{head} .= $buf;
                $k->{pid} = unpack 'N', $1 if $k->{head} =~ /K\0\0\0\x0c(....)/s;
            }
            if ($k->{mode} eq 'mute') {
                $k->{kept} .= $buf;
                $k->{held} += $n;
            } elsif ($k->{mode} ne 'deaf') {
                $k->{to_c} .= $buf;
            }
        }

        for my $k (grep { $_->{dead} } @conns) {
            close $k->{c};
            close $k->{u} if $k->{u};
        }
        @conns = grep { !$_->{dead} } @conns;
    }
}
