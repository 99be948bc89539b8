
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_LISTENER_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_LISTENER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_disclosure_module.h"
#include "ngx_http_disclosure_route.h"


/*
 * What the nginx instance shares besides the cache zones (see
 * _listener.c): which worker listens, what it last heard, the database
 * counters of every worker.
 */


#define NGX_HTTP_DISCLOSURE_MAX_WORKERS  64


typedef enum {
    NGX_HTTP_DISCLOSURE_LISTENER_NONE = 0,      /* no cache zone */
    NGX_HTTP_DISCLOSURE_LISTENER_DISCONNECTED,  /* waiting to reconnect */
    NGX_HTTP_DISCLOSURE_LISTENER_CONNECTING,
    NGX_HTTP_DISCLOSURE_LISTENER_LISTENING,     /* LISTEN and polling */
    NGX_HTTP_DISCLOSURE_LISTENER_POLLING        /* LISTEN refused (a standby):
                                                   polling only, until it is
                                                   promoted */
} ngx_http_disclosure_listener_state_e;


typedef enum {
    NGX_HTTP_DISCLOSURE_SOURCE_NONE = 0,
    NGX_HTTP_DISCLOSURE_SOURCE_NOTIFY,          /* one report, the lists */
    NGX_HTTP_DISCLOSURE_SOURCE_GAP,             /* notified, but the change
                                                   log did not name it all */
    NGX_HTTP_DISCLOSURE_SOURCE_VERSION          /* the polled version moved
                                                   with no notification */
} ngx_http_disclosure_source_e;


/* one worker's connection pool, refreshed every second */
typedef struct {
    ngx_pid_t                        pid;
    ngx_uint_t                       active;
    ngx_uint_t                       idle;
    ngx_uint_t                       connects;
    ngx_uint_t                       waiting;
    ngx_uint_t                       waits;
    ngx_uint_t                       wait_timeouts;
} ngx_http_disclosure_worker_t;


typedef struct {
    ngx_uint_t                       layout;

    /* queries of the content handler, every worker, without a lock */
    ngx_atomic_t                     queries;
    ngx_atomic_t                     errors;

    /* the pid of the worker that listens, 0: none */
    ngx_atomic_t                     listener;

    /* the rest under the zone's mutex */
    ngx_uint_t                       state;
    ngx_pid_t                        backend;          /* PostgreSQL's pid */
    ngx_uint_t                       connects;
    ngx_uint_t                       notifications;
    ngx_uint_t                       ignored;          /* malformed, or not
                                                          newer */
    ngx_uint_t                       checks;           /* change log reads */
    ngx_uint_t                       polls;
    ngx_uint_t                       failures;
    int64_t                          version;
    ngx_uint_t                       version_known;

    ngx_uint_t                       invalidations;
    time_t                           last_time;
    ngx_uint_t                       last_source;
    int64_t                          last_version;
    ngx_int_t                        last_year;
    ngx_uint_t                       last_entries;
    size_t                           last_agency_len;
    u_char                           last_agency[NGX_HTTP_DISCLOSURE_MAX_SLUG];

    ngx_http_disclosure_worker_t     workers[NGX_HTTP_DISCLOSURE_MAX_WORKERS];
} ngx_http_disclosure_shared_t;


/* from init_main_conf: the shared zone, when there is a database */
ngx_int_t ngx_http_disclosure_shared_add(ngx_conf_t *cf,
    ngx_http_disclosure_main_conf_t *dmcf);

/* the instance's shared state, NULL without a database */
ngx_http_disclosure_shared_t *ngx_http_disclosure_shared(
    ngx_http_disclosure_main_conf_t *dmcf);

/* a consistent copy, this worker's pool counters refreshed first */
ngx_int_t ngx_http_disclosure_shared_snapshot(ngx_cycle_t *cycle,
    ngx_http_disclosure_shared_t *copy);

/* a query of the content handler began, or failed */
void ngx_http_disclosure_shared_query(ngx_http_disclosure_main_conf_t *dmcf,
    ngx_uint_t error);

/* from init_process and exit_process */
ngx_int_t ngx_http_disclosure_listener_init_worker(ngx_cycle_t *cycle);
void ngx_http_disclosure_listener_exit_worker(ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_DISCLOSURE_LISTENER_H_INCLUDED_ */
