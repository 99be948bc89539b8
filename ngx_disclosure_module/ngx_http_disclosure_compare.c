
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * The comparison page (disclosure-compare/1): every cell of a year's
 * report with the previous year's value and the change.  One table per
 * table of the report, a <tbody> per row of it (the row label spans its
 * columns' lines), so that a screen reader reads "row, column, this year,
 * last year, change".  A cell that last year's format lacks is marked not
 * comparable, never compared with another cell.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_disclosure_route.h"
#include "ngx_http_disclosure_doc.h"
#include "ngx_http_disclosure_html.h"
#include "ngx_http_disclosure_csv.h"
#include "ngx_http_disclosure_page.h"
#include "ngx_http_disclosure_compare.h"


static ngx_int_t ngx_http_disclosure_compare_table(
    ngx_http_disclosure_page_t *pg, yajl_val t, ngx_int_t year,
    ngx_uint_t previous);
static ngx_int_t ngx_http_disclosure_compare_csv(ngx_http_request_t *r,
    yajl_val tables, ngx_chain_t **out);


ngx_int_t
ngx_http_disclosure_compare(ngx_http_request_t *r, yajl_val doc,
    ngx_str_t *prefix, ngx_http_disclosure_loc_conf_t *dlcf,
    ngx_uint_t variant, ngx_str_t *part, ngx_chain_t **out)
{
    size_t                       i;
    yajl_val                     agency, tables, prev, t;
    ngx_int_t                    year, pyear;
    const char                  *name, *slug, *key;
    ngx_http_disclosure_page_t   pg;

    if (ngx_http_disclosure_check_document(r->connection->log, doc,
                                           "disclosure-compare/1")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    agency = ngx_http_disclosure_doc_get(doc, "agency");
    name = ngx_http_disclosure_doc_get_string(agency, "name");
    slug = ngx_http_disclosure_doc_get_string(agency, "slug");
    tables = ngx_http_disclosure_doc_get(doc, "tables");
    prev = ngx_http_disclosure_doc_get(doc, "previous");

    if (name == NULL || slug == NULL || !YAJL_IS_ARRAY(tables)
        || ngx_http_disclosure_doc_get_int(doc, "year", &year) != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "disclosure: compare document lacks agency, year "
                      "or tables");
        return NGX_ERROR;
    }

    if (variant == NGX_HTTP_DISCLOSURE_CSV) {
        return ngx_http_disclosure_compare_csv(r, tables, out);
    }

    ngx_http_disclosure_page_init(&pg, r, prefix, dlcf,
                                  variant == NGX_HTTP_DISCLOSURE_FRAGMENT);

    if (pg.fragment) {
        ngx_http_disclosure_page_begin(&pg, NULL, "");

        for (i = 0; i < tables->u.array.len; i++) {
            t = tables->u.array.values[i];
            key = ngx_http_disclosure_doc_get_string(t, "key");

            if (key && ngx_strlen(key) == part->len
                && ngx_strncmp(key, part->data, part->len) == 0)
            {
                if (ngx_http_disclosure_compare_table(&pg, t, year,
                                                      YAJL_IS_OBJECT(prev))
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }

                return ngx_http_disclosure_page_end(&pg, out);
            }
        }

        /* the report's format has no such table */
        return NGX_DECLINED;
    }

    ngx_http_disclosure_page_begin(&pg, name, " 年度报告与上年对比");
    ngx_http_disclosure_page_nav(&pg, doc);

    ngx_http_disclosure_out_literal(&pg.out, "<h1>");
    ngx_http_disclosure_out_html_cstr(&pg.out, name);
    ngx_http_disclosure_out_printf(&pg.out,
                                   " %i年度报告与上年对比</h1>\n<p>", year);

    if (YAJL_IS_OBJECT(prev)
        && ngx_http_disclosure_doc_get_int(prev, "year", &pyear) == NGX_OK)
    {
        ngx_http_disclosure_out_printf(&pg.out,
            "每一格：%i年度的数字，%i年度的数字，二者之差。"
            "上年报告使用另一版格式、没有同一格的，标为“不可比”。", year,
            pyear);

    } else {
        ngx_http_disclosure_out_printf(&pg.out,
            "没有已发布的%i年度报告，无从对比；下表只列出%i年度的数字。",
            year - 1, year);
    }

    ngx_http_disclosure_out_literal(&pg.out, "</p>\n<p>");
    ngx_http_disclosure_page_link(&pg, slug, "/%i.html", year);
    ngx_http_disclosure_out_printf(&pg.out, "%i年度报告全文", year);
    ngx_http_disclosure_page_unlink(&pg);

    if (YAJL_IS_OBJECT(prev)) {
        ngx_http_disclosure_out_literal(&pg.out, "　");
        ngx_http_disclosure_page_link(&pg, slug, "/%i.html", year - 1);
        ngx_http_disclosure_out_printf(&pg.out, "%i年度报告全文", year - 1);
        ngx_http_disclosure_page_unlink(&pg);
    }

    ngx_http_disclosure_out_literal(&pg.out, "　");
    ngx_http_disclosure_page_link(&pg, slug, "/trend");
    ngx_http_disclosure_out_literal(&pg.out, "历年主要数据");
    ngx_http_disclosure_page_unlink(&pg);
    ngx_http_disclosure_out_literal(&pg.out, "</p>\n");

    for (i = 0; i < tables->u.array.len; i++) {
        if (ngx_http_disclosure_compare_table(&pg, tables->u.array.values[i],
                                              year, YAJL_IS_OBJECT(prev))
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (pg.links) {
        ngx_http_disclosure_out_literal(&pg.out,
                                        "<p class=\"d-downloads\">下载：");
        ngx_http_disclosure_page_link(&pg, slug, "/%i/compare.csv", year);
        ngx_http_disclosure_out_literal(&pg.out, "CSV</a> ");
        ngx_http_disclosure_page_link(&pg, slug, "/%i/compare.json", year);
        ngx_http_disclosure_out_literal(&pg.out, "JSON</a></p>\n");
    }

    return ngx_http_disclosure_page_end(&pg, out);
}


static ngx_int_t
ngx_http_disclosure_compare_table(ngx_http_disclosure_page_t *pg, yajl_val t,
    ngx_int_t year, ngx_uint_t previous)
{
    size_t       i, j, n;
    yajl_val     cells, c;
    const char  *key, *heading, *row, *next, *label, *group, *col;

    key = ngx_http_disclosure_doc_get_string(t, "key");
    heading = ngx_http_disclosure_doc_get_string(t, "heading");
    cells = ngx_http_disclosure_doc_get(t, "cells");

    if (key == NULL || heading == NULL || !YAJL_IS_ARRAY(cells)) {
        return ngx_http_disclosure_page_missing(pg, "tables[].cells");
    }

    if (!pg->fragment) {
        ngx_http_disclosure_out_literal(&pg->out, "<h2>");
        ngx_http_disclosure_out_html_cstr(&pg->out, heading);
        ngx_http_disclosure_out_literal(&pg->out, "</h2>\n");
    }

    ngx_http_disclosure_out_literal(&pg->out,
        "<div class=\"d-scroll\" role=\"region\" tabindex=\"0\" aria-label=\"");
    ngx_http_disclosure_out_html_cstr(&pg->out, heading);
    ngx_http_disclosure_out_literal(&pg->out,
        "\">\n<table class=\"d-table d-compare d-c-");
    ngx_http_disclosure_out_html_cstr(&pg->out, key);
    ngx_http_disclosure_out_literal(&pg->out, "\">\n<caption>");
    ngx_http_disclosure_out_html_cstr(&pg->out, heading);
    ngx_http_disclosure_out_printf(&pg->out,
        "：%i年度与%i年度对比</caption>\n<thead><tr>", year, year - 1);
    ngx_http_disclosure_out_printf(&pg->out,
        "<th scope=\"col\">项目</th><th scope=\"col\">栏目</th>"
        "<th scope=\"col\">%i年度</th><th scope=\"col\">%i年度</th>",
        year, year - 1);
    ngx_http_disclosure_out_literal(&pg->out,
        "<th scope=\"col\">变化</th></tr></thead>\n");

    for (i = 0; i < cells->u.array.len; i = j) {
        row = ngx_http_disclosure_doc_get_string(cells->u.array.values[i], "row");

        if (row == NULL) {
            return ngx_http_disclosure_page_missing(pg, "cells[].row");
        }

        /* the cells of one row come together, in the format's order */
        for (j = i + 1; j < cells->u.array.len; j++) {
            next = ngx_http_disclosure_doc_get_string(cells->u.array.values[j],
                                                  "row");
            if (next == NULL || ngx_strcmp(next, row) != 0) {
                break;
            }
        }

        n = j - i;
        c = cells->u.array.values[i];
        label = ngx_http_disclosure_doc_get_string(c, "row_label");
        group = ngx_http_disclosure_doc_get_string(c, "row_group");

        ngx_http_disclosure_out_printf(&pg->out,
            "<tbody><tr><th scope=\"rowgroup\" rowspan=\"%uz\">", n);

        if (group && *group) {
            ngx_http_disclosure_out_html_cstr(&pg->out, group);
            ngx_http_disclosure_out_literal(&pg->out, " · ");
        }

        if (label) {
            ngx_http_disclosure_out_html_cstr(&pg->out, label);
        }

        ngx_http_disclosure_out_literal(&pg->out, "</th>");

        for (n = i; n < j; n++) {
            c = cells->u.array.values[n];
            col = ngx_http_disclosure_doc_get_string(c, "col_label");

            if (n > i) {
                ngx_http_disclosure_out_literal(&pg->out, "<tr>");
            }

            ngx_http_disclosure_out_literal(&pg->out, "<th scope=\"row\">");

            if (col) {
                ngx_http_disclosure_out_html_cstr(&pg->out, col);
            }

            ngx_http_disclosure_out_literal(&pg->out,
                                            "</th><td class=\"d-num\">");
            ngx_http_disclosure_page_value(pg,
                                      ngx_http_disclosure_doc_get(c, "value"));
            ngx_http_disclosure_out_literal(&pg->out, "</td><td class=\"d-num");

            if (!previous) {
                ngx_http_disclosure_out_literal(&pg->out, "\">无报告");

            } else if (YAJL_IS_FALSE(ngx_http_disclosure_doc_get(c, "comparable")))
            {
                ngx_http_disclosure_out_literal(&pg->out,
                                                " d-nc\">不可比");

            } else {
                ngx_http_disclosure_out_literal(&pg->out, "\">");
                ngx_http_disclosure_page_value(pg,
                                    ngx_http_disclosure_doc_get(c, "previous"));
            }

            ngx_http_disclosure_out_literal(&pg->out,
                                            "</td><td class=\"d-num\">");
            ngx_http_disclosure_page_change(pg,
                                      ngx_http_disclosure_doc_get(c, "change"));
            ngx_http_disclosure_out_literal(&pg->out, "</td></tr>\n");
        }

        ngx_http_disclosure_out_literal(&pg->out, "</tbody>\n");
    }

    ngx_http_disclosure_out_literal(&pg->out, "</table>\n</div>\n");

    return NGX_OK;
}


/* "table,row,col,value,previous,change"; previous "not_comparable" */

static ngx_int_t
ngx_http_disclosure_compare_csv(ngx_http_request_t *r, yajl_val tables,
    ngx_chain_t **out)
{
    size_t                      i, j;
    yajl_val                    cells, c, v;
    const char                 *key;
    ngx_http_disclosure_out_t   o;

    ngx_http_disclosure_out_init(&o, r);

    ngx_http_disclosure_out_literal(&o, "\xef\xbb\xbf"
                                    "table,row,col,value,previous,change\r\n");

    for (i = 0; i < tables->u.array.len; i++) {
        key = ngx_http_disclosure_doc_get_string(tables->u.array.values[i], "key");
        cells = ngx_http_disclosure_doc_get(tables->u.array.values[i], "cells");

        if (key == NULL || !YAJL_IS_ARRAY(cells)) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "disclosure: compare document lacks tables[].cells");
            return NGX_ERROR;
        }

        for (j = 0; j < cells->u.array.len; j++) {
            c = cells->u.array.values[j];

            ngx_http_disclosure_csv_text(&o, (u_char *) key);
            ngx_http_disclosure_out_literal(&o, ",");
            ngx_http_disclosure_csv_value(&o, ngx_http_disclosure_doc_get(c, "row"));
            ngx_http_disclosure_out_literal(&o, ",");
            ngx_http_disclosure_csv_value(&o, ngx_http_disclosure_doc_get(c, "col"));
            ngx_http_disclosure_out_literal(&o, ",");
            ngx_http_disclosure_csv_value(&o,
                                        ngx_http_disclosure_doc_get(c, "value"));
            ngx_http_disclosure_out_literal(&o, ",");

            v = ngx_http_disclosure_doc_get(c, "comparable");

            if (YAJL_IS_FALSE(v)) {
                ngx_http_disclosure_out_literal(&o, "not_comparable");

            } else {
                ngx_http_disclosure_csv_value(&o,
                                     ngx_http_disclosure_doc_get(c, "previous"));
            }

            ngx_http_disclosure_out_literal(&o, ",");
            ngx_http_disclosure_csv_value(&o,
                                        ngx_http_disclosure_doc_get(c, "change"));
            ngx_http_disclosure_out_literal(&o, "\r\n");
        }
    }

    return ngx_http_disclosure_out_finish(&o, r, out);
}
