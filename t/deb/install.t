# The Debian packages (make deb) installed into this machine's Debian nginx:
# dpkg -i, the module enabled in /etc/nginx/modules-enabled and loaded by
# the stock configuration (nginx -t), the schema installed by the packaged
# disclosure-migrate into a throwaway PostgreSQL, the packaged example
# configuration serving a report from it (nginx -p/-c on a free port, the
# module from /usr/lib/nginx/modules), then dpkg --purge, and /etc/nginx and
# the module directories exactly as they were.  The system's nginx service
# is never started (policy-rc.d), and the tests that load build/*.so are not
# touched.  Needs root; about a minute, most of it dpkg-buildpackage.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Encode qw(decode_utf8);
use File::Find;
use File::Temp ();
use HTTP::Tiny;
use Digest::MD5;
use Disclosure::Test;
use Disclosure::Part;

binmode Test::More->builder->$_, ":encoding(UTF-8)" for qw(output failure_output todo_output);

plan skip_all => 'dpkg -i needs root' if $> != 0;

my @PACKAGES = qw(libnginx-mod-http-disclosure ngx-disclosure-tools);
my $SO = '/usr/lib/nginx/modules/ngx_http_disclosure_module.so';
my $POLICY = '/usr/sbin/policy-rc.d';
my $EXAMPLES = '/usr/share/doc/ngx-disclosure-tools/examples';
my $NGINX = '/usr/sbin/nginx';

sub installed {
    my ($pkg) = @_;
    my ($ok, $out) = Disclosure::Test::run_cmd(
        [ 'dpkg-query', '-W', '-f', '${db:Status-Status}', $pkg ]);
    return $ok && $out eq 'installed';
}

plan skip_all => "$_ is installed on this machine; the test would remove it"
    for grep { installed($_) } @PACKAGES;

# what "as it was" means: every path under these, with its type, target
# and contents
sub snapshot {
    my %state;
    for my $root ('/etc/nginx', '/usr/lib/nginx', '/usr/share/nginx/modules-available') {
        unless (-e $root || -l $root) {
            $state{$root} = 'absent';
            next;
        }
        find({ no_chdir => 1, wanted => sub {
            my $p = $File::Find::name;
            if (-l $p) {
                $state{$p} = 'link ' . readlink $p;
            } elsif (-d $p) {
                $state{$p} = 'dir';
            } else {
                open my $fh, '<', $p or return;
                binmode $fh;
                $state{$p} = 'file ' . Digest::MD5->new->addfile($fh)->hexdigest;
            }
        } }, $root);
    }
    return \%state;
}

my $before = snapshot();

# the system's nginx must not start or reload: the packages' triggers ask
# invoke-rc.d, which asks policy-rc.d
my $own_policy = !-e $POLICY;
if ($own_policy) {
    Disclosure::Test::write_file($POLICY, "#!/bin/sh\n# t/deb/install.t\nexit 101\n");
    chmod 0755, $POLICY;
}

my ($nginx_pid_file, $installed);

END {
    my $exit = $?;
    if ($nginx_pid_file && -f $nginx_pid_file) {
        chomp(my $pid = Disclosure::Test::read_file($nginx_pid_file));
        kill 'QUIT', $pid if $pid;
        Disclosure::Test::poll(sub { !Disclosure::Test::process_alive($pid) });
    }
    if ($installed) {
        system 'dpkg', '--purge', @PACKAGES;
    }
    unlink $POLICY if $own_policy;
    $? = $exit;
}


# -- make deb ---------------------------------------------------------------------

# the packages, which the next parts install, use and purge: each part goes
# on from the state the one before left the machine in
my %deb;

part 'make deb: the packages, lintian-clean, with their dependencies' => sub {
    my ($ok, $out, $err) = Disclosure::Test::run_cmd(
        [ 'make', '--no-print-directory', 'deb' ], chdir => $Disclosure::Test::REPO);
    ok $ok, 'make deb' or diag "$out$err";
    my $lintian = "$Disclosure::Test::REPO/build/deb/lintian.log";
    unlike Disclosure::Test::read_file($lintian), qr/^E: /m, 'lintian: no errors';

    for my $pkg (@PACKAGES) {
        ($deb{$pkg}) = glob "$Disclosure::Test::REPO/build/deb/${pkg}_*_amd64.deb";
        ok $deb{$pkg}, "build/deb/${pkg}_<version>_amd64.deb";
    }
    BAIL_OUT('no packages to install') unless $ok && 2 == grep { $_ } values %deb;

    ($ok, $out) = Disclosure::Test::run_cmd(
        [ 'dpkg-deb', '-f', $deb{'libnginx-mod-http-disclosure'}, 'Depends' ]);
    like $out, qr/\bnginx-abi-[\d.]+-\d+\b/, 'the module depends on the nginx ABI it was built against';
    like $out, qr/\blibpq5\b/, 'on libpq5';
    like $out, qr/\blibyajl2\b/, 'and on libyajl2';
};


# -- dpkg -i ------------------------------------------------------------------------

part 'dpkg -i: the module enabled and loaded by the stock configuration, the tools and examples installed' => sub {
    $installed = 1;
    my ($ok, $out, $err) = Disclosure::Test::run_cmd(
        [ 'dpkg', '-i', map { $deb{$_} } @PACKAGES ]);
    ok $ok, 'dpkg -i' or diag "$out$err";
    ok installed($_), "$_ is installed" for @PACKAGES;

    ok -f $SO, "the module is in $SO";
    my $snippet = '/etc/nginx/modules-enabled/50-mod-http-disclosure.conf';
    is readlink($snippet), '/usr/share/nginx/modules-available/mod-http-disclosure.conf',
        'enabled in /etc/nginx/modules-enabled (dh_nginx)';
    like Disclosure::Test::read_file($snippet), qr{^load_module modules/ngx_http_disclosure_module\.so;$}m,
        'the load snippet';

    # Debian's own configuration, which includes modules-enabled/*.conf
    ($ok, $out, $err) = Disclosure::Test::run_cmd([ $NGINX, '-t' ]);
    ok $ok, 'nginx -t with the stock /etc/nginx/nginx.conf loads the module' or diag "$out$err";

    ok -x '/usr/bin/disclosure-migrate', 'disclosure-migrate';
    ($ok, $out, $err) = Disclosure::Test::run_cmd([ '/usr/bin/disclosure-import', '--agency', 't-deb',
        "$Disclosure::Test::REPO/t/import/pages/shuyang-fgj-2023.html" ]);
    ok $ok && $out =~ /"document"\s*:\s*"disclosure-report\/1"/, 'the packaged disclosure-import reads a saved page'
        or diag $err;
    ok -f '/usr/share/ngx-disclosure/sql/migrations/0001_format.sql', 'the migrations in /usr/share/ngx-disclosure/sql';
    ok -f '/usr/share/ngx-disclosure/sql/functions/00_format.sql', 'and the functions and views';
    ok -f "$EXAMPLES/$_", "the example $_" for qw(minimal.conf cache.conf portal-ssi.conf preview.conf);
};


# -- the schema, by the packaged command ---------------------------------------------

my $pg = Disclosure::Test->pg(migrate => 0);
part 'the schema, by the packaged disclosure-migrate' => sub {
    my $admin = sprintf 'host=%s port=%d dbname=disclosure user=postgres', $pg->socket_dir, $pg->port;
    my ($ok, $out, $err) = Disclosure::Test::run_cmd([ '/usr/bin/disclosure-migrate', $admin ]);
    ok $ok, 'disclosure-migrate CONNINFO' or diag "$out$err";
    like $out, qr/applying 0001_format\.sql/, 'applies the migrations';
    is $pg->psql('SELECT count(*) FROM disclosure.migration'),
        scalar(() = glob "$Disclosure::Test::REPO/sql/migrations/*.sql"), 'every one of them';
    ($ok, $out) = Disclosure::Test::run_cmd([ '/usr/bin/disclosure-migrate', $admin ]);
    ok $ok && $out !~ /applying/, 'a second run changes nothing';
    $pg->psql(undef, file => "$Disclosure::Test::REPO/sql/sample/load.sql");
    $pg->psql('CREATE ROLE t_nginx LOGIN IN ROLE disclosure_reader');
};


# -- the packaged example configuration ---------------------------------------------

part 'the packaged example configuration serves a report from PostgreSQL' => sub {
    my $dir = File::Temp::tempdir('disclosure-deb-XXXXXX', DIR => '/tmp', CLEANUP => 1);
    chmod 0755, $dir;
    my $port = Disclosure::Test::free_port();
    my $conf = Disclosure::Test::read_file("$EXAMPLES/minimal.conf");
    my $conninfo = $pg->conninfo(role => 't_nginx');

    # the same file, on loopback and in a directory of its own
    my $n = 0;
    $n += $conf =~ s{^load_module modules/}{load_module /usr/lib/nginx/modules/}m;
    $n += $conf =~ s{^user www-data;\n}{}m;
    $n += $conf =~ s{^pid /run/nginx\.pid;}{pid $dir/nginx.pid;}m;
    $n += $conf =~ s{^error_log \S+}{error_log $dir/error.log}m;
    $n += $conf =~ s{access_log /var/log/nginx/access\.log;}{access_log $dir/access.log;
        client_body_temp_path $dir/body; proxy_temp_path $dir/proxy;
        fastcgi_temp_path $dir/fastcgi; uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;};
    $n += $conf =~ s{disclosure_database "[^"]*";}{disclosure_database "$conninfo";};
    $n += $conf =~ s{listen 80;}{listen 127.0.0.1:$port;};
    is $n, 7, 'the example adapted: module path, user, pid, logs, database, port';
    Disclosure::Test::write_file("$dir/nginx.conf", $conf);

    my ($ok, $out, $err) = Disclosure::Test::run_cmd([ $NGINX, '-t', '-p', "$dir/", '-c', "$dir/nginx.conf" ]);
    ok $ok, 'nginx -t with the example configuration' or diag "$out$err";

    $nginx_pid_file = "$dir/nginx.pid";
    ($ok, $out, $err) = Disclosure::Test::run_cmd([ $NGINX, '-p', "$dir/", '-c', "$dir/nginx.conf" ]);
    ok $ok, 'nginx starts with it' or diag "$out$err";
    ok Disclosure::Test::poll(sub { Disclosure::Test::port_open($port) }), 'and listens';

    my $http = HTTP::Tiny->new(keep_alive => 0);
    my $r = $http->get("http://127.0.0.1:$port/reports/xigong-edz/2024");
    is $r->{status}, 200, 'a report from PostgreSQL';
    like decode_utf8($r->{content}), qr{<h1>洛阳西工经济技术开发区管理委员会 2024年政府信息公开工作年度报告</h1>},
        'the 2024 report of the sample';
    is $http->get("http://127.0.0.1:$port/reports/demo-district/2025")->{status}, 404, 'a draft: 404';
    is $http->get("http://127.0.0.1:$port/reports/")->{status}, 200, 'the index';

    chomp(my $pid = Disclosure::Test::read_file($nginx_pid_file));
    kill 'QUIT', $pid;
    ok Disclosure::Test::poll(sub { !Disclosure::Test::process_alive($pid) }), 'nginx stops';
    $nginx_pid_file = undef;
};


# -- dpkg --purge, and nginx as it was ------------------------------------------------

part 'dpkg --purge leaves /etc/nginx and the module directories as they were' => sub {
    my ($ok, $out, $err) = Disclosure::Test::run_cmd([ 'dpkg', '--purge', @PACKAGES ]);
    ok $ok, 'dpkg --purge' or diag "$out$err";
    $installed = 0;
    ok !installed($_), "$_ is gone" for @PACKAGES;
    ok !-e $SO, 'the module is gone';
    ok !-e '/usr/bin/disclosure-import', 'disclosure-import is gone';

    my $after = snapshot();
    my @changed = grep { ($before->{$_} // 'none') ne ($after->{$_} // 'none') }
                  sort keys %{ { %$before, %$after } };
    is_deeply \@changed, [], '/etc/nginx, /usr/lib/nginx and modules-available exactly as they were'
        or diag join "\n", map { "$_: " . ($before->{$_} // 'none') . ' -> ' . ($after->{$_} // 'none') } @changed;

    ($ok, $out, $err) = Disclosure::Test::run_cmd([ $NGINX, '-t' ]);
    ok $ok, 'and the stock configuration still passes nginx -t' or diag "$out$err";
};

done_testing;
