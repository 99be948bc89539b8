
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
 *   slug "/trend" [ext]         trend            (HTML, JSON, CSV)
 *   slug "/trend/fragment"      trend            (HTML fragment)
 *   slug "/" year "/compare" [ext]          comparison with last year
 *   slug "/" year "/compare/" table         its fragment
 *   slug "/" year "/rollup" [ext]           roll-up of the descendants
 *   slug "/" year "/rollup/" (table | "completeness")   its fragments
 *   year                        redirect to year/
 *   year "/"                    year page        (HTML)
 *   year "/index.json", year "/index.csv", year "/fragment"
 *
 *   ext   = ".json" | ".csv"
 *   A first segment of digits only is a year, never an agency: the schema
 *   refuses such slugs, and reserved words (trend, ...) too.
 *
 *   slug  = [a-z0-9]+ ("-" [a-z0-9]+)*, at most 64 bytes (as in the schema)
 *   year  = 4 digits
 *   table = "proactive" | "applications" | "appeals"
 */


static ngx_int_t ngx_http_disclosure_parse_slug(ngx_str_t *s);
static ngx_int_t ngx_http_disclosure_parse_year(u_char *p, u_char *end,
    ngx_http_disclosure_route_t *route);
static ngx_int_t ngx_http_disclosure_parse_year_page(u_char *p, u_char *end,
    ngx_http_disclosure_route_t *route);
static ngx_int_t ngx_http_disclosure_parse_word(u_char *p, u_char *end,
    const char *word, ngx_str_t *parts, ngx_http_disclosure_route_t *route);
static ngx_int_t ngx_http_disclosure_is_table(ngx_str_t *name);


static ngx_str_t  ngx_http_disclosure_tables[] = {
    ngx_string("proactive"),
    ngx_string("applications"),
    ngx_string("appeals"),
    ngx_null_string
};


static ngx_str_t  ngx_http_disclosure_fragment_parts[] = {
    ngx_string("fragment"),
    ngx_null_string
};


static ngx_str_t  ngx_http_disclosure_rollup_parts[] = {
    ngx_string("proactive"),
    ngx_string("applications"),
    ngx_string("appeals"),
    ngx_string("completeness"),
    ngx_null_string
};


ngx_int_t
ngx_http_disclosure_parse_route(ngx_str_t *path,
    ngx_http_disclosure_route_t *route)
{
    u_char      *p, *end, *slash, *t_end;
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

    slash = ngx_strlchr(p, end, '/');

    for (t_end = p; t_end < (slash ? slash : end); t_end++) {
        if (*t_end < '0' || *t_end > '9') {
            break;
        }
    }

    if (t_end > p && t_end == (slash ? slash : end)) {
        return ngx_http_disclosure_parse_year_page(p, end, route);
    }

    /* the agency */

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

    rc = ngx_http_disclosure_parse_word(p, end, "trend",
                                        ngx_http_disclosure_fragment_parts,
                                        route);
    if (rc != NGX_DECLINED) {
        route->route = NGX_HTTP_DISCLOSURE_TREND;
        return rc;
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

    /* a page about the year's report, or one table */

    p = slash + 1;

    rc = ngx_http_disclosure_parse_word(p, end, "compare",
                                        ngx_http_disclosure_tables, route);
    if (rc != NGX_DECLINED) {
        route->route = NGX_HTTP_DISCLOSURE_COMPARE;
        return rc;
    }

    rc = ngx_http_disclosure_parse_word(p, end, "rollup",
                                        ngx_http_disclosure_rollup_parts,
                                        route);
    if (rc != NGX_DECLINED) {
        route->route = NGX_HTTP_DISCLOSURE_ROLLUP;
        return rc;
    }

    route->route = NGX_HTTP_DISCLOSURE_TABLE;
    route->table.data = p;
    route->table.len = end - p;

    if (ngx_http_disclosure_is_table(&route->table)) {
        return NGX_OK;
    }

    for ( /* void */ ; p < end; p++) {
        if ((*p < 'a' || *p > 'z') && *p != '_') {
            route->error = "malformed table name";
            return NGX_HTTP_BAD_REQUEST;
        }
    }

    return NGX_HTTP_NOT_FOUND;
}


static ngx_int_t
ngx_http_disclosure_is_table(ngx_str_t *name)
{
    ngx_str_t  *t;

    for (t = ngx_http_disclosure_tables; t->len; t++) {
        if (t->len == name->len
            && ngx_strncmp(t->data, name->data, t->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * word, word ".json", word ".csv" or word "/" part (a fragment): NGX_OK;
 * NGX_DECLINED when the text is not about word; NGX_HTTP_NOT_FOUND for
 * another extension or part.
 */

static ngx_int_t
ngx_http_disclosure_parse_word(u_char *p, u_char *end, const char *word,
    ngx_str_t *parts, ngx_http_disclosure_route_t *route)
{
    size_t      n, len;
    ngx_str_t  *t;

    /* a table or a year mostly: tried on every fragment of an SSI page */
    if (p == end || *p != (u_char) *word) {
        return NGX_DECLINED;
    }

    n = ngx_strlen(word);
    len = end - p;

    if (len < n || ngx_strncmp(p, word, n) != 0
        || (len > n && p[n] != '.' && p[n] != '/'))
    {
        return NGX_DECLINED;
    }

    p += n;
    len -= n;

    if (len == 0) {
        route->variant = NGX_HTTP_DISCLOSURE_HTML;
        return NGX_OK;
    }

    if (len == 5 && ngx_strncmp(p, ".json", 5) == 0) {
        route->variant = NGX_HTTP_DISCLOSURE_JSON;
        return NGX_OK;
    }

    if (len == 4 && ngx_strncmp(p, ".csv", 4) == 0) {
        route->variant = NGX_HTTP_DISCLOSURE_CSV;
        return NGX_OK;
    }

    if (*p == '/') {
        for (t = parts; t->len; t++) {
            if (t->len == len - 1 && ngx_strncmp(t->data, p + 1, t->len) == 0)
            {
                route->variant = NGX_HTTP_DISCLOSURE_FRAGMENT;
                route->table.data = p + 1;
                route->table.len = t->len;
                return NGX_OK;
            }
        }
    }

    return NGX_HTTP_NOT_FOUND;
}


/* "2024", "2024/", "2024/index.json", "2024/index.csv", "2024/fragment" */

static ngx_int_t
ngx_http_disclosure_parse_year_page(u_char *p, u_char *end,
    ngx_http_disclosure_route_t *route)
{
    size_t  len;

    route->route = NGX_HTTP_DISCLOSURE_YEAR;

    if (end - p < 4 || (end - p > 4 && p[4] != '/')) {
        /* digits, but no year: neither a year nor an agency */
        return NGX_HTTP_NOT_FOUND;
    }

    route->year.data = p;
    route->year.len = 4;

    if (end - p == 4) {
        return NGX_HTTP_MOVED_PERMANENTLY;
    }

    p += 5;
    len = end - p;

    if (len == 0) {
        route->variant = NGX_HTTP_DISCLOSURE_HTML;

    } else if (len == 10 && ngx_strncmp(p, "index.json", 10) == 0) {
        route->variant = NGX_HTTP_DISCLOSURE_JSON;

    } else if (len == 9 && ngx_strncmp(p, "index.csv", 9) == 0) {
        route->variant = NGX_HTTP_DISCLOSURE_CSV;

    } else if (len == 8 && ngx_strncmp(p, "fragment", 8) == 0) {
        route->variant = NGX_HTTP_DISCLOSURE_FRAGMENT;

    } else {
        return NGX_HTTP_NOT_FOUND;
    }

    return NGX_OK;
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
