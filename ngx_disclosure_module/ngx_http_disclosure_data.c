
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * The bulk files, streamed from PostgreSQL (issue 14).
 *
 * A download runs on a session of this worker's (_data_session.c: at most
 * "disclosure_data_connections" of them, past which the answer is 503 with
 * Retry-After): a connection of its own, kept between downloads.  While
 * the session serves a download its callbacks come here.
 *
 * One transaction, REPEATABLE READ READ ONLY, is one snapshot: first
 * disclosure_web.data_file() (does the file exist, the data version for
 * ETag and Last-Modified, the CSV header, the size for Content-Length),
 * then, unless the answer is a 404, a 304 or a HEAD, one SELECT in
 * single-row mode whose rows are the file's lines, made at publication and
 * read in file order as they are sent.  Rows are copied into a few reused
 * buffers and passed to the output filters (gzip where configured, which
 * drops the length: then chunked).  While the client has not taken what was sent,
 * the connection is suspended (its socket not read): the backend blocks on
 * its send and the worker's memory stays a few buffers per download.  A
 * silence of PostgreSQL longer than disclosure_query_timeout, the client's
 * reading aside, fails the download.  While the server answers other
 * requests as well, the worker's downloads together keep to
 * disclosure_data_rate: after a buffer that goes beyond it, the
 * connection is suspended the same way until a timer ends the wait.  A
 * start counts as a buffer: so many small downloads (or 304s) wait, before
 * they take a session, as one large one does.
 *
 * A client that goes away terminates the request; the cleanup gives the
 * session up, which cancels its query (_data_session.c).  PostgreSQL
 * failing after the headers were sent terminates the request: the client
 * sees the connection close before Content-Length (or the final chunk),
 * never a short file that looks complete; the broken session is closed,
 * never reused.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <libpq-fe.h>

#include "ngx_http_disclosure_module.h"
#include "ngx_http_disclosure_db.h"
#include "ngx_http_disclosure_pg.h"
#include "ngx_http_disclosure_handler.h"
#include "ngx_http_disclosure_data.h"
#include "ngx_http_disclosure_data_session.h"
#include "ngx_http_disclosure_catalog.h"


#define NGX_HTTP_DISCLOSURE_DATA_BUF        (64 * 1024)
#define NGX_HTTP_DISCLOSURE_DATA_RETRY      "10"

/* busy: other requests at disclosure_data_rate's busy= rate, counted over
 * at least the window, and busy for a window after; a look older than stale
 * cannot date what it saw; the pace's burst */
#define NGX_HTTP_DISCLOSURE_DATA_WINDOW     100
#define NGX_HTTP_DISCLOSURE_DATA_STALE      1000
#define NGX_HTTP_DISCLOSURE_DATA_BUSY       1000
#define NGX_HTTP_DISCLOSURE_DATA_BURST(rate)                                  \
    ngx_max((off_t) (rate) / 10, 2 * NGX_HTTP_DISCLOSURE_DATA_BUF)

#define NGX_HTTP_DISCLOSURE_DATA_BEGIN_SQL                                    \
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"                        \
    "SET LOCAL statement_timeout = 0;"                                        \
    "SET LOCAL client_connection_check_interval = 1000"

#define NGX_HTTP_DISCLOSURE_DATA_FILE_SQL                                     \
    "SELECT format, version, changed_at, header, bytes"                       \
    " FROM disclosure_web.data_file($1, $2::int, $3::int)"

/* the file's stored lines (disclosure.data_line), in its order */
static const char  *ngx_http_disclosure_data_sql[] = {
    "SELECT disclosure_web.data_wide_lines($1::int, $2::int)",
    "SELECT disclosure_web.data_json_lines($1::int)",
    "SELECT disclosure_web.data_all_lines()"
};


typedef enum {
    NGX_HTTP_DISCLOSURE_DATA_CSV = 0,
    NGX_HTTP_DISCLOSURE_DATA_JSONL,
    NGX_HTTP_DISCLOSURE_DATA_ALL
} ngx_http_disclosure_data_kind_e;


typedef enum {
    NGX_HTTP_DISCLOSURE_DATA_BEGIN = 0,
    NGX_HTTP_DISCLOSURE_DATA_HEAD,
    NGX_HTTP_DISCLOSURE_DATA_STREAM
} ngx_http_disclosure_data_step_e;


typedef struct {
    ngx_uint_t                        connections;
    size_t                            rate;
    ngx_uint_t                        busy;         /* other requests a second */
} ngx_http_disclosure_data_conf_t;


/*
 * The pace of this worker's downloads: while the server answers many other
 * requests too, all of them together send at most disclosure_data_rate
 * bytes a second (a token bucket), so that flat-out downloads do not take
 * the CPU from the pages; alone, or beside a few pages, they go as fast
 * as the client reads.
 */
typedef struct {
    ngx_msec_t                        sampled;      /* the counter read at */
    ngx_atomic_uint_t                 requests;     /* its value then */
    ngx_uint_t                        started;      /* downloads since */
    ngx_msec_t                        since;        /* the count began at */
    ngx_uint_t                        others;       /* other requests since */
    ngx_msec_t                        other;        /* found busy at */
    ngx_msec_t                        last;         /* tokens counted at */
    off_t                             tokens;       /* bytes; may be < 0 */
    unsigned                          looked:1;
    unsigned                          seen:1;
} ngx_http_disclosure_data_pace_t;


struct ngx_http_disclosure_data_s {
    ngx_http_disclosure_data_session_t  *session;
    ngx_http_request_t               *request;
    ngx_msec_t                        timeout;      /* of a silence */

    ngx_http_disclosure_data_kind_e   kind;
    ngx_http_disclosure_data_step_e   step;
    ngx_str_t                         name;         /* "2024.csv" */
    u_char                            year[5];
    u_char                            format[5];    /* "" or the other one */
    PGresult                         *head;         /* data_file()'s row */

    ngx_buf_t                        *buf;          /* being filled */
    ngx_chain_t                      *free;
    ngx_chain_t                      *busy;

    ngx_event_t                       pace;         /* the delay's timer */

    off_t                             sent;         /* bytes of rows */
    off_t                             length;       /* data_file()'s; or -1 */
    ngx_uint_t                        rows;
    ngx_uint_t                        waits;        /* delays of the pace */

    unsigned                          header_sent:1;
    unsigned                          counted:1;
    unsigned                          paced:1;
    unsigned                          reused:1;     /* an idle session:
                                                       retried once */
    unsigned                          broken:1;     /* PostgreSQL failed:
                                                       close the session */
};


static ngx_int_t ngx_http_disclosure_data_route(ngx_str_t *path,
    ngx_http_disclosure_data_t *d);
static ngx_int_t ngx_http_disclosure_data_open(ngx_http_request_t *r,
    ngx_http_disclosure_data_t *d);
static void ngx_http_disclosure_data_wait_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_disclosure_data_start(ngx_http_request_t *r,
    ngx_http_disclosure_data_t *d);
static ngx_int_t ngx_http_disclosure_data_retry(ngx_http_disclosure_data_t *d);
static void ngx_http_disclosure_data_send(ngx_http_disclosure_data_t *d,
    ngx_http_disclosure_data_step_e step);
static ngx_int_t ngx_http_disclosure_data_headers(
    ngx_http_disclosure_data_t *d);
static ngx_int_t ngx_http_disclosure_data_append(
    ngx_http_disclosure_data_t *d, u_char *data, size_t len);
static ngx_int_t ngx_http_disclosure_data_output(
    ngx_http_disclosure_data_t *d, ngx_uint_t last);
static void ngx_http_disclosure_data_writer(ngx_http_request_t *r);
static ngx_msec_t ngx_http_disclosure_data_delay(ngx_http_request_t *r,
    off_t size);
static ngx_uint_t ngx_http_disclosure_data_busy(
    ngx_http_disclosure_data_pace_t *pace, ngx_msec_t now, ngx_uint_t busy);
static void ngx_http_disclosure_data_pace_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_disclosure_data_watch(
    ngx_http_disclosure_data_t *d);
static void ngx_http_disclosure_data_finish(ngx_http_disclosure_data_t *d,
    ngx_int_t rc);
static void ngx_http_disclosure_data_fail(ngx_http_disclosure_data_t *d);
static void ngx_http_disclosure_data_stop(ngx_http_disclosure_data_t *d);
static void ngx_http_disclosure_data_cleanup(void *data);
static void *ngx_http_disclosure_data_create_conf(ngx_conf_t *cf);
static char *ngx_http_disclosure_data_init_conf(ngx_conf_t *cf, void *conf);
static char *ngx_http_disclosure_data_rate(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_disclosure_data_init_process(ngx_cycle_t *cycle);
static void ngx_http_disclosure_data_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_disclosure_data_commands[] = {

    { ngx_string("disclosure_data_connections"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_disclosure_data_conf_t, connections),
      NULL },

    { ngx_string("disclosure_data_rate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_disclosure_data_rate,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_disclosure_data_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_disclosure_data_create_conf,  /* create main configuration */
    ngx_http_disclosure_data_init_conf,    /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_disclosure_data_module = {
    NGX_MODULE_V1,
    &ngx_http_disclosure_data_module_ctx,  /* module context */
    ngx_http_disclosure_data_commands,     /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_disclosure_data_init_process, /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_disclosure_data_exit_process, /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* this worker's downloads now, and their pace */
static ngx_uint_t                       ngx_http_disclosure_data_active;
static ngx_http_disclosure_data_pace_t  ngx_http_disclosure_data_pace;

/* the pool's conf */
static ngx_http_disclosure_main_conf_t  *ngx_http_disclosure_data_main;


ngx_int_t
ngx_http_disclosure_data_handler(ngx_http_request_t *r, ngx_str_t *path)
{
    ngx_int_t                    rc;
    ngx_msec_t                   delay;
    ngx_http_cleanup_t          *cln;
    ngx_http_disclosure_data_t  *d;

    if ((path->len < 5 || ngx_strncmp(path->data, "data/", 5) != 0)
        && (path->len < 7 || ngx_strncmp(path->data, "format/", 7) != 0))
    {
        return NGX_DECLINED;
    }

    d = ngx_pcalloc(r->pool, sizeof(ngx_http_disclosure_data_t));
    if (d == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_disclosure_data_route(path, d);

    if (rc == NGX_DECLINED) {
        /* the catalog, the dictionary, or a 404 */
        return ngx_http_disclosure_catalog_handler(r, path);
    }

    /* a download's own request does not make the server busy */
    ngx_http_disclosure_data_pace.started++;

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_disclosure_data_cleanup;
    cln->data = d;

    ngx_http_set_ctx(r, d, ngx_http_disclosure_data_module);

    d->request = r;
    d->length = -1;
    d->counted = 1;
    ngx_http_disclosure_data_active++;

    d->pace.data = d;
    d->pace.log = r->connection->log;

    /*
     * A start is a round trip of statements on a session whatever the
     * file's size (a 304 or HEAD too): while the server is busy it takes a
     * buffer's worth of the pace, so that many small downloads keep to the
     * rate as one large one does.
     */

    delay = ngx_http_disclosure_data_delay(r, NGX_HTTP_DISCLOSURE_DATA_BUF);

    if (delay) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "disclosure: \"%V\" waits %M ms for "
                      "disclosure_data_rate to start", &r->uri, delay);

        d->paced = 1;
        d->waits++;
        d->pace.handler = ngx_http_disclosure_data_wait_handler;
        ngx_add_timer(&d->pace, delay);

    } else {
        d->pace.handler = ngx_http_disclosure_data_pace_handler;

        if (ngx_http_disclosure_data_open(r, d) != NGX_OK) {
            ngx_http_disclosure_data_stop(d);
            return ngx_http_disclosure_data_unavailable(r);
        }
    }

    /* a client that goes away terminates the request: the cleanup runs */

    if (r == r->main) {
        r->read_event_handler = ngx_http_test_reading;

        if (ngx_handle_read_event(r->connection->read, 0) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    r->main->count++;

    return NGX_DONE;
}


/* a session for d, or NGX_BUSY or NGX_ERROR: then the caller answers 503 */

static ngx_int_t
ngx_http_disclosure_data_open(ngx_http_request_t *r,
    ngx_http_disclosure_data_t *d)
{
    ngx_int_t                         rc;
    ngx_http_disclosure_data_conf_t  *ddcf;

    rc = ngx_http_disclosure_data_start(r, d);

    if (rc == NGX_BUSY) {
        ddcf = ngx_http_get_module_main_conf(r,
                                             ngx_http_disclosure_data_module);

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "disclosure: the %ui sessions of this worker "
                      "(disclosure_data_connections) are taken, %ui "
                      "downloads run, \"%V\" refused", ddcf->connections,
                      ngx_http_disclosure_data_active - 1, &r->uri);
    }

    return rc;
}


/* the pace's wait before a start is over */

static void
ngx_http_disclosure_data_wait_handler(ngx_event_t *ev)
{
    ngx_connection_t            *c;
    ngx_http_request_t          *r;
    ngx_http_disclosure_data_t  *d;

    d = ev->data;
    r = d->request;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    d->paced = 0;
    d->pace.handler = ngx_http_disclosure_data_pace_handler;

    if (ngx_http_disclosure_data_open(r, d) != NGX_OK) {
        ngx_http_disclosure_data_stop(d);
        ngx_http_finalize_request(r, ngx_http_disclosure_data_unavailable(r));
    }

    ngx_http_run_posted_requests(c);
}


/* data/{year}.csv, data/{year}-{format}.csv, data/{year}.jsonl, data/all.csv */

static ngx_int_t
ngx_http_disclosure_data_route(ngx_str_t *path, ngx_http_disclosure_data_t *d)
{
    u_char      *p, *end;
    ngx_uint_t   i;

    if (path->len == sizeof("data/all.csv") - 1
        && ngx_strncmp(path->data, "data/all.csv", path->len) == 0)
    {
        d->kind = NGX_HTTP_DISCLOSURE_DATA_ALL;
        ngx_str_set(&d->name, "all.csv");
        return NGX_OK;
    }

    if (path->len < 5 || ngx_strncmp(path->data, "data/", 5) != 0) {
        return NGX_DECLINED;
    }

    p = path->data + 5;
    end = path->data + path->len;

    d->name.data = p;
    d->name.len = end - p;

    if (end - p < 4) {
        return NGX_DECLINED;
    }

    for (i = 0; i < 4; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return NGX_DECLINED;
        }

        d->year[i] = p[i];
    }

    p += 4;

    if (end - p == 6 && ngx_strncmp(p, ".jsonl", 6) == 0) {
        d->kind = NGX_HTTP_DISCLOSURE_DATA_JSONL;
        return NGX_OK;
    }

    if (end - p == 9 && *p == '-') {
        for (i = 0; i < 4; i++) {
            if (p[1 + i] < '0' || p[1 + i] > '9') {
                return NGX_DECLINED;
            }

            d->format[i] = p[1 + i];
        }

        p += 5;
    }

    if (end - p == 4 && ngx_strncmp(p, ".csv", 4) == 0) {
        d->kind = NGX_HTTP_DISCLOSURE_DATA_CSV;
        return NGX_OK;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_disclosure_data_start(ngx_http_request_t *r,
    ngx_http_disclosure_data_t *d)
{
    ngx_http_disclosure_data_session_t  *s;

    if (ngx_http_disclosure_data_main == NULL
        || ngx_http_disclosure_data_main->conninfo == NULL)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "disclosure: no database for \"%V\"", &r->uri);
        return NGX_ERROR;
    }

    d->timeout = ngx_http_disclosure_data_main->query_timeout;

    s = ngx_http_disclosure_data_session_pick();

    if (s == NULL) {
        return NGX_BUSY;
    }

    s->download = d;
    d->session = s;

    switch (s->state) {

    case NGX_HTTP_DISCLOSURE_DATA_IDLE:
        d->reused = 1;
        ngx_http_disclosure_data_session_take(s,
                                          NGX_HTTP_DISCLOSURE_DATA_SERVING);
        s->pg.error_log = r->connection->log;

        /* ready() from an event: nothing calls back before NGX_DONE */
        ngx_http_disclosure_pg_post_ready(&s->pg);
        return NGX_OK;

    case NGX_HTTP_DISCLOSURE_DATA_FREE:
        if (ngx_http_disclosure_data_session_connect(s, r->connection->log)
            != NGX_OK)
        {
            s->download = NULL;
            d->session = NULL;
            return NGX_ERROR;
        }

        s->state = NGX_HTTP_DISCLOSURE_DATA_SERVING;
        return NGX_OK;

    default:
        /* ending a transaction, cancelling or draining: serves d when
         * idle */
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "disclosure data: waits for session in state %d",
                       s->state);
        return NGX_OK;
    }
}


/* a session taken idle that fails at once (the server closed it while
 * idle): once more on a new connection */

static ngx_int_t
ngx_http_disclosure_data_retry(ngx_http_disclosure_data_t *d)
{
    ngx_http_disclosure_data_session_t  *s;

    s = d->session;

    if (!d->reused || d->step != NGX_HTTP_DISCLOSURE_DATA_BEGIN) {
        return NGX_DECLINED;
    }

    d->reused = 0;

    ngx_log_error(NGX_LOG_INFO, d->request->connection->log, 0,
                  "disclosure: \"%V\": a kept session failed, connecting "
                  "anew", &d->request->uri);

    ngx_http_disclosure_pg_close(&s->pg);

    return ngx_http_disclosure_data_session_connect(s,
                                                d->request->connection->log);
}


/* the session's ready(): connected, or taken idle */

void
ngx_http_disclosure_data_begin(ngx_http_disclosure_data_t *d)
{
    ngx_http_disclosure_data_send(d, NGX_HTTP_DISCLOSURE_DATA_BEGIN);
}


/* every value from the request goes as a bound parameter */

static void
ngx_http_disclosure_data_send(ngx_http_disclosure_data_t *d,
    ngx_http_disclosure_data_step_e step)
{
    int                        ok, n;
    const char                *values[3];
    ngx_http_disclosure_pg_t  *pg;

    static const char  *kinds[] = { "csv", "jsonl", "all" };

    pg = &d->session->pg;

    switch (step) {

    case NGX_HTTP_DISCLOSURE_DATA_BEGIN:
        ok = PQsendQuery(pg->pgconn, NGX_HTTP_DISCLOSURE_DATA_BEGIN_SQL);
        break;

    case NGX_HTTP_DISCLOSURE_DATA_HEAD:
        values[0] = kinds[d->kind];
        values[1] = d->year[0] ? (const char *) d->year : NULL;
        values[2] = d->format[0] ? (const char *) d->format : NULL;

        ok = PQsendQueryParams(pg->pgconn, NGX_HTTP_DISCLOSURE_DATA_FILE_SQL,
                               3, NULL, values, NULL, NULL, 0);
        break;

    default: /* NGX_HTTP_DISCLOSURE_DATA_STREAM */
        n = 0;

        if (d->kind != NGX_HTTP_DISCLOSURE_DATA_ALL) {
            values[n++] = (const char *) d->year;
        }

        if (d->kind == NGX_HTTP_DISCLOSURE_DATA_CSV) {
            /* the format data_file() resolved */
            values[n++] = PQgetvalue(d->head, 0, 0);
        }

        ok = PQsendQueryParams(pg->pgconn,
                               ngx_http_disclosure_data_sql[d->kind],
                               n, NULL, values, NULL, NULL, 0)
             && PQsetSingleRowMode(pg->pgconn);
        break;
    }

    if (!ok) {
        ngx_http_disclosure_data_failed(d, NGX_HTTP_DISCLOSURE_PG_LOST,
                                        "PQsendQuery()");
        return;
    }

    d->step = step;

    /* each statement, and then each row, within the query timeout */
    if (pg->timer.timer_set) {
        ngx_del_timer(&pg->timer);
    }

    ngx_http_disclosure_pg_sent(pg, d->timeout);
}


/*
 * One result: the BEGIN's and SETs', data_file()'s row, or a row of the
 * file.  NGX_AGAIN: the client holds buffers of ours, read no more until
 * the writer resumes; NGX_ERROR: the request is finished, pg closed.
 */

ngx_int_t
ngx_http_disclosure_data_row(ngx_http_disclosure_data_t *d, PGresult *res)
{
    u_char                     buf[NGX_MAX_ERROR_STR];
    ngx_int_t                  rc;
    ngx_str_t                  text;
    ngx_connection_t          *c;
    ngx_http_disclosure_pg_t  *pg;

    pg = &d->session->pg;
    c = d->request->connection;

    switch (PQresultStatus(res)) {

    case PGRES_SINGLE_TUPLE:
        rc = NGX_OK;

        if (!PQgetisnull(res, 0, 0)) {
            d->rows++;
            rc = ngx_http_disclosure_data_append(d,
                                         (u_char *) PQgetvalue(res, 0, 0),
                                         PQgetlength(res, 0, 0));
        }

        PQclear(res);

        if (rc != NGX_OK) {
            /* the client is gone: the query is cancelled */
            ngx_http_disclosure_data_finish(d, NGX_ERROR);
            ngx_http_run_posted_requests(c);
            return NGX_ERROR;
        }

        if (d->busy || d->paced) {
            /* a silence while the client reads is not PostgreSQL's */
            if (pg->timer.timer_set) {
                ngx_del_timer(&pg->timer);
            }

            return NGX_AGAIN;
        }

        ngx_add_timer(&pg->timer, d->timeout);

        return NGX_OK;

    case PGRES_TUPLES_OK:
        if (d->step == NGX_HTTP_DISCLOSURE_DATA_HEAD && d->head == NULL) {
            d->head = res;
            return NGX_OK;
        }

        /* fall through */

    case PGRES_COMMAND_OK:
        PQclear(res);
        return NGX_OK;

    default:
        text = ngx_http_disclosure_pg_text(buf, sizeof(buf),
                                           PQresultErrorMessage(res));
        PQclear(res);

        rc = ngx_http_disclosure_data_retry(d);

        if (rc == NGX_OK) {
            return NGX_ERROR;
        }

        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "disclosure: \"%V\" failed after %ui rows: %V",
                      &d->request->uri, d->rows, &text);

        d->broken = 1;
        ngx_http_disclosure_data_fail(d);
        ngx_http_run_posted_requests(c);
        return NGX_ERROR;
    }
}


/* a statement is over: the next one, or the end */

void
ngx_http_disclosure_data_next(ngx_http_disclosure_data_t *d)
{
    ngx_int_t          rc;
    ngx_connection_t  *c;

    c = d->request->connection;

    switch (d->step) {

    case NGX_HTTP_DISCLOSURE_DATA_BEGIN:
        ngx_http_disclosure_data_send(d, NGX_HTTP_DISCLOSURE_DATA_HEAD);
        return;

    case NGX_HTTP_DISCLOSURE_DATA_HEAD:
        rc = ngx_http_disclosure_data_headers(d);

        if (rc == NGX_OK) {
            ngx_http_disclosure_data_send(d, NGX_HTTP_DISCLOSURE_DATA_STREAM);
            return;
        }

        /* NGX_DONE: the headers were all (HEAD, 304) */
        ngx_http_disclosure_data_finish(d, rc == NGX_DONE ? NGX_OK : rc);
        break;

    default: /* NGX_HTTP_DISCLOSURE_DATA_STREAM */
        if (d->length >= 0 && d->sent != d->length) {
            /* the stored sizes are wrong: never a short file that looks
             * whole */
            ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                          "disclosure: \"%V\": %O bytes, not the %O of its "
                          "Content-Length, cut", &d->request->uri, d->sent,
                          d->length);
            ngx_http_disclosure_data_finish(d, NGX_ERROR);
            break;
        }

        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "disclosure: \"%V\": %ui rows, %O bytes, "
                      "%ui waits for disclosure_data_rate",
                      &d->request->uri, d->rows, d->sent, d->waits);

        ngx_http_disclosure_data_finish(d,
                                        ngx_http_disclosure_data_output(d, 1));
        break;
    }

    ngx_http_run_posted_requests(c);
}


/* PostgreSQL failed the download: its session is closed, never reused */

void
ngx_http_disclosure_data_failed(ngx_http_disclosure_data_t *d,
    ngx_uint_t reason, const char *what)
{
    u_char                     buf[NGX_MAX_ERROR_STR];
    ngx_str_t                  text;
    ngx_connection_t          *c;
    ngx_http_disclosure_pg_t  *pg;

    pg = &d->session->pg;
    c = d->request->connection;

    if (reason != NGX_HTTP_DISCLOSURE_PG_EXITING
        && ngx_http_disclosure_data_retry(d) == NGX_OK)
    {
        return;
    }

    switch (reason) {

    case NGX_HTTP_DISCLOSURE_PG_FAILED:
        /* pg has logged why */
        break;

    case NGX_HTTP_DISCLOSURE_PG_TIMEDOUT:
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "disclosure: \"%V\": PostgreSQL timed out after %ui "
                      "rows", &d->request->uri, d->rows);
        break;

    case NGX_HTTP_DISCLOSURE_PG_EXITING:
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "disclosure: \"%V\" cut after %ui rows: the worker "
                      "exits", &d->request->uri, d->rows);
        break;

    default:
        text = ngx_http_disclosure_pg_text(buf, sizeof(buf),
                                           PQerrorMessage(pg->pgconn));
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "disclosure: \"%V\": %s failed after %ui rows: %V",
                      &d->request->uri, what, d->rows, &text);
        break;
    }

    d->broken = 1;
    ngx_http_disclosure_data_fail(d);
    ngx_http_run_posted_requests(c);
}


/* NGX_OK: stream the body; NGX_DONE: no body to send; otherwise what to
 * finalize the request with */

static ngx_int_t
ngx_http_disclosure_data_headers(ngx_http_disclosure_data_t *d)
{
    u_char              *p;
    ngx_int_t            rc;
    ngx_str_t            value;
    ngx_table_elt_t     *etag;
    ngx_http_request_t  *r;

    r = d->request;

    if (d->head == NULL || PQntuples(d->head) != 1) {
        return NGX_HTTP_NOT_FOUND;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.last_modified_time =
                          ngx_atotm((u_char *) PQgetvalue(d->head, 0, 2),
                                    PQgetlength(d->head, 0, 2));

    etag = ngx_list_push(&r->headers_out.headers);
    p = ngx_pnalloc(r->pool, NGX_INT64_LEN + d->name.len + sizeof("\"d--\""));
    if (etag == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the data version names the content; the name, which file */
    etag->hash = 1;
    ngx_str_set(&etag->key, "ETag");
    etag->value.data = p;
    etag->value.len = ngx_sprintf(p, "\"d%s-%V\"", PQgetvalue(d->head, 0, 1),
                                  &d->name)
                      - p;
    r->headers_out.etag = etag;

    if (d->kind == NGX_HTTP_DISCLOSURE_DATA_JSONL) {
        ngx_str_set(&r->headers_out.content_type, "application/x-ndjson");

    } else {
        ngx_str_set(&r->headers_out.content_type, "text/csv");
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;
    ngx_str_set(&r->headers_out.charset, "utf-8");

    p = ngx_pnalloc(r->pool, sizeof("attachment; filename=\"disclosure-\"")
                             + d->name.len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    value.data = p;
    value.len = ngx_sprintf(p, "attachment; filename=\"disclosure-%V\"",
                            &d->name)
                - p;

    if (ngx_http_disclosure_add_header(r, "Content-Disposition", &value)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);

    /* the size the stored lines add up to: a client of any HTTP version
     * can tell a cut download from a whole one (gzip drops it) */
    d->length = PQgetisnull(d->head, 0, 4)
                ? -1
                : ngx_atoof((u_char *) PQgetvalue(d->head, 0, 4),
                            PQgetlength(d->head, 0, 4));

    r->headers_out.content_length_n = d->length;

    rc = ngx_http_send_header(r);

    d->header_sent = 1;

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        /* HEAD, 304 (nginx's not_modified filter), or the client is gone */
        return rc == NGX_OK ? NGX_DONE : rc;
    }

    if (PQgetlength(d->head, 0, 3)
        && ngx_http_disclosure_data_append(d,
                                     (u_char *) PQgetvalue(d->head, 0, 3),
                                     PQgetlength(d->head, 0, 3))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* copies a row into the buffer being filled; sends it when full */

static ngx_int_t
ngx_http_disclosure_data_append(ngx_http_disclosure_data_t *d, u_char *data,
    size_t len)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (d->length >= 0 && d->sent + (off_t) len > d->length) {
        ngx_log_error(NGX_LOG_ALERT, d->request->connection->log, 0,
                      "disclosure: \"%V\" is longer than the %O bytes of its "
                      "Content-Length, cut", &d->request->uri, d->length);
        return NGX_ERROR;
    }

    b = d->buf;

    if (b && (size_t) (b->end - b->last) < len) {
        if (ngx_http_disclosure_data_output(d, 0) != NGX_OK) {
            return NGX_ERROR;
        }

        b = NULL;
    }

    if (b == NULL) {
        cl = d->free;

        if (cl && (size_t) (cl->buf->end - cl->buf->start) >= len) {
            d->free = cl->next;
            b = cl->buf;
            b->pos = b->start;
            b->last = b->start;

        } else {
            b = ngx_create_temp_buf(d->request->pool,
                                    ngx_max(len, NGX_HTTP_DISCLOSURE_DATA_BUF));
            if (b == NULL) {
                return NGX_ERROR;
            }

            b->tag = (ngx_buf_tag_t) &ngx_http_disclosure_data_module;
        }

        b->flush = 1;
        d->buf = b;
    }

    b->last = ngx_cpymem(b->last, data, len);
    d->sent += len;

    if (b->end - b->last < 1024) {
        return ngx_http_disclosure_data_output(d, 0);
    }

    return NGX_OK;
}


/* passes the filled buffer on; pauses reading PostgreSQL while any is busy */

static ngx_int_t
ngx_http_disclosure_data_output(ngx_http_disclosure_data_t *d, ngx_uint_t last)
{
    off_t                size;
    ngx_int_t            rc;
    ngx_buf_t           *b;
    ngx_msec_t           delay;
    ngx_chain_t         *cl, *out;
    ngx_http_request_t  *r;

    r = d->request;
    b = d->buf;
    d->buf = NULL;

    if (b == NULL) {
        if (!last) {
            return NGX_OK;
        }

        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            return NGX_ERROR;
        }
    }

    if (last) {
        b->last_buf = 1;
        b->last_in_chain = 1;
    }

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;
    out = cl;

    size = b->last - b->pos;

    rc = ngx_http_output_filter(r, out);

    ngx_chain_update_chains(r->pool, &d->free, &d->busy, &out,
                            (ngx_buf_tag_t) &ngx_http_disclosure_data_module);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (last) {
        return rc;
    }

    delay = ngx_http_disclosure_data_delay(r, size);

    if (delay) {
        /* read PostgreSQL again when the timer fires */
        d->paced = 1;
        d->waits++;
        ngx_add_timer(&d->pace, delay);
    }

    return ngx_http_disclosure_data_watch(d);
}


/* how long this worker's downloads wait after size more bytes: 0, no wait */

static ngx_msec_t
ngx_http_disclosure_data_delay(ngx_http_request_t *r, off_t size)
{
    off_t                             burst;
    ngx_msec_t                        now;
    ngx_http_disclosure_data_pace_t  *pace;
    ngx_http_disclosure_data_conf_t  *ddcf;

    ddcf = ngx_http_get_module_main_conf(r, ngx_http_disclosure_data_module);

    if (ddcf->rate == 0) {
        return 0;
    }

    pace = &ngx_http_disclosure_data_pace;
    now = ngx_current_msec;
    burst = NGX_HTTP_DISCLOSURE_DATA_BURST(ddcf->rate);

    if (!ngx_http_disclosure_data_busy(pace, now, ddcf->busy)) {
        pace->tokens = burst;
        pace->last = now;
        return 0;
    }

    pace->tokens += (off_t) ddcf->rate * (off_t) (now - pace->last) / 1000;
    pace->tokens = ngx_min(pace->tokens, burst) - size;
    pace->last = now;

    if (pace->tokens >= 0) {
        return 0;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "disclosure data: paced, %O bytes behind", -pace->tokens);

    return (ngx_msec_t) (-pace->tokens * 1000 / (off_t) ddcf->rate) + 1;
}


/*
 * Busy: nginx's request counter (stub_status's, all workers) moved, beyond
 * this worker's downloads, at busy requests a second or more, counted over
 * at least the window.  Requests seen after a look long ago cannot be
 * dated: they count for nothing, and the next look, soon while a download
 * sends, begins a new count.
 */

static ngx_uint_t
ngx_http_disclosure_data_busy(ngx_http_disclosure_data_pace_t *pace,
    ngx_msec_t now, ngx_uint_t busy)
{
#if (NGX_STAT_STUB)

    ngx_msec_t         span;
    ngx_atomic_uint_t  requests, n;

    requests = *ngx_stat_requests;
    n = requests - pace->requests;
    n = (n > pace->started) ? n - pace->started : 0;

    if (!pace->looked || now - pace->sampled >= NGX_HTTP_DISCLOSURE_DATA_STALE)
    {
        pace->since = now;
        pace->others = 0;

    } else {

        if (now - pace->since > NGX_HTTP_DISCLOSURE_DATA_WINDOW) {
            pace->since = pace->sampled;
            pace->others = 0;
        }

        pace->others += n;
        span = ngx_max(now - pace->since, NGX_HTTP_DISCLOSURE_DATA_WINDOW);

        if (pace->others * 1000 >= busy * span) {
            pace->other = now;
            pace->seen = 1;
        }
    }

    pace->looked = 1;
    pace->sampled = now;
    pace->requests = requests;
    pace->started = 0;

    return pace->seen && now - pace->other < NGX_HTTP_DISCLOSURE_DATA_WINDOW;

#else

    /* without nginx's counters the pace always holds */
    return 1;

#endif
}


/* the pace's delay is over: read PostgreSQL again, unless the client holds
 * buffers (then the writer resumes) */

static void
ngx_http_disclosure_data_pace_handler(ngx_event_t *ev)
{
    ngx_connection_t            *c;
    ngx_http_disclosure_data_t  *d;

    d = ev->data;
    c = d->request->connection;

    d->paced = 0;

    if (d->busy || d->session == NULL || !d->session->pg.suspended) {
        return;
    }

    if (ngx_http_disclosure_pg_resume(&d->session->pg) != NGX_OK) {
        d->broken = 1;
        ngx_http_disclosure_data_finish(d, NGX_ERROR);
        ngx_http_run_posted_requests(c);
        return;
    }

    ngx_add_timer(&d->session->pg.timer, d->timeout);
}


/* the client's socket became writable: send more, resume when all is out */

static void
ngx_http_disclosure_data_writer(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_chain_t                 *out;
    ngx_event_t                 *wev;
    ngx_http_disclosure_data_t  *d;

    wev = r->connection->write;

    d = ngx_http_get_module_ctx(r, ngx_http_disclosure_data_module);

    if (d == NULL || d->session == NULL
        || d->session->state != NGX_HTTP_DISCLOSURE_DATA_SERVING)
    {
        return;
    }

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, NGX_ETIMEDOUT,
                      "client timed out");
        r->connection->timedout = 1;
        ngx_http_disclosure_data_finish(d, NGX_HTTP_REQUEST_TIME_OUT);
        return;
    }

    rc = ngx_http_output_filter(r, NULL);

    /* nothing new: ngx_chain_update_chains() reads *out, never NULL */
    out = NULL;

    ngx_chain_update_chains(r->pool, &d->free, &d->busy, &out,
                            (ngx_buf_tag_t) &ngx_http_disclosure_data_module);

    if (rc == NGX_ERROR || ngx_http_disclosure_data_watch(d) != NGX_OK) {
        ngx_http_disclosure_data_finish(d, NGX_ERROR);
        return;
    }

    if (d->busy == NULL && d->session->pg.suspended && !d->paced) {
        /* all out: read PostgreSQL again (from a posted event) */
        if (ngx_http_disclosure_pg_resume(&d->session->pg) != NGX_OK) {
            d->broken = 1;
            ngx_http_disclosure_data_finish(d, NGX_ERROR);
            return;
        }

        ngx_add_timer(&d->session->pg.timer, d->timeout);
    }
}


/* while the client holds buffers of ours: its write event and send_timeout */

static ngx_int_t
ngx_http_disclosure_data_watch(ngx_http_disclosure_data_t *d)
{
    ngx_event_t               *wev;
    ngx_http_request_t        *r;
    ngx_http_core_loc_conf_t  *clcf;

    r = d->request;
    wev = r->connection->write;

    if (d->busy) {
        r->write_event_handler = ngx_http_disclosure_data_writer;

        clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

        if (!wev->delayed) {
            ngx_add_timer(wev, clcf->send_timeout);
        }

        return ngx_handle_write_event(wev, clcf->send_lowat);
    }

    if (wev->timer_set && !wev->delayed) {
        ngx_del_timer(wev);
    }

    return NGX_OK;
}


/* the database part is over: close it, then finalize (d may go with it) */

static void
ngx_http_disclosure_data_finish(ngx_http_disclosure_data_t *d, ngx_int_t rc)
{
    ngx_http_request_t  *r;

    r = d->request;

    ngx_http_disclosure_data_stop(d);

    if (rc == NGX_ERROR && !r->connection->error && d->header_sent) {
        /* never a final chunk after a failure */
        r->connection->error = 1;
    }

    /* NGX_AGAIN: nginx's writer sends the rest */
    ngx_http_finalize_request(r, rc);
}


/* what went wrong was logged; a cut response, or a 503 before the headers */

static void
ngx_http_disclosure_data_fail(ngx_http_disclosure_data_t *d)
{
    ngx_http_request_t  *r;

    r = d->request;

    if (d->header_sent) {
        /* the client sees no final chunk */
        ngx_http_disclosure_data_finish(d, NGX_ERROR);
        return;
    }

    ngx_http_disclosure_data_stop(d);
    ngx_http_finalize_request(r, ngx_http_disclosure_data_unavailable(r));
}


ngx_log_t *
ngx_http_disclosure_data_log(ngx_http_disclosure_data_t *d)
{
    return d->request->connection->log;
}


/* the session d waited for was closed, no new one connects: d fails */

void
ngx_http_disclosure_data_lost(ngx_http_disclosure_data_t *d)
{
    ngx_connection_t  *c;

    c = d->request->connection;

    d->session = NULL;
    ngx_http_disclosure_data_fail(d);
    ngx_http_run_posted_requests(c);
}


/* the download gives its session up (release) and its slot in the bound */

static void
ngx_http_disclosure_data_stop(ngx_http_disclosure_data_t *d)
{
    ngx_http_disclosure_data_session_t  *s;

    if (d->head) {
        PQclear(d->head);
        d->head = NULL;
    }

    s = d->session;

    if (s) {
        d->session = NULL;
        ngx_http_disclosure_data_session_release(s, d->broken);
    }

    if (d->pace.timer_set) {
        ngx_del_timer(&d->pace);
    }

    d->paced = 0;

    if (d->counted) {
        d->counted = 0;
        ngx_http_disclosure_data_active--;
    }
}


/* the request ends, the client gone or not */

static void
ngx_http_disclosure_data_cleanup(void *data)
{
    ngx_http_disclosure_data_t  *d = data;

    ngx_http_disclosure_data_session_t  *s;

    s = d->session;

    if (s && s->state == NGX_HTTP_DISCLOSURE_DATA_SERVING
        && s->pg.state == NGX_HTTP_DISCLOSURE_PG_BUSY)
    {
        ngx_log_error(NGX_LOG_INFO, d->request->connection->log, 0,
                      "disclosure: \"%V\" ended after %ui rows, "
                      "its query with it: %s", &d->request->uri, d->rows,
                      (ngx_exiting || ngx_terminate)
                      ? "the worker exits, the session closed"
                      : "cancelling it, the session kept");
    }

    ngx_http_disclosure_data_stop(d);
}


ngx_int_t
ngx_http_disclosure_data_unavailable(ngx_http_request_t *r)
{
    ngx_str_t  retry;

    ngx_str_set(&retry, NGX_HTTP_DISCLOSURE_DATA_RETRY);

    if (ngx_http_disclosure_add_header(r, "Retry-After", &retry) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_HTTP_SERVICE_UNAVAILABLE;
}


static void *
ngx_http_disclosure_data_create_conf(ngx_conf_t *cf)
{
    ngx_http_disclosure_data_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_disclosure_data_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->connections = NGX_CONF_UNSET_UINT;
    conf->rate = NGX_CONF_UNSET_SIZE;
    conf->busy = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_http_disclosure_data_init_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_disclosure_data_conf_t  *ddcf = conf;

    ngx_conf_init_uint_value(ddcf->connections, 2);
    ngx_conf_init_size_value(ddcf->rate, 1024 * 1024);
    ngx_conf_init_uint_value(ddcf->busy, NGX_HTTP_DISCLOSURE_DATA_BUSY);

    return NGX_CONF_OK;
}


/* disclosure_data_rate size [busy=number[r/s]] */

static char *
ngx_http_disclosure_data_rate(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_disclosure_data_conf_t  *ddcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value, s;

    if (ddcf->rate != NGX_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    value = cf->args->elts;

    ddcf->rate = ngx_parse_size(&value[1]);
    if (ddcf->rate == (size_t) NGX_ERROR) {
        return "invalid value";
    }

    if (cf->args->nelts == 2) {
        return NGX_CONF_OK;
    }

    if (value[2].len <= 5 || ngx_strncmp(value[2].data, "busy=", 5) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    s.data = value[2].data + 5;
    s.len = value[2].len - 5;

    if (s.len > 3 && ngx_strncmp(s.data + s.len - 3, "r/s", 3) == 0) {
        s.len -= 3;
    }

    n = ngx_atoi(s.data, s.len);
    if (n <= 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid busy rate \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    ddcf->busy = n;

    return NGX_CONF_OK;
}


/* the sessions live in the worker, outside any request */

static ngx_int_t
ngx_http_disclosure_data_init_process(ngx_cycle_t *cycle)
{
    ngx_http_disclosure_data_conf_t  *ddcf;
    ngx_http_disclosure_main_conf_t  *dmcf;

    ddcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_disclosure_data_module);
    dmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_disclosure_module);

    if (ddcf == NULL || dmcf == NULL) {
        return NGX_OK;
    }

    ngx_http_disclosure_data_main = dmcf;

    return ngx_http_disclosure_data_session_init_process(cycle, dmcf,
                                                         ddcf->connections);
}


static void
ngx_http_disclosure_data_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_disclosure_data_session_exit_process(cycle);
}
