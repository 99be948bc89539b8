
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_CATALOG_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_CATALOG_H_INCLUDED_


#include "ngx_http_disclosure_module.h"


/*
 * data/, data/index.html, data/index.json (the catalog) and
 * format/{format}.json (the data dictionary): one query of the pool, a
 * small response.  Called by _data.c's router with the path below the
 * prefix; returns what a content handler returns.
 */
ngx_int_t ngx_http_disclosure_catalog_handler(ngx_http_request_t *r,
    ngx_str_t *path);


#endif /* _NGX_HTTP_DISCLOSURE_CATALOG_H_INCLUDED_ */
