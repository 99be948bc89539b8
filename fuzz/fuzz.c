
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#include "fuzz.h"


#define NGX_HTTP_DISCLOSURE_FUZZ_CAPTURE  65536


static void ngx_http_disclosure_fuzz_writer(ngx_log_t *log, ngx_uint_t level,
    u_char *buf, size_t len);


static ngx_open_file_t  ngx_http_disclosure_fuzz_file;

ngx_log_t  ngx_http_disclosure_fuzz_log;

static ngx_uint_t  ngx_http_disclosure_fuzz_capturing;
static u_char      ngx_http_disclosure_fuzz_captured[
                                            NGX_HTTP_DISCLOSURE_FUZZ_CAPTURE];
static ngx_str_t   ngx_http_disclosure_fuzz_text;


void
ngx_http_disclosure_fuzz_init(void)
{
    ngx_uint_t  n;

    ngx_pagesize = getpagesize();
    for (n = ngx_pagesize; n >>= 1; ngx_pagesize_shift++) { /* void */ }
    ngx_cacheline_size = NGX_CPU_CACHE_LINE;
    ngx_ncpu = 1;

    /* errors go to our log only, never to stderr */
    ngx_use_stderr = 0;

    if (ngx_strerror_init() != NGX_OK) {
        abort();
    }

    ngx_time_init();

    ngx_http_disclosure_fuzz_file.fd = NGX_INVALID_FILE;
    ngx_http_disclosure_fuzz_log.file = &ngx_http_disclosure_fuzz_file;
    ngx_http_disclosure_fuzz_log.writer = ngx_http_disclosure_fuzz_writer;

    /* every level, debug too: their format strings are run as well */
    ngx_http_disclosure_fuzz_log.log_level = NGX_LOG_DEBUG_ALL|NGX_LOG_DEBUG;

    ngx_http_disclosure_fuzz_text.data = ngx_http_disclosure_fuzz_captured;
}


static void
ngx_http_disclosure_fuzz_writer(ngx_log_t *log, ngx_uint_t level,
    u_char *buf, size_t len)
{
    size_t      room;
    ngx_str_t  *t;

    if (!ngx_http_disclosure_fuzz_capturing || level == NGX_LOG_DEBUG) {
        return;
    }

    t = &ngx_http_disclosure_fuzz_text;
    room = NGX_HTTP_DISCLOSURE_FUZZ_CAPTURE - t->len - 1;

    len = ngx_min(len, room);
    ngx_memcpy(t->data + t->len, buf, len);
    t->len += len;
    t->data[t->len++] = '\n';
}


void
ngx_http_disclosure_fuzz_capture(ngx_uint_t on)
{
    ngx_http_disclosure_fuzz_capturing = on;

    if (on) {
        ngx_http_disclosure_fuzz_text.len = 0;
    }
}


ngx_str_t *
ngx_http_disclosure_fuzz_logged(void)
{
    return &ngx_http_disclosure_fuzz_text;
}


ngx_http_request_t *
ngx_http_disclosure_fuzz_request(ngx_pool_t *pool)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ngx_pcalloc(pool, sizeof(ngx_http_request_t));
    c = ngx_pcalloc(pool, sizeof(ngx_connection_t));

    if (r == NULL || c == NULL) {
        abort();
    }

    c->log = &ngx_http_disclosure_fuzz_log;
    c->pool = pool;

    r->connection = c;
    r->pool = pool;
    r->main = r;

    return r;
}


ngx_int_t
ngx_http_disclosure_fuzz_join(ngx_pool_t *pool, ngx_chain_t *out,
    ngx_str_t *text)
{
    u_char       *p;
    size_t        len;
    ngx_chain_t  *cl;

    len = 0;

    for (cl = out; cl; cl = cl->next) {
        ngx_http_disclosure_fuzz_check(cl->buf->pos <= cl->buf->last,
                                       "a buffer ends before it starts");
        len += cl->buf->last - cl->buf->pos;
    }

    p = ngx_pnalloc(pool, len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    text->data = p;

    for (cl = out; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    *p = '\0';
    text->len = len;

    return NGX_OK;
}


char *
ngx_http_disclosure_fuzz_cstr(ngx_pool_t *pool, const uint8_t *data,
    size_t size)
{
    u_char  *p;

    p = ngx_pnalloc(pool, size + 1);
    if (p == NULL) {
        abort();
    }

    *ngx_cpymem(p, data, size) = '\0';

    return (char *) p;
}
