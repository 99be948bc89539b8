
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * The roll-up page (disclosure-rollup/1): an agency and everything below
 * it for one year, the three tables summed over the office-scope reports
 * (drawn by the report pages' own table code, from the document's
 * "report", which has a report's shape), what was not added and why, the
 * rules checked on the sums, and who published when.  The year page
 * (disclosure-year/1): the same completeness view for the whole portal,
 * by top-level agency.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_disclosure_route.h"
#include "ngx_http_disclosure_doc.h"
#include "ngx_http_disclosure_html.h"
#include "ngx_http_disclosure_csv.h"
#include "ngx_http_disclosure_page.h"
#include "ngx_http_disclosure_rollup.h"


static ngx_int_t ngx_http_disclosure_rollup_tables(
    ngx_http_disclosure_page_t *pg, yajl_val report);
static void ngx_http_disclosure_rollup_notes(ngx_http_disclosure_page_t *pg,
    yajl_val doc);
static ngx_int_t ngx_http_disclosure_rollup_csv(ngx_http_request_t *r,
    yajl_val report, ngx_chain_t **out);
static ngx_int_t ngx_http_disclosure_year_csv(ngx_http_request_t *r,
    yajl_val agencies, ngx_chain_t **out);


static ngx_str_t  ngx_http_disclosure_rollup_names[] = {
    ngx_string("proactive"),
    ngx_string("applications"),
    ngx_string("appeals"),
    ngx_null_string
};


ngx_int_t
ngx_http_disclosure_rollup(ngx_http_request_t *r, yajl_val doc,
    ngx_str_t *prefix, ngx_http_disclosure_loc_conf_t *dlcf,
    ngx_uint_t variant, ngx_str_t *part, ngx_chain_t **out)
{
    yajl_val                     agency, report, agencies, counts;
    ngx_int_t                    year, summed;
    const char                  *name, *slug;
    ngx_http_disclosure_page_t   pg;

    if (ngx_http_disclosure_check_document(r->connection->log, doc,
                                           "disclosure-rollup/1")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    agency = ngx_http_disclosure_doc_get(doc, "agency");
    name = ngx_http_disclosure_doc_get_string(agency, "name");
    slug = ngx_http_disclosure_doc_get_string(agency, "slug");
    report = ngx_http_disclosure_doc_get(doc, "report");
    agencies = ngx_http_disclosure_doc_get(doc, "agencies");
    counts = ngx_http_disclosure_doc_get(doc, "counts");

    if (name == NULL || slug == NULL || !YAJL_IS_OBJECT(report)
        || !YAJL_IS_ARRAY(agencies)
        || ngx_http_disclosure_doc_get_int(doc, "year", &year) != NGX_OK
        || ngx_http_disclosure_doc_get_int(doc, "summed", &summed) != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "disclosure: rollup document lacks agency, year, "
                      "summed, report or agencies");
        return NGX_ERROR;
    }

    if (variant == NGX_HTTP_DISCLOSURE_CSV) {
        return ngx_http_disclosure_rollup_csv(r, report, out);
    }

    ngx_http_disclosure_page_init(&pg, r, prefix, dlcf,
                                  variant == NGX_HTTP_DISCLOSURE_FRAGMENT);

    if (pg.fragment) {
        if (part->len == sizeof("completeness") - 1
            && ngx_strncmp(part->data, "completeness", part->len) == 0)
        {
            ngx_http_disclosure_page_begin(&pg, NULL, "");

            if (ngx_http_disclosure_page_states(&pg, agencies, year,
                                                "本机关及下级机关发布情况")
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            return ngx_http_disclosure_page_end(&pg, out);
        }

        /* one summed table, exactly as a report's fragment */
        return ngx_http_disclosure_html_fragment(r, report, part, out);
    }

    ngx_http_disclosure_page_begin(&pg, name, " 年度报告汇总");
    ngx_http_disclosure_page_nav(&pg, doc);

    ngx_http_disclosure_out_literal(&pg.out, "<h1>");
    ngx_http_disclosure_out_html_cstr(&pg.out, name);
    ngx_http_disclosure_out_printf(&pg.out,
                                   "及下级机关 %i年度报告汇总</h1>\n", year);

    ngx_http_disclosure_out_literal(&pg.out,
                                    "<h2>发布情况</h2>\n<p class=\"d-counts\">");
    ngx_http_disclosure_out_literal(&pg.out, "下级机关：");
    ngx_http_disclosure_page_counts(&pg, counts);
    ngx_http_disclosure_out_literal(&pg.out, "。</p>\n");

    if (ngx_http_disclosure_page_states(&pg, agencies, year,
                                        "本机关及下级机关发布情况")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_disclosure_out_printf(&pg.out,
        "<h2>汇总数字</h2>\n<p>下表为 %i 份本机关范围（仅本机关）报告之和：",
        summed);
    ngx_http_disclosure_out_literal(&pg.out,
        "本机关的和各级下级机关的，只加数字（空白、“/”、未列出不计），"
        "总计由相加后的分项得出。全辖区范围的报告已包含下级机关的数字，"
        "不再相加。</p>\n");

    ngx_http_disclosure_rollup_notes(&pg, doc);

    if (ngx_http_disclosure_rollup_tables(&pg, report) != NGX_OK) {
        return NGX_ERROR;
    }

    if (pg.links) {
        ngx_http_disclosure_out_literal(&pg.out,
                                        "<p class=\"d-downloads\">下载：");
        ngx_http_disclosure_page_link(&pg, slug, "/%i/rollup.csv", year);
        ngx_http_disclosure_out_literal(&pg.out, "CSV</a> ");
        ngx_http_disclosure_page_link(&pg, slug, "/%i/rollup.json", year);
        ngx_http_disclosure_out_literal(&pg.out, "JSON</a> ");
        ngx_http_disclosure_page_link(&pg, NULL, "%i/", year);
        ngx_http_disclosure_out_printf(&pg.out, "%i年度全部机关</a></p>\n",
                                       year);
    }

    return ngx_http_disclosure_page_end(&pg, out);
}


/* the rules on the sums, and the reports listed but not added */

static void
ngx_http_disclosure_rollup_notes(ngx_http_disclosure_page_t *pg, yajl_val doc)
{
    size_t       i;
    yajl_val     checks, apart, c, merged;
    ngx_int_t    n;
    const char  *rule, *message, *name, *reason;

    checks = ngx_http_disclosure_doc_get(doc, "checks");

    if (YAJL_IS_ARRAY(checks) && checks->u.array.len) {
        ngx_http_disclosure_out_literal(&pg->out, "<ul class=\"d-checks\">\n");

        for (i = 0; i < checks->u.array.len; i++) {
            c = checks->u.array.values[i];
            rule = ngx_http_disclosure_doc_get_string(c, "rule");
            message = ngx_http_disclosure_doc_get_string(c, "message");

            if (rule == NULL || message == NULL) {
                continue;
            }

            ngx_http_disclosure_out_literal(&pg->out, "<li>");
            ngx_http_disclosure_out_html_cstr(&pg->out, rule);
            ngx_http_disclosure_out_printf(&pg->out, "%s",
                YAJL_IS_FALSE(ngx_http_disclosure_doc_get(c, "ok"))
                ? " 不成立：" : " 成立：");
            ngx_http_disclosure_out_html_cstr(&pg->out, message);
            ngx_http_disclosure_out_literal(&pg->out, "</li>\n");
        }

        ngx_http_disclosure_out_literal(&pg->out, "</ul>\n");
    }

    merged = ngx_http_disclosure_doc_get(doc, "merged_other");

    if (YAJL_IS_OBJECT(merged)) {
        ngx_http_disclosure_out_literal(&pg->out,
            "<p class=\"d-legacy\">有的报告把（六）其他处理印为一行：这些数字"
            "计入（七）总计，不计入（六）的三个分项。</p>\n");
    }

    apart = ngx_http_disclosure_doc_get(doc, "not_added");

    if (!YAJL_IS_ARRAY(apart) || apart->u.array.len == 0) {
        return;
    }

    if (ngx_http_disclosure_doc_get_int(doc, "not_added_count", &n) != NGX_OK) {
        n = apart->u.array.len;
    }

    ngx_http_disclosure_out_printf(&pg->out,
        "<p>以下 %i 份已发布的报告列出而不相加：</p>\n"
        "<ul class=\"d-apart\">\n", n);

    for (i = 0; i < apart->u.array.len; i++) {
        c = apart->u.array.values[i];
        name = ngx_http_disclosure_doc_get_string(c, "name");
        reason = ngx_http_disclosure_doc_get_string(c, "reason");

        if (name == NULL || reason == NULL) {
            continue;
        }

        ngx_http_disclosure_out_literal(&pg->out, "<li>");
        ngx_http_disclosure_out_html_cstr(&pg->out, name);
        ngx_http_disclosure_out_literal(&pg->out, "：");
        ngx_http_disclosure_out_html_cstr(&pg->out, reason);
        ngx_http_disclosure_out_literal(&pg->out, "</li>\n");
    }

    if ((size_t) n > apart->u.array.len) {
        ngx_http_disclosure_out_printf(&pg->out, "<li>另有 %uz 份未列出</li>\n",
                                       (size_t) n - apart->u.array.len);
    }

    ngx_http_disclosure_out_literal(&pg->out, "</ul>\n");
}


/* the summed tables, each drawn as a report's fragment and linked in */

static ngx_int_t
ngx_http_disclosure_rollup_tables(ngx_http_disclosure_page_t *pg,
    yajl_val report)
{
    ngx_int_t                      rc;
    ngx_str_t                     *t;
    ngx_uint_t                     i;
    ngx_chain_t                   *cl, *body;
    ngx_http_disclosure_format_t  *fmt;

    fmt = ngx_http_disclosure_report_format(pg->log, report);

    for (t = ngx_http_disclosure_rollup_names; t->len; t++) {

        rc = ngx_http_disclosure_html_fragment(pg->r, report, t, &body);

        if (rc == NGX_DECLINED) {
            continue;
        }

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }

        /* the section's heading, as the report page has it */
        for (i = 0; fmt && i < fmt->nsections; i++) {
            if (fmt->sections[i].table
                && fmt->sections[i].table->key.len == t->len
                && ngx_strncmp(fmt->sections[i].table->key.data, t->data,
                               t->len) == 0)
            {
                ngx_http_disclosure_out_literal(&pg->out, "<h3>");
                ngx_http_disclosure_out_str(&pg->out,
                                            &fmt->sections[i].heading);
                ngx_http_disclosure_out_literal(&pg->out, "</h3>\n");
            }
        }

        for (cl = body; cl; cl = cl->next) {
            cl->buf->last_buf = 0;
            cl->buf->last_in_chain = 0;
            ngx_http_disclosure_out_raw(&pg->out, cl->buf->pos,
                                        cl->buf->last - cl->buf->pos);
        }
    }

    return NGX_OK;
}


/* "table,row,col,value": the summed cells, totals derived */

static ngx_int_t
ngx_http_disclosure_rollup_csv(ngx_http_request_t *r, yajl_val report,
    ngx_chain_t **out)
{
    size_t                      i, j, k;
    yajl_val                    tables, rows, cols;
    ngx_http_disclosure_out_t   o;

    tables = ngx_http_disclosure_doc_get(report, "tables");

    if (!YAJL_IS_OBJECT(tables)) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "disclosure: rollup document lacks report.tables");
        return NGX_ERROR;
    }

    ngx_http_disclosure_out_init(&o, r);

    ngx_http_disclosure_out_literal(&o, "\xef\xbb\xbf"
                                    "table,row,col,value\r\n");

    for (i = 0; i < tables->u.object.len; i++) {
        rows = tables->u.object.values[i];

        for (j = 0; YAJL_IS_OBJECT(rows) && j < rows->u.object.len; j++) {
            cols = rows->u.object.values[j];

            for (k = 0; YAJL_IS_OBJECT(cols) && k < cols->u.object.len; k++) {
                ngx_http_disclosure_csv_text(&o,
                                     (u_char *) tables->u.object.keys[i]);
                ngx_http_disclosure_out_literal(&o, ",");
                ngx_http_disclosure_csv_text(&o,
                                     (u_char *) rows->u.object.keys[j]);
                ngx_http_disclosure_out_literal(&o, ",");
                ngx_http_disclosure_csv_text(&o,
                                     (u_char *) cols->u.object.keys[k]);
                ngx_http_disclosure_out_literal(&o, ",");
                ngx_http_disclosure_csv_value(&o, cols->u.object.values[k]);
                ngx_http_disclosure_out_literal(&o, "\r\n");
            }
        }
    }

    return ngx_http_disclosure_out_finish(&o, r, out);
}


ngx_int_t
ngx_http_disclosure_year(ngx_http_request_t *r, yajl_val doc,
    ngx_str_t *prefix, ngx_http_disclosure_loc_conf_t *dlcf,
    ngx_uint_t variant, ngx_chain_t **out)
{
    size_t                       i;
    yajl_val                     agencies, latest, a;
    ngx_int_t                    year;
    u_char                       title[NGX_INT_T_LEN + 8];
    const char                  *name, *slug, *at, *state;
    ngx_http_disclosure_page_t   pg;

    if (ngx_http_disclosure_check_document(r->connection->log, doc,
                                           "disclosure-year/1")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    agencies = ngx_http_disclosure_doc_get(doc, "agencies");
    latest = ngx_http_disclosure_doc_get(doc, "latest");

    if (!YAJL_IS_ARRAY(agencies)
        || ngx_http_disclosure_doc_get_int(doc, "year", &year) != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "disclosure: year document lacks year or agencies");
        return NGX_ERROR;
    }

    if (variant == NGX_HTTP_DISCLOSURE_CSV) {
        return ngx_http_disclosure_year_csv(r, agencies, out);
    }

    ngx_http_disclosure_page_init(&pg, r, prefix, dlcf,
                                  variant == NGX_HTTP_DISCLOSURE_FRAGMENT);

    ngx_sprintf(title, "%i年度%Z", year);
    ngx_http_disclosure_page_begin(&pg, (char *) title,
                                   "政府信息公开工作年度报告发布情况");

    if (pg.links && !pg.fragment) {
        ngx_http_disclosure_out_literal(&pg.out,
                    "<nav class=\"d-nav\" aria-label=\"年度报告导航\">");
        ngx_http_disclosure_page_link(&pg, NULL, "");
        ngx_http_disclosure_out_literal(&pg.out, "全部机关</a></nav>\n");
    }

    ngx_http_disclosure_out_printf(&pg.out,
                                   "%s%i年度政府信息公开工作年度报告发布情况%s\n"
                                   "<p class=\"d-counts\">全部 ",
                                   pg.fragment ? "<h2>" : "<h1>", year,
                                   pg.fragment ? "</h2>" : "</h1>");
    ngx_http_disclosure_page_counts(&pg, ngx_http_disclosure_doc_get(doc,
                                                                 "counts"));
    ngx_http_disclosure_out_literal(&pg.out,
        "。</p>\n<p>法定期限：政府部门为次年 1 月 31 日，"
        "本级人民政府为次年 3 月 31 日（条例第四十九条）。"
        "点击下级机关的数字查看该机关的汇总。</p>\n");

    if (ngx_http_disclosure_page_states(&pg, agencies, year, "各机关发布情况")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (YAJL_IS_ARRAY(latest) && latest->u.array.len) {
        ngx_http_disclosure_out_literal(&pg.out,
                                        "<h2>最近发布</h2>\n<ul>\n");

        for (i = 0; i < latest->u.array.len; i++) {
            a = latest->u.array.values[i];
            name = ngx_http_disclosure_doc_get_string(a, "name");
            slug = ngx_http_disclosure_doc_get_string(a, "slug");
            at = ngx_http_disclosure_doc_get_string(a, "published_at");
            state = ngx_http_disclosure_doc_get_string(a, "state");

            if (name == NULL || slug == NULL || at == NULL) {
                continue;
            }

            ngx_http_disclosure_out_literal(&pg.out, "<li>");
            ngx_http_disclosure_html_out_time(&pg.out, at);
            ngx_http_disclosure_out_literal(&pg.out, " ");
            ngx_http_disclosure_page_link(&pg, slug, "/%i.html", year);
            ngx_http_disclosure_out_html_cstr(&pg.out, name);
            ngx_http_disclosure_page_unlink(&pg);
            ngx_http_disclosure_out_literal(&pg.out, "（");
            ngx_http_disclosure_out_html_cstr(&pg.out,
                                      ngx_http_disclosure_page_state(state));
            ngx_http_disclosure_out_literal(&pg.out, "）</li>\n");
        }

        ngx_http_disclosure_out_literal(&pg.out, "</ul>\n");
    }

    if (pg.links && !pg.fragment) {
        ngx_http_disclosure_out_literal(&pg.out,
                                        "<p class=\"d-downloads\">下载：");
        ngx_http_disclosure_page_link(&pg, NULL, "%i/index.csv", year);
        ngx_http_disclosure_out_literal(&pg.out, "CSV</a> ");
        ngx_http_disclosure_page_link(&pg, NULL, "%i/index.json", year);
        ngx_http_disclosure_out_literal(&pg.out, "JSON</a></p>\n");
    }

    return ngx_http_disclosure_page_end(&pg, out);
}


/* "agency,name,state,published_at,deadline,below_agencies,..." */

static ngx_int_t
ngx_http_disclosure_year_csv(ngx_http_request_t *r, yajl_val agencies,
    ngx_chain_t **out)
{
    size_t                      i, k;
    yajl_val                    a, below;
    ngx_http_disclosure_out_t   o;

    static const char  *fields[] = { "slug", "name", "state", "published_at",
                                     "deadline", NULL };
    static const char  *counts[] = { "agencies", "published", "on_time",
                                     "late", "draft", "none", NULL };

    ngx_http_disclosure_out_init(&o, r);

    ngx_http_disclosure_out_literal(&o, "\xef\xbb\xbf"
        "agency,name,state,published_at,deadline,below_agencies,"
        "below_published,below_on_time,below_late,below_draft,below_none\r\n");

    for (i = 0; i < agencies->u.array.len; i++) {
        a = agencies->u.array.values[i];
        below = ngx_http_disclosure_doc_get(a, "below");

        for (k = 0; fields[k]; k++) {
            if (k) {
                ngx_http_disclosure_out_literal(&o, ",");
            }

            ngx_http_disclosure_csv_value(&o,
                                    ngx_http_disclosure_doc_get(a, fields[k]));
        }

        for (k = 0; counts[k]; k++) {
            ngx_http_disclosure_out_literal(&o, ",");
            ngx_http_disclosure_csv_value(&o,
                                 ngx_http_disclosure_doc_get(below, counts[k]));
        }

        ngx_http_disclosure_out_literal(&o, "\r\n");
    }

    return ngx_http_disclosure_out_finish(&o, r, out);
}
