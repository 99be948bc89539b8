
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * CSV: "table,row,col,value,derived", one line per cell of the format in
 * format order.  value is the cell as the report gives it: a number, empty
 * (blank), "/" or "not_printed"; a legacy report's totals as printed.
 * derived is empty unless a legacy report printed a total that differs from
 * the one its parts add up to: then it is that derived total.  A 2021 report
 * that printed （六）其他处理 as one row has that row's lines after the
 * applications cells, under the 2019 key: applications,other,{col}.
 * UTF-8 with a byte order mark and CRLF, so that spreadsheet programs on
 * Chinese Windows read it as UTF-8; RFC 4180 quoting.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_disclosure_doc.h"
#include "ngx_http_disclosure_csv.h"


static void ngx_http_disclosure_csv_line(ngx_http_disclosure_out_t *o,
    ngx_http_disclosure_table_t *t, ngx_str_t *row, ngx_str_t *col,
    yajl_val v, yajl_val derived);


ngx_int_t
ngx_http_disclosure_csv(ngx_http_request_t *r, yajl_val doc,
    ngx_chain_t **out)
{
    ngx_uint_t                     i, j;
    yajl_val                       tables, derived, merged, *values, *dvalues;
    ngx_str_t                      other = ngx_string("other");
    ngx_http_disclosure_out_t      o;
    ngx_http_disclosure_cell_t    *c;
    ngx_http_disclosure_table_t   *t;
    ngx_http_disclosure_format_t  *fmt;

    fmt = ngx_http_disclosure_report_format(r->connection->log, doc);
    if (fmt == NULL) {
        return NGX_ERROR;
    }

    tables = ngx_http_disclosure_doc_get(doc, "tables");
    if (!YAJL_IS_OBJECT(tables)) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "disclosure: report document has no \"tables\"");
        return NGX_ERROR;
    }

    derived = NULL;
    merged = NULL;

    if (YAJL_IS_TRUE(ngx_http_disclosure_doc_get(doc, "legacy"))) {
        derived = ngx_http_disclosure_doc_get(doc, "derived_totals");
        merged = ngx_http_disclosure_doc_get(ngx_http_disclosure_doc_get(
                     ngx_http_disclosure_doc_get(doc, "published_totals"),
                     "applications"), "other");
    }

    ngx_http_disclosure_out_init(&o, r);

    ngx_http_disclosure_out_literal(&o, "\xef\xbb\xbf"
                                    "table,row,col,value,derived\r\n");

    for (i = 0; i < fmt->ntables; i++) {
        t = &fmt->tables[i];

        if (ngx_http_disclosure_cell_values(r->connection->log, r->pool,
                                            tables, t, 1, &values)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        dvalues = NULL;

        if (YAJL_IS_OBJECT(derived)
            && ngx_http_disclosure_cell_values(r->connection->log, r->pool,
                                               derived, t, 0, &dvalues)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        for (j = 0; j < t->ncells; j++) {
            c = &t->cells[j];

            ngx_http_disclosure_csv_line(&o, t, &t->rows[c->row].key,
                                         &t->cols[c->col].key, values[j],
                                         dvalues ? dvalues[j] : NULL);
        }

        if (YAJL_IS_OBJECT(merged) && t->key.len == 12
            && ngx_strncmp(t->key.data, "applications", 12) == 0)
        {
            for (j = 0; j < t->ncols; j++) {
                ngx_http_disclosure_csv_line(&o, t, &other, &t->cols[j].key,
                    ngx_http_disclosure_doc_get_str(merged, &t->cols[j].key),
                    NULL);
            }
        }
    }

    return ngx_http_disclosure_out_finish(&o, r, out);
}


/* one line; keys are [a-z0-9_]: never quoted; an absent value: not printed */

static void
ngx_http_disclosure_csv_line(ngx_http_disclosure_out_t *o,
    ngx_http_disclosure_table_t *t, ngx_str_t *row, ngx_str_t *col,
    yajl_val v, yajl_val derived)
{
    ngx_http_disclosure_out_str(o, &t->key);
    ngx_http_disclosure_out_literal(o, ",");
    ngx_http_disclosure_out_str(o, row);
    ngx_http_disclosure_out_literal(o, ",");
    ngx_http_disclosure_out_str(o, col);
    ngx_http_disclosure_out_literal(o, ",");

    if (v == NULL) {
        ngx_http_disclosure_out_literal(o, "not_printed");

    } else {
        ngx_http_disclosure_csv_value(o, v);
    }

    ngx_http_disclosure_out_literal(o, ",");

    if (derived) {
        ngx_http_disclosure_csv_value(o, derived);
    }

    ngx_http_disclosure_out_literal(o, "\r\n");
}


void
ngx_http_disclosure_csv_value(ngx_http_disclosure_out_t *o, yajl_val v)
{
    if (YAJL_IS_NUMBER(v)) {
        ngx_http_disclosure_out_raw(o, (u_char *) v->u.number.r,
                                    ngx_strlen(v->u.number.r));

    } else if (YAJL_IS_STRING(v)) {
        ngx_http_disclosure_csv_text(o, (u_char *) v->u.string);
    }
}


/*
 * A text field.  One that a spreadsheet would take for a formula gets a
 * leading apostrophe; one with a comma, quote or line break is quoted.
 */

void
ngx_http_disclosure_csv_text(ngx_http_disclosure_out_t *o, u_char *s)
{
    u_char      *p, *q;
    size_t       len;
    ngx_uint_t   quote;

    len = ngx_strlen(s);
    quote = 0;

    for (p = s; p < s + len; p++) {
        if (*p == ',' || *p == '"' || *p == '\r' || *p == '\n') {
            quote = 1;
            break;
        }
    }

    if (quote) {
        ngx_http_disclosure_out_literal(o, "\"");
    }

    if (len && (*s == '=' || *s == '+' || *s == '-' || *s == '@'
                || *s == '\t' || *s == '\r'))
    {
        ngx_http_disclosure_out_literal(o, "'");
    }

    if (!quote) {
        ngx_http_disclosure_out_raw(o, s, len);
        return;
    }

    for (p = s; ; p = q + 1) {
        q = ngx_strlchr(p, s + len, '"');

        if (q == NULL) {
            ngx_http_disclosure_out_raw(o, p, s + len - p);
            break;
        }

        ngx_http_disclosure_out_raw(o, p, q + 1 - p);
        ngx_http_disclosure_out_literal(o, "\"");
    }

    ngx_http_disclosure_out_literal(o, "\"");
}
