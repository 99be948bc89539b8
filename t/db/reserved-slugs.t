# Migration 0040 refuses agency slugs that would collide with a route (digits
# only: a year; a reserved word: trend, rollup, ...).  On a database that
# already has such agencies it fails, naming each of them and why, and
# changes nothing; once they are renamed it applies.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Encode qw(decode_utf8);
use Disclosure::Test;

my $root = "$FindBin::Bin/../..";
my $pg = Disclosure::Test->pg(migrate => 0);
my $tmp = $pg->dir . '/m';
mkdir $tmp; mkdir "$tmp/migrations";
system('cp', "$root/sql/migrate", $tmp) == 0 or die;
my @before = grep { !/0040_across_reports/ } glob "$root/sql/migrations/00[0-3]*.sql";
system('cp', @before, "$tmp/migrations/") == 0 or die;

my $migrate = "$tmp/migrate -h @{[$pg->socket_dir]} -p @{[$pg->port]} -U postgres -d disclosure 2>&1";
my $out = `$migrate`;
is $?, 0, 'the migrations before 0040 apply' or diag $out;

$pg->psql(q{INSERT INTO disclosure.agency (slug, name, kind) VALUES
    ('trend', '趋势局', 'department'), ('2024', '数字局', 'department'), ('ok-2024', '好局', 'department')});

system('cp', glob("$root/sql/migrations/0040_*.sql"), "$tmp/migrations/") == 0 or die;
$out = decode_utf8(`$migrate`);
isnt $?, 0, '0040 fails on agencies that collide with routes';
like $out, qr/existing agencies have slugs that collide with routes; rename them first/, 'it says why';
like $out, qr/2024（数字局）: 机构标识“2024”只有数字/, 'it names the digits-only slug';
like $out, qr/trend（趋势局）: 机构标识“trend”是保留字/, 'and the reserved word';
unlike $out, qr/ok-2024/, 'not the slug that is fine';
is $pg->psql(q{SELECT count(*) FROM disclosure.migration WHERE name LIKE '0040%'}), 0, 'nothing recorded';
is $pg->psql(q{SELECT to_regclass('disclosure.reserved_word') IS NULL}), 't', 'nothing half-applied';

$pg->psql(q{UPDATE disclosure.agency SET slug = 'trend-bureau' WHERE slug = 'trend';
            UPDATE disclosure.agency SET slug = 'number-bureau' WHERE slug = '2024'});
$out = `$migrate`;
is $?, 0, 'renamed, 0040 applies' or diag $out;

done_testing;
