
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * One non-blocking libpq connection, driven by nginx events on its socket
 * and by a timer: connecting (PQconnectPoll(), which may change sockets),
 * flushing what was sent, reading results until PQgetResult() returns
 * NULL, watching an idle connection.  What to send and what a result
 * means is the user's (_db.c, _listener.c), through the callbacks of
 * _pg.h; one state switch in the event handler, as in ngx_postgres.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <libpq-fe.h>

#include "ngx_http_disclosure_pg.h"


/* "listener" names itself in messages, the pool does not */
#define ngx_http_disclosure_pg_who(pg)                                        \
    (pg)->name, (*(pg)->name ? " " : "")


static ngx_int_t ngx_http_disclosure_pg_socket(ngx_http_disclosure_pg_t *pg,
    ngx_uint_t idle);
static void ngx_http_disclosure_pg_free_socket(ngx_http_disclosure_pg_t *pg);
static void ngx_http_disclosure_pg_handler(ngx_event_t *ev);
static void ngx_http_disclosure_pg_connect_poll(ngx_http_disclosure_pg_t *pg);
static void ngx_http_disclosure_pg_connected(ngx_http_disclosure_pg_t *pg);
static void ngx_http_disclosure_pg_failed(ngx_http_disclosure_pg_t *pg,
    const char *why);
static void ngx_http_disclosure_pg_process(ngx_http_disclosure_pg_t *pg,
    ngx_uint_t consume);
static ngx_int_t ngx_http_disclosure_pg_flush(ngx_http_disclosure_pg_t *pg);
static ngx_int_t ngx_http_disclosure_pg_copy(ngx_http_disclosure_pg_t *pg);
static ngx_int_t ngx_http_disclosure_pg_again(ngx_http_disclosure_pg_t *pg,
    ngx_int_t rc);
static void ngx_http_disclosure_pg_idle_read(ngx_http_disclosure_pg_t *pg);
static void ngx_http_disclosure_pg_timeout(ngx_event_t *ev);
static void ngx_http_disclosure_pg_notifies(ngx_http_disclosure_pg_t *pg);
static void ngx_http_disclosure_pg_notice(void *arg, const char *message);
static ngx_uint_t ngx_http_disclosure_pg_ssl_pending(PGconn *pgconn);


void
ngx_http_disclosure_pg_init(ngx_http_disclosure_pg_t *pg,
    const ngx_http_disclosure_pg_handlers_t *handlers, void *data,
    ngx_log_t *log, ngx_str_t *conninfo, const char *name)
{
    ngx_memzero(pg, sizeof(ngx_http_disclosure_pg_t));

    pg->handlers = handlers;
    pg->data = data;
    pg->log = log;
    pg->error_log = log;
    pg->conninfo = conninfo;
    pg->name = name;

    pg->timer.handler = ngx_http_disclosure_pg_timeout;
    pg->timer.data = pg;
    pg->timer.log = log;
}


ngx_int_t
ngx_http_disclosure_pg_connect(ngx_http_disclosure_pg_t *pg,
    const char **keywords, const char **values, ngx_msec_t timeout)
{
    u_char     buf[NGX_MAX_ERROR_STR];
    PGconn    *pgconn;
    ngx_str_t  text;

    pgconn = PQconnectStartParams(keywords, values, 0);

    if (pgconn == NULL) {
        ngx_log_error(NGX_LOG_ALERT, pg->error_log, 0,
                      "disclosure: PQconnectStartParams() failed");
        return NGX_ERROR;
    }

    if (PQstatus(pgconn) == CONNECTION_BAD) {
        text = ngx_http_disclosure_pg_text(buf, sizeof(buf),
                                           PQerrorMessage(pgconn));
        ngx_log_error(NGX_LOG_ERR, pg->error_log, 0,
                      "disclosure: %s%scould not connect to \"%V\": %V",
                      ngx_http_disclosure_pg_who(pg), pg->conninfo, &text);
        PQfinish(pgconn);
        return NGX_ERROR;
    }

    pg->pgconn = pgconn;
    pg->state = NGX_HTTP_DISCLOSURE_PG_CONNECTING;
    pg->flushing = 0;
    pg->suspended = 0;
    pg->copying = 0;

    (void) PQsetNoticeProcessor(pgconn, ngx_http_disclosure_pg_notice, pg);

    /* libpq: before the first PQconnectPoll(), wait for write-ready */

    if (ngx_http_disclosure_pg_socket(pg, 0) != NGX_OK
        || ngx_add_event(pg->connection->write, NGX_WRITE_EVENT,
                         NGX_LEVEL_EVENT)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, pg->error_log, 0,
                      "disclosure: %s%scould not watch the connection to "
                      "\"%V\"", ngx_http_disclosure_pg_who(pg),
                      pg->conninfo);
        ngx_http_disclosure_pg_close(pg);
        return NGX_ERROR;
    }

    ngx_add_timer(&pg->timer, timeout);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, pg->log, 0,
                   "disclosure pg: *%uA %sconnecting",
                   pg->connection->number, pg->name);

    return NGX_OK;
}


/* idle: whether graceful shutdown may close it (a swap keeps it) */

static ngx_int_t
ngx_http_disclosure_pg_socket(ngx_http_disclosure_pg_t *pg, ngx_uint_t idle)
{
    ngx_socket_t       s;
    ngx_connection_t  *c;

    s = PQsocket(pg->pgconn);

    if (s == (ngx_socket_t) -1) {
        ngx_log_error(NGX_LOG_ALERT, pg->log, 0,
                      "disclosure: PQsocket() returned no socket");
        return NGX_ERROR;
    }

    c = ngx_get_connection(s, pg->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = pg;
    c->read->handler = ngx_http_disclosure_pg_handler;
    c->write->handler = ngx_http_disclosure_pg_handler;
    c->read->log = c->log;
    c->write->log = c->log;
    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);
    c->idle = idle;

    pg->connection = c;

    return NGX_OK;
}


/*
 * Unregisters and frees the nginx connection around the socket without
 * closing it: libpq owns it (PQfinish() or PQconnectPoll() closes it).
 */

static void
ngx_http_disclosure_pg_free_socket(ngx_http_disclosure_pg_t *pg)
{
    ngx_connection_t  *c;

    c = pg->connection;

    if (c == NULL) {
        return;
    }

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

    pg->connection = NULL;
}


static void
ngx_http_disclosure_pg_handler(ngx_event_t *ev)
{
    ngx_connection_t          *c;
    ngx_http_disclosure_pg_t  *pg;

    c = ev->data;
    pg = c->data;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                   "disclosure pg: *%uA %s event, state %d",
                   c->number, ev->write ? "write" : "read", pg->state);

    if (c->close) {
        /* the worker is shutting down */
        pg->handlers->error(pg, NGX_HTTP_DISCLOSURE_PG_EXITING, NULL);
        return;
    }

    switch (pg->state) {

    case NGX_HTTP_DISCLOSURE_PG_CONNECTING:
        ngx_http_disclosure_pg_connect_poll(pg);
        return;

    case NGX_HTTP_DISCLOSURE_PG_BUSY:
        if (ev->write || !pg->suspended) {
            ngx_http_disclosure_pg_process(pg, !ev->write);
        }

        return;

    case NGX_HTTP_DISCLOSURE_PG_IDLE:
        if (ev->write) {
            /* posted by pg_post_ready() */
            pg->handlers->ready(pg);

        } else {
            ngx_http_disclosure_pg_idle_read(pg);
        }

        return;

    default: /* NGX_HTTP_DISCLOSURE_PG_NONE */
        return;
    }
}


static void
ngx_http_disclosure_pg_connect_poll(ngx_http_disclosure_pg_t *pg)
{
    u_char                     buf[NGX_MAX_ERROR_STR];
    ngx_str_t                  text;
    ngx_uint_t                 idle;
    ngx_connection_t          *c;
    PostgresPollingStatusType  polling;

    c = pg->connection;

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
        polling = PQconnectPoll(pg->pgconn);

        /* bytes decrypted by OpenSSL are not seen on the socket */

    } while (polling == PGRES_POLLING_READING
             && ngx_http_disclosure_pg_ssl_pending(pg->pgconn));

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "disclosure pg: *%uA PQconnectPoll(): %d",
                   c->number, polling);

    if (polling != PGRES_POLLING_FAILED
        && PQsocket(pg->pgconn) != c->fd)
    {
        idle = c->idle;

        ngx_http_disclosure_pg_free_socket(pg);

        if (ngx_http_disclosure_pg_socket(pg, idle) != NGX_OK) {
            goto failed;
        }

        c = pg->connection;
    }

    switch (polling) {

    case PGRES_POLLING_OK:
        ngx_http_disclosure_pg_connected(pg);
        return;

    case PGRES_POLLING_READING:
        if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            goto failed;
        }

        return;

    case PGRES_POLLING_WRITING:
        if (ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            goto failed;
        }

        return;

    default: /* PGRES_POLLING_FAILED */
        text = ngx_http_disclosure_pg_text(buf, sizeof(buf),
                                           PQerrorMessage(pg->pgconn));
        ngx_log_error(NGX_LOG_ERR, pg->error_log, 0,
                      "disclosure: %s%scould not connect to \"%V\": %V",
                      ngx_http_disclosure_pg_who(pg), pg->conninfo, &text);
        pg->handlers->error(pg, NGX_HTTP_DISCLOSURE_PG_FAILED, NULL);
        return;
    }

failed:

    ngx_http_disclosure_pg_failed(pg, "watch");
}


static void
ngx_http_disclosure_pg_connected(ngx_http_disclosure_pg_t *pg)
{
    ngx_connection_t  *c;

    c = pg->connection;

    if (pg->timer.timer_set) {
        ngx_del_timer(&pg->timer);
    }

    if (PQsetnonblocking(pg->pgconn, 1) != 0
        || ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK)
    {
        ngx_http_disclosure_pg_failed(pg, "set up");
        return;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "disclosure pg: *%uA %sconnected, backend pid %d",
                   c->number, pg->name, PQbackendPID(pg->pgconn));

    pg->state = NGX_HTTP_DISCLOSURE_PG_IDLE;

    pg->handlers->ready(pg);
}


static void
ngx_http_disclosure_pg_failed(ngx_http_disclosure_pg_t *pg, const char *why)
{
    ngx_log_error(NGX_LOG_ERR, pg->error_log, 0,
                  "disclosure: %s%scould not %s the connection to \"%V\"",
                  ngx_http_disclosure_pg_who(pg), why, pg->conninfo);

    pg->handlers->error(pg, NGX_HTTP_DISCLOSURE_PG_FAILED, NULL);
}


void
ngx_http_disclosure_pg_post_ready(ngx_http_disclosure_pg_t *pg)
{
    ngx_post_event(pg->connection->write, &ngx_posted_events);
}


void
ngx_http_disclosure_pg_sent(ngx_http_disclosure_pg_t *pg, ngx_msec_t timeout)
{
    pg->state = NGX_HTTP_DISCLOSURE_PG_BUSY;
    pg->flushing = 1;
    pg->copying = 0;

    if (timeout) {
        ngx_add_timer(&pg->timer, timeout);
    }

    ngx_http_disclosure_pg_process(pg, 0);
}


/*
 * Consumes input on read events, flushes pending output, then takes
 * results until PQgetResult() returns NULL: only then is the connection
 * free for another query.  PQflush() may also read, so the results are
 * looked at after any event.
 */

static void
ngx_http_disclosure_pg_process(ngx_http_disclosure_pg_t *pg,
    ngx_uint_t consume)
{
    ngx_int_t  rc;
    PGresult  *res;

    if (consume && !PQconsumeInput(pg->pgconn)) {

        if (PQsocket(pg->pgconn) != -1) {
            pg->handlers->error(pg, NGX_HTTP_DISCLOSURE_PG_LOST,
                                "PQconsumeInput()");
            return;
        }

        /*
         * libpq closed the socket (and its events went with it): what was
         * read is still parsed, the failure shows as an error result with
         * PQstatus() CONNECTION_BAD, and nothing more is sent
         */

        pg->flushing = 0;
    }

    if (pg->flushing && ngx_http_disclosure_pg_flush(pg) != NGX_OK) {
        return;
    }

    ngx_http_disclosure_pg_notifies(pg);

    while (!pg->suspended) {

        if (pg->copying) {
            rc = ngx_http_disclosure_pg_copy(pg);

            if (rc != NGX_OK) {
                return;
            }

            /* the end of the copy: its command's result follows */
        }

        if (PQisBusy(pg->pgconn)) {

            if (ngx_http_disclosure_pg_ssl_pending(pg->pgconn)) {

                if (!PQconsumeInput(pg->pgconn)
                    && PQsocket(pg->pgconn) != -1)
                {
                    pg->handlers->error(pg, NGX_HTTP_DISCLOSURE_PG_LOST,
                                        "PQconsumeInput()");
                    return;
                }

                ngx_http_disclosure_pg_notifies(pg);
                continue;
            }

            /* wait: the level-triggered read event reports unread data */
            return;
        }

        res = PQgetResult(pg->pgconn);

        if (res == NULL) {
            /* notifications that came with the answer, parsed already */
            ngx_http_disclosure_pg_notifies(pg);

            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, pg->log, 0,
                           "disclosure pg: *%uA done",
                           pg->connection ? pg->connection->number : 0);

            pg->state = NGX_HTTP_DISCLOSURE_PG_IDLE;
            pg->handlers->done(pg);
            return;
        }

        if (PQresultStatus(res) == PGRES_COPY_OUT && pg->handlers->copy) {
            pg->copying = 1;
        }

        rc = pg->handlers->result(pg, res);

        if (ngx_http_disclosure_pg_again(pg, rc) != NGX_OK) {
            return;
        }
    }
}


static ngx_int_t
ngx_http_disclosure_pg_flush(ngx_http_disclosure_pg_t *pg)
{
    int                rc;
    ngx_connection_t  *c;

    c = pg->connection;

    rc = PQflush(pg->pgconn);

    if (rc == -1) {
        pg->handlers->error(pg, NGX_HTTP_DISCLOSURE_PG_LOST, "PQflush()");
        return NGX_ERROR;
    }

    if (rc == 1) {
        /* the rest when the socket is writable */

        if (!c->write->active
            && ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
               != NGX_OK)
        {
            goto failed;
        }

        return NGX_OK;
    }

    pg->flushing = 0;

    if (c->write->active
        && ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
           != NGX_OK)
    {
        goto failed;
    }

    return NGX_OK;

failed:

    pg->handlers->error(pg, NGX_HTTP_DISCLOSURE_PG_LOST,
                        "watching the socket");
    return NGX_ERROR;
}


/* COPY TO STDOUT: NGX_OK at its end, else stop where we are */

static ngx_int_t
ngx_http_disclosure_pg_copy(ngx_http_disclosure_pg_t *pg)
{
    int        n;
    char      *data;
    ngx_int_t  rc;

    for ( ;; ) {
        n = PQgetCopyData(pg->pgconn, &data, 1);

        if (n > 0) {
            rc = pg->handlers->copy(pg, data, n);
            PQfreemem(data);

            rc = ngx_http_disclosure_pg_again(pg, rc);

            if (rc != NGX_OK || pg->suspended) {
                return NGX_AGAIN;
            }

            continue;
        }

        if (n == 0) {
            /* no whole row buffered */

            if (ngx_http_disclosure_pg_ssl_pending(pg->pgconn)
                && PQconsumeInput(pg->pgconn))
            {
                continue;
            }

            return NGX_AGAIN;
        }

        if (n == -1) {
            pg->copying = 0;
            return NGX_OK;
        }

        pg->handlers->error(pg, NGX_HTTP_DISCLOSURE_PG_LOST,
                            "PQgetCopyData()");
        return NGX_ERROR;
    }
}


/* what result() or copy() returned: NGX_OK to go on */

static ngx_int_t
ngx_http_disclosure_pg_again(ngx_http_disclosure_pg_t *pg, ngx_int_t rc)
{
    if (rc == NGX_AGAIN) {
        if (ngx_http_disclosure_pg_suspend(pg) != NGX_OK) {
            pg->handlers->error(pg, NGX_HTTP_DISCLOSURE_PG_LOST,
                                "watching the socket");
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    return rc;
}


ngx_int_t
ngx_http_disclosure_pg_suspend(ngx_http_disclosure_pg_t *pg)
{
    ngx_connection_t  *c;

    c = pg->connection;
    pg->suspended = 1;

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->read->active
        && ngx_del_event(c->read, NGX_READ_EVENT, 0) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, pg->log, 0,
                   "disclosure pg: *%uA suspended", c->number);

    return NGX_OK;
}


ngx_int_t
ngx_http_disclosure_pg_resume(ngx_http_disclosure_pg_t *pg)
{
    ngx_connection_t  *c;

    if (!pg->suspended) {
        return NGX_OK;
    }

    c = pg->connection;
    pg->suspended = 0;

    if (!c->read->active
        && ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* libpq may hold whole rows already: the socket would not say so */
    ngx_post_event(c->read, &ngx_posted_events);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, pg->log, 0,
                   "disclosure pg: *%uA resumed", c->number);

    return NGX_OK;
}


/* an idle connection reads: the server closing it, or a notification */

static void
ngx_http_disclosure_pg_idle_read(ngx_http_disclosure_pg_t *pg)
{
    if (!PQconsumeInput(pg->pgconn)
        || PQstatus(pg->pgconn) != CONNECTION_OK)
    {
        pg->handlers->error(pg, NGX_HTTP_DISCLOSURE_PG_CLOSED,
                            "PQconsumeInput()");
        return;
    }

    /* parameter changes are applied and messages logged by libpq */

    ngx_http_disclosure_pg_notifies(pg);
}


static void
ngx_http_disclosure_pg_timeout(ngx_event_t *ev)
{
    ngx_http_disclosure_pg_t  *pg = ev->data;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                   "disclosure pg: %stimer, state %d", pg->name, pg->state);

    pg->handlers->error(pg, NGX_HTTP_DISCLOSURE_PG_TIMEDOUT, NULL);
}


void
ngx_http_disclosure_pg_close(ngx_http_disclosure_pg_t *pg)
{
    if (pg->timer.timer_set) {
        ngx_del_timer(&pg->timer);
    }

    if (pg->connection) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, pg->log, 0,
                       "disclosure pg: *%uA %sclose",
                       pg->connection->number, pg->name);

        ngx_http_disclosure_pg_free_socket(pg);
    }

    if (pg->pgconn) {
        /* non-blocking: at most one attempt to send Terminate */
        PQfinish(pg->pgconn);
        pg->pgconn = NULL;
    }

    pg->state = NGX_HTTP_DISCLOSURE_PG_NONE;
    pg->flushing = 0;
    pg->suspended = 0;
    pg->copying = 0;
}


static void
ngx_http_disclosure_pg_notifies(ngx_http_disclosure_pg_t *pg)
{
    PGnotify  *n;

    while ((n = PQnotifies(pg->pgconn)) != NULL) {

        if (pg->handlers->notify) {
            pg->handlers->notify(pg, n);
        }

        PQfreemem(n);
    }
}


static void
ngx_http_disclosure_pg_notice(void *arg, const char *message)
{
    ngx_http_disclosure_pg_t  *pg = arg;

    u_char     buf[NGX_MAX_ERROR_STR];
    ngx_str_t  text;

    text = ngx_http_disclosure_pg_text(buf, sizeof(buf), message);

    ngx_log_error(NGX_LOG_NOTICE, pg->error_log, 0,
                  "disclosure: %s%sPostgreSQL said: %V",
                  pg->name, (*pg->name ? ": " : ""), &text);
}


static ngx_uint_t
ngx_http_disclosure_pg_ssl_pending(PGconn *pgconn)
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


/* libpq messages span lines; the error log wants one */

ngx_str_t
ngx_http_disclosure_pg_text(u_char *buf, size_t size, const char *message)
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
