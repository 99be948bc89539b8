# Every publish, correction and withdrawal sends NOTIFY disclosure with the
# agency and year, and bumps the data version that replicas can poll.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IPC::Run qw(start pump finish timeout);
use JSON::PP;
use Disclosure::Test;
use Disclosure::Part;

my $pg = Disclosure::Test->pg(sample => 1);

my ($in, $out, $err) = ('', '', '');
my $listener = start ['psql', '-X', '-q', '-h', $pg->socket_dir, '-p', $pg->port, '-U', 't_nginx', 'disclosure'],
    \$in, \$out, \$err, timeout(30);
$in .= "LISTEN disclosure;\nSELECT 'listening';\n";
pump $listener until $out =~ /listening/;

sub wait_notification {
    my ($n) = @_;
    my @got;
    while (1) {
        @got = $out =~ /Asynchronous notification "disclosure" with payload "(.*?)" received/g;
        last if @got >= $n;
        $in .= "SELECT 'poll';\n";     # psql prints notifications after each command
        pump $listener;
    }
    return map { decode_json($_ =~ s/\\"/"/gr) } @got;
}

my $v0 = $pg->psql('SELECT version FROM disclosure.data_version');
part 'a publish, a correction and a withdrawal each notify, with the new data version' => sub {
    $pg->psql(q{SELECT disclosure.publish('demo-district', 2025)}, role => 't_publisher');

    my @n = wait_notification(1);
    is $n[0]{agency}, 'demo-district', 'the notification names the agency';
    is $n[0]{year}, 2025, 'and the year';
    is $n[0]{revision}, 1, 'and the revision';
    is $n[0]{data_version}, $v0 + 1, 'and the new data version';
    is $pg->psql('SELECT disclosure_web.data_version()', role => 't_nginx'), $v0 + 1,
        'the reader sees the bumped data version';

    $pg->psql(q{SELECT disclosure.revise('demo-district', 2025, '更正测试');
                SELECT disclosure.publish('demo-district', 2025);}, role => 't_publisher');
    @n = wait_notification(2);
    is_deeply [ @{ $n[1] }{qw(agency year revision)} ], [ 'demo-district', 2025, 2 ], 'a correction notifies too';

    $pg->psql(q{SELECT disclosure.withdraw('demo-district', 2025, '撤回测试')}, role => 't_publisher');
    @n = wait_notification(3);
    is $n[2]{data_version}, $v0 + 3, 'and a withdrawal';
};

# a refused publish sends nothing (the version as the three publications
# of the part before left it)
part 'a refused publish sends nothing' => sub {
    my (undef, $e, $ok) = $pg->psql(q{SELECT disclosure.new_report('demo-district', 2026);
        UPDATE disclosure.applications_grid SET natural_person = '1'
         WHERE agency = 'demo-district' AND year = 2026 AND row_key = 'received';
        SELECT disclosure.publish('demo-district', 2026);}, role => 't_publisher', allow_error => 1);
    ok !$ok, 'a report that breaks 勾稽 is not published';
    like $e, qr/报告未发布/, 'and the publisher is told why';
    is $pg->psql('SELECT version FROM disclosure.data_version'), $v0 + 3, 'no version bump for a refused publish';
};

$in .= "\\q\n";
finish $listener;
done_testing;
