# The README's worked editor session, pasted into psql as a publisher, works.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Disclosure::Test;

my $pg = Disclosure::Test->pg(sample => 1);

open my $fh, '<:encoding(UTF-8)', "$FindBin::Bin/../../README.md" or die $!;
my $readme = do { local $/; <$fh> };
my ($session) = $readme =~ /### A worked session.*?```sql\n(.*?)```/s;
ok $session, 'the README has a worked session';

my $file = $pg->dir . '/session.sql';
open my $out, '>:encoding(UTF-8)', $file or die $!;
print $out $session;
close $out;

my ($stdout, $stderr, $ok) = $pg->psql(undef, file => $file, role => 't_publisher', allow_error => 1);
ok $ok, 'the session runs to the end' or diag $stderr;
my @errors = $stderr =~ /^psql:.*ERROR:\s*(.*)$/mg;
is_deeply \@errors, ['报告已发布，不可修改（修订版本 1 的状态为 published）'],
    'its only error is the one it shows on purpose: a published report is immutable';
is $pg->psql(q{SELECT string_agg(revision || ':' || status, ',' ORDER BY revision)
                 FROM disclosure.revision_history WHERE agency = 'demo-district-education' AND year = 2025}),
    '1:published,2:published', 'the report was published and corrected';
is $pg->psql(q{SELECT count(*) FROM disclosure.check_report('demo-district-education', 2025)
                WHERE severity = 'error'}), 0, 'with no error left';
done_testing;
