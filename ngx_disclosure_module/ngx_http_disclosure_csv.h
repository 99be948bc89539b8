
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_CSV_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_CSV_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <yajl/yajl_tree.h>

#include "ngx_http_disclosure_out.h"


/* disclosure-report/1: every cell as "table,row,col,value", UTF-8 with BOM,
 * CRLF, RFC 4180 quoting, formula injection guarded */
ngx_int_t ngx_http_disclosure_csv(ngx_http_request_t *r, yajl_val doc,
    ngx_chain_t **out);

/* CSV fields for the other CSV renderers: a number or text as the document
 * gives it; text quoted as RFC 4180 asks, a formula neutralised */
void ngx_http_disclosure_csv_value(ngx_http_disclosure_out_t *o, yajl_val v);
void ngx_http_disclosure_csv_text(ngx_http_disclosure_out_t *o, u_char *s);


#endif /* _NGX_HTTP_DISCLOSURE_CSV_H_INCLUDED_ */
