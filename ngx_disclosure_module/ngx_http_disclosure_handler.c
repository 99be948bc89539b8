
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <yajl/yajl_tree.h>

#include "ngx_http_disclosure_module.h"
#include "ngx_http_disclosure_db.h"
#include "ngx_http_disclosure_route.h"
#include "ngx_http_disclosure_render.h"


/*
 * The content handler: routes, one query of the read-only web API per
 * response, the rendering, and HTTP as nginx users expect it (GET/HEAD,
 * ETag and Last-Modified, 304 through nginx's not_modified filter, 400,
 * 404, 503 with Retry-After).
 */


/* bumped when a rendering changes, so that validators change with it */
#define NGX_HTTP_DISCLOSURE_RENDER_VERSION  "1"

#define NGX_HTTP_DISCLOSURE_RETRY_AFTER     "10"


typedef struct {
    ngx_http_disclosure_route_t   route;
    ngx_http_disclosure_query_t   query;
} ngx_http_disclosure_ctx_t;


static void ngx_http_disclosure_done(ngx_http_request_t *r,
    ngx_http_disclosure_query_t *q, ngx_int_t rc);
static ngx_int_t ngx_http_disclosure_respond(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx);
static ngx_int_t ngx_http_disclosure_render(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx, yajl_val doc, ngx_chain_t **out);
static ngx_int_t ngx_http_disclosure_validators(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx, yajl_val doc);
static ngx_int_t ngx_http_disclosure_content_type(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx);
static ngx_int_t ngx_http_disclosure_add_header(ngx_http_request_t *r,
    char *key, ngx_str_t *value);
static ngx_int_t ngx_http_disclosure_redirect(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx);
static time_t ngx_http_disclosure_parse_iso_time(const char *s);
static ngx_int_t ngx_http_disclosure_path(ngx_http_request_t *r,
    ngx_str_t *path);


static ngx_str_t  ngx_http_disclosure_variant_names[] = {
    ngx_string("html"),
    ngx_string("json"),
    ngx_string("csv")
};


ngx_int_t
ngx_http_disclosure_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_str_t                    path, nosniff;
    ngx_http_disclosure_ctx_t   *ctx;
    ngx_http_disclosure_query_t *q;

    /* on every response of the module, errors included */

    ngx_str_set(&nosniff, "nosniff");

    if (ngx_http_disclosure_add_header(r, "X-Content-Type-Options", &nosniff)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        ngx_str_set(&path, "GET, HEAD");

        if (ngx_http_disclosure_add_header(r, "Allow", &path) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_disclosure_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_disclosure_module);

    if (ngx_http_disclosure_path(r, &path) != NGX_OK) {
        return NGX_HTTP_NOT_FOUND;
    }

    rc = ngx_http_disclosure_parse_route(&path, &ctx->route);

    switch (rc) {

    case NGX_OK:
        break;

    case NGX_HTTP_BAD_REQUEST:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "disclosure: bad request \"%V\": %s",
                      &r->uri, ctx->route.error);
        return rc;

    case NGX_HTTP_MOVED_PERMANENTLY:
        return ngx_http_disclosure_redirect(r, ctx);

    default:
        return rc;
    }

    q = &ctx->query;
    q->done = ngx_http_disclosure_done;
    q->data = ctx;

    switch (ctx->route.route) {

    case NGX_HTTP_DISCLOSURE_INDEX:
        q->sql = "SELECT disclosure_web.index()::text";
        break;

    case NGX_HTTP_DISCLOSURE_AGENCY:
        q->sql = "SELECT disclosure_web.agency($1)::text";
        q->nparams = 1;
        q->params[0] = ctx->route.slug;
        break;

    default: /* NGX_HTTP_DISCLOSURE_REPORT, NGX_HTTP_DISCLOSURE_TABLE */
        q->sql = "SELECT disclosure_web.report($1, $2::int)::text";
        q->nparams = 2;
        q->params[0] = ctx->route.slug;
        q->params[1] = ctx->route.year;
        break;
    }

    /* a client that goes away ends the request; the query drains alone */
    if (r == r->main) {
        r->read_event_handler = ngx_http_test_reading;

        /* with "listen ... deferred" the read event was never registered */
        if (ngx_handle_read_event(r->connection->read, 0) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    r->main->count++;

    if (ngx_http_disclosure_db_query(r, q) != NGX_OK) {
        r->main->count--;
        ngx_str_set(&path, NGX_HTTP_DISCLOSURE_RETRY_AFTER);
        (void) ngx_http_disclosure_add_header(r, "Retry-After", &path);
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    return NGX_DONE;
}


static void
ngx_http_disclosure_done(ngx_http_request_t *r, ngx_http_disclosure_query_t *q,
    ngx_int_t rc)
{
    ngx_str_t                   retry;
    ngx_http_disclosure_ctx_t  *ctx = q->data;

    switch (rc) {

    case NGX_OK:
        rc = ngx_http_disclosure_respond(r, ctx);
        break;

    case NGX_DECLINED:
        rc = NGX_HTTP_NOT_FOUND;
        break;

    default:
        /* the db layer has logged why */
        ngx_str_set(&retry, NGX_HTTP_DISCLOSURE_RETRY_AFTER);
        (void) ngx_http_disclosure_add_header(r, "Retry-After", &retry);
        rc = NGX_HTTP_SERVICE_UNAVAILABLE;
        break;
    }

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_disclosure_respond(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx)
{
    off_t         len;
    yajl_val      doc;
    ngx_int_t     rc;
    ngx_chain_t  *out, *cl;
    char          err[128];

    doc = yajl_tree_parse((const char *) ctx->query.value, err, sizeof(err));

    if (doc == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "disclosure: the database returned malformed JSON "
                      "for \"%V\": %s", &r->uri, err);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_disclosure_render(r, ctx, doc, &out);

    if (rc == NGX_OK) {
        rc = ngx_http_disclosure_validators(r, ctx, doc);
    }

    yajl_tree_free(doc);

    if (rc == NGX_DECLINED) {
        return NGX_HTTP_NOT_FOUND;
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_disclosure_content_type(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = 0;

    for (cl = out; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}


static ngx_int_t
ngx_http_disclosure_render(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx, yajl_val doc, ngx_chain_t **out)
{
    ngx_http_core_loc_conf_t        *clcf;
    ngx_http_disclosure_loc_conf_t  *dlcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    dlcf = ngx_http_get_module_loc_conf(r, ngx_http_disclosure_module);

    if (ctx->route.variant == NGX_HTTP_DISCLOSURE_JSON) {
        return ngx_http_disclosure_json(r, doc, out);
    }

    switch (ctx->route.route) {

    case NGX_HTTP_DISCLOSURE_INDEX:
        return ngx_http_disclosure_html_index(r, doc, &clcf->name, dlcf, out);

    case NGX_HTTP_DISCLOSURE_AGENCY:
        return ngx_http_disclosure_html_agency(r, doc, &clcf->name, dlcf,
                                               out);

    case NGX_HTTP_DISCLOSURE_TABLE:
        return ngx_http_disclosure_html_fragment(r, doc, &ctx->route.table,
                                                 out);

    default: /* NGX_HTTP_DISCLOSURE_REPORT */
        if (ctx->route.variant == NGX_HTTP_DISCLOSURE_CSV) {
            return ngx_http_disclosure_csv(r, doc, out);
        }

        return ngx_http_disclosure_html_report(r, doc, &clcf->name, dlcf,
                                               out);
    }
}


/*
 * ETag and Last-Modified: a report changes only with its revision; the
 * index and agency pages with the data version.  nginx's not_modified
 * filter answers conditional requests from these two headers.
 */

static ngx_int_t
ngx_http_disclosure_validators(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx, yajl_val doc)
{
    u_char            *p;
    ngx_int_t          version;
    const char        *time, *kind;
    ngx_table_elt_t   *etag;

    if (ctx->route.route == NGX_HTTP_DISCLOSURE_REPORT
        || ctx->route.route == NGX_HTTP_DISCLOSURE_TABLE)
    {
        kind = "r";
        time = ngx_http_disclosure_get_string(doc, "published_at");

        if (ngx_http_disclosure_get_int(doc, "revision", &version) != NGX_OK) {
            version = -1;
        }

    } else {
        kind = "v";
        time = ngx_http_disclosure_get_string(doc, "changed_at");

        if (ngx_http_disclosure_get_int(doc, "data_version", &version)
            != NGX_OK)
        {
            version = -1;
        }
    }

    if (time) {
        r->headers_out.last_modified_time =
                                      ngx_http_disclosure_parse_iso_time(time);
    }

    if (version < 0) {
        return NGX_OK;
    }

    etag = ngx_list_push(&r->headers_out.headers);
    if (etag == NULL) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, sizeof("\"" NGX_HTTP_DISCLOSURE_RENDER_VERSION
                                    "-r-" "-fragment-applications\"")
                             + NGX_INT_T_LEN);
    if (p == NULL) {
        etag->hash = 0;
        return NGX_ERROR;
    }

    etag->hash = 1;
    ngx_str_set(&etag->key, "ETag");
    etag->value.data = p;
    etag->value.len = ngx_sprintf(p, "\"" NGX_HTTP_DISCLOSURE_RENDER_VERSION
                                  "-%s%i-%V%s%V\"", kind, version,
                                  &ngx_http_disclosure_variant_names[
                                                       ctx->route.variant],
                                  ctx->route.table.len ? "-" : "",
                                  &ctx->route.table)
                      - p;

    r->headers_out.etag = etag;

    return NGX_OK;
}


static ngx_int_t
ngx_http_disclosure_content_type(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx)
{
    u_char     *p;
    ngx_str_t   value;

    switch (ctx->route.variant) {

    case NGX_HTTP_DISCLOSURE_JSON:
        ngx_str_set(&r->headers_out.content_type, "application/json");
        break;

    case NGX_HTTP_DISCLOSURE_CSV:
        ngx_str_set(&r->headers_out.content_type, "text/csv");

        /* Excel and browsers save it under a name that says what it is */
        p = ngx_pnalloc(r->pool, sizeof("attachment; filename=\"-.csv\"")
                                 + ctx->route.slug.len + ctx->route.year.len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        value.data = p;
        value.len = ngx_sprintf(p, "attachment; filename=\"%V-%V.csv\"",
                                &ctx->route.slug, &ctx->route.year)
                    - p;

        if (ngx_http_disclosure_add_header(r, "Content-Disposition", &value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        break;

    default:
        ngx_str_set(&r->headers_out.content_type, "text/html");
        break;
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;
    ngx_str_set(&r->headers_out.charset, "utf-8");

    return NGX_OK;
}


static ngx_int_t
ngx_http_disclosure_add_header(ngx_http_request_t *r, char *key,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value = *value;

    return NGX_OK;
}


/* "/{prefix}{agency}" → "/{prefix}{agency}/", as nginx does for directories */

static ngx_int_t
ngx_http_disclosure_redirect(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx)
{
    u_char           *p;
    size_t            len;
    ngx_table_elt_t  *location;

    len = r->uri.len + 1;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ngx_cpymem(p, r->uri.data, r->uri.len) = '/';

    location = ngx_list_push(&r->headers_out.headers);
    if (location == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    location->hash = 1;
    ngx_str_set(&location->key, "Location");
    location->value.data = p;
    location->value.len = len;

    ngx_http_clear_location(r);
    r->headers_out.location = location;

    return NGX_HTTP_MOVED_PERMANENTLY;
}


/* the path below the location's prefix */

static ngx_int_t
ngx_http_disclosure_path(ngx_http_request_t *r, ngx_str_t *path)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (r->uri.len < clcf->name.len
        || ngx_strncmp(r->uri.data, clcf->name.data, clcf->name.len) != 0)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "disclosure: \"%V\" is not below the location \"%V\"",
                      &r->uri, &clcf->name);
        return NGX_ERROR;
    }

    path->data = r->uri.data + clcf->name.len;
    path->len = r->uri.len - clcf->name.len;

    /* "location /disclosure { disclosure; }" sees "/xigong-edz/2024" */
    if (path->len && path->data[0] == '/') {
        path->data++;
        path->len--;
    }

    return NGX_OK;
}


/* "2025-01-20T09:00:00+08:00", as the database writes times, to time_t */

static time_t
ngx_http_disclosure_parse_iso_time(const char *s)
{
    u_char      *p;
    ngx_int_t    year, month, day, hour, min, sec, oh, om, off, days;

    p = (u_char *) s;

    if (ngx_strlen(s) != sizeof("2025-01-20T09:00:00+08:00") - 1
        || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':'
        || p[16] != ':' || (p[19] != '+' && p[19] != '-') || p[22] != ':')
    {
        return -1;
    }

    /* anything but digits is NGX_ERROR, below every range */

    year = ngx_atoi(p, 4);
    month = ngx_atoi(p + 5, 2);
    day = ngx_atoi(p + 8, 2);
    hour = ngx_atoi(p + 11, 2);
    min = ngx_atoi(p + 14, 2);
    sec = ngx_atoi(p + 17, 2);
    oh = ngx_atoi(p + 20, 2);
    om = ngx_atoi(p + 23, 2);

    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31
        || hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0
        || sec > 60 || oh < 0 || oh > 23 || om < 0 || om > 59)
    {
        return -1;
    }

    /*
     * Gauss' formula for days since 1 March 1 BC, as ngx_http_parse_time():
     * months count from March, January and February are the year before
     */

    month -= 2;

    if (month <= 0) {
        month += 12;
        year -= 1;
    }

    days = 365 * year + year / 4 - year / 100 + year / 400
           + 367 * month / 12 - 30 + day - 1
           - 719527 + 31 + 28;

    off = oh * 60 + om;

    if (p[19] == '+') {
        off = -off;
    }

    return (time_t) days * 86400 + hour * 3600 + min * 60 + sec + off * 60;
}
