# sql/migrate: ordered, recorded, and a no-op when run again.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Disclosure::Test;

my $pg = Disclosure::Test->pg(sample => 1);
my $root = "$FindBin::Bin/../..";
my @files = map { s{.*/}{}r } sort glob "$root/sql/migrations/*.sql";

is $pg->psql('SELECT string_agg(name, \',\' ORDER BY name) FROM disclosure.migration'),
    join(',', @files), 'every migration file is recorded once';

my @dump = ('pg_dump', '-s', '-h', $pg->socket_dir, '-p', $pg->port, '-U', 'postgres', 'disclosure');
sub schema { return join '', grep { !/^\\(un)?restrict / } `@dump` }   # pg_dump's random session keys
my $before = schema();
my $data_before = $pg->psql('SELECT count(*) FROM disclosure.revision') . '/'
    . $pg->psql('SELECT version FROM disclosure.data_version');

my $out = `$root/sql/migrate -h @{[$pg->socket_dir]} -p @{[$pg->port]} -U postgres -d disclosure 2>&1`;
is $?, 0, 'running the migrations again succeeds';
unlike $out, qr/applying/, 'and applies nothing';
is schema(), $before, 'the schema is unchanged';
is $pg->psql('SELECT count(*) FROM disclosure.revision') . '/'
    . $pg->psql('SELECT version FROM disclosure.data_version'), $data_before, 'and so is the data';

# a fresh database in the same cluster: the roles exist already, which is fine
$pg->psql('CREATE DATABASE second');
$out = `$root/sql/migrate -h @{[$pg->socket_dir]} -p @{[$pg->port]} -U postgres -d second 2>&1`;
is $?, 0, 'a second database installs beside the first (cluster-wide roles reused)';
is $pg->psql('SELECT count(*) FROM disclosure.migration', dbname => 'second'), scalar @files,
    'with every migration recorded';

# a failing migration leaves nothing half-applied
my $tmp = $pg->dir . '/broken';
mkdir $tmp; mkdir "$tmp/migrations";
system('cp', '-r', "$root/sql/migrate", $tmp) == 0 or die;
system("cp $root/sql/migrations/*.sql $tmp/migrations/") == 0 or die;
open my $fh, '>', "$tmp/migrations/9999_broken.sql" or die;
print $fh "CREATE TABLE disclosure.half_written (i int);\nSELECT 1/0;\n";
close $fh;
$out = `$tmp/migrate -h @{[$pg->socket_dir]} -p @{[$pg->port]} -U postgres -d disclosure 2>&1`;
isnt $?, 0, 'a failing migration fails the run';
like $out, qr/division by zero/, 'and says why';
is $pg->psql("SELECT to_regclass('disclosure.half_written') IS NULL"), 't', 'its first statement was rolled back';
is $pg->psql("SELECT count(*) FROM disclosure.migration WHERE name = '9999_broken.sql'"), 0, 'and it is not recorded';

done_testing;
