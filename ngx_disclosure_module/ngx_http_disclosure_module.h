
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_MODULE_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* bumped when a rendering changes, so that validators and cache keys change */
#define NGX_HTTP_DISCLOSURE_RENDER_VERSION  "1"


/* disclosure_cache_use_stale */
#define NGX_HTTP_DISCLOSURE_STALE_OFF       0x0002
#define NGX_HTTP_DISCLOSURE_STALE_ERROR     0x0004
#define NGX_HTTP_DISCLOSURE_STALE_UPDATING  0x0008


/* disclosure_status */
#define NGX_HTTP_DISCLOSURE_STATUS_JSON        1
#define NGX_HTTP_DISCLOSURE_STATUS_PROMETHEUS  2


/* http{} level: one database and one connection pool per worker */
typedef struct ngx_http_disclosure_main_conf_s {
    /* PQconnectStartParams() arrays, NULL-terminated, built at configuration time */
    const char                 **conn_keywords;
    const char                 **conn_values;
    ngx_str_t                    conninfo_safe;     /* password masked, for logs */
    struct ngx_http_disclosure_conninfo_s  *conninfo;  /* the pool's and the
                                                       listener's arrays,
                                                       see _conninfo.c */
    ngx_uint_t                   keepalive;         /* idle connections kept */
    ngx_uint_t                   max_connections;   /* per worker, 0: none */
    ngx_msec_t                   keepalive_timeout; /* idle connection lifetime */
    ngx_msec_t                   connect_timeout;
    ngx_msec_t                   query_timeout;     /* also statement_timeout */
    void                        *pool;              /* per worker, see _db.c */

    ngx_array_t                  cache_zones;       /* ngx_shm_zone_t * */
    ngx_msec_t                   cache_poll;        /* data version polling */
    ngx_shm_zone_t              *shared;            /* see _listener.c */

    /* disclosure_preview_database: the same settings, its own pool */
    struct ngx_http_disclosure_main_conf_s  *preview;
    ngx_uint_t                   writes_temp;       /* the preview's: not
                                                       read-only sessions */
} ngx_http_disclosure_main_conf_t;


/* server{} and location{} level */
typedef struct {
    ngx_flag_t                   enable;            /* "disclosure;" */
    ngx_str_t                    template_file;
    ngx_str_t                    template_head;     /* bytes before the marker */
    ngx_str_t                    template_tail;     /* bytes after the marker */
    time_t                       template_time;     /* when it was read: no
                                                       page is older */

    ngx_shm_zone_t              *cache;             /* NULL: "off" */
    time_t                       cache_valid;
    time_t                       cache_stale_time;
    ngx_msec_t                   cache_lock_timeout;
    ngx_uint_t                   cache_use_stale;
    ngx_array_t                 *cache_bypass;
    uint32_t                     cache_location;    /* identity in cache keys */

    ngx_uint_t                   status;            /* "disclosure_status" */
    ngx_flag_t                   preview;           /* "disclosure_preview" */
} ngx_http_disclosure_loc_conf_t;


extern ngx_module_t  ngx_http_disclosure_module;


ngx_int_t ngx_http_disclosure_handler(ngx_http_request_t *r);

/* a response header whose key and value outlive the request */
ngx_int_t ngx_http_disclosure_add_header(ngx_http_request_t *r, char *key,
    ngx_str_t *value);
ngx_int_t ngx_http_disclosure_cache_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

char *ngx_http_disclosure_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_disclosure_conf_database(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_HTTP_DISCLOSURE_MODULE_H_INCLUDED_ */
