# Reports as they were printed (issue 10), served: a legacy report with the
# merged （六） row, a block not printed, scope unknown and a printed total
# that is not the sum of its parts; HTML, JSON and CSV give the same values
# (the printed ones), JSON and CSV the derived one beside; a legacy report on
# the 2019 layout for 2024 is served with its R12 finding on the page.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Encode qw(decode_utf8);
use JSON::PP;
use Disclosure::Test;
use Disclosure::Part;

binmode Test::More->builder->$_, ":encoding(UTF-8)" for qw(output failure_output todo_output);

my $pg = Disclosure::Test->pg(sample => 1);
my $ngx = Disclosure::Test->nginx(pg => $pg, server => 'location /r/ { disclosure; }');

# 示例区住房和城乡建设局 2023 as another agency would have printed it
$pg->psql(q{
    INSERT INTO disclosure.agency (slug, name, kind) VALUES ('t-printed', '原样局', 'department');
    CREATE TABLE doc AS
    SELECT jsonb_set(disclosure.export_report('demo-district-housing', 2023)::jsonb, '{agency}',
                     '{"slug": "t-printed", "name": "原样局", "kind": "department", "parent": null}') AS d;
    -- （六） as one row: its three sub-rows not printed, one 重复申请 moved there
    UPDATE doc SET d = jsonb_set(d, '{tables,applications}', (d #> '{tables,applications}') ||
           (SELECT jsonb_object_agg(r, x.v) FROM unnest('{other_no_correction,other_unpaid_fee,other_misc}'::text[]) r,
                   (SELECT jsonb_object_agg(k, 'not_printed') AS v
                      FROM jsonb_object_keys(d #> '{tables,applications,other_misc}') k) x));
    UPDATE doc SET d = jsonb_set(d, '{tables,applications,rejected_duplicate,natural_person}', '0');
    UPDATE doc SET d = jsonb_set(d, '{tables,proactive,fees,amount}', '"not_printed"');
    UPDATE doc SET d = d || '{"legacy": true, "scope": "unknown", "published_at": "2024-01-20T09:30:00+08:00",
                              "published_totals": {"applications": {"other": {"natural_person": 1, "business": 0,
                                  "research": 0, "nonprofit": 0, "legal_services": 0, "other_org": 0, "total": 1}},
                                                   "appeals": {"review": {"total": 0}}}}';
    SELECT disclosure.import_report(d) FROM doc;
    SELECT disclosure.publish('t-printed', 2023);
    -- a 2024 report printed on the 2019 layout, imported as printed
    SELECT disclosure.import_report(jsonb_set(jsonb_set(disclosure.export_report('demo-district-housing', 2020)::jsonb,
               '{agency}', '{"slug": "t-printed", "name": "原样局", "kind": "department", "parent": null}'),
               '{year}', '2024') || '{"legacy": true}');
    SELECT disclosure.publish('t-printed', 2024);
});

my $page = decode_utf8($ngx->get('/r/t-printed/2023')->{content});
my $json = decode_json($ngx->get('/r/t-printed/2023.json')->{content});
my $csv = decode_utf8($ngx->get('/r/t-printed/2023.csv')->{content});

# -- the page shows the rows as printed --------------------------------------------------------
part 'the page shows the rows as printed' => sub {
    like $page, qr{<th scope="row" id="d-applications-r-other"[^>]*>（六）其他处理</th>},
        'HTML: one （六）其他处理 row, as printed';
    unlike $page, qr/d-applications-r-other_(?:no_correction|unpaid_fee|misc)/, 'HTML: and not its three sub-rows';
    like $page, qr{<td class="d-num" headers="[^"]*d-applications-r-other [^"]*d-applications-c-natural_person">1</td>},
        'HTML: with its printed numbers';
    like $page, qr{<td class="d-np"[^>]*headers="[^"]*d-proactive-\d+-r-fees">未列出</td>},
        'HTML: the block of 二 not printed is one cell that says 未列出, no empty cells';
    like $page, qr{<span>统计范围：原报告未说明</span>}, 'HTML: scope unknown is shown';
    like $page, qr{发布日期：<time datetime="2024-01-20T09:30:00\+08:00">}, 'HTML: the original publication date';
    like $page, qr{<td class="d-num d-total d-differs" headers="[^"]*">0<span class="d-derived">（分项合计：2）</span></td>},
        'HTML: the printed total 0, the derived 2 beside it';
};

# the CSV's cells (table.row.col => [value, derived]), as the next part reads
# them; the two after it compare the JSON and the page with them
my %csv;

# -- JSON and CSV give the printed value, and the derived one beside ---------------------------
part 'JSON and CSV give the printed value, and the derived one beside' => sub {
    is $json->{tables}{appeals}{review}{total}, 0, 'JSON: tables gives the total as printed';
    is $json->{derived_totals}{appeals}{review}{total}, 2, 'JSON: derived_totals the derived one';
    is $json->{tables}{applications}{other_misc}{natural_person}, 'not_printed', 'JSON: "not_printed"';
    is $json->{published_totals}{applications}{other}{natural_person}, 1, 'JSON: the merged row';
    is $json->{scope}, 'unknown', 'JSON: scope unknown';
    is $json->{published_at}, '2024-01-20T09:30:00+08:00', 'JSON: the original publication date';

    my @lines = split /\r\n/, $csv;
    is $lines[0], "\x{feff}table,row,col,value,derived", 'CSV: the header, a fifth column';
    for (@lines[1 .. $#lines]) {
        my @f = split /,/, $_, -1;
        is scalar(@f), 5, "CSV: five fields: $_" if @f != 5;
        $csv{"$f[0].$f[1].$f[2]"} = [ $f[3], $f[4] ];
    }
    is_deeply $csv{'appeals.review.total'}, [ '0', '2' ], 'CSV: the printed total as the value, the derived beside';
    is_deeply $csv{'applications.received.total'}, [ '40', '' ], 'CSV: no derived where they agree';
    is_deeply $csv{'applications.other_misc.business'}, [ 'not_printed', '' ], 'CSV: not_printed';
    is_deeply $csv{'proactive.fees.amount'}, [ 'not_printed', '' ], 'CSV: the block not printed';
    is_deeply $csv{'applications.other.natural_person'}, [ '1', '' ], 'CSV: the merged row under the 2019 key';
};

# every cell: CSV value = JSON tables value
part 'CSV and JSON give every cell the same value' => sub {
    my @differ;
    for my $t (keys %{ $json->{tables} }) {
        for my $r (keys %{ $json->{tables}{$t} }) {
            for my $c (keys %{ $json->{tables}{$t}{$r} }) {
                my $j = $json->{tables}{$t}{$r}{$c} // '';
                push @differ, "$t.$r.$c" if !exists $csv{"$t.$r.$c"} || $csv{"$t.$r.$c"}[0] ne $j;
            }
        }
    }
    is_deeply \@differ, [], 'CSV and JSON give every cell the same value';
};

# every cell shown on the page = the CSV's value (未列出 for not_printed)
part 'the page shows every cell as the CSV gives it' => sub {
    my %html;
    while ($page =~ m{<td class="d-num[^"]*" headers="([^"]*)">(.*?)</td>}gs) {
        my ($headers, $v) = ($1, $2);
        $v =~ s{<span class="d-derived">.*?</span>}{}s;
        my ($t, $row) = $headers =~ /\bd-(\w+?)(?:-\d+)?-r-(\w+)/ or next;
        my ($col) = $headers =~ /\bd-\Q$t\E(?:-\d+)?-c-(\w+)/ or next;
        $html{"$t.$row.$col"} = $v;
    }
    cmp_ok scalar(keys %html), '>', 100, scalar(keys %html) . ' cells read from the page';
    my @page_differs = grep {
        my $want = $csv{$_}[0] eq 'not_printed' ? '未列出' : $csv{$_}[0];
        !exists $csv{$_} || $html{$_} ne $want
    } sort keys %html;
    is_deeply \@page_differs, [], 'the page shows every cell as the CSV gives it';
};

# -- a legacy report on the 2019 layout for 2024 -----------------------------------------------
part 'a legacy report on the 2019 layout for 2024, with its R12 finding' => sub {
    my $r = $ngx->get('/r/t-printed/2024');
    is $r->{status}, 200, 'a 2024 report printed on the 2019 layout is published (legacy)';
    like decode_utf8($r->{content}), qr{<p class="d-legacy">原报告使用 2019 版格式；2024 年度的报告应使用 2021 版格式。},
        'and its R12 finding is on the page';
};

done_testing;
