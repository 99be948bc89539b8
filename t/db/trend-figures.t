# format/trend-figures.tsv is the documented 2019 → 2021 mapping of the trend
# page; the migration loads it into disclosure.trend_figure: the two agree,
# and every cell it names is a cell of its format.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Encode qw(decode_utf8);
use Disclosure::Test;

my $root = "$FindBin::Bin/../..";
open my $fh, '<:encoding(UTF-8)', "$root/format/trend-figures.tsv" or die $!;
my @lines = grep { !/^#/ } <$fh>;
chomp @lines;
shift @lines;    # the header
my @want = map { my @f = split /\t/, $_, -1; $f[6] = $f[6] eq 'yes' ? 't' : 'f';
                 join '|', @f[0 .. 8] } @lines;

my $pg = Disclosure::Test->pg;
my @have = split /\n/, decode_utf8($pg->psql(
    "SELECT figure, label, unit, format, kind, cells, comparable, coalesce(note, ''), coalesce(printed, '')
       FROM disclosure.trend_figure ORDER BY ord"));

is_deeply \@have, \@want, 'disclosure.trend_figure is format/trend-figures.tsv, line for line';

my $bad = $pg->psql(q{
    SELECT string_agg(f.figure || ' ' || k, ', ')
      FROM disclosure.trend_figure f, unnest(string_to_array(nullif(f.cells, ''), '+')) k
     WHERE f.kind = 'sum'
       AND NOT EXISTS (SELECT 1 FROM disclosure.format_cell c
                        WHERE c.format = f.format AND c.tbl || '.' || c.row_key || '.' || c.col_key = k)});
is $bad, '', 'every cell the mapping adds up is a cell of its format';

is $pg->psql(q{SELECT count(DISTINCT figure) FROM disclosure.trend_figure WHERE format = 2019 AND NOT comparable}), 4,
    'four figures of the 2019 format are marked not comparable';

done_testing;
