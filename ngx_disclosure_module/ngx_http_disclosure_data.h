
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_DATA_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_DATA_H_INCLUDED_


#include <libpq-fe.h>

#include "ngx_http_disclosure_module.h"


/*
 * Open data in bulk (issue 14), below the location's prefix:
 *   data/ (data/index.html), data/index.json     the catalog (_catalog.c)
 *   format/{format}.json                         the data dictionary
 *   data/{year}.csv, data/{year}-{format}.csv,
 *   data/{year}.jsonl, data/all.csv              streamed (_data.c)
 *
 * Called by the content handler with the path below the prefix:
 * NGX_DECLINED when the path is none of these, else what the handler
 * returns (NGX_DONE while the database answers).
 */
ngx_int_t ngx_http_disclosure_data_handler(ngx_http_request_t *r,
    ngx_str_t *path);

/* 503 with Retry-After: busy, or the database failed (logged already) */
ngx_int_t ngx_http_disclosure_data_unavailable(ngx_http_request_t *r);



/*
 * The download's side, called by the session serving it
 * (_data_session.c) from the session's pg callbacks while its state is
 * SERVING, and when a download waiting for a session gets one or none.
 */

typedef struct ngx_http_disclosure_data_s  ngx_http_disclosure_data_t;

/* connected, or taken idle: the transaction's first statement */
void ngx_http_disclosure_data_begin(ngx_http_disclosure_data_t *d);

/* one result (pg's result()); NGX_AGAIN: backpressure; NGX_ERROR: the
 * request is finished or the session connects anew */
ngx_int_t ngx_http_disclosure_data_row(ngx_http_disclosure_data_t *d,
    PGresult *res);

/* a statement is over (pg's done()) */
void ngx_http_disclosure_data_next(ngx_http_disclosure_data_t *d);

/* pg's error(): the session connects anew once, or the download fails */
void ngx_http_disclosure_data_failed(ngx_http_disclosure_data_t *d,
    ngx_uint_t reason, const char *what);

/* the request's log, for the session's messages while it serves d */
ngx_log_t *ngx_http_disclosure_data_log(ngx_http_disclosure_data_t *d);

/* the session d waited for was closed and could not connect anew */
void ngx_http_disclosure_data_lost(ngx_http_disclosure_data_t *d);


#endif /* _NGX_HTTP_DISCLOSURE_DATA_H_INCLUDED_ */
