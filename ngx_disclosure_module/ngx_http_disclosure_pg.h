
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_PG_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_PG_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <libpq-fe.h>


/*
 * One non-blocking libpq connection driven by nginx events and a timer:
 * what the pool (_db.c), the listener (_listener.c) and anything else
 * that talks to PostgreSQL share, as every upstream shares
 * ngx_event_connect_peer().  The user embeds the structure in its own,
 * fills it with ngx_http_disclosure_pg_init(), and is called back:
 *
 *   ready(pg)        connected, nothing in flight (after connecting, and
 *                    from the event posted by pg_post_ready()): send now;
 *   result(pg, res)  one result of the query sent; the callback owns res
 *                    (PQclear() it).  Returns NGX_OK: go on; NGX_AGAIN:
 *                    taken, but give no more until pg_resume() (the read
 *                    event is removed meanwhile: backpressure); anything
 *                    else (NGX_ERROR): stop here, the callback has closed
 *                    or given up the connection;
 *   copy(pg, d, n)   with COPY TO STDOUT: the PGRES_COPY_OUT result goes
 *                    to result() first, then each row here (n bytes,
 *                    freed after the call; returns like result()), then
 *                    the command's own result to result().  Without a
 *                    copy callback a COPY result goes to result() as any
 *                    other, which must give up the connection
 *                    (PQgetResult() would never end);
 *   done(pg)         PQgetResult() returned NULL: the connection is idle
 *                    again (pg->state IDLE) and may be reused or closed;
 *                    it may also have broken meanwhile (libpq closed the
 *                    socket: what was read is still parsed, and the error
 *                    comes as a result): look at PQstatus() and
 *                    PQtransactionStatus() before reusing it;
 *   notify(pg, n)    a notification, freed after the call (NULL: they are
 *                    dropped).  It must not close the connection;
 *   error(pg, reason, what)
 *                    see the reasons below; pg->state says in which state
 *                    it happened.  The connection is still open: the
 *                    callback closes it (pg_close()) or, for TIMEDOUT of an
 *                    idle one, may keep it.
 *
 * ready, done and error are required; the others may be NULL.  Every
 * callback runs from an event handler, or from pg_sent() before it
 * returns.  Nothing here touches pg after a callback returns, but for
 * result() and copy() returning NGX_OK or NGX_AGAIN and for notify():
 * any other callback may close pg or start another query on it.
 *
 * The socket belongs to libpq (PQfinish() closes it, and PQconnectPoll()
 * may replace it): the nginx connection around it is registered
 * level-triggered, because libpq reads a bounded amount per call and an
 * edge would be lost, and is freed without closing the descriptor.
 *
 * Single-row mode: call PQsetSingleRowMode() right after the PQsend...()
 * and before pg_sent(); each PGRES_SINGLE_TUPLE comes to result(), which
 * may return NGX_AGAIN while its consumer is full.
 *
 * Cancelling: PQcancel() blocks (it connects to the server), so it is
 * never used here.  A query is cancelled either by closing the connection
 * (pg_close(): the backend ends the query when it next writes, which a
 * streaming query does at once), or, to keep the connection, by running
 * NGX_HTTP_DISCLOSURE_PG_CANCEL_SQL with PQbackendPID(pg->pgconn) as $1 on
 * another connection of the same role (PostgreSQL lets a role cancel its
 * own backends); the cancelled query then ends with an error result
 * (SQLSTATE 57014) and done(), and the connection is clean.  A suspended
 * connection must be resumed for that end to be read.  The signal hits
 * whatever the backend runs when it arrives: send the connection's next
 * query only after the cancelling one has answered.
 */


#define NGX_HTTP_DISCLOSURE_PG_CANCEL_SQL                                      \
    "SELECT pg_catalog.pg_cancel_backend($1::pg_catalog.int4)"


typedef enum {
    NGX_HTTP_DISCLOSURE_PG_NONE = 0,     /* no PGconn */
    NGX_HTTP_DISCLOSURE_PG_CONNECTING,   /* PQconnectPoll() until OK */
    NGX_HTTP_DISCLOSURE_PG_IDLE,         /* connected, nothing in flight;
                                            a read event is the server
                                            closing it or a notification */
    NGX_HTTP_DISCLOSURE_PG_BUSY          /* sent: flushing, then results
                                            until PQgetResult() is NULL */
} ngx_http_disclosure_pg_state_e;


/* why error() is called */
typedef enum {
    /* connecting failed, or the socket could not be watched: pg has
     * logged why (what is NULL) */
    NGX_HTTP_DISCLOSURE_PG_FAILED = 1,

    /* libpq could not send or receive: what names the call, the reason
     * is PQerrorMessage(pg->pgconn); nothing logged yet */
    NGX_HTTP_DISCLOSURE_PG_LOST,

    /* the server closed an idle connection (or it broke): state IDLE,
     * what as for LOST; nothing logged yet */
    NGX_HTTP_DISCLOSURE_PG_CLOSED,

    /* the timer (pg->timer) expired: connect timeout in state
     * CONNECTING, the query's in BUSY, or what the user set it for in
     * IDLE (a keepalive timeout); what is NULL, nothing logged */
    NGX_HTTP_DISCLOSURE_PG_TIMEDOUT,

    /* the worker is shutting down (c->close, graceful shutdown of an
     * idle connection, or exit); what is NULL, nothing logged */
    NGX_HTTP_DISCLOSURE_PG_EXITING
} ngx_http_disclosure_pg_reason_e;


typedef struct ngx_http_disclosure_pg_s  ngx_http_disclosure_pg_t;

typedef struct {
    void       (*ready)(ngx_http_disclosure_pg_t *pg);
    ngx_int_t  (*result)(ngx_http_disclosure_pg_t *pg, PGresult *res);
    ngx_int_t  (*copy)(ngx_http_disclosure_pg_t *pg, char *data, int len);
    void       (*done)(ngx_http_disclosure_pg_t *pg);
    void       (*notify)(ngx_http_disclosure_pg_t *pg, PGnotify *n);
    void       (*error)(ngx_http_disclosure_pg_t *pg, ngx_uint_t reason,
                        const char *what);
} ngx_http_disclosure_pg_handlers_t;


struct ngx_http_disclosure_pg_s {
    PGconn                                   *pgconn;
    ngx_connection_t                         *connection;  /* around
                                                              PQsocket() */

    /*
     * Armed by pg_connect() (connect timeout) and pg_sent() (when given a
     * timeout), never deleted by done(): a prepare and the execute that
     * follows may run under one timeout.  The user deletes or re-arms it
     * (a keepalive timeout while IDLE) and sets its cancelable flag.
     */
    ngx_event_t                               timer;

    const ngx_http_disclosure_pg_handlers_t  *handlers;
    void                                     *data;        /* the user's */

    ngx_log_t                                *log;         /* the
                                                              connection's */
    ngx_log_t                                *error_log;   /* pg's own
                                                              messages: a
                                                              request's, or
                                                              log */
    ngx_str_t                                *conninfo;    /* masked, for
                                                              messages */
    const char                               *name;        /* "" or e.g.
                                                              "listener":
                                                              who, in
                                                              messages */

    ngx_http_disclosure_pg_state_e            state;

    unsigned                                  flushing:1;
    unsigned                                  suspended:1; /* no reading */
    unsigned                                  copying:1;   /* COPY OUT */
};


/* before the first pg_connect(), and again to reuse the structure */
void ngx_http_disclosure_pg_init(ngx_http_disclosure_pg_t *pg,
    const ngx_http_disclosure_pg_handlers_t *handlers, void *data,
    ngx_log_t *log, ngx_str_t *conninfo, const char *name);

/*
 * PQconnectStartParams() with the arrays of _conninfo.c; NGX_OK: state
 * CONNECTING, ready() or error() follows from an event; NGX_ERROR: logged
 * to pg->error_log, nothing is left open, no callback follows.
 */
ngx_int_t ngx_http_disclosure_pg_connect(ngx_http_disclosure_pg_t *pg,
    const char **keywords, const char **values, ngx_msec_t timeout);

/* an IDLE connection: ready() is called from a posted event */
void ngx_http_disclosure_pg_post_ready(ngx_http_disclosure_pg_t *pg);

/*
 * The caller has just called one of PQsendQuery(), PQsendQueryParams(),
 * PQsendPrepare(), PQsendQueryPrepared() (which returned 1): state BUSY,
 * output is flushed (a write event while PQflush() says 1), results are
 * read.  timeout 0 leaves the timer as it is.  It may call back before it
 * returns: call it last.
 */
void ngx_http_disclosure_pg_sent(ngx_http_disclosure_pg_t *pg,
    ngx_msec_t timeout);

/*
 * Backpressure: stop reading from the socket (the read event is removed,
 * no result() or copy() is called) until pg_resume(), which reads what
 * libpq holds already from a posted event.  result() and copy() returning
 * NGX_AGAIN suspend too.  NGX_ERROR: the event could not be changed
 * (close the connection).
 */
ngx_int_t ngx_http_disclosure_pg_suspend(ngx_http_disclosure_pg_t *pg);
ngx_int_t ngx_http_disclosure_pg_resume(ngx_http_disclosure_pg_t *pg);

/* PQfinish() (at most one non-blocking attempt to send Terminate), the
 * timer deleted, the nginx connection freed; state NONE */
void ngx_http_disclosure_pg_close(ngx_http_disclosure_pg_t *pg);

/* a libpq message (several lines, trailing newline) on one line of buf */
ngx_str_t ngx_http_disclosure_pg_text(u_char *buf, size_t size,
    const char *message);


#endif /* _NGX_HTTP_DISCLOSURE_PG_H_INCLUDED_ */
