# The format's labels are typed once, in format/*.tsv: the SQL vocabulary and
# the C tables generated from them are up to date.
use strict;
use warnings;
use FindBin;
use Test::More;

my $root = "$FindBin::Bin/../..";

my $sql = `$root/format/gen-sql`;
is $?, 0, 'format/gen-sql runs';
open my $fh, '<', "$root/sql/functions/00_format.sql" or die $!;
my $committed = do { local $/; <$fh> };
ok $sql eq $committed, 'sql/functions/00_format.sql is what format/gen-sql makes of the TSVs';

my $out = `$root/format/gen-c --check 2>&1`;
is $?, 0, 'ngx_http_disclosure_format.[ch] are what format/gen-c makes of the TSVs' or diag $out;

done_testing;
