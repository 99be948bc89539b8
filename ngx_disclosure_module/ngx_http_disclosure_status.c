
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * disclosure_status [json | prometheus];
 *
 * The operators' counters: every cache zone, the database queries of all
 * workers and each worker's connection pool (refreshed every second; the
 * answering worker's at once), and the listener.  JSON, or the Prometheus
 * text format.  Every value comes from shared memory: any worker answers
 * the same.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_disclosure_module.h"
#include "ngx_http_disclosure_handler.h"
#include "ngx_http_disclosure_status.h"
#include "ngx_http_disclosure_cache.h"
#include "ngx_http_disclosure_listener.h"


/* a metric of a cache zone: its field of ngx_http_disclosure_cache_stats_t */
typedef struct {
    const char                    *json;
    const char                    *prometheus;
    const char                    *type;
    const char                    *help;
    size_t                         offset;
} ngx_http_disclosure_metric_t;


#define ngx_http_disclosure_zone_metric(field)                                \
    offsetof(ngx_http_disclosure_cache_stats_t, field)

#define ngx_http_disclosure_metric_value(st, m)                               \
    (*(uint64_t *) ((u_char *) (st) + (m)->offset))


typedef struct {
    u_char                        *pos;
    u_char                        *last;
    ngx_uint_t                     full;
} ngx_http_disclosure_text_t;


static ngx_int_t ngx_http_disclosure_status_handler(ngx_http_request_t *r);
static void ngx_http_disclosure_status_json(ngx_http_request_t *r,
    ngx_http_disclosure_text_t *t, ngx_http_disclosure_shared_t *sh);
static void ngx_http_disclosure_status_prometheus(ngx_http_request_t *r,
    ngx_http_disclosure_text_t *t, ngx_http_disclosure_shared_t *sh);
static ngx_str_t ngx_http_disclosure_escaped(ngx_pool_t *pool,
    ngx_str_t *name);
static void ngx_http_disclosure_print(ngx_http_disclosure_text_t *t,
    const char *fmt, ...);
static void ngx_http_disclosure_pool_totals(ngx_http_disclosure_shared_t *sh,
    ngx_http_disclosure_worker_t *total);


static ngx_http_disclosure_metric_t  ngx_http_disclosure_zone_metrics[] = {

    { "size", "disclosure_cache_size_bytes", "gauge",
      "Size of the shared memory zone.",
      ngx_http_disclosure_zone_metric(size) },

    { "pages", "disclosure_cache_pages", "gauge",
      "Slab pages in the zone.",
      ngx_http_disclosure_zone_metric(pages) },

    { "free_pages", "disclosure_cache_free_pages", "gauge",
      "Slab pages not in use.",
      ngx_http_disclosure_zone_metric(free_pages) },

    { "bytes_used", "disclosure_cache_used_bytes", "gauge",
      "Bytes of the zone's pages in use.",
      ngx_http_disclosure_zone_metric(used_bytes) },

    { "bytes_free", "disclosure_cache_free_bytes", "gauge",
      "Bytes of the zone's free pages.",
      ngx_http_disclosure_zone_metric(free_bytes) },

    { "entries", "disclosure_cache_entries", "gauge",
      "Responses held.",
      ngx_http_disclosure_zone_metric(entries) },

    { "fills", "disclosure_cache_fills", "gauge",
      "Entries being filled by a database query.",
      ngx_http_disclosure_zone_metric(locks) },

    { "entry_bytes", "disclosure_cache_entry_bytes", "gauge",
      "Bytes of the entries: headers, keys, validators and bodies.",
      ngx_http_disclosure_zone_metric(bytes) },

    { "entry_allocated", "disclosure_cache_entry_allocated_bytes", "gauge",
      "Bytes the slab allocator gave the entries, as it rounds them.",
      ngx_http_disclosure_zone_metric(allocated) },

    { "body_bytes", "disclosure_cache_body_bytes", "gauge",
      "Bytes of the entries' plain bodies.",
      ngx_http_disclosure_zone_metric(body_bytes) },

    { "gzip_entries", "disclosure_cache_gzip_entries", "gauge",
      "Entries that hold a gzip variant besides the plain body.",
      ngx_http_disclosure_zone_metric(gzip_entries) },

    { "gzip_bytes", "disclosure_cache_gzip_bytes", "gauge",
      "Bytes of the entries' gzip variants.",
      ngx_http_disclosure_zone_metric(gzip_bytes) },

    { "pinned", "disclosure_cache_pinned_entries", "gauge",
      "Entries being sent from the zone, pinned.",
      ngx_http_disclosure_zone_metric(pinned) },

    { "pinned_bytes", "disclosure_cache_pinned_bytes", "gauge",
      "Bytes of the pinned entries.",
      ngx_http_disclosure_zone_metric(pinned_bytes) },

    { "pins", "disclosure_cache_pins", "gauge",
      "Requests sending from the zone.",
      ngx_http_disclosure_zone_metric(pins) },

    { "unlinked", "disclosure_cache_unlinked_entries", "gauge",
      "Entries evicted or replaced while pinned, freed by the last unpin.",
      ngx_http_disclosure_zone_metric(unlinked) },

    { "pins_reclaimed", "disclosure_cache_pins_reclaimed_total", "counter",
      "Pins of workers that died while sending, released.",
      ngx_http_disclosure_zone_metric(pins_reclaimed) },

    { "hits", "disclosure_cache_hits_total", "counter",
      "Responses served fresh from the cache.",
      ngx_http_disclosure_zone_metric(hits) },

    { "misses", "disclosure_cache_misses_total", "counter",
      "Responses that queried the database to fill the cache.",
      ngx_http_disclosure_zone_metric(misses) },

    { "stale", "disclosure_cache_stale_total", "counter",
      "Stale responses served because the database failed.",
      ngx_http_disclosure_zone_metric(stale) },

    { "updating", "disclosure_cache_updating_total", "counter",
      "Stale responses served while another request refreshed them.",
      ngx_http_disclosure_zone_metric(updating) },

    { "bypass", "disclosure_cache_bypass_total", "counter",
      "Responses that bypassed the cache (disclosure_cache_bypass).",
      ngx_http_disclosure_zone_metric(bypass) },

    { "stored", "disclosure_cache_stored_total", "counter",
      "Responses stored.",
      ngx_http_disclosure_zone_metric(stored) },

    { "evictions", "disclosure_cache_evictions_total", "counter",
      "Entries evicted, least recently used first, to make room.",
      ngx_http_disclosure_zone_metric(evictions) },

    { "expired", "disclosure_cache_expired_total", "counter",
      "Entries dropped after their stale time.",
      ngx_http_disclosure_zone_metric(expired) },

    { "too_large", "disclosure_cache_too_large_total", "counter",
      "Responses not stored: more than half the zone.",
      ngx_http_disclosure_zone_metric(too_large) },

    { "invalidated", "disclosure_cache_invalidated_entries_total", "counter",
      "Entries marked stale by publications.",
      ngx_http_disclosure_zone_metric(invalidated) },

    { "invalidations", "disclosure_cache_invalidations_total", "counter",
      "Invalidations applied to the zone.",
      ngx_http_disclosure_zone_metric(generation) }
};


#define NGX_HTTP_DISCLOSURE_ZONE_METRICS                                      \
    (sizeof(ngx_http_disclosure_zone_metrics)                                 \
     / sizeof(ngx_http_disclosure_metric_t))


static const char  *ngx_http_disclosure_listener_states[] = {
    "off", "disconnected", "connecting", "listening", "polling"
};


static const char  *ngx_http_disclosure_sources[] = {
    "none", "notification", "missed notification", "data version"
};


char *
ngx_http_disclosure_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_disclosure_loc_conf_t *dlcf = conf;

    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    if (dlcf->status) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 1 || ngx_strcmp(value[1].data, "json") == 0) {
        dlcf->status = NGX_HTTP_DISCLOSURE_STATUS_JSON;

    } else if (ngx_strcmp(value[1].data, "prometheus") == 0) {
        dlcf->status = NGX_HTTP_DISCLOSURE_STATUS_PROMETHEUS;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\", expected \"json\" or "
                           "\"prometheus\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_disclosure_status_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_disclosure_status_handler(ngx_http_request_t *r)
{
    size_t                           size;
    ngx_int_t                        rc;
    ngx_buf_t                       *b;
    ngx_chain_t                      out;
    ngx_table_elt_t                 *h;
    ngx_http_disclosure_text_t       t;
    ngx_http_disclosure_shared_t    *sh;
    ngx_http_disclosure_loc_conf_t  *dlcf;
    ngx_http_disclosure_main_conf_t *dmcf;

    static ngx_str_t  nosniff = ngx_string("nosniff");
    static ngx_str_t  allow = ngx_string("GET, HEAD");

    if (ngx_http_disclosure_add_header(r, "X-Content-Type-Options", &nosniff)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        if (ngx_http_disclosure_add_header(r, "Allow", &allow) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    dlcf = ngx_http_get_module_loc_conf(r, ngx_http_disclosure_module);
    dmcf = ngx_http_get_module_main_conf(r, ngx_http_disclosure_module);

    sh = ngx_palloc(r->pool, sizeof(ngx_http_disclosure_shared_t));
    if (sh == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_disclosure_shared_snapshot((ngx_cycle_t *) ngx_cycle, sh)
        != NGX_OK)
    {
        /* no "disclosure_database": nothing is counted */
        ngx_memzero(sh, sizeof(ngx_http_disclosure_shared_t));
    }

    size = 8192 + dmcf->cache_zones.nelts * 4096;

    for ( ;; ) {
        b = ngx_create_temp_buf(r->pool, size);
        if (b == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        t.pos = b->pos;
        t.last = b->end;
        t.full = 0;

        if (dlcf->status == NGX_HTTP_DISCLOSURE_STATUS_PROMETHEUS) {
            ngx_http_disclosure_status_prometheus(r, &t, sh);

        } else {
            ngx_http_disclosure_status_json(r, &t, sh);
        }

        if (!t.full) {
            break;
        }

        size *= 2;
    }

    b->last = t.pos;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    if (dlcf->status == NGX_HTTP_DISCLOSURE_STATUS_PROMETHEUS) {
        ngx_str_set(&r->headers_out.content_type,
                    "text/plain; version=0.0.4");

    } else {
        ngx_str_set(&r->headers_out.content_type, "application/json");
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static void
ngx_http_disclosure_status_json(ngx_http_request_t *r,
    ngx_http_disclosure_text_t *t, ngx_http_disclosure_shared_t *sh)
{
    ngx_tm_t                          tm;
    ngx_str_t                         name, agency;
    ngx_uint_t                        i, k, first;
    ngx_shm_zone_t                  **zone;
    ngx_http_disclosure_metric_t     *m;
    ngx_http_disclosure_worker_t     *w, total;
    ngx_http_disclosure_main_conf_t  *dmcf;

    ngx_http_disclosure_cache_stats_t  st;

    dmcf = ngx_http_get_module_main_conf(r, ngx_http_disclosure_module);

    ngx_http_disclosure_print(t, "{\"zones\":{");

    zone = dmcf->cache_zones.elts;

    for (i = 0; i < dmcf->cache_zones.nelts; i++) {
        ngx_http_disclosure_cache_stats(zone[i], &st);
        name = ngx_http_disclosure_escaped(r->pool, &zone[i]->shm.name);

        ngx_http_disclosure_print(t, "%s\"%V\":{", i ? "," : "", &name);

        for (k = 0; k < NGX_HTTP_DISCLOSURE_ZONE_METRICS; k++) {
            m = &ngx_http_disclosure_zone_metrics[k];

            ngx_http_disclosure_print(t, "%s\"%s\":%uL", k ? "," : "",
                                      m->json,
                                      ngx_http_disclosure_metric_value(&st, m));
        }

        ngx_http_disclosure_print(t, "}");
    }

    ngx_http_disclosure_pool_totals(sh, &total);

    ngx_http_disclosure_print(t, "},\"database\":{\"queries\":%uA,"
                              "\"errors\":%uA,\"connections\":"
                              "{\"active\":%ui,\"idle\":%ui},"
                              "\"waiting\":%ui,\"waits\":%ui,"
                              "\"wait_timeouts\":%ui,\"workers\":[",
                              sh->queries, sh->errors, total.active,
                              total.idle, total.waiting, total.waits,
                              total.wait_timeouts);

    first = 1;

    for (i = 0; i < NGX_HTTP_DISCLOSURE_MAX_WORKERS; i++) {
        w = &sh->workers[i];

        if (w->pid == 0 || (kill(w->pid, 0) == -1 && ngx_errno == NGX_ESRCH))
        {
            continue;
        }

        ngx_http_disclosure_print(t, "%s{\"pid\":%P,\"active\":%ui,"
                                  "\"idle\":%ui,\"connects\":%ui,"
                                  "\"waiting\":%ui,\"waits\":%ui,"
                                  "\"wait_timeouts\":%ui}",
                                  first ? "" : ",", w->pid, w->active,
                                  w->idle, w->connects, w->waiting,
                                  w->waits, w->wait_timeouts);
        first = 0;
    }

    ngx_http_disclosure_print(t, "]},\"listener\":{\"state\":\"%s\","
                              "\"pid\":%P,\"backend_pid\":%P,"
                              "\"connects\":%ui,\"failures\":%ui,"
                              "\"notifications\":%ui,\"ignored\":%ui,"
                              "\"checks\":%ui,\"polls\":%ui,"
                              "\"data_version\":",
                              ngx_http_disclosure_listener_states[sh->state],
                              (ngx_pid_t) sh->listener, sh->backend,
                              sh->connects, sh->failures, sh->notifications,
                              sh->ignored, sh->checks, sh->polls);

    if (sh->version_known) {
        ngx_http_disclosure_print(t, "%L", sh->version);

    } else {
        ngx_http_disclosure_print(t, "null");
    }

    ngx_http_disclosure_print(t, ",\"invalidations\":%ui,"
                              "\"last_invalidation\":", sh->invalidations);

    if (sh->invalidations == 0) {
        ngx_http_disclosure_print(t, "null}}\n");
        return;
    }

    ngx_gmtime(sh->last_time, &tm);

    ngx_http_disclosure_print(t, "{\"time\":\"%4d-%02d-%02dT%02d:%02d:%02dZ\","
                              "\"source\":\"%s\",\"data_version\":%L,"
                              "\"entries\":%ui",
                              tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                              tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec,
                              ngx_http_disclosure_sources[sh->last_source],
                              sh->last_version, sh->last_entries);

    if (sh->last_agency_len) {
        agency.data = sh->last_agency;
        agency.len = sh->last_agency_len;
        agency = ngx_http_disclosure_escaped(r->pool, &agency);

        ngx_http_disclosure_print(t, ",\"agency\":\"%V\",\"year\":%i",
                                  &agency, sh->last_year);
    }

    ngx_http_disclosure_print(t, "}}}\n");
}


static void
ngx_http_disclosure_status_prometheus(ngx_http_request_t *r,
    ngx_http_disclosure_text_t *t, ngx_http_disclosure_shared_t *sh)
{
    ngx_str_t                        *names;
    ngx_uint_t                        i, k, n;
    ngx_shm_zone_t                  **zone;
    ngx_http_disclosure_metric_t     *m;
    ngx_http_disclosure_worker_t      total;
    ngx_http_disclosure_main_conf_t  *dmcf;

    ngx_http_disclosure_cache_stats_t  *st;

    dmcf = ngx_http_get_module_main_conf(r, ngx_http_disclosure_module);

    zone = dmcf->cache_zones.elts;
    n = dmcf->cache_zones.nelts;

    st = ngx_palloc(r->pool,
                    (n + 1) * sizeof(ngx_http_disclosure_cache_stats_t));
    names = ngx_palloc(r->pool, (n + 1) * sizeof(ngx_str_t));

    if (st == NULL || names == NULL) {
        return;
    }

    for (i = 0; i < n; i++) {
        ngx_http_disclosure_cache_stats(zone[i], &st[i]);
        names[i] = ngx_http_disclosure_escaped(r->pool, &zone[i]->shm.name);
    }

    for (k = 0; n && k < NGX_HTTP_DISCLOSURE_ZONE_METRICS; k++) {
        m = &ngx_http_disclosure_zone_metrics[k];

        ngx_http_disclosure_print(t, "# HELP %s %s\n# TYPE %s %s\n",
                                  m->prometheus, m->help, m->prometheus,
                                  m->type);

        for (i = 0; i < n; i++) {
            ngx_http_disclosure_print(t, "%s{zone=\"%V\"} %uL\n",
                                  m->prometheus, &names[i],
                                  ngx_http_disclosure_metric_value(&st[i], m));
        }
    }

    ngx_http_disclosure_pool_totals(sh, &total);

    ngx_http_disclosure_print(t,
        "# HELP disclosure_db_queries_total Database queries of the "
        "content handler.\n"
        "# TYPE disclosure_db_queries_total counter\n"
        "disclosure_db_queries_total %uA\n"
        "# HELP disclosure_db_errors_total Queries that failed "
        "(connect, query, timeout).\n"
        "# TYPE disclosure_db_errors_total counter\n"
        "disclosure_db_errors_total %uA\n"
        "# HELP disclosure_db_connections Pooled connections of all "
        "workers.\n"
        "# TYPE disclosure_db_connections gauge\n"
        "disclosure_db_connections{state=\"active\"} %ui\n"
        "disclosure_db_connections{state=\"idle\"} %ui\n"
        "# HELP disclosure_db_waiting Queries waiting for a connection "
        "(disclosure_max_connections reached), all workers.\n"
        "# TYPE disclosure_db_waiting gauge\n"
        "disclosure_db_waiting %ui\n"
        "# HELP disclosure_db_waits_total Queries that waited for "
        "a connection, in the running workers.\n"
        "# TYPE disclosure_db_waits_total counter\n"
        "disclosure_db_waits_total %ui\n"
        "# HELP disclosure_db_wait_timeouts_total Queries that waited "
        "longer than disclosure_connect_timeout, in the running workers.\n"
        "# TYPE disclosure_db_wait_timeouts_total counter\n"
        "disclosure_db_wait_timeouts_total %ui\n",
        sh->queries, sh->errors, total.active, total.idle, total.waiting,
        total.waits, total.wait_timeouts);

    ngx_http_disclosure_print(t,
        "# HELP disclosure_listener_state The listener's state.\n"
        "# TYPE disclosure_listener_state gauge\n");

    for (k = 0; k < sizeof(ngx_http_disclosure_listener_states)
                    / sizeof(ngx_http_disclosure_listener_states[0]); k++)
    {
        ngx_http_disclosure_print(t,
            "disclosure_listener_state{state=\"%s\"} %d\n",
            ngx_http_disclosure_listener_states[k], sh->state == k);
    }

    ngx_http_disclosure_print(t,
        "# HELP disclosure_listener_connects_total Listener connections "
        "made.\n"
        "# TYPE disclosure_listener_connects_total counter\n"
        "disclosure_listener_connects_total %ui\n"
        "# HELP disclosure_listener_failures_total Listener connections "
        "lost or refused.\n"
        "# TYPE disclosure_listener_failures_total counter\n"
        "disclosure_listener_failures_total %ui\n"
        "# HELP disclosure_listener_notifications_total Notifications "
        "received.\n"
        "# TYPE disclosure_listener_notifications_total counter\n"
        "disclosure_listener_notifications_total %ui\n"
        "# HELP disclosure_listener_ignored_total Notifications ignored: "
        "malformed, or not newer than the data version known.\n"
        "# TYPE disclosure_listener_ignored_total counter\n"
        "disclosure_listener_ignored_total %ui\n"
        "# HELP disclosure_listener_checks_total Reads of the change log.\n"
        "# TYPE disclosure_listener_checks_total counter\n"
        "disclosure_listener_checks_total %ui\n"
        "# HELP disclosure_listener_polls_total Data version polls "
        "answered.\n"
        "# TYPE disclosure_listener_polls_total counter\n"
        "disclosure_listener_polls_total %ui\n"
        "# HELP disclosure_listener_invalidations_total Invalidations "
        "applied.\n"
        "# TYPE disclosure_listener_invalidations_total counter\n"
        "disclosure_listener_invalidations_total %ui\n"
        "# HELP disclosure_data_version The last data version seen.\n"
        "# TYPE disclosure_data_version gauge\n"
        "disclosure_data_version %L\n"
        "# HELP disclosure_last_invalidation_timestamp_seconds When the "
        "last invalidation was applied.\n"
        "# TYPE disclosure_last_invalidation_timestamp_seconds gauge\n"
        "disclosure_last_invalidation_timestamp_seconds %T\n",
        sh->connects, sh->failures, sh->notifications, sh->ignored,
        sh->checks, sh->polls, sh->invalidations, sh->version,
        sh->last_time);
}


/* zone names and slugs are plain, but a name is still escaped */

static ngx_str_t
ngx_http_disclosure_escaped(ngx_pool_t *pool, ngx_str_t *name)
{
    size_t     n;
    ngx_str_t  s;

    n = ngx_escape_json(NULL, name->data, name->len);

    if (n == 0) {
        return *name;
    }

    s.data = ngx_pnalloc(pool, name->len + n);
    if (s.data == NULL) {
        ngx_str_set(&s, "");
        return s;
    }

    s.len = (u_char *) ngx_escape_json(s.data, name->data, name->len)
            - s.data;

    return s;
}


static void
ngx_http_disclosure_print(ngx_http_disclosure_text_t *t, const char *fmt, ...)
{
    va_list  args;

    if (t->full) {
        return;
    }

    va_start(args, fmt);
    t->pos = ngx_vslprintf(t->pos, t->last, fmt, args);
    va_end(args);

    /* a text that reaches the end may have been cut: start again larger */
    if (t->pos == t->last) {
        t->full = 1;
    }
}


static void
ngx_http_disclosure_pool_totals(ngx_http_disclosure_shared_t *sh,
    ngx_http_disclosure_worker_t *total)
{
    ngx_uint_t                     i;
    ngx_http_disclosure_worker_t  *w;

    ngx_memzero(total, sizeof(ngx_http_disclosure_worker_t));

    for (i = 0; i < NGX_HTTP_DISCLOSURE_MAX_WORKERS; i++) {
        w = &sh->workers[i];

        if (w->pid == 0 || (kill(w->pid, 0) == -1 && ngx_errno == NGX_ESRCH))
        {
            continue;
        }

        total->active += w->active;
        total->idle += w->idle;
        total->waiting += w->waiting;
        total->waits += w->waits;
        total->wait_timeouts += w->wait_timeouts;
    }
}
