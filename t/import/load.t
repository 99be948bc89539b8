# The editors' path of README ("Importing published reports"): a saved page
# through disclosure-import into a throwaway PostgreSQL with
# disclosure.import_report (as a publisher: legacy documents and new agencies
# need that role; an editor is refused), checked, published with its original
# date, and exported back cell for cell; then a document with cells not
# printed, the merged （六） row and scope "unknown".
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../lib";
use Test::More;
use JSON::PP;
use Encode qw(decode encode);
use File::Temp qw(tempdir);
use Disclosure::Test;
use Import qw(run_import read_expected $TOOL $DIR);
use Disclosure::Part;

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

ok -x $TOOL, 'build/disclosure-import is built' or BAIL_OUT('make first');

my $pg = Disclosure::Test->pg;
my $json = JSON::PP->new->utf8->canonical;

# a document into the database as t_publisher (or $role): (ok, error)
sub load {
    my ($doc, $role) = @_;
    my $text = ref $doc ? $json->encode($doc) : $doc;
    my ($out, $err, $ok) = $pg->psql(
        "SELECT disclosure.import_report(\$doc\$$text\$doc\$::jsonb)",
        role => $role // 't_publisher', allow_error => 1);
    return ($ok, $err);
}

sub export {
    my ($slug, $year, $draft) = @_;
    my $out = $pg->psql(sprintf("SELECT disclosure.export_report('%s', %d, %s)",
                                $slug, $year, $draft ? 'true' : 'false'));
    return $json->decode(encode('UTF-8', decode('UTF-8', $out)));
}

# every cell the tool wrote comes back as it was written
sub same_cells {
    my ($doc, $back, $name) = @_;
    my @diff;
    for my $where (qw(tables published_totals)) {
        for my $t (keys %{$doc->{$where}}) {
            for my $r (keys %{$doc->{$where}{$t}}) {
                for my $c (keys %{$doc->{$where}{$t}{$r}}) {
                    my $want = $doc->{$where}{$t}{$r}{$c};
                    my $got = $back->{$where}{$t}{$r}{$c};
                    my $w = defined $want ? "$want" : 'null';
                    my $g = defined $got ? "$got" : 'null';
                    push @diff, "$where.$t.$r.$c: wrote $w, got $g" if $w ne $g;
                }
            }
        }
    }
    is scalar(@diff), 0, "$name: every cell as the page printed it" or diag join "\n", @diff;
}

sub doc_of {
    my ($page, @args) = @_;
    my ($rc, $out, $err) = run_import(@args, "$DIR/pages/$page.html");
    return ($rc, $out ne '' ? $json->decode($out) : undef, decode('UTF-8', $err));
}

# -- pages whose cells are numbers, blanks and slashes -----------------------------

for my $name (qw(xigong-edz-2024 shuyang-fgj-2023)) {
    my $e = read_expected("$DIR/expected/$name.txt");
    my $slug = "t-$name";
    part $name => sub {
        my ($rc, $doc, $err) = doc_of($name, '--agency', $slug, '--scope', 'office');
        is $rc, 0, 'exit 0' or diag $err;
        my ($eok, $eerr) = load($doc, 't_editor');
        ok !$eok, 'an editor may not import a legacy report' or diag 'it was taken';
        my ($ok, $lerr) = load($doc);
        ok $ok, 'disclosure.import_report takes it (as a publisher)' or diag $lerr;
        my $back = export($slug, $e->{year}, 1);
        is $back->{legacy}, JSON::PP::true, 'a legacy draft';
        is $back->{format}, $e->{format}, 'format';
        is $back->{agency}{name}, $e->{agency}, 'the agency, created from the document';
        is $back->{index_no}, $e->{index_no}, '索引号 kept';
        same_cells($doc, $back, $name);

        my $checks = $pg->psql("SELECT count(*) FROM disclosure.check_report('$slug', $e->{year})");
        like $checks, qr/^\d+$/, "check_report runs ($checks findings)";

        # published with the date it was first published on the old portal:
        # the document's own where the page gave one, else given to publish()
        my $when = $doc->{published_at};
        my $sql = defined $when
            ? "SELECT disclosure.publish('$slug', $e->{year})"
            : "SELECT disclosure.publish('$slug', $e->{year}, '"
              . ($when = '2024-12-31T00:00:00+08:00') . "')";
        my ($out, $perr, $pok) = $pg->psql($sql, role => 't_publisher', allow_error => 1);
        ok $pok, 'published with its original date' or diag $perr;
        my $pub = export($slug, $e->{year});
        is $pub->{published_at}, $when, 'the exported document has that date';
        same_cells($doc, $pub, "$name published");
    };
}

# -- a page with a cell the tool would not read: the editor decides -------------------

part 'a page with a cell the tool would not read: the editor fills it in' => sub {
    my $slug = 't-shanghai';
    my ($rc, $doc, $err) = doc_of('shanghai-bgt-2019', '--agency', $slug, '--scope', 'office', '--partial');
    is $rc, 2, 'shanghai-bgt-2019: exit 2 (采购总金额 “251000元”)';
    # the editor reads the page: 251000 元, no unit in the 2019 format
    $doc->{tables}{proactive}{procurement}{amount} = 251000;
    my ($ok, $lerr) = load($doc);
    ok $ok, 'shanghai-bgt-2019, that cell filled in by the editor: import_report takes it' or diag $lerr;
    same_cells($doc, export($slug, 2019, 1), 'shanghai-bgt-2019');
};

# -- "not_printed", the merged （六） row and scope "unknown" ----------------------------

{
    part 'not printed, merged （六）, scope unknown' => sub {
        my $page = decode('UTF-8', do {
            open my $fh, '<:raw', "$DIR/pages/xigong-edz-2024.html" or die $!; local $/; <$fh> });
        my $row = '<tr><td colspan=2><p>（六）其他处理</p></td>'
                . join('', map { "<td>$_</td>" } 1, 0, 0, 0, 0, 0, 1) . "</tr>\n";
        $page =~ s{<tr[^>]*><td[^>]*rowspan=3[^>]*><p[^>]*><span[^>]*>\(六\) 其他处理.*?3\. 其他.*?</tr>\n}{$row}s
            or die 'no （六） rows';
        $page =~ s{<tr[^>]*><td[^>]*><p[^>]*><span[^>]*>行政强制</span>.*?</tr>\n}{}s or die;
        my $tmp = tempdir(CLEANUP => 1);
        open my $fh, '>:raw', "$tmp/p.html" or die $!;
        print $fh encode('UTF-8', $page);
        close $fh;
        my ($rc, $out, $err) = run_import('--agency', 't-merged', "$tmp/p.html");
        is $rc, 0, 'exit 0' or diag $err;
        my $doc = $json->decode($out);
        is $doc->{scope}, 'unknown', 'scope unknown (the page does not say)';
        my ($ok, $lerr) = load($doc);
        ok $ok, 'import_report takes not_printed, the merged （六） and scope unknown' or diag $lerr;
        my $back = export('t-merged', 2024, 1);
        is $back->{scope}, 'unknown', 'scope unknown kept';
        is $back->{tables}{proactive}{enforcement}{decisions}, 'not_printed', 'a row not printed stays not printed';
        is $back->{tables}{applications}{other_misc}{total}, 'not_printed', 'the merged （六）: its sub-rows not printed';
        is_deeply $back->{published_totals}{applications}{other},
            $doc->{published_totals}{applications}{other}, 'its printed row kept';
    };
}

done_testing;
