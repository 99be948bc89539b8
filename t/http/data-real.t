# The bulk files against real published reports: the three saved pages of
# t/import (上海市人民政府办公厅 2019, 2019 format; 沭阳县发展和改革局 2023 and
# 洛阳西工经济技术开发区 2024, 2021 format) go the editors' way
# (disclosure-import, import_report as a publisher, publish with the date
# the page gave), and every cell of data/{year}.csv and data/all.csv is
# checked against the hand transcription of the page (t/import/expected),
# not against the module's own output: a blank printed cell is an empty
# field, a slash "/", a row the page did not print "not_printed", a
# legacy report's totals as printed.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib", "$FindBin::Bin/../import/lib";
use Test::More;
use JSON::PP;
use Encode qw(decode_utf8);
use Disclosure::Test;
use Disclosure::Part;
use Disclosure::Csv qw(fields);
use Import qw(run_import read_expected cols_of);

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

$Import::DIR = "$Disclosure::Test::REPO/t/import";
ok -x $Import::TOOL, 'build/disclosure-import is built' or BAIL_OUT('make first');

my $pg = Disclosure::Test->pg;
my $json = JSON::PP->new->utf8->canonical;

my %page = (
    'shanghai-bgt-2019' => { slug => 't-shanghai', partial => 1 },
    'shuyang-fgj-2023'  => { slug => 't-shuyang' },
    'xigong-edz-2024'   => { slug => 't-xigong' },
);

# the editors' path, as t/import/load.t walks it
for my $name (sort keys %page) {
    my $p = $page{$name};
    $p->{e} = read_expected("$Import::DIR/expected/$name.txt");
    my ($rc, $out, $err) = run_import('--agency', $p->{slug}, '--scope', 'office',
                                      $p->{partial} ? '--partial' : (),
                                      "$Import::DIR/pages/$name.html");
    die "$name: disclosure-import exit $rc: $err\n" unless $rc == 0 || ($p->{partial} && $rc == 2);
    my $doc = $json->decode($out);
    # the one cell the tool leaves to the editor: 采购总金额 “251000元”
    $doc->{tables}{proactive}{procurement}{amount} = 251000 if $name =~ /^shanghai/;
    my $text = $json->encode($doc);
    $pg->psql("SELECT disclosure.import_report(\$doc\$$text\$doc\$::jsonb)", role => 't_publisher');
    $pg->psql(sprintf("SELECT disclosure.publish('%s', %d%s)", $p->{slug}, $p->{e}{year},
                      defined $doc->{published_at} ? '' : ", '2024-12-31T00:00:00+08:00'"),
              role => 't_publisher');
}

my $ngx = Disclosure::Test->nginx(pg => $pg, server => 'location /r/ { disclosure; }');

sub csv {
    my ($path) = @_;
    my $r = $ngx->get($path);
    is $r->{status}, 200, "$path: 200";
    my $body = $r->{content};
    ok $body =~ s/^\xef\xbb\xbf//, "$path: a byte order mark";
    return map { decode_utf8($_) } split /\r\n/, $body;
}

# "table.row.col" => the field the page's transcription asks for
sub printed {
    my ($e) = @_;
    my ($cols) = cols_of($e->{format});
    my %want;
    for my $c (@{$e->{cells}}) {
        my ($t, @rest) = @$c;
        my @cells;
        if ($t eq 'appeals') {
            my $i = 0;
            for my $r (qw(review suit_direct suit_after_review)) {
                push @cells, [$r, $_, $rest[$i++]] for @{$cols->{appeals}{$r}};
            }
        } else {
            my ($r, @vals) = @rest;
            my @cc = @{$cols->{$t}{$r} // ($t eq 'applications' && $r eq 'other'
                         ? $cols->{applications}{received} : [])};
            push @cells, [$r, $cc[$_], $vals[$_]] for 0 .. $#cc;
        }
        for (@cells) {
            my ($r, $col, $v) = @$_;
            $want{"$t.$r.$col"} = $v eq '-' ? '' : $v eq 'np' ? 'not_printed'
                                : $v eq 'x' ? 'x' : $v;
        }
    }
    $want{'proactive.procurement.amount'} = '251000'
        if ($want{'proactive.procurement.amount'} // '') eq 'x';
    return \%want;
}

my %long;
part 'data/all.csv: every printed cell of the three pages' => sub {
    my ($header, @lines) = csv('/r/data/all.csv');
    is $header, 'agency,year,table,row,col,value', 'the long header';
    for (@lines) {
        my ($a, $y, $t, $r, $c, $v) = fields($_);
        $long{$a}{"$t.$r.$c"} = $v;
    }
    for my $name (sort keys %page) {
        my $p = $page{$name};
        my $want = printed($p->{e});
        my $got = $long{$p->{slug}} // {};
        my @diff = map { "$_: page " . ($want->{$_} // 'absent') . ', file ' . ($got->{$_} // 'absent') }
                   grep { ($want->{$_} // "\0") ne ($got->{$_} // "\0") }
                   sort keys %{{ %$want, %$got }};
        is scalar(@diff), 0, "$name: all.csv's " . scalar(keys %$got) . ' lines are the page\'s '
                             . scalar(keys %$want) . ' cells' or diag join "\n", @diff[0 .. ($#diff > 20 ? 20 : $#diff)];
    }
};

part 'data/{year}.csv: one line a page, its cells the page\'s' => sub {
    for my $name (sort keys %page) {
        my $p = $page{$name};
        my $e = $p->{e};
        my ($header, @lines) = csv("/r/data/$e->{year}.csv");
        my @cols = fields($header);
        my @mine = grep { (fields($_))[0] eq $p->{slug} } @lines;
        is scalar(@mine), 1, "$name: one line in $e->{year}.csv" or next;
        my %row;
        @row{@cols} = fields($mine[0]);
        is $row{name}, $e->{agency}, "$name: the agency's name as printed";
        is $row{year}, $e->{year}, "$name: the year";
        is $row{format}, $e->{format}, "$name: the format";
        is $row{legacy}, 'true', "$name: a legacy report (imported)";
        is $row{index_no}, $e->{index_no} // '', "$name: 索引号";
        my $want = printed($e);
        my @diff = map { "$_: page $want->{$_}, file " . ($row{$_} // 'no column') }
                   grep { !defined $row{$_} || $row{$_} ne $want->{$_} } sort keys %$want;
        is scalar(@diff), 0, "$name: the page's " . scalar(keys %$want) . ' cells in their columns'
            or diag join "\n", @diff[0 .. ($#diff > 20 ? 20 : $#diff)];
        my @extra = grep { !exists $want->{$_} && $row{$_} ne 'not_printed' } @cols[12 .. $#cols];
        is_deeply \@extra, [], "$name: every other column not_printed";
        is_deeply $long{$p->{slug}}, { map { $_ => $row{$_} } keys %{ $long{$p->{slug}} } },
            "$name: the same values as all.csv";
    }
};

done_testing;
