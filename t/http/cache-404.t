# The database's "not found" is cached: a page it has no answer for (SQL
# NULL: an unknown agency or year, a draft, a withdrawn report) is a 404
# MISS once, then a 404 HIT with the same headers and no query, for GET and
# HEAD, one entry per key.  Publications invalidate it like a page: a
# published draft and an inserted agency are served at once, a withdrawn
# report becomes a cached 404.  A 400 never becomes an entry.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Time::HiRes qw(time);
use Encode qw(decode_utf8);
use Disclosure::Test;
use Disclosure::Cache;
use Disclosure::Part;

binmode Test::More->builder->$_, ":encoding(UTF-8)" for qw(output failure_output todo_output);

my $pg = Disclosure::Test->pg(sample => 1);
my $ngx = Disclosure::Test->nginx(pg => $pg,
    http => 'disclosure_cache_zone reports:4m;',
    server => 'location /c/ { disclosure; disclosure_cache reports; }' . Disclosure::Cache::STATUS);

sub status { Disclosure::Cache::status($ngx) }
sub queries { status()->{database}{queries} }
sub entries { Disclosure::Cache::zone($ngx)->{entries} }
sub cache { Disclosure::Cache::header($_[0]) }
sub answer { my $r = $ngx->get($_[0]); "$r->{status} " . cache($r) }
sub invalidations { status()->{listener}{invalidations} }

# entries filled before the listener first sees the data version do not count
Disclosure::Cache::wait_listening($ngx);

# -- a missing report: MISS, then HIT without a query ---------------------------------
part 'a missing report: 404 MISS, then 404 HIT without a query, with the same headers' => sub {
    my @headers = qw(content-type content-length x-content-type-options etag last-modified);

    my ($q0, $e0) = (queries(), entries());
    my $miss = $ngx->get('/c/no-such-agency/2024');
    is $miss->{status}, 404, 'an unknown agency\'s report: 404';
    is cache($miss), 'MISS', 'from the database';
    is $miss->{headers}{'x-content-type-options'}, 'nosniff', 'with nosniff';
    is queries(), $q0 + 1, 'one query';
    is entries(), $e0 + 1, 'and an entry';

    my @hits = map { $ngx->get('/c/no-such-agency/2024') } 1 .. 10;
    is_deeply [ map { "$_->{status} " . cache($_) } @hits ], [ ('404 HIT') x 10 ], 'ten more: 404 HIT';
    is queries(), $q0 + 1, 'still one query for the eleven requests';
    is_deeply { map { $_ => $hits[0]{headers}{$_} } @headers },
              { map { $_ => $miss->{headers}{$_} } @headers }, 'the headers of the miss';
    ok $hits[0]{content} eq $miss->{content}, 'and its body (nginx\'s 404 page)';
    ok !defined $hits[0]{headers}{etag} && !defined $hits[0]{headers}{'last-modified'},
        'no ETag, no Last-Modified';
};

# -- HEAD -------------------------------------------------------------------------------
part 'HEAD: 404 MISS, then 404 HIT' => sub {
    my $q0 = queries();
    my $r = $ngx->head('/c/xigong-edz/1999');
    is "$r->{status} " . cache($r), '404 MISS', 'HEAD on a year without a report: 404 MISS';
    ok !length($r->{content} // ''), 'no body';
    $r = $ngx->head('/c/xigong-edz/1999');
    is "$r->{status} " . cache($r), '404 HIT', 'HEAD again: 404 HIT';
    ok !length($r->{content} // ''), 'no body';
    is answer('/c/xigong-edz/1999'), '404 HIT', 'GET: the entry HEAD filled';
    is queries(), $q0 + 1, 'one query for the three';
};

# -- one entry per key ---------------------------------------------------------------------
part 'one entry per key' => sub {
    my $e0 = entries();
    my @missing = ('/c/xigong-edz/1999.json', '/c/xigong-edz/1999.csv', '/c/xigong-edz/1999/appeals',
                   '/c/xigong-edz/1998', '/c/no-such-agency/', '/c/no-such-agency/index.json');
    is_deeply [ map { answer($_) } @missing ], [ ('404 MISS') x @missing ],
        'other variants, years and routes: each a miss of its own';
    is_deeply [ map { answer($_) } @missing ], [ ('404 HIT') x @missing ], 'then each a hit';
    is entries(), $e0 + @missing, 'one entry each';
};

# -- a 400 is never an entry ---------------------------------------------------------------
part 'a 400 is never an entry' => sub {
    my $z0 = Disclosure::Cache::zone($ngx);
    my $q0 = queries();
    for (1 .. 2) {
        my $r = $ngx->get('/c/xigong-edz/24');
        is $r->{status}, 400, 'a malformed path: 400';
        is $r->{headers}{'x-disclosure-cache'}, undef, 'without a cache header';
    }
    my $z1 = Disclosure::Cache::zone($ngx);
    is_deeply [ @$z1{qw(entries stored misses hits)} ], [ @$z0{qw(entries stored misses hits)} ],
        'no entry, nothing stored or counted';
    is queries(), $q0, 'no query';
};

# -- a draft is a cached 404 until its publication ---------------------------------------
part 'a draft is a cached 404 until its publication' => sub {
    my @draft = ('/c/demo-district/2025', '/c/demo-district/2025.json', '/c/demo-district/2025/appeals');
    is_deeply [ map { answer($_) } @draft ], [ ('404 MISS') x @draft ], 'the 2025 draft: 404';
    is_deeply [ map { answer($_) } @draft ], [ ('404 HIT') x @draft ], 'cached';
    unlike decode_utf8($ngx->get('/c/demo-district/')->{content}), qr{/c/demo-district/2025},
        'not linked from the agency page';

    my $n = invalidations();
    $pg->psql(q{SELECT disclosure.publish('demo-district', 2025)}, role => 't_publisher');
    my $t0 = time;
    ok Disclosure::Test::poll(sub { $ngx->get('/c/demo-district/2025')->{status} == 200 }),
        'published: the report page is served';
    diag sprintf 'publish to the served report: %.3f s', time - $t0;
    my $last = Disclosure::Cache::wait_invalidation($ngx, $n);
    is "$last->{source} $last->{agency} $last->{year}", 'notification demo-district 2025',
        'told by the notification of that report';
    is_deeply [ map { $ngx->get($_)->{status} } @draft[1, 2] ], [ 200, 200 ], 'its JSON and fragment too';
    is answer('/c/demo-district/2025'), '200 HIT', 'and the page is cached in turn';
    like decode_utf8($ngx->get('/c/demo-district/')->{content}), qr{/c/demo-district/2025}, 'the agency page links it';
    is answer('/c/xigong-edz/1999'), '404 HIT', 'another report\'s 404 stays cached';
    is answer('/c/no-such-agency/'), '404 MISS', 'agency pages were invalidated: refilled, still 404';
    is answer('/c/no-such-agency/'), '404 HIT', 'and cached again';
};

# -- an agency inserted: its cached 404 pages become 200 ---------------------------------
part 'an agency inserted: its cached 404 pages become 200' => sub {
    is answer('/c/new-bureau/'), '404 MISS', 'an agency that does not exist yet: 404';
    is answer('/c/new-bureau/'), '404 HIT', 'cached';
    is answer('/c/new-bureau/index.json'), '404 MISS', 'its JSON too';
    my $n = invalidations();
    $pg->psql(q{INSERT INTO disclosure.agency (slug, name, kind)
                VALUES ('new-bureau', '示例区新设局', 'department')});
    my $t0 = time;
    ok Disclosure::Test::poll(sub { $ngx->get('/c/new-bureau/')->{status} == 200 }),
        'inserted: its agency page is served';
    diag sprintf 'insert to the served agency page: %.3f s', time - $t0;
    my $last = Disclosure::Cache::wait_invalidation($ngx, $n);
    is "$last->{source} $last->{agency} $last->{year}", 'notification new-bureau 0',
        'told by the notification of the agency change';
    like decode_utf8($ngx->get('/c/new-bureau/')->{content}), qr/示例区新设局/, 'with its name';
    is $ngx->get('/c/new-bureau/index.json')->{status}, 200, 'the JSON too';
    is answer('/c/new-bureau/2024'), '404 MISS', 'it has no report: 404';
    is answer('/c/new-bureau/2024'), '404 HIT', 'cached';
};

# -- a withdrawn report: its cached 200 becomes a cached 404 ------------------------------
part 'a withdrawn report: its cached 200 becomes a cached 404' => sub {
    $ngx->get('/c/xigong-edz/2024');
    is answer('/c/xigong-edz/2024'), '200 HIT', 'a published report, cached';
    my $n = invalidations();
    $pg->psql(q{SELECT disclosure.withdraw('xigong-edz', 2024, '撤回测试')}, role => 't_publisher');
    ok Disclosure::Test::poll(sub { $ngx->get('/c/xigong-edz/2024')->{status} == 404 }),
        'withdrawn: 404';
    ok Disclosure::Cache::wait_invalidation($ngx, $n), 'after its notification';
    my $q0 = queries();
    is_deeply [ map { answer('/c/xigong-edz/2024') } 1 .. 5 ], [ ('404 HIT') x 5 ],
        'the 404 is cached';
    is queries(), $q0, 'no query';
};

unlike $ngx->error_log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'no crash, no alert';
done_testing;
