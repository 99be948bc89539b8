
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_GZIP_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_GZIP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/*
 * Cached responses are compressed once, when the entry is filled, and the
 * gzip variant is sent to the clients that take it (see _gzip.c).
 */


/* whether the client takes gzip and nginx's gzip settings allow it */
ngx_uint_t ngx_http_disclosure_gzip_accepted(ngx_http_request_t *r);

/* the body deflated into the pool, with the gzip wrapper: NGX_OK,
 * NGX_DECLINED (not worth it: no smaller), NGX_ERROR */
ngx_int_t ngx_http_disclosure_gzip_deflate(ngx_pool_t *pool,
    ngx_chain_t *body, ngx_str_t *out, ngx_log_t *log);

/* the headers of a response that has a gzip variant: Vary, and with
 * gzip set Content-Encoding and the variant's own ETag */
ngx_int_t ngx_http_disclosure_gzip_headers(ngx_http_request_t *r,
    ngx_uint_t gzip);


#endif /* _NGX_HTTP_DISCLOSURE_GZIP_H_INCLUDED_ */
