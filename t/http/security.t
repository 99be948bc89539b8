# The security of what is served: the nginx role reads no draft and writes
# nothing (asked of the database itself); request data reaches SQL only as
# bound parameters of three fixed statements (the PostgreSQL log says so);
# hostile text from the database is escaped in HTML, JSON and CSV, CSV
# formula injection included (a web API that returns hostile cells stands
# for a compromised or buggy database); the conninfo password is in no log
# line; every response of the module has nosniff; oversized and malformed
# paths are refused without a query.
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

sub as_nginx { my @r = $pg->psql($_[0], role => 't_nginx', allow_error => 1); return @r }


# -- the nginx role, against the database -----------------------------------------

part 'the nginx role: no privilege on any table or sequence, calls only the read-only web API' => sub {
    # every table, view and sequence of the project's schemas and public
    my $granted = $pg->psql(q{
        SELECT string_agg(c.oid::regclass::text || ':' || p.priv, ' ' ORDER BY 1)
          FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
         CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE',
                                 'REFERENCES', 'TRIGGER']) AS p(priv)
         WHERE n.nspname IN ('disclosure', 'disclosure_web', 'public')
           AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
           AND has_table_privilege('t_nginx', c.oid, p.priv)});
    is $granted, '', 'the nginx role has no privilege on any table or view';

    my $tables = $pg->psql(q{SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = 'disclosure' AND c.relkind IN ('r', 'v')});
    cmp_ok $tables, '>', 10, "($tables tables and views looked at)";

    is $pg->psql(q{
        SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND CASE WHEN c.relkind = 'S' THEN has_sequence_privilege('t_nginx', c.oid, 'USAGE,UPDATE') END}), 0,
        'and none on any sequence';

    # what it can call outside PostgreSQL's own schemas: the web API, which is
    # read-only by construction (STABLE functions cannot write) and pins its
    # search_path (SECURITY DEFINER)
    my @callable = split /\n/, $pg->psql(q{
        SELECT n.nspname || '.' || p.proname || '|' || p.provolatile::text || '|' || p.prosecdef::text
               || '|' || coalesce(array_to_string(p.proconfig, ','), '')
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND has_schema_privilege('t_nginx', n.oid, 'USAGE')
           AND has_function_privilege('t_nginx', p.oid, 'EXECUTE')
         ORDER BY 1});
    cmp_ok scalar(@callable), '>=', 4, 'the nginx role can call the web API';
    is_deeply [ grep { !/^disclosure_web\./ } @callable ], [], 'and nothing outside disclosure_web';
    is_deeply [ grep { !/^[^|]*\|[si]\|/ } @callable ], [], 'every one of them STABLE or IMMUTABLE: no writes';
    is_deeply [ grep { /\|t\|/ && !/search_path=/ } @callable ], [],
        'every SECURITY DEFINER one with its own search_path';

    for my $sql ('CREATE TABLE public.x (i int)', 'CREATE TEMP TABLE x (i int)', 'CREATE SCHEMA x',
                 q{SELECT lo_create(0)}, q{SELECT lo_from_bytea(0, 'x')},
                 q{SELECT disclosure.new_report('demo-district', 2030)},
                 q{UPDATE disclosure.applications_grid SET natural_person = '1' WHERE year = 2025},
                 q{DELETE FROM disclosure.revision}, q{SELECT disclosure.publish('demo-district', 2025)},
                 q{SELECT disclosure.export_report('demo-district', 2025, true)}) {
        my (undef, $err, $ok) = as_nginx($sql);
        ok !$ok, "the nginx role cannot: $sql" or diag $err;
    }
};

part 'drafts, withdrawn reports and draft revisions are invisible to it' => sub {
    # every draft, withdrawn report and draft revision is invisible to it
    $pg->psql(q{
        SELECT disclosure.withdraw('demo-district-market', 2020, '撤回测试');
        SELECT disclosure.revise('demo-district', 2024, '草稿修订');
        UPDATE disclosure.applications_grid SET natural_person = '987654'
         WHERE agency = 'demo-district' AND year = 2024 AND row_key = 'received';
    });
    my @hidden = split /\n/, $pg->psql(q{
        SELECT DISTINCT agency || ' ' || year FROM disclosure.reports
         WHERE status IN ('draft', 'withdrawn') AND revision = 1 ORDER BY 1});
    cmp_ok scalar(@hidden), '>=', 2, 'there are drafts and withdrawn reports: ' . join(', ', @hidden);
    for (@hidden) {
        my ($agency, $year) = split;
        my ($out) = as_nginx("SELECT disclosure_web.report('$agency', $year) IS NULL");
        is $out, 't', "the web API does not show $agency $year";
    }
    my ($doc) = as_nginx(q{SELECT disclosure_web.report('demo-district', 2024)});
    unlike $doc, qr/987654/, 'nor the draft revision of a published report';
};


# -- nginx: what it runs in PostgreSQL --------------------------------------------------

# every statement of the nginx role is logged, with its parameters
$pg->psql(q{ALTER ROLE t_nginx SET log_statement = 'all'});

my $ngx = Disclosure::Test->nginx(pg => $pg, server => 'location /r/ { disclosure; }');

sub get { my $r = $ngx->get(@_); $r->{text} = decode_utf8($r->{content} // ''); return $r }

# the statements of t_nginx in the PostgreSQL log since $from, and their parameters
sub statements {
    my ($from) = @_;
    my $log = substr(Disclosure::Test::read_file($pg->log_file), $from // 0);
    my @sql = $log =~ /t_nginx\@disclosure LOG:  (?:statement|execute [^:]*): (.*)$/mg;
    my @params = $log =~ /t_nginx\@disclosure DETAIL:  parameters: (.*)$/mg;
    return (\@sql, \@params);
}
sub log_size { return length Disclosure::Test::read_file($pg->log_file) }

part 'request data reaches SQL only as bound parameters of three fixed statements' => sub {
    my $mark = log_size();
    my %fixed = map { $_ => 1 } 'SELECT disclosure_web.index()::text',
        'SELECT disclosure_web.agency($1)::text', 'SELECT disclosure_web.report($1, $2::int)::text';

    is get('/r/')->{status}, 200, 'the index';
    is get('/r/index.json')->{status}, 200, 'as JSON';
    is get('/r/demo-district/')->{status}, 200, 'an agency';
    is get('/r/demo-district/2024.csv')->{status}, 200, 'a report';
    is get('/r/demo-district/2024/appeals?agency=x%27;DROP+TABLE+t;--&year=1')->{status}, 200,
        'a fragment, with a hostile query string';
    is get("/r/no-such-agency-1/2031.json?q='")->{status}, 404, 'what does not exist';
    is get('/r/demo-district/2024.json?x=' . ('%27' x 300))->{status}, 200, 'a long query string';

    my ($sql, $params) = statements($mark);
    cmp_ok scalar(@$sql), '>=', 7, scalar(@$sql) . ' statements logged';
    is_deeply [ grep { !$fixed{$_} } @$sql ], [], 'every one of them one of the three fixed texts';
    is scalar(keys %{{ map { $_ => 1 } @$sql }}), 3, 'all three of them';
    is_deeply [ grep { /DROP|;|agency=|%27/ } @$params ], [], 'the query string reaches no parameter';
    ok((grep { $_ eq q{$1 = 'demo-district', $2 = '2024'} } @$params),
       'the agency and the year are bound parameters');
    ok((grep { $_ eq q{$1 = 'no-such-agency-1', $2 = '2031'} } @$params), 'the unknown one too');
};

part 'the session nginx opens is read-only' => sub {
    # the session nginx opens is read-only
    $pg->psql(q{
        ALTER FUNCTION disclosure_web.agency(text) RENAME TO agency_real;
        CREATE FUNCTION disclosure_web.agency(p_agency text)
        RETURNS json LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $$
        BEGIN
            IF p_agency = 'whoami' THEN
                RETURN json_build_object('document', 'disclosure-agency/1', 'years', json_build_array(),
                    'agency', json_build_object('slug', 'whoami', 'name',
                        session_user || ' read-only=' || current_setting('transaction_read_only')));
            END IF;
            RETURN disclosure_web.agency_real(p_agency);
        END
        $$;
        GRANT EXECUTE ON FUNCTION disclosure_web.agency(text) TO disclosure_reader;
    });
    like get('/r/whoami/')->{text}, qr/t_nginx read-only=on/,
        "nginx's session runs as the reader, read-only (default_transaction_read_only)";
};


# -- hostile text from the database -------------------------------------------------------

part 'hostile text from the database is escaped in HTML, JSON and CSV' => sub {
    my $evil = q{<script>alert(1)</script>"'&<img src=x onerror=alert(2)>};
    (my $evil_sql = $evil) =~ s/'/''/g;
    $pg->psql(qq{
        INSERT INTO disclosure.agency (slug, name, kind) VALUES ('evil-parent', '$evil_sql 上级', 'government');
        INSERT INTO disclosure.agency (slug, name, kind, parent_id)
             SELECT 'evil', '$evil_sql 局', 'department', id FROM disclosure.agency WHERE slug = 'evil-parent';
        SELECT disclosure.new_report('evil', 2024);
        UPDATE disclosure.reports SET index_no = '$evil_sql', source_url = 'javascript:alert(3)'
         WHERE agency = 'evil' AND year = 2024;
        UPDATE disclosure.sections_grid SET body = E'$evil_sql\\n=1+1\\n第二段'
         WHERE agency = 'evil' AND year = 2024;
        SELECT disclosure.publish('evil', 2024);
        SELECT disclosure.revise('evil', 2024, '$evil_sql 更正');
        SELECT disclosure.publish('evil', 2024);
    });

    for my $path ('/r/evil/2024', '/r/evil/2024/applications', '/r/evil/', '/r/evil-parent/', '/r/') {
        my $r = get($path);
        is $r->{status}, 200, "$path: 200";
        unlike $r->{text}, qr/<script|<img|<b>|<[^>]*\sonerror=/i, "$path: no markup from the database";
        unlike $r->{text}, qr/href="\s*javascript:/i, "$path: no javascript: link";
    }
    like get('/r/evil/2024')->{text}, qr/&lt;script&gt;alert\(1\)&lt;\/script&gt;&quot;&#39;&amp;&lt;img/,
        'the hostile text is shown as text';
    like get('/r/evil/2024')->{text}, qr/原文：javascript:alert\(3\)</, 'a javascript: source is text, not a link';

    {
        my $r = get('/r/evil/2024.json');
        unlike $r->{content}, qr{</}, 'JSON: no "</" at all';
        my $d = decode_json($r->{content});
        is $d->{agency}{name}, "$evil 局", 'JSON: the name is intact';
        is $d->{index_no}, $evil, 'JSON: the index number too';
        like $d->{revisions}[1]{reason}, qr/^\Q$evil\E/, 'JSON: and the reason';
    }

    # CSV from the real database: every value a number, blank, "/" or not_printed,
    # and so is the derived total beside it
    {
        my @lines = split /\r\n/, substr(get('/r/evil/2024.csv')->{content}, 3);
        shift @lines;
        my $v = qr{(?:\d+(?:\.\d+)?|/|not_printed|)};
        my @texts = grep { !/^[a-z0-9_]+,[a-z0-9_]+,[a-z0-9_]+,$v,$v$/ } @lines;
        is_deeply \@texts, [], 'CSV: no text can come from the database into a cell';
    }
};

part 'CSV formula injection: text in cells from the web API' => sub {
    # CSV formula injection: a web API that returns text in cells
    my %cells = (
        'applications.received.natural_person' => '=1+1',
        'applications.received.business'       => '+SUM(A1:A9)',
        'applications.received.research'       => '-2+3',
        'applications.received.nonprofit'      => '@SUM(A1)',
        'applications.received.legal_services' => "\t=cmd",
        'applications.received.other_org'      => qq{=HYPERLINK("http://example.invalid","x")},
        'appeals.review.upheld'                => "a,\"b\"\r\nc",
        'appeals.review.corrected'             => '=cmd|\' /C calc\'!A0',
    );
    my $sets = join '', map {
        my ($t, $r, $c) = split /\./;
        (my $v = $cells{$_}) =~ s/'/''/g;
        "    d := jsonb_set(d, '{tables,$t,$r,$c}', to_jsonb(E'" . ($v =~ s/\t/\\t/gr =~ s/\r/\\r/gr =~ s/\n/\\n/gr) . "'::text));\n"
    } sort keys %cells;
    $pg->psql(qq{
        ALTER FUNCTION disclosure_web.report(text, int) RENAME TO report_real;
        CREATE FUNCTION disclosure_web.report(p_agency text, p_year int)
        RETURNS json LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS \$\$
        DECLARE
            d jsonb;
        BEGIN
            IF p_agency <> 'formula' THEN
                RETURN disclosure_web.report_real(p_agency, p_year);
            END IF;
            d := disclosure_web.report_real('demo-district', p_year)::jsonb;
    $sets
            RETURN d::json;
        END
        \$\$;
        GRANT EXECUTE ON FUNCTION disclosure_web.report(text, int) TO disclosure_reader;
    });

    {
        my $r = get('/r/formula/2024.csv');
        is $r->{status}, 200, 'CSV of a document with text in its cells: 200';
        my %got = csv_cells(substr($r->{content}, 3));
        for my $k (sort keys %cells) {
            my $v = $cells{$k};
            my $want = $v =~ /^[=+\-\@\t\r]/ ? "'$v" : $v;
            is $got{$k}, $want, sprintf 'CSV: %s read back as %s', quote($v), quote($want);
        }

        my $page = get('/r/formula/2024')->{text};
        unlike $page, qr/HYPERLINK\("http/, 'HTML: the quotes of a formula cell are escaped';
        like $page, qr/=HYPERLINK\(&quot;http/, 'and the text is shown';
    }
};

sub quote { my $s = shift; $s =~ s/([\x00-\x1f])/sprintf '\\x%02x', ord $1/ge; return "\"$s\"" }

# RFC 4180: "table,row,col,value,derived" records, CRLF, quoted fields with ""
sub csv_cells {
    my ($text) = @_;
    my (@rec, @f, %cells);
    my $field = '';
    while (length $text) {
        if ($text =~ s/^"((?:[^"]|"")*)"//) {
            ($field = $1) =~ s/""/"/g;
        } elsif ($text =~ s/^([^,"\r\n]*)//) {
            $field = $1;
        }
        push @f, $field;
        if ($text =~ s/^,//) { next }
        $text =~ s/^\r\n// or die 'CSV: a record without CRLF at ' . substr($text, 0, 20);
        push @rec, [@f];
        @f = ();
    }
    shift @rec;    # the header
    $cells{"$_->[0].$_->[1].$_->[2]"} = $_->[3] for @rec;
    die 'CSV: a record without five fields' if grep { @$_ != 5 } @rec;
    return %cells;
}


# -- the password ----------------------------------------------------------------------------

part 'the conninfo password is in no log line and no response' => sub {
    # a role with a password, which PostgreSQL asks for over TCP
    $pg->psql(q{CREATE ROLE t_pw LOGIN PASSWORD 'Pw-s3cr3t-1' IN ROLE disclosure_reader});
    my $hba = $pg->dir . '/data/pg_hba.conf';
    Disclosure::Test::write_file($hba, "host all t_pw 127.0.0.1/32 scram-sha-256\n"
                                       . Disclosure::Test::read_file($hba));
    $pg->psql('SELECT pg_reload_conf()');

    my $port = $pg->port;
    my $closed = Disclosure::Test::free_port();
    my @secrets = ('Pw-s3cr3t-1', 'Pw-wr0ng-2', 'Pw-s3cr3t-3', 's3cr3t-4', 'Ssl-s3cr3t-5');

    my %db = (
        right  => qq{hostaddr=127.0.0.1 port=$port dbname=disclosure user=t_pw password=Pw-s3cr3t-1},
        wrong  => qq{hostaddr=127.0.0.1 port=$port dbname=disclosure user=t_pw password='Pw-wr0ng-2'},
        closed => qq{host=127.0.0.1 port=$closed dbname=disclosure user=t_pw password=Pw-s3cr3t-3},
        uri    => qq{postgresql://t_pw:s3cr3t-4\@127.0.0.1:$closed/disclosure},
        # every option libpq marks secret is masked, not only "password" (issue 11)
        sslpassword => qq{hostaddr=127.0.0.1 port=$port dbname=disclosure user=t_pw password=Pw-s3cr3t-1}
                     . q{ sslpassword=Ssl-s3cr3t-5},
    );
    my %want = (right => 200, wrong => 503, closed => 503, uri => 503, sslpassword => 200);

    for my $case (sort keys %db) {
        my $n = Disclosure::Test->nginx(http => qq{disclosure_database "$db{$case}";}, log_level => 'debug',
                                        server => 'location /r/ { disclosure; }');
        my $r = $n->get('/r/demo-district/2024');
        is $r->{status}, $want{$case}, "password $case: $want{$case}";
        $r = $n->get('/r/demo-district/');
        like $n->error_log, qr/password=\*{8}/, "password $case: the log shows it masked";
        like $n->error_log, qr/password authentication failed/, 'and why it failed' if $case eq 'wrong';
        like $n->error_log, qr/ sslpassword=\*{8}/, 'sslpassword masked too' if $case eq 'sslpassword';
        like $n->error_log, qr/could not connect to ".*password=\*{8}.*": .*refused/, 'and why it failed'
            if $case eq 'closed' || $case eq 'uri';
        my $logs = join '', map { Disclosure::Test::read_file($n->dir . "/$_") } qw(error.log access.log stderr.log);
        unlike $logs, qr/\Q$_\E/, "password $case: \"$_\" is in no log line, at debug level" for @secrets;
        is $r->{headers}{'x-content-type-options'}, 'nosniff', "password $case: nosniff on $r->{status}";
        unlike $r->{content}, qr/s3cr3t|wr0ng/, "password $case: nor in the response";
    }
};

part 'nginx -t shows no piece of a password in a malformed string' => sub {
    # malformed strings at nginx -t: no piece of a password (two of these
    # showed one, found by fuzz/conninfo.c)
    for my $conninfo ('hostaddr=127.0.0.1 password=s3cr3t tail9',
                      'hostaddr=127.0.0.1 sslpassword=s3cr3t tail9',
                      'password=my pass"w0rd x=1',
                      'postgresql://h/db?pass%77ord=s3cr3t%zz',
                      'postgresql://t_nginx:s3cr3t@[::1/db') {
        my ($ok, $out) = Disclosure::Test->conf_test(http => qq{disclosure_database '$conninfo';});
        ok !$ok, "nginx -t refuses $conninfo";
        like $out, qr/invalid "disclosure_database"/, 'and says why';
        unlike $out, qr/s3cr3t|w0rd|tail9/, 'with no piece of the password';
    }
};


# -- nosniff on every response of the module -----------------------------------------------

part 'nosniff on every response of the module' => sub {
    my $etag = get('/r/demo-district/2024')->{headers}{etag};
    for my $case (
        [ GET => '/r/', 200 ], [ GET => '/r/index.json', 200 ], [ GET => '/r/demo-district/', 200 ],
        [ GET => '/r/demo-district/index.json', 200 ], [ GET => '/r/demo-district/2024', 200 ],
        [ GET => '/r/demo-district/2024.html', 200 ], [ GET => '/r/demo-district/2024.json', 200 ],
        [ GET => '/r/demo-district/2024.csv', 200 ], [ GET => '/r/demo-district/2024/appeals', 200 ],
        [ HEAD => '/r/demo-district/2024', 200 ], [ GET => '/r/demo-district', 301 ],
        [ GET => '/r/demo-district/2024', 304, { 'If-None-Match' => $etag } ],
        [ GET => '/r/Demo/2024', 400 ], [ GET => '/r/demo-district/2019', 404 ],
        [ GET => '/r/demo-district/2025', 404 ], [ GET => '/r/demo-district/2024.xml', 404 ],
        [ GET => '/r/demo-district/2024/summary', 404 ], [ POST => '/r/demo-district/2024', 405 ],
        [ DELETE => '/r/', 405 ],
    ) {
        my ($method, $path, $status, $headers) = @$case;
        my $r = $ngx->request($method, $path, { headers => $headers // {} });
        is $r->{status}, $status, "$method $path: $status";
        is $r->{headers}{'x-content-type-options'}, 'nosniff', "$method $path: nosniff";
    }
};


# -- oversized and malformed paths: refused before any query ----------------------------------

part 'oversized and malformed paths: refused before any query' => sub {
    my $mark = log_size();
    my @bad = ('/r/' . ('a' x 2000) . '/2024', '/r/' . join('/', ('ab') x 100), '/r/x%27%3B--/2024',
               '/r/demo-district/2024%00.csv', '/r/demo-district/2024.csv%00', '/r/%E4%B8%AD%E6%96%87/',
               '/r/demo-district/20%324x', '/r/demo%0Adistrict/', '/r/demo-district/2024/appeals%2Fx',
               '/r/DEMO-DISTRICT/', '/r/demo-district/+2024');
    for my $path (@bad) {
        is get($path)->{status}, 400, 'refused: ' . (length $path > 60 ? substr($path, 0, 60) . '...' : $path);
    }
    is get('/r/' . ('a' x 10240))->{status}, 414, 'a 10 KB URI: 414, from nginx';
    my ($sql) = statements($mark);
    is scalar(@$sql), 0, 'not one query for any of them';
    like $ngx->error_log, qr/disclosure: bad request .*path too long/, 'the reason is logged';
};

part 'random paths: never a 5xx' => sub {
    # random bytes as paths: never a 5xx, never a query for a malformed one
    srand 20251127;
    my %seen;
    for (1 .. 300) {
        my $len = 1 + int rand 80;
        my $path = join '', map {
            my $c = int rand 6;
            $c == 0 ? '/' : $c == 1 ? '-' : $c == 2 ? sprintf('%%%02X', int rand 256)
                      : $c == 3 ? int(rand 10) : chr(97 + int rand 26)
        } 1 .. $len;
        my $r = get("/r/$path");
        $seen{$r->{status}}++;
    }
    is_deeply [ grep { $_ >= 500 } keys %seen ], [], 'random paths: no 5xx ('
        . join(', ', map { "$_: $seen{$_}" } sort keys %seen) . ')';
};

unlike $ngx->error_log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'no crash, no alert';
done_testing;
