
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_GRID_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_GRID_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_disclosure_format.h"
#include "ngx_http_disclosure_html.h"


/* a section's statistic table(s) (_grid.c), in a scrollable box, and the
 * legend if a published total differs from the derived one: NGX_OK or
 * NGX_ERROR (logged) */
ngx_int_t ngx_http_disclosure_grid_table(ngx_http_disclosure_html_t *h,
    ngx_http_disclosure_section_t *s);


#endif /* _NGX_HTTP_DISCLOSURE_GRID_H_INCLUDED_ */
