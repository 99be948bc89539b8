# The role nginx connects as, over a real connection: published reports only,
# and no writes of any kind.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Disclosure::Test;
use Disclosure::Part;

my $pg = Disclosure::Test->pg(sample => 1);

sub as_nginx { my @r = $pg->psql($_[0], role => 't_nginx', allow_error => 1); return @r }

part 'nginx cannot read the tables' => sub {
    my ($out, $err, $ok) = as_nginx('SELECT count(*) FROM disclosure.revision');
    ok !$ok, 'nginx cannot read the tables';
    like $err, qr/permission denied/, 'permission denied';
};

part 'through the web API nginx sees the publication, not the draft' => sub {
    my ($out, $err, $ok) = as_nginx(q{SELECT disclosure_web.report('demo-district', 2025) IS NULL});
    is $out, 't', 'the 2025 draft does not exist for nginx';
    ($out, $err, $ok) = as_nginx(q{SELECT disclosure_web.report('demo-district', 2024) ->> 'status'});
    is $out, 'published', 'the 2024 publication does';
};

part 'nginx cannot write' => sub {
    for my $sql ('CREATE TABLE public.x (i int)', 'CREATE TEMP TABLE x (i int)',
                 q{SELECT disclosure.new_report('demo-district', 2030)},
                 q{UPDATE disclosure.applications_grid SET natural_person = '1' WHERE year = 2025},
                 q{SELECT disclosure.publish('demo-district', 2025)}) {
        my ($out, $err, $ok) = as_nginx($sql);
        ok !$ok, "nginx cannot: $sql";
    }
};
done_testing;
