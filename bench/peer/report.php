<?php
/*
 * A report page as a portal team would write it in PHP, the peer of the
 * module's /{agency}/{year} page (see README.md here).
 *
 *   GET /report.php?agency=demo-district&year=2024
 *   (nginx: rewrite ^/php/([a-z0-9-]+)/([0-9]{4})$ /report.php?agency=$1&year=$2)
 *
 * One persistent PDO connection per FPM worker, one parameterised query of
 * the read-only web API, json_decode, the official layout rendered from
 * format.php (built from format/cells.tsv by make-format.php), every text
 * through htmlspecialchars.  DISCLOSURE_DSN comes from the FPM pool.
 */

declare(strict_types=1);

const RETRY_AFTER = 10;


function h(string $s): string
{
    return htmlspecialchars($s, ENT_QUOTES | ENT_SUBSTITUTE | ENT_HTML5,
                            'UTF-8');
}


function fail(int $status, string $message): never
{
    http_response_code($status);
    header('Content-Type: text/html; charset=utf-8');
    header('X-Content-Type-Options: nosniff');
    echo '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">',
         '<title>', $status, '</title></head><body><p>', h($message),
         '</p></body></html>';
    exit;
}


function db(): PDO
{
    $dsn = getenv('DISCLOSURE_DSN');
    if ($dsn === false) {
        throw new PDOException('DISCLOSURE_DSN is not set');
    }

    return new PDO($dsn, null, null, [
        PDO::ATTR_PERSISTENT => true,
        PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
        // bound parameters in one PQexecParams round trip, instead of
        // PREPARE, EXECUTE and DEALLOCATE of a named statement per request
        PDO::PGSQL_ATTR_DISABLE_PREPARES => true,
    ]);
}


/* the report document of the latest publication, or null */
function fetch_report(string $agency, string $year): ?array
{
    $st = db()->prepare('SELECT disclosure_web.report(:agency, :year)');
    $st->bindValue(':agency', $agency);
    $st->bindValue(':year', $year);
    $st->execute();
    $json = $st->fetchColumn();

    if (!is_string($json)) {
        return null;
    }

    return json_decode($json, true, 64, JSON_THROW_ON_ERROR);
}


/* a cell value: a number as JSON has it, null as blank, "/" as is */
function value(mixed $v): string
{
    if ($v === null) {
        return '';
    }

    return is_string($v) ? h($v) : (string) $v;
}


function date_of(string $iso): string
{
    return '<time datetime="' . h($iso) . '">' . h(substr($iso, 0, 10))
           . '</time>';
}


function paragraphs(string $text): void
{
    foreach (explode("\n", $text) as $line) {
        $line = trim($line, " \t\r\u{3000}");
        if ($line !== '') {
            echo '<p>', h($line), "</p>\n";
        }
    }
}


/*
 * A grid: leaves down the left (rows) and across the top (cols), each with
 * the labels above or left of it, outer first.  Equal neighbouring groups
 * merge into one spanning header cell; every data cell names its headers.
 */

function leaves_merge(array &$leaves, string $id, string $axis): int
{
    $depth = 0;
    $start = [];

    foreach ($leaves as $i => &$lf) {
        $n = count($lf['labels']);
        $depth = max($depth, $n);
        $prev = $i > 0 ? $leaves[$i - 1] : null;

        for ($l = 0; $l < $n; $l++) {
            if ($prev !== null && $l + 1 < $n && $l + 1 < count($prev['labels'])
                && array_slice($prev['labels'], 0, $l + 1)
                   === array_slice($lf['labels'], 0, $l + 1))
            {
                $leaves[$start[$l]]['span'][$l]++;
                $lf['span'][$l] = 0;
                $lf['id'][$l] = $leaves[$start[$l]]['id'][$l];
                continue;
            }

            $start[$l] = $i;
            $lf['span'][$l] = 1;
            $lf['id'][$l] = $l + 1 === $n
                            ? "$id-$axis-{$lf['key']}"
                            : "$id-{$axis}g$l-{$lf['key']}";
        }
    }
    unset($lf);

    return $depth;
}


function span(string $name, int $n): string
{
    return $n > 1 ? " $name=\"$n\"" : '';
}


function grid(array $g, array $t, array $values): void
{
    $rows = $g['rows'];
    $cols = $g['cols'];
    $rdepth = leaves_merge($rows, $g['id'], 'r');
    $cdepth = leaves_merge($cols, $g['id'], 'c');

    echo '<table class="d-table d-t-', $g['table'], '">', "\n<caption",
         $g['caption_hidden'] ? ' class="d-sr"' : '', '>', h($g['caption']),
         "</caption>\n<thead>\n";

    for ($l = 0; $l < $cdepth; $l++) {
        echo '<tr>';

        if ($l === 0 && $rdepth > 0) {
            $tag = $g['note'] ? 'td' : 'th';
            echo $g['note'] ? '<td class="d-note"'
                            : "<th scope=\"col\" id=\"{$g['id']}-corner\"",
                 span('colspan', $rdepth), span('rowspan', $cdepth), '>',
                 h($g['corner']), "</$tag>";
        }

        foreach ($cols as $c) {
            $n = count($c['labels']);
            if ($l >= $n || $c['span'][$l] === 0) {
                continue;
            }

            echo '<th scope="col" id="', $c['id'][$l], '"',
                 $l + 1 === $n ? span('rowspan', $cdepth - $l)
                               : span('colspan', $c['span'][$l]),
                 '>', h($c['labels'][$l]), '</th>';
        }

        echo "</tr>\n";
    }

    echo "</thead>\n<tbody>\n";

    foreach ($rows as $r) {
        echo '<tr>';
        $n = count($r['labels']);

        for ($l = 0; $l < $n; $l++) {
            if ($r['span'][$l] === 0) {
                continue;
            }

            echo '<th scope="row" id="', $r['id'][$l], '"',
                 $l + 1 === $n ? span('colspan', $rdepth - $l)
                               : span('rowspan', $r['span'][$l]),
                 '>', h($r['labels'][$l]), '</th>';
        }

        foreach ($cols as $c) {
            $row = $g['by_col'] ? $c['row'] : $r['row'];
            $cell = $t['cells_at'][$row][$c['col']] ?? null;

            if ($cell === null) {
                echo '<td></td>';
                continue;
            }

            $headers = $g['by_col'] ? $c['id']
                                    : array_merge($r['id'], $c['id']);
            $v = $values[$t['rows'][$row]['key']][$t['cols'][$c['col']]['key']]
                 ?? null;

            echo '<td class="d-num', $cell ? ' d-total' : '', '" headers="',
                 implode(' ', $headers), '">', value($v), '</td>';
        }

        echo "</tr>\n";
    }

    echo "</tbody>\n</table>\n";
}


function leaf(array $axis, int $i, string $index): array
{
    return ['key' => $axis['key'], $index => $i,
            'labels' => [...$axis['groups'], $axis['label']]];
}


/* 二: one captioned table per block of rows (第二十条第（一）项 ...) */
function proactive(array $t, array $values): void
{
    $blocks = [];

    foreach ($t['rows'] as $i => $row) {
        $blocks[$row['groups'][0] ?? ''][] = $i;
    }

    $n = 0;

    foreach ($blocks as $caption => $rows) {
        $cols = [];

        foreach ($t['cells'] as [$r, $c]) {
            if (in_array($r, $rows, true) && !isset($cols[$c])) {
                $cols[$c] = ['key' => $t['cols'][$c]['key'], 'col' => $c,
                             'labels' => [$t['cols'][$c]['label']]];
            }
        }

        $first = reset($cols);

        grid([
            'id' => 'd-proactive-' . ++$n,
            'table' => 'proactive',
            'caption' => $caption !== '' ? $caption : 'proactive',
            'caption_hidden' => false,
            'corner' => $first ? ($t['cols'][$first['col']]['groups'][0] ?? '')
                               : '',
            'note' => false,
            'by_col' => false,
            'rows' => array_map(fn ($i) => [
                                    'key' => $t['rows'][$i]['key'],
                                    'row' => $i,
                                    'labels' => [$t['rows'][$i]['label']],
                                ], $rows),
            'cols' => array_values($cols),
        ], $t, $values);
    }
}


/* 三: the note in the corner, applicants across, results nested down */
function applications(array $t, array $values, string $heading): void
{
    $rows = [];
    foreach ($t['rows'] as $i => $row) {
        $rows[] = leaf($row, $i, 'row');
    }

    $cols = [];
    foreach ($t['cols'] as $i => $col) {
        $cols[] = leaf($col, $i, 'col');
    }

    grid([
        'id' => 'd-applications',
        'table' => 'applications',
        'caption' => $heading,
        'caption_hidden' => true,
        'corner' => '（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）',
        'note' => true,
        'by_col' => false,
        'rows' => $rows,
        'cols' => $cols,
    ], $t, $values);
}


/* 四: one row of data under 行政复议 | 行政诉讼 › 未经复议直接起诉 | 复议后起诉 */
function appeals(array $t, array $values, string $heading): void
{
    $cols = [];

    foreach ($t['cells'] as [$r, $c]) {
        $row = $t['rows'][$r];
        $labels = $row['groups'];

        if ($labels === [] || $labels[0] !== $row['label']) {
            $labels[] = $row['label'];
        }

        $labels[] = $t['cols'][$c]['label'];
        $cols[] = ['key' => $row['key'] . '-' . $t['cols'][$c]['key'],
                   'row' => $r, 'col' => $c, 'labels' => $labels];
    }

    grid([
        'id' => 'd-appeals',
        'table' => 'appeals',
        'caption' => $heading,
        'caption_hidden' => true,
        'corner' => '',
        'note' => false,
        'by_col' => true,
        'rows' => [['key' => 'all', 'row' => 0, 'labels' => []]],
        'cols' => $cols,
    ], $t, $values);
}


function render(array $doc, array $format): void
{
    $agency = $doc['agency'];
    $title = h($agency['name']) . ' ' . (int) $doc['year']
             . '年政府信息公开工作年度报告';
    $base = '/php/';

    echo <<<HTML
<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<link rel="stylesheet" href="/assets/disclosure.css">
</head>
<body>
<main>
<article class="disclosure">
<nav class="d-nav" aria-label="年度报告导航"><a href="$base">全部机关</a>
HTML;
    echo ' › <a href="', h($base . $agency['slug']), '/">', h($agency['name']),
         "</a></nav>\n<h1>", $title, "</h1>\n", '<p class="d-meta">';

    if (isset($doc['index_no'])) {
        echo '<span>索引号：', h($doc['index_no']), '</span>　';
    }

    if (isset($doc['published_at'])) {
        echo '<span>发布日期：', date_of($doc['published_at']), '</span>　';
    }

    echo '<span>版本：第', (int) $doc['revision'], '版</span>';

    if (isset($doc['source_url'])) {
        $url = $doc['source_url'];
        echo '　<span>原文：',
             preg_match('~^https?://~i', $url)
             ? '<a href="' . h($url) . '">' . h($url) . '</a>' : h($url),
             '</span>';
    }

    echo "</p>\n";

    foreach ($doc['sections'] as $s) {
        $key = h($s['key']);
        echo "<section class=\"d-section d-s-$key\" id=\"d-s-$key\">\n<h2>",
             h($s['heading']), "</h2>\n";

        $t = $format[$s['key']] ?? null;

        if ($t !== null) {
            $values = $doc['tables'][$s['key']] ?? [];
            echo '<div class="d-scroll" role="region" tabindex="0" aria-label="',
                 h($s['heading']), "\">\n";

            match ($s['key']) {
                'proactive' => proactive($t, $values),
                'applications' => applications($t, $values, $s['heading']),
                default => appeals($t, $values, $s['heading']),
            };

            echo "</div>\n";

        } else {
            foreach ($s['parts'] ?? [] as $part) {
                paragraphs($part['text']);
            }
        }

        echo "</section>\n";
    }

    if ($doc['revisions']) {
        echo "<section class=\"d-section d-history\">\n<h2>修订记录</h2>\n",
             "<ol class=\"d-revisions\">\n";

        foreach ($doc['revisions'] as $i => $rev) {
            echo '<li>第', (int) $rev['revision'], '版';

            if (isset($rev['published_at'])) {
                echo '，', date_of($rev['published_at']), '发布';
            }

            if (isset($rev['reason'])) {
                echo '。更正原因：', h($rev['reason']);
            } elseif ($i === 0) {
                echo '（首次发布）';
            }

            echo "</li>\n";
        }

        echo "</ol>\n</section>\n";
    }

    $href = $base . $agency['slug'] . '/' . (int) $doc['year'];
    echo '<p class="d-downloads">数据下载：<a href="', h($href), '.csv">CSV</a>　',
         '<a href="', h($href), '.json">JSON</a></p>', "\n",
         "</article>\n</main>\n</body>\n</html>\n";
}


/* the request */

$agency = $_GET['agency'] ?? '';
$year = $_GET['year'] ?? '';

if (!is_string($agency) || !is_string($year) || strlen($agency) > 64
    || !preg_match('/^[a-z0-9]+(-[a-z0-9]+)*$/D', $agency)
    || !preg_match('/^[0-9]{4}$/D', $year))
{
    fail(400, '地址不正确：机关名称或年度有误。');
}

try {
    $doc = fetch_report($agency, $year);

} catch (PDOException $e) {
    error_log("report: $agency/$year: database: " . $e->getMessage());
    header('Retry-After: ' . RETRY_AFTER);
    fail(503, '暂时无法读取报告，请稍后再试。');
}

if ($doc === null) {
    fail(404, '没有这份报告。');
}

$formats = require __DIR__ . '/format.php';
$format = $formats[$doc['format']] ?? null;

if ($format === null) {
    error_log("report: $agency/$year: unknown format {$doc['format']}");
    fail(500, '报告格式无法识别。');
}

$etag = '"r' . (int) $doc['revision'] . '-html"';

header('Content-Type: text/html; charset=utf-8');
header('X-Content-Type-Options: nosniff');
header("ETag: $etag");

if (isset($doc['published_at'])) {
    header('Last-Modified: '
           . gmdate('D, d M Y H:i:s', strtotime($doc['published_at'])) . ' GMT');
}

if (($_SERVER['HTTP_IF_NONE_MATCH'] ?? '') === $etag) {
    http_response_code(304);
    exit;
}

ob_start();
render($doc, $format);
header('Content-Length: ' . ob_get_length());
ob_end_flush();
