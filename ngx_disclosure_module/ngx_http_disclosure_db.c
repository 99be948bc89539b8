
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * Non-blocking PostgreSQL access with a per-worker keepalive pool.
 *
 * libpq runs in non-blocking mode, driven by nginx events on its socket
 * and by nginx timers.  The socket is registered level-triggered: libpq
 * reads a bounded amount per call, so with edge-triggered epoll a read
 * event could be lost while data is still waiting in the socket.
 *
 * A connection is in one of five states:
 *
 *   connecting  PQconnectPoll() until it reports OK or FAILED;
 *   send        taken from the pool or handed over, the query goes out
 *               from a posted event so that done() is always called from
 *               an event handler;
 *   prepare     the statement is new to the session: PQsendPrepare(),
 *               its result read until PQgetResult() returns NULL;
 *   query       sent, results are read until PQgetResult() returns NULL;
 *   idle        in the pool, watching for the server closing it.
 *
 * Each distinct statement is prepared once per session, under a name made
 * of its text's checksum, and run with PQsendQueryPrepared(): the server
 * parses and plans it once.  A session that lost its statements (DISCARD
 * ALL, a pooler) answers 26000: the query prepares again, once.
 *
 * A query may be detached from its connection at any time by the cleanup
 * of the request pool: the connection then finishes connecting or draining
 * on its own and goes back to the pool without touching the request.
 *
 * With disclosure_max_connections, a query that finds every connection of
 * the worker in use waits in a queue, first come first served, for at most
 * disclosure_connect_timeout: a connection that ends its query goes
 * straight to the first waiter, and one that is closed lets the first
 * waiter open a new one.  Nothing in the queue is called back from there:
 * a waiter fails from its own timer or posted event.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include <libpq-fe.h>

#include "ngx_http_disclosure_db.h"


#define NGX_HTTP_DISCLOSURE_DB_APPLICATION  "ngx_disclosure"
#define NGX_HTTP_DISCLOSURE_DB_STATEMENTS   32    /* bits of "prepared" */
#define NGX_HTTP_DISCLOSURE_DB_STATEMENT    "ngx_disclosure_"    /* + crc */
#define NGX_HTTP_DISCLOSURE_DB_NAME_LEN                                       \
    (sizeof(NGX_HTTP_DISCLOSURE_DB_STATEMENT) + 8)
#define NGX_HTTP_DISCLOSURE_DB_SETTINGS                                       \
    "-c statement_timeout=%M -c default_transaction_read_only=on"
/* the preview's check_report writes a temporary table (its role cannot) */
#define NGX_HTTP_DISCLOSURE_DB_SETTINGS_TEMP                                  \
    "-c statement_timeout=%M"


typedef enum {
    NGX_HTTP_DISCLOSURE_DB_CONNECTING = 0,
    NGX_HTTP_DISCLOSURE_DB_SEND,
    NGX_HTTP_DISCLOSURE_DB_PREPARE,
    NGX_HTTP_DISCLOSURE_DB_QUERY,
    NGX_HTTP_DISCLOSURE_DB_IDLE
} ngx_http_disclosure_db_state_e;


typedef struct {
    const char                        *sql;
    uint32_t                           crc;        /* of the text */
    u_char                             name[NGX_HTTP_DISCLOSURE_DB_NAME_LEN];
} ngx_http_disclosure_db_statement_t;


typedef struct {
    ngx_http_disclosure_main_conf_t   *conf;
    ngx_log_t                         *log;
    ngx_pool_t                        *pool;       /* the cycle pool */

    /* the configured parameters plus our session settings */
    const char                       **keywords;
    const char                       **values;

    ngx_queue_t                        idle;       /* most recent first */
    ngx_queue_t                        busy;
    ngx_queue_t                        free;       /* spare structures */
    ngx_queue_t                        waiting;    /* queries, oldest first */

    /* the statements seen, by their number */
    ngx_http_disclosure_db_statement_t
                        statements[NGX_HTTP_DISCLOSURE_DB_STATEMENTS];
    ngx_uint_t                         nstatements;

    ngx_http_disclosure_db_stats_t     stats;
} ngx_http_disclosure_db_pool_t;


typedef struct {
    ngx_queue_t                        queue;
    ngx_http_disclosure_db_pool_t     *pool;
    PGconn                            *pgconn;
    ngx_connection_t                  *connection;
    ngx_event_t                        timer;
    ngx_http_disclosure_db_state_e     state;

    /* the query served, NULL when there is none or it was detached */
    ngx_http_request_t                *request;
    ngx_http_disclosure_query_t       *query;
    const char                       **params;

    ngx_int_t                          rc;
    PGresult                          *error;      /* logged at the end */

    uint32_t                           prepared;   /* statements, by bit */
    ngx_uint_t                         statement;  /* being prepared */

    unsigned                           reused:1;
    unsigned                           retried:1;
    unsigned                           reprepared:1;
    unsigned                           flushing:1;
    unsigned                           result:1;   /* a non-error result */
} ngx_http_disclosure_db_conn_t;


/* a query waiting for a connection, in the request pool */
typedef struct {
    ngx_queue_t                        queue;
    ngx_http_disclosure_db_pool_t     *pool;

    /* the deadline; posted instead when the connection could not start */
    ngx_event_t                        event;
    ngx_msec_t                         start;

    ngx_http_request_t                *request;
    ngx_http_disclosure_query_t       *query;
    const char                       **params;

    unsigned                           queued:1;
} ngx_http_disclosure_db_wait_t;


static ngx_int_t ngx_http_disclosure_db_init_pool(ngx_cycle_t *cycle,
    ngx_http_disclosure_main_conf_t *dmcf);
static void ngx_http_disclosure_db_exit_pool(
    ngx_http_disclosure_main_conf_t *dmcf);
static ngx_int_t ngx_http_disclosure_db_keywords(ngx_cycle_t *cycle,
    ngx_http_disclosure_db_pool_t *pool);
static ngx_int_t ngx_http_disclosure_db_wait(
    ngx_http_disclosure_db_pool_t *pool, ngx_http_request_t *r,
    ngx_http_disclosure_query_t *q, const char **params);
static void ngx_http_disclosure_db_wait_handler(ngx_event_t *ev);
static void ngx_http_disclosure_db_unqueue(ngx_http_disclosure_db_wait_t *w);
static void ngx_http_disclosure_db_next(ngx_http_disclosure_db_pool_t *pool);
static void ngx_http_disclosure_db_hand_over(
    ngx_http_disclosure_db_conn_t *dc);
static ngx_http_disclosure_db_conn_t *ngx_http_disclosure_db_connect(
    ngx_http_disclosure_db_pool_t *pool, ngx_log_t *log, ngx_msec_t timeout);
static ngx_int_t ngx_http_disclosure_db_socket(
    ngx_http_disclosure_db_conn_t *dc);
static void ngx_http_disclosure_db_forget_socket(
    ngx_http_disclosure_db_conn_t *dc);
static void ngx_http_disclosure_db_handler(ngx_event_t *ev);
static void ngx_http_disclosure_db_connect_poll(
    ngx_http_disclosure_db_conn_t *dc);
static void ngx_http_disclosure_db_connected(
    ngx_http_disclosure_db_conn_t *dc);
static void ngx_http_disclosure_db_send(ngx_http_disclosure_db_conn_t *dc);
static ngx_int_t ngx_http_disclosure_db_statement(
    ngx_http_disclosure_db_pool_t *pool, const char *sql);
static void ngx_http_disclosure_db_execute(ngx_http_disclosure_db_conn_t *dc);
static ngx_uint_t ngx_http_disclosure_db_sqlstate(PGresult *res,
    const char *code);
static void ngx_http_disclosure_db_process(ngx_http_disclosure_db_conn_t *dc,
    ngx_uint_t consume);
static ngx_int_t ngx_http_disclosure_db_result(
    ngx_http_disclosure_db_conn_t *dc, PGresult *res);
static void ngx_http_disclosure_db_finish(ngx_http_disclosure_db_conn_t *dc);
static void ngx_http_disclosure_db_lost(ngx_http_disclosure_db_conn_t *dc,
    const char *what);
static ngx_uint_t ngx_http_disclosure_db_can_retry(
    ngx_http_disclosure_db_conn_t *dc);
static void ngx_http_disclosure_db_retry(ngx_http_disclosure_db_conn_t *dc,
    const char *reason);
static void ngx_http_disclosure_db_end(ngx_http_disclosure_db_conn_t *dc,
    ngx_int_t rc, ngx_uint_t close);
static void ngx_http_disclosure_db_idle_read(
    ngx_http_disclosure_db_conn_t *dc);
static void ngx_http_disclosure_db_timeout(ngx_event_t *ev);
static void ngx_http_disclosure_db_attach(ngx_http_disclosure_db_conn_t *dc,
    ngx_http_request_t *r, ngx_http_disclosure_query_t *q,
    const char **params);
static void ngx_http_disclosure_db_detach(ngx_http_disclosure_db_conn_t *dc);
static void ngx_http_disclosure_db_release(ngx_http_disclosure_db_conn_t *dc);
static void ngx_http_disclosure_db_close(ngx_http_disclosure_db_conn_t *dc);
static void ngx_http_disclosure_db_cleanup(void *data);
static void ngx_http_disclosure_db_notice(void *arg, const char *message);
static void ngx_http_disclosure_db_drain_notifies(PGconn *pgconn);
static ngx_log_t *ngx_http_disclosure_db_log(
    ngx_http_disclosure_db_conn_t *dc);


ngx_int_t
ngx_http_disclosure_db_init_worker(ngx_cycle_t *cycle)
{
    ngx_http_disclosure_main_conf_t  *dmcf;

    dmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_disclosure_module);

    if (dmcf == NULL || dmcf->conn_keywords == NULL) {
        return NGX_OK;
    }

    if (ngx_http_disclosure_db_init_pool(cycle, dmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    /* disclosure_preview_database: a pool of its own */
    return dmcf->preview ? ngx_http_disclosure_db_init_pool(cycle, dmcf->preview)
                         : NGX_OK;
}


static ngx_int_t
ngx_http_disclosure_db_init_pool(ngx_cycle_t *cycle,
    ngx_http_disclosure_main_conf_t *dmcf)
{
    ngx_http_disclosure_db_pool_t  *pool;

    pool = ngx_pcalloc(cycle->pool, sizeof(ngx_http_disclosure_db_pool_t));
    if (pool == NULL) {
        return NGX_ERROR;
    }

    pool->conf = dmcf;
    pool->log = cycle->log;
    pool->pool = cycle->pool;

    ngx_queue_init(&pool->idle);
    ngx_queue_init(&pool->busy);
    ngx_queue_init(&pool->free);
    ngx_queue_init(&pool->waiting);

    if (ngx_http_disclosure_db_keywords(cycle, pool) != NGX_OK) {
        return NGX_ERROR;
    }

    dmcf->pool = pool;

    return NGX_OK;
}


/*
 * The session is configured in the startup packet, so that a connection
 * is ready for queries as soon as PQconnectPoll() reports OK: the server
 * cancels statements that outlive query_timeout, and the module only reads.
 * GSSAPI encryption is off unless asked for: acquiring Kerberos tickets
 * may block the worker.
 */

static ngx_int_t
ngx_http_disclosure_db_keywords(ngx_cycle_t *cycle,
    ngx_http_disclosure_db_pool_t *pool)
{
    size_t                            len;
    u_char                           *p, *settings;
    ngx_uint_t                        i, n, options, application, gssenc;
    const char                      **keywords, **values;
    ngx_http_disclosure_main_conf_t  *dmcf;

    dmcf = pool->conf;

    for (n = 0; dmcf->conn_keywords[n]; n++) { /* void */ }

    keywords = ngx_palloc(cycle->pool, (n + 4) * sizeof(const char *));
    values = ngx_palloc(cycle->pool, (n + 4) * sizeof(const char *));
    settings = ngx_pnalloc(cycle->pool, sizeof(NGX_HTTP_DISCLOSURE_DB_SETTINGS)
                                        + NGX_INT_T_LEN);

    if (keywords == NULL || values == NULL || settings == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(settings, dmcf->writes_temp
                              ? NGX_HTTP_DISCLOSURE_DB_SETTINGS_TEMP
                              : NGX_HTTP_DISCLOSURE_DB_SETTINGS,
                    dmcf->query_timeout);
    *p = '\0';

    options = n;
    application = 0;
    gssenc = 0;

    for (i = 0; i < n; i++) {
        keywords[i] = dmcf->conn_keywords[i];
        values[i] = dmcf->conn_values[i];

        if (ngx_strcmp(keywords[i], "options") == 0) {
            options = i;

        } else if (ngx_strcmp(keywords[i], "application_name") == 0
                   || ngx_strcmp(keywords[i], "fallback_application_name")
                      == 0)
        {
            application = 1;

        } else if (ngx_strcmp(keywords[i], "gssencmode") == 0) {
            gssenc = 1;
        }
    }

    if (options < n) {
        /* ours come last, so they win over the configured ones */

        len = ngx_strlen(values[options]);

        p = ngx_pnalloc(cycle->pool, len + 1 + ngx_strlen(settings) + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        values[options] = (const char *) p;

        p = ngx_cpymem(p, dmcf->conn_values[options], len);
        *p++ = ' ';
        p = ngx_cpymem(p, settings, ngx_strlen(settings));
        *p = '\0';

    } else {
        keywords[n] = "options";
        values[n++] = (const char *) settings;
    }

    if (!application) {
        keywords[n] = "fallback_application_name";
        values[n++] = NGX_HTTP_DISCLOSURE_DB_APPLICATION;
    }

    if (!gssenc) {
        keywords[n] = "gssencmode";
        values[n++] = "disable";
    }

    keywords[n] = NULL;
    values[n] = NULL;

    pool->keywords = keywords;
    pool->values = values;

    return NGX_OK;
}


void
ngx_http_disclosure_db_exit_worker(ngx_cycle_t *cycle)
{
    ngx_http_disclosure_main_conf_t  *dmcf;

    dmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_disclosure_module);

    if (dmcf == NULL) {
        return;
    }

    if (dmcf->preview) {
        ngx_http_disclosure_db_exit_pool(dmcf->preview);
    }

    ngx_http_disclosure_db_exit_pool(dmcf);
}


static void
ngx_http_disclosure_db_exit_pool(ngx_http_disclosure_main_conf_t *dmcf)
{
    ngx_queue_t                    *q;
    ngx_http_disclosure_db_conn_t  *dc;
    ngx_http_disclosure_db_wait_t  *w;
    ngx_http_disclosure_db_pool_t  *pool;

    if (dmcf->pool == NULL) {
        return;
    }

    pool = dmcf->pool;

    /* the process ends: the requests are not finalized, nor their pools */

    while (!ngx_queue_empty(&pool->waiting)) {
        q = ngx_queue_head(&pool->waiting);
        w = ngx_queue_data(q, ngx_http_disclosure_db_wait_t, queue);

        ngx_log_error(NGX_LOG_INFO, w->request->connection->log, 0,
                      "disclosure: query abandoned while waiting for "
                      "a connection, worker is exiting");

        ngx_http_disclosure_db_unqueue(w);
        w->query->wait = NULL;
    }

    while (!ngx_queue_empty(&pool->idle)) {
        q = ngx_queue_head(&pool->idle);
        dc = ngx_queue_data(q, ngx_http_disclosure_db_conn_t, queue);
        ngx_http_disclosure_db_close(dc);
    }

    while (!ngx_queue_empty(&pool->busy)) {
        q = ngx_queue_head(&pool->busy);
        dc = ngx_queue_data(q, ngx_http_disclosure_db_conn_t, queue);
        ngx_http_disclosure_db_detach(dc);
        ngx_http_disclosure_db_close(dc);
    }

    dmcf->pool = NULL;
}


const ngx_http_disclosure_db_stats_t *
ngx_http_disclosure_db_stats(ngx_cycle_t *cycle)
{
    ngx_http_disclosure_db_pool_t    *pool;
    ngx_http_disclosure_main_conf_t  *dmcf;

    dmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_disclosure_module);

    if (dmcf == NULL || dmcf->pool == NULL) {
        return NULL;
    }

    pool = dmcf->pool;

    return &pool->stats;
}


ngx_int_t
ngx_http_disclosure_db_params(ngx_cycle_t *cycle, const char ***keywords,
    const char ***values)
{
    ngx_http_disclosure_db_pool_t    *pool;
    ngx_http_disclosure_main_conf_t  *dmcf;

    dmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_disclosure_module);

    if (dmcf == NULL || dmcf->pool == NULL) {
        return NGX_ERROR;
    }

    pool = dmcf->pool;

    *keywords = pool->keywords;
    *values = pool->values;

    return NGX_OK;
}


ngx_int_t
ngx_http_disclosure_db_query(ngx_http_request_t *r,
    ngx_http_disclosure_query_t *q)
{
    u_char                           *p;
    ngx_str_t                        *s;
    ngx_uint_t                        i;
    ngx_queue_t                      *head;
    const char                      **params;
    ngx_pool_cleanup_t               *cln;
    ngx_http_disclosure_db_conn_t    *dc;
    ngx_http_disclosure_db_pool_t    *pool;
    ngx_http_disclosure_main_conf_t  *dmcf;

    dmcf = q->database ? q->database
                       : ngx_http_get_module_main_conf(r,
                                                  ngx_http_disclosure_module);
    pool = dmcf->pool;

    if (pool == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "disclosure: \"disclosure_database\" is not set");
        return NGX_ERROR;
    }

    if (q->nparams > NGX_HTTP_DISCLOSURE_DB_MAX_PARAMS) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "disclosure: too many query parameters: %ui",
                      q->nparams);
        return NGX_ERROR;
    }

    /* libpq takes text parameters as C strings */

    params = ngx_palloc(r->pool, (q->nparams + 1) * sizeof(const char *));
    if (params == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < q->nparams; i++) {
        s = &q->params[i];

        if (ngx_strlchr(s->data, s->data + s->len, '\0') != NULL) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "disclosure: query parameter $%ui contains "
                          "a zero byte", i + 1);
            return NGX_ERROR;
        }

        p = ngx_pnalloc(r->pool, s->len + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        *ngx_cpymem(p, s->data, s->len) = '\0';
        params[i] = (const char *) p;
    }

    params[i] = NULL;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_disclosure_db_cleanup;
    cln->data = q;

    q->value = NULL;
    q->len = 0;
    q->conn = NULL;
    q->wait = NULL;

    pool->stats.queries++;

    if (!ngx_queue_empty(&pool->idle)) {
        head = ngx_queue_head(&pool->idle);
        ngx_queue_remove(head);
        ngx_queue_insert_head(&pool->busy, head);

        dc = ngx_queue_data(head, ngx_http_disclosure_db_conn_t, queue);

        pool->stats.idle--;
        pool->stats.active++;

        if (dc->timer.timer_set) {
            ngx_del_timer(&dc->timer);
        }

        dc->timer.cancelable = 0;
        dc->connection->idle = 0;
        dc->state = NGX_HTTP_DISCLOSURE_DB_SEND;
        dc->reused = 1;

        ngx_http_disclosure_db_attach(dc, r, q, params);

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "disclosure db: reusing connection *%uA",
                       dc->connection->number);

        ngx_post_event(dc->connection->write, &ngx_posted_events);

        return NGX_OK;
    }

    if (pool->conf->max_connections
        && pool->stats.active + pool->stats.idle
           >= pool->conf->max_connections)
    {
        /* no idle connection, and all that may be open are busy */

        if (ngx_http_disclosure_db_wait(pool, r, q, params) != NGX_OK) {
            cln->handler = NULL;
            pool->stats.errors++;
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    dc = ngx_http_disclosure_db_connect(pool, r->connection->log,
                                        pool->conf->connect_timeout);

    if (dc == NULL) {
        cln->handler = NULL;
        pool->stats.errors++;
        return NGX_ERROR;
    }

    ngx_http_disclosure_db_attach(dc, r, q, params);

    return NGX_OK;
}


static ngx_int_t
ngx_http_disclosure_db_wait(ngx_http_disclosure_db_pool_t *pool,
    ngx_http_request_t *r, ngx_http_disclosure_query_t *q,
    const char **params)
{
    ngx_http_disclosure_db_wait_t  *w;

    w = ngx_pcalloc(r->pool, sizeof(ngx_http_disclosure_db_wait_t));
    if (w == NULL) {
        return NGX_ERROR;
    }

    w->pool = pool;
    w->request = r;
    w->query = q;
    w->params = params;
    w->start = ngx_current_msec;

    w->event.handler = ngx_http_disclosure_db_wait_handler;
    w->event.data = w;
    w->event.log = r->connection->log;

    /* the wait counts against connecting */
    ngx_add_timer(&w->event, pool->conf->connect_timeout);

    ngx_queue_insert_tail(&pool->waiting, &w->queue);
    w->queued = 1;

    q->wait = w;

    pool->stats.waiting++;
    pool->stats.waits++;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "disclosure db: all %ui connections busy, waiting",
                   pool->conf->max_connections);

    return NGX_OK;
}


/* the wait timed out, or a connection for the waiter could not start */

static void
ngx_http_disclosure_db_wait_handler(ngx_event_t *ev)
{
    ngx_connection_t               *c;
    ngx_http_request_t             *r;
    ngx_http_disclosure_query_t    *q;
    ngx_http_disclosure_db_wait_t  *w;
    ngx_http_disclosure_db_pool_t  *pool;

    w = ev->data;
    pool = w->pool;
    r = w->request;
    q = w->query;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    if (ev->timedout) {
        ngx_http_disclosure_db_unqueue(w);
        pool->stats.wait_timeouts++;

        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "disclosure: all %ui database connections busy "
                      "for %Mms, query not sent "
                      "(disclosure_max_connections)",
                      pool->conf->max_connections,
                      (ngx_msec_t) (ngx_current_msec - w->start));
    }

    q->wait = NULL;
    pool->stats.errors++;

    q->done(r, q, NGX_ERROR);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_disclosure_db_unqueue(ngx_http_disclosure_db_wait_t *w)
{
    if (w->queued) {
        ngx_queue_remove(&w->queue);
        w->queued = 0;
        w->pool->stats.waiting--;
    }

    if (w->event.timer_set) {
        ngx_del_timer(&w->event);
    }

    if (w->event.posted) {
        ngx_delete_posted_event(&w->event);
    }
}


/*
 * A connection was closed: while there is room, the first waiters open
 * new ones, with what is left of their connect timeout.  A waiter whose
 * connection cannot start fails from a posted event: the caller may be
 * about to call done() of another query, which must not be preceded by
 * callbacks that could end its request.
 */

static void
ngx_http_disclosure_db_next(ngx_http_disclosure_db_pool_t *pool)
{
    ngx_msec_t                      timeout;
    ngx_msec_int_t                  left;
    ngx_queue_t                    *head;
    ngx_http_disclosure_query_t    *q;
    ngx_http_disclosure_db_conn_t  *dc;
    ngx_http_disclosure_db_wait_t  *w;

    while (!ngx_queue_empty(&pool->waiting)
           && pool->stats.active + pool->stats.idle
              < pool->conf->max_connections)
    {
        head = ngx_queue_head(&pool->waiting);
        w = ngx_queue_data(head, ngx_http_disclosure_db_wait_t, queue);

        ngx_http_disclosure_db_unqueue(w);

        left = (ngx_msec_int_t) (pool->conf->connect_timeout
                                 - (ngx_current_msec - w->start));
        timeout = (left > 0) ? (ngx_msec_t) left : 1;

        dc = ngx_http_disclosure_db_connect(pool,
                                            w->request->connection->log,
                                            timeout);

        if (dc == NULL) {
            ngx_post_event(&w->event, &ngx_posted_events);
            continue;
        }

        q = w->query;
        q->wait = NULL;

        ngx_http_disclosure_db_attach(dc, w->request, q, w->params);
    }
}


/*
 * A connection whose query ended goes to the first waiter as it is, not
 * through the pool; the query is sent from a posted event, as from there.
 */

static void
ngx_http_disclosure_db_hand_over(ngx_http_disclosure_db_conn_t *dc)
{
    ngx_queue_t                    *head;
    ngx_http_disclosure_query_t    *q;
    ngx_http_disclosure_db_wait_t  *w;

    head = ngx_queue_head(&dc->pool->waiting);
    w = ngx_queue_data(head, ngx_http_disclosure_db_wait_t, queue);

    ngx_http_disclosure_db_unqueue(w);

    if (dc->timer.timer_set) {
        ngx_del_timer(&dc->timer);
    }

    dc->state = NGX_HTTP_DISCLOSURE_DB_SEND;
    dc->flushing = 0;
    dc->reused = 1;
    dc->retried = 0;

    q = w->query;
    q->wait = NULL;

    ngx_http_disclosure_db_attach(dc, w->request, q, w->params);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, dc->connection->log, 0,
                   "disclosure db: *%uA handed to a waiting query",
                   dc->connection->number);

    ngx_post_event(dc->connection->write, &ngx_posted_events);
}


static ngx_http_disclosure_db_conn_t *
ngx_http_disclosure_db_connect(ngx_http_disclosure_db_pool_t *pool,
    ngx_log_t *log, ngx_msec_t timeout)
{
    u_char                          buf[NGX_MAX_ERROR_STR];
    PGconn                         *pgconn;
    ngx_str_t                       text;
    ngx_queue_t                    *q;
    ngx_http_disclosure_db_conn_t  *dc;

    pgconn = PQconnectStartParams(pool->keywords, pool->values, 0);

    if (pgconn == NULL) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "disclosure: PQconnectStartParams() failed");
        return NULL;
    }

    if (PQstatus(pgconn) == CONNECTION_BAD) {
        text = ngx_http_disclosure_db_text(buf, sizeof(buf),
                                           PQerrorMessage(pgconn));
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "disclosure: could not connect to \"%V\": %V",
                      &pool->conf->conninfo_safe, &text);
        PQfinish(pgconn);
        return NULL;
    }

    if (!ngx_queue_empty(&pool->free)) {
        q = ngx_queue_head(&pool->free);
        ngx_queue_remove(q);
        dc = ngx_queue_data(q, ngx_http_disclosure_db_conn_t, queue);
        ngx_memzero(dc, sizeof(ngx_http_disclosure_db_conn_t));

    } else {
        dc = ngx_pcalloc(pool->pool, sizeof(ngx_http_disclosure_db_conn_t));
        if (dc == NULL) {
            PQfinish(pgconn);
            return NULL;
        }
    }

    dc->pool = pool;
    dc->pgconn = pgconn;
    dc->state = NGX_HTTP_DISCLOSURE_DB_CONNECTING;

    dc->timer.handler = ngx_http_disclosure_db_timeout;
    dc->timer.data = dc;
    dc->timer.log = pool->log;

    ngx_queue_insert_head(&pool->busy, &dc->queue);
    pool->stats.active++;
    pool->stats.connects++;

    (void) PQsetNoticeProcessor(pgconn, ngx_http_disclosure_db_notice, dc);

    /* libpq: before the first PQconnectPoll(), wait for write-ready */

    if (ngx_http_disclosure_db_socket(dc) != NGX_OK
        || ngx_add_event(dc->connection->write, NGX_WRITE_EVENT,
                         NGX_LEVEL_EVENT)
           != NGX_OK)
    {
        ngx_http_disclosure_db_close(dc);
        return NULL;
    }

    ngx_add_timer(&dc->timer, timeout);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                   "disclosure db: connecting *%uA", dc->connection->number);

    return dc;
}


static ngx_int_t
ngx_http_disclosure_db_socket(ngx_http_disclosure_db_conn_t *dc)
{
    ngx_socket_t       s;
    ngx_connection_t  *c;

    s = PQsocket(dc->pgconn);

    if (s == (ngx_socket_t) -1) {
        ngx_log_error(NGX_LOG_ALERT, dc->pool->log, 0,
                      "disclosure: PQsocket() returned no socket");
        return NGX_ERROR;
    }

    c = ngx_get_connection(s, dc->pool->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = dc;
    c->read->handler = ngx_http_disclosure_db_handler;
    c->write->handler = ngx_http_disclosure_db_handler;
    c->read->log = c->log;
    c->write->log = c->log;
    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);

    dc->connection = c;

    return NGX_OK;
}


/* libpq owns the socket and closes it itself */

static void
ngx_http_disclosure_db_forget_socket(ngx_http_disclosure_db_conn_t *dc)
{
    ngx_http_disclosure_db_free_socket(dc->connection);
    dc->connection = NULL;
}


/*
 * Unregisters and frees the nginx connection that wraps a libpq socket,
 * without closing the socket: libpq owns it (PQfinish() or PQconnectPoll()
 * closes it).  Shared with the listener.
 */

void
ngx_http_disclosure_db_free_socket(ngx_connection_t *c)
{
    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
    }

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
    }

    ngx_free_connection(c);

    c->fd = (ngx_socket_t) -1;
}


static void
ngx_http_disclosure_db_handler(ngx_event_t *ev)
{
    ngx_connection_t               *c;
    ngx_http_disclosure_db_conn_t  *dc;

    c = ev->data;
    dc = c->data;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                   "disclosure db: *%uA %s event, state %d",
                   c->number, ev->write ? "write" : "read", dc->state);

    if (c->close) {
        /* the worker is shutting down */

        if (dc->query) {
            ngx_log_error(NGX_LOG_ERR, ngx_http_disclosure_db_log(dc), 0,
                          "disclosure: query aborted, worker is exiting");
        }

        ngx_http_disclosure_db_end(dc, NGX_ERROR, 1);
        return;
    }

    switch (dc->state) {

    case NGX_HTTP_DISCLOSURE_DB_CONNECTING:
        ngx_http_disclosure_db_connect_poll(dc);
        return;

    case NGX_HTTP_DISCLOSURE_DB_SEND:
        ngx_http_disclosure_db_send(dc);
        return;

    case NGX_HTTP_DISCLOSURE_DB_PREPARE:
    case NGX_HTTP_DISCLOSURE_DB_QUERY:
        ngx_http_disclosure_db_process(dc, !ev->write);
        return;

    case NGX_HTTP_DISCLOSURE_DB_IDLE:
        if (!ev->write) {
            ngx_http_disclosure_db_idle_read(dc);
        }

        return;
    }
}


static void
ngx_http_disclosure_db_connect_poll(ngx_http_disclosure_db_conn_t *dc)
{
    u_char                     buf[NGX_MAX_ERROR_STR];
    ngx_str_t                  text;
    ngx_connection_t          *c;
    PostgresPollingStatusType  polling;

    c = dc->connection;

    /*
     * libpq may close the socket and open another one (next host,
     * fallback from SSL or GSSAPI), quite possibly with the same number:
     * unregister it while it is known to be open, register what libpq
     * uses afterwards
     */

    if (c->read->active
        && ngx_del_event(c->read, NGX_READ_EVENT, 0) != NGX_OK)
    {
        goto failed;
    }

    if (c->write->active
        && ngx_del_event(c->write, NGX_WRITE_EVENT, 0) != NGX_OK)
    {
        goto failed;
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    do {
        polling = PQconnectPoll(dc->pgconn);

        /* bytes decrypted by OpenSSL are not seen on the socket */

    } while (polling == PGRES_POLLING_READING
             && ngx_http_disclosure_db_ssl_pending(dc->pgconn));

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "disclosure db: *%uA PQconnectPoll(): %d",
                   c->number, polling);

    if (polling != PGRES_POLLING_FAILED
        && PQsocket(dc->pgconn) != c->fd)
    {
        ngx_http_disclosure_db_forget_socket(dc);

        if (ngx_http_disclosure_db_socket(dc) != NGX_OK) {
            goto failed;
        }

        c = dc->connection;
    }

    switch (polling) {

    case PGRES_POLLING_OK:
        ngx_http_disclosure_db_connected(dc);
        return;

    case PGRES_POLLING_READING:
    case PGRES_POLLING_WRITING:

        if (polling == PGRES_POLLING_READING) {
            if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT)
                != NGX_OK)
            {
                goto failed;
            }

        } else {
            if (ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
                != NGX_OK)
            {
                goto failed;
            }
        }

        return;

    default: /* PGRES_POLLING_FAILED */
        text = ngx_http_disclosure_db_text(buf, sizeof(buf),
                                           PQerrorMessage(dc->pgconn));
        ngx_log_error(NGX_LOG_ERR, ngx_http_disclosure_db_log(dc), 0,
                      "disclosure: could not connect to \"%V\": %V",
                      &dc->pool->conf->conninfo_safe, &text);
        ngx_http_disclosure_db_end(dc, NGX_ERROR, 1);
        return;
    }

failed:

    ngx_log_error(NGX_LOG_ERR, ngx_http_disclosure_db_log(dc), 0,
                  "disclosure: could not watch the connection to \"%V\"",
                  &dc->pool->conf->conninfo_safe);

    ngx_http_disclosure_db_end(dc, NGX_ERROR, 1);
}


static void
ngx_http_disclosure_db_connected(ngx_http_disclosure_db_conn_t *dc)
{
    ngx_connection_t  *c;

    c = dc->connection;

    if (dc->timer.timer_set) {
        ngx_del_timer(&dc->timer);
    }

    if (PQsetnonblocking(dc->pgconn, 1) != 0
        || ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, ngx_http_disclosure_db_log(dc), 0,
                      "disclosure: could not set up the connection to "
                      "\"%V\"", &dc->pool->conf->conninfo_safe);
        ngx_http_disclosure_db_end(dc, NGX_ERROR, 1);
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "disclosure db: *%uA connected, backend pid %d",
                   c->number, PQbackendPID(dc->pgconn));

    dc->state = NGX_HTTP_DISCLOSURE_DB_SEND;

    ngx_http_disclosure_db_send(dc);
}


static void
ngx_http_disclosure_db_send(ngx_http_disclosure_db_conn_t *dc)
{
    ngx_int_t                     n;
    ngx_http_disclosure_query_t  *q;

    q = dc->query;

    if (q == NULL) {
        /* the request went away before the query was sent */
        ngx_http_disclosure_db_release(dc);
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, dc->connection->log, 0,
                   "disclosure db: *%uA query: %s",
                   dc->connection->number, q->sql);

    if (PQstatus(dc->pgconn) != CONNECTION_OK) {
        ngx_http_disclosure_db_lost(dc, "sending the query");
        return;
    }

    n = ngx_http_disclosure_db_statement(dc->pool, q->sql);

    if (n == NGX_DECLINED) {
        /* no name left: parsed and planned each time */

        if (!PQsendQueryParams(dc->pgconn, q->sql, (int) q->nparams, NULL,
                               dc->params, NULL, NULL, 0))
        {
            ngx_http_disclosure_db_lost(dc, "PQsendQueryParams()");
            return;
        }

        dc->state = NGX_HTTP_DISCLOSURE_DB_QUERY;

    } else if (dc->prepared & ((uint32_t) 1 << n)) {

        if (!PQsendQueryPrepared(dc->pgconn,
                                 (char *) dc->pool->statements[n].name,
                                 (int) q->nparams, dc->params, NULL, NULL, 0))
        {
            ngx_http_disclosure_db_lost(dc, "PQsendQueryPrepared()");
            return;
        }

        dc->state = NGX_HTTP_DISCLOSURE_DB_QUERY;

    } else {

        if (!PQsendPrepare(dc->pgconn, (char *) dc->pool->statements[n].name,
                           q->sql, (int) q->nparams, NULL))
        {
            ngx_http_disclosure_db_lost(dc, "PQsendPrepare()");
            return;
        }

        dc->state = NGX_HTTP_DISCLOSURE_DB_PREPARE;
        dc->statement = n;
    }

    dc->flushing = 1;

    /* for preparing and running together */
    ngx_add_timer(&dc->timer, dc->pool->conf->query_timeout);

    ngx_http_disclosure_db_process(dc, 0);
}


/*
 * The number of a statement in this worker, NGX_DECLINED when all are
 * taken or its name is taken by another text.  The text is static.
 */

static ngx_int_t
ngx_http_disclosure_db_statement(ngx_http_disclosure_db_pool_t *pool,
    const char *sql)
{
    u_char                              *p;
    uint32_t                             crc;
    ngx_uint_t                           i;
    ngx_http_disclosure_db_statement_t  *st;

    st = pool->statements;

    for (i = 0; i < pool->nstatements; i++) {
        if (st[i].sql == sql) {
            return i;
        }
    }

    crc = ngx_crc32_long((u_char *) sql, ngx_strlen(sql));

    for (i = 0; i < pool->nstatements; i++) {
        if (st[i].crc == crc) {
            return (ngx_strcmp(st[i].sql, sql) == 0) ? (ngx_int_t) i
                                                      : NGX_DECLINED;
        }
    }

    if (i == NGX_HTTP_DISCLOSURE_DB_STATEMENTS) {
        return NGX_DECLINED;
    }

    st[i].sql = sql;
    st[i].crc = crc;

    p = ngx_sprintf(st[i].name, NGX_HTTP_DISCLOSURE_DB_STATEMENT "%08xD",
                    crc);
    *p = '\0';

    pool->nstatements++;

    return i;
}


/* the statement is prepared: the query runs it */

static void
ngx_http_disclosure_db_execute(ngx_http_disclosure_db_conn_t *dc)
{
    ngx_http_disclosure_query_t  *q;

    q = dc->query;

    if (!PQsendQueryPrepared(dc->pgconn,
                             (char *) dc->pool->statements[dc->statement].name,
                             (int) q->nparams, dc->params, NULL, NULL, 0))
    {
        ngx_http_disclosure_db_lost(dc, "PQsendQueryPrepared()");
        return;
    }

    dc->state = NGX_HTTP_DISCLOSURE_DB_QUERY;
    dc->flushing = 1;

    ngx_http_disclosure_db_process(dc, 0);
}


/*
 * Consumes input on read events, flushes pending output, then takes
 * results until PQgetResult() returns NULL: only then is the connection
 * free for another query.  PQflush() may also read, so the results are
 * looked at after any event.
 */

static void
ngx_http_disclosure_db_process(ngx_http_disclosure_db_conn_t *dc,
    ngx_uint_t consume)
{
    int                rc;
    PGresult          *res;
    ngx_connection_t  *c;

    c = dc->connection;

    if (consume && !PQconsumeInput(dc->pgconn)) {

        if (PQsocket(dc->pgconn) != -1) {
            ngx_http_disclosure_db_lost(dc, "PQconsumeInput()");
            return;
        }

        /*
         * libpq closed the socket (and its events went with it): what was
         * read is still parsed, the failure shows as an error result with
         * PQstatus() CONNECTION_BAD, and nothing more is sent
         */

        dc->flushing = 0;
    }

    if (dc->flushing) {
        rc = PQflush(dc->pgconn);

        if (rc == -1) {
            ngx_http_disclosure_db_lost(dc, "PQflush()");
            return;
        }

        if (rc == 1) {
            if (!c->write->active
                && ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
                   != NGX_OK)
            {
                ngx_http_disclosure_db_end(dc, NGX_ERROR, 1);
                return;
            }

        } else {
            dc->flushing = 0;

            if (c->write->active
                && ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
                   != NGX_OK)
            {
                ngx_http_disclosure_db_end(dc, NGX_ERROR, 1);
                return;
            }
        }
    }

    ngx_http_disclosure_db_drain_notifies(dc->pgconn);

    for ( ;; ) {

        if (PQisBusy(dc->pgconn)) {

            if (ngx_http_disclosure_db_ssl_pending(dc->pgconn)) {

                if (!PQconsumeInput(dc->pgconn)
                    && PQsocket(dc->pgconn) != -1)
                {
                    ngx_http_disclosure_db_lost(dc, "PQconsumeInput()");
                    return;
                }

                continue;
            }

            /* wait: the level-triggered read event reports unread data */
            return;
        }

        res = PQgetResult(dc->pgconn);

        if (res == NULL) {
            ngx_http_disclosure_db_finish(dc);
            return;
        }

        if (ngx_http_disclosure_db_result(dc, res) != NGX_OK) {
            ngx_http_disclosure_db_end(dc, NGX_ERROR, 1);
            return;
        }
    }
}


/* the first result decides; the others are drained */

static ngx_int_t
ngx_http_disclosure_db_result(ngx_http_disclosure_db_conn_t *dc,
    PGresult *res)
{
    int                           rows, cols;
    size_t                        len;
    u_char                       *p;
    ngx_http_request_t           *r;
    ngx_http_disclosure_query_t  *q;

    r = dc->request;
    q = dc->query;

    if (dc->state == NGX_HTTP_DISCLOSURE_DB_PREPARE) {

        switch (PQresultStatus(res)) {

        case PGRES_FATAL_ERROR:
        case PGRES_BAD_RESPONSE:
        case PGRES_NONFATAL_ERROR:

            if (dc->error == NULL) {
                dc->error = res;
                return NGX_OK;
            }

            break;

        default: /* PGRES_COMMAND_OK */
            break;
        }

        PQclear(res);
        return NGX_OK;
    }

    switch (PQresultStatus(res)) {

    case PGRES_TUPLES_OK:

        if (dc->result || dc->error) {
            break;
        }

        dc->result = 1;

        if (q == NULL) {
            break;
        }

        rows = PQntuples(res);
        cols = PQnfields(res);

        if (rows == 0) {
            dc->rc = NGX_DECLINED;
            break;
        }

        if (rows != 1 || cols != 1) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "disclosure: query returned %d rows of %d "
                          "columns, expected one value", rows, cols);
            dc->rc = NGX_ERROR;
            break;
        }

        if (PQgetisnull(res, 0, 0)) {
            dc->rc = NGX_DECLINED;
            break;
        }

        len = PQgetlength(res, 0, 0);

        p = ngx_pnalloc(r->pool, len + 1);
        if (p == NULL) {
            dc->rc = NGX_ERROR;
            break;
        }

        ngx_memcpy(p, PQgetvalue(res, 0, 0), len);
        p[len] = '\0';

        q->value = p;
        q->len = len;

        dc->rc = NGX_OK;
        break;

    case PGRES_FATAL_ERROR:
    case PGRES_BAD_RESPONSE:
    case PGRES_NONFATAL_ERROR:

        if (dc->result || dc->error) {
            break;
        }

        /* kept to be logged once we know whether the query is retried */
        dc->error = res;
        dc->rc = NGX_ERROR;

        return NGX_OK;

    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:

        /* PQgetResult() would not end: give up the connection */

        ngx_log_error(NGX_LOG_ERR, ngx_http_disclosure_db_log(dc), 0,
                      "disclosure: query started COPY");
        PQclear(res);
        return NGX_ERROR;

    default:

        if (dc->result || dc->error) {
            break;
        }

        dc->result = 1;

        if (q) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "disclosure: query returned no rows: %s",
                          PQresStatus(PQresultStatus(res)));
        }

        dc->rc = NGX_ERROR;
        break;
    }

    PQclear(res);

    return NGX_OK;
}


static void
ngx_http_disclosure_db_finish(ngx_http_disclosure_db_conn_t *dc)
{
    u_char      buf[NGX_MAX_ERROR_STR];
    ngx_str_t   text;
    ngx_uint_t  bad;

    if (ngx_http_disclosure_db_can_retry(dc)) {
        ngx_http_disclosure_db_retry(dc,
                                     dc->error
                                     ? PQresultErrorMessage(dc->error)
                                     : PQerrorMessage(dc->pgconn));
        return;
    }

    bad = (PQstatus(dc->pgconn) != CONNECTION_OK
           || PQtransactionStatus(dc->pgconn) != PQTRANS_IDLE);

    if (dc->state == NGX_HTTP_DISCLOSURE_DB_PREPARE
        && !bad
        && (dc->error == NULL
            /* the session has it already (a pooler): the same text */
            || ngx_http_disclosure_db_sqlstate(dc->error, "42P05")))
    {
        if (dc->error) {
            PQclear(dc->error);
            dc->error = NULL;
        }

        dc->prepared |= (uint32_t) 1 << dc->statement;

        if (dc->query == NULL) {
            /* the request went away */
            ngx_http_disclosure_db_end(dc, NGX_ERROR, 0);
            return;
        }

        ngx_http_disclosure_db_execute(dc);
        return;
    }

    if (dc->state == NGX_HTTP_DISCLOSURE_DB_QUERY
        && dc->query
        && !bad
        && !dc->reprepared
        && ngx_http_disclosure_db_sqlstate(dc->error, "26000"))
    {
        /* the session lost its prepared statements: prepare again */

        text = ngx_http_disclosure_db_text(buf, sizeof(buf),
                                           PQresultErrorMessage(dc->error));
        ngx_log_error(NGX_LOG_WARN, ngx_http_disclosure_db_log(dc), 0,
                      "disclosure: the session lost its prepared "
                      "statements (%V), preparing again", &text);

        PQclear(dc->error);
        dc->error = NULL;
        dc->prepared = 0;
        dc->reprepared = 1;
        dc->rc = NGX_ERROR;
        dc->result = 0;

        ngx_http_disclosure_db_send(dc);
        return;
    }

    if (dc->error) {
        text = ngx_http_disclosure_db_text(buf, sizeof(buf),
                                           PQresultErrorMessage(dc->error));
        ngx_log_error(NGX_LOG_ERR, ngx_http_disclosure_db_log(dc), 0,
                      "disclosure: query failed: %V", &text);

    } else if (!dc->result) {
        text = ngx_http_disclosure_db_text(buf, sizeof(buf),
                                           PQerrorMessage(dc->pgconn));
        ngx_log_error(NGX_LOG_ERR, ngx_http_disclosure_db_log(dc), 0,
                      "disclosure: query returned nothing: %V", &text);
        dc->rc = NGX_ERROR;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, dc->connection->log, 0,
                   "disclosure db: *%uA query done: %i, bad: %ui",
                   dc->connection->number, dc->rc, bad);

    ngx_http_disclosure_db_end(dc, dc->rc, bad);
}


static ngx_uint_t
ngx_http_disclosure_db_sqlstate(PGresult *res, const char *code)
{
    char  *state;

    if (res == NULL) {
        return 0;
    }

    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    return state != NULL && ngx_strcmp(state, code) == 0;
}


/* libpq could not send or receive */

static void
ngx_http_disclosure_db_lost(ngx_http_disclosure_db_conn_t *dc,
    const char *what)
{
    u_char     buf[NGX_MAX_ERROR_STR];
    ngx_str_t  text;

    if (ngx_http_disclosure_db_can_retry(dc)) {
        ngx_http_disclosure_db_retry(dc, PQerrorMessage(dc->pgconn));
        return;
    }

    text = ngx_http_disclosure_db_text(buf, sizeof(buf),
                                       PQerrorMessage(dc->pgconn));
    ngx_log_error(NGX_LOG_ERR, ngx_http_disclosure_db_log(dc), 0,
                  "disclosure: %s failed: %V", what, &text);

    ngx_http_disclosure_db_end(dc, NGX_ERROR, 1);
}


/*
 * A pooled connection may have died since its last query (the server was
 * restarted): the query is retried once on a new connection.  Queries are
 * read-only, so running one again is harmless.
 */

static ngx_uint_t
ngx_http_disclosure_db_can_retry(ngx_http_disclosure_db_conn_t *dc)
{
    return dc->query != NULL
           && dc->reused
           && !dc->retried
           && !dc->result
           && PQstatus(dc->pgconn) == CONNECTION_BAD;
}


static void
ngx_http_disclosure_db_retry(ngx_http_disclosure_db_conn_t *dc,
    const char *reason)
{
    u_char                          buf[NGX_MAX_ERROR_STR];
    ngx_str_t                       text;
    const char                    **params;
    ngx_http_request_t             *r;
    ngx_connection_t               *c;
    ngx_http_disclosure_query_t    *q;
    ngx_http_disclosure_db_pool_t  *pool;

    pool = dc->pool;
    r = dc->request;
    q = dc->query;
    params = dc->params;

    text = ngx_http_disclosure_db_text(buf, sizeof(buf), reason);
    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "disclosure: pooled connection lost (%V), "
                  "retrying on a new connection", &text);

    ngx_http_disclosure_db_detach(dc);
    ngx_http_disclosure_db_close(dc);

    pool->stats.retries++;

    dc = ngx_http_disclosure_db_connect(pool, r->connection->log,
                                        pool->conf->connect_timeout);

    if (dc == NULL) {
        pool->stats.errors++;
        ngx_http_disclosure_db_next(pool);

        c = r->connection;
        ngx_http_set_log_request(c->log, r);

        q->done(r, q, NGX_ERROR);
        ngx_http_run_posted_requests(c);
        return;
    }

    ngx_http_disclosure_db_attach(dc, r, q, params);
    dc->retried = 1;
}


/*
 * The query is over: the connection goes back to the pool (or is closed)
 * before the caller learns the outcome, so that done() may start another
 * query.  Nothing here touches the connection after done().
 */

static void
ngx_http_disclosure_db_end(ngx_http_disclosure_db_conn_t *dc, ngx_int_t rc,
    ngx_uint_t close)
{
    ngx_connection_t               *c;
    ngx_http_request_t             *r;
    ngx_http_disclosure_query_t    *q;
    ngx_http_disclosure_db_pool_t  *pool;

    pool = dc->pool;
    r = dc->request;
    q = dc->query;

    ngx_http_disclosure_db_detach(dc);

    if (close) {
        ngx_http_disclosure_db_close(dc);
        ngx_http_disclosure_db_next(pool);

    } else {
        ngx_http_disclosure_db_release(dc);
    }

    if (q == NULL) {
        return;
    }

    if (rc == NGX_ERROR) {
        pool->stats.errors++;
    }

    c = r->connection;
    ngx_http_set_log_request(c->log, r);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "disclosure db: query result %i", rc);

    q->done(r, q, rc);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_disclosure_db_idle_read(ngx_http_disclosure_db_conn_t *dc)
{
    u_char                          buf[NGX_MAX_ERROR_STR];
    ngx_str_t                       text;
    ngx_http_disclosure_db_pool_t  *pool;

    pool = dc->pool;

    if (!PQconsumeInput(dc->pgconn)
        || PQstatus(dc->pgconn) != CONNECTION_OK)
    {
        text = ngx_http_disclosure_db_text(buf, sizeof(buf),
                                           PQerrorMessage(dc->pgconn));
        ngx_log_error(NGX_LOG_INFO, pool->log, 0,
                      "disclosure: idle connection closed: %V", &text);
        ngx_http_disclosure_db_close(dc);
        ngx_http_disclosure_db_next(pool);
        return;
    }

    /* parameter changes are applied and messages logged by libpq */

    ngx_http_disclosure_db_drain_notifies(dc->pgconn);
}


static void
ngx_http_disclosure_db_timeout(ngx_event_t *ev)
{
    ngx_http_disclosure_db_conn_t  *dc;
    ngx_http_disclosure_db_pool_t  *pool;

    dc = ev->data;
    pool = dc->pool;

    switch (dc->state) {

    case NGX_HTTP_DISCLOSURE_DB_IDLE:
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                       "disclosure db: *%uA keepalive timeout",
                       dc->connection->number);
        ngx_http_disclosure_db_close(dc);
        ngx_http_disclosure_db_next(pool);
        return;

    case NGX_HTTP_DISCLOSURE_DB_CONNECTING:
        ngx_log_error(NGX_LOG_ERR, ngx_http_disclosure_db_log(dc),
                      NGX_ETIMEDOUT,
                      "disclosure: connecting to \"%V\" timed out",
                      &dc->pool->conf->conninfo_safe);
        break;

    default:
        ngx_log_error(NGX_LOG_ERR, ngx_http_disclosure_db_log(dc),
                      NGX_ETIMEDOUT, "disclosure: query timed out");
        break;
    }

    /* PQcancel() would block: the connection is closed instead */

    ngx_http_disclosure_db_end(dc, NGX_ERROR, 1);
}


static void
ngx_http_disclosure_db_attach(ngx_http_disclosure_db_conn_t *dc,
    ngx_http_request_t *r, ngx_http_disclosure_query_t *q,
    const char **params)
{
    dc->request = r;
    dc->query = q;
    dc->params = params;
    dc->rc = NGX_ERROR;
    dc->result = 0;
    dc->reprepared = 0;

    q->conn = dc;
}


static void
ngx_http_disclosure_db_detach(ngx_http_disclosure_db_conn_t *dc)
{
    if (dc->query) {
        dc->query->conn = NULL;
    }

    dc->request = NULL;
    dc->query = NULL;
    dc->params = NULL;
}


static void
ngx_http_disclosure_db_release(ngx_http_disclosure_db_conn_t *dc)
{
    ngx_connection_t               *c;
    ngx_http_disclosure_db_pool_t  *pool;

    pool = dc->pool;
    c = dc->connection;

    if (dc->error) {
        PQclear(dc->error);
        dc->error = NULL;
    }

    if (PQstatus(dc->pgconn) != CONNECTION_OK
        || PQtransactionStatus(dc->pgconn) != PQTRANS_IDLE
        || (c->write->active
            && ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
               != NGX_OK))
    {
        ngx_http_disclosure_db_close(dc);
        ngx_http_disclosure_db_next(pool);
        return;
    }

    if (!ngx_queue_empty(&pool->waiting)) {
        ngx_http_disclosure_db_hand_over(dc);
        return;
    }

    /* above the pool size, connections serve one query and are closed */

    if (ngx_terminate
        || ngx_exiting
        || pool->stats.idle >= pool->conf->keepalive)
    {
        ngx_http_disclosure_db_close(dc);
        return;
    }

    if (dc->timer.timer_set) {
        ngx_del_timer(&dc->timer);
    }

    ngx_queue_remove(&dc->queue);
    ngx_queue_insert_head(&pool->idle, &dc->queue);

    pool->stats.active--;
    pool->stats.idle++;

    dc->state = NGX_HTTP_DISCLOSURE_DB_IDLE;
    dc->flushing = 0;
    dc->reused = 0;
    dc->retried = 0;

    /* let graceful shutdown close it (ngx_close_idle_connections()) */
    c->idle = 1;
    dc->timer.cancelable = 1;

    ngx_add_timer(&dc->timer, pool->conf->keepalive_timeout);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "disclosure db: *%uA kept alive", c->number);
}


static void
ngx_http_disclosure_db_close(ngx_http_disclosure_db_conn_t *dc)
{
    ngx_http_disclosure_db_pool_t  *pool;

    pool = dc->pool;

    if (dc->timer.timer_set) {
        ngx_del_timer(&dc->timer);
    }

    if (dc->connection) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, pool->log, 0,
                       "disclosure db: *%uA close",
                       dc->connection->number);

        ngx_http_disclosure_db_forget_socket(dc);
    }

    if (dc->error) {
        PQclear(dc->error);
        dc->error = NULL;
    }

    /* non-blocking: at most one attempt to send Terminate */
    PQfinish(dc->pgconn);
    dc->pgconn = NULL;

    if (dc->state == NGX_HTTP_DISCLOSURE_DB_IDLE) {
        pool->stats.idle--;

    } else {
        pool->stats.active--;
    }

    ngx_queue_remove(&dc->queue);
    ngx_queue_insert_head(&pool->free, &dc->queue);
}


/* the request pool is being destroyed: the query no longer has an owner */

static void
ngx_http_disclosure_db_cleanup(void *data)
{
    ngx_http_disclosure_query_t  *q = data;

    ngx_http_disclosure_db_conn_t  *dc;
    ngx_http_disclosure_db_wait_t  *w;

    w = q->wait;

    if (w) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, w->pool->log, 0,
                       "disclosure db: request gone while waiting");

        ngx_http_disclosure_db_unqueue(w);
        q->wait = NULL;
        return;
    }

    dc = q->conn;

    if (dc == NULL) {
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, dc->pool->log, 0,
                   "disclosure db: *%uA request gone in state %d",
                   dc->connection->number, dc->state);

    ngx_http_disclosure_db_detach(dc);
}


static void
ngx_http_disclosure_db_notice(void *arg, const char *message)
{
    ngx_http_disclosure_db_conn_t  *dc = arg;

    u_char     buf[NGX_MAX_ERROR_STR];
    ngx_str_t  text;

    text = ngx_http_disclosure_db_text(buf, sizeof(buf), message);

    ngx_log_error(NGX_LOG_NOTICE, ngx_http_disclosure_db_log(dc), 0,
                  "disclosure: PostgreSQL said: %V", &text);
}


static void
ngx_http_disclosure_db_drain_notifies(PGconn *pgconn)
{
    PGnotify  *n;

    while ((n = PQnotifies(pgconn)) != NULL) {
        PQfreemem(n);
    }
}


ngx_uint_t
ngx_http_disclosure_db_ssl_pending(PGconn *pgconn)
{
#if (NGX_OPENSSL)
    SSL  *ssl;

    if (!PQsslInUse(pgconn)) {
        return 0;
    }

    ssl = PQsslStruct(pgconn, "OpenSSL");

    return ssl != NULL && SSL_pending(ssl) > 0;
#else
    return 0;
#endif
}


static ngx_log_t *
ngx_http_disclosure_db_log(ngx_http_disclosure_db_conn_t *dc)
{
    if (dc->request) {
        return dc->request->connection->log;
    }

    return dc->pool->log;
}


/* libpq messages span lines; the error log wants one */

ngx_str_t
ngx_http_disclosure_db_text(u_char *buf, size_t size, const char *message)
{
    u_char     *p, *last;
    ngx_str_t   text;

    p = buf;
    last = buf + size;

    while (*message && p < last) {
        if (*message == '\n' || *message == '\t' || *message == '\r') {
            if (p > buf && p[-1] != ' ') {
                *p++ = ' ';
            }

        } else {
            *p++ = (u_char) *message;
        }

        message++;
    }

    while (p > buf && p[-1] == ' ') {
        p--;
    }

    text.data = buf;
    text.len = p - buf;

    return text;
}
