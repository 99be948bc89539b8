# disclosure-import on damaged and hostile input: a clear error and exit 2
# (64 for bad usage, 66 for a file it cannot open), never a crash, never a
# document with a guess in it.  Pages are made here from the saved ones.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../lib";
use Test::More;
use JSON::PP;
use Encode qw(decode encode);
use File::Temp qw(tempdir);
use Import qw(run_import $TOOL $DIR);
use Disclosure::Part;

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

ok -x $TOOL, 'build/disclosure-import is built' or BAIL_OUT('make first');

my $tmp = tempdir(CLEANUP => 1);

sub slurp { open my $fh, '<:raw', $_[0] or die "$_[0]: $!"; local $/; return scalar <$fh> }
sub spew { open my $fh, '>:raw', $_[0] or die "$_[0]: $!"; print $fh $_[1]; close $fh or die $! }

my $xigong  = decode('UTF-8', slurp("$DIR/pages/xigong-edz-2024.html"));
my $shuyang = slurp("$DIR/pages/shuyang-fgj-2023.html");

# runs the tool on $bytes: (exit, stdout, stderr decoded, signal)
sub try_page {
    my ($name, $bytes, @args) = @_;
    my $file = "$tmp/$name.html";
    spew($file, $bytes);
    my ($rc, $out, $err, $sig) = run_import(@args, $file);
    return ($rc, $out, decode('UTF-8', $err, Encode::FB_DEFAULT), $sig);
}

sub refused {
    my ($name, $bytes, $re, @args) = @_;
    my ($rc, $out, $err, $sig) = try_page($name, $bytes, @args);
    part $name => sub {
        is $sig, 0, 'no crash (no signal)';
        is $rc, 2, 'exit 2';
        is $out, '', 'no document';
        like $err, $re, 'says why';
        unlike $err, qr/[\x00-\x08]/, 'no control bytes in the messages';
    };
    return $err;
}

# -- damaged files ---------------------------------------------------------

refused('truncated', substr($shuyang, 0, int(length($shuyang) * 0.55)),
        qr/error: no table “四、政府信息公开行政复议、行政诉讼情况” found/);
refused('truncated-in-a-character', substr($shuyang, 0, 20001) =~ s/[\x80-\xbf]+\z//r . "\xe5\x85",
        qr/error: the page says it is UTF-8, but byte \d+ is not UTF-8|error: no table/);
refused('no tables', encode('UTF-8', '<html><head><meta charset="utf-8"><title>2020年某局政府信息公开工作年度报告</title></head><body><p>一、总体情况</p><p>正文。</p></body></html>'),
        qr/error: the page has no tables/);
refused('empty', '', qr/error: the file is empty/);
# a label before the year, after 政府信息公开 (this looped for ever once)
refused('title with a label after 政府信息公开',
        encode('UTF-8', '<html><body><p>政府信息公开年报：2023年报告</p><table><tr><td>x</td></tr></table></body></html>'),
        qr/error: no agency name in the page's title line; give --name/, '--agency', 'x');

{
    srand(20241204);
    my $junk = join '', map { chr(int(rand(256))) } 1 .. 200_000;
    refused('binary junk', $junk, qr/error: the file holds NUL bytes|error: byte \d+ is not GB18030/);
    (my $nonul = $junk) =~ tr/\0/\x01/;
    refused('binary junk without NUL bytes', $nonul, qr/error: byte \d+ is not GB18030|error: the page has no tables|error: no table/);
}

refused('a PNG', "\x89PNG\r\n\x1a\n" . ("\0\x10IHDR" x 50), qr/error: the file holds NUL bytes/);

# -- a table with an extra column ---------------------------------------------

{
    # 三: a 备注 column after 总计, with a value in one row
    my $page = $xigong;
    $page =~ s{(<td[^>]*rowspan=2[^>]*><p[^>]*><span[^>]*>总计</span></p></td>)}{$1<td rowspan=2><p>备注</p></td>};
    $page =~ s{(<td[^>]*colspan=7[^>]*>)}{<td colspan=8>};
    $page =~ s{(一、本年新收政府信息公开申请数量.*?)(</tr>)}{$1<td>说明</td>$2}s;
    $page =~ s{(<tr[^>]*>(?:(?!</tr>).)*?(?:予以公开|总计\)|结转下年度)(?:(?!</tr>).)*?)(</tr>)}{$1 . '<td>&nbsp;</td>' . $2}sge;
    my $err = refused('extra column in 三', encode('UTF-8', $page),
                      qr/unknown column label “备注”/);
}
{
    # 二: a fourth column in 第二十条第（一）项
    my $page = $xigong;
    $page =~ s{(现行有效件数</span></p></td>)}{$1<td><p>备注</p></td>};
    $page =~ s{(规章</span></p></td>(?:<td[^>]*>.*?</td>){3})}{$1<td><p>7</p></td>}s;
    refused('extra column in 二', encode('UTF-8', $page), qr/unknown column label “备注”/);
}

# -- cells it must not guess ------------------------------------------------------

{
    my $page = $xigong;
    $page =~ s{(行政规范性文件</span></p></td><td[^>]*><p[^>]*><span[^>]*>)0}{${1}约5};
    refused('a cell that is not a number', encode('UTF-8', $page),
            qr/table 1 \(proactive\), row 4 “行政规范性文件”, column “本年制发件数”: “约5” is not a number/);
}
{
    my $page = $xigong;
    $page =~ s{1\. 属于国家秘密}{1. 属于国家秘蜜};
    refused('an unknown row label (a typo it does not know)', encode('UTF-8', $page),
            qr/unknown row label “1\. 属于国家秘蜜”/);
}
{
    refused('--format 2019 on a 2021 page', encode('UTF-8', $xigong),
            qr/--format 2019, but the page's table 二 has the column labels of the 2021 format/,
            '--format', '2019');
    refused('--year that the title contradicts', encode('UTF-8', $xigong),
            qr/--year 2023, but the page's title says 2024/, '--year', '2023');
}

# -- tolerated: full-width digits, dashes, slashes, spaced labels, missing rows ----

part 'tolerated: full-width digits, a dash, a slash and a full-width decimal' => sub {
    my $page = $xigong;
    # 行政许可 0 -> ０ (full width), 行政处罚 -> "—", 行政强制 -> "／"
    $page =~ s{(行政许可</span></p></td><td[^>]*><p[^>]*><span[^>]*>)0}{${1}１２};
    $page =~ s{(行政处罚</span></p></td><td[^>]*><p[^>]*><span[^>]*>)0}{${1}—};
    $page =~ s{(行政强制</span></p></td><td[^>]*><p[^>]*><span[^>]*>)0}{${1}／};
    $page =~ s{(行政事业性收费</span></p></td><td[^>]*><p[^>]*><span[^>]*>)0}{${1}１．５０};
    my ($rc, $out, $err) = try_page('full width', encode('UTF-8', $page), '--agency', 'x');
    is $rc, 0, 'full-width digits, a dash and a slash: exit 0' or diag $err;
    my $d = JSON::PP->new->utf8->decode($out);
    is $d->{tables}{proactive}{licensing}{decisions}, 12, '１２ is 12';
    is $d->{tables}{proactive}{penalties}{decisions}, '/', '— is "/"';
    is $d->{tables}{proactive}{enforcement}{decisions}, '/', '／ is "/"';
    like $out, qr/"amount": 1\.50\b/, '１．５０ 万元 is the exact decimal 1.50';
};
part 'tolerated: a row not printed is "not_printed", with a note' => sub {
    # a row the report did not print
    my $page = $xigong;
    $page =~ s{<tr[^>]*><td[^>]*><p[^>]*><span[^>]*>行政强制</span>.*?</tr>\n}{}s;
    my ($rc, $out, $err) = try_page('missing row', encode('UTF-8', $page), '--agency', 'x');
    is $rc, 0, 'a row not printed: exit 0' or diag $err;
    like $err, qr/note: proactive, row “行政强制” not printed: "not_printed"/, 'a note says so';
    my $d = JSON::PP->new->utf8->decode($out);
    is $d->{tables}{proactive}{enforcement}{decisions}, 'not_printed', '"not_printed", not blank';
};
part 'tolerated: （六）其他处理 printed as one row (the 2019 layout) in a 2021 report' => sub {
    # 2021 report with （六）其他处理 printed as one row (the 2019 layout)
    my $page = $xigong;
    my $row = '<tr><td colspan=2><p>（六）其他处理</p></td>' . join('', map { "<td>$_</td>" } 1, 0, 0, 0, 0, 0, 1) . "</tr>\n";
    $page =~ s{<tr[^>]*><td[^>]*rowspan=3[^>]*><p[^>]*><span[^>]*>\(六\) 其他处理.*?3\. 其他.*?</tr>\n}{$row}s
        or die 'no （六） rows in the page';
    my ($rc, $out, $err) = try_page('merged six', encode('UTF-8', $page), '--agency', 'x');
    is $rc, 0, 'merged （六）: exit 0' or diag $err;
    like $err, qr/（六）其他处理 printed as one row/, 'a note says so';
    my $d = JSON::PP->new->utf8->decode($out);
    is $d->{tables}{applications}{$_}{natural_person}, 'not_printed', "$_ not printed"
        for qw(other_no_correction other_unpaid_fee other_misc);
    is_deeply $d->{published_totals}{applications}{other},
        { natural_person => 1, business => 0, research => 0, nonprofit => 0,
          legal_services => 0, other_org => 0, total => 1 },
        'its printed values in published_totals.applications.other';
};

part 'the same report laid out differently gives the same document' => sub {
    # the same report, laid out differently: the document must not change
    my ($rc0, $want) = try_page('as saved', encode('UTF-8', $xigong), '--agency', 'x');
    is $rc0, 0, 'the page as saved: exit 0';

    # 三 split in two tables at a page break (Word), the second without a header
    my $page = $xigong;
    $page =~ s{(<tr[^>]*><td[^>]*rowspan=3[^>]*><p[^>]*><span[^>]*>\(四\) 无法提供)}
              {</tbody></table></div>\n<p class=MsoNormal>&nbsp;</p>\n<div align=center><table border=1><tbody>$1}
        or die 'no （四）';
    my ($rc, $got, $err) = try_page('split', encode('UTF-8', $page), '--agency', 'x');
    is $rc, 0, '三 split in two tables: exit 0' or diag $err;
    is $got, $want, '三 split in two tables: the same document';

    # everything inside a layout table, as portal templates do
    $page = $xigong;
    $page =~ s{(<div class=WordSection1[^>]*>)}{<table width="100%"><tr><td class="main">$1}
        or die 'no WordSection1';
    $page =~ s{(</div>\n)(</body>)}{$1</td></tr></table>\n$2} or die 'no </body>';
    ($rc, $got, $err) = try_page('layout', encode('UTF-8', $page), '--agency', 'x');
    is $rc, 0, 'inside a layout table: exit 0' or diag $err;
    is $got, $want, 'inside a layout table: the same document';

    # GB2312 declared, GB18030 bytes
    ($page = $xigong) =~ s/charset=utf-8/charset=gb2312/;
    ($rc, $got, $err) = try_page('gb2312', encode('cp936', $page), '--agency', 'x');
    is $rc, 0, 'GB2312 page: exit 0' or diag $err;
    is $got, $want, 'GB2312 page: the same document';
};

part 'a 2021 report printed on the 2019 layout is read as printed' => sub {
    # a 2021 report printed on the 2019 layout (a known error): read as printed
    my $page = decode('UTF-8', slurp("$DIR/pages/shanghai-bgt-2019.html"));
    $page =~ s/2019年上海市人民政府办公厅/2021年上海市人民政府办公厅/g;
    $page =~ s/251000元/251000/;
    my ($rc, $out, $err) = try_page('2019 layout in 2021', encode('UTF-8', $page), '--agency', 'x');
    is $rc, 0, 'a 2021 report on the 2019 layout: exit 0' or diag $err;
    like $err, qr/note: a 2021 report printed on the 2019 format: read as the 2019 format/, 'a note says so';
    my $d = JSON::PP->new->utf8->decode($out);
    is $d->{year}, 2021, 'year 2021';
    is $d->{format}, 2019, 'format 2019, as printed';
};

# -- a 50 MB file: generated here, never committed ------------------------------

part 'a 50 MB file is refused' => sub {
    my $file = "$tmp/big.html";
    open my $fh, '>:raw', $file or die $!;
    print $fh encode('UTF-8', $xigong);
    my $para = encode('UTF-8', '<p>' . ('政府信息公开' x 100) . "</p>\n");
    print $fh $para x int(50 * 1024 * 1024 / length($para) + 1);
    close $fh or die $!;
    ok -s $file > 50 * 1024 * 1024, '50 MB page';
    my ($rc, $out, $err, $sig) = run_import($file);
    is $sig, 0, '50 MB: no crash';
    is $rc, 2, '50 MB: exit 2';
    like decode('UTF-8', $err), qr/error: the file has \d{8} bytes; a report page has far fewer \(the limit is 32 MiB\)/,
        '50 MB: says the file is too big';
    unlink $file;
};

# -- usage -------------------------------------------------------------------------

part 'usage: exit 64 for bad arguments, 66 for a missing file' => sub {
    my ($rc, $out, $err) = run_import();
    is $rc, 64, 'no page: exit 64';
    like $err, qr/usage: disclosure-import/, 'no page: usage';
    ($rc, $out, $err) = run_import('--year', 'abc', 'x.html');
    is $rc, 64, '--year abc: exit 64';
    ($rc, $out, $err) = run_import('--format', '2020', 'x.html');
    is $rc, 64, '--format 2020: exit 64';
    ($rc, $out, $err) = run_import('--bogus', 'x', 'x.html');
    is $rc, 64, 'unknown option: exit 64';
    ($rc, $out, $err) = run_import('a.html', 'b.html');
    is $rc, 64, 'two pages: exit 64';
    ($rc, $out, $err) = run_import("$tmp/none.html");
    is $rc, 66, 'a missing file: exit 66';
    like $err, qr/No such file or directory/, 'a missing file: says so';
};

done_testing;
