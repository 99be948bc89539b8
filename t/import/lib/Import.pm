package Import;

# What the t/import tests share: running build/disclosure-import, and the
# hand transcriptions of t/import/expected/*.txt compared with a document.

use strict;
use warnings;
use FindBin;
use IPC::Run ();
use JSON::PP ();
use Exporter 'import';

our @EXPORT_OK = qw(run_import read_expected compare_document cols_of $TOOL $DIR);

our $DIR  = "$FindBin::Bin";
our $TOOL = "$FindBin::Bin/../../build/disclosure-import";

# (exit status, stdout, stderr) of the tool with @args
sub run_import {
    my (@args) = @_;
    my ($in, $out, $err) = ('', '', '');
    # a guard against a hang (a bug), not a timing assertion
    my $h = IPC::Run::start([$TOOL, @args], \$in, \$out, \$err,
                            IPC::Run::timeout(120));
    unless (eval { $h->finish; 1 }) {
        $h->kill_kill;
        return (-1, $out, "disclosure-import did not finish: $@", 9);
    }
    return ($? >> 8, $out, $err, $? & 127);
}

# the format's columns of each row, in format/cells.tsv order
sub cols_of {
    my ($format) = @_;
    my (%cols, %total);
    open my $fh, '<:encoding(UTF-8)', "$DIR/../../format/cells.tsv" or die $!;
    <$fh>;
    while (<$fh>) {
        chomp;
        my ($f, $t, $r, $c, $kind) = split /\t/;
        next unless $f eq $format;
        push @{$cols{$t}{$r}}, $c;
        $total{"$t.$r.$c"} = $kind eq 'total';
        push @{$cols{_rows}{$t}}, $r unless grep { $_ eq $r } @{$cols{_rows}{$t} // []};
    }
    return (\%cols, \%total);
}

sub read_expected {
    my ($file) = @_;
    my %e = (cells => [], errors => [], texts => []);
    open my $fh, '<:encoding(UTF-8)', $file or die "$file: $!";
    while (my $line = <$fh>) {
        chomp $line;
        next if $line =~ /^\s*(#|$)/;
        my ($k, @v) = split / /, $line;
        if ($k =~ /^(year|agency|format|published_at|index_no|exit|source_url)$/) {
            $e{$k} = @v ? join(' ', @v) : undef;
        } elsif ($k eq 'error') {
            push @{$e{errors}}, join(' ', @v);
        } elsif ($k eq 'text') {
            my ($where, @re) = @v;
            my $re = join(' ', @re);
            $re =~ s/\\n/\n/g;
            push @{$e{texts}}, [$where, $re];
        } else {
            push @{$e{cells}}, [$k, @v];
        }
    }
    return \%e;
}

sub _want {
    my ($v) = @_;
    return 'null' if $v eq '-' || $v eq 'x';
    return '"/"' if $v eq '/';
    return '"not_printed"' if $v eq 'np';
    return $v;
}

sub _got {
    my ($v, $present) = @_;
    return 'absent' unless $present;
    return 'null' unless defined $v;
    return qq{"$v"} if $v eq '/' || $v eq 'not_printed';
    return $v + 0;
}

# every cell of the format against the transcription: a list of
# differences ("applications.received.total: want 859, got null")
sub compare_document {
    my ($doc, $e) = @_;
    my ($cols, $total) = cols_of($e->{format});
    my @diff;
    my %seen;

    for my $c (@{$e->{cells}}) {
        my ($t, @rest) = @$c;
        my @cells;                   # [row, col, value]
        if ($t eq 'appeals') {
            my $i = 0;
            for my $r (qw(review suit_direct suit_after_review)) {
                for my $col (@{$cols->{appeals}{$r}}) {
                    push @cells, [$r, $col, $rest[$i++]];
                }
            }
        } else {
            my ($r, @vals) = @rest;
            my @cc = @{$cols->{$t}{$r} // ($t eq 'applications' && $r eq 'other'
                         ? $cols->{applications}{received} : [])};
            push @diff, "$t.$r: " . @vals . " values for " . @cc . " columns"
                if @vals != @cc;
            push @cells, [$r, $cc[$_], $vals[$_]] for 0 .. $#cc;
        }

        for my $x (@cells) {
            my ($r, $col, $v) = @$x;
            $v //= '?';
            $seen{"$t.$r.$col"} = 1;
            # a merged （六） of a 2021 report: the printed row, 2019 key
            my $printed = $total->{"$t.$r.$col"} || !exists $total->{"$t.$r.$col"};
            my $where = $printed ? 'published_totals' : 'tables';
            my $node = $doc->{$where}{$t}{$r} // {};
            my $got = _got($node->{$col}, exists $node->{$col});
            my $want = _want($v);
            $want = 'absent' if $printed && $v eq 'np';
            push @diff, "$where.$t.$r.$col: want $want, got $got"
                if $got ne $want;
        }
    }

    # nothing in the document that the transcription does not have
    for my $where (qw(tables published_totals)) {
        for my $t (sort keys %{$doc->{$where} // {}}) {
            for my $r (sort keys %{$doc->{$where}{$t}}) {
                for my $col (sort keys %{$doc->{$where}{$t}{$r}}) {
                    push @diff, "$where.$t.$r.$col: not in the transcription"
                        unless $seen{"$t.$r.$col"};
                }
            }
        }
    }

    # every input cell of the format is in tables
    for my $t (qw(proactive applications appeals)) {
        for my $r (@{$cols->{_rows}{$t}}) {
            for my $col (@{$cols->{$t}{$r}}) {
                next if $total->{"$t.$r.$col"};
                push @diff, "tables.$t.$r.$col: missing"
                    unless exists $doc->{tables}{$t}{$r}{$col};
            }
        }
    }

    return @diff;
}

1;
