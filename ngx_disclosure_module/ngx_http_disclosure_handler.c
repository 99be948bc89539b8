
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <yajl/yajl_tree.h>

#include "ngx_http_disclosure_module.h"
#include "ngx_http_disclosure_handler.h"
#include "ngx_http_disclosure_db.h"
#include "ngx_http_disclosure_route.h"
#include "ngx_http_disclosure_doc.h"
#include "ngx_http_disclosure_html.h"
#include "ngx_http_disclosure_page.h"
#include "ngx_http_disclosure_csv.h"
#include "ngx_http_disclosure_json.h"
#include "ngx_http_disclosure_trend.h"
#include "ngx_http_disclosure_compare.h"
#include "ngx_http_disclosure_rollup.h"
#include "ngx_http_disclosure_time.h"
#include "ngx_http_disclosure_cache.h"
#include "ngx_http_disclosure_gzip.h"
#include "ngx_http_disclosure_listener.h"
#include "ngx_http_disclosure_preview.h"
#include "ngx_http_disclosure_data.h"


/*
 * The content handler: routes, one query of the read-only web API per
 * response, the rendering, and HTTP as nginx users expect it (GET/HEAD,
 * ETag and Last-Modified, 304 through nginx's not_modified filter, 400,
 * 404, 503 with Retry-After).
 *
 * With "disclosure_cache", a response is looked up in the zone first: a
 * fresh copy is sent without touching the database; otherwise one request
 * takes the entry's lock and queries, and the others wait for it (polling
 * the zone with a timer, up to disclosure_cache_lock_timeout) or are sent
 * the stale copy.  When the database fails, a stale copy is sent rather
 * than 503.  A page the database does not have (SQL NULL) is cached as a
 * 404, under the key its 200 would have, so that requests for missing
 * pages do not each cost a query; a publication invalidates it like a
 * page.  A cached page is compressed once, when it is stored: a client
 * that takes gzip gets that variant (_gzip.c).
 */


#define NGX_HTTP_DISCLOSURE_RETRY_AFTER     "10"

/* a fragment's stylesheets: the report's, the pages across reports' */
#define NGX_HTTP_DISCLOSURE_STYLE_REPORT    1
#define NGX_HTTP_DISCLOSURE_STYLE_PAGES     2

/* a waiting request looks at the zone again after 5, 10, ... 100 ms */
#define NGX_HTTP_DISCLOSURE_WAIT_FIRST      5
#define NGX_HTTP_DISCLOSURE_WAIT_MAX        100


typedef struct {
    ngx_http_disclosure_route_t          route;
    ngx_http_disclosure_query_t          query;

    ngx_http_disclosure_cache_entry_t    cache;     /* zone NULL: no cache */
    ngx_http_disclosure_cache_status_e   status;
    void                                *pin;       /* sending from the
                                                       zone */
    ngx_event_t                          wait;
    ngx_msec_t                           wait_until;
    ngx_msec_t                           wait_delay;

    unsigned                             status_sent:1;
    unsigned                             gzip:1;    /* the client takes it */
} ngx_http_disclosure_ctx_t;


/* what a page of fragments has had sent (ngx_http_disclosure_style()) */
typedef struct {
    ngx_http_request_t                  *main;
    ngx_uint_t                           sent;
} ngx_http_disclosure_style_mark_t;


static ngx_int_t ngx_http_disclosure_query(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx);
static ngx_int_t ngx_http_disclosure_async(ngx_http_request_t *r);
static void ngx_http_disclosure_done(ngx_http_request_t *r,
    ngx_http_disclosure_query_t *q, ngx_int_t rc);
static ngx_int_t ngx_http_disclosure_failed(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx);
static ngx_int_t ngx_http_disclosure_not_found(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx);
static ngx_int_t ngx_http_disclosure_respond(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx);
static ngx_int_t ngx_http_disclosure_render(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx, yajl_val doc, ngx_chain_t **out);
static ngx_int_t ngx_http_disclosure_validators(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx, yajl_val doc);
static ngx_int_t ngx_http_disclosure_content_type(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx);
static ngx_int_t ngx_http_disclosure_handler_cache_start(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx, ngx_http_disclosure_loc_conf_t *dlcf);
static ngx_int_t ngx_http_disclosure_handler_cache_lookup_request(
    ngx_http_request_t *r, ngx_http_disclosure_ctx_t *ctx, ngx_uint_t flags);
static ngx_int_t ngx_http_disclosure_handler_cache_wait(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx);
static void ngx_http_disclosure_handler_cache_wait_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_disclosure_handler_cache_send(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx, ngx_http_disclosure_cache_copy_t *copy);
static ngx_int_t ngx_http_disclosure_handler_cache_header(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx);
static ngx_uint_t ngx_http_disclosure_handler_cache_flags(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx);
static void ngx_http_disclosure_handler_cache_cleanup(void *data);
static ngx_int_t ngx_http_disclosure_style(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx, ngx_chain_t **out, off_t *len);
static ngx_int_t ngx_http_disclosure_style_prepend(ngx_http_request_t *r,
    ngx_str_t *style, ngx_chain_t **out, off_t *len);
static void ngx_http_disclosure_style_mark(void *data);
static ngx_int_t ngx_http_disclosure_redirect(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx);
static ngx_int_t ngx_http_disclosure_path(ngx_http_request_t *r,
    ngx_str_t *path);


static ngx_str_t  ngx_http_disclosure_variant_names[] = {
    ngx_string("html"),
    ngx_string("json"),
    ngx_string("csv"),
    ngx_string("fragment")
};


/* by ngx_http_disclosure_route_e: what a CSV file name ends with */
static char  *ngx_http_disclosure_csv_suffix[] = {
    "", "", "", "", "-trend", "-compare", "-rollup", ""
};


/* by ngx_http_disclosure_cache_status_e */
static ngx_str_t  ngx_http_disclosure_handler_cache_statuses[] = {
    ngx_null_string,
    ngx_string("MISS"),
    ngx_string("HIT"),
    ngx_string("STALE"),
    ngx_string("UPDATING"),
    ngx_string("BYPASS")
};


ngx_int_t
ngx_http_disclosure_handler(ngx_http_request_t *r)
{
    ngx_int_t                        rc;
    ngx_str_t                        path, nosniff;
    ngx_http_disclosure_ctx_t       *ctx;
    ngx_http_disclosure_loc_conf_t  *dlcf;

    /* on every response of the module, errors included */

    ngx_str_set(&nosniff, "nosniff");

    if (ngx_http_disclosure_add_header(r, "X-Content-Type-Options", &nosniff)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    dlcf = ngx_http_get_module_loc_conf(r, ngx_http_disclosure_module);

    if (dlcf->preview && ngx_http_disclosure_preview_headers(r) != NGX_OK) {
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

    if (!dlcf->preview) {
        /* data/ and format/: the bulk files and their catalog (_data.c) */
        rc = ngx_http_disclosure_data_handler(r, &path);

        if (rc != NGX_DECLINED) {
            return rc;
        }
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

    if (dlcf->cache) {
        rc = ngx_http_disclosure_handler_cache_start(r, ctx, dlcf);

        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    r->main->count++;

    rc = ngx_http_disclosure_query(r, ctx);

    if (rc != NGX_DONE) {
        r->main->count--;
    }

    return rc;
}


/*
 * Starts the query: NGX_DONE, and done() will follow; otherwise what to
 * finalize the request with now.  The caller holds a reference on the
 * request for the query.
 */

static ngx_int_t
ngx_http_disclosure_query(ngx_http_request_t *r, ngx_http_disclosure_ctx_t *ctx)
{
    ngx_http_disclosure_query_t      *q;
    ngx_http_disclosure_loc_conf_t   *dlcf;
    ngx_http_disclosure_main_conf_t  *dmcf;

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

    case NGX_HTTP_DISCLOSURE_TREND:
        q->sql = "SELECT disclosure_web.trend($1)::text";
        q->nparams = 1;
        q->params[0] = ctx->route.slug;
        break;

    case NGX_HTTP_DISCLOSURE_COMPARE:
        q->sql = "SELECT disclosure_web.compare($1, $2::int)::text";
        q->nparams = 2;
        q->params[0] = ctx->route.slug;
        q->params[1] = ctx->route.year;
        break;

    case NGX_HTTP_DISCLOSURE_ROLLUP:
        q->sql = "SELECT disclosure_web.rollup($1, $2::int)::text";
        q->nparams = 2;
        q->params[0] = ctx->route.slug;
        q->params[1] = ctx->route.year;
        break;

    case NGX_HTTP_DISCLOSURE_YEAR:
        q->sql = "SELECT disclosure_web.year_page($1::int)::text";
        q->nparams = 1;
        q->params[0] = ctx->route.year;
        break;

    default: /* NGX_HTTP_DISCLOSURE_REPORT, NGX_HTTP_DISCLOSURE_TABLE */
        q->sql = "SELECT disclosure_web.report($1, $2::int)::text";
        q->nparams = 2;
        q->params[0] = ctx->route.slug;
        q->params[1] = ctx->route.year;
        break;
    }

    dlcf = ngx_http_get_module_loc_conf(r, ngx_http_disclosure_module);

    if (dlcf->preview) {
        ngx_http_disclosure_preview_query(r, &ctx->route, q);
    }

    if (ngx_http_disclosure_async(r) != NGX_OK) {
        ngx_http_disclosure_cache_release(&ctx->cache);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    dmcf = ngx_http_get_module_main_conf(r, ngx_http_disclosure_module);

    /* "... while querying the disclosure database", as upstreams say */
    r->connection->log->action = "querying the disclosure database";

    ngx_http_disclosure_shared_query(dmcf, 0);

    if (ngx_http_disclosure_db_query(r, q) != NGX_OK) {
        ngx_http_disclosure_shared_query(dmcf, 1);
        return ngx_http_disclosure_failed(r, ctx);
    }

    return NGX_DONE;
}


/* a client that goes away ends the request; a query drains alone */

static ngx_int_t
ngx_http_disclosure_async(ngx_http_request_t *r)
{
    if (r != r->main || r->read_event_handler == ngx_http_test_reading) {
        return NGX_OK;
    }

    r->read_event_handler = ngx_http_test_reading;

    /* with "listen ... deferred" the read event was never registered */
    return ngx_handle_read_event(r->connection->read, 0);
}


static void
ngx_http_disclosure_done(ngx_http_request_t *r, ngx_http_disclosure_query_t *q,
    ngx_int_t rc)
{
    ngx_http_disclosure_ctx_t        *ctx = q->data;
    ngx_http_disclosure_main_conf_t  *dmcf;

    switch (rc) {

    case NGX_OK:
        rc = ngx_http_disclosure_respond(r, ctx);
        break;

    case NGX_DECLINED:
        rc = ngx_http_disclosure_not_found(r, ctx);
        break;

    default:
        /* the db layer has logged why */
        dmcf = ngx_http_get_module_main_conf(r, ngx_http_disclosure_module);
        ngx_http_disclosure_shared_query(dmcf, 1);

        rc = ngx_http_disclosure_failed(r, ctx);
        break;
    }

    ngx_http_finalize_request(r, rc);
}


/* the database failed: a stale copy if there is one, else 503 */

static ngx_int_t
ngx_http_disclosure_failed(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx)
{
    ngx_int_t                         rc;
    ngx_str_t                         retry;
    ngx_uint_t                        flags;
    ngx_http_disclosure_loc_conf_t   *dlcf;
    ngx_http_disclosure_cache_copy_t  copy;

    if (ctx->cache.zone) {
        ngx_http_disclosure_cache_release(&ctx->cache);

        dlcf = ngx_http_get_module_loc_conf(r, ngx_http_disclosure_module);

        if (dlcf->cache_use_stale & NGX_HTTP_DISCLOSURE_STALE_ERROR) {

            flags = ngx_http_disclosure_handler_cache_flags(r, ctx);

            rc = ngx_http_disclosure_cache_stale(r, &ctx->cache, flags,
                                                 &copy);

            if (rc == NGX_OK) {
                ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                              "disclosure: the database failed, "
                              "\"%V\" is served stale", &r->uri);

                ctx->status = NGX_HTTP_DISCLOSURE_CACHE_STALE;
                return ngx_http_disclosure_handler_cache_send(r, ctx, &copy);
            }

            if (rc == NGX_ERROR) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }
    }

    if (ngx_http_disclosure_handler_cache_header(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&retry, NGX_HTTP_DISCLOSURE_RETRY_AFTER);
    (void) ngx_http_disclosure_add_header(r, "Retry-After", &retry);

    return NGX_HTTP_SERVICE_UNAVAILABLE;
}


/*
 * No such page (SQL NULL: unknown, draft or withdrawn), or a fragment of
 * a table the report's format lacks: a 404, stored in place of whatever
 * the key held.  Both follow from the report's data alone, so the
 * publications that invalidate the key's 200 invalidate its 404 too.
 */

static ngx_int_t
ngx_http_disclosure_not_found(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx)
{
    ngx_str_t  no_etag;

    if (ctx->cache.zone) {
        ngx_str_null(&no_etag);

        (void) ngx_http_disclosure_cache_store(&ctx->cache, NGX_HTTP_NOT_FOUND,
                                               NULL, NULL, &no_etag, -1,
                                               r->connection->log);
    }

    if (ngx_http_disclosure_handler_cache_header(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_HTTP_NOT_FOUND;
}


static ngx_int_t
ngx_http_disclosure_respond(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx)
{
    off_t         len;
    yajl_val      doc;
    ngx_buf_t    *b;
    ngx_int_t     rc;
    ngx_str_t     etag, err, gzip;
    ngx_chain_t  *out, *cl;

    ngx_http_disclosure_loc_conf_t  *dlcf;

    dlcf = ngx_http_get_module_loc_conf(r, ngx_http_disclosure_module);

    r->connection->log->action = "rendering the disclosure response";

    doc = ngx_http_disclosure_doc_parse(r->pool, r->connection->log,
                                        ctx->query.value, ctx->query.len,
                                        &err);

    if (doc == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "disclosure: the database returned malformed JSON "
                      "for \"%V\": %V", &r->uri, &err);
        ngx_http_disclosure_cache_release(&ctx->cache);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (dlcf->preview && ctx->route.variant != NGX_HTTP_DISCLOSURE_HTML) {
        /* the draft's document as export_report() gives it */
        ngx_http_disclosure_preview_strip(doc);
    }

    rc = ngx_http_disclosure_render(r, ctx, doc, &out);

    if (rc == NGX_OK && dlcf->preview) {
        /* a draft changes without a new revision: no validators */
        if (ctx->route.route == NGX_HTTP_DISCLOSURE_TABLE) {
            rc = ngx_http_disclosure_preview_prepend(r, doc, &out);
        }

    } else if (rc == NGX_OK) {
        rc = ngx_http_disclosure_validators(r, ctx, doc);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_disclosure_content_type(r, ctx);
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_disclosure_not_found(r, ctx);
    }

    if (rc != NGX_OK) {
        ngx_http_disclosure_cache_release(&ctx->cache);
        (void) ngx_http_disclosure_handler_cache_header(r, ctx);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_null(&gzip);

    if (ctx->cache.zone) {
        if (r->headers_out.etag) {
            etag = r->headers_out.etag->value;

        } else {
            ngx_str_null(&etag);
        }

        /* a fragment stays plain: nginx's SSI reads it */

        if (ctx->route.route != NGX_HTTP_DISCLOSURE_TABLE
            && ctx->route.variant != NGX_HTTP_DISCLOSURE_FRAGMENT)
        {
            rc = ngx_http_disclosure_gzip_deflate(r->pool, out, &gzip,
                                                  r->connection->log);
            if (rc != NGX_OK) {
                ngx_str_null(&gzip);
            }
        }

        (void) ngx_http_disclosure_cache_store(&ctx->cache, NGX_HTTP_OK, out,
                                     &gzip, &etag,
                                     r->headers_out.last_modified_time,
                                     r->connection->log);
    }

    if (ngx_http_disclosure_handler_cache_header(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (gzip.len) {
        /* as the hits that follow will be sent */

        if (ngx_http_disclosure_gzip_headers(r, ctx->gzip) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ctx->gzip) {
            b = ngx_calloc_buf(r->pool);
            cl = ngx_alloc_chain_link(r->pool);
            if (b == NULL || cl == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            b->pos = gzip.data;
            b->last = gzip.data + gzip.len;
            b->memory = 1;
            b->last_buf = 1;
            b->last_in_chain = 1;

            cl->buf = b;
            cl->next = NULL;
            out = cl;
        }
    }

    len = 0;

    for (cl = out; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    if (ngx_http_disclosure_style(r, ctx, &out, &len) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = len;

    r->connection->log->action = "sending to client";

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

    case NGX_HTTP_DISCLOSURE_TREND:
        return ngx_http_disclosure_trend(r, doc, &clcf->name, dlcf,
                                         ctx->route.variant, out);

    case NGX_HTTP_DISCLOSURE_COMPARE:
        return ngx_http_disclosure_compare(r, doc, &clcf->name, dlcf,
                                           ctx->route.variant,
                                           &ctx->route.table, out);

    case NGX_HTTP_DISCLOSURE_ROLLUP:
        return ngx_http_disclosure_rollup(r, doc, &clcf->name, dlcf,
                                          ctx->route.variant,
                                          &ctx->route.table, out);

    case NGX_HTTP_DISCLOSURE_YEAR:
        return ngx_http_disclosure_year(r, doc, &clcf->name, dlcf,
                                        ctx->route.variant, out);

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
 * index and agency pages with the data version.  The location's template
 * and prefix shape the bytes too: the ETag carries their checksum (the
 * cache key's), and Last-Modified is no earlier than the template was
 * read, so that a reload with a new template is not answered 304.
 * nginx's not_modified filter answers conditional requests from these
 * two headers.
 */

static ngx_int_t
ngx_http_disclosure_validators(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx, yajl_val doc)
{
    u_char                          *p;
    ngx_int_t                        version;
    const char                      *time, *kind;
    ngx_table_elt_t                 *etag;
    ngx_http_disclosure_loc_conf_t  *dlcf;

    dlcf = ngx_http_get_module_loc_conf(r, ngx_http_disclosure_module);

    if (ctx->route.route == NGX_HTTP_DISCLOSURE_REPORT
        || ctx->route.route == NGX_HTTP_DISCLOSURE_TABLE)
    {
        kind = "r";
        time = ngx_http_disclosure_doc_get_string(doc, "published_at");

        if (ngx_http_disclosure_doc_get_int(doc, "revision", &version) != NGX_OK) {
            version = -1;
        }

    } else {
        kind = "v";
        time = ngx_http_disclosure_doc_get_string(doc, "changed_at");

        if (ngx_http_disclosure_doc_get_int(doc, "data_version", &version)
            != NGX_OK)
        {
            version = -1;
        }
    }

    if (time) {
        r->headers_out.last_modified_time =
                                      ngx_http_disclosure_time_parse_iso(time);
    }

    if (dlcf->template_time > r->headers_out.last_modified_time) {
        r->headers_out.last_modified_time = dlcf->template_time;
    }

    if (version < 0) {
        return NGX_OK;
    }

    etag = ngx_list_push(&r->headers_out.headers);
    if (etag == NULL) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, sizeof("\"" NGX_HTTP_DISCLOSURE_RENDER_VERSION
                                    "-r-" "-fragment-applications-\"")
                             + NGX_INT_T_LEN + 8);
    if (p == NULL) {
        etag->hash = 0;
        return NGX_ERROR;
    }

    etag->hash = 1;
    ngx_str_set(&etag->key, "ETag");
    etag->value.data = p;
    etag->value.len = ngx_sprintf(p, "\"" NGX_HTTP_DISCLOSURE_RENDER_VERSION
                                  "-%s%i-%V%s%V-%08xD\"", kind, version,
                                  &ngx_http_disclosure_variant_names[
                                                       ctx->route.variant],
                                  ctx->route.table.len ? "-" : "",
                                  &ctx->route.table, dlcf->cache_location)
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
        p = ngx_pnalloc(r->pool, sizeof("attachment; filename=\"--rollup.csv\"")
                                 + ctx->route.slug.len + ctx->route.year.len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        value.data = p;
        p = ngx_sprintf(p, "attachment; filename=\"%V%s%V%s.csv\"",
                        &ctx->route.slug,
                        (ctx->route.slug.len && ctx->route.year.len)
                        ? "-" : "",
                        &ctx->route.year,
                        ngx_http_disclosure_csv_suffix[ctx->route.route]);
        value.len = p - value.data;

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


/*
 * NGX_DECLINED: query the database (ctx->status says MISS or BYPASS);
 * NGX_DONE: waiting for another request's fill; otherwise the response
 * was sent from the cache, or what to finalize the request with.
 */

static ngx_int_t
ngx_http_disclosure_handler_cache_start(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx, ngx_http_disclosure_loc_conf_t *dlcf)
{
    ngx_pool_cleanup_t  *cln;

    ngx_http_disclosure_cache_init_entry(&ctx->cache, dlcf, &ctx->route);

    if (ctx->cache.zone == NULL) {
        return NGX_DECLINED;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_disclosure_handler_cache_cleanup;
    cln->data = ctx;

    ctx->gzip = ngx_http_disclosure_gzip_accepted(r);

    if (dlcf->cache_bypass) {

        switch (ngx_http_test_predicates(r, dlcf->cache_bypass)) {

        case NGX_ERROR:
            return NGX_HTTP_INTERNAL_SERVER_ERROR;

        case NGX_DECLINED:
            /* a fresh response, which refreshes the entry too */
            ctx->status = NGX_HTTP_DISCLOSURE_CACHE_BYPASS;
            ngx_http_disclosure_cache_begin(&ctx->cache);
            return NGX_DECLINED;

        default: /* NGX_OK */
            break;
        }
    }

    return ngx_http_disclosure_handler_cache_lookup_request(r, ctx, 0);
}


static ngx_int_t
ngx_http_disclosure_handler_cache_lookup_request(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx, ngx_uint_t flags)
{
    ngx_int_t                         rc;
    ngx_http_disclosure_loc_conf_t   *dlcf;
    ngx_http_disclosure_cache_copy_t  copy;

    dlcf = ngx_http_get_module_loc_conf(r, ngx_http_disclosure_module);

    if (dlcf->cache_use_stale & NGX_HTTP_DISCLOSURE_STALE_UPDATING) {
        flags |= NGX_HTTP_DISCLOSURE_CACHE_USE_OLD;
    }

    flags |= ngx_http_disclosure_handler_cache_flags(r, ctx);

    rc = ngx_http_disclosure_cache_lookup(r, &ctx->cache, flags, &copy);

    switch (rc) {

    case NGX_HTTP_DISCLOSURE_CACHE_FRESH:
        ctx->status = NGX_HTTP_DISCLOSURE_CACHE_HIT;
        return ngx_http_disclosure_handler_cache_send(r, ctx, &copy);

    case NGX_HTTP_DISCLOSURE_CACHE_OLD:
        ctx->status = NGX_HTTP_DISCLOSURE_CACHE_UPDATING;
        return ngx_http_disclosure_handler_cache_send(r, ctx, &copy);

    case NGX_HTTP_DISCLOSURE_CACHE_LOCKED:
        ctx->status = NGX_HTTP_DISCLOSURE_CACHE_MISS;
        return NGX_DECLINED;

    case NGX_HTTP_DISCLOSURE_CACHE_BUSY:
        return ngx_http_disclosure_handler_cache_wait(r, ctx);

    default: /* NGX_ERROR */
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


/* like proxy_cache_lock: look again a little later, up to the timeout */

static ngx_int_t
ngx_http_disclosure_handler_cache_wait(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx)
{
    ngx_msec_t       delay;
    ngx_msec_int_t   left;

    if (ctx->wait.handler == NULL) {

        if (ngx_http_disclosure_async(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->wait.handler = ngx_http_disclosure_handler_cache_wait_handler;
        ctx->wait.data = r;
        ctx->wait.log = r->connection->log;

        ctx->wait_until = ngx_current_msec + ctx->cache.lock_timeout;
        ctx->wait_delay = NGX_HTTP_DISCLOSURE_WAIT_FIRST;

        r->connection->log->action = "waiting for the disclosure cache lock";

        /* the timer holds the request */
        r->main->count++;

    } else if (ctx->wait_delay < NGX_HTTP_DISCLOSURE_WAIT_MAX) {
        ctx->wait_delay = ngx_min(ctx->wait_delay * 2,
                                  NGX_HTTP_DISCLOSURE_WAIT_MAX);
    }

    left = (ngx_msec_int_t) (ctx->wait_until - ngx_current_msec);
    delay = ngx_min(ctx->wait_delay, (ngx_msec_t) ngx_max(left, 1));

    ngx_add_timer(&ctx->wait, delay);

    return NGX_DONE;
}


static void
ngx_http_disclosure_handler_cache_wait_handler(ngx_event_t *ev)
{
    ngx_int_t                   rc;
    ngx_uint_t                  flags;
    ngx_connection_t           *c;
    ngx_http_request_t         *r;
    ngx_http_disclosure_ctx_t  *ctx;

    r = ev->data;
    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_disclosure_module);

    ngx_http_set_log_request(c->log, r);

    /* waited long enough: this request fills the entry itself */
    flags = ((ngx_msec_int_t) (ngx_current_msec - ctx->wait_until) >= 0)
            ? NGX_HTTP_DISCLOSURE_CACHE_TAKEOVER : 0;

    rc = ngx_http_disclosure_handler_cache_lookup_request(r, ctx, flags);

    if (rc == NGX_DECLINED) {
        /* the timer's reference on the request goes to the query */
        rc = ngx_http_disclosure_query(r, ctx);
    }

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }

    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_disclosure_handler_cache_send(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx, ngx_http_disclosure_cache_copy_t *copy)
{
    off_t             len;
    ngx_int_t         rc;
    ngx_buf_t        *b;
    ngx_chain_t       link, *out, *cl;
    ngx_table_elt_t  *etag;

    if (copy->pin) {
        /* released by the pool's cleanup, when nothing is left to send */
        ctx->pin = copy->pin;
    }

    if (copy->status == NGX_HTTP_NOT_FOUND) {
        /* nginx's 404, as on a miss */
        return (ngx_http_disclosure_handler_cache_header(r, ctx) == NGX_OK)
               ? NGX_HTTP_NOT_FOUND : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (copy->etag.len) {
        etag = ngx_list_push(&r->headers_out.headers);
        if (etag == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        etag->hash = 1;
        ngx_str_set(&etag->key, "ETag");
        etag->value = copy->etag;

        r->headers_out.etag = etag;
    }

    r->headers_out.last_modified_time = copy->last_modified;

    if (ngx_http_disclosure_content_type(r, ctx) != NGX_OK
        || ngx_http_disclosure_handler_cache_header(r, ctx) != NGX_OK
        || (copy->vary
            && ngx_http_disclosure_gzip_headers(r, copy->gzip) != NGX_OK))
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (copy->chain) {
        out = copy->chain;

    } else if (copy->body.data == NULL && copy->body.len) {
        /* HEAD: its length, no bytes */
        out = NULL;

    } else {
        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        b->pos = copy->body.data;
        b->last = copy->body.data + copy->body.len;
        b->memory = copy->body.len ? 1 : 0;
        b->sync = copy->body.len ? 0 : 1;

        link.buf = b;
        link.next = NULL;
        out = &link;
    }

    if (out) {
        for (cl = out; cl->next; cl = cl->next) { /* void */ }

        cl->buf->last_buf = (r == r->main) ? 1 : 0;
        cl->buf->last_in_chain = 1;
    }

    len = copy->body.len;

    if (ngx_http_disclosure_style(r, ctx, &out, &len) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = len;

    r->connection->log->action = "sending to client";

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}


/*
 * A fragment's markup needs the stylesheets, which it is sent after: the
 * report's, and the pages' for a fragment of a page across reports.  A page
 * of several fragments (SSI's subrequests of one main request, which share
 * its pool) gets each once, with the first fragment sent that needs it: a
 * mark among the pool's cleanups records what went out, found as nginx's
 * ngx_pool_run_cleanup_file() finds its own.  A fragment asked for
 * directly, read into a variable ("include set=") or for a background
 * subrequest always gets them.  The cache keeps fragments without them.
 */

static ngx_int_t
ngx_http_disclosure_style(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx, ngx_chain_t **out, off_t *len)
{
    ngx_str_t                          style;
    ngx_uint_t                         need, sent;
    ngx_pool_cleanup_t                *cln;
    ngx_http_disclosure_style_mark_t  *mark;

    if (ctx->route.variant == NGX_HTTP_DISCLOSURE_FRAGMENT) {
        need = NGX_HTTP_DISCLOSURE_STYLE_REPORT
               | NGX_HTTP_DISCLOSURE_STYLE_PAGES;

    } else if (ctx->route.route == NGX_HTTP_DISCLOSURE_TABLE
               && ctx->route.variant == NGX_HTTP_DISCLOSURE_HTML)
    {
        need = NGX_HTTP_DISCLOSURE_STYLE_REPORT;

    } else {
        return NGX_OK;
    }

    if (r != r->main && !r->subrequest_in_memory && !r->background) {

        mark = NULL;

        for (cln = r->pool->cleanup; cln; cln = cln->next) {
            if (cln->handler == ngx_http_disclosure_style_mark) {
                mark = cln->data;

                if (mark->main == r->main) {
                    break;
                }

                mark = NULL;
            }
        }

        if (mark == NULL) {
            cln = ngx_pool_cleanup_add(r->pool,
                                   sizeof(ngx_http_disclosure_style_mark_t));
            if (cln == NULL) {
                return NGX_ERROR;
            }

            cln->handler = ngx_http_disclosure_style_mark;

            mark = cln->data;
            mark->main = r->main;
            mark->sent = 0;
        }

        sent = mark->sent;
        mark->sent |= need;
        need &= ~sent;
    }

    /* prepended: the pages' first, so that the report's goes before it */

    if (need & NGX_HTTP_DISCLOSURE_STYLE_PAGES) {
        ngx_http_disclosure_page_style(&style);

        if (ngx_http_disclosure_style_prepend(r, &style, out, len) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (need & NGX_HTTP_DISCLOSURE_STYLE_REPORT) {
        ngx_http_disclosure_html_style(&style);

        if (ngx_http_disclosure_style_prepend(r, &style, out, len) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* static text in front of the body: memory, never written into */

static ngx_int_t
ngx_http_disclosure_style_prepend(ngx_http_request_t *r, ngx_str_t *style,
    ngx_chain_t **out, off_t *len)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    b = ngx_calloc_buf(r->pool);
    cl = ngx_alloc_chain_link(r->pool);
    if (b == NULL || cl == NULL) {
        return NGX_ERROR;
    }

    b->pos = style->data;
    b->last = style->data + style->len;
    b->memory = 1;

    cl->buf = b;
    cl->next = *out;
    *out = cl;
    *len += style->len;

    return NGX_OK;
}


/* a mark (ngx_http_disclosure_style()), with nothing to free */

static void
ngx_http_disclosure_style_mark(void *data)
{
    ngx_http_disclosure_style_mark_t  *mark = data;

    mark->main = NULL;
}


/* X-Disclosure-Cache, once per response, and the zone's counters */

static ngx_int_t
ngx_http_disclosure_handler_cache_header(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx)
{
    ngx_str_t  *status;

    if (ctx->cache.zone == NULL || ctx->status_sent
        || ctx->status == NGX_HTTP_DISCLOSURE_CACHE_NONE)
    {
        return NGX_OK;
    }

    ctx->status_sent = 1;

    ngx_http_disclosure_cache_count(ctx->cache.zone, ctx->status);

    status = &ngx_http_disclosure_handler_cache_statuses[ctx->status];

    return ngx_http_disclosure_add_header(r, "X-Disclosure-Cache", status);
}


/* which body a copy out of the zone takes */

static ngx_uint_t
ngx_http_disclosure_handler_cache_flags(ngx_http_request_t *r,
    ngx_http_disclosure_ctx_t *ctx)
{
    ngx_uint_t  flags;

    flags = ctx->gzip ? NGX_HTTP_DISCLOSURE_CACHE_GZIP : 0;

    if (ctx->pin == NULL) {
        flags |= NGX_HTTP_DISCLOSURE_CACHE_PIN;
    }

    if (r->method == NGX_HTTP_HEAD && r == r->main) {
        flags |= NGX_HTTP_DISCLOSURE_CACHE_NO_BODY;
    }

    return flags;
}


/* the request pool goes: no timer may fire for it, no lock stay taken,
 * no pin stay held */

static void
ngx_http_disclosure_handler_cache_cleanup(void *data)
{
    ngx_http_disclosure_ctx_t  *ctx = data;

    if (ctx->wait.timer_set) {
        ngx_del_timer(&ctx->wait);
    }

    ngx_http_disclosure_cache_release(&ctx->cache);

    if (ctx->pin) {
        ngx_http_disclosure_cache_unpin(ctx->cache.zone, ctx->pin);
        ctx->pin = NULL;
    }
}


ngx_int_t
ngx_http_disclosure_handler_cache_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_disclosure_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_disclosure_module);

    if (ctx == NULL || ctx->status == NGX_HTTP_DISCLOSURE_CACHE_NONE) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = ngx_http_disclosure_handler_cache_statuses[ctx->status].len;
    v->data = ngx_http_disclosure_handler_cache_statuses[ctx->status].data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


ngx_int_t
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
