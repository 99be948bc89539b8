
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_OUT_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_OUT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/*
 * What the renderers write into (_out.c).  Every renderer (_html.c, _csv.c,
 * _json.c, _trend.c, _compare.c, _rollup.c) takes a parsed document
 * (ngx_http_disclosure_doc_parse() of the text the web API returned) and
 * builds the response body in r->pool:
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


/* the one HTML escape: & < > " ' become entities, C0 controls other than
 * tab, LF and CR are dropped; dst == NULL returns the escaped length */
size_t ngx_http_disclosure_escape_html(u_char *dst, u_char *src,
    size_t size);


#endif /* _NGX_HTTP_DISCLOSURE_OUT_H_INCLUDED_ */
