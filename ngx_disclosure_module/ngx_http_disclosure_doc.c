
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * The web API's JSON, parsed into the request pool, and lookups into the
 * parsed document.
 *
 * yajl_tree_parse() would do, but it mallocs every node, key and string
 * and the tree is freed node by node afterwards: a third of the cost of a
 * report page with the response cache off.  Here yajl's event parser
 * builds the same yajl_val tree (so the renderers read it as before) out
 * of r->pool, yajl's own buffers come from the pool too, and nothing is
 * freed: the pool goes with the request.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <yajl/yajl_parse.h>

#include "ngx_http_disclosure_doc.h"


/* deeper documents are refused: ours are five levels deep */
#define NGX_HTTP_DISCLOSURE_DOC_DEPTH  64

/* members of an object or elements of an array, before the first growth */
#define NGX_HTTP_DISCLOSURE_DOC_SLOTS  8

/* integers up to 2^53 are doubles exactly: no strtod() needed */
#define NGX_HTTP_DISCLOSURE_DOC_EXACT  9007199254740992LL


/* an object or array being filled */
typedef struct {
    yajl_val                     val;
    const char                 **keys;       /* objects only */
    yajl_val                    *values;
    size_t                       len;
    size_t                       size;
} ngx_http_disclosure_doc_parse_open_t;


typedef struct {
    ngx_pool_t                           *pool;
    yajl_val                              root;
    const char                           *key;     /* an object's next member */
    ngx_uint_t                            depth;
    ngx_uint_t                            failed;  /* no memory or too deep */
    ngx_http_disclosure_doc_parse_open_t  open[NGX_HTTP_DISCLOSURE_DOC_DEPTH];
} ngx_http_disclosure_doc_parse_t;


static yajl_val ngx_http_disclosure_doc_parse_value(
    ngx_http_disclosure_doc_parse_t  *p, yajl_type type);
static int ngx_http_disclosure_doc_parse_add(
    ngx_http_disclosure_doc_parse_t  *p, yajl_val v);
static int ngx_http_disclosure_doc_parse_null(void *ctx);
static int ngx_http_disclosure_doc_parse_boolean(void *ctx, int b);
static int ngx_http_disclosure_doc_parse_number(void *ctx, const char *s,
    size_t len);
static int ngx_http_disclosure_doc_parse_string(void *ctx,
    const unsigned char *s, size_t len);
static int ngx_http_disclosure_doc_parse_start(
    ngx_http_disclosure_doc_parse_t  *p, yajl_type type);
static int ngx_http_disclosure_doc_parse_start_map(void *ctx);
static int ngx_http_disclosure_doc_parse_key(void *ctx,
    const unsigned char *s, size_t len);
static int ngx_http_disclosure_doc_parse_end(void *ctx);
static int ngx_http_disclosure_doc_parse_start_array(void *ctx);
static void *ngx_http_disclosure_doc_parse_malloc(void *ctx, size_t size);
static void *ngx_http_disclosure_doc_parse_realloc(void *ctx, void *ptr,
    size_t size);
static void ngx_http_disclosure_doc_parse_free(void *ctx, void *ptr);
static yajl_val ngx_http_disclosure_doc_get_from(yajl_val obj, ngx_str_t *key,
    size_t *next);
static yajl_val ngx_http_disclosure_cell_check(ngx_log_t *log,
    ngx_http_disclosure_table_t *t, ngx_http_disclosure_cell_t *c,
    yajl_val v);


static yajl_callbacks  ngx_http_disclosure_doc_parse_callbacks = {
    ngx_http_disclosure_doc_parse_null,
    ngx_http_disclosure_doc_parse_boolean,
    NULL,                                   /* integers: as numbers */
    NULL,                                   /* doubles: as numbers */
    ngx_http_disclosure_doc_parse_number,
    ngx_http_disclosure_doc_parse_string,
    ngx_http_disclosure_doc_parse_start_map,
    ngx_http_disclosure_doc_parse_key,
    ngx_http_disclosure_doc_parse_end,
    ngx_http_disclosure_doc_parse_start_array,
    ngx_http_disclosure_doc_parse_end
};


yajl_val
ngx_http_disclosure_doc_parse(ngx_pool_t *pool, ngx_log_t *log, u_char *text,
    size_t len, ngx_str_t *error)
{
    u_char                           *msg;
    yajl_handle                       yh;
    yajl_status                       status;
    yajl_alloc_funcs                  af;
    ngx_http_disclosure_doc_parse_t  *p;

    ngx_str_null(error);

    p = ngx_pcalloc(pool, sizeof(ngx_http_disclosure_doc_parse_t));
    if (p == NULL) {
        return NULL;
    }

    p->pool = pool;

    af.malloc = ngx_http_disclosure_doc_parse_malloc;
    af.realloc = ngx_http_disclosure_doc_parse_realloc;
    af.free = ngx_http_disclosure_doc_parse_free;
    af.ctx = pool;

    yh = yajl_alloc(&ngx_http_disclosure_doc_parse_callbacks, &af, p);
    if (yh == NULL) {
        return NULL;
    }

    status = yajl_parse(yh, text, len);

    if (status == yajl_status_ok) {
        status = yajl_complete_parse(yh);
    }

    if (status != yajl_status_ok) {

        if (p->failed) {
            ngx_str_set(error, "no memory, or nested too deep");

        } else {
            msg = yajl_get_error(yh, 0, text, len);

            if (msg) {
                error->len = ngx_strlen(msg);
                error->data = ngx_pnalloc(pool, error->len);

                if (error->data) {
                    ngx_memcpy(error->data, msg, error->len);

                } else {
                    error->len = 0;
                }

                yajl_free_error(yh, msg);
            }
        }

        yajl_free(yh);

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                       "disclosure: JSON not parsed: %V", error);
        return NULL;
    }

    yajl_free(yh);

    return p->root;
}


static yajl_val
ngx_http_disclosure_doc_parse_value(ngx_http_disclosure_doc_parse_t *p,
    yajl_type type)
{
    yajl_val  v;

    v = ngx_pcalloc(p->pool, sizeof(struct yajl_val_s));
    if (v == NULL) {
        p->failed = 1;
        return NULL;
    }

    v->type = type;

    return v;
}


/* a complete value: the root, or the next member or element of the open
 * container; containers grow by doubling, the old slots left to the pool */

static int
ngx_http_disclosure_doc_parse_add(ngx_http_disclosure_doc_parse_t *p,
    yajl_val v)
{
    size_t                                 size;
    yajl_val                              *values;
    const char                           **keys;
    ngx_http_disclosure_doc_parse_open_t  *o;

    if (v == NULL) {
        return 0;
    }

    if (p->depth == 0) {
        p->root = v;
        return 1;
    }

    o = &p->open[p->depth - 1];

    if (o->len == o->size) {
        size = o->size ? 2 * o->size : NGX_HTTP_DISCLOSURE_DOC_SLOTS;

        values = ngx_palloc(p->pool, size * sizeof(yajl_val));
        if (values == NULL) {
            goto failed;
        }

        if (o->len) {
            ngx_memcpy(values, o->values, o->len * sizeof(yajl_val));
        }

        o->values = values;

        if (o->val->type == yajl_t_object) {
            keys = ngx_palloc(p->pool, size * sizeof(const char *));
            if (keys == NULL) {
                goto failed;
            }

            if (o->len) {
                ngx_memcpy(keys, o->keys, o->len * sizeof(const char *));
            }

            o->keys = keys;
        }

        o->size = size;
    }

    if (o->val->type == yajl_t_object) {
        o->keys[o->len] = p->key;
    }

    o->values[o->len++] = v;

    return 1;

failed:

    p->failed = 1;
    return 0;
}


static int
ngx_http_disclosure_doc_parse_null(void *ctx)
{
    ngx_http_disclosure_doc_parse_t  *p;

    p = ctx;

    return ngx_http_disclosure_doc_parse_add(p,
                        ngx_http_disclosure_doc_parse_value(p, yajl_t_null));
}


static int
ngx_http_disclosure_doc_parse_boolean(void *ctx, int b)
{
    ngx_http_disclosure_doc_parse_t  *p;

    p = ctx;

    return ngx_http_disclosure_doc_parse_add(p,
                             ngx_http_disclosure_doc_parse_value(p,
                                           b ? yajl_t_true : yajl_t_false));
}


/*
 * The number's text is kept (u.number.r) as yajl_tree keeps it; the
 * integer and double values are set, with their flags, where the text
 * holds one.
 */

static int
ngx_http_disclosure_doc_parse_number(void *ctx, const char *s, size_t len)
{
    char                             *r, *end;
    size_t                            i;
    yajl_val                          v;
    long long                         n, digit;
    ngx_uint_t                        negative, integer;
    ngx_http_disclosure_doc_parse_t  *p;

    p = ctx;

    v = ngx_http_disclosure_doc_parse_value(p, yajl_t_number);
    if (v == NULL) {
        return 0;
    }

    r = ngx_pnalloc(p->pool, len + 1);
    if (r == NULL) {
        p->failed = 1;
        return 0;
    }

    ngx_memcpy(r, s, len);
    r[len] = '\0';
    v->u.number.r = r;

    /* yajl has checked the grammar: [-] digits [. digits] [e [+-] digits] */

    negative = (len && r[0] == '-');
    integer = 1;
    n = 0;

    for (i = negative; i < len; i++) {

        if (r[i] < '0' || r[i] > '9') {
            integer = 0;
            break;
        }

        digit = r[i] - '0';

        if (n > (NGX_HTTP_DISCLOSURE_DOC_EXACT - digit) / 10) {
            integer = 0;    /* large: strtoll() and strtod() below */
            break;
        }

        n = n * 10 + digit;
    }

    if (integer) {
        v->u.number.i = negative ? -n : n;
        v->u.number.d = (double) v->u.number.i;
        v->u.number.flags = YAJL_NUMBER_INT_VALID | YAJL_NUMBER_DOUBLE_VALID;

        return ngx_http_disclosure_doc_parse_add(p, v);
    }

    errno = 0;
    v->u.number.i = strtoll(r, &end, 10);

    if (errno == 0 && *end == '\0') {
        v->u.number.flags |= YAJL_NUMBER_INT_VALID;
    }

    errno = 0;
    v->u.number.d = strtod(r, &end);

    if (errno == 0 && *end == '\0') {
        v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
    }

    return ngx_http_disclosure_doc_parse_add(p, v);
}


static int
ngx_http_disclosure_doc_parse_string(void *ctx, const unsigned char *s,
    size_t len)
{
    u_char                           *copy;
    yajl_val                          v;
    ngx_http_disclosure_doc_parse_t  *p;

    p = ctx;

    v = ngx_http_disclosure_doc_parse_value(p, yajl_t_string);
    if (v == NULL) {
        return 0;
    }

    copy = ngx_pnalloc(p->pool, len + 1);
    if (copy == NULL) {
        p->failed = 1;
        return 0;
    }

    ngx_memcpy(copy, s, len);
    copy[len] = '\0';
    v->u.string = (char *) copy;

    return ngx_http_disclosure_doc_parse_add(p, v);
}


static int
ngx_http_disclosure_doc_parse_start(ngx_http_disclosure_doc_parse_t *p,
    yajl_type type)
{
    yajl_val                               v;
    ngx_http_disclosure_doc_parse_open_t  *o;

    if (p->depth == NGX_HTTP_DISCLOSURE_DOC_DEPTH) {
        p->failed = 1;
        return 0;
    }

    v = ngx_http_disclosure_doc_parse_value(p, type);
    if (v == NULL) {
        return 0;
    }

    /* the member's key is taken now: members of v will set their own */

    if (!ngx_http_disclosure_doc_parse_add(p, v)) {
        return 0;
    }

    o = &p->open[p->depth++];
    ngx_memzero(o, sizeof(ngx_http_disclosure_doc_parse_open_t));
    o->val = v;

    return 1;
}


static int
ngx_http_disclosure_doc_parse_start_map(void *ctx)
{
    return ngx_http_disclosure_doc_parse_start(ctx, yajl_t_object);
}


static int
ngx_http_disclosure_doc_parse_start_array(void *ctx)
{
    return ngx_http_disclosure_doc_parse_start(ctx, yajl_t_array);
}


static int
ngx_http_disclosure_doc_parse_key(void *ctx, const unsigned char *s, size_t len)
{
    u_char                           *key;
    ngx_http_disclosure_doc_parse_t  *p;

    p = ctx;

    key = ngx_pnalloc(p->pool, len + 1);
    if (key == NULL) {
        p->failed = 1;
        return 0;
    }

    ngx_memcpy(key, s, len);
    key[len] = '\0';
    p->key = (const char *) key;

    return 1;
}


static int
ngx_http_disclosure_doc_parse_end(void *ctx)
{
    ngx_http_disclosure_doc_parse_open_t  *o;
    ngx_http_disclosure_doc_parse_t       *p;

    p = ctx;

    o = &p->open[--p->depth];

    if (o->val->type == yajl_t_object) {
        o->val->u.object.keys = o->keys;
        o->val->u.object.values = o->values;
        o->val->u.object.len = o->len;

    } else {
        o->val->u.array.values = o->values;
        o->val->u.array.len = o->len;
    }

    return 1;
}


/*
 * yajl's own buffers (the lexer's, the decoded strings') from the pool.
 * yajl reallocs without saying the old size, so each block carries it.
 */

static void *
ngx_http_disclosure_doc_parse_malloc(void *ctx, size_t size)
{
    size_t  *block;

    block = ngx_palloc(ctx, sizeof(size_t) + size);
    if (block == NULL) {
        return NULL;
    }

    *block = size;

    return block + 1;
}


static void *
ngx_http_disclosure_doc_parse_realloc(void *ctx, void *ptr, size_t size)
{
    void    *p;
    size_t   old;

    p = ngx_http_disclosure_doc_parse_malloc(ctx, size);

    if (p && ptr) {
        old = ((size_t *) ptr)[-1];
        ngx_memcpy(p, ptr, ngx_min(old, size));
        ngx_http_disclosure_doc_parse_free(ctx, ptr);
    }

    return p;
}


/* large blocks go back at once, small ones with the pool */

static void
ngx_http_disclosure_doc_parse_free(void *ctx, void *ptr)
{
    if (ptr) {
        (void) ngx_pfree(ctx, (size_t *) ptr - 1);
    }
}


yajl_val
ngx_http_disclosure_doc_get(yajl_val obj, const char *key)
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
ngx_http_disclosure_doc_get_str(yajl_val obj, ngx_str_t *key)
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
ngx_http_disclosure_doc_get_string(yajl_val obj, const char *key)
{
    return YAJL_GET_STRING(ngx_http_disclosure_doc_get(obj, key));
}


ngx_int_t
ngx_http_disclosure_doc_get_int(yajl_val obj, const char *key, ngx_int_t *n)
{
    yajl_val  v;

    v = ngx_http_disclosure_doc_get(obj, key);

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

    s = ngx_http_disclosure_doc_get_string(doc, "document");

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

    if (ngx_http_disclosure_doc_get_int(doc, "format", &version) != NGX_OK) {
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

    v = ngx_http_disclosure_doc_get_str(tables, &t->key);
    v = ngx_http_disclosure_doc_get_str(v, &t->rows[c->row].key);
    v = ngx_http_disclosure_doc_get_str(v, &t->cols[c->col].key);

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

    table = ngx_http_disclosure_doc_get_str(tables, &t->key);
    row = NULL;
    r = 0;
    rnext = 0;
    cnext = 0;

    for (i = 0; i < t->ncells; i++) {
        c = &t->cells[i];

        if (i == 0 || c->row != r) {
            r = c->row;
            row = ngx_http_disclosure_doc_get_from(table, &t->rows[r].key, &rnext);
            cnext = 0;
        }

        v = ngx_http_disclosure_doc_get_from(row, &t->cols[c->col].key, &cnext);

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
ngx_http_disclosure_doc_get_from(yajl_val obj, ngx_str_t *key, size_t *next)
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
