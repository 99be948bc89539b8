# PostgreSQL instances of Disclosure::Test; see the documentation there.
package Disclosure::Test::Pg;

use strict;
use warnings;

use Carp qw(croak);
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use POSIX qw(WNOHANG _exit);

use parent -norequire, 'Disclosure::Test';

# settings of Disclosure::Test
no warnings 'once';
our ($REPO, $PG_BIN);
*REPO = \$Disclosure::Test::REPO;
*PG_BIN = \$Disclosure::Test::PG_BIN;
use warnings 'once';

my @GROUPS = (
    [ t_nginx     => 'disclosure_reader' ],
    [ t_editor    => 'disclosure_editor' ],
    [ t_publisher => 'disclosure_publisher' ],
    [ t_previewer => 'disclosure_previewer' ],
);


sub _new {
    my ($class, %opt) = @_;
    my $self = bless {}, $class;

    $self->{dir} = tempdir('disclosure-pg-XXXXXX', DIR => '/tmp');
    $self->{data} = "$self->{dir}/data";
    $self->{log} = "$self->{dir}/postgres.log";
    $self->_register(1);

    if ($> == 0) {
        my (undef, undef, $uid, $gid) = getpwnam('postgres')
            or croak 'no postgres user: apt-get install postgresql-15';
        chown $uid, $gid, $self->{dir} or croak "chown $self->{dir}: $!";
    }

    # the socket lives here; nginx workers may use it too
    chmod 0755, $self->{dir};

    my ($ok, $out, $err) = Disclosure::Test::run_cmd(
        [ $self->_as_postgres("$PG_BIN/initdb", '-D', $self->{data},
              '-U', 'postgres', '-A', 'trust', '-E', 'UTF8',
              '--locale=C.UTF-8', '--no-sync') ],
        chdir => $self->{dir},
    );
    croak "initdb failed:\n$out$err" unless $ok;

    $self->_start_on_free_port;

    $self->psql('CREATE DATABASE disclosure', dbname => 'postgres');

    return $self if defined $opt{migrate} && !$opt{migrate};

    ($ok, $out, $err) = Disclosure::Test::run_cmd([
        "$REPO/sql/migrate", '-h', $self->{dir}, '-p', $self->{port},
        '-U', 'postgres', '-d', 'disclosure',
    ]);
    croak "sql/migrate failed:\n$out$err" unless $ok;

    if ($opt{sample}) {
        $self->psql(undef, file => "$REPO/sql/sample/load.sql");
    }

    $self->psql(join '', map {
        "CREATE ROLE $_->[0] LOGIN IN ROLE $_->[1];\n"
    } @GROUPS);

    return $self;
}


# A streaming-replication standby of $primary: pg_basebackup -R into a
# directory of its own, started on a free port (hot standby: it answers
# read-only queries as soon as it is consistent).

sub standby {
    my ($primary) = @_;
    my $self = bless {}, ref $primary;

    $self->{dir} = tempdir('disclosure-pg-XXXXXX', DIR => '/tmp');
    $self->{data} = "$self->{dir}/data";
    $self->{log} = "$self->{dir}/postgres.log";
    $self->_register(1);

    if ($> == 0) {
        my (undef, undef, $uid, $gid) = getpwnam('postgres');
        chown $uid, $gid, $self->{dir} or croak "chown $self->{dir}: $!";
    }

    chmod 0755, $self->{dir};

    my ($ok, $out, $err) = Disclosure::Test::run_cmd(
        [ $self->_as_postgres("$PG_BIN/pg_basebackup", '-h', $primary->{dir},
              '-p', $primary->{port}, '-U', 'postgres', '-D', $self->{data},
              '-R', '-X', 'stream', '-c', 'fast', '--no-sync') ],
        chdir => $self->{dir},
    );
    croak "pg_basebackup failed:\n$out$err" unless $ok;

    $self->_start_on_free_port;

    return $self;
}


# a standby becomes a primary; waits until it takes writes

sub promote {
    my ($self) = @_;
    $self->psql('SELECT pg_promote(true, 60)', dbname => 'postgres') eq 't'
        or croak 'pg_promote() failed';
    return $self;
}


sub port       { $_[0]{port} }
sub socket_dir { $_[0]{dir} }
sub dir        { $_[0]{dir} }
sub log_file   { $_[0]{log} }


sub conninfo {
    my ($self, %opt) = @_;
    my $role = $opt{role} // 't_nginx';
    my $db = $opt{dbname} // 'disclosure';
    return "hostaddr=127.0.0.1 port=$self->{port} dbname=$db user=$role";
}


sub psql {
    my ($self, $sql, %opt) = @_;
    my $role = $opt{role} // 'postgres';

    my @cmd = ('psql', '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1',
               '-h', $self->{dir}, '-p', $self->{port}, '-U', $role,
               '-d', $opt{dbname} // 'disclosure');
    push @cmd, '-f', $opt{file} if defined $opt{file};

    my ($ok, $out, $err) = Disclosure::Test::run_cmd(\@cmd,
                                                     stdin => $sql // '');
    croak "psql as $role failed: $err" unless $ok || $opt{allow_error};

    chomp $out;
    return $out unless $opt{allow_error} && wantarray;
    return ($out, $err, $ok);
}


sub start {
    my ($self) = @_;
    croak 'PostgreSQL is running' if $self->{up};
    $self->_start or croak "PostgreSQL did not start:\n"
        . $self->_log_tail;
    return $self;
}


sub stop {
    my ($self) = @_;
    return unless $self->{up};

    kill 'INT', $self->{pid};    # fast shutdown

    unless (Disclosure::Test::poll(sub {
        waitpid($self->{pid}, WNOHANG) == $self->{pid}
    })) {
        kill 'KILL', $self->{pid};
        waitpid $self->{pid}, 0;
    }

    $self->{up} = 0;
    return $self;
}


sub restart {
    my ($self) = @_;
    return $self->stop->start;
}


sub kill9 {
    my ($self) = @_;
    croak 'PostgreSQL is not running' unless $self->{up};

    my @kids = Disclosure::Test::children($self->{pid});
    kill 'KILL', $self->{pid};
    waitpid $self->{pid}, 0;
    $self->{up} = 0;

    # backends notice the postmaster's death and exit by themselves
    Disclosure::Test::poll(sub {
        !grep { Disclosure::Test::process_alive($_) } @kids
    }) or croak "PostgreSQL backends @kids outlived the postmaster";

    return $self;
}


sub _as_postgres {
    my ($self, @cmd) = @_;
    return @cmd unless $> == 0;
    return ('setpriv', '--reuid=postgres', '--regid=postgres',
            '--init-groups', '--', @cmd);
}


sub _start_on_free_port {
    my ($self) = @_;

    for (1 .. 5) {
        $self->{port} = Disclosure::Test::free_port();
        return if $self->_start;

        # another process took the port between the check and the bind
        next if Disclosure::Test::read_file($self->{log})
                =~ /Address already in use/;
        last;
    }

    croak "PostgreSQL did not start:\n"
        . $self->_log_tail;
}


sub _start {
    my ($self) = @_;

    my @cmd = $self->_as_postgres(
        "$PG_BIN/postgres", '-D', $self->{data},
        '-c', "port=$self->{port}",
        '-c', 'listen_addresses=127.0.0.1',
        '-c', "unix_socket_directories=$self->{dir}",
        '-c', 'fsync=off',
        '-c', 'full_page_writes=off',
        '-c', 'logging_collector=off',
        '-c', 'log_line_prefix=%m [%p] %q%u@%d ',
    );

    open my $log, '>>', $self->{log} or croak "$self->{log}: $!";

    my $pid = fork // croak "fork: $!";

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>&', $log;
        open STDERR, '>&', $log;
        chdir $self->{dir};
        exec @cmd or _exit(127);
    }

    close $log;
    $self->{pid} = $pid;

    my $state = Disclosure::Test::poll(sub {
        return 'exited' if waitpid($pid, WNOHANG) == $pid;
        my ($ok) = Disclosure::Test::run_cmd([
            'pg_isready', '-q', '-h', $self->{dir}, '-p', $self->{port},
            '-d', 'postgres', '-U', 'postgres',
        ]);
        return $ok ? 'ready' : 0;
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


sub _log_tail {
    my ($self) = @_;
    return Disclosure::Test::tail(Disclosure::Test::read_file($self->{log}),
                                  20);
}


sub _log_files {
    my ($self) = @_;
    return { "postgres-$self->{seq}.log" => $self->{log} };
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
