# The applications table of a report with non-zero numbers, read back from
# the HTML the way a screen reader pairs them (headers="row col"), cell by
# cell against the database; and the proactive and appeals tables likewise.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Encode qw(decode_utf8);
use Disclosure::Test;
use Disclosure::Part;

binmode Test::More->builder->$_, ":encoding(UTF-8)" for qw(output failure_output todo_output);

my $pg = Disclosure::Test->pg(sample => 1);
my $ngx = Disclosure::Test->nginx(pg => $pg, server => 'location /r/ { disclosure; }');

# a blank and a slash in a published report, to see them kept
$pg->psql(q{
    SELECT disclosure.revise('demo-district', 2024, '补录空白与斜杠');
    UPDATE disclosure.appeals_grid SET other = NULL, pending = '/'
     WHERE agency = 'demo-district' AND year = 2024 AND row_key = 'suit_after_review';
    SELECT disclosure.publish('demo-district', 2024);
});

sub cells_of_html {
    my ($html, $table) = @_;
    my %cell;
    while ($html =~ m{<td class="d-num[^"]*" headers="([^"]*)">(.*?)</td>}gs) {
        my ($headers, $v) = ($1, $2);
        # ids: d-{table}[-{block}]-r-{row} and -c-{col}; 四 is laid out by
        # columns, its column ids are d-appeals-c-{row}-{col}
        my ($row) = $headers =~ /\bd-\Q$table\E(?:-\d+)?-r-(\w+)/;
        my ($col) = $headers =~ /\bd-\Q$table\E(?:-\d+)?-c-([\w-]+)/ or next;
        ($row, $col) = $col =~ /^(\w+)-(\w+)$/ if !defined $row;
        next if !defined $row;
        $v =~ s/<[^>]*>//g;
        $cell{"$row.$col"} = $v;
    }
    return \%cell;
}

sub cells_of_db {
    my ($table) = @_;
    my %cell;
    for (split /\n/, decode_utf8($pg->psql(qq{
        SELECT c.row_key || '.' || c.col_key || '|' || coalesce(disclosure.cell_text(c.given, c.value), '')
          FROM disclosure.cell_value c JOIN disclosure.public_revision p ON p.revision_id = c.revision_id
         WHERE p.agency = 'demo-district' AND p.year = 2024 AND c.tbl = '$table'}))) {
        my ($k, $v) = split /\|/, $_, 2;
        $cell{$k} = $v // '';
    }
    return \%cell;
}

my $page = decode_utf8($ngx->get('/r/demo-district/2024')->{content});
for my $table (qw(applications proactive appeals)) {
    part "the $table table, on the page and in its fragment, cell by cell against the database" => sub {
        my $html = cells_of_html($page, $table);
        my $db = cells_of_db($table);
        is scalar(keys %$html), scalar(keys %$db), "$table: every cell of the format is on the page";
        is_deeply $html, $db, "$table: every cell equals the database, cell by cell";

        my $fragment = decode_utf8($ngx->get("/r/demo-district/2024/$table")->{content});
        is_deeply cells_of_html($fragment, $table), $db, "$table: and so does the SSI fragment";
    };
}

part 'the table is mostly non-zero; a slash and a blank are kept' => sub {
    my $app = cells_of_db('applications');
    cmp_ok scalar(grep { $_ ne '0' && $_ ne '' } values %$app), '>', 20, 'the table is mostly non-zero';
    is cells_of_html($page, 'appeals')->{'suit_after_review.pending'}, '/', 'a slash is shown as given';
    is cells_of_html($page, 'appeals')->{'suit_after_review.other'}, '', 'a blank is shown blank';
};

# every data cell names header cells that exist
part 'every data cell names header cells that exist; captions and scopes' => sub {
    my %ids = map { $_ => 1 } $page =~ /<th[^>]* id="([^"]+)"/g;
    my @missing = grep { !$ids{$_} } map { split ' ' } $page =~ /<td[^>]* headers="([^"]+)"/g;
    is_deeply \@missing, [], 'every headers= id exists';
    like $page, qr/<caption[^>]*>/, 'tables have captions';
    like $page, qr/<th scope="col"/, 'column headers have scope';
    like $page, qr/<th scope="row"/, 'row headers have scope';
};

done_testing;
