
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_TIME_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_TIME_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* "2025-01-20T09:00:00+08:00", as the database writes times, to time_t;
 * -1 for anything else (another layout, a field out of range, a year
 * before 1970) */
time_t ngx_http_disclosure_time_parse_iso(const char *s);


#endif /* _NGX_HTTP_DISCLOSURE_TIME_H_INCLUDED_ */
