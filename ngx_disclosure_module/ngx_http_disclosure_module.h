
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_MODULE_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* http{} level: one database and one connection pool per worker */
typedef struct {
    /* PQconnectStartParams() arrays, NULL-terminated, built at configuration time */
    const char                 **conn_keywords;
    const char                 **conn_values;
    ngx_str_t                    conninfo_safe;     /* password masked, for logs */
    ngx_uint_t                   keepalive;         /* idle connections kept */
    ngx_msec_t                   keepalive_timeout; /* idle connection lifetime */
    ngx_msec_t                   connect_timeout;
    ngx_msec_t                   query_timeout;     /* also statement_timeout */
    void                        *pool;              /* per worker, see _db.c */
} ngx_http_disclosure_main_conf_t;


/* server{} and location{} level */
typedef struct {
    ngx_flag_t                   enable;            /* "disclosure;" */
    ngx_str_t                    template_file;
    ngx_str_t                    template_head;     /* bytes before the marker */
    ngx_str_t                    template_tail;     /* bytes after the marker */
} ngx_http_disclosure_loc_conf_t;


extern ngx_module_t  ngx_http_disclosure_module;


ngx_int_t ngx_http_disclosure_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_DISCLOSURE_MODULE_H_INCLUDED_ */
