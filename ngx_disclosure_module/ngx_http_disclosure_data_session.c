
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * The download sessions of a worker (issue 14): at most
 * "disclosure_data_connections" connections (_pg.c) of their own, opened
 * with the pool's parameters (_conninfo.c), since a download holds one
 * for minutes, which the pool's short queries must not wait behind.
 * Sessions live in the worker, outside any request, and outlive their
 * downloads: after one the transaction ends (COMMIT or ROLLBACK) and the
 * session idles until the next download, the server closing it,
 * disclosure_keepalive_timeout or the worker's exit.  A download that
 * finds only sessions about to be idle (ending a transaction, cancelling
 * for another, draining what its client left) waits for one; if that one
 * closes instead, the download gets a new connection in its slot.  What a
 * download does with its session is _data.c's.
 *
 * A client that goes away terminates the request; the cleanup detaches
 * the session from it and cancels its query without blocking:
 * pg_cancel_backend() run on another session of the same role (an idle
 * one, or one connected in a free slot, kept afterwards), while the
 * session reads and drops what is left (the rows, the 57014 error).  Once
 * both have answered the session rolls back and idles: no signal can hit
 * the ROLLBACK.  With every slot holding a busy session there is nothing
 * to cancel from within disclosure_data_connections, and the session is
 * closed instead (libpq's Terminate: the backend ends the query at its
 * next send, or within the transaction's client_connection_check_interval
 * while it computes or waits).  Any failure on the way closes it too, as
 * does a worker exiting.  A session PostgreSQL failed on while serving is
 * closed, never reused.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <libpq-fe.h>

#include "ngx_http_disclosure_module.h"
#include "ngx_http_disclosure_pg.h"
#include "ngx_http_disclosure_conninfo.h"
#include "ngx_http_disclosure_data.h"
#include "ngx_http_disclosure_data_session.h"


static void ngx_http_disclosure_data_session_ready(
    ngx_http_disclosure_pg_t *pg);
static ngx_int_t ngx_http_disclosure_data_session_result(
    ngx_http_disclosure_pg_t *pg, PGresult *res);
static void ngx_http_disclosure_data_session_done(
    ngx_http_disclosure_pg_t *pg);
static void ngx_http_disclosure_data_session_error(
    ngx_http_disclosure_pg_t *pg, ngx_uint_t reason, const char *what);
static void ngx_http_disclosure_data_session_log(
    ngx_http_disclosure_data_session_t *s, ngx_uint_t level,
    const char *what, const char *message);
static void ngx_http_disclosure_data_session_cancel(
    ngx_http_disclosure_data_session_t *s);
static void ngx_http_disclosure_data_session_cancel_send(
    ngx_http_disclosure_data_session_t *cs);
static void ngx_http_disclosure_data_session_cancel_done(
    ngx_http_disclosure_data_session_t *cs);
static void ngx_http_disclosure_data_session_end(
    ngx_http_disclosure_data_session_t *s);
static void ngx_http_disclosure_data_session_idle(
    ngx_http_disclosure_data_session_t *s);
static void ngx_http_disclosure_data_session_close(
    ngx_http_disclosure_data_session_t *s);


static const ngx_http_disclosure_pg_handlers_t
    ngx_http_disclosure_data_session_pg = {
    ngx_http_disclosure_data_session_ready,
    ngx_http_disclosure_data_session_result,
    NULL,
    ngx_http_disclosure_data_session_done,
    NULL,
    ngx_http_disclosure_data_session_error
};


/* this worker's sessions (disclosure_data_connections), the pool's conf */
static ngx_http_disclosure_data_session_t  *ngx_http_disclosure_data_sessions;
static ngx_uint_t                           ngx_http_disclosure_data_nsessions;
static ngx_http_disclosure_main_conf_t
    *ngx_http_disclosure_data_session_main;


/* an idle session first, then one about to be idle, then a new one */

ngx_http_disclosure_data_session_t *
ngx_http_disclosure_data_session_pick(void)
{
    ngx_uint_t                           i;
    ngx_http_disclosure_data_session_t  *s, *best;

    best = NULL;

    for (i = 0; i < ngx_http_disclosure_data_nsessions; i++) {
        s = &ngx_http_disclosure_data_sessions[i];

        switch (s->state) {

        case NGX_HTTP_DISCLOSURE_DATA_IDLE:
            return s;

        case NGX_HTTP_DISCLOSURE_DATA_ENDING:
        case NGX_HTTP_DISCLOSURE_DATA_CANCELLING:
        case NGX_HTTP_DISCLOSURE_DATA_DRAINING:
            /* a drain has the longest way left: the rest, then the end */
            if (s->download == NULL
                && (best == NULL
                    || best->state == NGX_HTTP_DISCLOSURE_DATA_FREE
                    || (best->state == NGX_HTTP_DISCLOSURE_DATA_DRAINING
                        && s->state != NGX_HTTP_DISCLOSURE_DATA_DRAINING)))
            {
                best = s;
            }

            break;

        case NGX_HTTP_DISCLOSURE_DATA_FREE:
            if (best == NULL) {
                best = s;
            }

            break;

        default:
            break;
        }
    }

    return best;
}


/* the pool's parameters: read-only sessions, its statement_timeout (the
 * transaction sets its own); the session's connection logs to the cycle's
 * log, its messages go to log while a request has it */

ngx_int_t
ngx_http_disclosure_data_session_connect(ngx_http_disclosure_data_session_t *s,
    ngx_log_t *log)
{
    ngx_http_disclosure_conninfo_t   *ci;
    ngx_http_disclosure_main_conf_t  *dmcf;

    dmcf = ngx_http_disclosure_data_session_main;
    ci = dmcf->conninfo;

    ngx_http_disclosure_pg_init(&s->pg, &ngx_http_disclosure_data_session_pg, s,
                                ngx_cycle->log, &dmcf->conninfo_safe,
                                "download");
    s->pg.error_log = log;

    return ngx_http_disclosure_pg_connect(&s->pg, ci->keywords, ci->values,
                                          dmcf->connect_timeout);
}


/* an idle session put to work: no keepalive, not closed by a graceful
 * shutdown */

void
ngx_http_disclosure_data_session_take(ngx_http_disclosure_data_session_t *s,
    ngx_http_disclosure_data_session_state_e state)
{
    if (s->pg.timer.timer_set) {
        ngx_del_timer(&s->pg.timer);
    }

    s->pg.timer.cancelable = 0;
    s->pg.connection->idle = 0;
    s->state = state;
}


/* the session's callbacks, the one place that decides whose they are: the
 * download's (_data.c) while the session serves one, else its own */

static void
ngx_http_disclosure_data_session_ready(ngx_http_disclosure_pg_t *pg)
{
    ngx_http_disclosure_data_session_t  *s = pg->data;

    /* for messages after the connection is lost */
    s->backend = PQbackendPID(pg->pgconn);

    switch (s->state) {

    case NGX_HTTP_DISCLOSURE_DATA_SERVING:
        /* connected, or taken idle: the transaction first */
        ngx_http_disclosure_data_begin(s->download);
        return;

    case NGX_HTTP_DISCLOSURE_DATA_CANCELLING:
        ngx_http_disclosure_data_session_cancel_send(s);
        return;

    default:
        /* posted for a download gone since */
        return;
    }
}


static ngx_int_t
ngx_http_disclosure_data_session_result(ngx_http_disclosure_pg_t *pg,
    PGresult *res)
{
    char                                *state;
    ngx_http_disclosure_data_session_t  *s = pg->data;

    if (s->state == NGX_HTTP_DISCLOSURE_DATA_SERVING) {
        return ngx_http_disclosure_data_row(s->download, res);
    }

    /* what is left of a cancelled query, the answer of a cancel or of
     * the transaction's end */

    switch (PQresultStatus(res)) {

    case PGRES_SINGLE_TUPLE:
    case PGRES_TUPLES_OK:
    case PGRES_COMMAND_OK:
        break;

    default:
        state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

        if (s->state == NGX_HTTP_DISCLOSURE_DATA_DRAINING
            && state && ngx_strcmp(state, "57014") == 0)
        {
            s->cancelled = 1;
            break;
        }

        ngx_http_disclosure_data_session_log(s, NGX_LOG_ERR, "failed",
                                             PQresultErrorMessage(res));

        /* a cancelled query's own error leaves the session clean */
        s->failed = (s->state != NGX_HTTP_DISCLOSURE_DATA_DRAINING);
        break;
    }

    PQclear(res);

    return NGX_OK;
}


static void
ngx_http_disclosure_data_session_done(ngx_http_disclosure_pg_t *pg)
{
    ngx_http_disclosure_data_session_t  *s = pg->data;

    switch (s->state) {

    case NGX_HTTP_DISCLOSURE_DATA_SERVING:
        ngx_http_disclosure_data_next(s->download);
        return;

    case NGX_HTTP_DISCLOSURE_DATA_DRAINING:
        s->drained = 1;

        if (s->answered) {
            ngx_http_disclosure_data_session_end(s);
        }

        return;

    case NGX_HTTP_DISCLOSURE_DATA_ENDING:
        if (s->failed
            || PQstatus(pg->pgconn) != CONNECTION_OK
            || PQtransactionStatus(pg->pgconn) != PQTRANS_IDLE)
        {
            ngx_http_disclosure_data_session_close(s);
            return;
        }

        ngx_http_disclosure_data_session_idle(s);
        return;

    case NGX_HTTP_DISCLOSURE_DATA_CANCELLING:
        ngx_http_disclosure_data_session_cancel_done(s);
        return;

    default:
        return;
    }
}


static void
ngx_http_disclosure_data_session_error(ngx_http_disclosure_pg_t *pg,
    ngx_uint_t reason, const char *what)
{
    ngx_http_disclosure_data_session_t  *s = pg->data;

    if (s->state == NGX_HTTP_DISCLOSURE_DATA_SERVING) {
        ngx_http_disclosure_data_failed(s->download, reason, what);
        return;
    }

    switch (reason) {

    case NGX_HTTP_DISCLOSURE_PG_FAILED:
        /* pg has logged why */
        break;

    case NGX_HTTP_DISCLOSURE_PG_TIMEDOUT:
        if (s->state == NGX_HTTP_DISCLOSURE_DATA_IDLE) {
            ngx_http_disclosure_data_session_log(s, NGX_LOG_INFO,
                                                 "closed after "
                                                 "disclosure_keepalive_timeout",
                                                 NULL);
            break;
        }

        ngx_http_disclosure_data_session_log(s, NGX_LOG_ERR, "timed out",
                                             NULL);
        break;

    case NGX_HTTP_DISCLOSURE_PG_EXITING:
        break;

    case NGX_HTTP_DISCLOSURE_PG_CLOSED:
        ngx_http_disclosure_data_session_log(s, NGX_LOG_INFO,
                                             "closed by the server",
                                             PQerrorMessage(pg->pgconn));
        break;

    default:
        ngx_http_disclosure_data_session_log(s, NGX_LOG_ERR, what,
                                             PQerrorMessage(pg->pgconn));
        break;
    }

    ngx_http_disclosure_data_session_close(s);
}


/* "disclosure: download session of backend 1234: what: message" */

static void
ngx_http_disclosure_data_session_log(ngx_http_disclosure_data_session_t *s,
    ngx_uint_t level, const char *what, const char *message)
{
    u_char     buf[NGX_MAX_ERROR_STR];
    ngx_str_t  text;

    ngx_str_null(&text);

    if (message) {
        text = ngx_http_disclosure_pg_text(buf, sizeof(buf), message);
    }

    ngx_log_error(level, ngx_cycle->log, 0,
                  "disclosure: download session of backend %d: %s%s%V",
                  s->backend,
                  what, text.len ? ": " : "", &text);
}


/*
 * The download's request is gone, its query running: the session reads
 * and drops the rest while another session of the worker's cancels the
 * query, an idle one or one connected in a free slot; with neither, the
 * session is closed, so that no connection is ever opened past the slots.
 */

static void
ngx_http_disclosure_data_session_cancel(ngx_http_disclosure_data_session_t *s)
{
    ngx_uint_t                           i;
    ngx_connection_t                    *c;
    ngx_http_disclosure_data_session_t  *t, *cs, *slot;

    cs = NULL;
    slot = NULL;

    for (i = 0; i < ngx_http_disclosure_data_nsessions; i++) {
        t = &ngx_http_disclosure_data_sessions[i];

        if (t->state == NGX_HTTP_DISCLOSURE_DATA_IDLE) {
            cs = t;
            break;
        }

        if (t->state == NGX_HTTP_DISCLOSURE_DATA_FREE && slot == NULL) {
            slot = t;
        }
    }

    if (cs == NULL && slot == NULL) {
        ngx_http_disclosure_data_session_log(s, NGX_LOG_INFO,
                                             "closed, no session free to "
                                             "cancel its query", NULL);
        ngx_http_disclosure_data_session_close(s);
        return;
    }

    s->state = NGX_HTTP_DISCLOSURE_DATA_DRAINING;
    s->answered = 0;
    s->drained = 0;
    s->cancelled = 0;
    s->failed = 0;

    c = s->pg.connection;

    if (s->pg.suspended) {
        if (ngx_http_disclosure_pg_resume(&s->pg) != NGX_OK) {
            ngx_http_disclosure_data_session_close(s);
            return;
        }

    } else {
        /* libpq may hold what is left already */
        ngx_post_event(c->read, &ngx_posted_events);
    }

    if (s->pg.timer.timer_set) {
        ngx_del_timer(&s->pg.timer);
    }

    ngx_add_timer(&s->pg.timer,
                  ngx_http_disclosure_data_session_main->query_timeout);

    if (cs) {
        ngx_http_disclosure_data_session_take(cs,
                                        NGX_HTTP_DISCLOSURE_DATA_CANCELLING);
        ngx_http_disclosure_pg_post_ready(&cs->pg);

    } else {
        /* connected, it cancels, then idles in its slot */

        cs = slot;

        if (ngx_http_disclosure_data_session_connect(cs, ngx_cycle->log)
            != NGX_OK)
        {
            ngx_http_disclosure_data_session_close(s);
            return;
        }

        cs->state = NGX_HTTP_DISCLOSURE_DATA_CANCELLING;
    }

    cs->target = s;
    s->canceller = cs;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "disclosure data: cancelling backend %d (%s)",
                   s->backend, (cs == slot) ? "from a new session"
                                            : "from an idle session");
}


/* the backend's pid as a bound parameter */

static void
ngx_http_disclosure_data_session_cancel_send(
    ngx_http_disclosure_data_session_t *cs)
{
    u_char       pid[NGX_INT_T_LEN + 1];
    const char  *values[1];

    if (cs->target == NULL) {
        /* the target was closed meanwhile */
        ngx_http_disclosure_data_session_cancel_done(cs);
        return;
    }

    (void) ngx_sprintf(pid, "%d%Z", cs->target->backend);
    values[0] = (const char *) pid;

    if (!PQsendQueryParams(cs->pg.pgconn, NGX_HTTP_DISCLOSURE_PG_CANCEL_SQL,
                           1, NULL, values, NULL, NULL, 0))
    {
        ngx_http_disclosure_data_session_log(cs, NGX_LOG_ERR,
                                             "PQsendQueryParams()",
                                             PQerrorMessage(cs->pg.pgconn));
        ngx_http_disclosure_data_session_close(cs);
        return;
    }

    ngx_http_disclosure_pg_sent(&cs->pg,
                       ngx_http_disclosure_data_session_main->query_timeout);
}


/* the cancelling query answered (or there is no target any more) */

static void
ngx_http_disclosure_data_session_cancel_done(
    ngx_http_disclosure_data_session_t *cs)
{
    ngx_uint_t                           failed;
    ngx_http_disclosure_data_session_t  *s;

    s = cs->target;
    cs->target = NULL;
    failed = cs->failed;

    if (failed) {
        ngx_http_disclosure_data_session_close(cs);

    } else {
        ngx_http_disclosure_data_session_idle(cs);
    }

    if (s == NULL) {
        return;
    }

    s->canceller = NULL;

    if (failed) {
        ngx_http_disclosure_data_session_close(s);
        return;
    }

    s->answered = 1;

    if (s->drained) {
        ngx_http_disclosure_data_session_end(s);
    }
}


/* the query is over and read: the transaction ends, then the session idles */

static void
ngx_http_disclosure_data_session_end(ngx_http_disclosure_data_session_t *s)
{
    const char  *sql;

    if (PQstatus(s->pg.pgconn) != CONNECTION_OK) {
        /* lost: how the query ended is not known (its error was logged) */
        ngx_http_disclosure_data_session_close(s);
        return;
    }

    if (s->state == NGX_HTTP_DISCLOSURE_DATA_DRAINING) {
        ngx_http_disclosure_data_session_log(s, NGX_LOG_INFO,
                                             s->cancelled
                                             ? "query cancelled"
                                             : "query ended before the "
                                               "cancel, its rest dropped",
                                             NULL);
    }

    if (ngx_exiting || ngx_terminate) {
        ngx_http_disclosure_data_session_close(s);
        return;
    }

    switch (PQtransactionStatus(s->pg.pgconn)) {

    case PQTRANS_IDLE:
        ngx_http_disclosure_data_session_idle(s);
        return;

    case PQTRANS_INTRANS:
        sql = "COMMIT";
        break;

    case PQTRANS_INERROR:
        sql = "ROLLBACK";
        break;

    default:
        ngx_http_disclosure_data_session_close(s);
        return;
    }

    if (!PQsendQuery(s->pg.pgconn, sql)) {
        ngx_http_disclosure_data_session_log(s, NGX_LOG_ERR, "PQsendQuery()",
                                             PQerrorMessage(s->pg.pgconn));
        ngx_http_disclosure_data_session_close(s);
        return;
    }

    s->state = NGX_HTTP_DISCLOSURE_DATA_ENDING;
    s->failed = 0;

    if (s->pg.timer.timer_set) {
        ngx_del_timer(&s->pg.timer);
    }

    ngx_http_disclosure_pg_sent(&s->pg,
                       ngx_http_disclosure_data_session_main->query_timeout);
}


/* clean, outside a transaction: to the download waiting for it, or kept */

static void
ngx_http_disclosure_data_session_idle(ngx_http_disclosure_data_session_t *s)
{
    ngx_http_disclosure_data_t  *d;

    if (s->pg.timer.timer_set) {
        ngx_del_timer(&s->pg.timer);
    }

    s->answered = 0;
    s->drained = 0;
    s->cancelled = 0;
    s->failed = 0;

    d = s->download;

    if (d) {
        s->state = NGX_HTTP_DISCLOSURE_DATA_SERVING;
        s->pg.error_log = ngx_http_disclosure_data_log(d);
        ngx_http_disclosure_pg_post_ready(&s->pg);
        return;
    }

    if (ngx_exiting || ngx_terminate) {
        ngx_http_disclosure_data_session_close(s);
        return;
    }

    s->state = NGX_HTTP_DISCLOSURE_DATA_IDLE;
    s->pg.error_log = ngx_cycle->log;

    /* let graceful shutdown close it (ngx_close_idle_connections()) */
    s->pg.connection->idle = 1;
    s->pg.timer.cancelable = 1;

    ngx_add_timer(&s->pg.timer,
                  ngx_http_disclosure_data_session_main->keepalive_timeout);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "disclosure data: session of backend %d kept",
                   PQbackendPID(s->pg.pgconn));
}


/*
 * Closes the session and frees its slot; a session cancelling for it
 * finishes and idles, the session it was cancelling for is closed too (its
 * query would never be known to end), and a download waiting for it gets a
 * new connection.
 */

static void
ngx_http_disclosure_data_session_close(ngx_http_disclosure_data_session_t *s)
{
    ngx_http_disclosure_data_t          *d;
    ngx_http_disclosure_data_session_t  *other;

    if (s->pg.state != NGX_HTTP_DISCLOSURE_PG_NONE) {
        ngx_http_disclosure_pg_close(&s->pg);
    }

    other = s->canceller;
    s->canceller = NULL;

    if (other) {
        other->target = NULL;
    }

    other = s->target;
    s->target = NULL;

    if (other) {
        other->canceller = NULL;
        ngx_http_disclosure_data_session_close(other);
    }

    d = s->download;

    s->state = NGX_HTTP_DISCLOSURE_DATA_FREE;
    s->download = NULL;
    s->answered = 0;
    s->drained = 0;
    s->cancelled = 0;
    s->failed = 0;

    if (d == NULL) {
        return;
    }

    if (ngx_http_disclosure_data_session_connect(s,
                                          ngx_http_disclosure_data_log(d))
        == NGX_OK)
    {
        s->download = d;
        s->state = NGX_HTTP_DISCLOSURE_DATA_SERVING;
        return;
    }

    ngx_http_disclosure_data_lost(d);
}


/*
 * The download is over, or its request: the session leaves it.  A query
 * still running is cancelled; a transaction ends; a session PostgreSQL
 * failed on (broken) is closed, as every session when the worker exits.
 */

void
ngx_http_disclosure_data_session_release(
    ngx_http_disclosure_data_session_t *s, ngx_uint_t broken)
{
    ngx_connection_t  *c;

    s->download = NULL;

    if (s->state != NGX_HTTP_DISCLOSURE_DATA_SERVING) {
        /* it waited for the session, which goes on */
        return;
    }

    s->pg.error_log = ngx_cycle->log;

    c = s->pg.connection;

    if (c && c->write->posted) {
        /* the ready() of a session taken idle */
        ngx_delete_posted_event(c->write);
    }

    if (broken || ngx_exiting || ngx_terminate) {
        ngx_http_disclosure_data_session_close(s);
        return;
    }

    switch (s->pg.state) {

    case NGX_HTTP_DISCLOSURE_PG_IDLE:
        ngx_http_disclosure_data_session_end(s);
        return;

    case NGX_HTTP_DISCLOSURE_PG_BUSY:
        ngx_http_disclosure_data_session_cancel(s);
        return;

    default:
        ngx_http_disclosure_data_session_close(s);
        return;
    }
}


/* the sessions live in the worker, outside any request */

ngx_int_t
ngx_http_disclosure_data_session_init_process(ngx_cycle_t *cycle,
    ngx_http_disclosure_main_conf_t *dmcf, ngx_uint_t n)
{
    ngx_http_disclosure_data_session_main = dmcf;

    if (n == 0) {
        return NGX_OK;
    }

    ngx_http_disclosure_data_sessions =
        ngx_calloc(n * sizeof(ngx_http_disclosure_data_session_t), cycle->log);

    if (ngx_http_disclosure_data_sessions == NULL) {
        return NGX_ERROR;
    }

    ngx_http_disclosure_data_nsessions = n;

    return NGX_OK;
}


void
ngx_http_disclosure_data_session_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                           i;
    ngx_http_disclosure_data_session_t  *s;

    for (i = 0; i < ngx_http_disclosure_data_nsessions; i++) {
        s = &ngx_http_disclosure_data_sessions[i];

        if (s->pg.state != NGX_HTTP_DISCLOSURE_PG_NONE) {
            ngx_http_disclosure_pg_close(&s->pg);
        }
    }

    ngx_free(ngx_http_disclosure_data_sessions);

    ngx_http_disclosure_data_sessions = NULL;
    ngx_http_disclosure_data_nsessions = 0;
}
