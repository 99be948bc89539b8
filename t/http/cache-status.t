# disclosure_status: the JSON document (zones, database, listener) counts
# what happened, whichever worker answers; the Prometheus text says the
# same in its own format.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use JSON::PP;
use Disclosure::Test;
use Disclosure::Cache;
use Disclosure::Part;

my $pg = Disclosure::Test->pg(sample => 1);
my $ngx = Disclosure::Test->nginx(pg => $pg, worker_processes => 2, http => <<'CONF', server => <<'CONF2' . Disclosure::Cache::STATUS);
disclosure_cache_zone reports:2m;
disclosure_cache_zone "other:1m";
CONF
location /c/ { disclosure; disclosure_cache reports; disclosure_cache_bypass $arg_fresh; }
location /d/ { disclosure; disclosure_cache other; }
location = /s { disclosure_status; }
location = /metrics { disclosure_status prometheus; }
CONF2

sub status { decode_json($ngx->get('/s')->{content}) }

# -- the document -------------------------------------------------------------------------
part 'the document: zones, database, listener; GET and HEAD only' => sub {
    my $r = $ngx->get('/s');
    is $r->{status}, 200, 'status: 200';
    is $r->{headers}{'content-type'}, 'application/json', 'JSON';
    is $r->{headers}{'cache-control'}, 'no-store', 'not to be cached';
    my $st = decode_json($r->{content});
    is_deeply [ sort keys %$st ], [qw(database listener zones)], 'zones, database, listener';
    is_deeply [ sort keys %{ $st->{zones} } ], [qw(other reports)], 'every zone';
    is_deeply [ sort keys %{ $st->{zones}{reports} } ],
        [ sort qw(size pages free_pages bytes_used bytes_free entries fills entry_bytes entry_allocated
                  body_bytes gzip_entries gzip_bytes pinned pinned_bytes pins unlinked pins_reclaimed hits misses stale updating bypass stored evictions expired too_large invalidated invalidations) ],
        'the counters of a zone';
    is $st->{zones}{reports}{size}, 2 * 1024 * 1024, 'its size';
    is $st->{zones}{reports}{bytes_used} + $st->{zones}{reports}{bytes_free},
        $st->{zones}{reports}{pages} * 4096, 'used and free pages make the whole';
    is $ngx->request('POST', '/s')->{status}, 405, 'POST: 405';
    for my $method (qw(POST PUT DELETE)) {
        my $r = $ngx->request($method, '/s');
        is $r->{headers}{allow}, 'GET, HEAD', "$method: the 405 says what is allowed";
        is $r->{headers}{'x-content-type-options'}, 'nosniff', "$method: and nosniff";
    }
    is $ngx->get('/s')->{headers}{'x-content-type-options'}, 'nosniff', 'GET: nosniff too';
};

Disclosure::Cache::wait_listening($ngx);
# wait until both workers have published their pool counters
ok Disclosure::Test::poll(sub { @{ status()->{database}{workers} } == 2 }), 'both workers are listed';

# -- counts ---------------------------------------------------------------------------------
part 'counts of the zones, the database and the listener' => sub {
    my $s0 = status();
    $ngx->get('/c/xigong-edz/2024') for 1 .. 3;       # MISS, HIT, HIT
    $ngx->get('/c/xigong-edz/2024?fresh=1');           # BYPASS
    $ngx->get('/d/demo-district/2024.csv') for 1 .. 2; # MISS, HIT
    $ngx->get('/c/no-such/2024');                      # MISS, 404 (stored)
    my $s1 = status();
    my %d = map { $_ => $s1->{zones}{reports}{$_} - $s0->{zones}{reports}{$_} } qw(hits misses bypass stored entries);
    is_deeply \%d, { hits => 2, misses => 2, bypass => 1, stored => 3, entries => 2 }, 'zone "reports" counted each response';
    is $s1->{zones}{other}{hits} - $s0->{zones}{other}{hits}, 1, 'zone "other" its own';
    is $s1->{database}{queries} - $s0->{database}{queries}, 4, 'four database queries';
    is $s1->{database}{errors}, 0, 'no error';
    cmp_ok $s1->{zones}{reports}{entry_bytes}, '>', 50_000, 'the report page\'s bytes';
    my $page = length $ngx->get('/c/xigong-edz/2024')->{content};
    my $gz = length $ngx->get('/c/xigong-edz/2024', { 'Accept-Encoding' => 'gzip' })->{content};
    is_deeply [ @{ $s1->{zones}{reports} }{qw(body_bytes gzip_entries gzip_bytes)} ], [ $page, 1, $gz ],
        'the plain page and its gzip variant (the 404 has neither)';
    cmp_ok $s1->{zones}{reports}{entry_allocated}, '>', $page + $gz, 'allocated: more than both';
    cmp_ok $s1->{zones}{reports}{entry_allocated}, '<=', $page + $gz + 1024, 'by less than 1 KB';

    my %pids = map { $_ => 1 } Disclosure::Test::children($ngx->{pid});
    is_deeply [ sort map { $_->{pid} } @{ $s1->{database}{workers} } ], [ sort keys %pids ],
        'the pool of every worker';
    ok Disclosure::Test::poll(sub {
        my $db = status()->{database};
        my $idle = 0;
        $idle += $_->{idle} for @{ $db->{workers} };
        $db->{connections}{idle} == $idle && $idle >= 1 }), 'pool connections, summed over the workers';

    my $l = $s1->{listener};
    is $l->{state}, 'listening', 'the listener listens';
    ok $pids{ $l->{pid} }, 'in a worker';
    is $l->{data_version}, $pg->psql('SELECT version FROM disclosure.data_version'), 'at the data version';
    is $l->{last_invalidation}, undef, 'nothing invalidated yet';
};

# -- the same whichever worker answers ----------------------------------------------------
part 'the same whichever worker answers' => sub {
    my %seen;
    for (1 .. 20) {
        my $z = status()->{zones}{reports};
        $seen{"$z->{hits} $z->{misses} $z->{entries}"}++;
    }
    is scalar(keys %seen), 1, 'twenty answers, from both workers, agree';
};

# -- an invalidation -------------------------------------------------------------------------
part 'an invalidation is shown' => sub {
    $pg->psql(q{SELECT disclosure.revise('xigong-edz', 2024, '更正');
                SELECT disclosure.publish('xigong-edz', 2024);}, role => 't_publisher');
    my $last = Disclosure::Cache::wait_invalidation($ngx, 0);
    is_deeply { map { $_ => $last->{$_} } qw(source agency year entries) },
        { source => 'notification', agency => 'xigong-edz', year => 2024, entries => 1 },
        'the last invalidation: what, from where, how many entries';
    like $last->{time}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'and when';
    is status()->{zones}{reports}{invalidated}, 1, 'counted in the zone';
};

# -- Prometheus -------------------------------------------------------------------------------
part 'Prometheus: the same in its own format' => sub {
    my $r = $ngx->get('/metrics');
    is $r->{status}, 200, 'metrics: 200';
    like $r->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4}, 'the text exposition format';
    my (%value, %type, $bad);
    for my $line (split /\n/, $r->{content}) {
        if ($line =~ /^# TYPE (\w+) (counter|gauge)$/) { $type{$1} = $2; next }
        next if $line =~ /^# HELP \w+ \S/;
        if ($line =~ /^(\w+)(\{[^}]*\})? (\d+)$/) { $value{ $1 . ($2 // '') } = $3; $bad++ unless $type{$1}; next }
        $bad++;
        diag "unexpected line: $line";
    }
    ok !$bad, 'every line a sample, a HELP or a TYPE, every sample typed';
    my $now = status();
    is $value{'disclosure_cache_hits_total{zone="reports"}'}, $now->{zones}{reports}{hits}, 'hits as in the JSON';
    is $value{'disclosure_cache_entries{zone="other"}'}, $now->{zones}{other}{entries}, 'entries of the other zone';
    is $value{disclosure_db_queries_total}, $now->{database}{queries}, 'queries';
    is $value{'disclosure_listener_state{state="listening"}'}, 1, 'the listener listens';
    is $value{disclosure_data_version}, $now->{listener}{data_version}, 'the data version';
    is $type{disclosure_cache_evictions_total}, 'counter', 'evictions: a counter';
    is $type{disclosure_cache_free_bytes}, 'gauge', 'free bytes: a gauge';
};

unlike $ngx->error_log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'no crash, no alert';
done_testing;
