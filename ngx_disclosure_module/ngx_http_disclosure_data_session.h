
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_DATA_SESSION_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_DATA_SESSION_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_disclosure_module.h"
#include "ngx_http_disclosure_pg.h"
#include "ngx_http_disclosure_data.h"


/*
 * The download sessions of a worker (_data_session.c): connections kept
 * between downloads.  A download (_data.c) picks one, takes it idle or
 * connects it, and drives its queries while the state is SERVING: the
 * session's pg callbacks then go to the download's side declared in
 * _data.h.  In every other state the session is its own; release() gives
 * it back, which ends the transaction or cancels the query.
 */


/* a session's life: what its connection does now */
typedef enum {
    NGX_HTTP_DISCLOSURE_DATA_FREE = 0,      /* no connection */
    NGX_HTTP_DISCLOSURE_DATA_IDLE,          /* kept: the keepalive timer */
    NGX_HTTP_DISCLOSURE_DATA_SERVING,       /* a download's, or connecting
                                               for it */
    NGX_HTTP_DISCLOSURE_DATA_DRAINING,      /* its client gone: the query
                                               cancelled, the rest dropped */
    NGX_HTTP_DISCLOSURE_DATA_ENDING,        /* COMMIT or ROLLBACK sent */
    NGX_HTTP_DISCLOSURE_DATA_CANCELLING     /* cancels another's query */
} ngx_http_disclosure_data_session_state_e;


typedef struct ngx_http_disclosure_data_session_s
    ngx_http_disclosure_data_session_t;

struct ngx_http_disclosure_data_session_s {
    ngx_http_disclosure_pg_t                   pg;
    ngx_http_disclosure_data_session_state_e   state;

    /* served, or waiting for the session to be idle; never touched once
     * its request is gone */
    ngx_http_disclosure_data_t                *download;

    /* whose query this one cancels, who cancels ours */
    ngx_http_disclosure_data_session_t        *target;
    ngx_http_disclosure_data_session_t        *canceller;
    int                                        backend;     /* its pid */

    unsigned                                   answered:1;  /* the cancel */
    unsigned                                   drained:1;   /* all results */
    unsigned                                   cancelled:1; /* 57014 read */
    unsigned                                   failed:1;    /* an error
                                                               result */
};


/* an idle session first, then one about to be idle, then a free slot;
 * NULL: all are taken */
ngx_http_disclosure_data_session_t *ngx_http_disclosure_data_session_pick(
    void);

/* a free slot connects (pg_connect()'s NGX_OK and NGX_ERROR); its
 * messages go to log while a request has it */
ngx_int_t ngx_http_disclosure_data_session_connect(
    ngx_http_disclosure_data_session_t *s, ngx_log_t *log);

/* an idle session put to work in state */
void ngx_http_disclosure_data_session_take(
    ngx_http_disclosure_data_session_t *s,
    ngx_http_disclosure_data_session_state_e state);

/* the download gives s up (the caller has cleared its own pointer);
 * broken: PostgreSQL failed it, close it */
void ngx_http_disclosure_data_session_release(
    ngx_http_disclosure_data_session_t *s, ngx_uint_t broken);

/* the worker's n sessions (disclosure_data_connections), all free */
ngx_int_t ngx_http_disclosure_data_session_init_process(ngx_cycle_t *cycle,
    ngx_http_disclosure_main_conf_t *dmcf, ngx_uint_t n);
void ngx_http_disclosure_data_session_exit_process(ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_DISCLOSURE_DATA_SESSION_H_INCLUDED_ */
