package Bench::Wrk;

# bench/run's measuring: wrk once, two at once, A/B interleaved pairs and
# their medians, the paced latency pairs of B5, and the small formatting
# helpers the rows share.  bench/run gives its options (a hash it may still
# change) to setup() before the first call.

use strict;
use warnings;
use utf8;

use Exporter qw(import);
use IPC::Run ();
use List::Util qw(max min);
use Time::HiRes qw(time);

use Encode qw(decode_utf8);
use HTTP::Tiny;

use Disclosure::Test;

our @EXPORT = qw(say_step median fmt_rate commify fmt_ms cmd_out wrk
                 wrk_together wrk_cmd wrk_parse pair summary runs_text paced
                 latency_pair http_get
                 http_client);

my %opt_default;
my $OPT = \%opt_default;
my $T0 = time;


# the options hash of bench/run (runs, duration, warmup, connections,
# threads, smoke), read at each call; the clock say_step counts from
sub setup {
    my ($opt, $t0) = @_;
    $OPT = $opt;
    $T0 = $t0 // time;
}


sub say_step {
    printf "[%5.1fs] %s\n", time - $T0, join '', @_;
}


sub median {
    my @v = sort { $a <=> $b } grep { defined } @_;
    return undef unless @v;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}


sub fmt_rate {
    my ($r) = @_;
    return defined $r ? commify(sprintf '%.0f', $r) : '—';
}


sub commify {
    my ($n) = @_;
    1 while $n =~ s/^(\d+)(\d{3})/$1,$2/;
    return $n;
}


sub fmt_ms {
    my ($us) = @_;
    return '—' unless defined $us;
    return sprintf('%.2f ms', $us / 1000) if $us < 10_000;
    return sprintf('%.1f ms', $us / 1000) if $us < 1_000_000;
    return sprintf('%.2f s', $us / 1e6);
}


sub cmd_out {
    my (@cmd) = @_;
    my ($ok, $out, $err) = Disclosure::Test::run_cmd(\@cmd);
    my $text = "$out$err";
    $text =~ s/\s+$//;
    return $text;
}


sub wrk {
    my (%o) = @_;
    my ($ok, $out, $err) = Disclosure::Test::run_cmd([wrk_cmd(%o)]);
    die "bench: wrk failed: $err$out\n" unless $ok;
    return wrk_parse($out);
}


sub wrk_together {
    my (@sides) = @_;
    my (@h, @out, @err);

    for my $i (0 .. $#sides) {
        ($out[$i], $err[$i]) = ('', '');
        push @h, IPC::Run::start([wrk_cmd(@{ $sides[$i] })], '<', \'',
                                 '>', \$out[$i], '2>', \$err[$i]);
    }

    my @r;

    for my $i (0 .. $#sides) {
        my $ok = eval { $h[$i]->finish };
        die "bench: wrk failed: $err[$i]$out[$i]\n" unless $ok;
        push @r, wrk_parse($out[$i]);
    }

    return @r;
}


sub wrk_cmd {
    my (%o) = @_;
    my $c = $o{connections} // $OPT->{connections};
    my $t = min($o{threads} // $OPT->{threads}, $c);

    my @cmd = ('wrk', '--latency', "-t$t", "-c$c",
               '-d' . ($o{duration} // $OPT->{duration}) . 's',
               '--timeout', ($o{timeout} // 10) . 's');
    push @cmd, '-s', $o{script} if $o{script};
    push @cmd, '-H', $o{header} if $o{header};
    push @cmd, $o{url};

    return @cmd;
}


sub wrk_parse {
    my ($out) = @_;
    my %r = (raw => $out);
    ($r{rps}) = $out =~ /^Requests\/sec:\s+([\d.]+)/m;
    ($r{requests}) = $out =~ /^\s*(\d+) requests in/m;
    $r{errors} = 0;
    $r{errors} += $1 if $out =~ /Non-2xx or 3xx responses:\s+(\d+)/;

    my $socket = qr/connect (\d+), read (\d+), write (\d+), timeout (\d+)/;

    if ($out =~ /Socket errors: $socket/) {
        $r{errors} += $1 + $2 + $3 + $4;
    }

    for my $p (qw(50 75 90 99)) {
        if ($out =~ /^\s+$p%\s+([\d.]+)(us|ms|s)\b/m) {
            $r{"p$p"} = $1 * { us => 1, ms => 1e3, s => 1e6 }->{$2};
        }
    }

    if ($out =~ /^Transfer\/sec:\s+([\d.]+)([KMG]?B)/m) {
        $r{bytes_per_s} = $1 * { B => 1, KB => 1024, MB => 1024**2,
                                 GB => 1024**3 }->{$2};
    }

    die "bench: cannot read wrk's output:\n$out\n" unless defined $r{rps};
    return \%r;
}


sub pair {
    my ($x, $y, %o) = @_;

    for my $side ($x, $y) {
        wrk(url => $side->{url}, duration => $OPT->{warmup}, %o)
            if $OPT->{warmup} > 0;
    }

    my (@ra, @rb);

    for my $i (1 .. $OPT->{runs}) {
        push @ra, wrk(url => $x->{url}, %o);
        push @rb, wrk(url => $y->{url}, %o);
        printf "         run %d: %s %s req/s, %s %s req/s\n", $i,
               $x->{name}, fmt_rate($ra[-1]{rps}),
               $y->{name}, fmt_rate($rb[-1]{rps});
    }

    return (summary(@ra), summary(@rb));
}


sub summary {
    my (@runs) = @_;
    my @good = grep { !$_->{errors} } @runs;
    my %s = (runs => \@runs, failed => scalar(@runs) - scalar(@good));

    for my $k (qw(rps p50 p75 p90 p99 bytes_per_s)) {
        $s{$k} = median(map { $_->{$k} } @good);
    }

    return \%s;
}


sub runs_text {
    my ($s) = @_;
    return join ', ', map {
        $_->{errors} ? "failed ($_->{errors} errors)" : fmt_rate($_->{rps})
    } @{ $s->{runs} };
}


# B5: latency below the peak rate
#
# wrk (Debian has no wrk2) is closed-loop: each connection sends a request,
# waits for the answer, then waits delay() ms before the next.  Both sides
# are paced to one rate, a quarter of the lower of their peaks, and run at
# the same time: the same load on each, and whatever else runs on the
# machine in those seconds weighs on both alike (run one after the other,
# each side's tail measured the load of its own seconds).  The pauses are
# calibrated by two short runs of both together.  wrk times a request from
# its write to the end of its answer (the pause is not in it); well below
# the peak there is little queueing, which is where a closed loop hides
# latency (coordinated omission), but it is not corrected for.

sub paced {
    my ($dirs, $urls, $target, %o) = @_;
    my $c = $OPT->{connections};
    my @script = map { "$_/pace.lua" } @$dirs;

    my $write = sub {
        my ($script, $ms) = @_;
        Disclosure::Test::write_file($script, sprintf <<'LUA', $ms);
-- written by bench/run: before each request a pause drawn from an
-- exponential distribution with a mean of %1$.3f ms, so that the
-- connections do not march in step; wrk takes whole milliseconds, the
-- second random number rounds without bias
local mean = %1$.3f
function delay()
    return math.floor(-mean * math.log(1 - math.random()) + math.random())
end
LUA
    };

    # rate = c / (latency + delay); solve for the delay, then correct it
    # from short runs of both sides together, as they will be measured
    my @delay = (1000 * $c / $target) x @script;
    $write->($script[$_], $delay[$_]) for 0 .. $#script;

    if (!$OPT->{smoke}) {
        for (1 .. 2) {
            my @r = wrk_together(map {
                [ url => $urls->[$_], script => $script[$_], duration => 2,
                  %o ]
            } 0 .. $#script);

            for my $i (0 .. $#script) {
                next unless $r[$i]{rps};
                $delay[$i] = max(0, $delay[$i] + 1000 * $c / $target
                                              - 1000 * $c / $r[$i]{rps});
                $write->($script[$i], $delay[$i]);
            }
        }
    }

    return @script;
}


sub latency_pair {
    my ($dir, $id, $x, $y, $peak_a, $peak_b, %o) = @_;

    say_step "$id: calibrating the pauses for a quarter of the lower peak";
    my ($sa, $sb) = paced([ "$dir/a", "$dir/b" ], [ $x->{url}, $y->{url} ],
                          min($peak_a, $peak_b) / 4, %o);

    my (@ra, @rb);

    for my $i (1 .. $OPT->{runs}) {
        my ($one, $two) = wrk_together(
            [ url => $x->{url}, script => $sa, %o ],
            [ url => $y->{url}, script => $sb, %o ]);
        push @ra, $one;
        push @rb, $two;
        printf "         run %d: %s p50 %s p99 %s at %s req/s, "
               . "%s p50 %s p99 %s at %s req/s\n", $i,
               $x->{name}, fmt_ms($ra[-1]{p50}), fmt_ms($ra[-1]{p99}),
               fmt_rate($ra[-1]{rps}),
               $y->{name}, fmt_ms($rb[-1]{p50}), fmt_ms($rb[-1]{p99}),
               fmt_rate($rb[-1]{rps});
    }

    my ($xa, $xb) = (summary(@ra), summary(@rb));
    my $text = sub {
        my ($name, $s, $peak) = @_;
        return "$name: failed runs" if $s->{failed};
        return sprintf '%s: p50 %s, p99 %s at %s req/s (%.0f%% of peak)',
                       $name, fmt_ms($s->{p50}), fmt_ms($s->{p99}),
                       fmt_rate($s->{rps}), 100 * $s->{rps} / $peak;
    };

    return ($text->($x->{name}, $xa, $peak_a), $text->($y->{name}, $xb, $peak_b),
            $xa, $xb);
}


my $HTTP = HTTP::Tiny->new(keep_alive => 0, max_redirect => 0,
                           timeout => 60);


# content: the bytes; text: decoded, for matching
sub http_get {
    my ($port, $path) = @_;
    my $r = $HTTP->request('GET', "http://127.0.0.1:$port$path");
    $r->{text} = decode_utf8($r->{content}, Encode::FB_DEFAULT);
    return $r;
}


# one client for every request bench/run makes itself
sub http_client {
    return $HTTP;
}


1;
