# /{agency}/trend: every published year side by side, in HTML with an inline
# SVG chart, as a fragment, JSON and CSV; the numbers are the web API's,
# which t/sql/across.sql checks against the reports; the 2019 format's
# figures that mean something else are marked; every text escaped.
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

my $doc = api(q{SELECT disclosure_web.trend('demo-district')});
# the web API's 本年新收 of every year, which the page and the CSV show
my ($received) = grep { $_->{key} eq 'received' } @{ $doc->{figures} };
my @want = map { $_->{value} } @{ $received->{values} };

part 'the page: an accessible SVG chart and a table of the web API\'s numbers' => sub {
    my $r = get('/d/demo-district/trend');
    is $r->{status}, 200, 'trend: 200';
    is $r->{headers}{'content-type'}, 'text/html; charset=utf-8', 'HTML in UTF-8';
    like $r->{text}, qr/<html lang="zh-CN"/, 'a page of its own';
    like $r->{text}, qr{<h1>示例区人民政府历年主要数据</h1>}, 'its heading';
    like $r->{text}, qr{<a href="/d/demo-district/">示例区人民政府</a>}, 'links the agency';

    # the chart: accessible, self-contained, told apart without colour
    my ($svg) = $r->{text} =~ m{(<svg.*?</svg>)}s;
    ok $svg, 'an inline SVG chart';
    like $svg, qr/role="img"/, 'role img';
    like $svg, qr/aria-labelledby="d-chart-title d-chart-desc"/, 'labelled by its title and description';
    like $svg, qr{<title id="d-chart-title">示例区人民政府2020—2024年主要数据折线图</title>}, 'a title';
    like $svg, qr{<desc id="d-chart-desc">一、本年新收申请：2020年 \d+，}, 'a description with the numbers';
    like $svg, qr/<circle/, 'circle markers';
    like $svg, qr/<rect/, 'square markers';
    like $svg, qr/<path d="M/, 'triangle markers';
    like $svg, qr/stroke-dasharray/, 'dash patterns';
    unlike $r->{text}, qr/<script|src=|href="http/i, 'no script, no external asset';

    # the table beside it: every figure, every year, the numbers of the web API
    my ($row) = $r->{text} =~ m{<tr><th scope="row">一、本年新收申请（件）</th>(.*?)</tr>}s;
    my @cells = $row =~ m{<td class="d-num">(-?[\d.]+)}g;
    is_deeply \@cells, \@want, 'table: 本年新收 of every year, as the web API gives them';
    like $row, qr{较上年 \+?-?\d+}, 'with the change from the year before';
    for my $v (@want) { like $svg, qr{>$v</text>}, "chart: the point $v is labelled" }
    my ($normative) = $r->{text} =~ m{<tr><th scope="row">行政规范性文件本年制发件数（件）<span class="d-change">2019 年版为规范性文件“本年新制作数量”，口径不同</span></th>(.*?)</tr>}s;
    like $normative, qr{^<td class="d-num d-nc">\d+<span class="d-change">不可比</span></td><td class="d-num">\d+</td>},
        'the 2019 year of a figure that means something else: marked not comparable (why: under its name), no change after it';
    my ($fees) = $r->{text} =~ m{<tr><th scope="row">行政事业性收费金额（万元）<span[^>]*>[^<]*</span></th>(.*?)</tr>}s;
    like $fees, qr{无此项}, 'a figure the 2019 format lacks';
};

# other representations
part 'JSON, CSV and the fragment' => sub {
    my $r = get('/d/demo-district/trend.json');
    is $r->{headers}{'content-type'}, 'application/json; charset=utf-8', 'JSON';
    is_deeply decode_json($r->{content}), $doc, 'trend.json: the web API document';

    $r = get('/d/demo-district/trend.csv');
    is $r->{headers}{'content-type'}, 'text/csv; charset=utf-8', 'CSV';
    like $r->{headers}{'content-disposition'}, qr/filename="demo-district-trend\.csv"/, 'a file name';
    my @lines = split /\r\n/, $r->{text};
    is $lines[0], "\x{feff}figure,label,unit,year,value,change,comparable", 'CSV: BOM and header';
    is scalar(@lines) - 1, 5 * @{ $doc->{figures} }, 'a line per figure and year';
    is_deeply [ map { (split /,/)[4] } grep { /^received,/ } @lines ], \@want, 'CSV: the same numbers';
    ok( (grep { /^normative_issued,.*,2020,\d+,,no$/ } @lines), 'CSV: not comparable says no');

    $r = get('/d/demo-district/trend/fragment');
    is $r->{status}, 200, 'fragment: 200';
    unlike $r->{text}, qr/<html|<body/, 'fragment: no page around it';
    like $r->{text}, qr{^<style>.*<div class="disclosure d-fragment" lang="zh-CN">.*<svg}s, 'fragment: style, its box, the chart';
};

# an agency with one year, and what is not there
part 'an agency with one year, and what is not there' => sub {
    like get('/d/xigong-edz/trend')->{text}, qr{<th scope="col">2024年</th></tr>}, 'one published year: one column';
    is get('/d/no-such-agency/trend')->{status}, 404, 'unknown agency: 404';
    is get('/d/demo-district/trend.xml')->{status}, 404, 'unknown representation: 404';
    is get('/d/demo-district/trend/chart')->{status}, 404, 'unknown part: 404';
    is get('/d/demo-district/trendy')->{status}, 400, 'not a word: a malformed year';
};

# hostile text in a name is escaped in HTML, and a formula in CSV neutralised
part 'hostile text in a name is escaped' => sub {
    $pg->psql(q{UPDATE disclosure.agency SET name = '<script>alert(1)</script>&"''' WHERE slug = 'demo-district'});
    my $r = get('/d/demo-district/trend');
    unlike $r->{text}, qr/<script>alert/, 'no markup from the database';
    like $r->{text}, qr/&lt;script&gt;alert\(1\)&lt;\/script&gt;&amp;&quot;&#39;/, 'escaped';
    $r = get('/d/demo-district-education/trend');
    like $r->{text}, qr{<a href="/d/demo-district/">&lt;script&gt;}, 'escaped in the breadcrumb too';
};

done_testing;
