# The editors' draft preview (disclosure_preview): the current draft with
# its check_report findings above it, on every route, never cached, no-store
# and noindex on every response; the public location still 404s the draft;
# nginx -t refuses a preview that shares the public role or has a cache; the
# database refuses a preview role that is also the public reader.
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

# a finding with markup in its message stands for any text of the database
$pg->psql(q{
    ALTER FUNCTION disclosure.check_revision(int) RENAME TO check_revision_plain;
    CREATE FUNCTION disclosure.check_revision(p_revision_id int)
    RETURNS TABLE (rule text, severity text, tbl text, row_key text, col_key text, message text)
    LANGUAGE sql AS $$
        SELECT * FROM disclosure.check_revision_plain(p_revision_id)
        UNION ALL
        SELECT 'R13', 'warning', 'applications', 'received', '<b>col</b>',
               '<script>alert(1)</script> & "引号"'
    $$;
});

# an R1 error in the 2025 draft: 勾稽 breaks
$pg->psql(q{UPDATE disclosure.applications_grid SET natural_person = '999'
             WHERE agency = 'demo-district' AND year = 2025 AND row_key = 'received'});

my $preview_db = 'disclosure_preview_database "' . $pg->conninfo(role => 't_previewer') . '";';

my $ngx = Disclosure::Test->nginx(
    pg     => $pg,
    http   => "$preview_db disclosure_cache_zone reports:1m;",
    server => 'disclosure_cache reports;
               location /disclosure/ { disclosure; }
               location /preview/ { disclosure_preview on; }
               location /both/ { disclosure; disclosure_preview on; }',
);

sub html_escape {
    my ($s) = @_;
    $s =~ s/&/&amp;/g; $s =~ s/</&lt;/g; $s =~ s/>/&gt;/g;
    $s =~ s/"/&quot;/g; $s =~ s/'/&#39;/g;
    return $s;
}

sub preview_headers {
    my ($r, $what) = @_;
    is $r->{headers}{'cache-control'}, 'no-store', "$what: Cache-Control: no-store";
    is $r->{headers}{'x-robots-tag'}, 'noindex', "$what: X-Robots-Tag: noindex";
    ok !exists $r->{headers}{'x-disclosure-cache'}, "$what: not cached";
}


# -- the draft, with its findings ------------------------------------------------

part 'the draft, with its findings, never cached; the public location still 404s it' => sub {
    my $r = $ngx->get('/preview/demo-district/2025');
    is $r->{status}, 200, 'the 2025 draft is served in the preview';
    my $page = decode_utf8($r->{content});
    preview_headers($r, 'report page');
    ok !exists $r->{headers}{etag}, 'no ETag: a draft changes without a new revision';
    ok !exists $r->{headers}{'last-modified'}, 'no Last-Modified';
    like $page, qr{<div class="d-preview"[^>]*>\s*<p class="d-preview-banner"[^>]*><strong>草稿（未发布）</strong>},
        'the 草稿（未发布） banner';
    like $page, qr{<article class="disclosure">\s*<div class="d-preview"}, 'above the report';
    like $page, qr{本报告为草稿，尚未发布。}, 'the report itself says draft';

    my @findings = map { [ split /\t/ ] } split /\n/, decode_utf8($pg->psql(q{
        SELECT rule || E'\t' || severity || E'\t' || message
          FROM disclosure.check_report('demo-district', 2025) WHERE severity IN ('error', 'warning')}));
    my ($errors) = grep { $_->[1] eq 'error' } @findings;
    ok $errors, '(the draft has an error finding: ' . ($errors ? $errors->[2] : '') . ')';

    my $missing = grep { index($page, html_escape($_->[2])) < 0 } @findings;
    is $missing, 0, 'every error and warning of check_report is on the page, with its message (' . @findings . ')';
    like $page, qr{<li class="d-finding-error"><strong>错误</strong> R1 applications/natural_person：三、自然人列不满足勾稽关系},
        'an error with its rule and cell';
    my $n_err = grep { $_->[1] eq 'error' } @findings;
    my $n_warn = grep { $_->[1] eq 'warning' } @findings;
    like $page, qr{检查结果：$n_err 个错误，$n_warn 个警告，\d+ 条提示。有错误的报告不能发布。}, 'the counts';
    like $page, qr{&lt;script&gt;alert\(1\)&lt;/script&gt; &amp; &quot;引号&quot;}, 'a message is HTML-escaped';
    like $page, qr{/&lt;b&gt;col&lt;/b&gt;}, 'and so is its cell';
    unlike $page, qr{<script>|<b>col}, 'no markup from the database';

    # the public location, same nginx: still 404
    $r = $ngx->get('/disclosure/demo-district/2025');
    is $r->{status}, 404, 'the public location still 404s the draft';
    ok !exists $r->{headers}{'x-robots-tag'}, 'and is not marked as a preview';
    is $ngx->get('/disclosure/demo-district/2024')->{status}, 200, 'and serves the 2024 publication';

    # not cached: a change to the draft is on the next request
    $pg->psql(q{UPDATE disclosure.applications_grid SET natural_person = '998'
                 WHERE agency = 'demo-district' AND year = 2025 AND row_key = 'received'});
    $r = $ngx->get('/preview/demo-district/2025');
    like decode_utf8($r->{content}), qr{998}, 'an edit of the draft shows at once';
};


# -- every route ----------------------------------------------------------------------

# (the draft as the part before edited it: 998)
part 'every route of the preview' => sub {
    my $r = $ngx->get('/preview/demo-district/2024');
    is $r->{status}, 404, 'a report without a draft: 404';
    preview_headers($r, '404');

    $r = $ngx->get('/preview/');
    is $r->{status}, 200, 'the preview index';
    preview_headers($r, 'index');
    my $page = decode_utf8($r->{content});
    like $page, qr{草稿（未发布）}, 'with the banner';
    like $page, qr{href="/preview/demo-district/2025\.html"}, 'linking the draft';
    unlike $page, qr{/2024\.html}, 'and only drafts';

    $r = $ngx->get('/preview/demo-district/');
    is $r->{status}, 200, 'the agency page';
    like decode_utf8($r->{content}), qr{href="/preview/demo-district/2025\.html"}, 'lists the draft year';

    $r = $ngx->get('/preview/demo-district/2025.json');
    is $r->{status}, 200, 'JSON';
    preview_headers($r, 'JSON');
    my $doc = JSON::PP->new->decode($r->{content});
    is $doc->{status}, 'draft', 'the draft document';
    ok !exists $doc->{preview}, 'as export_report gives it (no "preview" member)';
    is $doc->{tables}{applications}{received}{natural_person}, 998, 'with the draft cells';

    $r = $ngx->get('/preview/demo-district/2025.csv');
    is $r->{status}, 200, 'CSV';
    like $r->{content}, qr{applications,received,natural_person,998}, 'the draft cells';

    $r = $ngx->get('/preview/demo-district/2025/applications');
    is $r->{status}, 200, 'a table fragment';
    like decode_utf8($r->{content}), qr{^<style>\n[^<]*</style>\n<div class="d-preview".*草稿（未发布）}s,
         'the stylesheet, then the banner first';

    is $ngx->get('/both/demo-district/2025')->{status}, 200, '"disclosure;" and "disclosure_preview on;" together';
};


# -- nginx -t ---------------------------------------------------------------------------

part 'nginx -t refuses a preview that shares the public role or has a cache' => sub {
    my ($ok, $out) = Disclosure::Test->conf_test(
        pg     => $pg,
        http   => 'disclosure_preview_database "' . $pg->conninfo(role => 't_nginx') . '";',
        server => 'location /preview/ { disclosure_preview on; }',
    );
    ok !$ok, 'nginx -t refuses a preview database with the public role';
    like $out, qr{"disclosure_preview_database" connects as "t_nginx", the role of "disclosure_database"},
        'and says why';

    ($ok, $out) = Disclosure::Test->conf_test(
        pg     => $pg,
        http   => 'disclosure_preview_database "dbname=disclosure host=/tmp";',
        server => 'location /preview/ { disclosure_preview on; }',
    );
    ok !$ok, 'nginx -t refuses a preview database without a role';
    like $out, qr{must name its role}, 'and says why';

    ($ok, $out) = Disclosure::Test->conf_test(
        pg     => $pg,
        http   => "$preview_db disclosure_cache_zone z:1m;",
        server => 'location /preview/ { disclosure_preview on; disclosure_cache z; }',
    );
    ok !$ok, 'nginx -t refuses disclosure_cache in a preview location';
    like $out, qr{"disclosure_cache" is not allowed in a location with "disclosure_preview on"}, 'and says why';

    ($ok, $out) = Disclosure::Test->conf_test(
        pg     => $pg,
        server => 'location /preview/ { disclosure_preview on; }',
    );
    ok !$ok, 'nginx -t refuses a preview without disclosure_preview_database';
    like $out, qr{"disclosure_preview_database" is not set}, 'and says why';

    ($ok, $out) = Disclosure::Test->conf_test(
        pg     => $pg,
        http   => "$preview_db disclosure_cache_zone z:1m;",
        server => 'disclosure_cache z; location /preview/ { disclosure_preview on; disclosure_cache off; }',
    );
    ok $ok, 'a server-level cache and "disclosure_cache off" in the preview are accepted' or diag $out;
};


# -- the database's own check: a previewer that is also the public reader ----------

part 'the database refuses a preview role that is also the public reader' => sub {
    $pg->psql('CREATE ROLE t_both LOGIN IN ROLE disclosure_previewer, disclosure_reader');
    my $both = Disclosure::Test->nginx(
        pg     => $pg,
        http   => 'disclosure_preview_database "' . $pg->conninfo(role => 't_both') . '";',
        server => 'location /preview/ { disclosure_preview on; }',
    );
    my $r = $both->get('/preview/demo-district/2025');
    is $r->{status}, 503, 'a preview role that is also disclosure_reader gets no draft';
    unlike decode_utf8($r->{content}), qr{草稿（未发布）|998}, 'nothing of it';
    my $refusal = encode_utf8('角色 “t_both” 是公开站点的只读角色 (disclosure_reader)，不能预览草稿');
    ok $both->wait_for_log(qr{query failed: ERROR:  \Q$refusal\E}), 'the error log has PostgreSQL\'s refusal';
};

done_testing;
