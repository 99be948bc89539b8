
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_ROUTE_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_ROUTE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* longest path below the location prefix that can name anything */
#define NGX_HTTP_DISCLOSURE_MAX_PATH  128
#define NGX_HTTP_DISCLOSURE_MAX_SLUG  64


typedef enum {
    NGX_HTTP_DISCLOSURE_INDEX = 0,      /* /                    */
    NGX_HTTP_DISCLOSURE_AGENCY,         /* /{agency}/           */
    NGX_HTTP_DISCLOSURE_REPORT,         /* /{agency}/{year}     */
    NGX_HTTP_DISCLOSURE_TABLE,          /* /{agency}/{year}/{table} */
    NGX_HTTP_DISCLOSURE_TREND,          /* /{agency}/trend      */
    NGX_HTTP_DISCLOSURE_COMPARE,        /* /{agency}/{year}/compare */
    NGX_HTTP_DISCLOSURE_ROLLUP,         /* /{agency}/{year}/rollup */
    NGX_HTTP_DISCLOSURE_YEAR            /* /{year}/             */
} ngx_http_disclosure_route_e;


typedef enum {
    NGX_HTTP_DISCLOSURE_HTML = 0,
    NGX_HTTP_DISCLOSURE_JSON,
    NGX_HTTP_DISCLOSURE_CSV,
    NGX_HTTP_DISCLOSURE_FRAGMENT        /* HTML for SSI, no page around it */
} ngx_http_disclosure_variant_e;


typedef struct {
    ngx_http_disclosure_route_e    route;
    ngx_http_disclosure_variant_e  variant;
    ngx_str_t                      slug;
    ngx_str_t                      year;      /* four digits */
    ngx_str_t                      table;     /* also of the fragment of a
                                                 compare or rollup page:
                                                 a table or "completeness" */
    const char                    *error;     /* why NGX_HTTP_BAD_REQUEST */
} ngx_http_disclosure_route_t;


/*
 * Parses the path below the location prefix (already percent-decoded by
 * nginx).  Returns NGX_OK, NGX_HTTP_BAD_REQUEST (malformed: route->error
 * says why), NGX_HTTP_NOT_FOUND (well-formed, names nothing we serve), or
 * NGX_HTTP_MOVED_PERMANENTLY ("/{agency}" without its slash).
 * It only reads path; the strings in route point into it.
 */
ngx_int_t ngx_http_disclosure_parse_route(ngx_str_t *path,
    ngx_http_disclosure_route_t *route);


#endif /* _NGX_HTTP_DISCLOSURE_ROUTE_H_INCLUDED_ */
