
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * The request path below the location prefix, as nginx hands it over
 * (percent-decoded, any bytes): ngx_http_disclosure_parse_route().  Besides
 * memory errors, what it answers is checked against the URL grammar of
 * ngx_http_disclosure_route.c, with a second, plainer reading of it:
 * whatever it accepts names only what the grammar allows, and every string
 * it returns lies inside the path.  (The query string is never read by the
 * module: nginx keeps it apart in r->args.)
 */


#include "fuzz.h"
#include "ngx_http_disclosure_route.h"


#define fuzz_digit(c)  ((c) >= '0' && (c) <= '9')


static ngx_uint_t fuzz_slug(u_char *p, size_t len);
static ngx_uint_t fuzz_inside(ngx_str_t *path, ngx_str_t *s);
static ngx_uint_t fuzz_is(ngx_str_t *s, const char *text);
static ngx_uint_t fuzz_word(ngx_str_t *tail, const char *word,
    ngx_http_disclosure_route_t *route, ngx_uint_t parts);


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ngx_http_disclosure_fuzz_init();
    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                       *copy, *slash;
    size_t                        rest;
    ngx_int_t                     rc;
    ngx_str_t                     path, tail;
    ngx_http_disclosure_route_t   route;

    /* a copy of exactly size bytes: reading past it is an ASan error */
    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }

    ngx_memcpy(copy, data, size);

    path.data = copy;
    path.len = size;

    rc = ngx_http_disclosure_parse_route(&path, &route);

    switch (rc) {

    case NGX_OK:
        break;

    case NGX_HTTP_BAD_REQUEST:
        ngx_http_disclosure_fuzz_check(route.error != NULL,
                                       "400 without a reason");
        goto done;

    case NGX_HTTP_NOT_FOUND:
        ngx_http_disclosure_fuzz_check(size <= NGX_HTTP_DISCLOSURE_MAX_PATH,
                                       "a long path is not 400");
        goto done;

    case NGX_HTTP_MOVED_PERMANENTLY:
        ngx_http_disclosure_fuzz_check(fuzz_slug(copy, size),
                                       "301 for \"%.*s\", not an agency",
                                       (int) size, copy);
        goto done;

    default:
        ngx_http_disclosure_fuzz_check(0, "unexpected rc %d", (int) rc);
    }

    ngx_http_disclosure_fuzz_check(size <= NGX_HTTP_DISCLOSURE_MAX_PATH,
                                   "%zu bytes accepted", size);

    if (route.route == NGX_HTTP_DISCLOSURE_INDEX) {
        ngx_http_disclosure_fuzz_check(
            size == 0
            || (size == 10 && ngx_memcmp(copy, "index.json", 10) == 0),
            "index for \"%.*s\"", (int) size, copy);
        goto done;
    }

    if (route.route == NGX_HTTP_DISCLOSURE_YEAR) {
        tail.data = copy + 5;
        tail.len = size >= 5 ? size - 5 : 0;

        ngx_http_disclosure_fuzz_check(
            size >= 5 && route.year.data == copy && route.year.len == 4
            && fuzz_digit(copy[0]) && fuzz_digit(copy[1])
            && fuzz_digit(copy[2]) && fuzz_digit(copy[3]) && copy[4] == '/'
            && ((tail.len == 0 && route.variant == NGX_HTTP_DISCLOSURE_HTML)
                || (fuzz_is(&tail, "index.json")
                    && route.variant == NGX_HTTP_DISCLOSURE_JSON)
                || (fuzz_is(&tail, "index.csv")
                    && route.variant == NGX_HTTP_DISCLOSURE_CSV)
                || (fuzz_is(&tail, "fragment")
                    && route.variant == NGX_HTTP_DISCLOSURE_FRAGMENT)),
            "year page for \"%.*s\"", (int) size, copy);
        goto done;
    }

    /* everything else starts with an agency and a slash */

    ngx_http_disclosure_fuzz_check(route.slug.data == copy
                                   && fuzz_inside(&path, &route.slug)
                                   && fuzz_slug(route.slug.data,
                                                route.slug.len)
                                   && route.slug.len < size
                                   && copy[route.slug.len] == '/',
                                   "bad agency in \"%.*s\"", (int) size, copy);

    tail.data = copy + route.slug.len + 1;
    tail.len = size - route.slug.len - 1;

    switch (route.route) {

    case NGX_HTTP_DISCLOSURE_AGENCY:
        ngx_http_disclosure_fuzz_check(
            (tail.len == 0 && route.variant == NGX_HTTP_DISCLOSURE_HTML)
            || (fuzz_is(&tail, "index.json")
                && route.variant == NGX_HTTP_DISCLOSURE_JSON),
            "agency for \"%.*s\"", (int) size, copy);
        break;

    case NGX_HTTP_DISCLOSURE_REPORT:
    case NGX_HTTP_DISCLOSURE_TABLE:
        ngx_http_disclosure_fuzz_check(
            route.year.data == tail.data && route.year.len == 4
            && tail.len >= 4
            && fuzz_digit(tail.data[0]) && fuzz_digit(tail.data[1])
            && fuzz_digit(tail.data[2]) && fuzz_digit(tail.data[3]),
            "bad year in \"%.*s\"", (int) size, copy);

        tail.data += 4;
        tail.len -= 4;

        if (route.route == NGX_HTTP_DISCLOSURE_REPORT) {
            ngx_http_disclosure_fuzz_check(
                ((tail.len == 0 || fuzz_is(&tail, ".html"))
                 && route.variant == NGX_HTTP_DISCLOSURE_HTML)
                || (fuzz_is(&tail, ".json")
                    && route.variant == NGX_HTTP_DISCLOSURE_JSON)
                || (fuzz_is(&tail, ".csv")
                    && route.variant == NGX_HTTP_DISCLOSURE_CSV),
                "report for \"%.*s\"", (int) size, copy);
            break;
        }

        slash = tail.len ? tail.data : NULL;
        rest = tail.len ? tail.len - 1 : 0;

        ngx_http_disclosure_fuzz_check(
            slash && *slash == '/' && route.table.data == slash + 1
            && route.table.len == rest && fuzz_inside(&path, &route.table)
            && route.variant == NGX_HTTP_DISCLOSURE_HTML
            && (fuzz_is(&route.table, "proactive")
                || fuzz_is(&route.table, "applications")
                || fuzz_is(&route.table, "appeals")),
            "table for \"%.*s\"", (int) size, copy);
        break;

    case NGX_HTTP_DISCLOSURE_TREND:
        ngx_http_disclosure_fuzz_check(
            fuzz_word(&tail, "trend", &route, 0),
            "trend for \"%.*s\"", (int) size, copy);
        break;

    case NGX_HTTP_DISCLOSURE_COMPARE:
    case NGX_HTTP_DISCLOSURE_ROLLUP:
        ngx_http_disclosure_fuzz_check(
            route.year.data == tail.data && route.year.len == 4
            && tail.len >= 5
            && fuzz_digit(tail.data[0]) && fuzz_digit(tail.data[1])
            && fuzz_digit(tail.data[2]) && fuzz_digit(tail.data[3])
            && tail.data[4] == '/',
            "bad year in \"%.*s\"", (int) size, copy);

        tail.data += 5;
        tail.len -= 5;

        ngx_http_disclosure_fuzz_check(
            route.route == NGX_HTTP_DISCLOSURE_COMPARE
            ? fuzz_word(&tail, "compare", &route, 1)
            : fuzz_word(&tail, "rollup", &route, 2),
            "compare or rollup for \"%.*s\"", (int) size, copy);
        break;

    default:
        ngx_http_disclosure_fuzz_check(0, "unknown route %d",
                                       (int) route.route);
    }

done:

    free(copy);

    return 0;
}


/* [a-z0-9]+ ("-" [a-z0-9]+)*, at most 64 bytes */

static ngx_uint_t
fuzz_slug(u_char *p, size_t len)
{
    size_t      i;
    ngx_uint_t  word;

    if (len == 0 || len > NGX_HTTP_DISCLOSURE_MAX_SLUG) {
        return 0;
    }

    word = 0;

    for (i = 0; i < len; i++) {
        if ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9')) {
            word = 1;

        } else if (p[i] == '-' && word && i + 1 < len) {
            word = 0;

        } else {
            return 0;
        }
    }

    return word;
}


static ngx_uint_t
fuzz_inside(ngx_str_t *path, ngx_str_t *s)
{
    return s->data >= path->data
           && s->data + s->len <= path->data + path->len;
}


static ngx_uint_t
fuzz_is(ngx_str_t *s, const char *text)
{
    size_t  len;

    len = ngx_strlen(text);

    return s->len == len && ngx_memcmp(s->data, text, len) == 0;
}


/*
 * word, word ".json", word ".csv", or word "/" part: parts 0 "fragment",
 * 1 a table, 2 a table or "completeness"
 */

static ngx_uint_t
fuzz_word(ngx_str_t *tail, const char *word, ngx_http_disclosure_route_t *route,
    ngx_uint_t parts)
{
    size_t     n;
    ngx_str_t  rest;

    n = ngx_strlen(word);

    if (tail->len < n || ngx_memcmp(tail->data, word, n) != 0) {
        return 0;
    }

    rest.data = tail->data + n;
    rest.len = tail->len - n;

    if (rest.len == 0) {
        return route->variant == NGX_HTTP_DISCLOSURE_HTML;
    }

    if (fuzz_is(&rest, ".json")) {
        return route->variant == NGX_HTTP_DISCLOSURE_JSON;
    }

    if (fuzz_is(&rest, ".csv")) {
        return route->variant == NGX_HTTP_DISCLOSURE_CSV;
    }

    if (rest.data[0] != '/' || route->variant != NGX_HTTP_DISCLOSURE_FRAGMENT
        || route->table.data != rest.data + 1
        || route->table.len != rest.len - 1)
    {
        return 0;
    }

    if (parts == 0) {
        return fuzz_is(&route->table, "fragment");
    }

    return fuzz_is(&route->table, "proactive")
           || fuzz_is(&route->table, "applications")
           || fuzz_is(&route->table, "appeals")
           || (parts == 2 && fuzz_is(&route->table, "completeness"));
}
