package Disclosure::Test;

=head1 NAME

Disclosure::Test - real PostgreSQL and real nginx on 127.0.0.1 for the tests

=head1 SYNOPSIS

    use FindBin;
    use lib "$FindBin::Bin/../lib";
    use Test::More;
    use Disclosure::Test;

    my $pg  = Disclosure::Test->pg(sample => 1);
    my $ngx = Disclosure::Test->nginx(
        pg     => $pg,
        server => 'location /reports/ { disclosure; }',
    );

    my $r = $ngx->get('/reports/');
    is $r->{status}, 501;
    is $pg->psql('SELECT current_user', role => 't_nginx'), 't_nginx';

    done_testing;

Every instance gets its own temporary directory under /tmp, its own free
port on 127.0.0.1 and its own data; nothing is shared between test files.
Instances stop when they go out of scope or when the test file ends, and
their directories are removed.  When the test file failed (a failed test, or
a non-zero exit), the PostgreSQL logs and the nginx error logs,
configurations, access logs and standard error are copied to
F<t/logs/E<lt>test-nameE<gt>/> at the end (F<t/logs/http-00-load/> for
F<t/http/00-load.t>), numbered by instance, and a C<diag> says where.  Set C<DISCLOSURE_TEST_KEEP=1> to keep the temporary
directories as well.  A process forked by a test never stops the instances
of its parent.

Every wait polls (the port, C<pg_isready>, the process table) with an
overall limit of C<$Disclosure::Test::TIMEOUT> seconds (60); none sleeps for
a fixed time.

=head1 ENVIRONMENT

What C<make test-asan> and C<make test-valgrind> use to run the same tests
against another build of the module, or under a tool; unset, nothing
changes.

=over

=item DISCLOSURE_MODULE=/path/to/ngx_http_disclosure_module.so

the module every nginx loads (default F<build/ngx_http_disclosure_module.so>)

=item DISCLOSURE_NGINX_WRAPPER="command args..."

a command, split on blanks, that every nginx (started or C<nginx -t>) runs
under: it gets nginx's command line as its arguments and must exec it (same
process), e.g. F<t/sanitize/asan-nginx> or F<t/sanitize/valgrind-nginx>.
nginx gets C<DISCLOSURE_TEST_NAME> (see C<test_name()>) in its environment,
so that the wrapper can name its logs after the test file.

=item DISCLOSURE_TIME_FACTOR=n

multiplies C<$TIMEOUT> (default 1): the limit of every wait, for nginx
under valgrind, which starts and stops slower

=back

=head1 POSTGRESQL

=head2 Disclosure::Test->pg(%options)

Makes a directory owned by C<postgres>, runs C<initdb> as C<postgres>
(C<-A trust -E UTF8 --locale=C.UTF-8>, superuser C<postgres>), starts
C<postgres> on 127.0.0.1 with a free port, its unix socket in that
directory, C<fsync=off> and its log in C<postgres.log> there, and waits until
it accepts connections.  Then it creates the database C<disclosure>, runs
C<sql/migrate> on it and creates the login roles C<t_nginx> (in
C<disclosure_reader>), C<t_editor> (in C<disclosure_editor>) and
C<t_publisher> (in C<disclosure_publisher>), with no password (trust).

Options:

=over

=item sample => 1

also load F<sql/sample/load.sql> (default 0)

=item migrate => 0

stop after creating the empty database: no migrations, no sample, no roles
(default 1)

=back

Methods:

=over

=item port, socket_dir, log_file, dir

=item conninfo(role => 't_nginx')

a libpq connection string, C<hostaddr=127.0.0.1 port=... dbname=disclosure
user=...> (the role defaults to C<t_nginx>); C<dbname =E<gt> ...> changes the
database

=item psql($sql, role => 'postgres', dbname => 'disclosure', allow_error => 1)

runs C<$sql> through C<psql -X -A -t -q -v ON_ERROR_STOP=1> over the socket
as C<role> (default C<postgres>), or the file C<file =E<gt> $path>.  Returns
standard output without the final newline, as one scalar even in list
context (so C<is $pg-E<gt>psql('SELECT 1'), 1> works), and dies with psql's
error text when psql fails.  With C<allow_error =E<gt> 1> it does not die, and
in list context returns C<($stdout, $stderr, $ok)>.

=item stop, start, restart

fast shutdown; start again on the same port and data; both

=item kill9

SIGKILL to the postmaster, then waits until all its processes are gone
(a crash, for the module's reconnect paths)

=item standby

a new instance, a streaming-replication standby of this one
(C<pg_basebackup -R>), on its own free port; read-only until promoted

=item promote

makes a standby the primary (C<pg_promote()>, waiting for it)

=back

=head1 NGINX

=head2 Disclosure::Test->nginx(%options)

Writes F<nginx.conf> into its own directory, checks it with C<nginx -t>,
starts C</usr/sbin/nginx> (C<master_process on>, C<daemon off> so that the
master is a child of the test) and waits until all its workers run and the
port accepts connections.  The configuration loads
F<build/ngx_http_disclosure_module.so> (C<make> first), keeps pid file, logs
and temporary paths in the directory, logs errors at level C<info>, and has
one server C<localhost> on C<127.0.0.1:port>.  Run as root, the workers run
as C<nobody>, as nginx's default; the directory is readable to them.

Options:

=over

=item http => $snippet, server => $snippet, main => $snippet

text for the http block, the server block and the main (top) level

=item pg => $pg

adds C<disclosure_database "$pg-E<gt>conninfo">, unless the http snippet has a
C<disclosure_database> of its own

=item worker_processes => 1, worker_connections => 256, log_level => 'info'

=back

Methods:

=over

=item port, dir, url($path), conf (the current configuration text)

=item get($path, \%headers), head($path, \%headers)

=item request($method, $path, \%options)

HTTP::Tiny responses (C<status>, C<reason>, C<headers>, C<content>), made
without keep-alive and without following redirects; C<%options> are
HTTP::Tiny's (C<headers>, C<content>)

=item send_get($path)

a GET sent as HTTP/1.0 on a connection of its own; returns the socket with
the reply unread, for a test that holds a request open, lets its client go
away, or reads the reply later

=item reload(%options)

with C<http>, C<server>, C<main> or C<pg>, rewrites the configuration first;
sends SIGHUP and waits until all old workers are gone and new ones answer.
Returns true; false when nginx refused the new configuration (it then keeps
serving the old one, and the old file is put back)

=item stop

graceful (SIGQUIT), waits for the master to exit

=item error_log

the error log's contents

=item wait_for_log(qr/.../)

polls the error log until it matches; returns the match (true) or false
after the timeout

=back

=head2 Disclosure::Test->conf_test($conf_text) or ->conf_test(%options)

Runs C<nginx -t> on a complete configuration text, or on one built from the
same options as C<nginx>, without starting anything.  Returns C<($ok,
$output)>, the output being what nginx printed.

=head2 Disclosure::Test->nginx_conf(%options), Disclosure::Test->module_path

the configuration text C<nginx> would write (for a port given as
C<port =E<gt> ...>, or a free one), and the path of the built module
(C<DISCLOSURE_MODULE> if set)

=head2 Disclosure::Test->nginx_command(@args)

nginx's command line with C<@args>, under C<DISCLOSURE_NGINX_WRAPPER> if
set; run it with C<DISCLOSURE_TEST_NAME> in the environment

=head1 HELPERS

Functions, for tests that need them: C<free_port()>; C<poll(sub { ... },
$timeout)>, which calls the sub until it returns true and returns that, or
false after the timeout; C<port_open($port)>; C<children($pid)> (live child
processes, their number in scalar context); C<process_alive($pid)>;
C<run_cmd(\@cmd, stdin =E<gt> $text)> returning C<($ok, $stdout, $stderr)>;
C<read_file($path)>, C<write_file($path, $text)>; C<test_name()>.

=cut

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use File::Basename qw(basename dirname);
use File::Copy qw(copy);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use IPC::Run ();
use POSIX qw(WNOHANG _exit);
use Scalar::Util qw(refaddr weaken);
use Test::More ();
use Time::HiRes ();

our $FACTOR  = $ENV{DISCLOSURE_TIME_FACTOR} || 1;
our $TIMEOUT = 60 * $FACTOR;
our $REPO    = abs_path(dirname(__FILE__) . '/../../..');
our $PG_BIN  = $ENV{DISCLOSURE_PG_BIN} // '/usr/lib/postgresql/15/bin';
our $NGINX   = $ENV{DISCLOSURE_NGINX} // '/usr/sbin/nginx';
our $MODULE  = $ENV{DISCLOSURE_MODULE}
               // "$REPO/build/ngx_http_disclosure_module.so";
our @WRAPPER = split ' ', $ENV{DISCLOSURE_NGINX_WRAPPER} // '';

# libpq and psql must see only what the harness tells them
delete @ENV{ grep { /^PG/ } keys %ENV };

my %live;       # refaddr => weak reference, torn down at exit
my $seq = 0;    # numbers the instances of one test file

# Logs of instances already torn down wait here until the end, when it is
# known whether the test file failed; $? cannot tell before that.
my ($stash, $stash_owner);


END {
    my $exit = $?;
    my $failed = $exit != 0 || !Test::More->builder->is_passing;

    # nginx first: it holds connections to PostgreSQL
    my @objs = sort { $b->{order} <=> $a->{order} || $a->{seq} <=> $b->{seq} }
               grep { defined } values %live;

    for my $obj (@objs) {
        next unless $obj->{owner} == $$;
        local $?;
        $obj->_teardown;
    }

    _keep_logs() if $failed;
    remove_tree($stash) if defined $stash && $stash_owner == $$;

    $? = $exit;
}


sub pg {
    my ($class, %opt) = @_;
    return Disclosure::Test::Pg->_new(%opt);
}


sub nginx {
    my ($class, %opt) = @_;
    return Disclosure::Test::Nginx->_new(%opt);
}


sub conf_test {
    my ($class, @args) = @_;
    return Disclosure::Test::Nginx->conf_test(@args);
}


sub nginx_conf {
    my ($class, %opt) = @_;
    return Disclosure::Test::Nginx->_conf_text(%opt);
}


sub module_path {
    return $MODULE;
}


sub nginx_command {
    my ($class, @args) = @_;
    return (@WRAPPER, $NGINX, @args);
}


# A port on 127.0.0.1 that nothing listens on: the kernel picks it, then it
# is checked to take a connection from nobody and to bind again.

sub free_port {
    for (1 .. 50) {
        my $s = IO::Socket::INET->new(
            LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp',
            Listen => 1,
        ) or croak "cannot bind 127.0.0.1:0: $!";
        my $port = $s->sockport;
        close $s;

        my $c = IO::Socket::INET->new(
            PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp',
        );
        if ($c) {
            close $c;
            next;
        }

        my $b = IO::Socket::INET->new(
            LocalAddr => '127.0.0.1', LocalPort => $port, Proto => 'tcp',
            Listen => 1, ReuseAddr => 1,
        ) or next;
        close $b;

        return $port;
    }

    croak 'no free port on 127.0.0.1';
}


# Calls $done every few milliseconds until it returns true (returns that)
# or $timeout seconds have passed (returns false).

sub poll {
    my ($done, $timeout) = @_;
    my $deadline = Time::HiRes::time() + ($timeout // $TIMEOUT);
    my $pause = 0.005;

    for (;;) {
        my $r = $done->();
        return $r if $r;
        return 0 if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep($pause);
        $pause *= 2 if $pause < 0.1;
    }
}


sub port_open {
    my ($port) = @_;
    my $c = IO::Socket::INET->new(
        PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp',
        Timeout => 1,
    ) or return 0;
    close $c;
    return 1;
}


# Children of $pid that are alive (zombies do not count), from /proc; their
# number in scalar context.

sub children {
    my ($pid) = @_;
    my @kids;

    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        close $fh;
        my ($kid, $state, $ppid) = $line =~ /^(\d+) \(.*\) (\S) (\d+) /s
            or next;
        push @kids, $kid if $ppid == $pid && $state ne 'Z';
    }

    return wantarray ? sort { $a <=> $b } @kids : scalar @kids;
}


sub process_alive {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my $line = <$fh> // return 0;
    my ($state) = $line =~ /^\d+ \(.*\) (\S) /s;
    return defined $state && $state ne 'Z';
}


# t/http/00-load.t is "http-00-load", t/sql/run "sql-run"

sub test_name {
    my $path = abs_path($0) // $0;
    my $name = index($path, "$REPO/t/") == 0
               ? substr($path, length("$REPO/t/")) : basename($path);

    $name =~ s/\.t$//;
    $name =~ s{/}{-}g;
    $name =~ s/[^\w.-]+/_/g;

    return $name;
}


sub read_file {
    my ($path) = @_;
    open my $fh, '<', $path or return '';
    local $/;
    my $text = <$fh>;
    return $text // '';
}


sub write_file {
    my ($path, $text) = @_;
    open my $fh, '>', $path or croak "cannot write $path: $!";
    print {$fh} $text;
    close $fh or croak "cannot write $path: $!";
}


sub tail {
    my ($text, $lines) = @_;
    my @l = split /\n/, $text;
    splice @l, 0, @l - $lines if @l > $lines;
    return join "\n", @l;
}


# Runs a command; returns ($ok, $stdout, $stderr).

sub run_cmd {
    my ($cmd, %opt) = @_;
    my ($in, $out, $err) = ($opt{stdin} // '', '', '');
    my @init = $opt{chdir} ? (init => sub { chdir $opt{chdir} or die }) : ();

    my $ok = eval {
        IPC::Run::run($cmd, '<', \$in, '>', \$out, '2>', \$err, @init);
    };
    $err .= $@ if $@;
    return ($ok ? 1 : 0, $out, $err);
}


sub _register {
    my ($self, $order) = @_;
    $self->{order} = $order;
    $self->{seq} = ++$seq;
    $self->{owner} = $$;
    $live{ refaddr $self } = $self;
    weaken $live{ refaddr $self };
}


sub _unregister {
    my ($self) = @_;
    delete $live{ refaddr $self };
}


sub _stash_logs {
    my ($self) = @_;

    if (!defined $stash || $stash_owner != $$) {
        $stash = tempdir('disclosure-logs-XXXXXX', DIR => '/tmp');
        $stash_owner = $$;
    }

    my $files = $self->_log_files;

    for my $name (keys %$files) {
        copy($files->{$name}, "$stash/$name") if -f $files->{$name};
    }
}


sub _keep_logs {
    return unless defined $stash && $stash_owner == $$;

    my @files = sort map { basename($_) } glob "$stash/*";
    return unless @files;

    my $rel = 't/logs/' . test_name();
    my $dir = "$REPO/$rel";
    remove_tree($dir);
    make_path($dir);

    for my $name (@files) {
        copy("$stash/$name", "$dir/$name")
            and Test::More::diag("log kept: $rel/$name");
    }
}


# Lexicals at file scope are freed when the script ends, before END.

sub DESTROY {
    my ($self) = @_;
    return unless $self->{dir} && ($self->{owner} // 0) == $$;

    local $?;
    $self->_teardown;
}


# the two kinds of instance
use Disclosure::Test::Pg ();
use Disclosure::Test::Nginx ();


1;
