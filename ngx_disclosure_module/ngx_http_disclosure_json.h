
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_JSON_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_JSON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <yajl/yajl_tree.h>


/* any document, re-serialized compactly; number texts kept as given,
 * "/" escaped so that "</script>" cannot appear */
ngx_int_t ngx_http_disclosure_json(ngx_http_request_t *r, yajl_val doc,
    ngx_chain_t **out);


#endif /* _NGX_HTTP_DISCLOSURE_JSON_H_INCLUDED_ */
