
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_COMPARE_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_COMPARE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <yajl/yajl_tree.h>

#include "ngx_http_disclosure_module.h"


/* disclosure-compare/1: a report beside the year before (_compare.c);
 * variant is HTML, FRAGMENT (part names the table) or CSV, the return
 * codes, prefix and dlcf as ngx_http_disclosure_out.h says */
ngx_int_t ngx_http_disclosure_compare(ngx_http_request_t *r, yajl_val doc,
    ngx_str_t *prefix, ngx_http_disclosure_loc_conf_t *dlcf,
    ngx_uint_t variant, ngx_str_t *part, ngx_chain_t **out);


#endif /* _NGX_HTTP_DISCLOSURE_COMPARE_H_INCLUDED_ */
