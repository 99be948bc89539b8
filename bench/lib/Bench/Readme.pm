package Bench::Readme;

# The results section of bench/README.md, between its two markers: the
# table of rows, the requests/s of each run, the notes, the machine and the
# settings.  Everything else in the README is written by hand.

use strict;
use warnings;
use utf8;

use Encode qw(decode_utf8);
use POSIX qw(strftime);

use Disclosure::Test;
use Bench::Wrk qw(cmd_out);


sub machine {
    my ($php_fpm) = @_;
    my %m;
    my $lscpu = cmd_out('lscpu');
    ($m{cpu}) = $lscpu =~ /^Model name:\s+(.+)$/m;
    $m{cores} = cmd_out('nproc');
    my ($kb) = Disclosure::Test::read_file('/proc/meminfo')
               =~ /^MemTotal:\s+(\d+)/m;
    $m{ram} = sprintf '%.1f GiB', ($kb // 0) / 1024 / 1024;
    $m{kernel} = cmd_out('uname', '-r');
    $m{os} = (Disclosure::Test::read_file('/etc/os-release')
              =~ /^PRETTY_NAME="?([^"\n]+)/m)[0] // 'unknown';
    $m{nginx} = cmd_out('/usr/sbin/nginx', '-v');
    $m{nginx} =~ s/^nginx version: //;
    $m{postgres} = cmd_out("$Disclosure::Test::PG_BIN/postgres", '--version');
    $m{psql} = cmd_out('psql', '--version');
    ($m{php}) = cmd_out($php_fpm, '-v') =~ /^(PHP [^\n]+)/;
    ($m{wrk}) = cmd_out('wrk', '-v') =~ /^(wrk [^\n]+?)\s+Copyright/m;
    $m{wrk} //= (split /\n/, cmd_out('wrk', '-v'))[0];
    return \%m;
}


sub table_text {
    my ($table) = @_;
    my @lines = ('| id | measured | A | B | A/B | goal | |',
                 '|---|---|---|---|---|---|---|');

    for my $r (@$table) {
        my $status = $r->{status} eq 'not run' ? "not run: $r->{why}"
                                               : $r->{status};
        push @lines, '| ' . join(' | ', $r->{id}, $r->{what}, $r->{a},
                                 $r->{b}, $r->{result}, $r->{goal}, $status)
                     . ' |';
    }

    return join "\n", @lines;
}


# write_results($file, command, make (true under make), seconds, table,
# details, notes, machine, settings): replaces the section, or appends it
# when the markers are gone
sub write_results {
    my ($file, %r) = @_;
    my $m = $r{machine};
    my $text = decode_utf8(Disclosure::Test::read_file($file));
    my $begin = '<!-- bench/run: results -->';
    my $end = '<!-- /bench/run -->';

    my $when = strftime('%Y-%m-%d %H:%M UTC', gmtime);
    my $results = join "\n", $begin,
        "Run $when by `$r{command}`"
        . ($r{make} ? ' (`make bench`)' : '')
        . sprintf(', %.0f s in all.', $r{seconds}),
        '',
        table_text($r{table}),
        '',
        'Requests/s of each run (A B A B …):',
        '',
        (map { "- $_" } @{ $r{details} }),
        '',
        (@{ $r{notes} } ? ('Notes:', '', (map { "- $_" } @{ $r{notes} }), '')
                        : ()),
        "Machine: $m->{cpu}, $m->{cores} cores, $m->{ram} RAM; $m->{os}, "
        . "Linux $m->{kernel}.",
        '',
        "Versions: $m->{nginx}; $m->{postgres}; $m->{psql}; "
        . "$m->{php}; $m->{wrk}.",
        '',
        "Settings: $r{settings}",
        $end;

    if ($text =~ /\Q$begin\E.*?\Q$end\E/s) {
        $text =~ s/\Q$begin\E.*?\Q$end\E/$results/s;
    } else {
        $text .= "\n$results\n";
    }

    open my $fh, '>:encoding(UTF-8)', $file or die "bench: $file: $!\n";
    print {$fh} $text;
    close $fh or die "bench: $file: $!\n";
}


1;
