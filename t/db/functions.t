# sql/functions/*.sql, the repeatable files of sql/migrate (README,
# "Migrations"): an upgraded database ends identical to a fresh one, a
# changed format/*.tsv reaches an existing database by format/gen-sql and
# sql/migrate, and what the repeatable pass refuses or fails leaves nothing
# half-applied.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Encode qw(decode_utf8);
use File::Path qw(make_path);
use Disclosure::Test;

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

my $root = "$FindBin::Bin/../..";
my $pg = Disclosure::Test->pg(sample => 1);
my @conn = ('-h', $pg->socket_dir, '-p', $pg->port, '-U', 'postgres');

sub read_utf8 { open my $fh, '<:encoding(UTF-8)', $_[0] or die "$_[0]: $!"; local $/; return <$fh> }
sub write_utf8 { open my $fh, '>:encoding(UTF-8)', $_[0] or die "$_[0]: $!"; print {$fh} $_[1]; close $fh or die }

sub migrate {
    my ($dir, $db) = @_;
    my ($ok, $out, $err) = Disclosure::Test::run_cmd([ "$dir/migrate", @conn, '-d', $db ]);
    return ($ok, decode_utf8("$out$err"));
}

# a copy of sql/ (and format/), to change without touching the repository
sub copy_tree {
    my ($name, %opt) = @_;
    my $dir = $pg->dir . "/$name";
    make_path("$dir/sql/migrations", "$dir/sql/functions", "$dir/format");
    system('cp', "$root/sql/migrate", "$dir/sql/") == 0 or die;
    my @migrations = glob "$root/sql/migrations/*.sql";
    @migrations = grep { m{/(\d+)_[^/]*$} && $1 <= $opt{up_to} } @migrations if $opt{up_to};
    system('cp', @migrations, "$dir/sql/migrations/") == 0 or die;
    system("cp $root/sql/functions/*.sql $dir/sql/functions/") == 0 or die unless $opt{no_functions};
    system("cp $root/format/gen-sql $root/format/*.tsv $dir/format/") == 0 or die;
    return $dir;
}

# what a database defines: every function and view of the project's schemas
# with its definition, owner, privileges, SECURITY DEFINER, settings and
# comment, every trigger, and the format's vocabulary
my $catalogue = q{
    SELECT 'function ' || p.oid::regprocedure || E'\n' || pg_get_functiondef(p.oid)
           || E'\nsecurity definer ' || p.prosecdef || ', config ' || coalesce(array_to_string(p.proconfig, ','), '')
           || ', owner ' || pg_get_userbyid(p.proowner)
           || E'\nacl ' || coalesce((SELECT string_agg(a.grantee::regrole || ' ' || a.privilege_type, ', ' ORDER BY a.grantee::regrole::text, a.privilege_type)
                                       FROM aclexplode(p.proacl) a), 'default')
           || E'\ncomment ' || coalesce(obj_description(p.oid, 'pg_proc'), '')
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname LIKE 'disclosure%'
    UNION ALL
    SELECT 'view ' || c.oid::regclass || E'\n' || pg_get_viewdef(c.oid)
           || E'\nowner ' || pg_get_userbyid(c.relowner)
           || E'\nacl ' || coalesce((SELECT string_agg(a.grantee::regrole || ' ' || a.privilege_type, ', ' ORDER BY a.grantee::regrole::text, a.privilege_type)
                                       FROM aclexplode(c.relacl) a), 'default')
           || E'\ncomment ' || coalesce(obj_description(c.oid, 'pg_class'), '')
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname LIKE 'disclosure%' AND c.relkind = 'v'
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(t.oid)
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname LIKE 'disclosure%' AND NOT t.tgisinternal
    UNION ALL
    SELECT 'format_cell ' || f::text FROM disclosure.format_cell f
    UNION ALL
    SELECT 'format_section ' || s::text FROM disclosure.format_section s
    UNION ALL
    SELECT 'format_total_part ' || t::text FROM disclosure.format_total_part t
    ORDER BY 1
};
sub catalogue { return $pg->psql($catalogue, dbname => $_[0]) }
sub schema {
    my @dump = ('pg_dump', '-s', @conn, $_[0]);
    return join '', grep { !/^\\(un)?restrict / } `@dump`;   # pg_dump's random session keys
}


# -- an upgrade ends where a fresh install does -------------------------------

# the schema as it was before sql/functions/ existed: migrations 0001-0041,
# no repeatable file, the sample data; then this sql/migrate
my $old = copy_tree('old', up_to => 41, no_functions => 1);
$pg->psql('CREATE DATABASE upgraded');
my ($ok, $out) = migrate("$old/sql", 'upgraded');
ok $ok, 'the migrations up to 0041 install without any repeatable file' or diag $out;
is $pg->psql('SELECT count(*) FROM disclosure.function_file', dbname => 'upgraded'), 0, '(none recorded)';
$pg->psql(undef, dbname => 'upgraded', file => "$root/sql/sample/load.sql");

($ok, $out) = migrate("$root/sql", 'upgraded');
ok $ok, 'sql/migrate upgrades it' or diag $out;
my @files = map { s{.*/}{}r } sort glob "$root/sql/functions/*.sql";
cmp_ok scalar(@files), '>=', 10, 'sql/functions has the files (' . scalar(@files) . ')';
is_deeply [ $out =~ /^applying functions\/(\S+)$/mg ], \@files, 'every repeatable file applied, in name order';
is $pg->psql('SELECT string_agg(name, \',\' ORDER BY name) FROM disclosure.function_file', dbname => 'upgraded'),
    join(',', @files), 'and recorded';

my $fresh = catalogue('disclosure');
like $fresh, qr/^function disclosure_web\.report\(text,integer\)$/m, '(the catalogue dump has the web API)';
like $fresh, qr/^security definer true, config search_path=pg_catalog, pg_temp/m,
    '(and its SECURITY DEFINER functions with their search_path)';
like $fresh, qr/^trigger CREATE TRIGGER appeals_grid_update INSTEAD OF UPDATE/m, '(and the grids\' triggers)';
is catalogue('upgraded'), $fresh,
    'functions, views, grants, SECURITY DEFINER, search_path, triggers and vocabulary: upgraded = fresh';
is schema('upgraded'), schema('disclosure'), 'and so is the whole schema (pg_dump -s)';

($ok, $out) = migrate("$root/sql", 'upgraded');
ok $ok && $out !~ /applying/, 'running it again applies nothing' or diag $out;


# -- a changed vocabulary reaches an existing database ------------------------

my $new = copy_tree('new');
my $tsv = read_utf8("$new/format/cells.tsv");
# a label fixed, a row added in the middle of the 2021 proactive table, and a
# result row in 三 (seven cells: six inputs and their 总计, part of （七）总计)
$tsv =~ s/^(2021\tproactive\tlicensing\tdecisions\t.*\t)行政许可(\t)/${1}行政许可（更正）$2/m or die;
$tsv =~ s/^(2021\tproactive\tenforcement\t)/2021\tproactive\tinspections\tdecisions\tinput\t件\t第二十条第（六）项\t行政检查\t信息内容\t本年处理决定数量\n$1/m
    or die;
my $misc = join '', $tsv =~ /^(2021\tapplications\tother_misc\t.*\n)/mg;
(my $added = $misc) =~ s/\tother_misc\t/\tother_added\t/g;
$added =~ s/3\.其他/4.新增/g;
$tsv =~ s/\Q$misc\E/$misc$added/ or die;
write_utf8("$new/format/cells.tsv", $tsv);
system("$new/format/gen-sql > $new/sql/functions/00_format.sql") == 0 or die;

my $published = $pg->psql(q{SELECT string_agg(md5(document::text), ',' ORDER BY revision_id)
                              FROM disclosure.published_document});
my $report = $pg->psql(q{SELECT md5(disclosure_web.report('demo-district', 2024)::text)});
($ok, $out) = migrate("$new/sql", 'disclosure');
ok $ok, 'sql/migrate with the changed TSV' or diag $out;
like $out, qr/^applying functions\/00_format\.sql$/m, 'applies the regenerated vocabulary';
is decode_utf8($pg->psql(q{SELECT row_label FROM disclosure.format_cell
                            WHERE format = 2021 AND tbl = 'proactive' AND row_key = 'licensing'})),
    '行政许可（更正）', 'the fixed label is in';
is $pg->psql(q{SELECT string_agg(row_key || ':' || row_ord, ' ' ORDER BY ord) FROM disclosure.format_cell
                WHERE format = 2021 AND tbl = 'proactive' AND col_key = 'decisions'}),
    'licensing:3 penalties:4 inspections:5 enforcement:6', 'the new row is in, in its place';
is $pg->psql(q{SELECT count(*) FROM disclosure.format_cell WHERE format = 2021}), 208, '208 cells of 2021 now';
is $pg->psql(q{SELECT count(DISTINCT ord) = count(*) AND min(ord) = 1 AND max(ord) = count(*)
                 FROM disclosure.format_cell WHERE format = 2021}), 't', 'numbered 1..208 again';
is $pg->psql(q{SELECT count(*) FROM disclosure.format_total_part
                WHERE format = 2021 AND tbl = 'applications' AND row_key = 'other_added' AND col_key = 'total'}), 6,
    'the new result row\'s 总计 adds up its six inputs';
is $pg->psql(q{SELECT count(*) FROM disclosure.format_total_part
                WHERE format = 2021 AND tbl = 'applications' AND row_key = 'closed_total' AND col_key = 'total'}),
    22 * 6, 'and （七）总计 now adds up 22 result rows × 6 applicant columns';
is $pg->psql(q{SELECT string_agg(md5(document::text), ',' ORDER BY revision_id) FROM disclosure.published_document}),
    $published, 'the published documents are untouched';
is $pg->psql(q{SELECT md5(disclosure_web.report('demo-district', 2024)::text)}), $report,
    'and the web API serves the same report';
is $pg->psql(q{SELECT count(*) >= 0 FROM disclosure.check_report('demo-district', 2024)}), 't',
    'an existing report is still checked';
$pg->psql(q{SELECT disclosure.new_report('demo-district', 2031)});
is $pg->psql(q{SELECT count(*) FROM disclosure.cell c JOIN disclosure.current_revision r USING (revision_id)
                WHERE r.agency = 'demo-district' AND r.year = 2031 AND c.row_key IN ('inspections', 'other_added')}), 7,
    'a new draft has the new cells';
$pg->psql(q{SELECT disclosure.set_cell(disclosure.draft_of('demo-district', 2031), 'applications', 'other_added', 'business', '5')});
is $pg->psql(q{SELECT string_agg(value::text, ' ' ORDER BY row_key) FROM disclosure.cell_value
                WHERE revision_id = disclosure.draft_of('demo-district', 2031) AND tbl = 'applications'
                  AND col_key = 'total' AND row_key IN ('other_added', 'closed_total')}),
    '5 5', 'and it counts in the totals';
is decode_utf8($pg->psql(q{SELECT string_agg(row_label, ' ' ORDER BY row_no) FROM disclosure.proactive_grid
                            WHERE agency = 'demo-district' AND year = 2031 AND row_no BETWEEN 3 AND 5})),
    '行政许可（更正） 行政处罚 行政检查', 'and the grid shows it, with the fixed label';
($ok, $out) = migrate("$new/sql", 'disclosure');
ok $ok && $out !~ /applying/, 'running it again applies nothing' or diag $out;

# a key gone from the TSV while a report uses it: refused, nothing changed
$tsv =~ s/^2021\tproactive\tinspections\t.*\n//m or die;
$tsv =~ s/\Q$added\E// or die;
$tsv =~ s/行政许可（更正）/行政许可/ or die;
write_utf8("$new/format/cells.tsv", $tsv);
system("$new/format/gen-sql > $new/sql/functions/00_format.sql") == 0 or die;
my $recorded = $pg->psql('SELECT string_agg(name || sha256, \',\' ORDER BY name) FROM disclosure.function_file');
($ok, $out) = migrate("$new/sql", 'disclosure');
ok !$ok, 'keys removed from the TSV while a draft uses them fail the run';
like $out, qr/foreign key.*\n.*(inspections|other_added)/, 'and say which key' or diag $out;
is decode_utf8($pg->psql(q{SELECT row_label FROM disclosure.format_cell
                            WHERE format = 2021 AND tbl = 'proactive' AND row_key = 'licensing'})),
    '行政许可（更正）', 'nothing of that pass is applied';
is $pg->psql('SELECT string_agg(name || sha256, \',\' ORDER BY name) FROM disclosure.function_file'), $recorded,
    'nor recorded';
$pg->psql(q{SELECT disclosure.delete_draft('demo-district', 2031)});
($ok, $out) = migrate("$new/sql", 'disclosure');
ok $ok, 'once no report uses it, the key goes' or diag $out;
is $pg->psql(q{SELECT count(*) FROM disclosure.format_cell WHERE format = 2021}), 200, '200 cells of 2021 again';
is catalogue('disclosure'), $fresh, 'the catalogue is back where it was';


# -- what a versioned migration drops, the repeatable pass makes again --------

my $drop = copy_tree('drop');
write_utf8("$drop/sql/migrations/9998_drop.sql",
    "DROP VIEW disclosure.reports;\nDROP FUNCTION disclosure_web.changes(bigint);\n");
($ok, $out) = migrate("$drop/sql", 'disclosure');
ok $ok, 'a versioned migration drops a view and a function' or diag $out;
like $out, qr/^applying 9998_drop\.sql\n(applying functions\/.*\n)+\z/, 'then every repeatable file is applied';
is catalogue('disclosure'), $fresh, 'and they are back, with their triggers, grants and comments';

# a failing repeatable file: the pass rolls back, nothing recorded
write_utf8("$drop/sql/functions/99_broken.sql",
    "CREATE OR REPLACE FUNCTION disclosure.half_written() RETURNS int LANGUAGE sql AS 'SELECT 1';\nSELECT 1/0;\n");
$recorded = $pg->psql('SELECT string_agg(name || sha256, \',\' ORDER BY name) FROM disclosure.function_file');
($ok, $out) = migrate("$drop/sql", 'disclosure');
ok !$ok, 'a failing repeatable file fails the run';
like $out, qr/division by zero/, 'and says why';
is $pg->psql(q{SELECT to_regprocedure('disclosure.half_written()') IS NULL}), 't', 'its first statement is rolled back';
is $pg->psql('SELECT string_agg(name || sha256, \',\' ORDER BY name) FROM disclosure.function_file'), $recorded,
    'and nothing is recorded';

done_testing;
