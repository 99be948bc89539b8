# The module loads into Debian's nginx, its directives are checked at
# configuration time, the "disclosure" location answers GET and HEAD and
# refuses other methods with 405 and Allow.  Reload works.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use Disclosure::Test;
use Disclosure::Part;

my $pg = Disclosure::Test->pg;

my $all_directives = '
    disclosure_keepalive 2;
    disclosure_keepalive_timeout 30s;
    disclosure_connect_timeout 3s;
    disclosure_query_timeout 5s;
';


# configuration time

part 'nginx -t accepts a configuration with every directive' => sub {
    my ($ok, $out) = Disclosure::Test->conf_test(
        pg     => $pg,
        http   => $all_directives,
        server => 'location /reports/ { disclosure; }',
    );
    ok $ok, 'nginx -t accepts a configuration with every directive'
        or diag $out;
    like $out, qr/test is successful/, 'nginx -t says so';
};

part 'nginx -t accepts conf/minimal.conf' => sub {
    my $conf = Disclosure::Test::read_file(
        "$Disclosure::Test::REPO/conf/minimal.conf");
    my $module = Disclosure::Test->module_path;
    my $tmp = $pg->dir;

    $conf =~ s{load_module modules/\S+;}{load_module $module;} or die;
    $conf =~ s{/var/log/nginx/|/run/}{$tmp/}g;

    my ($ok, $out) = Disclosure::Test->conf_test($conf);
    ok $ok, 'nginx -t accepts conf/minimal.conf' or diag $out;
};

sub conf_error {
    my ($http, $server) = @_;
    my ($ok, $out) = Disclosure::Test->conf_test(
        http => $http, server => $server // '',
    );
    ok !$ok, 'nginx -t fails';
    return $out;
}

part 'nginx -t: a malformed conninfo is named, without the password' => sub {
    my $out = conf_error(
        'disclosure_database "hostaddr=127.0.0.1 password=s3cr3t dbname";'
    );
    like $out, qr/invalid "disclosure_database": missing "=" after "dbname"/,
        'a malformed conninfo is named';
    unlike $out, qr/s3cr3t/, 'without the password';
};

part 'nginx -t: a quoted piece that may belong to the password is hidden' => sub {
    my $out = conf_error(
        'disclosure_database "hostaddr=127.0.0.1 password=s3cr3t tail9";'
    );
    like $out, qr/missing "=" after "\(hidden\)"/,
        'a quoted piece that may belong to the password is hidden';
    unlike $out, qr/s3cr3t|tail9/, 'no piece of it is shown';
};

part 'nginx -t: a malformed URI is named, without its password' => sub {
    my $out = conf_error('disclosure_database '
        . '"postgresql://t_nginx:s3cr3t@127.0.0.1:5432/disclosure?sslmode";');
    like $out, qr/missing key\/value separator "=" in URI query parameter/,
        'a malformed URI is named';
    unlike $out, qr/s3cr3t/, 'without its password';
};

part 'nginx -t: an unknown option is named when there is no password' => sub {
    my $out = conf_error('disclosure_database "hostaddr=127.0.0.1 colour=4";');
    like $out, qr/invalid connection option "colour"/,
        'an unknown option is named when there is no password';
};

part 'nginx -t: more ports than hosts' => sub {
    my $out = conf_error('disclosure_database '
        . '"host=localhost,127.0.0.1 port=5432,5433,5434 dbname=x";');
    like $out, qr/invalid "disclosure_database": 3 ports for 2 hosts/,
        'a port list that does not match the hosts';
};

part 'nginx -t: disclosure without disclosure_database' => sub {
    my $out = conf_error('', 'location /reports/ { disclosure; }');
    like $out, qr/"disclosure" is used, but "disclosure_database" is not set/,
        '"disclosure" without "disclosure_database"';
};

part 'nginx -t: a duplicate disclosure_database' => sub {
    my $out = conf_error('disclosure_database "dbname=x";'
                         . 'disclosure_database "dbname=y";');
    like $out, qr/"disclosure_database" directive is duplicate/,
        'a second "disclosure_database"';
};

part 'nginx -t: disclosure_query_timeout must be greater than 0' => sub {
    my $out = conf_error('disclosure_query_timeout 0;');
    like $out, qr/"disclosure_query_timeout" directive must be greater than/,
        'a zero timeout';
};

part 'nginx -t: disclosure where it is not allowed' => sub {
    my $out = conf_error('', 'disclosure;');
    like $out, qr/"disclosure" directive is not allowed here/,
        '"disclosure" belongs in a location';
};


# a running nginx

my $ngx = Disclosure::Test->nginx(
    http => 'disclosure_database "host=localhost port=' . $pg->port
          . ' dbname=disclosure user=t_nginx password=s3cr3t";'
          . $all_directives,
    server => '
        location /reports/ { disclosure; }
        location /plain/ { return 204; }
    ',
);

part 'the error log names the database, the password masked' => sub {
    ok $ngx->wait_for_log(qr/disclosure: database ".*"/),
        'the database is logged at start';
    my ($logged) = $ngx->error_log =~ /disclosure: database "(.*?)", keepalive/;
    like $logged, qr/(^| )host=localhost( |$)/, 'with the host name';
    like $logged, qr/(^| )hostaddr=127\.0\.0\.1( |$)/,
        'resolved into hostaddr at configuration time';
    like $logged, qr/(^| )password=\*{8}( |$)/, 'the password masked';
    like $logged, qr/(^| )application_name=nginx-disclosure( |$)/,
        'application_name added';
    unlike $ngx->error_log, qr/s3cr3t/, 'the password is nowhere in the log';
    like $ngx->error_log,
        qr/keepalive 2, timeouts: connect 3000ms, query 5000ms, idle 30000ms/,
        'the directives are in effect';
};

part 'GET and HEAD are answered, other methods refused with 405 and Allow' => sub {
    my $r = $ngx->get('/reports/');
    is $r->{status}, 200, 'GET: the index';
    is $r->{headers}{'content-type'}, 'text/html; charset=utf-8',
        'as HTML';

    $r = $ngx->head('/reports/');
    is $r->{status}, 200, 'HEAD: 200';

    $r = $ngx->request('POST', '/reports/2024', { content => 'x=1' });
    is $r->{status}, 405, 'POST: 405';
    is $r->{headers}{allow}, 'GET, HEAD', 'with Allow';

    $r = $ngx->request('DELETE', '/reports/2024');
    is $r->{status}, 405, 'DELETE: 405';

    is $ngx->get('/plain/')->{status}, 204, 'other locations are untouched';
    is $ngx->get('/other/')->{status}, 404, '/other/ is not configured yet';
};


# reload

part 'reload: new workers serve the new configuration; a bad one keeps the old workers' => sub {
    ok $ngx->reload(server => '
            location /reports/ { disclosure; }
            location /other/ { disclosure; }
        '), 'reload with a new location';
    is $ngx->get('/other/')->{status}, 200, 'new workers serve the new location';
    is $ngx->get('/plain/')->{status}, 404, 'and no longer the removed one';

    ok !$ngx->reload(http => $all_directives),
        'a reload without "disclosure_database" is refused';
    like $ngx->error_log, qr/"disclosure" is used, but "disclosure_database"/,
        'with the reason in the log';
    is $ngx->get('/other/')->{status}, 200, 'the old workers go on serving';

    ok $ngx->reload, 'a plain reload';
    is $ngx->get('/reports/')->{status}, 200, 'answers after it';
};

done_testing;
