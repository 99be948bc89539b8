
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_PREVIEW_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_PREVIEW_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <yajl/yajl_tree.h>

#include "ngx_http_disclosure_module.h"
#include "ngx_http_disclosure_db.h"
#include "ngx_http_disclosure_route.h"
#include "ngx_http_disclosure_out.h"


/*
 * The editors' draft preview: "disclosure_preview on;" serves the current
 * draft of each report, through disclosure_preview_database and the SQL
 * schema disclosure_preview (sql/migrations/0030_preview.sql), with the
 * same routes and template as "disclosure;".  Its documents carry a member
 * "preview": {"findings": [...]} (check_report's rows), shown above the
 * report; its responses are never cached and say no-store and noindex.
 */

/* the directives, and their checks at configuration time */
char *ngx_http_disclosure_preview_database(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
char *ngx_http_disclosure_preview(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_disclosure_preview_init_main_conf(ngx_conf_t *cf,
    ngx_http_disclosure_main_conf_t *dmcf);
char *ngx_http_disclosure_preview_merge(ngx_conf_t *cf,
    ngx_http_disclosure_loc_conf_t *conf);

/* Cache-Control: no-store and X-Robots-Tag: noindex, on every response */
ngx_int_t ngx_http_disclosure_preview_headers(ngx_http_request_t *r);

/* the preview's function for the route, on the preview's database */
void ngx_http_disclosure_preview_query(ngx_http_request_t *r,
    ngx_http_disclosure_route_t *route, ngx_http_disclosure_query_t *q);

/* takes "preview" out of a document (JSON is the draft's document as is) */
void ngx_http_disclosure_preview_strip(yajl_val doc);

/* the banner and the findings of doc's "preview", HTML-escaped */
void ngx_http_disclosure_preview_banner(ngx_http_disclosure_out_t *o,
    yajl_val doc);

/* the same in front of a body (an HTML fragment) */
ngx_int_t ngx_http_disclosure_preview_prepend(ngx_http_request_t *r,
    yajl_val doc, ngx_chain_t **out);


#endif /* _NGX_HTTP_DISCLOSURE_PREVIEW_H_INCLUDED_ */
