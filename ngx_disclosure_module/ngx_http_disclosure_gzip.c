
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * Compression of cached responses.  nginx's gzip filter would compress a
 * hit again for every client that sends "Accept-Encoding: gzip" (every
 * browser), and that costs several times what sending it does (see
 * bench/README.md).  So a fill deflates the body once, and the entry
 * keeps the gzip variant beside the plain one; a hit for a client that
 * takes gzip sends it with Content-Encoding, which nginx's gzip filter
 * leaves alone, as it does the files of gzip_static.
 *
 * Whether the client takes gzip is read here (RFC 9110: q-values, "*",
 * "x-gzip"); whether nginx's settings allow it (gzip_http_version,
 * gzip_proxied, gzip_disable) is ngx_http_gzip_ok()'s answer, as for
 * gzip_static.  Subrequests (SSI) always get the plain body.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <zlib.h>

#include "ngx_http_disclosure_module.h"
#include "ngx_http_disclosure_handler.h"
#include "ngx_http_disclosure_gzip.h"


/*
 * zlib's level 6: on the 53 KB sample page 5,960 bytes in about 0.7 ms,
 * against 6,690 bytes in 0.3 ms at level 1 and 5,926 bytes in 1.0 ms at
 * level 9 (bench/README.md).  Every hit sends the bytes, a fill pays the
 * time once.
 */
#define NGX_HTTP_DISCLOSURE_GZIP_LEVEL     6
#define NGX_HTTP_DISCLOSURE_GZIP_MEMLEVEL  8

/* smaller bodies are not worth a variant: a 404, a redirect */
#define NGX_HTTP_DISCLOSURE_GZIP_MIN       256


#if (NGX_HTTP_GZIP)
static ngx_int_t ngx_http_disclosure_gzip_parse(ngx_str_t *ae);
static ngx_int_t ngx_http_disclosure_gzip_qvalue(u_char **pos, u_char *last);
#endif
static void *ngx_http_disclosure_gzip_alloc(void *opaque, u_int items,
    u_int size);
static void ngx_http_disclosure_gzip_free(void *opaque, void *address);


ngx_uint_t
ngx_http_disclosure_gzip_accepted(ngx_http_request_t *r)
{
#if (NGX_HTTP_GZIP)

    ngx_int_t         rc;
    ngx_table_elt_t  *ae, gzip;

    if (r != r->main) {
        /* SSI reads the fragment */
        return 0;
    }

    ae = r->headers_in.accept_encoding;

    if (ae == NULL || !ngx_http_disclosure_gzip_parse(&ae->value)) {
        return 0;
    }

    /*
     * nginx's own test of its settings, as gzip_static makes it; its
     * reading of the header knows neither "*" nor "x-gzip", so it is
     * shown one that says "gzip", the client's having been read above
     */

    ngx_memzero(&gzip, sizeof(ngx_table_elt_t));
    ngx_str_set(&gzip.key, "Accept-Encoding");
    ngx_str_set(&gzip.value, "gzip");

    r->headers_in.accept_encoding = &gzip;
    rc = ngx_http_gzip_ok(r);
    r->headers_in.accept_encoding = ae;

    return (rc == NGX_OK);

#else

    return 0;

#endif
}


#if (NGX_HTTP_GZIP)

/*
 * Accept-Encoding = #( codings [ OWS ";" OWS "q=" qvalue ] ): true when
 * gzip (or x-gzip) is listed with a q-value above 0, or is not listed and
 * "*" is.  An element that cannot be read counts as a refusal: the plain
 * body is never wrong.
 */

static ngx_int_t
ngx_http_disclosure_gzip_parse(ngx_str_t *ae)
{
    u_char     *p, *last, *token;
    size_t      len;
    ngx_int_t   q, gzip, star;

    gzip = -1;
    star = -1;

    p = ae->data;
    last = p + ae->len;

    while (p < last) {

        while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        token = p;

        while (p < last && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
        {
            p++;
        }

        len = p - token;
        q = 1000;

        /* parameters: only q means anything */

        for ( ;; ) {
            while (p < last && (*p == ' ' || *p == '\t')) {
                p++;
            }

            if (p == last || *p != ';') {
                break;
            }

            p++;

            while (p < last && (*p == ' ' || *p == '\t')) {
                p++;
            }

            if (last - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
            {
                p += 2;
                q = ngx_http_disclosure_gzip_qvalue(&p, last);
                continue;
            }

            while (p < last && *p != ';' && *p != ',') {
                p++;
            }
        }

        if (p < last && *p != ',') {
            /* something else before the next element */
            q = 0;

            while (p < last && *p != ',') {
                p++;
            }
        }

        if ((len == 4 && ngx_strncasecmp(token, (u_char *) "gzip", 4) == 0)
            || (len == 6 && ngx_strncasecmp(token, (u_char *) "x-gzip", 6)
                            == 0))
        {
            gzip = ngx_max(gzip, q);

        } else if (len == 1 && token[0] == '*') {
            star = ngx_max(star, q);
        }
    }

    if (gzip >= 0) {
        return gzip > 0;
    }

    return star > 0;
}


/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in
 * thousandths; 0 when it cannot be read */

static ngx_int_t
ngx_http_disclosure_gzip_qvalue(u_char **pos, u_char *last)
{
    u_char     *p;
    ngx_int_t   q, scale;

    p = *pos;

    if (p == last || (*p != '0' && *p != '1')) {
        return 0;
    }

    q = (*p++ - '0') * 1000;

    if (p < last && *p == '.') {
        p++;

        for (scale = 100; scale && p < last && *p >= '0' && *p <= '9';
             scale /= 10)
        {
            q += (*p++ - '0') * scale;
        }
    }

    *pos = p;

    if (q > 1000) {
        return 0;
    }

    if (p < last && *p != ' ' && *p != '\t' && *p != ';' && *p != ',') {
        return 0;
    }

    return q;
}

#endif /* NGX_HTTP_GZIP */


ngx_int_t
ngx_http_disclosure_gzip_deflate(ngx_pool_t *pool, ngx_chain_t *body,
    ngx_str_t *out, ngx_log_t *log)
{
    int           rc, flush;
    size_t        len, size;
    z_stream      zs;
    ngx_chain_t  *cl;

    len = 0;

    for (cl = body; cl; cl = cl->next) {
        if (!ngx_buf_in_memory(cl->buf) && ngx_buf_size(cl->buf)) {
            return NGX_DECLINED;
        }

        len += ngx_buf_size(cl->buf);
    }

    if (len < NGX_HTTP_DISCLOSURE_GZIP_MIN || len > 0x7fffffff) {
        return NGX_DECLINED;
    }

    ngx_memzero(&zs, sizeof(z_stream));

    zs.zalloc = ngx_http_disclosure_gzip_alloc;
    zs.zfree = ngx_http_disclosure_gzip_free;
    zs.opaque = pool;

    /* windowBits + 16: the gzip wrapper, as nginx's gzip filter sends */

    rc = deflateInit2(&zs, NGX_HTTP_DISCLOSURE_GZIP_LEVEL, Z_DEFLATED,
                      MAX_WBITS + 16, NGX_HTTP_DISCLOSURE_GZIP_MEMLEVEL,
                      Z_DEFAULT_STRATEGY);

    if (rc != Z_OK) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "disclosure: deflateInit2() failed: %d", rc);
        return NGX_ERROR;
    }

    /* room for all of it: deflate() never stops for want of output */

    size = deflateBound(&zs, len);

    out->data = ngx_pnalloc(pool, size);
    if (out->data == NULL) {
        (void) deflateEnd(&zs);
        return NGX_ERROR;
    }

    zs.next_out = out->data;
    zs.avail_out = size;

    rc = Z_OK;

    for (cl = body; cl; cl = cl->next) {

        if (ngx_buf_in_memory(cl->buf)) {
            zs.next_in = cl->buf->pos;
            zs.avail_in = cl->buf->last - cl->buf->pos;

        } else {
            zs.next_in = NULL;
            zs.avail_in = 0;
        }

        flush = cl->next ? Z_NO_FLUSH : Z_FINISH;

        rc = deflate(&zs, flush);

        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
            break;
        }
    }

    out->len = zs.total_out;

    (void) deflateEnd(&zs);

    if (rc != Z_STREAM_END) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "disclosure: deflate() failed: %d", rc);
        return NGX_ERROR;
    }

    return (out->len < len) ? NGX_OK : NGX_DECLINED;
}


static void *
ngx_http_disclosure_gzip_alloc(void *opaque, u_int items, u_int size)
{
    ngx_pool_t  *pool = opaque;

    return ngx_palloc(pool, (size_t) items * size);
}


/* the window and hash (256 KB) go back at once: they are large
 * allocations of the pool, which ngx_pfree() frees */

static void
ngx_http_disclosure_gzip_free(void *opaque, void *address)
{
    ngx_pool_t  *pool = opaque;

    (void) ngx_pfree(pool, address);
}


ngx_int_t
ngx_http_disclosure_gzip_headers(ngx_http_request_t *r, ngx_uint_t gzip)
{
    u_char            *p;
    ngx_str_t          vary;
    ngx_table_elt_t   *h, *etag;
#if (NGX_HTTP_GZIP)
    ngx_http_core_loc_conf_t  *clcf;
#endif

    /*
     * Vary once: with gzip_vary on, nginx writes it (its gzip filter may
     * ask for it too); otherwise this header is the only one
     */

#if (NGX_HTTP_GZIP)
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->gzip_vary) {
        r->gzip_vary = 1;

    } else
#endif
    {
        ngx_str_set(&vary, "Accept-Encoding");

        if (ngx_http_disclosure_add_header(r, "Vary", &vary) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (!gzip) {
        return NGX_OK;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Content-Encoding");
    ngx_str_set(&h->value, "gzip");
    r->headers_out.content_encoding = h;

    /* the variant's own validator: "...-gz", so that a 304 is per encoding */

    etag = r->headers_out.etag;

    if (etag == NULL || etag->value.len < 2
        || etag->value.data[etag->value.len - 1] != '"')
    {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, etag->value.len + sizeof("-gz") - 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, etag->value.data, etag->value.len - 1);
    ngx_memcpy(p + etag->value.len - 1, "-gz\"", sizeof("-gz\"") - 1);

    etag->value.data = p;
    etag->value.len += sizeof("-gz") - 1;

    return NGX_OK;
}
