
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * Non-blocking PostgreSQL access with a per-worker keepalive pool: the
 * pool, the queue of queries waiting for a connection, prepared
 * statements and a query's life.  Each connection is a _pg.c connection
 * (events, timer, flushing, the result loop), which calls back here.
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
#include "ngx_http_disclosure_pg.h"
#include "ngx_http_disclosure_conninfo.h"


#define NGX_HTTP_DISCLOSURE_DB_STATEMENTS   32    /* bits of "prepared" */
#define NGX_HTTP_DISCLOSURE_DB_STATEMENT    "ngx_disclosure_"    /* + crc */
#define NGX_HTTP_DISCLOSURE_DB_NAME_LEN                                       \
    (sizeof(NGX_HTTP_DISCLOSURE_DB_STATEMENT) + 8)


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
    ngx_http_disclosure_pg_t           pg;
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
static void ngx_http_disclosure_db_ready(ngx_http_disclosure_pg_t *pg);
static void ngx_http_disclosure_db_send(ngx_http_disclosure_db_conn_t *dc);
static ngx_int_t ngx_http_disclosure_db_statement(
    ngx_http_disclosure_db_pool_t *pool, const char *sql);
static void ngx_http_disclosure_db_execute(ngx_http_disclosure_db_conn_t *dc);
static ngx_uint_t ngx_http_disclosure_db_sqlstate(PGresult *res,
    const char *code);
static ngx_int_t ngx_http_disclosure_db_result(ngx_http_disclosure_pg_t *pg,
    PGresult *res);
static void ngx_http_disclosure_db_finish(ngx_http_disclosure_pg_t *pg);
static void ngx_http_disclosure_db_error(ngx_http_disclosure_pg_t *pg,
    ngx_uint_t reason, const char *what);
static void ngx_http_disclosure_db_lost(ngx_http_disclosure_db_conn_t *dc,
    const char *what);
static ngx_uint_t ngx_http_disclosure_db_can_retry(
    ngx_http_disclosure_db_conn_t *dc);
static void ngx_http_disclosure_db_retry(ngx_http_disclosure_db_conn_t *dc,
    const char *reason);
static void ngx_http_disclosure_db_end(ngx_http_disclosure_db_conn_t *dc,
    ngx_int_t rc, ngx_uint_t close);
static void ngx_http_disclosure_db_timeout(ngx_http_disclosure_db_conn_t *dc);
static void ngx_http_disclosure_db_attach(ngx_http_disclosure_db_conn_t *dc,
    ngx_http_request_t *r, ngx_http_disclosure_query_t *q,
    const char **params);
static void ngx_http_disclosure_db_detach(ngx_http_disclosure_db_conn_t *dc);
static void ngx_http_disclosure_db_release(ngx_http_disclosure_db_conn_t *dc);
static void ngx_http_disclosure_db_close(ngx_http_disclosure_db_conn_t *dc);
static void ngx_http_disclosure_db_cleanup(void *data);
static ngx_log_t *ngx_http_disclosure_db_log(
    ngx_http_disclosure_db_conn_t *dc);


static const ngx_http_disclosure_pg_handlers_t  ngx_http_disclosure_db_pg = {
    ngx_http_disclosure_db_ready,
    ngx_http_disclosure_db_result,
    NULL,                                 /* no COPY */
    ngx_http_disclosure_db_finish,
    NULL,                                 /* notifications dropped */
    ngx_http_disclosure_db_error
};


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

    dmcf->pool = pool;

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
    pool = dmcf ? dmcf->pool : NULL;

    return pool ? &pool->stats : NULL;
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

        if (dc->pg.timer.timer_set) {
            ngx_del_timer(&dc->pg.timer);
        }

        dc->pg.timer.cancelable = 0;
        dc->pg.connection->idle = 0;
        dc->state = NGX_HTTP_DISCLOSURE_DB_SEND;
        dc->reused = 1;

        ngx_http_disclosure_db_attach(dc, r, q, params);

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "disclosure db: reusing connection *%uA",
                       dc->pg.connection->number);

        ngx_http_disclosure_pg_post_ready(&dc->pg);

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

    r->connection->log->action = "waiting for a database connection";

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

    c->log->action = NULL;

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

    if (dc->pg.timer.timer_set) {
        ngx_del_timer(&dc->pg.timer);
    }

    dc->state = NGX_HTTP_DISCLOSURE_DB_SEND;
    dc->reused = 1;
    dc->retried = 0;

    q = w->query;
    q->wait = NULL;

    ngx_http_disclosure_db_attach(dc, w->request, q, w->params);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, dc->pg.connection->log, 0,
                   "disclosure db: *%uA handed to a waiting query",
                   dc->pg.connection->number);

    ngx_http_disclosure_pg_post_ready(&dc->pg);
}


static ngx_http_disclosure_db_conn_t *
ngx_http_disclosure_db_connect(ngx_http_disclosure_db_pool_t *pool,
    ngx_log_t *log, ngx_msec_t timeout)
{
    ngx_queue_t                      *q;
    ngx_http_disclosure_db_conn_t    *dc;
    ngx_http_disclosure_conninfo_t   *ci;

    if (!ngx_queue_empty(&pool->free)) {
        q = ngx_queue_head(&pool->free);
        ngx_queue_remove(q);
        dc = ngx_queue_data(q, ngx_http_disclosure_db_conn_t, queue);
        ngx_memzero(dc, sizeof(ngx_http_disclosure_db_conn_t));

    } else {
        dc = ngx_pcalloc(pool->pool, sizeof(ngx_http_disclosure_db_conn_t));
        if (dc == NULL) {
            return NULL;
        }
    }

    ci = pool->conf->conninfo;

    ngx_http_disclosure_pg_init(&dc->pg, &ngx_http_disclosure_db_pg, dc,
                                pool->log, &pool->conf->conninfo_safe, "");

    /* the request's log until the query is attached */
    dc->pg.error_log = log;

    if (ngx_http_disclosure_pg_connect(&dc->pg, ci->keywords, ci->values,
                                       timeout)
        != NGX_OK)
    {
        ngx_queue_insert_head(&pool->free, &dc->queue);
        return NULL;
    }

    dc->pool = pool;
    dc->state = NGX_HTTP_DISCLOSURE_DB_CONNECTING;

    ngx_queue_insert_head(&pool->busy, &dc->queue);
    pool->stats.active++;
    pool->stats.connects++;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                   "disclosure db: connecting *%uA",
                   dc->pg.connection->number);

    return dc;
}


/* connected, or a connection from the pool or handed over: send */

static void
ngx_http_disclosure_db_ready(ngx_http_disclosure_pg_t *pg)
{
    ngx_http_disclosure_db_conn_t  *dc = pg->data;

    dc->state = NGX_HTTP_DISCLOSURE_DB_SEND;

    if (dc->request) {
        dc->request->connection->log->action = "querying PostgreSQL";
    }

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

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, dc->pg.log, 0,
                   "disclosure db: *%uA query: %s",
                   dc->pg.connection->number, q->sql);

    if (PQstatus(dc->pg.pgconn) != CONNECTION_OK) {
        ngx_http_disclosure_db_lost(dc, "sending the query");
        return;
    }

    n = ngx_http_disclosure_db_statement(dc->pool, q->sql);

    if (n == NGX_DECLINED) {
        /* no name left: parsed and planned each time */

        if (!PQsendQueryParams(dc->pg.pgconn, q->sql, (int) q->nparams, NULL,
                               dc->params, NULL, NULL, 0))
        {
            ngx_http_disclosure_db_lost(dc, "PQsendQueryParams()");
            return;
        }

        dc->state = NGX_HTTP_DISCLOSURE_DB_QUERY;

    } else if (dc->prepared & ((uint32_t) 1 << n)) {

        if (!PQsendQueryPrepared(dc->pg.pgconn,
                                 (char *) dc->pool->statements[n].name,
                                 (int) q->nparams, dc->params, NULL, NULL, 0))
        {
            ngx_http_disclosure_db_lost(dc, "PQsendQueryPrepared()");
            return;
        }

        dc->state = NGX_HTTP_DISCLOSURE_DB_QUERY;

    } else {

        if (!PQsendPrepare(dc->pg.pgconn, (char *) dc->pool->statements[n].name,
                           q->sql, (int) q->nparams, NULL))
        {
            ngx_http_disclosure_db_lost(dc, "PQsendPrepare()");
            return;
        }

        dc->state = NGX_HTTP_DISCLOSURE_DB_PREPARE;
        dc->statement = n;
    }

    /* for preparing and running together */
    ngx_http_disclosure_pg_sent(&dc->pg, dc->pool->conf->query_timeout);
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

    if (!PQsendQueryPrepared(dc->pg.pgconn,
                             (char *) dc->pool->statements[dc->statement].name,
                             (int) q->nparams, dc->params, NULL, NULL, 0))
    {
        ngx_http_disclosure_db_lost(dc, "PQsendQueryPrepared()");
        return;
    }

    dc->state = NGX_HTTP_DISCLOSURE_DB_QUERY;

    /* under the timeout of the prepare */
    ngx_http_disclosure_pg_sent(&dc->pg, 0);
}


/* the first result decides; the others are drained */

static ngx_int_t
ngx_http_disclosure_db_result(ngx_http_disclosure_pg_t *pg, PGresult *res)
{
    int                             rows, cols;
    size_t                          len;
    u_char                         *p;
    ngx_http_request_t             *r;
    ngx_http_disclosure_query_t    *q;
    ngx_http_disclosure_db_conn_t  *dc;

    dc = pg->data;
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
        ngx_http_disclosure_db_end(dc, NGX_ERROR, 1);
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
ngx_http_disclosure_db_finish(ngx_http_disclosure_pg_t *pg)
{
    u_char                          buf[NGX_MAX_ERROR_STR];
    ngx_str_t                       text;
    ngx_uint_t                      bad;
    ngx_http_disclosure_db_conn_t  *dc;

    dc = pg->data;

    if (ngx_http_disclosure_db_can_retry(dc)) {
        ngx_http_disclosure_db_retry(dc,
                                     dc->error
                                     ? PQresultErrorMessage(dc->error)
                                     : PQerrorMessage(dc->pg.pgconn));
        return;
    }

    bad = (PQstatus(dc->pg.pgconn) != CONNECTION_OK
           || PQtransactionStatus(dc->pg.pgconn) != PQTRANS_IDLE);

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

        text = ngx_http_disclosure_pg_text(buf, sizeof(buf),
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
        text = ngx_http_disclosure_pg_text(buf, sizeof(buf),
                                           PQresultErrorMessage(dc->error));
        ngx_log_error(NGX_LOG_ERR, ngx_http_disclosure_db_log(dc), 0,
                      "disclosure: query failed: %V", &text);

    } else if (!dc->result) {
        text = ngx_http_disclosure_pg_text(buf, sizeof(buf),
                                           PQerrorMessage(dc->pg.pgconn));
        ngx_log_error(NGX_LOG_ERR, ngx_http_disclosure_db_log(dc), 0,
                      "disclosure: query returned nothing: %V", &text);
        dc->rc = NGX_ERROR;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, dc->pg.log, 0,
                   "disclosure db: *%uA query done: %i, bad: %ui",
                   dc->pg.connection ? dc->pg.connection->number : 0,
                   dc->rc, bad);

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
        ngx_http_disclosure_db_retry(dc, PQerrorMessage(dc->pg.pgconn));
        return;
    }

    text = ngx_http_disclosure_pg_text(buf, sizeof(buf),
                                       PQerrorMessage(dc->pg.pgconn));
    ngx_log_error(NGX_LOG_ERR, ngx_http_disclosure_db_log(dc), 0,
                  "disclosure: %s failed: %V", what, &text);

    ngx_http_disclosure_db_end(dc, NGX_ERROR, 1);
}


static void
ngx_http_disclosure_db_error(ngx_http_disclosure_pg_t *pg, ngx_uint_t reason,
    const char *what)
{
    u_char                          buf[NGX_MAX_ERROR_STR];
    ngx_str_t                       text;
    ngx_http_disclosure_db_conn_t  *dc;

    dc = pg->data;

    switch (reason) {

    case NGX_HTTP_DISCLOSURE_PG_LOST:
        ngx_http_disclosure_db_lost(dc, what);
        return;

    case NGX_HTTP_DISCLOSURE_PG_CLOSED:
        text = ngx_http_disclosure_pg_text(buf, sizeof(buf),
                                           PQerrorMessage(pg->pgconn));
        ngx_log_error(NGX_LOG_INFO, dc->pool->log, 0,
                      "disclosure: idle connection closed: %V", &text);
        ngx_http_disclosure_db_close(dc);
        ngx_http_disclosure_db_next(dc->pool);
        return;

    case NGX_HTTP_DISCLOSURE_PG_TIMEDOUT:
        ngx_http_disclosure_db_timeout(dc);
        return;

    case NGX_HTTP_DISCLOSURE_PG_EXITING:

        if (dc->query) {
            ngx_log_error(NGX_LOG_ERR, ngx_http_disclosure_db_log(dc), 0,
                          "disclosure: query aborted, worker is exiting");
        }

        ngx_http_disclosure_db_end(dc, NGX_ERROR, 1);
        return;

    default: /* NGX_HTTP_DISCLOSURE_PG_FAILED, logged */
        ngx_http_disclosure_db_end(dc, NGX_ERROR, 1);
        return;
    }
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
           && PQstatus(dc->pg.pgconn) == CONNECTION_BAD;
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

    text = ngx_http_disclosure_pg_text(buf, sizeof(buf), reason);
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

        c->log->action = NULL;

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

    c->log->action = NULL;

    q->done(r, q, rc);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_disclosure_db_timeout(ngx_http_disclosure_db_conn_t *dc)
{
    ngx_http_disclosure_db_pool_t  *pool;

    pool = dc->pool;

    switch (dc->state) {

    case NGX_HTTP_DISCLOSURE_DB_IDLE:
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, pool->log, 0,
                       "disclosure db: *%uA keepalive timeout",
                       dc->pg.connection->number);
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

    /* what pg logs goes with the request, saying what it was doing */
    dc->pg.error_log = r->connection->log;

    r->connection->log->action =
        (dc->state == NGX_HTTP_DISCLOSURE_DB_CONNECTING)
        ? "connecting to PostgreSQL" : "querying PostgreSQL";

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

    dc->pg.error_log = dc->pool->log;
}


static void
ngx_http_disclosure_db_release(ngx_http_disclosure_db_conn_t *dc)
{
    ngx_connection_t               *c;
    ngx_http_disclosure_db_pool_t  *pool;

    pool = dc->pool;
    c = dc->pg.connection;

    if (dc->error) {
        PQclear(dc->error);
        dc->error = NULL;
    }

    if (PQstatus(dc->pg.pgconn) != CONNECTION_OK
        || PQtransactionStatus(dc->pg.pgconn) != PQTRANS_IDLE
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

    if (dc->pg.timer.timer_set) {
        ngx_del_timer(&dc->pg.timer);
    }

    ngx_queue_remove(&dc->queue);
    ngx_queue_insert_head(&pool->idle, &dc->queue);

    pool->stats.active--;
    pool->stats.idle++;

    dc->state = NGX_HTTP_DISCLOSURE_DB_IDLE;
    dc->reused = 0;
    dc->retried = 0;

    /* let graceful shutdown close it (ngx_close_idle_connections()) */
    c->idle = 1;
    dc->pg.timer.cancelable = 1;

    ngx_add_timer(&dc->pg.timer, pool->conf->keepalive_timeout);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "disclosure db: *%uA kept alive", c->number);
}


static void
ngx_http_disclosure_db_close(ngx_http_disclosure_db_conn_t *dc)
{
    ngx_http_disclosure_db_pool_t  *pool;

    pool = dc->pool;

    ngx_http_disclosure_pg_close(&dc->pg);

    if (dc->error) {
        PQclear(dc->error);
        dc->error = NULL;
    }

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
                   dc->pg.connection->number, dc->state);

    ngx_http_disclosure_db_detach(dc);
}


static ngx_log_t *
ngx_http_disclosure_db_log(ngx_http_disclosure_db_conn_t *dc)
{
    if (dc->request) {
        return dc->request->connection->log;
    }

    return dc->pool->log;
}
