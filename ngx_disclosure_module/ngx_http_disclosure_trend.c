
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * The trend page (disclosure-trend/1): the key figures of every published
 * year of an agency, with the change from the year before, and an inline
 * SVG chart of the main series.  The chart needs no script and no asset,
 * and reads in greyscale and print: each series has its own marker and
 * dash pattern and is labelled at its end, every point carries its value;
 * role="img" with <title> and <desc>, and the table beside it has every
 * number, so a screen reader misses nothing.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_disclosure_route.h"
#include "ngx_http_disclosure_doc.h"
#include "ngx_http_disclosure_html.h"
#include "ngx_http_disclosure_csv.h"
#include "ngx_http_disclosure_page.h"
#include "ngx_http_disclosure_trend.h"


#define NGX_HTTP_DISCLOSURE_CHART_W      640
#define NGX_HTTP_DISCLOSURE_CHART_H      300
#define NGX_HTTP_DISCLOSURE_CHART_LEFT   48
#define NGX_HTTP_DISCLOSURE_CHART_RIGHT  150    /* room for the labels */
#define NGX_HTTP_DISCLOSURE_CHART_TOP    20
#define NGX_HTTP_DISCLOSURE_CHART_BOTTOM 40
#define NGX_HTTP_DISCLOSURE_SERIES       3


static ngx_int_t ngx_http_disclosure_trend_table(ngx_http_disclosure_page_t *pg,
    yajl_val years, yajl_val figures);
static void ngx_http_disclosure_trend_chart(ngx_http_disclosure_page_t *pg,
    yajl_val years, yajl_val figures, const char *name);
static void ngx_http_disclosure_trend_marker(ngx_http_disclosure_page_t *pg,
    ngx_uint_t series, ngx_int_t x, ngx_int_t y);
static ngx_int_t ngx_http_disclosure_trend_csv(ngx_http_request_t *r,
    yajl_val figures, ngx_chain_t **out);
static yajl_val ngx_http_disclosure_trend_value(yajl_val values,
    ngx_int_t year);


/* greyscale-safe: dark shades that differ in lightness, and dashes */
static const char  *ngx_http_disclosure_series_stroke[] = {
    "#1f1f1f", "#0b57d0", "#8a4500"
};

static const char  *ngx_http_disclosure_series_dash[] = {
    "", " stroke-dasharray=\"8 4\"", " stroke-dasharray=\"2 3\""
};


ngx_int_t
ngx_http_disclosure_trend(ngx_http_request_t *r, yajl_val doc,
    ngx_str_t *prefix, ngx_http_disclosure_loc_conf_t *dlcf,
    ngx_uint_t variant, ngx_chain_t **out)
{
    yajl_val                     agency, years, figures;
    const char                  *name, *slug;
    ngx_http_disclosure_page_t   pg;

    if (ngx_http_disclosure_check_document(r->connection->log, doc,
                                           "disclosure-trend/1")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    agency = ngx_http_disclosure_doc_get(doc, "agency");
    name = ngx_http_disclosure_doc_get_string(agency, "name");
    slug = ngx_http_disclosure_doc_get_string(agency, "slug");
    years = ngx_http_disclosure_doc_get(doc, "years");
    figures = ngx_http_disclosure_doc_get(doc, "figures");

    if (name == NULL || slug == NULL || !YAJL_IS_ARRAY(years)
        || !YAJL_IS_ARRAY(figures))
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "disclosure: trend document lacks agency, years "
                      "or figures");
        return NGX_ERROR;
    }

    if (variant == NGX_HTTP_DISCLOSURE_CSV) {
        return ngx_http_disclosure_trend_csv(r, figures, out);
    }

    ngx_http_disclosure_page_init(&pg, r, prefix, dlcf,
                                  variant == NGX_HTTP_DISCLOSURE_FRAGMENT);

    ngx_http_disclosure_page_begin(&pg, name, " 历年政府信息公开工作年度报告");
    ngx_http_disclosure_page_nav(&pg, doc);

    ngx_http_disclosure_out_printf(&pg.out, "%s", pg.fragment ? "<h2>" : "<h1>");
    ngx_http_disclosure_out_html_cstr(&pg.out, name);
    ngx_http_disclosure_out_printf(&pg.out, "历年主要数据%s\n",
                                   pg.fragment ? "</h2>" : "</h1>");

    if (years->u.array.len == 0) {
        ngx_http_disclosure_out_literal(&pg.out,
                                        "<p>暂无已发布的年度报告。</p>\n");
        return ngx_http_disclosure_page_end(&pg, out);
    }

    ngx_http_disclosure_out_literal(&pg.out,
        "<p>数字取自各年度已发布的报告；“较上年”为与前一年度之差。"
        "2019 年版格式的年度按 <code>format/trend-figures.tsv</code> "
        "对应到 2021 年版的项目，口径不同的标为“不可比”，"
        "不与其他年度相减。</p>\n");

    ngx_http_disclosure_trend_chart(&pg, years, figures, name);

    if (ngx_http_disclosure_trend_table(&pg, years, figures) != NGX_OK) {
        return NGX_ERROR;
    }

    if (!pg.fragment && pg.links) {
        ngx_http_disclosure_out_literal(&pg.out,
                                        "<p class=\"d-downloads\">下载：");
        ngx_http_disclosure_page_link(&pg, slug, "/trend.csv");
        ngx_http_disclosure_out_literal(&pg.out, "CSV</a> ");
        ngx_http_disclosure_page_link(&pg, slug, "/trend.json");
        ngx_http_disclosure_out_literal(&pg.out, "JSON</a></p>\n");
    }

    return ngx_http_disclosure_page_end(&pg, out);
}


static ngx_int_t
ngx_http_disclosure_trend_table(ngx_http_disclosure_page_t *pg,
    yajl_val years, yajl_val figures)
{
    size_t       i, j;
    yajl_val     f, values, v, value, change, note;
    ngx_int_t    year;
    const char  *label, *unit;

    ngx_http_disclosure_out_literal(&pg->out,
        "<div class=\"d-scroll\" role=\"region\" tabindex=\"0\" "
        "aria-label=\"历年主要数据表\">\n"
        "<table class=\"d-table d-trend\">\n"
        "<caption>历年主要数据（括号内为单位；每格下方为较上年变化）</caption>\n"
        "<thead><tr><th scope=\"col\">项目</th>");

    for (j = 0; j < years->u.array.len; j++) {
        if (ngx_http_disclosure_doc_get_int(years->u.array.values[j], "year",
                                        &year)
            != NGX_OK)
        {
            return ngx_http_disclosure_page_missing(pg, "years[].year");
        }

        ngx_http_disclosure_out_printf(&pg->out,
                                       "<th scope=\"col\">%i年</th>", year);
    }

    ngx_http_disclosure_out_literal(&pg->out, "</tr></thead>\n<tbody>\n");

    for (i = 0; i < figures->u.array.len; i++) {
        f = figures->u.array.values[i];
        label = ngx_http_disclosure_doc_get_string(f, "label");
        unit = ngx_http_disclosure_doc_get_string(f, "unit");
        values = ngx_http_disclosure_doc_get(f, "values");

        if (label == NULL || unit == NULL || !YAJL_IS_ARRAY(values)) {
            return ngx_http_disclosure_page_missing(pg, "figures[].values");
        }

        ngx_http_disclosure_out_literal(&pg->out, "<tr><th scope=\"row\">");
        ngx_http_disclosure_out_html_cstr(&pg->out, label);
        ngx_http_disclosure_out_literal(&pg->out, "（");
        ngx_http_disclosure_out_html_cstr(&pg->out, unit);
        ngx_http_disclosure_out_literal(&pg->out, "）");

        /* why a year is not comparable, once, under the figure's name */
        for (j = 0; j < values->u.array.len; j++) {
            v = values->u.array.values[j];
            note = ngx_http_disclosure_doc_get(v, "note");

            if (YAJL_IS_FALSE(ngx_http_disclosure_doc_get(v, "comparable"))
                && YAJL_IS_STRING(note))
            {
                ngx_http_disclosure_out_literal(&pg->out,
                                                "<span class=\"d-change\">");
                ngx_http_disclosure_out_html_cstr(&pg->out, note->u.string);
                ngx_http_disclosure_out_literal(&pg->out, "</span>");
                break;
            }
        }

        ngx_http_disclosure_out_literal(&pg->out, "</th>");

        for (j = 0; j < years->u.array.len; j++) {
            (void) ngx_http_disclosure_doc_get_int(years->u.array.values[j],
                                               "year", &year);

            v = ngx_http_disclosure_trend_value(values, year);
            value = ngx_http_disclosure_doc_get(v, "value");
            change = ngx_http_disclosure_doc_get(v, "change");
            note = ngx_http_disclosure_doc_get(v, "note");

            if (YAJL_IS_FALSE(ngx_http_disclosure_doc_get(v, "comparable"))) {
                ngx_http_disclosure_out_literal(&pg->out,
                                           "<td class=\"d-num d-nc\">");
                if (YAJL_IS_NUMBER(value)) {
                    ngx_http_disclosure_page_value(pg, value);

                } else {
                    ngx_http_disclosure_out_literal(&pg->out, "无此项");
                }

                ngx_http_disclosure_out_literal(&pg->out,
                           "<span class=\"d-change\">不可比</span></td>");
                continue;
            }

            ngx_http_disclosure_out_literal(&pg->out, "<td class=\"d-num\">");

            if (YAJL_IS_NUMBER(value)) {
                ngx_http_disclosure_page_value(pg, value);

            } else {
                ngx_http_disclosure_out_literal(&pg->out, "—");
            }

            if (YAJL_IS_NUMBER(change)) {
                ngx_http_disclosure_out_literal(&pg->out,
                                        "<span class=\"d-change\">较上年 ");
                ngx_http_disclosure_page_change(pg, change);
                ngx_http_disclosure_out_literal(&pg->out, "</span>");
            }

            ngx_http_disclosure_out_literal(&pg->out, "</td>");
        }

        ngx_http_disclosure_out_literal(&pg->out, "</tr>\n");
    }

    ngx_http_disclosure_out_literal(&pg->out, "</tbody>\n</table>\n</div>\n");

    return NGX_OK;
}


/*
 * A line chart of the figures marked "chart": years across, counts up
 * from 0; a year without a number breaks the line.
 */

static void
ngx_http_disclosure_trend_chart(ngx_http_disclosure_page_t *pg,
    yajl_val years, yajl_val figures, const char *name)
{
    size_t       i, j, n;
    double       max, d;
    yajl_val     f, v, series[NGX_HTTP_DISCLOSURE_SERIES];
    ngx_int_t    year, first, last, x, y, px, py, step, tick, have;
    ngx_int_t    ends[NGX_HTTP_DISCLOSURE_SERIES];
    ngx_uint_t   s, ns;
    const char  *label;

    ns = 0;
    ngx_memzero(ends, sizeof(ends));

    for (i = 0; i < figures->u.array.len && ns < NGX_HTTP_DISCLOSURE_SERIES;
         i++)
    {
        f = figures->u.array.values[i];

        if (YAJL_IS_TRUE(ngx_http_disclosure_doc_get(f, "chart"))
            && ngx_http_disclosure_doc_get_string(f, "label")
            && YAJL_IS_ARRAY(ngx_http_disclosure_doc_get(f, "values")))
        {
            series[ns++] = f;
        }
    }

    n = years->u.array.len;

    if (ns == 0 || n == 0
        || ngx_http_disclosure_doc_get_int(years->u.array.values[0], "year",
                                       &first) != NGX_OK
        || ngx_http_disclosure_doc_get_int(years->u.array.values[n - 1], "year",
                                       &last) != NGX_OK)
    {
        return;
    }

    max = 0;

    for (s = 0; s < ns; s++) {
        v = ngx_http_disclosure_doc_get(series[s], "values");

        for (j = 0; j < v->u.array.len; j++) {
            f = ngx_http_disclosure_doc_get(v->u.array.values[j], "value");

            if (YAJL_IS_DOUBLE(f) && f->u.number.d > max) {
                max = f->u.number.d;

            } else if (YAJL_IS_INTEGER(f) && (double) f->u.number.i > max) {
                max = (double) f->u.number.i;
            }
        }
    }

    /* a round top: 5 ticks of 1, 2, 5 or 10 × 10^k */
    for (d = 1; d * 50 < max; d *= 10) { /* void */ }

    tick = (max <= 5 * d) ? (ngx_int_t) d
           : (max <= 10 * d) ? (ngx_int_t) (2 * d)
           : (max <= 25 * d) ? (ngx_int_t) (5 * d) : (ngx_int_t) (10 * d);
    max = (double) (5 * tick);

    step = (first == last) ? 0
           : (NGX_HTTP_DISCLOSURE_CHART_W - NGX_HTTP_DISCLOSURE_CHART_LEFT
              - NGX_HTTP_DISCLOSURE_CHART_RIGHT) / (last - first);

    ngx_http_disclosure_out_printf(&pg->out,
        "<svg class=\"d-chart\" role=\"img\" viewBox=\"0 0 %d %d\" ",
        NGX_HTTP_DISCLOSURE_CHART_W, NGX_HTTP_DISCLOSURE_CHART_H);
    ngx_http_disclosure_out_literal(&pg->out,
        "aria-labelledby=\"d-chart-title d-chart-desc\" "
        "xmlns=\"http://www.w3.org/2000/svg\">\n<title id=\"d-chart-title\">");
    ngx_http_disclosure_out_html_cstr(&pg->out, name);
    ngx_http_disclosure_out_printf(&pg->out,
        "%i—%i年主要数据折线图</title>\n<desc id=\"d-chart-desc\">",
        first, last);

    /* the description says every number of the chart */
    for (s = 0; s < ns; s++) {
        label = ngx_http_disclosure_doc_get_string(series[s], "label");
        v = ngx_http_disclosure_doc_get(series[s], "values");

        ngx_http_disclosure_out_html_cstr(&pg->out, label);
        ngx_http_disclosure_out_literal(&pg->out, "：");

        for (j = 0; j < v->u.array.len; j++) {
            f = v->u.array.values[j];

            if (ngx_http_disclosure_doc_get_int(f, "year", &year) == NGX_OK) {
                ngx_http_disclosure_out_printf(&pg->out, "%s%i年 ",
                                               j ? "，" : "", year);
                f = ngx_http_disclosure_doc_get(f, "value");

                if (YAJL_IS_NUMBER(f)) {
                    ngx_http_disclosure_page_value(pg, f);

                } else {
                    ngx_http_disclosure_out_literal(&pg->out, "无数字");
                }
            }
        }

        ngx_http_disclosure_out_literal(&pg->out, "。");
    }

    ngx_http_disclosure_out_literal(&pg->out, "</desc>\n"
        "<g font-size=\"12\" font-family=\"sans-serif\" fill=\"#1f1f1f\">\n");

    /* the axes and the grid */
    for (i = 0; i <= 5; i++) {
        y = NGX_HTTP_DISCLOSURE_CHART_H - NGX_HTTP_DISCLOSURE_CHART_BOTTOM
            - (ngx_int_t) i * (NGX_HTTP_DISCLOSURE_CHART_H
                               - NGX_HTTP_DISCLOSURE_CHART_TOP
                               - NGX_HTTP_DISCLOSURE_CHART_BOTTOM) / 5;

        ngx_http_disclosure_out_printf(&pg->out,
            "<line x1=\"%d\" y1=\"%i\" x2=\"%d\" y2=\"%i\" stroke=\"#bfbfbf\" "
            "stroke-width=\"1\"/><text x=\"%d\" y=\"%i\" "
            "text-anchor=\"end\">%i</text>\n",
            NGX_HTTP_DISCLOSURE_CHART_LEFT, y,
            NGX_HTTP_DISCLOSURE_CHART_W - NGX_HTTP_DISCLOSURE_CHART_RIGHT, y,
            NGX_HTTP_DISCLOSURE_CHART_LEFT - 6, y + 4,
            (ngx_int_t) i * tick);
    }

    for (year = first; year <= last; year++) {
        x = NGX_HTTP_DISCLOSURE_CHART_LEFT + 10 + (year - first) * step;

        ngx_http_disclosure_out_printf(&pg->out,
            "<text x=\"%i\" y=\"%d\" text-anchor=\"middle\">%i</text>\n",
            x, NGX_HTTP_DISCLOSURE_CHART_H - NGX_HTTP_DISCLOSURE_CHART_BOTTOM
               + 20, year);
    }

    /* the series: a line in pieces, a marker and the value at each point,
     * the label after the last point */
    for (s = 0; s < ns; s++) {
        label = ngx_http_disclosure_doc_get_string(series[s], "label");
        v = ngx_http_disclosure_doc_get(series[s], "values");
        have = 0;
        px = 0;
        py = 0;

        ngx_http_disclosure_out_printf(&pg->out,
            "<g stroke=\"%s\" fill=\"%s\">\n",
            ngx_http_disclosure_series_stroke[s],
            ngx_http_disclosure_series_stroke[s]);

        for (year = first; year <= last; year++) {
            f = ngx_http_disclosure_doc_get(
                    ngx_http_disclosure_trend_value(v, year), "value");

            if (!YAJL_IS_NUMBER(f)) {
                have = 0;
                continue;
            }

            d = YAJL_IS_INTEGER(f) ? (double) f->u.number.i : f->u.number.d;

            x = NGX_HTTP_DISCLOSURE_CHART_LEFT + 10 + (year - first) * step;
            y = NGX_HTTP_DISCLOSURE_CHART_H - NGX_HTTP_DISCLOSURE_CHART_BOTTOM
                - (ngx_int_t) (d / max * (NGX_HTTP_DISCLOSURE_CHART_H
                                          - NGX_HTTP_DISCLOSURE_CHART_TOP
                                          - NGX_HTTP_DISCLOSURE_CHART_BOTTOM));

            if (have) {
                ngx_http_disclosure_out_printf(&pg->out,
                    "<line x1=\"%i\" y1=\"%i\" x2=\"%i\" y2=\"%i\" "
                    "stroke-width=\"2\"%s/>\n", px, py, x, y,
                    ngx_http_disclosure_series_dash[s]);
            }

            ngx_http_disclosure_trend_marker(pg, s, x, y);

            ngx_http_disclosure_out_printf(&pg->out,
                "<text x=\"%i\" y=\"%i\" stroke=\"none\" "
                "text-anchor=\"middle\">", x, (s == 1) ? y + 18 : y - 8);
            ngx_http_disclosure_page_value(pg, f);
            ngx_http_disclosure_out_literal(&pg->out, "</text>\n");

            have = 1;
            px = x;
            py = y;
        }

        if (px) {
            /* the label at the line's end, clear of the labels above it */
            y = py + 4;

            for (i = 0; i < s; i++) {
                if (ends[i] && y > ends[i] - 16 && y < ends[i] + 16) {
                    y = ends[i] + 16;
                }
            }

            ends[s] = y;

            ngx_http_disclosure_out_printf(&pg->out,
                "<text x=\"%i\" y=\"%i\" stroke=\"none\">", px + 12, y);
            ngx_http_disclosure_out_html_cstr(&pg->out, label);
            ngx_http_disclosure_out_literal(&pg->out, "</text>\n");
        }

        ngx_http_disclosure_out_literal(&pg->out, "</g>\n");
    }

    ngx_http_disclosure_out_literal(&pg->out, "</g>\n</svg>\n");
}


/* circle, square, triangle: told apart without colour */

static void
ngx_http_disclosure_trend_marker(ngx_http_disclosure_page_t *pg,
    ngx_uint_t series, ngx_int_t x, ngx_int_t y)
{
    switch (series) {

    case 0:
        ngx_http_disclosure_out_printf(&pg->out,
            "<circle cx=\"%i\" cy=\"%i\" r=\"4\"/>\n", x, y);
        break;

    case 1:
        ngx_http_disclosure_out_printf(&pg->out,
            "<rect x=\"%i\" y=\"%i\" width=\"8\" height=\"8\" "
            "fill=\"#ffffff\" stroke-width=\"2\"/>\n", x - 4, y - 4);
        break;

    default:
        ngx_http_disclosure_out_printf(&pg->out,
            "<path d=\"M%i %iL%i %iL%i %iZ\"/>\n",
            x, y - 5, x + 5, y + 4, x - 5, y + 4);
        break;
    }
}


/* "figure,label,unit,year,value,change,comparable" */

static ngx_int_t
ngx_http_disclosure_trend_csv(ngx_http_request_t *r, yajl_val figures,
    ngx_chain_t **out)
{
    size_t                      i, j;
    yajl_val                    f, values, v, x;
    const char                 *key, *label, *unit;
    ngx_http_disclosure_out_t   o;

    ngx_http_disclosure_out_init(&o, r);

    ngx_http_disclosure_out_literal(&o, "\xef\xbb\xbf"
                        "figure,label,unit,year,value,change,comparable\r\n");

    for (i = 0; i < figures->u.array.len; i++) {
        f = figures->u.array.values[i];
        key = ngx_http_disclosure_doc_get_string(f, "key");
        label = ngx_http_disclosure_doc_get_string(f, "label");
        unit = ngx_http_disclosure_doc_get_string(f, "unit");
        values = ngx_http_disclosure_doc_get(f, "values");

        if (key == NULL || label == NULL || unit == NULL
            || !YAJL_IS_ARRAY(values))
        {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "disclosure: trend document lacks figures[].key");
            return NGX_ERROR;
        }

        for (j = 0; j < values->u.array.len; j++) {
            v = values->u.array.values[j];

            ngx_http_disclosure_csv_text(&o, (u_char *) key);
            ngx_http_disclosure_out_literal(&o, ",");
            ngx_http_disclosure_csv_text(&o, (u_char *) label);
            ngx_http_disclosure_out_literal(&o, ",");
            ngx_http_disclosure_csv_text(&o, (u_char *) unit);
            ngx_http_disclosure_out_literal(&o, ",");
            ngx_http_disclosure_csv_value(&o,
                                       ngx_http_disclosure_doc_get(v, "year"));
            ngx_http_disclosure_out_literal(&o, ",");
            ngx_http_disclosure_csv_value(&o,
                                       ngx_http_disclosure_doc_get(v, "value"));
            ngx_http_disclosure_out_literal(&o, ",");
            ngx_http_disclosure_csv_value(&o,
                                       ngx_http_disclosure_doc_get(v, "change"));
            x = ngx_http_disclosure_doc_get(v, "comparable");
            ngx_http_disclosure_out_literal(&o, ",");

            if (YAJL_IS_FALSE(x)) {
                ngx_http_disclosure_out_literal(&o, "no\r\n");

            } else {
                ngx_http_disclosure_out_literal(&o, "yes\r\n");
            }
        }
    }

    return ngx_http_disclosure_out_finish(&o, r, out);
}


static yajl_val
ngx_http_disclosure_trend_value(yajl_val values, ngx_int_t year)
{
    size_t     i;
    ngx_int_t  y;

    for (i = 0; i < values->u.array.len; i++) {
        if (ngx_http_disclosure_doc_get_int(values->u.array.values[i], "year", &y)
            == NGX_OK && y == year)
        {
            return values->u.array.values[i];
        }
    }

    return NULL;
}
