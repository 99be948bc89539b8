# Open data in bulk (issue 14): the year files against the per-report
# documents cell by cell, the catalog and the dictionary, HEAD and 304,
# one snapshot under a concurrent publication, the bound on downloads
# (503 + Retry-After, pages still served), a client leaving mid-file (its
# query ended in PostgreSQL, the slot free again) and PostgreSQL failing
# mid-file (the response cut: no final chunk).
#
# The gate (Disclosure::Slow::gate: an advisory lock the test holds) stops
# a download in PostgreSQL: in data_file() for the year 2023 (before the
# headers, after the snapshot was taken) and in data_wide_lines() at the
# row of demo-district-health (mid-file).
#
# t-printed 2024 is a legacy report that printed （六）其他处理 as one row
# (as t/http/printed.t makes it): the files give its merged row as its CSV does.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use IO::Socket::INET;
use JSON::PP;
use IO::Uncompress::Gunzip ();
use Encode qw(decode_utf8 encode_utf8);
use Time::Local qw(timegm);
use File::Temp ();
use Disclosure::Test;
use Disclosure::Slow;
use Disclosure::Csv qw(fields);
use Disclosure::Part;
use Disclosure::Reply;

my $pg = Disclosure::Test->pg(sample => 1);

$pg->psql(<<'SQL');
ALTER FUNCTION disclosure_web.data_file(text, int, int) RENAME TO data_file_ungated;
CREATE FUNCTION disclosure_web.data_file(p_kind text, p_year int, p_format int,
    OUT format smallint, OUT version bigint, OUT changed_at bigint, OUT rows bigint, OUT header text,
    OUT bytes bigint)
RETURNS SETOF record LANGUAGE plpgsql AS $$
BEGIN
    IF p_year = 2023 THEN
        PERFORM pg_advisory_lock_shared(4711);
        PERFORM pg_advisory_unlock_shared(4711);
    END IF;
    RETURN QUERY SELECT * FROM disclosure_web.data_file_ungated(p_kind, p_year, p_format);
END
$$;
CREATE FUNCTION disclosure.data_gate(p_slug text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    IF p_slug = 'demo-district-health' THEN
        PERFORM pg_advisory_lock_shared(4711);
        PERFORM pg_advisory_unlock_shared(4711);
    END IF;
    RETURN '';
END
$$;
ALTER FUNCTION disclosure_web.data_wide_lines(int, int) RENAME TO data_wide_lines_ungated;
CREATE FUNCTION disclosure_web.data_wide_lines(p_year int, p_format int)
RETURNS SETOF text LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT disclosure.data_gate(l.slug) || l.wide FROM disclosure.data_line l
     WHERE l.year = p_year AND l.format = p_format ORDER BY l.year, l.slug
$$;
GRANT EXECUTE ON FUNCTION disclosure_web.data_file(text, int, int), disclosure_web.data_wide_lines(int, int)
    TO disclosure_reader;
SQL

$pg->psql(q{
    INSERT INTO disclosure.agency (slug, name, kind) VALUES ('t-printed', '原样局', 'department');
    CREATE TEMP TABLE doc AS
    SELECT jsonb_set(disclosure.export_report('demo-district-housing', 2024)::jsonb, '{agency}',
                     '{"slug": "t-printed", "name": "原样局", "kind": "department", "parent": null}') AS d;
    UPDATE doc SET d = jsonb_set(d, '{tables,applications}', (d #> '{tables,applications}') ||
           (SELECT jsonb_object_agg(r, x.v) FROM unnest('{other_no_correction,other_unpaid_fee,other_misc}'::text[]) r,
                   (SELECT jsonb_object_agg(k, 'not_printed') AS v
                      FROM jsonb_object_keys(d #> '{tables,applications,other_misc}') k) x));
    UPDATE doc SET d = d || '{"legacy": true, "published_at": "2025-01-20T09:30:00+08:00",
                              "published_totals": {"applications": {"other": {"natural_person": 3, "business": 1,
                                  "research": 0, "nonprofit": null, "legal_services": "/", "other_org": 0, "total": 4}}}}';
    SELECT disclosure.import_report(d) FROM doc;
    SELECT disclosure.publish('t-printed', 2024);
});

# a second listener whose 4 KB send buffer fills at once: the file goes out
# through the write handler, the backend suspended in between
my $narrow = Disclosure::Test::free_port();
my $ngx = Disclosure::Test->nginx(pg => $pg, http => 'disclosure_data_connections 1; gzip on; gzip_types text/csv;',
                                  server => "listen 127.0.0.1:$narrow sndbuf=4k; location /r/ { disclosure; }");

# a raw HTTP/1.1 request, read later by reply() (Disclosure::Reply): the
# body de-chunked, and whether it is whole
sub request {
    my ($path, $headers, $port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port // $ngx->port, Proto => 'tcp')
        or die "connect: $!";
    print $s "GET $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
             . join('', map { "$_: $headers->{$_}\r\n" } sort keys %{ $headers || {} }) . "\r\n";
    return $s;
}

sub get { reply(request(@_)) }

# lines of a CSV body: BOM and CRLF checked, decoded
sub csv_lines {
    my ($body, $what) = @_;
    ok $body =~ s/^\xef\xbb\xbf//, "$what: UTF-8 with a byte order mark";
    unlike $body, qr/(?<!\r)\n/, "$what: CRLF line ends";
    return map { decode_utf8($_) } split /\r\n/, $body;
}

# an HTTP date or the catalog's ISO 8601 time, in seconds since the epoch
sub epoch {
    my ($t) = @_;
    my %mon = (Jan => 1, Feb => 2, Mar => 3, Apr => 4, May => 5, Jun => 6,
               Jul => 7, Aug => 8, Sep => 9, Oct => 10, Nov => 11, Dec => 12);
    if ($t =~ /^\w{3}, (\d\d) (\w{3}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$/) {
        return timegm($6, $5, $4, $1, $mon{$2} - 1, $3);
    }
    $t =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)([+-])(\d\d):(\d\d)$/
        or die "not a time: $t";
    return timegm($6, $5, $4, $3, $2 - 1, $1) - ($7 eq '+' ? 1 : -1) * ($8 * 3600 + $9 * 60);
}

sub backends_waiting {
    my ($like) = @_;
    return $pg->psql(qq{SELECT count(*) FROM pg_stat_activity
                         WHERE usename = 't_nginx' AND query LIKE '%$like%' AND wait_event_type = 'Lock'});
}

sub backends {
    my ($like) = @_;
    return $pg->psql(qq{SELECT count(*) FROM pg_stat_activity
                         WHERE usename = 't_nginx' AND query LIKE '%$like%' AND pid <> pg_backend_pid()});
}

my $json = JSON::PP->new->utf8;

subtest 'the year files hold the per-report documents, cell by cell' => sub {
    for my $year (2024, 2020) {
        my $r = get("/r/data/$year.csv");
        is $r->{status}, 200, "$year.csv";
        is $r->{headers}{'content-length'}, length $r->{body}, 'its Content-Length, every byte';
        ok !exists $r->{headers}{'transfer-encoding'}, 'not chunked';
        like $r->{headers}{'content-type'}, qr{^text/csv; charset=utf-8}, 'text/csv, UTF-8';
        like $r->{headers}{'content-disposition'}, qr/attachment; filename="disclosure-$year\.csv"/,
             'saved under its name';
        my ($header, @lines) = csv_lines($r->{body}, "$year.csv");
        my @cols = fields($header);
        is_deeply [@cols[0 .. 11]],
            [qw(slug name parent kind scope year format revision published_at source_url index_no legacy)],
            'the report columns first';
        my $expected_format = $year >= 2021 ? 2021 : 2019;
        my $ncells = grep { /^$expected_format\t/ } split /\n/,
                     Disclosure::Test::read_file("$Disclosure::Test::REPO/format/cells.tsv");
        my $nmerged = $expected_format == 2021
            ? grep { /^2021\tapplications\tother_misc\t/ } split /\n/,
                   Disclosure::Test::read_file("$Disclosure::Test::REPO/format/cells.tsv")
            : 0;
        is scalar(@cols), 12 + $ncells + $nmerged,
           "then one per cell of the $expected_format format" . ($nmerged ? ' and the merged （六） row' : '');
        ok @lines >= 4, scalar(@lines) . ' reports';
        my @slugs;
        my $merged = 0;
        for my $line (@lines) {
            my %row;
            @row{@cols} = fields($line);
            push @slugs, $row{slug};
            is $row{year}, $year, "$row{slug}: the year";
            is $row{format}, $expected_format, "$row{slug}: the format";
            my $doc = $json->decode($ngx->get("/r/$row{slug}/$year.json")->{content});
            is $row{name}, $doc->{agency}{name}, "$row{slug}: the name";
            is $row{revision}, $doc->{revision}, "$row{slug}: the revision";
            my $csv = $ngx->get("/r/$row{slug}/$year.csv");
            is $csv->{status}, 200, "$row{slug}: its own CSV";
            my ($h, @per) = split /\r\n/, $csv->{content};
            my %want;
            for (@per) {
                my ($t, $rk, $c, $v) = fields(decode_utf8($_));
                $want{"$t.$rk.$c"} = $v;
            }
            is_deeply [grep { !exists $row{$_} } sort keys %want], [], "$row{slug}: every line of its CSV has a column";
            my %got = map { $_ => $row{$_} } keys %want;
            is_deeply \%got, \%want, "$row{slug}: the cells are the per-report CSV's";
            is_deeply [grep { !exists $want{$_} && $row{$_} ne 'not_printed' } @cols[12 .. $#cols]], [],
                "$row{slug}: a column its CSV has no line for: not_printed";
            $merged++ if exists $want{'applications.other.natural_person'} && $expected_format == 2021;
        }
        is $merged, 1, 'the legacy report with （六） as one row: its merged row' if $year == 2024;
        is_deeply \@slugs, [sort @slugs], 'in the order of the slugs';

        my $j = get("/r/data/$year.jsonl");
        is $j->{status}, 200, "$year.jsonl";
        like $j->{headers}{'content-type'}, qr{^application/x-ndjson}, 'as NDJSON';
        my @docs = map { $json->decode($_) } split /\n/, $j->{body};
        is scalar(@docs), scalar(@lines), 'as many documents as lines of the CSV';
        for my $doc (@docs) {
            is_deeply $doc, $json->decode($ngx->get("/r/$doc->{agency}{slug}/$year.json")->{content}),
                "$doc->{agency}{slug}: the document of /$doc->{agency}{slug}/$year.json";
        }
    }

    my $all = get('/r/data/all.csv');
    is $all->{status}, 200, 'all.csv';
    my ($header, @lines) = csv_lines($all->{body}, 'all.csv');
    is $header, 'agency,year,table,row,col,value', 'long: agency,year,table,row,col,value';
    my %long;
    for (@lines) {
        my ($a, $y, $t, $r, $c, $v) = fields($_);
        $long{"$a/$y"}{"$t.$r.$c"} = $v;
    }
    is scalar(keys %long), $pg->psql(q{SELECT count(*) FROM disclosure.public_revision WHERE status = 'published'}),
       'every current publication';
    my %long_lines;
    for (@lines) {
        my ($a, $y) = fields($_);
        push @{ $long_lines{"$a/$y"} }, join ',', (fields($_))[2 .. 5];
    }
    for my $report ('demo-district-housing/2024', 't-printed/2024') {
        my $csv = $ngx->get("/r/$report.csv");
        my ($h, @per) = split /\r\n/, decode_utf8($csv->{content});
        is_deeply $long_lines{$report}, [map { join ',', (fields($_))[0 .. 3] } @per],
            "$report: its lines are its CSV's, in order";
    }
    ok grep({ /^applications,other,/ } @{ $long_lines{'t-printed/2024'} }), 'with the merged （六） row';
};

subtest 'the catalog and the dictionary' => sub {
    my $cat = $ngx->get('/r/data/index.json');
    is $cat->{status}, 200, 'data/index.json';
    my $c = $json->decode($cat->{content});
    is $c->{document}, 'disclosure-data-catalog/1', 'the catalog';
    ok $c->{license} && $c->{source}, 'names the licence and the source';
    my %sets = map { $_->{identifier} => $_ } @{ $c->{dataset} };
    ok exists $sets{$_}, "lists $_" for qw(2024.csv 2024.jsonl 2020.csv all.csv);
    my @lines = split /\r\n/, get('/r/data/2024.csv')->{body};
    is $sets{'2024.csv'}{rows}, @lines - 1, 'the row count of 2024.csv';
    is $sets{'2024.csv'}{distribution}[0]{downloadURL}, '2024.csv', 'and where to get it';
    my $head2024 = $ngx->head('/r/data/2024.csv')->{headers};
    is qq{"d$sets{'2024.csv'}{data_version}-2024.csv"}, $head2024->{etag}, 'the file\'s version: its ETag\'s';
    for my $name (sort keys %sets) {
        my $dist = $sets{$name}{distribution}[0];
        my $body = get("/r/data/$dist->{downloadURL}")->{body};
        is $dist->{byteSize}, length($body), "$name: byteSize is the length of its body";
        my (undef, @rows) = split /\n/, ($name =~ /\.csv$/ ? '' : "\n") . $body;
        my %reports = map { /^([^,]*,\d+),/ ? ($1 => 1) : () } @rows;
        is $sets{$name}{rows}, $name eq 'all.csv' ? scalar(keys %reports) : scalar(@rows),
           "$name: its row count";
    }
    is epoch($sets{'2024.csv'}{modified}), epoch($head2024->{'last-modified'}),
       '2024.csv: its last change is its Last-Modified';
    my $html = $ngx->get('/r/data/');
    is $html->{status}, 200, 'data/: the page';
    like $html->{content}, qr{<a href="2024\.csv">2024\.csv</a>}, 'links the files';
    like $html->{content}, qr{<a href="index\.json">}, 'and the machine-readable catalog';
    like $html->{content}, qr{<td>$sets{'2024.csv'}{distribution}[0]{byteSize}</td>}, 'with each file\'s size';

    for my $format (2021, 2019) {
        my $r = $ngx->get("/r/format/$format.json");
        is $r->{status}, 200, "format/$format.json";
        my $d = $json->decode($r->{content});
        my @tsv = map { [split /\t/] } grep { /^$format\t/ }
                  split /\n/, decode_utf8(Disclosure::Test::read_file("$Disclosure::Test::REPO/format/cells.tsv"));
        is_deeply [map { "$_->{key} $_->{kind} $_->{unit} $_->{row_label} $_->{col_label}" } @{ $d->{cells} }],
                  [map { "$_->[1].$_->[2].$_->[3] $_->[4] $_->[5] $_->[7] $_->[9]" } @tsv],
                  'every cell of format/cells.tsv, with its kind, unit and labels, in order';
        is_deeply [map { $_->{key} } @{ $d->{merged_cells} }],
                  [$format == 2021 ? map { "applications.other.$_->[3]" } grep { $_->[1] eq 'applications' && $_->[2] eq 'other_misc' } @tsv : ()],
                  'the files\' merged （六） columns' . ($format == 2021 ? '' : ': none');
        my ($total) = grep { $_->{kind} eq 'total' } @{ $d->{cells} };
        ok @{ $total->{sum_of} } > 1, "a total says what it adds up ($total->{key})";
    }
    is $ngx->get('/r/format/2000.json')->{status}, 404, 'no such format: 404';
    is $ngx->get('/r/data/2030.csv')->{status}, 404, 'no such year: 404';
    is $ngx->get('/r/data/2024-2021.csv')->{status}, 404, 'the year\'s own format has only the plain name';
    is $ngx->get('/r/data/nothing')->{status}, 404, 'anything else: 404';
};

subtest 'a client slower than PostgreSQL gets the whole file' => sub {
    my $size = $json->decode($ngx->get('/r/data/index.json')->{content});
    my ($all) = grep { $_->{identifier} eq 'all.csv' } @{ $size->{dataset} };
    for (1 .. 3) {
        my $r = reply(request('/r/data/all.csv', {}, $narrow));
        is $r->{status}, 200, 'all.csv through a 4 KB send buffer';
        ok $r->{complete}, 'whole';
        is length($r->{body}), $all->{distribution}[0]{byteSize}, 'every byte';
        is $r->{headers}{'content-length'}, length $r->{body}, 'as its Content-Length said';
    }
    unlike $ngx->error_log, qr/signal \d+/, 'no worker crashed in the write handler';
};

subtest 'gzip by nginx where the client asks' => sub {
    my $plain = get('/r/data/2020.csv');
    my $gz = get('/r/data/2020.csv', { 'Accept-Encoding' => 'gzip' });
    is $gz->{status}, 200, 'with Accept-Encoding: gzip';
    is $gz->{headers}{'content-encoding'}, 'gzip', 'compressed';
    ok !exists $gz->{headers}{'content-length'}, 'without the plain size';
    is $gz->{headers}{'transfer-encoding'}, 'chunked', 'chunked instead';
    ok $gz->{complete}, 'whole';
    IO::Uncompress::Gunzip::gunzip(\$gz->{body} => \my $body) or die 'gunzip failed';
    is $body, $plain->{body}, 'the same bytes';
    ok length($gz->{body}) < length($plain->{body}) / 2, 'in fewer of them';
};

subtest 'HEAD and 304 without the query' => sub {
    my $get = get('/r/data/2024.csv');
    my $etag = $get->{headers}{etag};
    like $etag, qr/^"d\d+-2024\.csv"$/, 'an ETag from the data version';
    ok $get->{headers}{'last-modified'}, 'and Last-Modified';
    my $streams = () = $ngx->error_log =~ m{"/r/data/2024\.csv": \d+ rows}g;
    my $head = $ngx->head('/r/data/2024.csv');
    is $head->{status}, 200, 'HEAD';
    is $head->{headers}{etag}, $etag, 'the same ETag';
    is $head->{headers}{'content-length'}, length $get->{body}, 'the size of the file';
    is $head->{content} // "", "", "no body";
    my $nm = get('/r/data/2024.csv', { 'If-None-Match' => $etag });
    is $nm->{status}, 304, 'If-None-Match: 304';
    is $nm->{body}, '', 'without a body';
    is scalar(() = $ngx->error_log =~ m{"/r/data/2024\.csv": \d+ rows}g), $streams,
       'neither ran the file\'s query';
    $pg->psql(q{SELECT disclosure.withdraw('demo-district-market', 2024, '测试')});
    my $after = get('/r/data/2024.csv', { 'If-None-Match' => $etag });
    is $after->{status}, 200, 'after a publication: 200';
    isnt $after->{headers}{etag}, $etag, 'with a new ETag';
    unlike $after->{body}, qr/demo-district-market/, 'without the withdrawn report';
};

subtest 'one snapshot under a publication; the bound' => sub {
    my $open = Disclosure::Slow::gate($pg);
    my $before = $pg->psql(q{SELECT version FROM disclosure.data_file_version WHERE file = '2023.csv'});
    my $held = request('/r/data/2023.csv');
    ok Disclosure::Test::poll(sub { backends_waiting('data_file') == 1 }), 'a download is held in PostgreSQL';

    my $busy = get('/r/data/2022.csv');
    is $busy->{status}, 503, 'disclosure_data_connections 1: a second download is refused';
    like $busy->{headers}{'retry-after'}, qr/^\d+$/, 'with Retry-After';
    is $ngx->get('/r/demo-district/2024.html')->{status}, 200, 'pages are still served';

    $pg->psql(q{SELECT disclosure.withdraw('demo-district-finance', 2023, '测试')});
    $open->();
    my $r = reply($held);
    is $r->{status}, 200, 'the held download is answered';
    ok $r->{complete}, 'whole';
    is $r->{headers}{etag}, qq{"d$before-2023.csv"}, 'with the version before the publication';
    like $r->{body}, qr/\r\ndemo-district-finance,/, 'and the report withdrawn since: one snapshot';
    my $now = get('/r/data/2023.csv');
    unlike $now->{body}, qr/demo-district-finance/, 'a new download has it no more';
    isnt $now->{headers}{etag}, $r->{headers}{etag}, 'under a new ETag';
    is get('/r/data/2022.csv')->{status}, 200, 'the slot is free again';
};

subtest 'a client leaving mid-file ends the query' => sub {
    my $open = Disclosure::Slow::gate($pg);
    my $s = request('/r/data/2022.csv');
    ok Disclosure::Test::poll(sub { backends_waiting('data_wide_line') == 1 }), 'a download is mid-file';
    close $s;
    ok Disclosure::Test::poll(sub { backends('data_wide_line') == 0 }),
       'the client went away: the query is gone from PostgreSQL';
    like $ngx->error_log, qr{"/r/data/2022\.csv" ended after \d+ rows, its query with it}, 'logged';
    $open->();
    is get('/r/data/2024.csv')->{status}, 200, 'the slot is free again';
};

subtest 'PostgreSQL failing mid-file cuts the response' => sub {
    my $open = Disclosure::Slow::gate($pg);
    my $s = request('/r/data/2022.csv');
    ok Disclosure::Test::poll(sub { backends_waiting('data_wide_line') == 1 }), 'a download is mid-file';
    $pg->psql(q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE usename = 't_nginx' AND query LIKE '%data_wide_line%'});
    my $r = reply($s);
    ok !$r->{complete}, 'no final chunk: the file does not look complete';
    like $ngx->error_log, qr{"/r/data/2022\.csv" failed after \d+ rows}, 'logged';
    $open->();
    my $again = get('/r/data/2022.csv');
    is $again->{status}, 200, 'the next download is served';
    ok $again->{complete}, 'whole';
};

subtest 'PostgreSQL down: 503 with Retry-After' => sub {
    $pg->stop;
    for my $path ('/r/data/2024.csv', '/r/data/index.json', '/r/format/2021.json') {
        my $r = get($path);
        is $r->{status}, 503, "$path: 503";
        like $r->{headers}{'retry-after'}, qr/^\d+$/, 'with Retry-After';
    }
    $pg->start;
    ok Disclosure::Test::poll(sub { get('/r/data/2024.csv')->{status} == 200 }), 'back when it is';
};

# A file's ETag and Last-Modified are its own (migration 0053): a change in
# one year leaves the other years' files 304; a correction there, and an
# agency's new name, give that year's file a new ETag.  Conditional requests
# as a browser sends them: If-None-Match and If-Modified-Since.
part 'conditional GETs: each file its own version' => sub {
    my %was;
    for my $name (qw(2023.csv 2023.jsonl 2024.csv all.csv)) {
        my $r = get("/r/data/$name");
        is $r->{status}, 200, "$name";
        $was{$name} = $r->{headers};
    }
    my $again = sub {
        my ($name) = @_;
        return get("/r/data/$name", { 'If-None-Match' => $was{$name}{etag},
                                      'If-Modified-Since' => $was{$name}{'last-modified'} });
    };
    my $changed = sub {
        my ($name, $r, $why) = @_;
        is $r->{status}, 200, "$name after $why: 200";
        isnt $r->{headers}{etag}, $was{$name}{etag}, 'with a new ETag';
        like $r->{headers}{etag}, qr/^"d\d+-\Q$name\E"$/, 'of the file';
        cmp_ok epoch($r->{headers}{'last-modified'}), '>=', epoch($was{$name}{'last-modified'}),
               'and a Last-Modified no earlier';
        $was{$name} = $r->{headers};
    };

    is $again->('2023.csv')->{status}, 304, 'unchanged: 304';

    $pg->psql(q{
        SELECT disclosure.revise('demo-district-health', 2024, '更正数字');
        UPDATE disclosure.applications_grid
           SET natural_person = (coalesce(nullif(natural_person, ''), '0')::int + 1)::text
         WHERE agency = 'demo-district-health' AND year = 2024 AND row_key IN ('granted', 'received')
           AND status = 'draft';
        SELECT disclosure.publish('demo-district-health', 2024);
    });
    my $r = $again->('2023.csv');
    is $r->{status}, 304, '2023.csv after a correction published in 2024: still 304';
    is $r->{body}, '', 'without a body';
    is $again->('2023.jsonl')->{status}, 304, '2023.jsonl too';
    $changed->('2024.csv', $again->('2024.csv'), 'the correction');
    $changed->('all.csv', $again->('all.csv'), 'the correction');

    $pg->psql(q{UPDATE disclosure.agency SET name = '示例区教育和体育局' WHERE slug = 'demo-district-education'});
    $r = $again->('2023.csv');
    $changed->('2023.csv', $r, 'an agency\'s new name');
    like decode_utf8($r->{body}), qr/\r\ndemo-district-education,示例区教育和体育局,/, 'which it gives';
    is $again->('2023.jsonl')->{status}, 304,
       '2023.jsonl: 304 (the documents keep the names they were published with)';
    is $again->('all.csv')->{status}, 304, 'all.csv (slugs only): 304';

    my $cat = $json->decode($ngx->get('/r/data/index.json')->{content});
    my %sets = map { $_->{identifier} => $_ } @{ $cat->{dataset} };
    for my $name (qw(2023.csv 2023.jsonl 2024.csv all.csv)) {
        my $h = $ngx->head("/r/data/$name")->{headers};
        is qq{"d$sets{$name}{data_version}-$name"}, $h->{etag}, "the catalog: $name\'s version is its ETag's";
        is epoch($sets{$name}{modified}), epoch($h->{'last-modified'}), 'and its last change its Last-Modified';
    }
};

# The catalog's page is rendered in the location's template: its ETag
# carries the location's checksum and its Last-Modified is no earlier than
# the template was read, as every page's, so that a reload with another
# template is not answered 304 (its ETag was the catalog's version alone).
part 'the catalog page after a reload with another template' => sub {
    my $dir = File::Temp::tempdir('disclosure-data-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0755, $dir;
    Disclosure::Test::write_file("$dir/$_.html", encode_utf8("<html><body>$_<!--# disclosure --></body></html>\n"))
        for qw(first second);
    my $server = sub {
        "listen 127.0.0.1:$narrow sndbuf=4k; location /r/ { disclosure; }"
        . " location /t/ { disclosure; disclosure_template $dir/$_[0].html; }";
    };
    ok $ngx->reload(server => $server->('first')), 'a location with a template';
    my $page = get('/t/data/');
    is $page->{status}, 200, 'the catalog page';
    like $page->{body}, qr/first/, 'in it';
    my $json = get('/t/data/index.json');
    is get('/t/data/', { 'If-None-Match' => $page->{headers}{etag},
                         'If-Modified-Since' => $page->{headers}{'last-modified'} })->{status},
       304, 'unchanged: 304';
    ok $ngx->reload(server => $server->('second')), 'another template';
    my $r = get('/t/data/', { 'If-None-Match' => $page->{headers}{etag},
                              'If-Modified-Since' => $page->{headers}{'last-modified'} });
    is $r->{status}, 200, 'the page: 200';
    like $r->{body}, qr/second/, 'in the new template';
    isnt $r->{headers}{etag}, $page->{headers}{etag}, 'under another ETag';
    is get('/t/data/index.json', { 'If-None-Match' => $json->{headers}{etag},
                                   'If-Modified-Since' => $json->{headers}{'last-modified'} })->{status},
       304, 'index.json (no template): still 304';
};

part 'stored sizes that do not add up: the download is cut, never short and whole' => sub {
    # a second nginx: its alerts are this part's
    my $other = Disclosure::Test->nginx(pg => $pg, server => 'location /r/ { disclosure; }');
    my $whole = get('/r/data/2024.csv', {}, $other->port);
    is $whole->{status}, 200, 'the sizes add up: 200';
    ok $whole->{complete}, 'whole';
    my $size = sub {
        $pg->psql(qq{UPDATE disclosure.data_file_version SET bytes = bytes + $_[0]
                      WHERE file = '2024.csv'});
    };
    # (a file this small is still in nginx's buffer when it is cut: the client
    # gets nothing at all, or a body short of its Content-Length)
    $size->(1);
    my $r = get('/r/data/2024.csv', {}, $other->port);
    ok !$r->{complete}, 'one byte more said than sent: the client can tell';
    like $other->error_log, qr{\[alert\].*"/r/data/2024\.csv": \d+ bytes, not the \d+ of its Content-Length, cut},
         'logged';
    $size->(-2);
    $r = get('/r/data/2024.csv', {}, $other->port);
    ok !$r->{complete}, 'one byte fewer said: cut, not sent past its length';
    like $other->error_log, qr{\[alert\].*"/r/data/2024\.csv" is longer than the \d+ bytes of its Content-Length, cut},
         'logged';
    $size->(1);
    is get('/r/data/2024.csv', {}, $other->port)->{body}, $whole->{body}, 'sizes right again: whole';
    $other->stop;
};

# (the reloads above log the signals they send: a crash is a worker that exited on one)
unlike $ngx->error_log, qr/\[(alert|emerg|crit)\]|exited on signal \d+/, 'no crash, no alert';
done_testing;
