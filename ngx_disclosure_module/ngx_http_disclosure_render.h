
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_RENDER_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_RENDER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <yajl/yajl_tree.h>

#include "ngx_http_disclosure_module.h"
#include "ngx_http_disclosure_format.h"


/*
 * The renderers.  Each takes a parsed document (ngx_http_disclosure_parse()
 * of the text the web API returned) and builds the response body in
 * r->pool:
 *
 *   NGX_OK        *out is the body; its last buffer has last_in_chain set,
 *                 and last_buf too when r is the main request
 *   NGX_DECLINED  (fragment only) the document's format has no such table
 *   NGX_ERROR     the document lacks something it must have, or memory
 *                 ran out; the reason has been logged once
 *
 * prefix is the location prefix that links are made relative to, e.g.
 * "/reports/" (a missing trailing slash is supplied); links are
 * {prefix}{slug}/ for an agency and {prefix}{slug}/{year}.html (.csv,
 * .json) for a report.  NULL or empty prefix: the page has no links.
 *
 * dlcf supplies the portal template (disclosure_template); NULL or no
 * template: a complete HTML5 page of our own.
 */

/* the web API's JSON as a yajl_val tree built in pool (never freed by
 * yajl_tree_free); NULL and *error set (possibly empty: no memory) when
 * the text is not JSON */
yajl_val ngx_http_disclosure_parse(ngx_pool_t *pool, ngx_log_t *log,
    u_char *text, size_t len, ngx_str_t *error);

/* disclosure-report/1: the whole report page */
ngx_int_t ngx_http_disclosure_html_report(ngx_http_request_t *r,
    yajl_val doc, ngx_str_t *prefix, ngx_http_disclosure_loc_conf_t *dlcf,
    ngx_chain_t **out);

/* disclosure-report/1: one table ("proactive", "applications", "appeals")
 * as an HTML fragment for SSI: no <html> wrapper, own <style> included */
ngx_int_t ngx_http_disclosure_html_fragment(ngx_http_request_t *r,
    yajl_val doc, ngx_str_t *table, ngx_chain_t **out);

/* disclosure-index/1: every agency, nested by hierarchy, with its years */
ngx_int_t ngx_http_disclosure_html_index(ngx_http_request_t *r,
    yajl_val doc, ngx_str_t *prefix, ngx_http_disclosure_loc_conf_t *dlcf,
    ngx_chain_t **out);

/* disclosure-agency/1: one agency, its reports and its children */
ngx_int_t ngx_http_disclosure_html_agency(ngx_http_request_t *r,
    yajl_val doc, ngx_str_t *prefix, ngx_http_disclosure_loc_conf_t *dlcf,
    ngx_chain_t **out);

/* disclosure-report/1: every cell as "table,row,col,value", UTF-8 with BOM,
 * CRLF, RFC 4180 quoting, formula injection guarded */
ngx_int_t ngx_http_disclosure_csv(ngx_http_request_t *r, yajl_val doc,
    ngx_chain_t **out);

/*
 * The pages across reports (ngx_http_disclosure_trend.c, _compare.c,
 * _rollup.c): variant is HTML (a page), FRAGMENT (for SSI: no page around
 * it; part names the table, or "completeness", where a page has several)
 * or CSV.  disclosure-trend/1, disclosure-compare/1, disclosure-rollup/1,
 * disclosure-year/1.
 */
ngx_int_t ngx_http_disclosure_trend(ngx_http_request_t *r, yajl_val doc,
    ngx_str_t *prefix, ngx_http_disclosure_loc_conf_t *dlcf,
    ngx_uint_t variant, ngx_chain_t **out);
ngx_int_t ngx_http_disclosure_compare(ngx_http_request_t *r, yajl_val doc,
    ngx_str_t *prefix, ngx_http_disclosure_loc_conf_t *dlcf,
    ngx_uint_t variant, ngx_str_t *part, ngx_chain_t **out);
ngx_int_t ngx_http_disclosure_rollup(ngx_http_request_t *r, yajl_val doc,
    ngx_str_t *prefix, ngx_http_disclosure_loc_conf_t *dlcf,
    ngx_uint_t variant, ngx_str_t *part, ngx_chain_t **out);
ngx_int_t ngx_http_disclosure_year(ngx_http_request_t *r, yajl_val doc,
    ngx_str_t *prefix, ngx_http_disclosure_loc_conf_t *dlcf,
    ngx_uint_t variant, ngx_chain_t **out);

/* any document, re-serialized compactly; number texts kept as given,
 * "/" escaped so that "</script>" cannot appear */
ngx_int_t ngx_http_disclosure_json(ngx_http_request_t *r, yajl_val doc,
    ngx_chain_t **out);

/* the "disclosure_template" directive (NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|
 * NGX_CONF_TAKE1, NGX_HTTP_LOC_CONF_OFFSET, offset 0): reads the portal page
 * at configuration time and splits it at "<!--# disclosure -->" into
 * template_head and template_tail; merge_loc_conf must merge template_file,
 * template_head and template_tail (ngx_conf_merge_str_value) */
char *ngx_http_disclosure_template(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


/*
 * Shared by the renderers (ngx_http_disclosure_render.c).
 */

/* writes into a chain of pool buffers; after the first failure every
 * write is a no-op and ngx_http_disclosure_out_finish() returns NGX_ERROR */
typedef struct {
    ngx_pool_t                  *pool;
    ngx_log_t                   *log;
    ngx_chain_t                 *first;
    ngx_chain_t                **last;
    ngx_buf_t                   *buf;
    ngx_uint_t                   failed;
} ngx_http_disclosure_out_t;


void ngx_http_disclosure_out_init(ngx_http_disclosure_out_t *o,
    ngx_http_request_t *r);
void ngx_http_disclosure_out_grow(ngx_http_disclosure_out_t *o,
    u_char *data, size_t len);
void ngx_http_disclosure_out_html(ngx_http_disclosure_out_t *o,
    u_char *data, size_t len);
void ngx_http_disclosure_out_ref(ngx_http_disclosure_out_t *o,
    ngx_str_t *s);
void ngx_http_disclosure_out_printf(ngx_http_disclosure_out_t *o,
    const char *fmt, ...);
ngx_int_t ngx_http_disclosure_out_finish(ngx_http_disclosure_out_t *o,
    ngx_http_request_t *r, ngx_chain_t **out);

/* most writes are a few bytes into room the buffer has: inline */
static ngx_inline void
ngx_http_disclosure_out_raw(ngx_http_disclosure_out_t *o, u_char *data,
    size_t len)
{
    if (o->buf && (size_t) (o->buf->end - o->buf->last) >= len) {
        o->buf->last = ngx_cpymem(o->buf->last, data, len);
        return;
    }

    ngx_http_disclosure_out_grow(o, data, len);
}


#define ngx_http_disclosure_out_literal(o, s)                                 \
    ngx_http_disclosure_out_raw(o, (u_char *) s, sizeof(s) - 1)
#define ngx_http_disclosure_out_str(o, s)                                     \
    ngx_http_disclosure_out_raw(o, (s)->data, (s)->len)
#define ngx_http_disclosure_out_html_str(o, s)                                \
    ngx_http_disclosure_out_html(o, (s)->data, (s)->len)
#define ngx_http_disclosure_out_html_cstr(o, s)                               \
    ngx_http_disclosure_out_html(o, (u_char *) s, ngx_strlen(s))


/* the page around a body (the portal's template or our own page, with
 * the stylesheet), as the report pages have it (_html.c) */
void ngx_http_disclosure_page_open(ngx_http_disclosure_out_t *o,
    ngx_http_disclosure_loc_conf_t *dlcf, ngx_str_t *title);
void ngx_http_disclosure_page_close(ngx_http_disclosure_out_t *o,
    ngx_http_disclosure_loc_conf_t *dlcf);
void ngx_http_disclosure_page_style(ngx_http_disclosure_out_t *o);

/* <time datetime="...">2025-01-20</time> */
void ngx_http_disclosure_out_time(ngx_http_disclosure_out_t *o,
    const char *ts);

/* CSV fields (_csv.c): a number or text as the document gives it; text
 * quoted as RFC 4180 asks, a formula neutralised */
void ngx_http_disclosure_csv_value(ngx_http_disclosure_out_t *o, yajl_val v);
void ngx_http_disclosure_csv_text(ngx_http_disclosure_out_t *o, u_char *s);

/* the one HTML escape: & < > " ' become entities, C0 controls other than
 * tab, LF and CR are dropped; dst == NULL returns the escaped length */
size_t ngx_http_disclosure_escape_html(u_char *dst, u_char *src,
    size_t size);


/* document access: members by key, NULL when absent or of another type */
yajl_val ngx_http_disclosure_get(yajl_val obj, const char *key);
yajl_val ngx_http_disclosure_get_str(yajl_val obj, ngx_str_t *key);
const char *ngx_http_disclosure_get_string(yajl_val obj, const char *key);
ngx_int_t ngx_http_disclosure_get_int(yajl_val obj, const char *key,
    ngx_int_t *n);

/* checks "document" and, for reports, finds the format; logs on failure */
ngx_int_t ngx_http_disclosure_check_document(ngx_log_t *log, yajl_val doc,
    const char *type);
ngx_http_disclosure_format_t *ngx_http_disclosure_report_format(
    ngx_log_t *log, yajl_val doc);

/* the value of tables.{table}.{row}.{col}; logs and returns NULL if absent;
 * a JSON null comes back as a yajl_val of type yajl_t_null */
yajl_val ngx_http_disclosure_cell_value(ngx_log_t *log, yajl_val tables,
    ngx_http_disclosure_table_t *t, ngx_http_disclosure_cell_t *c);

/* the values of every cell of t, in the order of t->cells, into an array
 * of the pool; required: an absent value or one of another type is logged
 * and NGX_ERROR; otherwise it is NULL in the array */
ngx_int_t ngx_http_disclosure_cell_values(ngx_log_t *log, ngx_pool_t *pool,
    yajl_val tables, ngx_http_disclosure_table_t *t, ngx_uint_t required,
    yajl_val **values);


#endif /* _NGX_HTTP_DISCLOSURE_RENDER_H_INCLUDED_ */
