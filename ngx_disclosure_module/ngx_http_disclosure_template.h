
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_TEMPLATE_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_TEMPLATE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* the "disclosure_template" directive (NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|
 * NGX_CONF_TAKE1, NGX_HTTP_LOC_CONF_OFFSET, offset 0): reads the portal page
 * at configuration time and splits it at "<!--# disclosure -->" into
 * template_head and template_tail, and notes template_time; merge_loc_conf
 * takes the four from the parent together when template_file is unset, so
 * that a head and a tail are always of the same file */
char *ngx_http_disclosure_template(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_HTTP_DISCLOSURE_TEMPLATE_H_INCLUDED_ */
