
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * What the renderers write into: a chain of pool buffers, and the one
 * HTML escape.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_disclosure_out.h"


#define NGX_HTTP_DISCLOSURE_OUT_SIZE    8192
#define NGX_HTTP_DISCLOSURE_PRINTF_MAX  256


/* bytes that ngx_http_disclosure_escape_html() copies as they are */
static uint32_t  ngx_http_disclosure_html_plain[] = {
    0x00002600, /* 0000 0000 0000 0000  0010 0110 0000 0000: \t \n \r */

                /* ?>=< ;:98 7654 3210  /.-, +*)( '&%$ #"!  */
    0xafffff3b, /* 1010 1111 1111 1111  1111 1111 0011 1011: not " & ' < > */

                /* _^]\ [ZYX WVUT SRQP  ONML KJIH GFED CBA@ */
    0xffffffff, /* 1111 1111 1111 1111  1111 1111 1111 1111 */

                /*  ~}| {zyx wvut srqp  onml kjih gfed cba` */
    0x7fffffff, /* 0111 1111 1111 1111  1111 1111 1111 1111: not DEL */

    0xffffffff, /* UTF-8 */
    0xffffffff,
    0xffffffff,
    0xffffffff
};


static ngx_int_t ngx_http_disclosure_out_reserve(
    ngx_http_disclosure_out_t *o, size_t len);


void
ngx_http_disclosure_out_init(ngx_http_disclosure_out_t *o,
    ngx_http_request_t *r)
{
    o->pool = r->pool;
    o->log = r->connection->log;
    o->first = NULL;
    o->last = &o->first;
    o->buf = NULL;
    o->failed = 0;
}


/* makes room for len bytes in one buffer, starting a new one if needed */

static ngx_int_t
ngx_http_disclosure_out_reserve(ngx_http_disclosure_out_t *o, size_t len)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (o->failed) {
        return NGX_ERROR;
    }

    if (o->buf && (size_t) (o->buf->end - o->buf->last) >= len) {
        return NGX_OK;
    }

    b = ngx_create_temp_buf(o->pool,
                            ngx_max(len, NGX_HTTP_DISCLOSURE_OUT_SIZE));
    if (b == NULL) {
        goto failed;
    }

    cl = ngx_alloc_chain_link(o->pool);
    if (cl == NULL) {
        goto failed;
    }

    cl->buf = b;
    cl->next = NULL;

    *o->last = cl;
    o->last = &cl->next;
    o->buf = b;

    return NGX_OK;

failed:

    o->failed = 1;
    return NGX_ERROR;
}


/* ngx_http_disclosure_out_raw() when the buffer is full, or there is none */

void
ngx_http_disclosure_out_grow(ngx_http_disclosure_out_t *o, u_char *data,
    size_t len)
{
    size_t  n;

    while (len) {
        if (ngx_http_disclosure_out_reserve(o, 1) != NGX_OK) {
            return;
        }

        n = ngx_min(len, (size_t) (o->buf->end - o->buf->last));

        o->buf->last = ngx_cpymem(o->buf->last, data, n);
        data += n;
        len -= n;
    }
}


void
ngx_http_disclosure_out_html(ngx_http_disclosure_out_t *o,
    u_char *data, size_t len)
{
    size_t  n;

    /* text with nothing to escape (the format's labels, most numbers and
     * names) is copied as it is */

    for (n = 0; n < len; n++) {
        if (!(ngx_http_disclosure_html_plain[data[n] >> 5]
              & (1U << (data[n] & 0x1f))))
        {
            break;
        }
    }

    ngx_http_disclosure_out_raw(o, data, n);

    if (n == len) {
        return;
    }

    data += n;
    len -= n;

    n = ngx_http_disclosure_escape_html(NULL, data, len);

    if (ngx_http_disclosure_out_reserve(o, n) != NGX_OK) {
        return;
    }

    o->buf->last += ngx_http_disclosure_escape_html(o->buf->last, data, len);
}


/* links bytes that outlive the request (the template) without copying */

void
ngx_http_disclosure_out_ref(ngx_http_disclosure_out_t *o, ngx_str_t *s)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (o->failed || s->len == 0) {
        return;
    }

    b = ngx_calloc_buf(o->pool);
    if (b == NULL) {
        o->failed = 1;
        return;
    }

    b->pos = s->data;
    b->last = s->data + s->len;
    b->memory = 1;

    cl = ngx_alloc_chain_link(o->pool);
    if (cl == NULL) {
        o->failed = 1;
        return;
    }

    cl->buf = b;
    cl->next = NULL;

    *o->last = cl;
    o->last = &cl->next;
    o->buf = NULL;
}


/* for keys of the format and numbers only: the output is not escaped */

void
ngx_http_disclosure_out_printf(ngx_http_disclosure_out_t *o,
    const char *fmt, ...)
{
    u_char   *p, buf[NGX_HTTP_DISCLOSURE_PRINTF_MAX];
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    ngx_http_disclosure_out_raw(o, buf, p - buf);
}


ngx_int_t
ngx_http_disclosure_out_finish(ngx_http_disclosure_out_t *o,
    ngx_http_request_t *r, ngx_chain_t **out)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (o->first == NULL && !o->failed) {

        /* an empty body still needs a buffer to carry last_buf */

        cl = ngx_alloc_chain_link(o->pool);
        b = ngx_calloc_buf(o->pool);

        if (cl == NULL || b == NULL) {
            o->failed = 1;

        } else {
            b->sync = 1;
            cl->buf = b;
            cl->next = NULL;
            o->first = cl;
        }
    }

    if (o->failed || o->first == NULL) {
        ngx_log_error(NGX_LOG_ERR, o->log, 0,
                      "disclosure: no memory for the response body");
        return NGX_ERROR;
    }

    for (cl = o->first; cl->next; cl = cl->next) { /* void */ }

    b = cl->buf;
    b->last_in_chain = 1;
    b->last_buf = (r == r->main) ? 1 : 0;

    *out = o->first;

    return NGX_OK;
}


size_t
ngx_http_disclosure_escape_html(u_char *dst, u_char *src, size_t size)
{
    u_char  ch, *d;
    size_t  len;

    if (dst == NULL) {
        len = 0;

        while (size--) {
            ch = *src++;

            switch (ch) {

            case '&':
                len += sizeof("&amp;") - 1;
                break;

            case '\'':
                len += sizeof("&#39;") - 1;
                break;

            case '<':
            case '>':
                len += sizeof("&lt;") - 1;
                break;

            case '"':
                len += sizeof("&quot;") - 1;
                break;

            default:
                if ((ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r')
                    || ch == 0x7f)
                {
                    break;
                }

                len++;
            }
        }

        return len;
    }

    d = dst;

    while (size--) {
        ch = *src++;

        switch (ch) {

        case '&':
            d = ngx_cpymem(d, "&amp;", sizeof("&amp;") - 1);
            break;

        case '\'':
            d = ngx_cpymem(d, "&#39;", sizeof("&#39;") - 1);
            break;

        case '<':
            d = ngx_cpymem(d, "&lt;", sizeof("&lt;") - 1);
            break;

        case '>':
            d = ngx_cpymem(d, "&gt;", sizeof("&gt;") - 1);
            break;

        case '"':
            d = ngx_cpymem(d, "&quot;", sizeof("&quot;") - 1);
            break;

        default:
            /* a control character is a parse error in HTML */
            if ((ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r')
                || ch == 0x7f)
            {
                break;
            }

            *d++ = ch;
        }
    }

    return d - dst;
}
