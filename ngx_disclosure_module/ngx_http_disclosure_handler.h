
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_HANDLER_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_HANDLER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* the content handler of "disclosure;" (_handler.c) */
ngx_int_t ngx_http_disclosure_handler(ngx_http_request_t *r);

/* a response header whose key and value outlive the request */
ngx_int_t ngx_http_disclosure_add_header(ngx_http_request_t *r, char *key,
    ngx_str_t *value);

/* $disclosure_cache_status */
ngx_int_t ngx_http_disclosure_handler_cache_status_variable(
    ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data);


#endif /* _NGX_HTTP_DISCLOSURE_HANDLER_H_INCLUDED_ */
