
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_HTML_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_HTML_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <yajl/yajl_tree.h>

#include "ngx_http_disclosure_module.h"
#include "ngx_http_disclosure_format.h"
#include "ngx_http_disclosure_out.h"


/*
 * The HTML pages of one document (_html.c); the return codes, prefix and
 * dlcf as ngx_http_disclosure_out.h says.
 */

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

/* the page around a body (the portal's template or our own page, with
 * the stylesheet), as the report pages have it; for the pages across
 * reports (_page.c) */
void ngx_http_disclosure_html_page_open(ngx_http_disclosure_out_t *o,
    ngx_http_disclosure_loc_conf_t *dlcf, ngx_str_t *title);
void ngx_http_disclosure_html_page_close(ngx_http_disclosure_out_t *o,
    ngx_http_disclosure_loc_conf_t *dlcf);
void ngx_http_disclosure_html_page_style(ngx_http_disclosure_out_t *o);

/* the stylesheet as a <style> element, for a fragment (_handler.c) */
void ngx_http_disclosure_html_style(ngx_str_t *style);

/* <time datetime="...">2025-01-20</time> */
void ngx_http_disclosure_html_out_time(ngx_http_disclosure_out_t *o,
    const char *ts);


/* a report page being written: _html.c writes the page, _grid.c the
 * statistic tables into it */
typedef struct {
    ngx_http_disclosure_out_t       out;
    ngx_log_t                      *log;
    ngx_pool_t                     *pool;
    yajl_val                        doc;
    yajl_val                        tables;
    yajl_val                        derived;    /* legacy: derived_totals */
    yajl_val                        merged;     /* legacy: the printed （六） */
    ngx_http_disclosure_table_t    *vtable;     /* the table of: */
    ngx_uint_t                     *at;         /* row, col: cell index + 1 */
    yajl_val                       *values;     /* by cell index, as printed */
    yajl_val                       *dvalues;    /* derived, where they differ */
    ngx_str_t                       prefix;     /* ends with "/" */
    ngx_uint_t                      links;
    ngx_uint_t                      page;       /* not a fragment */
    ngx_uint_t                      differs;
} ngx_http_disclosure_html_t;


/* marks h failed and logs "no memory"; returns NGX_ERROR */
ngx_int_t ngx_http_disclosure_html_nomem(ngx_http_disclosure_html_t *h);


#endif /* _NGX_HTTP_DISCLOSURE_HTML_H_INCLUDED_ */
