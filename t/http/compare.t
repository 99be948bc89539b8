# /{agency}/{year}/compare: a year's report, every cell with last year's value
# and the change; across the 2019 → 2021 change of format, the cells last
# year lacked are marked not comparable; a fragment per table, JSON, CSV.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use JSON::PP;
use Encode qw(decode_utf8 encode_utf8);
use Disclosure::Test;
use Disclosure::Part;

binmode Test::More->builder->$_, ":encoding(UTF-8)" for qw(output failure_output todo_output);

my $pg = Disclosure::Test->pg(sample => 1);
my $ngx = Disclosure::Test->nginx(pg => $pg, server => 'location /d/ { disclosure; }');

sub get { my $r = $ngx->get(@_); $r->{text} = decode_utf8($r->{content} // ''); return $r }
sub api { decode_json(encode_utf8(decode_utf8($pg->psql($_[0])))) }
sub cell {
    my ($agency, $year, $tbl, $row, $col) = @_;
    return $pg->psql(qq{SELECT coalesce(c.value::text, '') FROM disclosure.public_revision p
        JOIN disclosure.cell_value c ON c.revision_id = p.revision_id
        WHERE p.agency = '$agency' AND p.year = $year AND c.tbl = '$tbl' AND c.row_key = '$row' AND c.col_key = '$col'});
}

part 'the page: every cell with last year\'s value and the change' => sub {
    my $r = get('/d/demo-district/2024/compare');
    is $r->{status}, 200, 'compare: 200';
    like $r->{text}, qr{<h1>示例区人民政府 2024年度报告与上年对比</h1>}, 'its heading';
    like $r->{text}, qr{<a href="/d/demo-district/2024\.html">2024年度报告全文</a>}, "links this year's report";
    like $r->{text}, qr{<a href="/d/demo-district/2023\.html">2023年度报告全文</a>}, "and last year's";
    like $r->{text}, qr{<caption>三、收到和处理政府信息公开申请情况：2024年度与2023年度对比</caption>}, 'a table per table';
    like $r->{text}, qr{<th scope="col">2024年度</th><th scope="col">2023年度</th><th scope="col">变化</th>}, 'this year, last year, change';

    # every cell of 三's 一、本年新收 row: this year, last year, the change
    for my $col (qw(natural_person business total)) {
        my ($now, $before) = (cell('demo-district', 2024, 'applications', 'received', $col),
                              cell('demo-district', 2023, 'applications', 'received', $col));
        my $change = $now - $before;
        $change = "+$change" if $change > 0;
        like $r->{text}, qr{<td class="d-num">$now</td><td class="d-num">$before</td><td class="d-num">\Q$change\E</td>},
            "received $col: $now, $before, $change";
    }
    like $r->{text}, qr{<th scope="rowgroup" rowspan="7">一、本年新收政府信息公开申请数量</th>},
        'the row label spans its seven columns';
};

# across the change of format
part 'across the 2019 to 2021 change of format' => sub {
    my $r = get('/d/demo-district/2021/compare');
    like $r->{text}, qr{<th scope="row">本年制发件数</th><td class="d-num">\d+</td><td class="d-num d-nc">不可比</td><td class="d-num"></td>},
        '2021 against 2020 (2019 format): a proactive cell the old format lacks is not comparable';
    my ($now, $before) = (cell('demo-district', 2021, 'appeals', 'review', 'total'),
                          cell('demo-district', 2020, 'appeals', 'review', 'total'));
    like $r->{text}, qr{<td class="d-num">$now</td><td class="d-num">$before</td>}, 'a cell both formats have is compared';
    like get('/d/demo-district/2020/compare')->{text}, qr/没有已发布的2019年度报告，无从对比/,
        'the first year: nothing to compare with, said so';
};

# representations
part 'JSON, CSV and a fragment per table' => sub {
    my $r = get('/d/demo-district/2024/compare.json');
    is_deeply decode_json($r->{content}), api(q{SELECT disclosure_web.compare('demo-district', 2024)}),
        'compare.json: the web API document';
    $r = get('/d/demo-district/2024/compare.csv');
    like $r->{headers}{'content-disposition'}, qr/filename="demo-district-2024-compare\.csv"/, 'CSV: a file name';
    my @lines = split /\r\n/, $r->{text};
    is $lines[0], "\x{feff}table,row,col,value,previous,change", 'CSV: header';
    is scalar(@lines) - 1, $pg->psql('SELECT count(*) FROM disclosure.format_cell WHERE format = 2021'), 'CSV: a line per cell';
    my ($t) = grep { /^applications,received,total,/ } @lines;
    is $t, sprintf('applications,received,total,%s,%s,%s', cell('demo-district', 2024, 'applications', 'received', 'total'),
        cell('demo-district', 2023, 'applications', 'received', 'total'),
        cell('demo-district', 2024, 'applications', 'received', 'total') - cell('demo-district', 2023, 'applications', 'received', 'total')),
        'CSV: value, previous, change';

    $r = get('/d/demo-district/2024/compare/appeals');
    is $r->{status}, 200, 'fragment: 200';
    unlike $r->{text}, qr/<html|<h1/, 'fragment: no page, no heading';
    like $r->{text}, qr{<div class="disclosure d-fragment" lang="zh-CN">\n<div class="d-scroll".*d-c-appeals}s, "fragment: the one table";
    unlike $r->{text}, qr/class="d-table d-compare d-c-applications/, 'and no other';
};

part 'what does not exist, and a malformed year' => sub {
    is get('/d/demo-district/2025/compare')->{status}, 404, 'a draft year: 404';
    is get('/d/demo-district/2024/compare/fees')->{status}, 404, 'unknown table: 404';
    is get('/d/demo-district/2024/compare.pdf')->{status}, 404, 'unknown representation: 404';
    is get('/d/demo-district/24/compare')->{status}, 400, 'a malformed year: 400';
};

done_testing;
