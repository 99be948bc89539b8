
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_DATA_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_DATA_H_INCLUDED_


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


#endif /* _NGX_HTTP_DISCLOSURE_DATA_H_INCLUDED_ */
