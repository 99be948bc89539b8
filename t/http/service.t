# "service=" and the PG* variables that "env" passes to the workers are
# read when the configuration is (issue 11): a worker neither reads a
# pg_service.conf nor looks a host name up when it connects, which would
# block it.  An LD_PRELOAD shim built here records every getaddrinfo() and
# every look at a pg_service file, with the process id (nginx -t, the
# master and the workers are told apart by it); under a wrapper
# (make test-asan, test-valgrind: it owns LD_PRELOAD) only what the
# workers get is checked.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use File::Temp ();
use Disclosure::Test;
use Disclosure::Cache;
use Disclosure::Part;

my $pg = Disclosure::Test->pg(sample => 1);
my $port = $pg->port;

my $dir = File::Temp::tempdir('disclosure-service-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;

Disclosure::Test::write_file("$dir/pg_service.conf", <<"INI");
[disc]
host=localhost
port=$port
dbname=disclosure
user=t_nginx
INI

Disclosure::Test::write_file("$dir/shim.c", <<'C');
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* the path is read before nginx clears the workers' environment */
static char  logpath[4096];

__attribute__((constructor)) static void shim_init(void)
{
    const char *p = getenv("SHIM_LOG");
    if (p) snprintf(logpath, sizeof(logpath), "%s", p);
}

static void note(const char *what, const char *arg)
{
    char buf[1024];
    int  fd, n;
    if (!logpath[0]) return;
    fd = open(logpath, O_WRONLY | O_APPEND | O_CREAT, 0666);
    if (fd < 0) return;
    n = snprintf(buf, sizeof(buf), "%d %s %s\n", (int) getpid(), what, arg ? arg : "-");
    if (write(fd, buf, n) < 0) { /* nothing to do */ }
    close(fd);
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    static int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
    if (!real) real = dlsym(RTLD_NEXT, "getaddrinfo");
    /* an address (AI_NUMERICHOST) is no lookup */
    note(hints && (hints->ai_flags & AI_NUMERICHOST) ? "address" : "getaddrinfo", node);
    return real(node, service, hints, res);
}

#define SHIM_PATH(name, ret, params, args)                                   \
ret name params                                                              \
{                                                                            \
    static ret (*real) params;                                               \
    if (!real) real = dlsym(RTLD_NEXT, #name);                               \
    if (path && strstr(path, "pg_service")) note(#name, path);               \
    return real args;                                                        \
}

SHIM_PATH(fopen, FILE *, (const char *path, const char *mode), (path, mode))
SHIM_PATH(fopen64, FILE *, (const char *path, const char *mode), (path, mode))
SHIM_PATH(stat, int, (const char *path, struct stat *st), (path, st))
SHIM_PATH(stat64, int, (const char *path, struct stat64 *st), (path, st))
C

my $shim = !@Disclosure::Test::WRAPPER;
if ($shim) {
    my ($ok, $out, $err) = Disclosure::Test::run_cmd(['cc', '-shared', '-fPIC', '-O', '-o', "$dir/shim.so",
                                                      "$dir/shim.c", '-ldl']);
    ok $ok, 'the shim builds' or diag $err;
}

my $n = 0;

# nginx with the shim; the lines of the shim's log as [pid, what, argument]
sub start {
    my (%opt) = @_;
    my $log = "$dir/shim-" . ++$n . '.log';
    Disclosure::Test::write_file($log, '');
    chmod 0666, $log;
    local $ENV{LD_PRELOAD} = "$dir/shim.so" if $shim;
    local $ENV{SHIM_LOG} = $log;
    local $ENV{PGSERVICEFILE} = "$dir/pg_service.conf";
    my $ngx = Disclosure::Test->nginx(pg => $pg, worker_processes => 2, %opt,
        server => "location /r/ { disclosure; }\nlocation /c/ { disclosure; disclosure_cache reports; }\n"
                . Disclosure::Cache::STATUS);
    return ($ngx, sub {
        [ map { [ split / /, $_, 3 ] } split /\n/, Disclosure::Test::read_file($log) ]
    });
}

# what the workers did, but parse addresses
sub worker_lines {
    my ($ngx, $lines) = @_;
    my %worker = map { $_ => 1 } Disclosure::Test::children($ngx->{pid});
    return grep { $worker{ $_->[0] } && $_->[1] ne 'address' } @$lines;
}

# a few connections of the pool and the listener's
sub exercise {
    my ($ngx, $what) = @_;
    Disclosure::Cache::wait_listening($ngx);
    my @r = map { $ngx->get($_) } ('/r/demo-district/2024', '/r/xigong-edz/2024', '/c/demo-district/');
    is_deeply [ map { $_->{status} } @r ], [ 200, 200, 200 ], "$what: pages served";
}

# -- service= in the string -------------------------------------------------------------
part 'service= in the string is read at configuration time' => sub {
    # "env PGSERVICEFILE" as a deployment would pass it: the old code read
    # the file in the workers at every connection
    my ($ngx, $lines) = start(main => 'env PGSERVICEFILE;',
        http => "disclosure_database \"service=disc\";\ndisclosure_cache_zone reports:1m;");
    exercise($ngx, 'service=disc');
    my ($db) = $ngx->error_log =~ /disclosure: database "(.*?)"/;
    like $db, qr/(^| )host=localhost( |$)/, 'the service\'s host';
    like $db, qr/(^| )hostaddr=\S*127\.0\.0\.1/, 'resolved at configuration time';
    like $db, qr/(^| )port=$port( |$)/, 'and its port';
    unlike $db, qr/service=/, 'the workers get options, not the service';
    if ($shim) {
        ok scalar(grep { $_->[0] == $ngx->{pid} && $_->[1] =~ /^fopen/ } @{ $lines->() }),
            'the master read the service file';
        is_deeply [ worker_lines($ngx, $lines->()) ], [],
            'no worker looked a name up or at a service file'
            or diag explain [ worker_lines($ngx, $lines->()) ];
    }
};

# -- PGSERVICE, PGHOST... passed by "env" -----------------------------------------------
part 'PGHOST, PGPORT... passed by env are resolved at configuration time' => sub {
    my ($ngx, $lines) = start(main => "env PGHOST=localhost;\nenv PGPORT=$port;\nenv PGUSER=t_nginx;\n"
                                    . "env PGDATABASE=disclosure;",
        http => "disclosure_database \"connect_timeout=5\";\ndisclosure_cache_zone reports:1m;");
    exercise($ngx, 'env PGHOST=localhost');
    my ($db) = $ngx->error_log =~ /disclosure: database "(.*?)"/;
    like $db, qr/(^| )hostaddr=\S*127\.0\.0\.1/, 'PGHOST resolved at configuration time';
    is_deeply [ worker_lines($ngx, $lines->()) ], [], 'no worker looked a name up' if $shim;
};
part 'PGSERVICE passed by env is read at configuration time' => sub {
    my ($ngx, $lines) = start(main => "env PGSERVICE=disc;\nenv PGSERVICEFILE;",
        http => "disclosure_database \"connect_timeout=5\";\ndisclosure_cache_zone reports:1m;");
    exercise($ngx, 'env PGSERVICE=disc');
    is_deeply [ worker_lines($ngx, $lines->()) ], [],
        'no worker looked a name up or at a service file' if $shim;
};

# -- a service that does not exist: nginx -t says so --------------------------------------
part 'nginx -t refuses a service that does not exist' => sub {
    local $ENV{PGSERVICEFILE} = "$dir/pg_service.conf";
    my ($ok, $out) = Disclosure::Test->conf_test(http => 'disclosure_database "service=nope";');
    ok !$ok, 'nginx -t refuses an unknown service';
    like $out, qr/service "nope" is not defined/, 'and says why';
};

done_testing;
