
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * HTML: the report page in the official layout, one table as a fragment
 * for SSI, the index page and the agency page.
 *
 * Every text from a document goes through ngx_http_disclosure_out_html().
 * The stylesheet is small and every selector sits in :where(), so that it
 * has no specificity and any rule of a portal overrides it; without CSS the
 * page still reads in order.  Class names (see also doc/html.md):
 *
 *   disclosure        root: <article> of a page, <div> of a fragment
 *   d-fragment        root of a fragment, with disclosure
 *   d-nav             links to the index and the agency page
 *   d-meta            index number, publication date, revision, source
 *   d-status          notice on a draft or withdrawn report
 *   d-legacy          notice on an imported report with published totals,
 *                     and on one printed on another year's format (R12)
 *   d-section         a section; d-s-{key} names it (d-s-overview, ...)
 *   d-scroll          the horizontally scrollable box around a table
 *   d-table           a table; d-t-{key} names it (d-t-applications, ...)
 *   d-note            the 勾稽 note in the corner of table 三
 *   d-num             a data cell (numbers right-aligned)
 *   d-total           a data cell of kind total
 *   d-differs         a published total that differs from the derived one
 *   d-derived         the derived total printed inside such a cell
 *   d-legend          the explanation under a table with such cells
 *   d-np              a cell or a whole row the report did not print (未列出)
 *   d-history         the revision history section; d-revisions its list
 *   d-downloads       the CSV and JSON links
 *   d-agencies        the nested list of agencies (index page)
 *   d-years           the year links of an agency (index page)
 *   d-reports         the reports of an agency (agency page)
 *   d-children        the child agencies (agency page)
 *   d-sr              visually hidden, read by screen readers
 *
 * Ids are "d-" followed by keys of the format, e.g. d-applications-c-total.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_disclosure_doc.h"
#include "ngx_http_disclosure_html.h"
#include "ngx_http_disclosure_grid.h"
#include "ngx_http_disclosure_preview.h"


#define NGX_HTTP_DISCLOSURE_MAX_NEST   16


static void ngx_http_disclosure_html_init(ngx_http_disclosure_html_t *h,
    ngx_http_request_t *r, yajl_val doc, ngx_str_t *prefix);
static void ngx_http_disclosure_html_open(ngx_http_disclosure_html_t *h,
    ngx_http_disclosure_loc_conf_t *dlcf, ngx_str_t *title);
static void ngx_http_disclosure_html_close(ngx_http_disclosure_html_t *h,
    ngx_http_disclosure_loc_conf_t *dlcf);
static ngx_int_t ngx_http_disclosure_html_title(ngx_http_disclosure_html_t *h,
    ngx_str_t *title, const char *name, ngx_int_t year, const char *suffix);
static void ngx_http_disclosure_html_href(ngx_http_disclosure_html_t *h,
    const char *slug, const char *fmt, ...);
static void ngx_http_disclosure_html_time(ngx_http_disclosure_html_t *h,
    const char *ts);
static void ngx_http_disclosure_html_meta(ngx_http_disclosure_html_t *h);
static void ngx_http_disclosure_html_paragraphs(ngx_http_disclosure_html_t *h,
    const char *text);
static ngx_int_t ngx_http_disclosure_html_narrative(
    ngx_http_disclosure_html_t *h, ngx_http_disclosure_section_t *s);
static ngx_int_t ngx_http_disclosure_html_history(
    ngx_http_disclosure_html_t *h);
static void ngx_http_disclosure_html_legacy(ngx_http_disclosure_html_t *h,
    yajl_val doc);
static void ngx_http_disclosure_html_scope(ngx_http_disclosure_html_t *h);
static ngx_int_t ngx_http_disclosure_html_agency_item(
    ngx_http_disclosure_html_t *h, yajl_val agency);
static ngx_int_t ngx_http_disclosure_html_missing(
    ngx_http_disclosure_html_t *h, const char *what);


/* a whole <style> element: a page writes it, a fragment is sent after it
 * (_handler.c) */
static u_char  ngx_http_disclosure_css[] =
    "<style>\n"
    ":where(.disclosure){display:block;max-width:64em;margin:0 auto;"
    "padding:0 1em 2em;color:#1f1f1f;line-height:1.75;"
    "font-family:system-ui,-apple-system,\"PingFang SC\",\"Microsoft YaHei\","
    "\"Noto Sans CJK SC\",sans-serif}\n"
    ":where(.disclosure h1){font-size:1.6em;line-height:1.35;"
    "text-align:center;margin:.8em 0 .4em}\n"
    ":where(.disclosure h2){font-size:1.25em;line-height:1.4;"
    "margin:1.6em 0 .6em}\n"
    ":where(.disclosure p){margin:.5em 0}\n"
    ":where(.disclosure .d-section>p:not([class])){text-indent:2em}\n"
    ":where(.disclosure .d-meta){color:#4d4d4d;text-align:center;"
    "overflow-wrap:anywhere}\n"
    ":where(.disclosure .d-meta>span){display:inline-block;margin:0 .6em}\n"
    ":where(.disclosure .d-status,.disclosure .d-legacy){padding:.5em .8em;"
    "border-left:4px solid #b35900;background:#fff8ec}\n"
    ":where(.disclosure .d-scroll){overflow-x:auto;margin:0 0 1.2em}\n"
    ":where(.disclosure .d-scroll:focus-visible){outline:2px solid #0b57d0;"
    "outline-offset:2px}\n"
    ":where(.disclosure .d-table){border-collapse:collapse;width:100%;"
    "margin:0 0 1em;font-size:.9375em;line-height:1.5}\n"
    ":where(.disclosure .d-table caption){text-align:left;font-weight:600;"
    "padding:.3em 0}\n"
    ":where(.disclosure .d-table th,.disclosure .d-table td){"
    "border:1px solid #8c8c8c;padding:.35em .5em;vertical-align:middle}\n"
    ":where(.disclosure .d-table th){background:#f3f4f6;text-align:center;"
    "font-weight:600}\n"
    ":where(.disclosure .d-t-applications thead th,"
    ".disclosure .d-t-appeals thead th){white-space:nowrap}\n"
    ":where(.disclosure .d-table tbody th){text-align:left;"
    "font-weight:normal}\n"
    ":where(.disclosure .d-note){font-size:.875em;color:#404040}\n"
    ":where(.disclosure .d-num){text-align:right;white-space:nowrap;"
    "font-variant-numeric:tabular-nums}\n"
    ":where(.disclosure .d-total){font-weight:600}\n"
    ":where(.disclosure .d-differs){background:#fff1d6}\n"
    ":where(.disclosure .d-derived){display:block;font-size:.8em;"
    "font-weight:normal;white-space:normal;color:#7a3e00}\n"
    ":where(.disclosure .d-legend){font-size:.875em;color:#404040}\n"
    ":where(.disclosure .d-np){text-align:center;color:#595959}\n"
    ":where(.disclosure .d-t-applications){min-width:60em}\n"
    ":where(.disclosure .d-t-appeals th,.disclosure .d-t-appeals td){"
    "padding:.35em .3em}\n"
    "@media (max-width:40em){\n"
    ":where(.disclosure .d-table){font-size:.8125em}\n"
    /* a phone hides the scroll bar: say that the wide tables scroll, and
     * keep the row labels narrow enough that numbers show at once */
    ":where(.disclosure .d-scroll:has(.d-t-applications,.d-t-appeals))"
    "::before{content:\"\\2190  \\5DE6\\53F3\\6ED1\\52A8\\67E5\\770B  \\2192\" / \"\";"
    "display:block;position:sticky;left:0;font-size:.8em;color:#595959}\n"
    ":where(.disclosure .d-t-applications tbody th){max-width:7em}\n"
    "}\n"
    ":where(.disclosure .d-nav){font-size:.9em;margin:.8em 0}\n"
    ":where(.disclosure .d-reports span){display:inline-block}\n"
    ":where(.disclosure .d-years){display:inline;margin:0;padding:0}\n"
    ":where(.disclosure .d-years>li){display:inline;margin-left:.8em}\n"
    ":where(.disclosure .d-agencies,.disclosure .d-children){"
    "padding-left:1.4em}\n"
    ":where(.disclosure .d-sr){position:absolute;width:1px;height:1px;"
    "margin:-1px;padding:0;border:0;overflow:hidden;clip:rect(0 0 0 0);"
    "clip-path:inset(50%);white-space:nowrap}\n"
    "@media print{\n"
    ":where(.disclosure){max-width:none;padding:0;color:#000;"
    "font-size:10.5pt}\n"
    ":where(.disclosure .d-nav,.disclosure .d-downloads){display:none}\n"
    ":where(.disclosure .d-scroll){overflow:visible}\n"
    ":where(.disclosure .d-table){min-width:0;font-size:9pt}\n"
    ":where(.disclosure .d-table tr){break-inside:avoid}\n"
    ":where(.disclosure .d-table th,.disclosure .d-table td){"
    "border-color:#000}\n"
    ":where(.disclosure .d-table th){background:none}\n"
    ":where(.disclosure .d-differs){background:none;"
    "outline:1px dashed #000}\n"
    ":where(.disclosure h2){break-after:avoid}\n"
    "}\n"
    "</style>\n";


ngx_int_t
ngx_http_disclosure_html_report(ngx_http_request_t *r, yajl_val doc,
    ngx_str_t *prefix, ngx_http_disclosure_loc_conf_t *dlcf,
    ngx_chain_t **out)
{
    ngx_int_t                      year;
    ngx_str_t                      title;
    ngx_uint_t                     i;
    yajl_val                       agency;
    const char                    *name, *slug, *status;
    ngx_http_disclosure_html_t     h;
    ngx_http_disclosure_format_t  *fmt;
    ngx_http_disclosure_section_t *s;

    ngx_http_disclosure_html_init(&h, r, doc, prefix);

    fmt = ngx_http_disclosure_report_format(h.log, doc);
    if (fmt == NULL) {
        return NGX_ERROR;
    }

    agency = ngx_http_disclosure_doc_get(doc, "agency");
    name = ngx_http_disclosure_doc_get_string(agency, "name");
    slug = ngx_http_disclosure_doc_get_string(agency, "slug");

    if (name == NULL || slug == NULL) {
        return ngx_http_disclosure_html_missing(&h, "agency.name, agency.slug");
    }

    if (ngx_http_disclosure_doc_get_int(doc, "year", &year) != NGX_OK) {
        return ngx_http_disclosure_html_missing(&h, "year");
    }

    h.tables = ngx_http_disclosure_doc_get(doc, "tables");
    if (!YAJL_IS_OBJECT(h.tables)) {
        return ngx_http_disclosure_html_missing(&h, "tables");
    }

    ngx_http_disclosure_html_legacy(&h, doc);

    if (ngx_http_disclosure_html_title(&h, &title, name, year,
                                       "年政府信息公开工作年度报告")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    h.page = 1;

    ngx_http_disclosure_html_open(&h, dlcf, &title);

    if (h.links) {
        ngx_http_disclosure_out_literal(&h.out,
            "<nav class=\"d-nav\" aria-label=\"年度报告导航\"><a href=\"");
        ngx_http_disclosure_out_html_str(&h.out, &h.prefix);
        ngx_http_disclosure_out_literal(&h.out, "\">全部机关</a> › ");
        ngx_http_disclosure_html_href(&h, slug, "/");
        ngx_http_disclosure_out_html_cstr(&h.out, name);
        ngx_http_disclosure_out_literal(&h.out, "</a></nav>\n");
    }

    ngx_http_disclosure_out_literal(&h.out, "<h1>");
    ngx_http_disclosure_out_str(&h.out, &title);
    ngx_http_disclosure_out_literal(&h.out, "</h1>\n");

    ngx_http_disclosure_html_meta(&h);

    status = ngx_http_disclosure_doc_get_string(doc, "status");

    if (status && ngx_strcmp(status, "draft") == 0) {
        ngx_http_disclosure_out_literal(&h.out,
            "<p class=\"d-status\">本报告为草稿，尚未发布。</p>\n");

    } else if (status && ngx_strcmp(status, "withdrawn") == 0) {
        ngx_http_disclosure_out_literal(&h.out,
            "<p class=\"d-status\">本报告已撤回。</p>\n");
    }

    if (YAJL_IS_TRUE(ngx_http_disclosure_doc_get(doc, "legacy"))) {
        ngx_http_disclosure_out_literal(&h.out,
            "<p class=\"d-legacy\">本报告由原发布文本导入，表中总计为原报告"
            "公布数；与分项合计不一致的，另注分项合计。</p>\n");
    }

    /* R12: a legacy report is published on the layout it was printed on */

    if ((fmt->version == 2019 && year >= 2021)
        || (fmt->version == 2021 && year < 2021))
    {
        ngx_http_disclosure_out_printf(&h.out,
            "<p class=\"d-legacy\">原报告使用 %ui 版格式；%i 年度的报告应使用 "
            "%ui 版格式。表格按原报告列出。</p>\n", fmt->version, year,
            (ngx_uint_t) (year >= 2021 ? 2021 : 2019));
    }

    for (i = 0; i < fmt->nsections; i++) {
        s = &fmt->sections[i];

        ngx_http_disclosure_out_printf(&h.out,
                          "<section class=\"d-section d-s-%V\" id=\"d-s-%V\">\n"
                          "<h2>", &s->key, &s->key);
        ngx_http_disclosure_out_html_str(&h.out, &s->heading);
        ngx_http_disclosure_out_literal(&h.out, "</h2>\n");

        if (s->table) {
            if (ngx_http_disclosure_grid_table(&h, s) != NGX_OK) {
                return NGX_ERROR;
            }

        } else if (ngx_http_disclosure_html_narrative(&h, s) != NGX_OK) {
            return NGX_ERROR;
        }

        ngx_http_disclosure_out_literal(&h.out, "</section>\n");
    }

    if (ngx_http_disclosure_html_history(&h) != NGX_OK) {
        return NGX_ERROR;
    }

    if (h.links) {
        ngx_http_disclosure_out_literal(&h.out,
                                        "<p class=\"d-downloads\">数据下载：");
        ngx_http_disclosure_html_href(&h, slug, "/%i.csv", year);
        ngx_http_disclosure_out_literal(&h.out, "CSV</a>　");
        ngx_http_disclosure_html_href(&h, slug, "/%i.json", year);
        ngx_http_disclosure_out_literal(&h.out, "JSON</a></p>\n");
    }

    ngx_http_disclosure_html_close(&h, dlcf);

    return ngx_http_disclosure_out_finish(&h.out, r, out);
}


ngx_int_t
ngx_http_disclosure_html_fragment(ngx_http_request_t *r, yajl_val doc,
    ngx_str_t *table, ngx_chain_t **out)
{
    ngx_uint_t                      i;
    ngx_http_disclosure_html_t      h;
    ngx_http_disclosure_format_t   *fmt;
    ngx_http_disclosure_section_t  *s;

    ngx_http_disclosure_html_init(&h, r, doc, NULL);

    fmt = ngx_http_disclosure_report_format(h.log, doc);
    if (fmt == NULL) {
        return NGX_ERROR;
    }

    s = NULL;

    for (i = 0; i < fmt->nsections; i++) {
        s = &fmt->sections[i];

        if (s->table
            && s->table->key.len == table->len
            && ngx_strncmp(s->table->key.data, table->data, table->len) == 0)
        {
            break;
        }
    }

    if (i == fmt->nsections) {
        ngx_log_error(NGX_LOG_INFO, h.log, 0,
                      "disclosure: format %ui has no table \"%V\"",
                      fmt->version, table);
        return NGX_DECLINED;
    }

    h.tables = ngx_http_disclosure_doc_get(doc, "tables");
    if (!YAJL_IS_OBJECT(h.tables)) {
        return ngx_http_disclosure_html_missing(&h, "tables");
    }

    ngx_http_disclosure_html_legacy(&h, doc);

    /* without the stylesheet: the handler sends it before, once a page */
    ngx_http_disclosure_out_literal(&h.out,
                    "<div class=\"disclosure d-fragment\" lang=\"zh-CN\">\n");

    if (ngx_http_disclosure_grid_table(&h, s) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_disclosure_out_literal(&h.out, "</div>\n");

    return ngx_http_disclosure_out_finish(&h.out, r, out);
}


ngx_int_t
ngx_http_disclosure_html_index(ngx_http_request_t *r, yajl_val doc,
    ngx_str_t *prefix, ngx_http_disclosure_loc_conf_t *dlcf,
    ngx_chain_t **out)
{
    size_t                       i;
    ngx_str_t                    title;
    ngx_uint_t                   n, open[NGX_HTTP_DISCLOSURE_MAX_NEST];
    yajl_val                     agencies, a, years;
    const char                  *slug, *parent, *changed;
    const char                  *stack[NGX_HTTP_DISCLOSURE_MAX_NEST];
    ngx_http_disclosure_html_t   h;

    ngx_http_disclosure_html_init(&h, r, doc, prefix);

    if (ngx_http_disclosure_check_document(h.log, doc, "disclosure-index/1")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    agencies = ngx_http_disclosure_doc_get(doc, "agencies");
    if (!YAJL_IS_ARRAY(agencies)) {
        return ngx_http_disclosure_html_missing(&h, "agencies");
    }

    ngx_str_set(&title, "政府信息公开工作年度报告");

    ngx_http_disclosure_html_open(&h, dlcf, &title);

    ngx_http_disclosure_out_literal(&h.out,
                                    "<h1>政府信息公开工作年度报告</h1>\n");

    changed = ngx_http_disclosure_doc_get_string(doc, "changed_at");
    if (changed) {
        ngx_http_disclosure_out_literal(&h.out,
                                        "<p class=\"d-meta\">更新时间：");
        ngx_http_disclosure_html_time(&h, changed);
        ngx_http_disclosure_out_literal(&h.out, "</p>\n");
    }

    if (agencies->u.array.len == 0) {
        ngx_http_disclosure_out_literal(&h.out,
                                        "<p>暂无已发布的年度报告。</p>\n");
        goto done;
    }

    /*
     * The list comes parents first, each followed by its children, so a
     * stack of the open <li> elements is enough to nest them.
     */

    n = 0;

    ngx_http_disclosure_out_literal(&h.out, "<ul class=\"d-agencies\">\n");

    for (i = 0; i < agencies->u.array.len; i++) {
        a = agencies->u.array.values[i];

        slug = ngx_http_disclosure_doc_get_string(a, "slug");
        if (slug == NULL) {
            return ngx_http_disclosure_html_missing(&h, "agencies[].slug");
        }

        parent = ngx_http_disclosure_doc_get_string(a, "parent");

        while (n > 0
               && (parent == NULL || ngx_strcmp(stack[n - 1], parent) != 0
                   || n == NGX_HTTP_DISCLOSURE_MAX_NEST))
        {
            n--;

            if (open[n]) {
                ngx_http_disclosure_out_literal(&h.out, "</ul>\n");
            }

            ngx_http_disclosure_out_literal(&h.out, "</li>\n");
        }

        if (n > 0 && !open[n - 1]) {
            ngx_http_disclosure_out_literal(&h.out,
                                            "<ul class=\"d-agencies\">\n");
            open[n - 1] = 1;
        }

        ngx_http_disclosure_out_literal(&h.out, "<li>");

        if (ngx_http_disclosure_html_agency_item(&h, a) != NGX_OK) {
            return NGX_ERROR;
        }

        stack[n] = slug;
        open[n] = 0;
        n++;
    }

    while (n > 0) {
        n--;

        if (open[n]) {
            ngx_http_disclosure_out_literal(&h.out, "</ul>\n");
        }

        ngx_http_disclosure_out_literal(&h.out, "</li>\n");
    }

    ngx_http_disclosure_out_literal(&h.out, "</ul>\n");

    /* the index lists the top of the hierarchy; a year page lists all */
    years = ngx_http_disclosure_doc_get(doc, "all_years");

    if (h.links && YAJL_IS_ARRAY(years) && years->u.array.len) {
        ngx_http_disclosure_out_literal(&h.out,
                                        "<h2>各年度发布情况</h2>\n"
                                        "<ul class=\"d-years\">");

        for (i = 0; i < years->u.array.len; i++) {
            if (YAJL_IS_INTEGER(years->u.array.values[i])) {
                ngx_http_disclosure_out_literal(&h.out, "<li><a href=\"");
                ngx_http_disclosure_out_html_str(&h.out, &h.prefix);
                ngx_http_disclosure_out_printf(&h.out, "%i/\">%i年度</a></li>",
                    (ngx_int_t) years->u.array.values[i]->u.number.i,
                    (ngx_int_t) years->u.array.values[i]->u.number.i);
            }
        }

        ngx_http_disclosure_out_literal(&h.out, "</ul>\n");
    }

done:

    ngx_http_disclosure_html_close(&h, dlcf);

    return ngx_http_disclosure_out_finish(&h.out, r, out);
}


ngx_int_t
ngx_http_disclosure_html_agency(ngx_http_request_t *r, yajl_val doc,
    ngx_str_t *prefix, ngx_http_disclosure_loc_conf_t *dlcf,
    ngx_chain_t **out)
{
    size_t                       i;
    ngx_int_t                    year, revision, format;
    ngx_str_t                    title;
    yajl_val                     agency, parent, children, years, y, c;
    const char                  *name, *slug, *pname, *pslug, *s, *changed;
    ngx_http_disclosure_html_t   h;

    ngx_http_disclosure_html_init(&h, r, doc, prefix);

    if (ngx_http_disclosure_check_document(h.log, doc, "disclosure-agency/1")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    agency = ngx_http_disclosure_doc_get(doc, "agency");
    name = ngx_http_disclosure_doc_get_string(agency, "name");
    slug = ngx_http_disclosure_doc_get_string(agency, "slug");
    years = ngx_http_disclosure_doc_get(doc, "years");
    children = ngx_http_disclosure_doc_get(doc, "children");

    if (name == NULL || slug == NULL || !YAJL_IS_ARRAY(years)) {
        return ngx_http_disclosure_html_missing(&h,
                                        "agency.name, agency.slug, years");
    }

    if (ngx_http_disclosure_html_title(&h, &title, name, -1,
                                       "政府信息公开工作年度报告")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_disclosure_html_open(&h, dlcf, &title);

    parent = ngx_http_disclosure_doc_get(agency, "parent");
    pname = ngx_http_disclosure_doc_get_string(parent, "name");
    pslug = ngx_http_disclosure_doc_get_string(parent, "slug");

    if (h.links) {
        ngx_http_disclosure_out_literal(&h.out,
            "<nav class=\"d-nav\" aria-label=\"年度报告导航\"><a href=\"");
        ngx_http_disclosure_out_html_str(&h.out, &h.prefix);
        ngx_http_disclosure_out_literal(&h.out, "\">全部机关</a>");

        if (pname && pslug) {
            ngx_http_disclosure_out_literal(&h.out, " › ");
            ngx_http_disclosure_html_href(&h, pslug, "/");
            ngx_http_disclosure_out_html_cstr(&h.out, pname);
            ngx_http_disclosure_out_literal(&h.out, "</a>");
        }

        ngx_http_disclosure_out_literal(&h.out, "</nav>\n");
    }

    ngx_http_disclosure_out_literal(&h.out, "<h1>");
    ngx_http_disclosure_out_str(&h.out, &title);
    ngx_http_disclosure_out_literal(&h.out, "</h1>\n");

    changed = ngx_http_disclosure_doc_get_string(doc, "changed_at");
    if (changed) {
        ngx_http_disclosure_out_literal(&h.out,
                                        "<p class=\"d-meta\">更新时间：");
        ngx_http_disclosure_html_time(&h, changed);
        ngx_http_disclosure_out_literal(&h.out, "</p>\n");
    }

    ngx_http_disclosure_out_literal(&h.out, "<h2>年度报告</h2>\n");

    if (years->u.array.len == 0) {
        ngx_http_disclosure_out_literal(&h.out,
                                        "<p>暂无已发布的年度报告。</p>\n");

    } else {
        ngx_http_disclosure_out_literal(&h.out, "<ul class=\"d-reports\">\n");

        for (i = 0; i < years->u.array.len; i++) {
            y = years->u.array.values[i];

            if (ngx_http_disclosure_doc_get_int(y, "year", &year) != NGX_OK) {
                return ngx_http_disclosure_html_missing(&h, "years[].year");
            }

            ngx_http_disclosure_out_literal(&h.out, "<li>");

            if (h.links) {
                ngx_http_disclosure_html_href(&h, slug, "/%i.html", year);
            }

            ngx_http_disclosure_out_printf(&h.out,
                                           "%i年政府信息公开工作年度报告",
                                           year);

            if (h.links) {
                ngx_http_disclosure_out_literal(&h.out, "</a>");
            }

            if (ngx_http_disclosure_doc_get_int(y, "revision", &revision)
                == NGX_OK)
            {
                ngx_http_disclosure_out_printf(&h.out,
                                               "　<span>第%i版</span>",
                                               revision);
            }

            s = ngx_http_disclosure_doc_get_string(y, "published_at");
            if (s) {
                ngx_http_disclosure_out_literal(&h.out,
                                                "　<span>发布日期：");
                ngx_http_disclosure_html_time(&h, s);
                ngx_http_disclosure_out_literal(&h.out, "</span>");
            }

            if (ngx_http_disclosure_doc_get_int(y, "format", &format) == NGX_OK
                && format != 2021)
            {
                ngx_http_disclosure_out_printf(&h.out,
                                               "　<span>（%i年版格式）</span>",
                                               format);
            }

            if (h.links) {
                ngx_http_disclosure_out_literal(&h.out, "　<span>");
                ngx_http_disclosure_html_href(&h, slug, "/%i.csv", year);
                ngx_http_disclosure_out_literal(&h.out, "CSV</a> ");
                ngx_http_disclosure_html_href(&h, slug, "/%i.json", year);
                ngx_http_disclosure_out_literal(&h.out, "JSON</a></span>");
            }

            ngx_http_disclosure_out_literal(&h.out, "</li>\n");
        }

        ngx_http_disclosure_out_literal(&h.out, "</ul>\n");
    }

    if (h.links && years->u.array.len) {
        ngx_http_disclosure_out_literal(&h.out, "<p class=\"d-across\">");
        ngx_http_disclosure_html_href(&h, slug, "/trend");
        ngx_http_disclosure_out_literal(&h.out, "历年主要数据</a>");

        if (ngx_http_disclosure_doc_get_int(years->u.array.values[0], "year",
                                        &year)
            == NGX_OK)
        {
            ngx_http_disclosure_out_literal(&h.out, "　");
            ngx_http_disclosure_html_href(&h, slug, "/%i/compare", year);
            ngx_http_disclosure_out_printf(&h.out, "%i年度与上年对比</a>",
                                           year);

            if (YAJL_IS_ARRAY(children) && children->u.array.len) {
                ngx_http_disclosure_out_literal(&h.out, "　");
                ngx_http_disclosure_html_href(&h, slug, "/%i/rollup", year);
                ngx_http_disclosure_out_printf(&h.out,
                                               "%i年度本机关及下级机关汇总</a>",
                                               year);
            }
        }

        ngx_http_disclosure_out_literal(&h.out, "</p>\n");
    }

    if (YAJL_IS_ARRAY(children) && children->u.array.len) {
        ngx_http_disclosure_out_literal(&h.out, "<h2>下级机关</h2>\n"
                                        "<ul class=\"d-children\">\n");

        for (i = 0; i < children->u.array.len; i++) {
            c = children->u.array.values[i];

            name = ngx_http_disclosure_doc_get_string(c, "name");
            s = ngx_http_disclosure_doc_get_string(c, "slug");

            if (name == NULL || s == NULL) {
                return ngx_http_disclosure_html_missing(&h,
                                                        "children[].name");
            }

            /* each child with its years: the index lists the top only */
            ngx_http_disclosure_out_literal(&h.out, "<li>");

            if (ngx_http_disclosure_html_agency_item(&h, c) != NGX_OK) {
                return NGX_ERROR;
            }

            ngx_http_disclosure_out_literal(&h.out, "</li>\n");
        }

        ngx_http_disclosure_out_literal(&h.out, "</ul>\n");
    }

    ngx_http_disclosure_html_close(&h, dlcf);

    return ngx_http_disclosure_out_finish(&h.out, r, out);
}


static void
ngx_http_disclosure_html_init(ngx_http_disclosure_html_t *h,
    ngx_http_request_t *r, yajl_val doc, ngx_str_t *prefix)
{
    u_char  *p;

    ngx_memzero(h, sizeof(ngx_http_disclosure_html_t));

    ngx_http_disclosure_out_init(&h->out, r);

    h->log = r->connection->log;
    h->pool = r->pool;
    h->doc = doc;

    if (prefix == NULL || prefix->len == 0) {
        return;
    }

    h->links = 1;

    if (prefix->data[prefix->len - 1] == '/') {
        h->prefix = *prefix;
        return;
    }

    p = ngx_pnalloc(r->pool, prefix->len + 1);
    if (p == NULL) {
        h->out.failed = 1;
        h->links = 0;
        return;
    }

    h->prefix.data = p;
    h->prefix.len = ngx_cpymem(p, prefix->data, prefix->len) - p + 1;
    p[prefix->len] = '/';
}


static void
ngx_http_disclosure_html_open(ngx_http_disclosure_html_t *h,
    ngx_http_disclosure_loc_conf_t *dlcf, ngx_str_t *title)
{
    ngx_http_disclosure_html_page_open(&h->out, dlcf, title);

    /* disclosure_preview: the draft banner and findings, above the report */
    if (dlcf && dlcf->preview) {
        ngx_http_disclosure_preview_banner(&h->out, h->doc);
    }
}


static void
ngx_http_disclosure_html_close(ngx_http_disclosure_html_t *h,
    ngx_http_disclosure_loc_conf_t *dlcf)
{
    ngx_http_disclosure_html_page_close(&h->out, dlcf);
}


/* the page around a body: the portal's template, or a page of our own */

void
ngx_http_disclosure_html_page_open(ngx_http_disclosure_out_t *o,
    ngx_http_disclosure_loc_conf_t *dlcf, ngx_str_t *title)
{
    if (dlcf && dlcf->template_file.len) {

        /* the portal's head; our stylesheet goes into the body part */

        ngx_http_disclosure_out_ref(o, &dlcf->template_head);
        ngx_http_disclosure_html_page_style(o);
        ngx_http_disclosure_out_literal(o,
                            "<article class=\"disclosure\" lang=\"zh-CN\">\n");
        return;
    }

    ngx_http_disclosure_out_literal(o,
        "<!DOCTYPE html>\n"
        "<html lang=\"zh-CN\">\n"
        "<head>\n"
        "<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, "
        "initial-scale=1\">\n"
        "<title>");
    ngx_http_disclosure_out_str(o, title);
    ngx_http_disclosure_out_literal(o, "</title>\n");
    ngx_http_disclosure_html_page_style(o);
    ngx_http_disclosure_out_literal(o, "</head>\n"
                                    "<body>\n"
                                    "<main>\n"
                                    "<article class=\"disclosure\">\n");
}


void
ngx_http_disclosure_html_page_close(ngx_http_disclosure_out_t *o,
    ngx_http_disclosure_loc_conf_t *dlcf)
{
    if (dlcf && dlcf->template_file.len) {
        ngx_http_disclosure_out_literal(o, "</article>\n");
        ngx_http_disclosure_out_ref(o, &dlcf->template_tail);
        return;
    }

    ngx_http_disclosure_out_literal(o, "</article>\n"
                                    "</main>\n"
                                    "</body>\n"
                                    "</html>\n");
}


void
ngx_http_disclosure_html_page_style(ngx_http_disclosure_out_t *o)
{
    ngx_http_disclosure_out_raw(o, ngx_http_disclosure_css,
                                sizeof(ngx_http_disclosure_css) - 1);
}


void
ngx_http_disclosure_html_style(ngx_str_t *style)
{
    style->data = ngx_http_disclosure_css;
    style->len = sizeof(ngx_http_disclosure_css) - 1;
}


/* the escaped title: name, then the year if year >= 0, then the suffix */

static ngx_int_t
ngx_http_disclosure_html_title(ngx_http_disclosure_html_t *h,
    ngx_str_t *title, const char *name, ngx_int_t year, const char *suffix)
{
    u_char  *p;
    size_t   len, n;

    len = ngx_strlen(name);
    n = ngx_http_disclosure_escape_html(NULL, (u_char *) name, len);

    p = ngx_pnalloc(h->pool, n + 1 + NGX_INT_T_LEN + ngx_strlen(suffix));
    if (p == NULL) {
        return ngx_http_disclosure_html_nomem(h);
    }

    title->data = p;

    p += ngx_http_disclosure_escape_html(p, (u_char *) name, len);

    if (year >= 0) {
        p = ngx_sprintf(p, " %i", year);
    }

    p = ngx_cpymem(p, suffix, ngx_strlen(suffix));

    title->len = p - title->data;

    return NGX_OK;
}


/* writes <a href="{prefix}{slug}{fmt...}"> with the slug URI-escaped */

static void
ngx_http_disclosure_html_href(ngx_http_disclosure_html_t *h,
    const char *slug, const char *fmt, ...)
{
    u_char     *p, *q, tail[NGX_INT_T_LEN + 16];
    size_t      len;
    va_list     args;
    uintptr_t   n;

    len = ngx_strlen(slug);
    n = ngx_escape_uri(NULL, (u_char *) slug, len, NGX_ESCAPE_URI_COMPONENT);

    p = ngx_pnalloc(h->pool, len + 2 * n);
    if (p == NULL) {
        h->out.failed = 1;
        return;
    }

    q = (u_char *) ngx_escape_uri(p, (u_char *) slug, len,
                                  NGX_ESCAPE_URI_COMPONENT);

    va_start(args, fmt);
    len = ngx_vslprintf(tail, tail + sizeof(tail), fmt, args) - tail;
    va_end(args);

    ngx_http_disclosure_out_literal(&h->out, "<a href=\"");
    ngx_http_disclosure_out_html_str(&h->out, &h->prefix);
    ngx_http_disclosure_out_html(&h->out, p, q - p);
    ngx_http_disclosure_out_html(&h->out, tail, len);
    ngx_http_disclosure_out_literal(&h->out, "\">");
}


/* <time datetime="2025-01-20T09:00:00+08:00">2025-01-20</time> */

static void
ngx_http_disclosure_html_time(ngx_http_disclosure_html_t *h, const char *ts)
{
    ngx_http_disclosure_html_out_time(&h->out, ts);
}


void
ngx_http_disclosure_html_out_time(ngx_http_disclosure_out_t *o, const char *ts)
{
    size_t  len;

    len = ngx_strlen(ts);

    ngx_http_disclosure_out_literal(o, "<time datetime=\"");
    ngx_http_disclosure_out_html(o, (u_char *) ts, len);
    ngx_http_disclosure_out_literal(o, "\">");

    if (len > 10 && ts[4] == '-' && ts[7] == '-' && ts[10] == 'T') {
        len = 10;
    }

    ngx_http_disclosure_out_html(o, (u_char *) ts, len);
    ngx_http_disclosure_out_literal(o, "</time>");
}


static void
ngx_http_disclosure_html_meta(ngx_http_disclosure_html_t *h)
{
    ngx_int_t    revision;
    const char  *s;

    ngx_http_disclosure_out_literal(&h->out, "<p class=\"d-meta\">");

    s = ngx_http_disclosure_doc_get_string(h->doc, "index_no");
    if (s) {
        ngx_http_disclosure_out_literal(&h->out, "<span>索引号：");
        ngx_http_disclosure_out_html_cstr(&h->out, s);
        ngx_http_disclosure_out_literal(&h->out, "</span>　");
    }

    s = ngx_http_disclosure_doc_get_string(h->doc, "published_at");
    if (s) {
        ngx_http_disclosure_out_literal(&h->out, "<span>发布日期：");
        ngx_http_disclosure_html_time(h, s);
        ngx_http_disclosure_out_literal(&h->out, "</span>　");
    }

    ngx_http_disclosure_html_scope(h);

    if (ngx_http_disclosure_doc_get_int(h->doc, "revision", &revision) == NGX_OK) {
        ngx_http_disclosure_out_printf(&h->out, "<span>版本：第%i版</span>",
                                       revision);
    }

    s = ngx_http_disclosure_doc_get_string(h->doc, "source_url");
    if (s) {
        ngx_http_disclosure_out_literal(&h->out, "　<span>原文：");

        /* only web addresses become links: no javascript: and the like */

        if (ngx_strncasecmp((u_char *) s, (u_char *) "https://", 8) == 0
            || ngx_strncasecmp((u_char *) s, (u_char *) "http://", 7) == 0)
        {
            ngx_http_disclosure_out_literal(&h->out, "<a href=\"");
            ngx_http_disclosure_out_html_cstr(&h->out, s);
            ngx_http_disclosure_out_literal(&h->out, "\">");
            ngx_http_disclosure_out_html_cstr(&h->out, s);
            ngx_http_disclosure_out_literal(&h->out, "</a>");

        } else {
            ngx_http_disclosure_out_html_cstr(&h->out, s);
        }

        ngx_http_disclosure_out_literal(&h->out, "</span>");
    }

    ngx_http_disclosure_out_literal(&h->out, "</p>\n");
}


/* one <p> per line of the text; blank lines and edge spaces dropped */

static void
ngx_http_disclosure_html_paragraphs(ngx_http_disclosure_html_t *h,
    const char *text)
{
    u_char  *p, *end, *eol, *s, *e;

    p = (u_char *) text;
    end = p + ngx_strlen(text);

    while (p < end) {
        eol = ngx_strlchr(p, end, '\n');
        if (eol == NULL) {
            eol = end;
        }

        s = p;
        e = eol;

        for ( ;; ) {
            if (s < e && (*s == ' ' || *s == '\t' || *s == '\r')) {
                s++;

            } else if (e - s >= 3 && ngx_strncmp(s, "\xe3\x80\x80", 3) == 0) {
                s += 3;     /* U+3000 IDEOGRAPHIC SPACE */

            } else {
                break;
            }
        }

        for ( ;; ) {
            if (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) {
                e--;

            } else if (e - s >= 3 && ngx_strncmp(e - 3, "\xe3\x80\x80", 3) == 0)
            {
                e -= 3;

            } else {
                break;
            }
        }

        if (s < e) {
            ngx_http_disclosure_out_literal(&h->out, "<p>");
            ngx_http_disclosure_out_html(&h->out, s, e - s);
            ngx_http_disclosure_out_literal(&h->out, "</p>\n");
        }

        p = eol + 1;
    }
}


/* the parts of a narrative section, in the order the document has them */

static ngx_int_t
ngx_http_disclosure_html_narrative(ngx_http_disclosure_html_t *h,
    ngx_http_disclosure_section_t *s)
{
    size_t       i;
    yajl_val     sections, sec, parts, part;
    const char  *key, *text;

    sections = ngx_http_disclosure_doc_get(h->doc, "sections");
    if (!YAJL_IS_ARRAY(sections)) {
        return ngx_http_disclosure_html_missing(h, "sections");
    }

    sec = NULL;

    for (i = 0; i < sections->u.array.len; i++) {
        key = ngx_http_disclosure_doc_get_string(sections->u.array.values[i],
                                             "key");

        if (key && ngx_strlen(key) == s->key.len
            && ngx_strncmp(key, s->key.data, s->key.len) == 0)
        {
            sec = sections->u.array.values[i];
            break;
        }
    }

    parts = ngx_http_disclosure_doc_get(sec, "parts");
    if (!YAJL_IS_ARRAY(parts)) {
        return NGX_OK;
    }

    for (i = 0; i < parts->u.array.len; i++) {
        part = parts->u.array.values[i];

        text = ngx_http_disclosure_doc_get_string(part, "text");
        if (text) {
            ngx_http_disclosure_html_paragraphs(h, text);
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_disclosure_html_history(ngx_http_disclosure_html_t *h)
{
    size_t       i;
    yajl_val     revisions, rev;
    ngx_int_t    n;
    const char  *s;

    revisions = ngx_http_disclosure_doc_get(h->doc, "revisions");
    if (!YAJL_IS_ARRAY(revisions) || revisions->u.array.len == 0) {
        return NGX_OK;
    }

    ngx_http_disclosure_out_literal(&h->out,
                                    "<section class=\"d-section d-history\">\n"
                                    "<h2>修订记录</h2>\n"
                                    "<ol class=\"d-revisions\">\n");

    for (i = 0; i < revisions->u.array.len; i++) {
        rev = revisions->u.array.values[i];

        if (ngx_http_disclosure_doc_get_int(rev, "revision", &n) != NGX_OK) {
            return ngx_http_disclosure_html_missing(h,
                                                    "revisions[].revision");
        }

        ngx_http_disclosure_out_printf(&h->out, "<li>第%i版", n);

        s = ngx_http_disclosure_doc_get_string(rev, "published_at");
        if (s) {
            ngx_http_disclosure_out_literal(&h->out, "，");
            ngx_http_disclosure_html_time(h, s);
            ngx_http_disclosure_out_literal(&h->out, "发布");
        }

        s = ngx_http_disclosure_doc_get_string(rev, "reason");
        if (s) {
            ngx_http_disclosure_out_literal(&h->out, "。更正原因：");
            ngx_http_disclosure_out_html_cstr(&h->out, s);

        } else if (i == 0) {
            ngx_http_disclosure_out_literal(&h->out, "（首次发布）");
        }

        ngx_http_disclosure_out_literal(&h->out, "</li>\n");
    }

    ngx_http_disclosure_out_literal(&h->out, "</ol>\n</section>\n");

    return NGX_OK;
}



/*
 * A legacy report: the document's tables give the totals as printed,
 * derived_totals the derived ones where they differ, and published_totals
 * the one （六）其他处理 row of a 2021 report printed in the 2019 layout.
 */

static void
ngx_http_disclosure_html_legacy(ngx_http_disclosure_html_t *h, yajl_val doc)
{
    yajl_val  v;

    if (!YAJL_IS_TRUE(ngx_http_disclosure_doc_get(doc, "legacy"))) {
        return;
    }

    v = ngx_http_disclosure_doc_get(doc, "derived_totals");
    h->derived = YAJL_IS_OBJECT(v) ? v : NULL;

    v = ngx_http_disclosure_doc_get(ngx_http_disclosure_doc_get(
            ngx_http_disclosure_doc_get(doc, "published_totals"), "applications"),
            "other");
    h->merged = YAJL_IS_OBJECT(v) ? v : NULL;
}


/* whose numbers: the agency's own, its whole area's, or not said */

static void
ngx_http_disclosure_html_scope(ngx_http_disclosure_html_t *h)
{
    const char  *s;

    s = ngx_http_disclosure_doc_get_string(h->doc, "scope");

    if (s == NULL) {
        return;
    }

    if (ngx_strcmp(s, "office") == 0) {
        ngx_http_disclosure_out_literal(&h->out,
                                        "<span>统计范围：本机关</span>　");

    } else if (ngx_strcmp(s, "jurisdiction") == 0) {
        ngx_http_disclosure_out_literal(&h->out,
                                        "<span>统计范围：本行政区域</span>　");

    } else if (ngx_strcmp(s, "unknown") == 0) {
        ngx_http_disclosure_out_literal(&h->out,
                                        "<span>统计范围：原报告未说明</span>　");
    }
}



/* an agency of the index: its name, linked, and its years */

static ngx_int_t
ngx_http_disclosure_html_agency_item(ngx_http_disclosure_html_t *h,
    yajl_val agency)
{
    size_t       i;
    yajl_val     years;
    ngx_int_t    year;
    const char  *name, *slug;

    name = ngx_http_disclosure_doc_get_string(agency, "name");
    slug = ngx_http_disclosure_doc_get_string(agency, "slug");

    if (name == NULL || slug == NULL) {
        return ngx_http_disclosure_html_missing(h, "agencies[].name");
    }

    if (h->links) {
        ngx_http_disclosure_html_href(h, slug, "/");
    }

    ngx_http_disclosure_out_html_cstr(&h->out, name);

    if (h->links) {
        ngx_http_disclosure_out_literal(&h->out, "</a>");
    }

    years = ngx_http_disclosure_doc_get(agency, "years");

    if (!YAJL_IS_ARRAY(years) || years->u.array.len == 0) {
        ngx_http_disclosure_out_literal(&h->out, "\n");
        return NGX_OK;
    }

    ngx_http_disclosure_out_literal(&h->out, "\n<ul class=\"d-years\">");

    for (i = 0; i < years->u.array.len; i++) {
        if (ngx_http_disclosure_doc_get_int(years->u.array.values[i], "year",
                                        &year)
            != NGX_OK)
        {
            return ngx_http_disclosure_html_missing(h,
                                                "agencies[].years[].year");
        }

        ngx_http_disclosure_out_literal(&h->out, "<li>");

        if (h->links) {
            ngx_http_disclosure_html_href(h, slug, "/%i.html", year);
        }

        ngx_http_disclosure_out_printf(&h->out, "%i年", year);

        if (h->links) {
            ngx_http_disclosure_out_literal(&h->out, "</a>");
        }

        ngx_http_disclosure_out_literal(&h->out, "</li>");
    }

    ngx_http_disclosure_out_literal(&h->out, "</ul>\n");

    return NGX_OK;
}


static ngx_int_t
ngx_http_disclosure_html_missing(ngx_http_disclosure_html_t *h,
    const char *what)
{
    ngx_log_error(NGX_LOG_ERR, h->log, 0,
                  "disclosure: document lacks or mistypes %s", what);

    return NGX_ERROR;
}


ngx_int_t
ngx_http_disclosure_html_nomem(ngx_http_disclosure_html_t *h)
{
    h->out.failed = 1;

    ngx_log_error(NGX_LOG_ERR, h->log, 0,
                  "disclosure: no memory for the response body");

    return NGX_ERROR;
}
