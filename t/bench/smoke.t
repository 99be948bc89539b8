# make bench keeps working: bench/run --smoke (a few seconds, small data)
# runs every row through its whole machinery (PostgreSQL, nginx with the
# cache, php-fpm with the peer, wrk, the B6 generator and fill, B7's
# publish) and prints the table.  Which goals are met is not asserted here:
# that is what make bench, on a quiet machine, is for.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use IPC::Run ();
use Disclosure::Test;

my $repo = $Disclosure::Test::REPO;
my ($out, $err) = ('', '');

my $ok = eval {
    IPC::Run::run(["$repo/bench/run", '--smoke'], '<', \'', '>', \$out,
                  '2>', \$err, IPC::Run::timeout(600));
};

ok $ok, 'bench/run --smoke exits 0' or diag "$@\n$err\n", substr($out, -3000);

my %rows;

for my $line (split /\n/, $out) {
    next unless $line =~ /^\| (B\d+g?) \|/;
    my @cells = map { s/^\s+|\s+$//gr } split /\|/, $line;
    push @{ $rows{$1} }, $cells[-1];
}

for my $id (qw(B1 B1g B2 B3 B4 B5 B6 B7 B8 B9)) {
    ok $rows{$id}, "row $id is in the table";
    for my $status (@{ $rows{$id} // [] }) {
        like $status, qr/^(met|missed|reported)$/,
             "row $id was measured ($status)";
    }
}

unlike $out, qr/bench: /, 'no step of the run complained';

done_testing;
