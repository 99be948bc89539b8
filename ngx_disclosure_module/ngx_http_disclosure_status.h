
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_STATUS_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_STATUS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* the "disclosure_status" directive: the status page of this location
 * (_status.c), JSON or Prometheus text */
char *ngx_http_disclosure_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_HTTP_DISCLOSURE_STATUS_H_INCLUDED_ */
