# The pages across reports are cached like the others, and a publication
# makes stale exactly what it changes: one department's 2024 report is
# corrected and published; its report, its trend, its comparisons of 2024
# (and 2025), the 2024 roll-ups of the department and of the district above
# it, the 2024 year page, the index and the agency pages go stale, and
# everything else stays fresh: a sibling's roll-up, another tree's, other
# years'.  The listener reads the agency, the year and the agency's
# ancestors from the change log (disclosure_web.changes(), migration 0041).
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Disclosure::Test;
use Disclosure::Cache;
use Disclosure::Part;

binmode Test::More->builder->$_, ":encoding(UTF-8)" for qw(output failure_output todo_output);

my $pg = Disclosure::Test->pg(sample => 1);
my $ngx = Disclosure::Test->nginx(pg => $pg, server => 'location /c/ { disclosure; disclosure_cache reports; }'
    . Disclosure::Cache::STATUS, http => "disclosure_cache_zone reports:8m;\ndisclosure_cache_poll 1h;");
Disclosure::Cache::wait_listening($ngx);

sub cache { Disclosure::Cache::header($ngx->get($_[0])) }

my @stale = qw(
    /c/demo-district-education/2024 /c/demo-district-education/2024/appeals
    /c/demo-district-education/trend /c/demo-district-education/trend.csv
    /c/demo-district-education/2024/compare /c/demo-district-education/2024/compare.json
    /c/demo-district-education/2024/compare/applications
    /c/demo-district/2024/rollup /c/demo-district/2024/rollup/completeness
    /c/demo-district-education/2024/rollup
    /c/2024/ /c/2024/index.csv /c/ /c/index.json /c/demo-district/ /c/demo-district-housing/
);
my @fresh = qw(
    /c/demo-district-education/2023 /c/demo-district-housing/2024
    /c/demo-district-housing/trend /c/demo-district/trend /c/demo-district/trend/fragment
    /c/demo-district-education/2023/compare /c/demo-district-education/2022/compare
    /c/demo-district-housing/2024/compare
    /c/demo-district/2023/rollup /c/demo-district/2023/rollup.csv
    /c/xigong-edz/2024/rollup /c/demo-district-housing/2024/rollup
    /c/2023/ /c/2023/fragment
);

part 'a department\'s publication makes stale exactly what it changes' => sub {
    $ngx->get($_) for @stale, @fresh;
    is_deeply [ map { cache($_) } @stale, @fresh ], [ ('HIT') x (@stale + @fresh) ], 'every new page is cached';

    my $n = Disclosure::Cache::status($ngx)->{listener}{invalidations};
    $pg->psql(q{SELECT disclosure.revise('demo-district-education', 2024, '更正');
                UPDATE disclosure.appeals_grid SET pending = '3'
                 WHERE agency = 'demo-district-education' AND year = 2024 AND row_key = 'review';
                SELECT disclosure.publish('demo-district-education', 2024);}, role => 't_publisher');
    my $last = Disclosure::Cache::wait_invalidation($ngx, $n);
    ok $last, 'the publication was heard';
    is $last->{agency}, 'demo-district-education', 'of the department';
    is $last->{entries}, scalar @stale, 'exactly the stale entries were invalidated';

    for my $p (@stale) { is cache($p), 'MISS', "stale: $p" }
    for my $p (@fresh) { is cache($p), 'HIT', "fresh: $p" }

    like $ngx->get('/c/demo-district-education/2024/compare.json')->{content}, qr/"revision":2/,
        'the comparison shows the correction';
};

# a renamed agency (year 0 in the notification): every page that shows names
# goes stale, the reports keep the names they were published with
part 'a renamed agency: every page that shows names goes stale, the reports stay' => sub {
    $ngx->get($_) for @stale, @fresh;
    my $n = Disclosure::Cache::status($ngx)->{listener}{invalidations};
    $pg->psql(q{UPDATE disclosure.agency SET name = '示例区教育和体育局' WHERE slug = 'demo-district-education'},
              role => 't_publisher');
    ok Disclosure::Cache::wait_invalidation($ngx, $n), 'the rename was heard';
    is cache('/c/demo-district-housing/trend'), 'MISS', 'rename: trend pages are stale';
    is cache('/c/demo-district/2023/rollup'), 'MISS', 'rename: roll-ups are stale';
    is cache('/c/2023/'), 'MISS', 'rename: year pages are stale';
    is cache('/c/demo-district-education/2023'), 'HIT', 'rename: reports stay';
};

done_testing;
