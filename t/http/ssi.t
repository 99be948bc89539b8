# Inline into portal pages with stock SSI: a static page, and a page from a
# proxied CMS upstream that sends gzip (conf/portal-ssi.conf).  A page of
# several fragments carries each stylesheet once, sent before the first
# fragment that needs it, from the cache or not; a fragment asked for
# directly, or read into a variable, carries its own.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Encode qw(decode_utf8 encode_utf8);
use IO::Uncompress::Gunzip qw(gunzip);
use HTTP::Tiny;
use File::Temp ();
use Disclosure::Test;
use Disclosure::Cache;
use Disclosure::Part;

binmode Test::More->builder->$_, ":encoding(UTF-8)" for qw(output failure_output todo_output);

my $pg = Disclosure::Test->pg(sample => 1);

my $page = <<'HTML';
<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>门户文章</title></head>
<body><main><h1>关于政府信息公开的文章</h1>
<p>主动公开：</p>
<!--# include virtual="/disclosure/demo-district/2024/proactive" -->
<p>依申请公开：</p>
<!--# include virtual="/disclosure/demo-district/2024/applications" -->
<p>复议诉讼：</p>
<!--# include virtual="/disclosure/demo-district/2024/appeals" -->
</main></body></html>
HTML

# the portal's document root, readable by the workers (nobody)
my $dir = File::Temp::tempdir('disclosure-portal-XXXXXX', TMPDIR => 1, CLEANUP => 1);
mkdir "$dir/cms" or die $!;
chmod 0755, $dir, "$dir/cms";
Disclosure::Test::write_file("$dir/article.html", encode_utf8($page));
Disclosure::Test::write_file("$dir/cms/article.html", encode_utf8($page));
(my $cached = $page) =~ s{virtual="/disclosure/}{virtual="/c/}g;
Disclosure::Test::write_file("$dir/cached.html", encode_utf8($cached));
# a table and fragments of the pages across reports, twice over
Disclosure::Test::write_file("$dir/mixed.html", encode_utf8(join '',
    map { qq{<section><!--# include virtual="$_" --></section>\n} }
        qw(/c/demo-district/2024/appeals /c/demo-district/trend/fragment
           /c/demo-district/2024/proactive /c/2024/fragment)));
# a fragment read into a variable and echoed, then one included
Disclosure::Test::write_file("$dir/set.html", encode_utf8(
    qq{<!--# include virtual="/disclosure/demo-district/2024/appeals" set="t" -->}
  . qq{<!--# echo var="t" encoding="none" -->}
  . qq{<!--# include virtual="/disclosure/demo-district/2024/proactive" -->}));
# the CMS compresses whatever it can, with no minimum
my $cms = Disclosure::Test::free_port();
my $hop = Disclosure::Test::free_port();

my $ngx = Disclosure::Test->nginx(pg => $pg, http => <<CONF, server => <<CONF2);
disclosure_cache_zone reports:8m;
server {
    listen 127.0.0.1:$cms;
    root $dir/cms;
    gzip on;
    gzip_min_length 1;
    gzip_proxied any;
    gzip_http_version 1.0;
    gzip_types text/html;
}
server {
    # the inner hop of conf/portal-ssi.conf: inflates for its client
    listen 127.0.0.1:$hop;
    location / {
        proxy_pass http://127.0.0.1:$cms/;
        # this CMS compresses whenever asked; asking always stands for a CMS
        # that compresses regardless
        proxy_set_header Accept-Encoding gzip;
        gunzip on;
    }
}
CONF
location / {
    root $dir;
    ssi on;
    postpone_output 64k;
}
location /cms/ {
    proxy_pass http://127.0.0.1:$hop/;
    proxy_set_header Accept-Encoding "";
    ssi on;
    ssi_types text/html;
    postpone_output 64k;
}
location /disclosure/ {
    disclosure;
    # include set= reads a whole fragment, its stylesheet included
    subrequest_output_buffer_size 64k;
}
location /c/ {
    disclosure;
    disclosure_cache reports;
}
CONF2

# the report's stylesheet and the pages' own (a fragment of a trend, a
# comparison, a roll-up or a year): <style> elements in the order sent
sub styles {
    my ($body) = @_;
    my @s;
    while ($body =~ m{<style>\n(.*?)</style>\n}sg) {
        push @s, $1 =~ /^:where\(\.disclosure\)\{/ ? 'report' : 'pages';
    }
    return join ' ', @s;
}

sub check_inlined {
    my ($what, $body) = @_;
    unlike $body, qr/<!--#/, "$what: every include was processed";
    unlike $body, qr/error occurred while processing/, "$what: without an SSI error";
    for my $t (qw(proactive applications appeals)) {
        like $body, qr/class="[^"]*d-t-$t/, "$what: the $t table is inline";
    }
    like $body, qr/<h1>关于政府信息公开的文章<\/h1>/, "$what: inside the portal's own page";
    like $body, qr/（本列数据的勾稽关系为/, "$what: the applications table in its official layout";
    my $n = $pg->psql(q{SELECT total FROM disclosure.applications_grid
                        WHERE agency = 'demo-district' AND year = 2024 AND row_key = 'received'});
    like $body, qr/headers="[^"]*d-applications-r-received[^"]*d-applications-c-total">$n</, "$what: with the data";
    is styles($body), 'report', "$what: the stylesheet once";
}

part 'a static page' => sub {
    my $r = $ngx->get('/article.html');
    is $r->{status}, 200, 'static page: 200';
    check_inlined('static page', decode_utf8($r->{content}));
};

# the upstream does send gzip
part 'a page from a proxied CMS that sends gzip' => sub {
    my $direct = HTTP::Tiny->new->get("http://127.0.0.1:$cms/article.html", { headers => { 'Accept-Encoding' => 'gzip' } });
    is $direct->{headers}{'content-encoding'}, 'gzip', 'the CMS sends gzip';

    my $r = $ngx->get('/cms/article.html');
    is $r->{status}, 200, 'proxied CMS page: 200';
    ok !$r->{headers}{'content-encoding'}, 'nginx inflated it for SSI';
    check_inlined('proxied CMS page', decode_utf8($r->{content}));

    # and a client that accepts gzip gets the finished page compressed
    $r = $ngx->get('/cms/article.html', { 'Accept-Encoding' => 'gzip' });
    my $plain;
    if (($r->{headers}{'content-encoding'} // '') eq 'gzip') {
        gunzip(\$r->{content} => \$plain) or die 'gunzip failed';
    } else {
        $plain = $r->{content};
    }
    check_inlined('proxied CMS page to a gzip client', decode_utf8($plain));
};

part 'fragments from the cache: the stylesheet once' => sub {
    for my $pass (qw(MISS HIT)) {
        my $r = $ngx->get('/cached.html');
        is $r->{status}, 200, "$pass: 200";
        my $body = decode_utf8($r->{content});
        check_inlined("from the cache, $pass", $body);
        # hits are sent in the page's order; fills in the order they end
        like $body, qr{<p>主动公开：</p>\n<style>\n}, 'HIT: before the first fragment' if $pass eq 'HIT';
    }
    is Disclosure::Cache::header($ngx->get('/c/demo-district/2024/appeals')), 'HIT',
       'the fragments were cached';
};

part 'a fragment asked for directly carries its stylesheets' => sub {
    for my $path (qw(/disclosure/demo-district/2024/appeals /c/demo-district/2024/appeals)) {
        my $r = $ngx->get($path);
        is styles($r->{content}), 'report', "$path: the report's";
        like $r->{content}, qr{\A<style>\n}, "$path: first";
        is $r->{headers}{'content-length'}, length $r->{content}, "$path: counted in Content-Length";
    }
    my $r = $ngx->get('/disclosure/demo-district/trend/fragment');
    is styles($r->{content}), 'report pages', 'a trend\'s fragment: both, the report\'s first';
    my $h = $ngx->head('/c/demo-district/2024/appeals');
    is $h->{headers}{'content-length'}, length $ngx->get('/c/demo-district/2024/appeals')->{content},
       'HEAD: the same Content-Length';
};

part 'a page of a table and of pages across reports: each stylesheet once' => sub {
    for my $pass (qw(MISS HIT)) {
        my $r = $ngx->get('/mixed.html');
        is $r->{status}, 200, "$pass: 200";
        my $body = decode_utf8($r->{content});
        is scalar(() = $body =~ /class="disclosure d-fragment"/g), 4, "$pass: all four fragments";
        if ($pass eq 'MISS') {
            is join(' ', sort split ' ', styles($body)), 'pages report', 'MISS: each stylesheet once';
            next;
        }
        is styles($body), 'report pages', 'HIT: the report\'s, then the pages\'';
        like $body, qr{\A<section><style>\n.*?</style>\n<div class="disclosure d-fragment".*?</section>\n<section><style>\n}s,
             'HIT: the report\'s with the table, the pages\' with the trend';
    }
};

part 'a fragment read into a variable carries its own' => sub {
    my $body = decode_utf8($ngx->get('/set.html')->{content});
    is styles($body), 'report report', 'the echoed one and the included one each';
    like $body, qr/d-t-appeals.*d-t-proactive/s, 'both tables';
};

# an include of something that does not exist leaves the page whole
part 'an include of something that does not exist leaves the page whole' => sub {
    Disclosure::Test::write_file("$dir/missing.html", encode_utf8(
        qq{<p>前</p><!--# include virtual="/disclosure/no-such/2024/appeals" --><p>后</p>}));
    my $r = $ngx->get('/missing.html');
    like decode_utf8($r->{content}), qr/<p>前<\/p>.*<p>后<\/p>/s, 'a missing report does not break the page';
};

unlike $ngx->error_log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'no crash';
done_testing;
