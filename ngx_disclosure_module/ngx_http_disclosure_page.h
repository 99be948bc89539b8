
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_PAGE_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_PAGE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <yajl/yajl_tree.h>

#include "ngx_http_disclosure_module.h"
#include "ngx_http_disclosure_out.h"


/*
 * What the pages across reports share (ngx_http_disclosure_page.c): the
 * page or fragment around a body, links below the location's prefix, the
 * way a number, a change and a year's state are written.
 */

typedef struct {
    ngx_http_disclosure_out_t          out;
    ngx_http_request_t                *r;
    ngx_log_t                         *log;
    ngx_pool_t                        *pool;
    ngx_http_disclosure_loc_conf_t    *dlcf;
    ngx_str_t                          prefix;      /* ends with "/" */
    ngx_uint_t                         links;       /* prefix not empty */
    ngx_uint_t                         fragment;
} ngx_http_disclosure_page_t;


/* the pages' own stylesheet as a <style> element, for a fragment: sent
 * after the report's (_handler.c) */
void ngx_http_disclosure_page_style(ngx_str_t *style);

void ngx_http_disclosure_page_init(ngx_http_disclosure_page_t *pg,
    ngx_http_request_t *r, ngx_str_t *prefix,
    ngx_http_disclosure_loc_conf_t *dlcf, ngx_uint_t fragment);

/* a page (title: text, escaped here) or a fragment's opening <div> */
void ngx_http_disclosure_page_begin(ngx_http_disclosure_page_t *pg,
    const char *name, const char *title_suffix);
ngx_int_t ngx_http_disclosure_page_end(ngx_http_disclosure_page_t *pg,
    ngx_chain_t **out);

/* <a href="{prefix}{slug}{tail}">, the slug URI-escaped; slug NULL: the
 * prefix itself; nothing without links */
void ngx_http_disclosure_page_link(ngx_http_disclosure_page_t *pg,
    const char *slug, const char *fmt, ...);
void ngx_http_disclosure_page_unlink(ngx_http_disclosure_page_t *pg);

/* 全部机关 › ancestors › the agency (linked), as a <nav> */
void ngx_http_disclosure_page_nav(ngx_http_disclosure_page_t *pg,
    yajl_val doc);

/* a cell as the report gives it: number, blank, "/", 未列出 */
void ngx_http_disclosure_page_value(ngx_http_disclosure_page_t *pg,
    yajl_val v);

/* "+3", "-2", "0"; nothing for null */
void ngx_http_disclosure_page_change(ngx_http_disclosure_page_t *pg,
    yajl_val v);

/* the state of a year's report: 按时发布, 逾期发布, 仅有草稿, 未发布 */
const char *ngx_http_disclosure_page_state(const char *state);

/* "3 个机关：已发布 2 个（按时 1 个，逾期 1 个），仅有草稿 0 个，未发布 1 个" */
void ngx_http_disclosure_page_counts(ngx_http_disclosure_page_t *pg,
    yajl_val counts);

/* the completeness table of a roll-up or year page: agencies[] */
ngx_int_t ngx_http_disclosure_page_states(ngx_http_disclosure_page_t *pg,
    yajl_val agencies, ngx_int_t year, const char *caption);

ngx_int_t ngx_http_disclosure_page_missing(ngx_http_disclosure_page_t *pg,
    const char *what);


#endif /* _NGX_HTTP_DISCLOSURE_PAGE_H_INCLUDED_ */
