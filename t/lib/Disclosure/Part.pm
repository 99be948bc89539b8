package Disclosure::Part;

# One independent part of a test file, as a Test::More subtest (the TAP
# output names it):
#
#   use Disclosure::Part;
#
#   part 'the nginx role cannot write' => sub { ... };
#
# Unlike a bare subtest, a die inside the part (a psql error, a request that
# times out, an "or die" in a page edit) does not end the file: it is a failed
# test of that part, with the message as a diag, and the next part runs.
# The setup the parts share (the cluster, nginx) stays outside them, so that
# a die there still ends the file.  A part that needs what an earlier one
# left behind says so in a comment above it.

use strict;
use warnings;

use Exporter 'import';
use Test::More ();

our @EXPORT = qw(part);


sub part {
    my ($name, $code) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;

    return Test::More::subtest($name, sub {
        return if eval { $code->(); 1 };
        my $err = $@;
        # skip_all and BAIL_OUT are not failures of the part
        die $err if ref $err && eval { $err->isa('Test::Builder::Exception') };
        Test::More::fail("$name: died");
        Test::More::diag($err);
    });
}

1;
