
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * JSON: the parsed document written back with yajl_gen, compact, keys in
 * their order, numbers as the text they were given in (a fee of 1.250 stays
 * 1.250), "/" escaped so that "</script>" never appears.  yajl_gen
 * allocates from r->pool and prints straight into the output chain.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <yajl/yajl_gen.h>

#include "ngx_http_disclosure_out.h"
#include "ngx_http_disclosure_json.h"


static yajl_gen_status ngx_http_disclosure_json_value(yajl_gen g, yajl_val v);
static void ngx_http_disclosure_json_print(void *ctx, const char *str,
    size_t len);
static void *ngx_http_disclosure_json_malloc(void *ctx, size_t size);
static void *ngx_http_disclosure_json_realloc(void *ctx, void *ptr,
    size_t size);
static void ngx_http_disclosure_json_free(void *ctx, void *ptr);


ngx_int_t
ngx_http_disclosure_json(ngx_http_request_t *r, yajl_val doc,
    ngx_chain_t **out)
{
    yajl_gen                    g;
    yajl_gen_status             st;
    yajl_alloc_funcs            af;
    ngx_http_disclosure_out_t   o;

    if (doc == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "disclosure: no document to serialize");
        return NGX_ERROR;
    }

    ngx_http_disclosure_out_init(&o, r);

    af.malloc = ngx_http_disclosure_json_malloc;
    af.realloc = ngx_http_disclosure_json_realloc;
    af.free = ngx_http_disclosure_json_free;
    af.ctx = r->pool;

    g = yajl_gen_alloc(&af);
    if (g == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "disclosure: yajl_gen_alloc() failed");
        return NGX_ERROR;
    }

    if (!yajl_gen_config(g, yajl_gen_beautify, 0)
        || !yajl_gen_config(g, yajl_gen_escape_solidus, 1)
        || !yajl_gen_config(g, yajl_gen_validate_utf8, 1)
        || !yajl_gen_config(g, yajl_gen_print_callback,
                            ngx_http_disclosure_json_print, &o))
    {
        yajl_gen_free(g);
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "disclosure: yajl_gen_config() failed");
        return NGX_ERROR;
    }

    st = ngx_http_disclosure_json_value(g, doc);

    yajl_gen_free(g);

    if (st != yajl_gen_status_ok) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "disclosure: cannot serialize the document "
                      "(yajl_gen status %d)", (int) st);
        return NGX_ERROR;
    }

    return ngx_http_disclosure_out_finish(&o, r, out);
}


/* recursion ends at yajl's own depth limit, which yajl_gen enforces */

static yajl_gen_status
ngx_http_disclosure_json_value(yajl_gen g, yajl_val v)
{
    size_t           i;
    const char      *s;
    yajl_gen_status  st;

    switch (v->type) {

    case yajl_t_string:
        s = v->u.string;
        return yajl_gen_string(g, (const unsigned char *) s, ngx_strlen(s));

    case yajl_t_number:
        s = v->u.number.r;
        return yajl_gen_number(g, s, ngx_strlen(s));

    case yajl_t_object:
        st = yajl_gen_map_open(g);

        for (i = 0; st == yajl_gen_status_ok && i < v->u.object.len; i++) {
            s = v->u.object.keys[i];
            st = yajl_gen_string(g, (const unsigned char *) s, ngx_strlen(s));

            if (st == yajl_gen_status_ok) {
                st = ngx_http_disclosure_json_value(g, v->u.object.values[i]);
            }
        }

        return st == yajl_gen_status_ok ? yajl_gen_map_close(g) : st;

    case yajl_t_array:
        st = yajl_gen_array_open(g);

        for (i = 0; st == yajl_gen_status_ok && i < v->u.array.len; i++) {
            st = ngx_http_disclosure_json_value(g, v->u.array.values[i]);
        }

        return st == yajl_gen_status_ok ? yajl_gen_array_close(g) : st;

    case yajl_t_true:
        return yajl_gen_bool(g, 1);

    case yajl_t_false:
        return yajl_gen_bool(g, 0);

    default: /* yajl_t_null */
        return yajl_gen_null(g);
    }
}


static void
ngx_http_disclosure_json_print(void *ctx, const char *str, size_t len)
{
    ngx_http_disclosure_out_raw(ctx, (u_char *) str, len);
}


/*
 * yajl's allocator over the request pool.  yajl_gen reallocates without
 * telling the old size, so every block keeps its size in front of it.
 */

static void *
ngx_http_disclosure_json_malloc(void *ctx, size_t size)
{
    size_t  *p;

    p = ngx_palloc(ctx, sizeof(size_t) + size);
    if (p == NULL) {
        return NULL;
    }

    *p = size;

    return p + 1;
}


static void *
ngx_http_disclosure_json_realloc(void *ctx, void *ptr, size_t size)
{
    void    *p;
    size_t   old;

    if (ptr == NULL) {
        return ngx_http_disclosure_json_malloc(ctx, size);
    }

    old = ((size_t *) ptr)[-1];

    if (size <= old) {
        return ptr;
    }

    p = ngx_http_disclosure_json_malloc(ctx, size);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, ptr, old);
    ngx_http_disclosure_json_free(ctx, ptr);

    return p;
}


static void
ngx_http_disclosure_json_free(void *ctx, void *ptr)
{
    if (ptr) {
        /* frees large blocks only; small ones go with the pool */
        ngx_pfree(ctx, (size_t *) ptr - 1);
    }
}
