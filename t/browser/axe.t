# The pages as a visitor meets them: Debian's headless Chromium loads each
# page from nginx (with the sample data) at desktop width and at 375 px, and
# axe-core finds no violation on any of them.  On the phone the page itself
# never scrolls sideways; the wide tables scroll inside their .d-scroll boxes.
# Screenshots land in t/logs/browser/ to be looked at.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use JSON::PP;
use Encode qw(encode_utf8);
use File::Path qw(make_path remove_tree);
use File::Temp ();
use IPC::Run ();
use Time::HiRes ();
use Disclosure::Test;
use Disclosure::Part;

binmode Test::More->builder->$_, ":encoding(UTF-8)" for qw(output failure_output todo_output);

my $HERE     = $FindBin::Bin;
my $REPO     = $Disclosure::Test::REPO;
my $CHROMIUM = $ENV{DISCLOSURE_CHROMIUM} // '/usr/bin/chromium';
my $SHOTS    = "$REPO/t/logs/browser";
my $PHONE    = 375;
my $DESKTOP  = 1280;

# seconds: one page (load, axe, screenshot), the whole browser run, npm ci
my ($PAGE_LIMIT, $RUN_LIMIT, $NPM_LIMIT) = (30, 300, 300);

my $t0 = Time::HiRes::time();


# -- the tools: Debian's chromium, node, and the pinned npm packages --------

ok -x $CHROMIUM, "$CHROMIUM is installed" or diag 'run make deps (apt: chromium fonts-noto-cjk)';
my ($node_ok, $node_version) = Disclosure::Test::run_cmd([qw(node --version)]);
chomp $node_version;
ok $node_ok, "node is installed ($node_version)" or diag 'run make deps (apt: nodejs npm)';
die "cannot run the browser test without chromium and node\n"
    unless -x $CHROMIUM && $node_ok;

# npm ci only when node_modules does not hold exactly what the lock pins
sub installed_as_locked {
    my $lock = decode_json(Disclosure::Test::read_file("$HERE/package-lock.json"));
    for my $p (grep { m{^node_modules/} } keys %{ $lock->{packages} }) {
        my $text = Disclosure::Test::read_file("$HERE/$p/package.json") or return 0;
        my $have = eval { decode_json($text)->{version} } // '';
        return 0 unless $have eq $lock->{packages}{$p}{version};
    }
    return 1;
}

if (!installed_as_locked()) {
    my ($out, $err) = ('', '');
    my $ok = eval {
        IPC::Run::run([qw(npm ci --no-audit --no-fund --ignore-scripts)],
                      '<', \'', '>', \$out, '2>', \$err,
                      init => sub { chdir $HERE or die "chdir $HERE: $!" },
                      IPC::Run::timeout($NPM_LIMIT));
    };
    $err .= $@ if $@;
    ok $ok, 'npm ci in t/browser' or diag Disclosure::Test::tail("$out\n$err", 30);
}
ok installed_as_locked(), 'node_modules holds the versions package-lock.json pins'
    or die "t/browser/node_modules is not what package-lock.json pins\n";


# -- the site: reports, the portal template, an SSI portal page -------------

my $pg = Disclosure::Test->pg(sample => 1);

my $portal = File::Temp::tempdir('disclosure-portal-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $portal;
Disclosure::Test::write_file("$portal/article.html", encode_utf8(<<'HTML'));
<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>2024 年政府信息公开情况 - 示例区人民政府门户网站</title>
</head>
<body>
<header><p>示例区人民政府门户网站</p></header>
<main>
<h1>2024 年政府信息公开情况</h1>
<h2>主动公开</h2>
<!--# include virtual="/disclosure/demo-district/2024/proactive" -->
<h2>依申请公开</h2>
<!--# include virtual="/disclosure/demo-district/2024/applications" -->
<h2>行政复议、行政诉讼</h2>
<!--# include virtual="/disclosure/demo-district/2024/appeals" -->
</main>
<footer><p>示例区人民政府办公室 主办</p></footer>
</body>
</html>
HTML

my $template = "$REPO/conf/demo/portal/template.html";
my $ngx = Disclosure::Test->nginx(pg => $pg, server => <<CONF);
location / {
    root $portal;
    ssi on;
}
location /disclosure/ {
    disclosure;
}
location /portal/ {
    disclosure;
    disclosure_template $template;
}
CONF

my $TABLES = [qw(d-t-proactive d-t-applications d-t-appeals)];
my @pages = (
    [ index       => '/disclosure/' ],
    [ agency      => '/disclosure/demo-district/' ],
    [ seed        => '/disclosure/xigong-edz/2024',   $TABLES ],
    [ report      => '/disclosure/demo-district/2024', $TABLES ],
    [ 'report-2019' => '/disclosure/demo-district/2020', $TABLES ],
    [ template    => '/portal/demo-district/2024',    $TABLES ],
    [ ssi         => '/article.html',                 $TABLES ],
    [ trend       => '/disclosure/demo-district/trend' ],
    [ 'trend-template' => '/portal/demo-district/trend' ],
    [ compare     => '/disclosure/demo-district/2024/compare' ],
    [ 'compare-2019' => '/disclosure/demo-district/2021/compare' ],
    [ rollup      => '/disclosure/demo-district/2024/rollup', $TABLES ],
    [ year        => '/disclosure/2024/' ],
);

# the pages are there before a browser looks at them
for my $p (@pages) {
    my $r = $ngx->get($p->[1]);
    is $r->{status}, 200, "$p->[0]: $p->[1] is 200 over HTTP";
}

remove_tree($SHOTS);
make_path($SHOTS);

my @jobs;
for my $p (@pages) {
    for my $w ($DESKTOP, $PHONE) {
        push @jobs, { name => $p->[0], url => $ngx->url($p->[1]), width => $w,
                      tables => $p->[2] // [],
                      screenshot => "$SHOTS/$p->[0]-$w.png" };
    }
}


# -- one browser for all the pages -------------------------------------------

# Chromium's profile, its temporary files and HOME all live in $box, so a
# browser left behind is found by its environment and nothing leaks.
my $box = File::Temp::tempdir('disclosure-browser-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $jobs_file = "$box/jobs.json";
Disclosure::Test::write_file($jobs_file,
    JSON::PP->new->utf8->canonical->encode(
        [ map { my $j = $_; +{ map { $_ => $j->{$_} } qw(name url width screenshot) } } @jobs ]));

my ($out, $err) = ('', '');
my $b0 = Time::HiRes::time();
my $node = IPC::Run::start(
    [ 'node', "$HERE/axe.js", "--jobs=$jobs_file",
      "--timeout=$PAGE_LIMIT", '--deadline=' . ($RUN_LIMIT - 30) ],
    '<', \'', '>', \$out, '2>', \$err,
    init => sub {
        chdir $HERE or die "chdir $HERE: $!";
        delete @ENV{ grep { /_proxy$/i } keys %ENV };
        @ENV{qw(HOME TMPDIR XDG_CONFIG_HOME XDG_CACHE_HOME)} =
            ($box, $box, "$box/.config", "$box/.cache");
        $ENV{DISCLOSURE_CHROMIUM} = $CHROMIUM;
    },
    IPC::Run::timeout($RUN_LIMIT));
my $exit = -1;
if (eval { $node->finish; 1 }) {
    $exit = $node->result;
} else {
    diag "axe.js did not finish in ${RUN_LIMIT}s: $@";
    $node->kill_kill(grace => 5);
}
my $browser_seconds = Time::HiRes::time() - $b0;

# whatever runs with $box in its environment or command line is ours (node,
# Chromium and every process Chromium started): none may outlive the test
sub browsers_left {
    my @pids;
    for my $dir (glob '/proc/[0-9]*') {
        my ($pid) = $dir =~ m{(\d+)$};
        next if $pid == $$ || !Disclosure::Test::process_alive($pid);
        my $seen = Disclosure::Test::read_file("$dir/cmdline")
                 . "\0" . Disclosure::Test::read_file("$dir/environ");
        push @pids, $pid if index($seen, "\0HOME=$box\0") >= 0
                         || index($seen, "$box/") >= 0;
    }
    return @pids;
}
my @left = browsers_left();
kill 'KILL', @left if @left;
Disclosure::Test::poll(sub { !browsers_left() }, 10);
is_deeply [ browsers_left() ], [], 'no Chromium process outlives the run'
    or diag "still running after SIGKILL: @left";

note Disclosure::Test::tail($err, 40);
my $results = eval { decode_json($out) };
my $printed = ref $results eq 'ARRAY';
ok $printed, 'axe.js printed its results'
    or diag "axe.js exit $exit; its output:\n" . Disclosure::Test::tail("$out\n$err", 40);
$results = [] unless $printed;
ok $exit == 0 || $exit == 1, "axe.js ran every page (exit $exit)"
    or !$printed or diag Disclosure::Test::tail($err, 40);
is scalar @$results, scalar @jobs, 'a result for every page at both widths';


# -- what the browser saw ----------------------------------------------------

sub violations_text {
    my ($r) = @_;
    my @lines;
    for my $v (@{ $r->{violations} }) {
        push @lines, "$v->{id} ($v->{impact}): $v->{help}  $v->{helpUrl}";
        for my $n (@{ $v->{nodes} }) {
            push @lines, "    at " . join(' ', @{ $n->{target} }) . ": $n->{html}";
            push @lines, map { "      $_" } split /\n/, $n->{summary} // '';
        }
    }
    return join "\n", @lines;
}

my ($pages_checked, $violations) = (0, 0);

for my $i (0 .. $#jobs) {
    my $job = $jobs[$i];
    my $r = $results->[$i] or next;
    my $what = "$job->{name} at $job->{width} px";

    # each page on its own: one that fails to load does not hide the others
    part $what => sub {
        is $r->{url}, $job->{url}, "$what: the result is for $job->{url}";
        ok !$r->{error}, "$what: loaded and checked" or diag $r->{error};
        return if $r->{error};
        is $r->{status}, 200, "$what: 200";
        $pages_checked++;

        # axe
        $violations += @{ $r->{violations} };
        is scalar @{ $r->{violations} }, 0, "$what: no axe-core violation ($r->{passes} rules pass)"
            or diag violations_text($r);
        note "$what: axe-core $r->{axe} needs review: @{ $r->{incomplete} }"
            if @{ $r->{incomplete} };
        is_deeply $r->{pageErrors}, [], "$what: no script error or failed request";

        # what is on it
        my $l = $r->{layout};
        is $l->{lang}, 'zh-CN', "$what: lang zh-CN";
        my %tables = map { /\b(d-t-\w+)/ ? ($1 => 1) : () } @{ $l->{tables} };
        ok $tables{$_}, "$what: shows the $_ table" for @{ $job->{tables} };

        # the page does not scroll sideways
        cmp_ok $l->{scrollWidth}, '<=', $l->{clientWidth},
            "$what: the page is no wider than the viewport"
            or diag "sticking out on the right: "
                  . join(', ', map { "$_->{element} to $_->{right}px" } @{ $l->{sticking} });

        for my $box (@{ $l->{boxes} }) {
            my $name = "$what: the box of @{ $box->{tables} }";
            ok $box->{left} >= 0 && $box->{right} <= $l->{clientWidth},
                "$name is inside the viewport"
                or diag "box from $box->{left} to $box->{right}px, viewport $l->{clientWidth}px";
            next unless $box->{scrollWidth} > $box->{clientWidth};
            like $box->{overflowX}, qr/^(auto|scroll)$/, "$name scrolls sideways (overflow-x)";
            cmp_ok $box->{scrolledBy}, '>', 0, "$name scrolls its overflow into view";
        }

        # on a phone the wide tables are wider than the screen, so their boxes
        # are what scrolls
        if ($job->{width} == $PHONE) {
            for my $t (grep { $_ ne 'd-t-proactive' } @{ $job->{tables} }) {
                my ($box) = grep { grep { /\b\Q$t\E\b/ } @{ $_->{tables} } } @{ $l->{boxes} };
                ok $box && $box->{scrollWidth} > $box->{clientWidth},
                    "$what: the $t table overflows inside its .d-scroll box"
                    or diag explain $box;
            }
        }

        ok -s $job->{screenshot}, "$what: screenshot t/logs/browser/$job->{name}-$job->{width}.png";
    };
}

unlike $ngx->error_log, qr/\[(alert|emerg|crit)\]|signal \d+/, 'no crash';

diag sprintf 'browser: %d pages checked by axe-core, %d violations; '
           . 'Chromium run %.1fs, whole test %.1fs; screenshots in t/logs/browser/',
     $pages_checked, $violations, $browser_seconds, Time::HiRes::time() - $t0;

done_testing;
