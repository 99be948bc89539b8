# Non-blocking, shown: with one worker, while one request waits on a query
# that sleeps 2 s, twenty other requests are all answered before it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IO::Select;
use Time::HiRes qw(time);
use Disclosure::Test;
use Disclosure::Slow;
use Disclosure::Part;

my $pg = Disclosure::Test->pg(sample => 1);
Disclosure::Slow::install($pg);
my $ngx = Disclosure::Test->nginx(pg => $pg, worker_processes => 1,
    server => 'location /r/ { disclosure; }');

# warm one pooled connection, so that the test is about waiting, not connecting
is $ngx->get('/r/xigong-edz/2024')->{status}, 200, 'warm-up';

part 'with one worker, twenty requests are answered while a slow query runs' => sub {
    my $t0 = time;
    my $slow = $ngx->send_get('/r/slow/');

    # the slow query is running in the database before the others start
    ok Disclosure::Test::poll(sub {
        $pg->psql(q{SELECT count(*) FROM pg_stat_activity WHERE usename = 't_nginx' AND state = 'active'
                       AND query LIKE '%disclosure_web.agency%'}) == 1 }), 'the slow query is running';

    my @paths = map { ('/r/', '/r/xigong-edz/2024', '/r/demo-district/2024.json', '/r/demo-district/2023/appeals') } 1 .. 5;
    my $ok = 0;
    for my $p (@paths) {
        $ok++ if $ngx->get($p)->{status} == 200;
    }
    my $t20 = time - $t0;
    is $ok, 20, 'twenty other requests answered';
    ok !IO::Select->new($slow)->can_read(0), 'all of them before the slow one'
        or diag sprintf 'the twenty took %.3f s', $t20;

    my $reply = '';
    local $SIG{ALRM} = sub { die "slow request did not finish\n" };
    alarm 30;
    while (my $n = sysread $slow, my $buf, 65536) { $reply .= $buf }
    alarm 0;
    like $reply, qr{^HTTP/1\.1 200}, 'and the slow one is answered too';
    diag sprintf 'twenty requests in %.3f s while the slow one took %.3f s', $t20, time - $t0;
};

unlike $ngx->error_log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'no crash';
done_testing;
