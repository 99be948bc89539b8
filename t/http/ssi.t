# Inline into portal pages with stock SSI: a static page, and a page from a
# proxied CMS upstream that sends gzip (conf/portal-ssi.conf).
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
# the CMS compresses whatever it can, with no minimum
my $cms = Disclosure::Test::free_port();
my $hop = Disclosure::Test::free_port();

my $ngx = Disclosure::Test->nginx(pg => $pg, http => <<CONF, server => <<CONF2);
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
}
CONF2

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

# an include of something that does not exist leaves the page whole
part 'an include of something that does not exist leaves the page whole' => sub {
    Disclosure::Test::write_file("$dir/missing.html", encode_utf8(
        qq{<p>前</p><!--# include virtual="/disclosure/no-such/2024/appeals" --><p>后</p>}));
    my $r = $ngx->get('/missing.html');
    like decode_utf8($r->{content}), qr/<p>前<\/p>.*<p>后<\/p>/s, 'a missing report does not break the page';
};

unlike $ngx->error_log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'no crash';
done_testing;
