package Disclosure::Csv;

# The fields of one line of the module's CSV (RFC 4180: quoted fields with
# "" inside; the files here have no line break inside a field).

use strict;
use warnings;
use Exporter 'import';

our @EXPORT_OK = qw(fields);

sub fields {
    my ($line) = @_;
    my @f;
    while ($line =~ /\G(?:"((?:[^"]|"")*)"|([^,"]*))(,|$)/gc) {
        push @f, defined $1 ? $1 =~ s/""/"/gr : $2;
        last if $3 eq '';
    }
    return @f;
}

1;
