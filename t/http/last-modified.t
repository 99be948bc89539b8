# Last-Modified is the time the documents give: published_at for a report,
# changed_at for the index and an agency.  (It was a month late: the time
# parser counted months from February; found by fuzz/iso_time.c.)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use JSON::PP;
use POSIX qw(strftime);
use Time::Local qw(timegm);
use Disclosure::Test;
use Disclosure::Part;

my $pg = Disclosure::Test->pg(sample => 1);
my $ngx = Disclosure::Test->nginx(pg => $pg, server => 'location /r/ { disclosure; }');

# "2025-01-20T09:00:00+08:00" as an HTTP date
sub http_date {
    my ($iso) = @_;
    my ($y, $mo, $d, $h, $mi, $s, $sign, $oh, $om) =
        $iso =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)([+-])(\d\d):(\d\d)$/
        or die "not an ISO time: $iso";
    my $t = timegm($s, $mi, $h, $d, $mo - 1, $y) - ($sign eq '+' ? 1 : -1) * ($oh * 3600 + $om * 60);
    local $ENV{LC_TIME} = 'C';
    return strftime('%a, %d %b %Y %H:%M:%S GMT', gmtime $t);
}

# one January, one March and one December publication
$pg->psql(q{
    SELECT disclosure.revise('demo-district-housing', 2023, '一月');
    SELECT disclosure.publish('demo-district-housing', 2023, '2025-01-31T23:30:00+08:00');
    SELECT disclosure.revise('demo-district-market', 2023, '三月');
    SELECT disclosure.publish('demo-district-market', 2023, '2025-03-01T00:00:00+08:00');
    SELECT disclosure.revise('demo-district-education', 2023, '十二月');
    SELECT disclosure.publish('demo-district-education', 2023, '2024-12-31T16:00:00+00:00');
});

part 'a report\'s Last-Modified is its published_at' => sub {
    for my $agency (qw(demo-district-housing demo-district-market demo-district-education xigong-edz)) {
        my $year = $agency eq 'xigong-edz' ? 2024 : 2023;
        my $doc = decode_json($ngx->get("/r/$agency/$year.json")->{content});
        my $want = http_date($doc->{published_at});
        for my $path ("/r/$agency/$year", "/r/$agency/$year.csv", "/r/$agency/$year/appeals") {
            is $ngx->get($path)->{headers}{'last-modified'}, $want, "$path: $doc->{published_at} is $want";
        }
    }
};

part 'the index\'s and an agency\'s is their changed_at' => sub {
    for my $path ('/r/', '/r/demo-district/') {
        my $doc = decode_json($ngx->get($path =~ s{/$}{/index.json}r)->{content});
        is $ngx->get($path)->{headers}{'last-modified'}, http_date($doc->{changed_at}),
            "$path: changed_at $doc->{changed_at}";
    }
};

done_testing;
