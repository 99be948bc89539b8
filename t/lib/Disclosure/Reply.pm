package Disclosure::Reply;

# The replies to raw HTTP requests sent on sockets of their own (the
# Nginx object's send_get(), or a test's own request()), read until the
# server closes the connection:
#
#   use Disclosure::Reply;
#
#   my $r = reply($s);
#   my @r = replies(\@sockets, sub { ... });   # all at once, the sub called
#                                              # between reads
#
# Each reply is a hash: status (0: none), headers (names in lower case),
# body (de-chunked when chunked), complete (the final chunk came, or as
# many bytes as Content-Length, or the end of a body without either), cache
# (X-Disclosure-Cache, '(none)' without).  The sockets are closed.  Replies
# that have not ended after $Disclosure::Test::TIMEOUT die.

use strict;
use warnings;

use Exporter 'import';
use IO::Select;
use Disclosure::Test ();

our @EXPORT = qw(reply replies);


sub replies {
    my ($socks, $also) = @_;
    my %text = map { $_ => '' } 0 .. $#$socks;
    my %open = map { $_ => 1 } 0 .. $#$socks;

    Disclosure::Test::poll(sub {
        $also->() if $also;
        for my $i (keys %open) {
            while (IO::Select->new($socks->[$i])->can_read(0)) {
                my $n = sysread $socks->[$i], my $buf, 65536;
                last if !defined $n && $!{EAGAIN};
                if (!$n) {
                    delete $open{$i};
                    close $socks->[$i];
                    last;
                }
                $text{$i} .= $buf;
            }
        }
        !%open;
    }) or die "no whole reply within $Disclosure::Test::TIMEOUT s\n";

    return map { _parse($text{$_}) } 0 .. $#$socks;
}


sub reply { (replies([ $_[0] ]))[0] }


sub _parse {
    my ($text) = @_;
    my ($head, $raw) = split /\r\n\r\n/, $text, 2;
    my ($status) = ($head // '') =~ m{^HTTP/1\.\d (\d+)};
    my %h = map { /^([^:]+):\s*(.*)$/ ? (lc $1 => $2) : () } split /\r\n/, $head // '';
    my ($body, $complete) = ('', 0);

    if (($h{'transfer-encoding'} // '') eq 'chunked') {
        $raw //= '';
        while ($raw =~ s/^([0-9a-f]+)\r\n//i) {
            my $len = hex $1;
            if ($len == 0) { $complete = $raw =~ /^\r\n/; last }
            last if length $raw < $len + 2;
            $body .= substr $raw, 0, $len, '';
            substr $raw, 0, 2, '';
        }
    } else {
        $body = $raw // '';
        $complete = defined $h{'content-length'} ? length $body == $h{'content-length'}
                                                  : defined $raw;
    }

    return { status => $status // 0, headers => \%h, body => $body, complete => $complete,
             cache => $h{'x-disclosure-cache'} // '(none)' };
}

1;
