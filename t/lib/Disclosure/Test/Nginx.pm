# nginx instances of Disclosure::Test; see the documentation there.
package Disclosure::Test::Nginx;

use strict;
use warnings;

use Carp qw(croak);
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use POSIX qw(WNOHANG _exit);

use parent -norequire, 'Disclosure::Test';

# settings of Disclosure::Test
no warnings 'once';
our ($TIMEOUT);
*TIMEOUT = \$Disclosure::Test::TIMEOUT;
use warnings 'once';


sub _new {
    my ($class, %opt) = @_;
    my $self = bless { opt => { %opt } }, $class;

    croak 'build the module first: make' unless -f $class->module_path;

    $self->{dir} = tempdir('disclosure-nginx-XXXXXX', DIR => '/tmp');
    chmod 0755, $self->{dir};    # workers run as another user
    $self->{http} = HTTP::Tiny->new(
        keep_alive => 0, max_redirect => 0, timeout => $TIMEOUT,
    );
    $self->_register(2);

    for (1 .. 5) {
        $self->{port} = Disclosure::Test::free_port();
        $self->_write_conf;

        my ($ok, $out) = $self->_test_file("$self->{dir}/nginx.conf");
        croak "nginx -t failed:\n$out" unless $ok;

        return $self if $self->_start;

        next if $self->error_log =~ /bind\(\) to \S+ failed \(98/;
        last;
    }

    croak "nginx did not start:\n"
        . Disclosure::Test::tail($self->error_log, 20);
}


sub port { $_[0]{port} }
sub dir  { $_[0]{dir} }
sub conf { $_[0]{conf} }


sub url {
    my ($self, $path) = @_;
    return "http://127.0.0.1:$self->{port}" . ($path // '/');
}


sub get {
    my ($self, $path, $headers) = @_;
    return $self->request('GET', $path, { headers => $headers // {} });
}


sub head {
    my ($self, $path, $headers) = @_;
    return $self->request('HEAD', $path, { headers => $headers // {} });
}


sub request {
    my ($self, $method, $path, $opt) = @_;
    return $self->{http}->request($method, $self->url($path), $opt // {});
}


# a GET sent on a connection of its own, the reply left unread: for a test
# that holds a request open, lets its client go away, or reads it later
sub send_get {
    my ($self, $path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{port}, Proto => 'tcp')
        or die "connect: $!";
    print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n\r\n";
    return $s;
}


sub error_log {
    my ($self) = @_;
    return Disclosure::Test::read_file("$self->{dir}/error.log");
}


sub wait_for_log {
    my ($self, $re) = @_;
    return Disclosure::Test::poll(sub { scalar($self->error_log =~ $re) });
}


sub reload {
    my ($self, %opt) = @_;
    croak 'nginx is not running' unless $self->{up};

    my $old_conf = $self->{conf};
    my $old_opt = $self->{opt};

    if (%opt) {
        $self->{opt} = { %$old_opt, %opt };
        $self->_write_conf;
    }

    my @old = Disclosure::Test::children($self->{pid});
    my $offset = length $self->error_log;

    kill 'HUP', $self->{pid};

    my $state = Disclosure::Test::poll(sub {
        # the master says [emerg] when it keeps the old configuration
        return 'refused' if substr($self->error_log, $offset) =~ /\[emerg\]/;
        return 'died' if waitpid($self->{pid}, WNOHANG) == $self->{pid};

        my %now = map { $_ => 1 } Disclosure::Test::children($self->{pid});
        return 0 if grep { $now{$_} } @old;
        return $self->_serving ? 'reloaded' : 0;
    });

    return 1 if $state eq 'reloaded';

    if ($state eq 'died') {
        $self->{up} = 0;
        croak "nginx exited on reload:\n"
            . Disclosure::Test::tail($self->error_log, 20);
    }

    if ($state eq 'refused') {
        Test::More::note('nginx refused the new configuration: '
            . Disclosure::Test::tail(substr($self->error_log, $offset), 5));
        $self->{opt} = $old_opt;
        $self->{conf} = $old_conf;
        Disclosure::Test::write_file("$self->{dir}/nginx.conf", $old_conf);
        return 0;
    }

    croak "nginx did not finish reloading in ${TIMEOUT}s";
}


sub stop {
    my ($self) = @_;
    return unless $self->{up};

    kill 'QUIT', $self->{pid};

    unless (Disclosure::Test::poll(sub {
        waitpid($self->{pid}, WNOHANG) == $self->{pid}
    })) {
        kill 'KILL', $self->{pid};
        waitpid $self->{pid}, 0;
    }

    $self->{up} = 0;
    return $self;
}


sub conf_test {
    my ($class, @args) = @_;

    my $dir = tempdir('disclosure-conf-XXXXXX', DIR => '/tmp');
    my $text = @args == 1 ? $args[0] : $class->_conf_text(@args, dir => $dir);

    Disclosure::Test::write_file("$dir/nginx.conf", $text);
    my ($ok, $out) = _test_file(undef, "$dir/nginx.conf", $dir);
    remove_tree($dir);

    return ($ok, $out);
}


sub _test_file {
    my ($self, $file, $dir) = @_;
    $dir //= $self->{dir};

    local $ENV{DISCLOSURE_TEST_NAME} = Disclosure::Test::test_name();

    my ($ok, $out, $err) = Disclosure::Test::run_cmd([
        Disclosure::Test->nginx_command('-t', '-p', "$dir/", '-c', $file,
                                        '-e', "$dir/test.log"),
    ]);

    return ($ok, $out . $err);
}


sub _conf_text {
    my ($class, %opt) = @_;

    my $dir = $opt{dir} // '/tmp';
    my $port = $opt{port} // Disclosure::Test::free_port();
    my $http = $opt{http} // '';
    my $db = '';

    if ($opt{pg} && $http !~ /\bdisclosure_database\b/) {
        $db = 'disclosure_database "' . $opt{pg}->conninfo . '";';
    }

    my $module = Disclosure::Test->module_path;
    my $workers = $opt{worker_processes} // 1;
    my $connections = $opt{worker_connections} // 256;
    my $level = $opt{log_level} // 'info';
    my $main = $opt{main} // '';
    my $server = $opt{server} // '';
    my $name = Disclosure::Test::test_name();

    return <<"CONF";
# written by Disclosure::Test for $name
load_module $module;

daemon off;
master_process on;
worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/error.log $level;

$main

events {
    worker_connections $connections;
}

http {
    access_log $dir/access.log;
    # as Debian's nginx.conf; a test's location may say otherwise
    sendfile on;
    tcp_nopush on;
    client_body_temp_path $dir/client_body_temp;
    proxy_temp_path $dir/proxy_temp;
    fastcgi_temp_path $dir/fastcgi_temp;
    uwsgi_temp_path $dir/uwsgi_temp;
    scgi_temp_path $dir/scgi_temp;

    $db

$http

    server {
        listen 127.0.0.1:$port;
        server_name localhost;

$server
    }
}
CONF
}


sub _write_conf {
    my ($self) = @_;
    $self->{conf} = $self->_conf_text(
        %{ $self->{opt} }, dir => $self->{dir}, port => $self->{port},
    );
    Disclosure::Test::write_file("$self->{dir}/nginx.conf", $self->{conf});
}


sub _start {
    my ($self) = @_;

    my $pid = fork // croak "fork: $!";

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$self->{dir}/stderr.log";
        open STDERR, '>&', \*STDOUT;
        $ENV{DISCLOSURE_TEST_NAME} = Disclosure::Test::test_name();
        exec Disclosure::Test->nginx_command('-p', "$self->{dir}/",
                 '-c', "$self->{dir}/nginx.conf", '-e', "$self->{dir}/error.log")
            or _exit(127);
    }

    $self->{pid} = $pid;

    my $state = Disclosure::Test::poll(sub {
        return 'exited' if waitpid($pid, WNOHANG) == $pid;
        return $self->_serving ? 'ready' : 0;
    });

    if ($state eq 'ready') {
        $self->{up} = 1;
        return 1;
    }

    if (!$state) {
        kill 'KILL', $pid;
        waitpid $pid, 0;
    }

    return 0;
}


# all workers are up and the port takes connections

sub _serving {
    my ($self) = @_;
    my @workers = Disclosure::Test::children($self->{pid});

    return @workers >= ($self->{opt}{worker_processes} // 1)
           && Disclosure::Test::port_open($self->{port});
}


sub _log_files {
    my ($self) = @_;
    my $n = "nginx-$self->{seq}";
    return {
        "$n-error.log"  => "$self->{dir}/error.log",
        "$n-access.log" => "$self->{dir}/access.log",
        "$n.conf"       => "$self->{dir}/nginx.conf",
        "$n-stderr.log" => "$self->{dir}/stderr.log",
    };
}


sub _teardown {
    my ($self) = @_;
    $self->stop;
    $self->_stash_logs;
    $self->_unregister;
    remove_tree($self->{dir}) if $self->{dir} && !$ENV{DISCLOSURE_TEST_KEEP};
    delete $self->{dir};
}


1;
