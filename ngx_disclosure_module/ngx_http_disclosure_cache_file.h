
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_CACHE_FILE_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_CACHE_FILE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_disclosure_cache_node.h"


/* the zone's memory as a memfd, for _cache.c and _cache_node.c */

/* at configuration: the file's name, its descriptor closed with the cycle */
ngx_int_t ngx_http_disclosure_cache_file_conf(ngx_conf_t *cf,
    ngx_http_disclosure_cache_t *cache, ngx_str_t *name);
/* a new zone: a memfd mapped over it, or none (bodies are copied) */
ngx_int_t ngx_http_disclosure_cache_file_init(ngx_shm_zone_t *shm_zone,
    ngx_http_disclosure_cache_t *cache);
/* a zone a reload keeps: its memfd under the new cycle's descriptor */
ngx_int_t ngx_http_disclosure_cache_file_reuse(
    ngx_http_disclosure_cache_t *cache, ngx_http_disclosure_cache_t *ocache);
/* whole body pages out of the file before the slab may reuse them */
void ngx_http_disclosure_cache_file_punch(ngx_http_disclosure_cache_t *cache,
    u_char *p, size_t len);
/* the file body pages may be sent from, or NULL */
ngx_file_t *ngx_http_disclosure_cache_file(ngx_http_disclosure_cache_t *cache);


#endif /* _NGX_HTTP_DISCLOSURE_CACHE_FILE_H_INCLUDED_ */
