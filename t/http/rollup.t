# /{agency}/{year}/rollup: the agency and its descendants for a year.  The
# summed cells against sums computed in SQL; a jurisdiction-scope report
# listed and not added, with the reason; the completeness states (on time,
# late with its date, nothing); fragments, JSON and CSV.  Then /{year}/.
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

# every input cell summed over the office-scope publications of the district
# and its departments, computed from the cells
my $sums_sql = q{
    SELECT string_agg(format('%s,%s,%s,%s', c.tbl, c.row_key, c.col_key, s.v), E'\n' ORDER BY c.ord)
      FROM disclosure.format_cell c
      JOIN (SELECT x.tbl, x.row_key, x.col_key, sum(x.value) AS v
              FROM disclosure.public_revision p
              JOIN disclosure.agency a ON a.id = p.agency_id
              JOIN disclosure.revision v ON v.id = p.revision_id AND v.status = 'published' AND v.scope = 'office'
              JOIN disclosure.cell x ON x.revision_id = v.id AND x.given = 'number'
             WHERE p.year = 2024 AND (a.slug = 'demo-district'
                   OR a.parent_id = (SELECT id FROM disclosure.agency WHERE slug = 'demo-district'))
             GROUP BY 1, 2, 3) s USING (tbl, row_key, col_key)
     WHERE c.format = 2021 AND c.kind = 'input'};
sub csv_inputs {
    my ($text) = @_;
    my %input = map { $_ => 1 } split /\n/, $pg->psql(q{SELECT format('%s,%s,%s', tbl, row_key, col_key)
        FROM disclosure.format_cell WHERE format = 2021 AND kind = 'input'});
    my @lines = split /\r\n/, $text;
    shift @lines;
    my %v = map { my @f = split /,/; ("$f[0],$f[1],$f[2]" => length $f[3] ? $f[3] + 0 : '') } @lines;
    return join "\n", map { my $k = join ',', @$_[0 .. 2]; "$k,$v{$k}" }
        grep { $input{ join ',', @$_[0 .. 2] } && length $v{ join ',', @$_[0 .. 2] } }
        map { [ split /,/ ] } split /\n/, $pg->psql(q{SELECT format('%s,%s,%s', tbl, row_key, col_key)
            FROM disclosure.format_cell WHERE format = 2021 AND kind = 'input' ORDER BY ord});
}

# "0.00" and "0" are the same sum
sub numbers { join "\n", map { my @f = split /,/; $f[3] += 0; join ',', @f } split /\n/, $_[0] }

part 'the rollup: its completeness states and the summed cells, against sums computed in SQL' => sub {
    my $r = get('/d/demo-district/2024/rollup');
    is $r->{status}, 200, 'rollup: 200';
    like $r->{text}, qr{<h1>示例区人民政府及下级机关 2024年度报告汇总</h1>}, 'its heading';
    like $r->{text}, qr{下级机关：5 个机关中已发布 4 个（按时 3 个，逾期 1 个），仅有草稿 0 个，未发布 1 个。},
        'the counts: 4 of 5 published, 1 late, 1 missing';
    like $r->{text}, qr{示例区卫生健康委员会</a></th><td class="d-st-late">逾期发布</td><td><time datetime="2025-03-12T16:00:00\+08:00">2025-03-12</time></td><td>2025-01-31</td>},
        'late, with the date and the deadline';
    like $r->{text}, qr{示例区财政局</a></th><td class="d-st-none">未发布</td><td></td><td>2025-01-31</td>},
        'nothing published';
    like $r->{text}, qr{示例区人民政府</a>（本机关）</th><td class="d-st-on_time">按时发布</td>}, 'the agency itself, on time';
    like $r->{text}, qr{下表为 5 份本机关范围（仅本机关）报告之和}, '5 reports summed';
    like $r->{text}, qr{R1 成立：每一列：一 \+ 二 = （七）总计 \+ 四，各列均相等}, 'R1 checked on the sums';
    like $r->{text}, qr{<table class="d-table d-t-applications"}, 'the summed tables in the official layout';

    $r = get('/d/demo-district/2024/rollup.csv');
    like $r->{headers}{'content-disposition'}, qr/filename="demo-district-2024-rollup\.csv"/, 'CSV: a file name';
    is csv_inputs($r->{text}), numbers($pg->psql($sums_sql)), 'CSV: every summed cell is the sum computed in SQL';
    my ($total) = $r->{text} =~ /^applications,closed_total,total,(\d+)\r$/m;
    is $total, $pg->psql(q{SELECT sum(c.value) FROM disclosure.cell c JOIN disclosure.public_revision p ON p.revision_id = c.revision_id
        JOIN disclosure.agency a ON a.id = p.agency_id
        WHERE p.year = 2024 AND p.status = 'published' AND c.tbl = 'applications' AND c.col_key <> 'total' AND c.given = 'number'
          AND c.row_key IN (SELECT row_key FROM disclosure.format_result_row WHERE format = 2021)
          AND (a.slug = 'demo-district' OR a.parent_id = (SELECT id FROM disclosure.agency WHERE slug = 'demo-district'))}),
        'CSV: （七）总计 derived from the sums';
};

# a department's report of the jurisdiction's scope: listed, not added
part 'a jurisdiction-scope report is listed, not added' => sub {
    $pg->psql(q{SELECT disclosure.revise('demo-district-housing', 2024, '范围应为全辖区');
                UPDATE disclosure.reports SET scope = 'jurisdiction' WHERE agency = 'demo-district-housing' AND year = 2024 AND status = 'draft';
                SELECT disclosure.publish('demo-district-housing', 2024);});
    my $r = get('/d/demo-district/2024/rollup');
    like $r->{text}, qr{<p>以下 1 份已发布的报告列出而不相加：</p>\n<ul class="d-apart">\n<li>示例区住房和城乡建设局：全辖区范围的报告已包含下级机关的数字，相加会重复计算</li>},
        'jurisdiction scope: listed, with why it is not added';
    like $r->{text}, qr{下表为 4 份本机关范围}, '4 reports summed now';
    like $r->{text}, qr{示例区住房和城乡建设局</a></th><td class="d-st-on_time">按时发布（全辖区范围）</td>}, 'its scope shown';
    is csv_inputs(get('/d/demo-district/2024/rollup.csv')->{text}), numbers($pg->psql($sums_sql)), 'CSV: the sums without it';
};

# fragments, JSON
part 'fragments, JSON, and what does not exist' => sub {
    my $r = get('/d/demo-district/2024/rollup/applications');
    is $r->{status}, 200, 'fragment of a summed table: 200';
    like $r->{text}, qr{^<style>.*<div class="disclosure d-fragment" lang="zh-CN">.*d-t-applications}s, "as a report's fragment";
    $r = get('/d/demo-district/2024/rollup/completeness');
    like $r->{text}, qr{<table class="d-table d-states">.*逾期发布}s, 'the completeness fragment';
    unlike $r->{text}, qr/<html|<h1/, 'no page around it';
    is_deeply decode_json(get('/d/demo-district/2024/rollup.json')->{content}),
        api(q{SELECT disclosure_web.rollup('demo-district', 2024)}), 'rollup.json: the web API document';
    is get('/d/demo-district/1999/rollup')->{status}, 404, 'a year without reports: 404';
    is get('/d/no-such/2024/rollup')->{status}, 404, 'an unknown agency: 404';
    is get('/d/demo-district/2024/rollup/fees')->{status}, 404, 'an unknown part: 404';
};

# the year page: the whole portal, by top-level agency
part 'the year page' => sub {
    my $r = get('/d/2024/');
    is $r->{status}, 200, 'year page: 200';
    like $r->{text}, qr{<h1>2024年度政府信息公开工作年度报告发布情况</h1>}, 'its heading';
    like $r->{text}, qr{全部 7 个机关中已发布 6 个（按时 4 个，逾期 2 个），仅有草稿 0 个，未发布 1 个},
        'the counts of the portal (the sample publishes xigong-edz now: late)';
    like $r->{text}, qr{<tr><th scope="row"><a href="/d/demo-district/2024\.html">示例区人民政府</a></th>}, 'a top agency';
    like $r->{text}, qr{<a href="/d/demo-district/2024/rollup">5 个机关中已发布 4 个}, 'each top agency links its roll-up';
    like $r->{text}, qr{<h2>最近发布</h2>}, 'who published when';
    is get('/d/2024')->{status}, 301, '/{year} without its slash: 301';
    my @csv = split /\r\n/, get('/d/2024/index.csv')->{text};
    is $csv[0], "\x{feff}agency,name,state,published_at,deadline,below_agencies,below_published,below_on_time,below_late,below_draft,below_none",
        'year CSV: header';
    ok( (grep { /^demo-district,示例区人民政府,on_time,2025-03-21T10:00:00\+08:00,2025-03-31,5,4,3,1,0,1$/ } @csv), 'year CSV: a line per top agency');
    is_deeply decode_json(get('/d/2024/index.json')->{content}), api('SELECT disclosure_web.year_page(2024)'), 'year JSON';
    like get('/d/2024/fragment')->{text}, qr{^<style>.*<h2>2024年度}s, 'year fragment';
    is get('/d/1999/')->{status}, 404, 'a year without reports: 404';
    is get('/d/24/')->{status}, 404, 'digits that are no year: 404';
};

done_testing;
