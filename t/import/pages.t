# disclosure-import on every saved report page of t/import/pages/, each
# compared cell for cell with its transcription by hand in
# t/import/expected/ (t/import/README.md: where each page comes from).
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../lib";
use Test::More;
use JSON::PP;
use Encode qw(decode encode);
use File::Temp qw(tempdir);
use Import qw(run_import read_expected compare_document $TOOL $DIR);
use Disclosure::Part;

binmode Test::More->builder->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);

ok -x $TOOL, 'build/disclosure-import is built' or BAIL_OUT('make first');

my @expected = sort glob "$DIR/expected/*.txt";
ok @expected >= 2, scalar(@expected) . ' transcribed pages';

for my $file (@expected) {
    (my $name = $file) =~ s{.*/|\.txt$}{}g;
    my $page = "$DIR/pages/$name.html";
    my $e = read_expected($file);
    part $name => sub {
        my ($rc, $out, $err) = run_import('--agency', "t-$name", '--partial', $page);
        $err = decode('UTF-8', $err);
        is $rc, $e->{exit}, "exit $e->{exit}" or diag $err;

        my @errors = grep { /: error: / } split /\n/, $err;
        is scalar(@errors), scalar(@{$e->{errors}}), 'as many errors as expected'
            or diag join "\n", @errors;
        for my $re (@{$e->{errors}}) {
            ok((grep { /$re/ } @errors), "error reported: $re");
        }

        my $doc = eval { JSON::PP->new->utf8->decode($out) };
        ok $doc, 'a JSON document' or return;
        is $doc->{document}, 'disclosure-report/1', 'disclosure-report/1';
        ok $doc->{legacy}, 'legacy';
        is $doc->{year}, $e->{year}, 'year';
        is $doc->{format}, $e->{format}, 'format';
        is $doc->{agency}{name}, $e->{agency}, 'agency name';
        is $doc->{published_at}, $e->{published_at}, '发布日期';
        is $doc->{index_no}, $e->{index_no}, '索引号';
        is $doc->{source_url}, $e->{source_url}, 'source URL' if exists $e->{source_url};

        my @diff = compare_document($doc, $e);
        is scalar(@diff), 0, 'every cell as transcribed' or diag join "\n", @diff;

        my %text;
        for my $s (@{$doc->{sections}}) {
            $text{"$s->{key}.$_->{key}"} = $_->{text} for @{$s->{parts} // []};
        }
        for my $t (@{$e->{texts}}) {
            like $text{$t->[0]} // '', qr/$t->[1]/, "narrative $t->[0]";
        }

        # without --partial: no document unless every cell was read
        my ($rc2, $out2) = run_import('--agency', "t-$name", $page);
        is $rc2, $e->{exit}, 'same exit without --partial';
        is $out2 eq '', $e->{exit} != 0, $e->{exit} ? 'no document on exit 2' : 'a document on exit 0';
    };
}

# the same page in GB18030 (meta charset gbk) and in GBK without a meta
# charset (detected): the same document
part 'the same page in GB18030 and in GBK without a meta charset: the same document' => sub {
    my $page = "$DIR/pages/shanghai-bgt-2019.html";
    open my $fh, '<:raw', $page or die $!;
    my $utf8 = do { local $/; <$fh> };
    my ($rc, $want) = run_import('--partial', $page);
    my $text = decode('UTF-8', $utf8);

    (my $gbk = $text) =~ s/<meta charset="utf-8">/<meta http-equiv="Content-Type" content="text\/html; charset=gbk">/;
    my $tmp = tempdir(CLEANUP => 1);
    open my $o, '>:raw', "$tmp/gbk.html" or die $!;
    print $o encode("cp936", $gbk);
    close $o;
    my ($rc2, $got) = run_import('--partial', "$tmp/gbk.html");
    is $rc2, $rc, 'GBK page: same exit';
    is $got, $want, 'GBK page (meta charset): the same document';

    (my $bare = $text) =~ s/<meta charset="utf-8">//;
    open $o, '>:raw', "$tmp/bare.html" or die $!;
    print $o encode("cp936", $bare);
    close $o;
    ($rc2, $got) = run_import('--partial', "$tmp/bare.html");
    is $got, $want, 'GBK page without a meta charset: detected, the same document';
};

done_testing;
