
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#include "ngx_http_disclosure_route.h"


/*
 * The URL grammar, below the location prefix:
 *
 *   ""                          index            (HTML)
 *   "index.json"                index            (JSON)
 *   slug                        redirect to slug/
 *   slug "/"                    agency           (HTML)
 *   slug "/index.json"          agency           (JSON)
 *   slug "/" year [".html"]     report           (HTML)
 *   slug "/" year ".json"       report           (JSON)
 *   slug "/" year ".csv"        report           (CSV)
 *   slug "/" year "/" table     one table        (HTML fragment)
 *
 *   slug  = [a-z0-9]+ ("-" [a-z0-9]+)*, at most 64 bytes (as in the schema)
 *   year  = 4 digits
 *   table = "proactive" | "applications" | "appeals"
 */


static ngx_int_t ngx_http_disclosure_parse_slug(ngx_str_t *s);
static ngx_int_t ngx_http_disclosure_parse_year(u_char *p, u_char *end,
    ngx_http_disclosure_route_t *route);


static ngx_str_t  ngx_http_disclosure_tables[] = {
    ngx_string("proactive"),
    ngx_string("applications"),
    ngx_string("appeals"),
    ngx_null_string
};


ngx_int_t
ngx_http_disclosure_parse_route(ngx_str_t *path,
    ngx_http_disclosure_route_t *route)
{
    u_char      *p, *end, *slash;
    ngx_str_t   *t;
    ngx_int_t    rc;

    ngx_memzero(route, sizeof(ngx_http_disclosure_route_t));

    if (path->len > NGX_HTTP_DISCLOSURE_MAX_PATH) {
        route->error = "path too long";
        return NGX_HTTP_BAD_REQUEST;
    }

    p = path->data;
    end = p + path->len;

    if (p == end) {
        route->route = NGX_HTTP_DISCLOSURE_INDEX;
        return NGX_OK;
    }

    if (path->len == sizeof("index.json") - 1
        && ngx_strncmp(p, "index.json", sizeof("index.json") - 1) == 0)
    {
        route->route = NGX_HTTP_DISCLOSURE_INDEX;
        route->variant = NGX_HTTP_DISCLOSURE_JSON;
        return NGX_OK;
    }

    /* the agency */

    slash = ngx_strlchr(p, end, '/');

    route->slug.data = p;
    route->slug.len = (slash ? slash : end) - p;

    if (ngx_http_disclosure_parse_slug(&route->slug) != NGX_OK) {
        route->error = "malformed agency name";
        return NGX_HTTP_BAD_REQUEST;
    }

    if (slash == NULL) {
        route->route = NGX_HTTP_DISCLOSURE_AGENCY;
        return NGX_HTTP_MOVED_PERMANENTLY;
    }

    p = slash + 1;

    if (p == end) {
        route->route = NGX_HTTP_DISCLOSURE_AGENCY;
        return NGX_OK;
    }

    if (end - p == sizeof("index.json") - 1
        && ngx_strncmp(p, "index.json", sizeof("index.json") - 1) == 0)
    {
        route->route = NGX_HTTP_DISCLOSURE_AGENCY;
        route->variant = NGX_HTTP_DISCLOSURE_JSON;
        return NGX_OK;
    }

    /* the year, with its representation */

    slash = ngx_strlchr(p, end, '/');

    rc = ngx_http_disclosure_parse_year(p, slash ? slash : end, route);
    if (rc != NGX_OK) {
        return rc;
    }

    if (slash == NULL) {
        route->route = NGX_HTTP_DISCLOSURE_REPORT;
        return NGX_OK;
    }

    if (route->variant != NGX_HTTP_DISCLOSURE_HTML
        || route->year.data + route->year.len != slash)
    {
        route->error = "a table is named below the bare year";
        return NGX_HTTP_BAD_REQUEST;
    }

    /* one table */

    route->route = NGX_HTTP_DISCLOSURE_TABLE;
    route->table.data = slash + 1;
    route->table.len = end - (slash + 1);

    for (t = ngx_http_disclosure_tables; t->len; t++) {
        if (t->len == route->table.len
            && ngx_strncmp(t->data, route->table.data, t->len) == 0)
        {
            return NGX_OK;
        }
    }

    for (p = route->table.data; p < end; p++) {
        if ((*p < 'a' || *p > 'z') && *p != '_') {
            route->error = "malformed table name";
            return NGX_HTTP_BAD_REQUEST;
        }
    }

    return NGX_HTTP_NOT_FOUND;
}


static ngx_int_t
ngx_http_disclosure_parse_slug(ngx_str_t *s)
{
    u_char  *p, *end, prev;

    if (s->len == 0 || s->len > NGX_HTTP_DISCLOSURE_MAX_SLUG) {
        return NGX_ERROR;
    }

    end = s->data + s->len;
    prev = '-';

    for (p = s->data; p < end; p++) {

        if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')) {
            prev = *p;
            continue;
        }

        /* a hyphen only between letters or digits */
        if (*p == '-' && prev != '-' && p + 1 < end) {
            prev = *p;
            continue;
        }

        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_disclosure_parse_year(u_char *p, u_char *end,
    ngx_http_disclosure_route_t *route)
{
    size_t   n;
    u_char  *ext;

    for (n = 0; p + n < end && p[n] >= '0' && p[n] <= '9'; n++) {
        /* void */
    }

    if (n != 4) {
        route->error = "the year is not four digits";
        return NGX_HTTP_BAD_REQUEST;
    }

    route->year.data = p;
    route->year.len = 4;

    ext = p + 4;
    n = end - ext;

    if (n == 0) {
        route->variant = NGX_HTTP_DISCLOSURE_HTML;

    } else if (n == 5 && ngx_strncmp(ext, ".html", 5) == 0) {
        route->variant = NGX_HTTP_DISCLOSURE_HTML;

    } else if (n == 5 && ngx_strncmp(ext, ".json", 5) == 0) {
        route->variant = NGX_HTTP_DISCLOSURE_JSON;

    } else if (n == 4 && ngx_strncmp(ext, ".csv", 4) == 0) {
        route->variant = NGX_HTTP_DISCLOSURE_CSV;

    } else if (*ext == '.') {
        return NGX_HTTP_NOT_FOUND;

    } else {
        route->error = "the year is not four digits";
        return NGX_HTTP_BAD_REQUEST;
    }

    return NGX_OK;
}
