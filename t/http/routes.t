# Every route and status, with real data: pages, fragments, JSON, CSV,
# validators and conditional requests, bad paths, escaping, a large page.
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
my $ngx = Disclosure::Test->nginx(pg => $pg, server => 'location /disclosure/ { disclosure; }');

sub get { my $r = $ngx->get(@_); $r->{text} = decode_utf8($r->{content} // ''); return $r }

# -- the index and an agency ------------------------------------------------
part 'the index and an agency, as HTML and JSON' => sub {
    my $r = get('/disclosure/');
    is $r->{status}, 200, 'index: 200';
    is $r->{headers}{'content-type'}, 'text/html; charset=utf-8', 'index: HTML in UTF-8';
    is $r->{headers}{'x-content-type-options'}, 'nosniff', 'index: nosniff';
    like $r->{text}, qr/<html lang="zh-CN"/, 'index: lang zh-CN';
    like $r->{text}, qr/示例区人民政府/, 'index: a district';
    unlike $r->{text}, qr/示例区教育局/, 'index: the top of the hierarchy only (its departments are on its page)';
    like $r->{text}, qr{<a href="/disclosure/2024/">2024年度</a>}, 'index: links the year pages';
    like $r->{text}, qr{href="/disclosure/xigong-edz/"}, 'index: links an agency';
    unlike $r->{text}, qr/2025/, 'index: no draft year';

    $r = get('/disclosure/index.json');
    is $r->{status}, 200, 'index.json: 200';
    is $r->{headers}{'content-type'}, 'application/json; charset=utf-8', 'index.json: JSON in UTF-8';
    is_deeply decode_json($r->{content}), decode_json(encode_utf8(decode_utf8($pg->psql('SELECT disclosure_web.index()')))),
        'index.json: the web API document';

    $r = get('/disclosure/demo-district/');
    is $r->{status}, 200, 'agency: 200';
    like $r->{text}, qr/示例区人民政府/, 'agency: its name';
    like $r->{text}, qr{href="/disclosure/demo-district/2024\.html"}, 'agency: links its years';
    like $r->{text}, qr{<li><a href="/disclosure/demo-district-education/">示例区教育局</a>\n<ul class="d-years"><li><a href="/disclosure/demo-district-education/2024\.html">2024年</a>},
        'agency: lists its departments, each with its years';
    like $r->{text}, qr{<a href="/disclosure/demo-district/trend">历年主要数据</a>}, 'agency: links its trend';
    like $r->{text}, qr{<a href="/disclosure/demo-district/2024/rollup">2024年度本机关及下级机关汇总</a>}, 'agency: and its roll-up';
    $r = get('/disclosure/demo-district/index.json');
    is decode_json($r->{content})->{agency}{slug}, 'demo-district', 'agency/index.json: the agency document';

    $r = get('/disclosure/demo-district');
    is $r->{status}, 301, 'agency without its slash: 301';
    like $r->{headers}{location}, qr{/disclosure/demo-district/$}, 'to the slash';
};

# -- a report in every representation --------------------------------------
part 'a report in every representation, with validators and conditional requests' => sub {
    my $r = get('/disclosure/xigong-edz/2024');
    is $r->{status}, 200, 'report: 200';
    like $r->{text}, qr/洛阳西工经济技术开发区管理委员会\s*2024\s*年政府信息公开工作年度报告/, 'report: its title';
    my @headings = $r->{text} =~ /<h2[^>]*>([^<]*)</g;
    is_deeply [ grep { /^[一二三四五六]、/ } @headings ],
        [ '一、总体情况', '二、主动公开政府信息情况', '三、收到和处理政府信息公开申请情况',
          '四、政府信息公开行政复议、行政诉讼情况', '五、存在的主要问题及改进情况', '六、其他需要报告的事项' ],
        'report: the six sections in order';
    like $r->{text}, qr/本年废止件数/, 'report: the format\'s label, not the seed\'s typo';
    unlike $r->{text}, qr/本年度止件数/, 'report: the typo is gone';
    like $r->{text}, qr/（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）/, 'report: the 勾稽 note';
    like $r->{text}, qr/（一）主动公开情况。按照上级信息公开工作要求/, 'report: the narrative verbatim';
    ok $r->{headers}{etag}, 'report: an ETag';
    ok $r->{headers}{'last-modified'}, 'report: a Last-Modified';
    is $r->{headers}{'content-length'}, length $r->{content}, 'report: Content-Length';
    my ($etag, $lm) = ($r->{headers}{etag}, $r->{headers}{'last-modified'});
    is get('/disclosure/demo-district/2024')->{headers}{'last-modified'}, 'Fri, 21 Mar 2025 02:00:00 GMT',
        'Last-Modified is the publication time (2025-03-21 10:00 in Beijing)';
    is get('/disclosure/demo-district-education/2021.json')->{headers}{'last-modified'}, 'Sat, 22 Jan 2022 02:00:00 GMT',
        'in January too';

    is get('/disclosure/xigong-edz/2024.html')->{content}, $r->{content}, 'report.html: the same page';

    $r = $ngx->head('/disclosure/xigong-edz/2024');
    is $r->{status}, 200, 'HEAD: 200';
    is $r->{content} // '', '', 'HEAD: no body';
    is $r->{headers}{etag}, $etag, 'HEAD: the same ETag';

    $r = get('/disclosure/xigong-edz/2024', { 'If-None-Match' => $etag });
    is $r->{status}, 304, 'If-None-Match: 304';
    $r = get('/disclosure/xigong-edz/2024', { 'If-Modified-Since' => $lm });
    is $r->{status}, 304, 'If-Modified-Since: 304';
    $r = get('/disclosure/xigong-edz/2024', { 'If-None-Match' => '"other"' });
    is $r->{status}, 200, 'a stale ETag: 200';

    $r = get('/disclosure/demo-district-housing/2023.json');
    is $r->{status}, 200, 'report.json: 200';
    is $r->{headers}{'content-type'}, 'application/json; charset=utf-8', 'report.json: JSON';
    is_deeply decode_json($r->{content}),
        decode_json(encode_utf8(decode_utf8($pg->psql(q{SELECT disclosure.export_report('demo-district-housing', 2023)})))),
        'report.json: the document of export_report';
    like $r->{content}, qr/"amount":2\.25[,}]/, 'report.json: the fee as an exact decimal';
    isnt $r->{headers}{etag}, get('/disclosure/demo-district-housing/2023')->{headers}{etag},
        'JSON and HTML have different ETags';

    $r = get('/disclosure/demo-district-housing/2023.csv');
    is $r->{status}, 200, 'report.csv: 200';
    is $r->{headers}{'content-type'}, 'text/csv; charset=utf-8', 'report.csv: CSV in UTF-8';
    like $r->{headers}{'content-disposition'}, qr/attachment; filename="demo-district-housing-2023\.csv"/,
        'report.csv: a file name';
    is substr($r->{content}, 0, 3), "\xEF\xBB\xBF", 'report.csv: a BOM for Excel';
    my @lines = split /\r\n/, substr($r->{content}, 3);
    is $lines[0], 'table,row,col,value,derived', 'report.csv: the header line';
    is scalar(@lines) - 1, $pg->psql('SELECT count(*) FROM disclosure.format_cell WHERE format = 2021'),
        'report.csv: one line per cell';
    my ($recv) = grep { /^applications,received,total,/ } @lines;
    is $recv, 'applications,received,total,' . $pg->psql(q{SELECT total FROM disclosure.applications_grid
        WHERE agency = 'demo-district-housing' AND year = 2023 AND row_key = 'received'}) . ',',
        'report.csv: a total (derived: empty, a report of ours)';
};

# -- fragments for SSI ------------------------------------------------------
part 'fragments for SSI' => sub {
    for my $t (qw(proactive applications appeals)) {
        my $r = get("/disclosure/demo-district/2024/$t");
        is $r->{status}, 200, "fragment $t: 200";
        like $r->{text}, qr/^<(div|style)/, "fragment $t: no page wrapper";
        unlike $r->{text}, qr/<html|<body/, "fragment $t: no <html> or <body>";
        like $r->{text}, qr/class="[^"]*d-t-$t/, "fragment $t: the table";
    }
    is get('/disclosure/demo-district/2024/summary')->{status}, 404, 'an unknown table: 404';
};

# -- the 2019 format ---------------------------------------------------------
part 'a report of the 2019 format' => sub {
    my $r = get('/disclosure/demo-district/2020');
    is $r->{status}, 200, 'a 2019-format report: 200';
    like $r->{text}, qr/五、政府信息公开工作存在的主要问题及改进情况/, 'with the 2019 heading of 五';
    like $r->{text}, qr/政府集中采购/, 'and the 2019 rows of 二';
};

# -- what does not exist ------------------------------------------------------
part 'what does not exist: 404' => sub {
    is get('/disclosure/no-such-agency/')->{status}, 404, 'an unknown agency: 404';
    is get('/disclosure/no-such-agency/2024')->{status}, 404, 'an unknown agency\'s report: 404';
    is get('/disclosure/xigong-edz/2019')->{status}, 404, 'an unknown year: 404';
    is get('/disclosure/demo-district/2025')->{status}, 404, 'a draft: 404';
    is get('/disclosure/demo-district/2025.json')->{status}, 404, 'a draft as JSON: 404';
    is get('/disclosure/xigong-edz/2024.xml')->{status}, 404, 'an unknown representation: 404';
};

# -- malformed paths: 400, logged --------------------------------------------
part 'malformed paths: 400, logged' => sub {
    for my $bad ('/disclosure/xigong-edz/24', '/disclosure/xigong-edz/20245', '/disclosure/xigong-edz/abcd',
                 '/disclosure/Xigong/2024', '/disclosure/x%27;DROP%20TABLE%20disclosure.agency;--/2024',
                 '/disclosure/xigong--edz/', '/disclosure/-x/', '/disclosure/' . ('a' x 70) . '/',
                 '/disclosure/' . join('/', ('abc') x 60), '/disclosure/xigong-edz/2024/Applications') {
        is get($bad)->{status}, 400, "400 for $bad";
    }
    ok $ngx->wait_for_log(qr/disclosure: bad request .*the year is not four digits/), 'the reason is logged';
    is $pg->psql('SELECT count(*) FROM disclosure.agency') > 0, 1, 'the agency table is still there';
};

# -- methods -----------------------------------------------------------------
part 'methods other than GET and HEAD: 405' => sub {
    my $r = $ngx->request('POST', '/disclosure/xigong-edz/2024', { content => 'x=1' });
    is $r->{status}, 405, 'POST: 405';
    is $r->{headers}{allow}, 'GET, HEAD', 'with Allow';
    is $ngx->request('DELETE', '/disclosure/')->{status}, 405, 'DELETE: 405';
};

# -- text from the database is escaped ---------------------------------------
part 'text from the database is escaped' => sub {
    $pg->psql(q{
        INSERT INTO disclosure.agency (slug, name, kind) VALUES ('evil', '<b>恶意</b>"局"', 'department');
        SELECT disclosure.new_report('evil', 2024);
        UPDATE disclosure.sections_grid SET body = E'<script>alert(1)</script>\n"引号" & \'撇号\' <img src=x onerror=alert(2)>'
         WHERE agency = 'evil' AND year = 2024 AND part = 'intro';
        UPDATE disclosure.sections_grid SET body = '=HYPERLINK("http://example.invalid")'
         WHERE agency = 'evil' AND year = 2024 AND section = 'other';
        SELECT disclosure.publish('evil', 2024);
    });
    my $r = get('/disclosure/evil/2024');
    is $r->{status}, 200, 'a hostile report: 200';
    unlike $r->{text}, qr/<script>alert|<img src=x|<b>恶意/, 'no markup from the database gets through';
    like $r->{text}, qr/&lt;script&gt;alert\(1\)&lt;\/script&gt;/, 'the script is shown as text';
    like $r->{text}, qr/&quot;引号&quot; &amp; &#39;撇号&#39;|&quot;引号&quot; &amp; &#x27;撇号&#x27;/, 'quotes and ampersands escaped';
    $r = get('/disclosure/evil/2024.json');
    unlike $r->{content}, qr{</script}i, 'JSON: no </script> can close a script element';
    is decode_json($r->{content})->{sections}[0]{parts}[0]{text} =~ /^<script>alert\(1\)<\/script>/ ? 1 : 0, 1,
        'JSON: the text itself is intact';
    $r = get('/disclosure/');
    unlike $r->{text}, qr/<b>恶意/, 'index: the agency name is escaped';
};

# -- a result over 64 KB -------------------------------------------------------
part 'a result over 64 KB' => sub {
    $pg->psql(q{
        INSERT INTO disclosure.agency (slug, name, kind) VALUES ('long', '长篇局', 'department');
        SELECT disclosure.new_report('long', 2024);
        UPDATE disclosure.sections_grid SET body = repeat(E'这是一段很长的说明文字，用来把报告撑到六十四千字节以上。\n', 3000)
         WHERE agency = 'long' AND year = 2024 AND section = 'problems';
        SELECT disclosure.publish('long', 2024);
    });
    my $r = get('/disclosure/long/2024.json');
    cmp_ok length $r->{content}, '>', 200_000, 'a JSON document over 64 KB';
    is scalar(() = decode_json($r->{content})->{sections}[4]{parts}[0]{text} =~ /这是一段很长的说明文字/g), 3000,
        'arrives whole';
    $r = get('/disclosure/long/2024');
    is $r->{status}, 200, 'its page: 200';
    is scalar(() = $r->{text} =~ /这是一段很长的说明文字/g), 3000, 'with every paragraph';
    like $r->{text}, qr{</html>\s*$}, 'to the end';
};

# -- a publish shows (no cache yet: at once) ----------------------------------
# (it corrects the hostile report the escaping part made)
part 'a publication shows at once (no cache)' => sub {
    $pg->psql(q{SELECT disclosure.revise('evil', 2024, '更正');
                UPDATE disclosure.sections_grid SET body = '已更正' WHERE agency = 'evil' AND year = 2024 AND part = 'intro';
                SELECT disclosure.publish('evil', 2024);});
    my $r = get('/disclosure/evil/2024');
    like $r->{text}, qr/已更正/, 'a correction is served';
    like $r->{text}, qr/更正/, 'with its reason in the history';
    isnt get('/disclosure/evil/2024')->{headers}{etag}, undef, 'and a new ETag';
};

unlike $ngx->error_log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'no crash, no alert in the error log';
done_testing;
