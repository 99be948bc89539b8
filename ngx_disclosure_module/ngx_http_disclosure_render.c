
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * What the renderers share: a writer that builds a chain of pool buffers,
 * the one HTML escape, and lookups into a parsed document.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_disclosure_render.h"


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
static yajl_val ngx_http_disclosure_get_from(yajl_val obj, ngx_str_t *key,
    size_t *next);
static yajl_val ngx_http_disclosure_cell_check(ngx_log_t *log,
    ngx_http_disclosure_table_t *t, ngx_http_disclosure_cell_t *c,
    yajl_val v);


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


yajl_val
ngx_http_disclosure_get(yajl_val obj, const char *key)
{
    size_t  i;

    if (!YAJL_IS_OBJECT(obj)) {
        return NULL;
    }

    for (i = 0; i < obj->u.object.len; i++) {
        if (ngx_strcmp(obj->u.object.keys[i], key) == 0) {
            return obj->u.object.values[i];
        }
    }

    return NULL;
}


yajl_val
ngx_http_disclosure_get_str(yajl_val obj, ngx_str_t *key)
{
    size_t       i;
    const char  *k;

    if (!YAJL_IS_OBJECT(obj)) {
        return NULL;
    }

    for (i = 0; i < obj->u.object.len; i++) {
        k = obj->u.object.keys[i];

        if (ngx_strncmp(k, key->data, key->len) == 0 && k[key->len] == '\0') {
            return obj->u.object.values[i];
        }
    }

    return NULL;
}


const char *
ngx_http_disclosure_get_string(yajl_val obj, const char *key)
{
    return YAJL_GET_STRING(ngx_http_disclosure_get(obj, key));
}


ngx_int_t
ngx_http_disclosure_get_int(yajl_val obj, const char *key, ngx_int_t *n)
{
    yajl_val  v;

    v = ngx_http_disclosure_get(obj, key);

    if (!YAJL_IS_INTEGER(v)
        || v->u.number.i < NGX_MAX_INT_T_VALUE * -1
        || v->u.number.i > NGX_MAX_INT_T_VALUE)
    {
        return NGX_ERROR;
    }

    *n = (ngx_int_t) v->u.number.i;

    return NGX_OK;
}


ngx_int_t
ngx_http_disclosure_check_document(ngx_log_t *log, yajl_val doc,
    const char *type)
{
    const char  *s;

    s = ngx_http_disclosure_get_string(doc, "document");

    if (s == NULL || ngx_strcmp(s, type) != 0) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "disclosure: not a \"%s\" document", type);
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_http_disclosure_format_t *
ngx_http_disclosure_report_format(ngx_log_t *log, yajl_val doc)
{
    ngx_int_t   version;
    ngx_uint_t  i;

    if (ngx_http_disclosure_check_document(log, doc, "disclosure-report/1")
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_http_disclosure_get_int(doc, "format", &version) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "disclosure: report document has no \"format\"");
        return NULL;
    }

    for (i = 0; i < ngx_http_disclosure_nformats; i++) {
        if (ngx_http_disclosure_formats[i].version == (ngx_uint_t) version) {
            return &ngx_http_disclosure_formats[i];
        }
    }

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "disclosure: report document has unknown format %i",
                  version);

    return NULL;
}


yajl_val
ngx_http_disclosure_cell_value(ngx_log_t *log, yajl_val tables,
    ngx_http_disclosure_table_t *t, ngx_http_disclosure_cell_t *c)
{
    yajl_val  v;

    v = ngx_http_disclosure_get_str(tables, &t->key);
    v = ngx_http_disclosure_get_str(v, &t->rows[c->row].key);
    v = ngx_http_disclosure_get_str(v, &t->cols[c->col].key);

    return ngx_http_disclosure_cell_check(log, t, c, v);
}


/*
 * Every cell of t at once, in format order.  The web API writes rows and
 * columns in format order too, so each search starts after the member
 * found last and matches at the first key, where a lookup per cell would
 * compare a dozen keys.
 */

ngx_int_t
ngx_http_disclosure_cell_values(ngx_log_t *log, ngx_pool_t *pool,
    yajl_val tables, ngx_http_disclosure_table_t *t, ngx_uint_t required,
    yajl_val **values)
{
    size_t                       rnext, cnext;
    yajl_val                     table, row, v, *vals;
    ngx_uint_t                   i, r;
    ngx_http_disclosure_cell_t  *c;

    vals = ngx_palloc(pool, (t->ncells ? t->ncells : 1) * sizeof(yajl_val));
    if (vals == NULL) {
        return NGX_ERROR;
    }

    table = ngx_http_disclosure_get_str(tables, &t->key);
    row = NULL;
    r = 0;
    rnext = 0;
    cnext = 0;

    for (i = 0; i < t->ncells; i++) {
        c = &t->cells[i];

        if (i == 0 || c->row != r) {
            r = c->row;
            row = ngx_http_disclosure_get_from(table, &t->rows[r].key, &rnext);
            cnext = 0;
        }

        v = ngx_http_disclosure_get_from(row, &t->cols[c->col].key, &cnext);

        if (required) {
            v = ngx_http_disclosure_cell_check(log, t, c, v);
            if (v == NULL) {
                return NGX_ERROR;
            }

        } else if (v && !YAJL_IS_NUMBER(v) && !YAJL_IS_NULL(v)
                   && !YAJL_IS_STRING(v))
        {
            v = NULL;
        }

        vals[i] = v;
    }

    *values = vals;

    return NGX_OK;
}


/* a member by key, searched from *next on and round */

static yajl_val
ngx_http_disclosure_get_from(yajl_val obj, ngx_str_t *key, size_t *next)
{
    size_t       i, j, n;
    const char  *k;

    if (!YAJL_IS_OBJECT(obj)) {
        return NULL;
    }

    n = obj->u.object.len;
    j = (*next < n) ? *next : 0;

    for (i = 0; i < n; i++) {
        k = obj->u.object.keys[j];

        if (ngx_strncmp(k, key->data, key->len) == 0 && k[key->len] == '\0') {
            *next = j + 1;
            return obj->u.object.values[j];
        }

        if (++j == n) {
            j = 0;
        }
    }

    return NULL;
}


static yajl_val
ngx_http_disclosure_cell_check(ngx_log_t *log, ngx_http_disclosure_table_t *t,
    ngx_http_disclosure_cell_t *c, yajl_val v)
{
    ngx_str_t  *row, *col;

    row = &t->rows[c->row].key;
    col = &t->cols[c->col].key;

    if (v == NULL) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "disclosure: report document has no tables.%V.%V.%V",
                      &t->key, row, col);
        return NULL;
    }

    if (!YAJL_IS_NUMBER(v) && !YAJL_IS_NULL(v) && !YAJL_IS_STRING(v)) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "disclosure: report document: tables.%V.%V.%V is "
                      "neither a number, null nor a string",
                      &t->key, row, col);
        return NULL;
    }

    return v;
}
