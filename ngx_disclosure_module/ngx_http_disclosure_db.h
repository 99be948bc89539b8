
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_DB_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_DB_H_INCLUDED_


#include <libpq-fe.h>

#include "ngx_http_disclosure_module.h"


#define NGX_HTTP_DISCLOSURE_DB_MAX_PARAMS  4


/*
 * One query that returns one text value (a JSON document) or SQL NULL.
 * The caller keeps the query in the request pool; the db layer calls done()
 * exactly once, from an event handler, after the connection is clean again,
 * and runs the posted requests of r->connection after done() returns.
 *
 *   rc == NGX_OK        value/len hold the text (allocated from r->pool,
 *                       also NUL-terminated)
 *   rc == NGX_DECLINED  the value was SQL NULL or there was no row
 *                       (the route answers 404)
 *   rc == NGX_ERROR     connect or query failed or timed out, or the query
 *                       returned more than one value (answer 503);
 *                       the reason has been logged once
 *
 * If the request pool is destroyed first (the client went away and the
 * request was terminated), done() is never called: the connection finishes
 * the query on its own and goes back to the pool, or the query leaves the
 * queue of those waiting for a connection.
 */

typedef struct ngx_http_disclosure_query_s  ngx_http_disclosure_query_t;

typedef void (*ngx_http_disclosure_query_done_pt)(ngx_http_request_t *r,
    ngx_http_disclosure_query_t *q, ngx_int_t rc);

struct ngx_http_disclosure_query_s {
    const char                          *sql;      /* static text, $1..$n */
    ngx_uint_t                           nparams;
    ngx_str_t                            params[NGX_HTTP_DISCLOSURE_DB_MAX_PARAMS];

    ngx_http_disclosure_query_done_pt    done;
    void                                *data;     /* the caller's context */

    /* NULL: disclosure_database; or the preview's (main conf->preview) */
    ngx_http_disclosure_main_conf_t     *database;

    u_char                              *value;
    size_t                               len;

    /* owned by the db layer */
    void                                *conn;     /* the connection used */
    void                                *wait;     /* waiting for one */
};


/* per worker, for operators */
typedef struct {
    ngx_uint_t                           queries;  /* queries started */
    ngx_uint_t                           errors;   /* answered NGX_ERROR */
    ngx_uint_t                           retries;  /* after a lost pooled
                                                      connection */
    ngx_uint_t                           connects; /* connections opened */
    ngx_uint_t                           active;   /* connecting or busy */
    ngx_uint_t                           idle;     /* kept in the pool */
    ngx_uint_t                           waiting;  /* for a connection, now:
                                                      max_connections busy */
    ngx_uint_t                           waits;    /* queries that waited */
    ngx_uint_t                           wait_timeouts; /* gave up waiting */
} ngx_http_disclosure_db_stats_t;


/*
 * Starts the query; returns NGX_OK (done() will be called later) or
 * NGX_ERROR (done() will not be called, the reason has been logged).
 * Parameters are sent as bound text parameters and must not contain
 * zero bytes.  The caller has incremented r->main->count; if the client
 * goes away, the db layer finishes or abandons the query cleanly before
 * the connection is reused.
 */
ngx_int_t ngx_http_disclosure_db_query(ngx_http_request_t *r,
    ngx_http_disclosure_query_t *q);

/*
 * Per-worker pool setup and teardown, from init_process and exit_process.
 * Setup only allocates: connections are opened on demand.  Nothing is
 * done if "disclosure_database" is not configured.
 */
ngx_int_t ngx_http_disclosure_db_init_worker(ngx_cycle_t *cycle);
void ngx_http_disclosure_db_exit_worker(ngx_cycle_t *cycle);

/* this worker's counters, or NULL when there is no database */
const ngx_http_disclosure_db_stats_t *ngx_http_disclosure_db_stats(
    ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_DISCLOSURE_DB_H_INCLUDED_ */
