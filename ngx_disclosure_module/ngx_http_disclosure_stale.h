
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_STALE_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_STALE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * What a publication (or withdrawal) changed: one agency's report of one
 * year, and the agencies above it, whose roll-ups add it up.
 */
typedef struct {
    ngx_str_t                        agency;
    ngx_int_t                        year;          /* 0: the agencies
                                                       changed (names,
                                                       parents), no report */
    ngx_str_t                       *ancestors;     /* NULL: not known, so
                                                       every roll-up of the
                                                       year */
    ngx_uint_t                       nancestors;
} ngx_http_disclosure_change_t;


/*
 * Marks entries stale: with ch NULL everything, otherwise what the change
 * of that agency's report of that year makes stale (_stale.c); ancestors
 * NULL: not known, so every roll-up of the year.  Returns the number of
 * entries marked.  Fills under way store their response already stale
 * (the generation moved).
 */
ngx_uint_t ngx_http_disclosure_stale_invalidate(ngx_shm_zone_t *zone,
    ngx_http_disclosure_change_t *ch);


#endif /* _NGX_HTTP_DISCLOSURE_STALE_H_INCLUDED_ */
