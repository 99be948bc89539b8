package Disclosure::Cache;

# Helpers for the cache tests (t/http/cache-*.t): the status location's
# JSON, waiting for the listener, the X-Disclosure-Cache header.
#
#   my $ngx = Disclosure::Test->nginx(..., server => '...' . Disclosure::Cache::STATUS);
#   Disclosure::Cache::wait_listening($ngx);
#   my $st = Disclosure::Cache::status($ngx);    # decoded JSON
#   is Disclosure::Cache::header($ngx->get('/c/')), 'HIT';

use strict;
use warnings;

use JSON::PP ();
use Disclosure::Test ();

# the status location every cache test adds to its server
use constant STATUS => "\nlocation = /disclosure-status { disclosure_status; }\n";


sub status {
    my ($ngx) = @_;
    my $r = $ngx->get('/disclosure-status');
    die "status: $r->{status} $r->{content}" unless $r->{status} == 200;
    return JSON::PP::decode_json($r->{content});
}


sub zone {
    my ($ngx, $name) = @_;
    return status($ngx)->{zones}{$name // 'reports'};
}


sub header {
    my ($r) = @_;
    return $r->{headers}{'x-disclosure-cache'} // '(none)';
}


# Until the listener has LISTENed and seen the data version (entries filled
# before that are invalidated when it does).  Returns the listener's state.

sub wait_listening {
    my ($ngx, $after_polls) = @_;
    $after_polls //= 0;
    my $l;
    Disclosure::Test::poll(sub {
        $l = status($ngx)->{listener};
        $l->{state} eq 'listening' && $l->{polls} > $after_polls;
    }) or die 'the listener did not start listening: ' . JSON::PP::encode_json($l);
    return $l;
}


# Until a new invalidation was applied (the listener's count passed $n);
# returns the last invalidation.

sub wait_invalidation {
    my ($ngx, $n, $timeout) = @_;
    my $l;
    Disclosure::Test::poll(sub {
        $l = status($ngx)->{listener};
        $l->{invalidations} > $n;
    }, $timeout) or return undef;
    return $l->{last_invalidation};
}

1;
