
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * What a publication makes stale.  A key is the route's letter, the
 * variant's, then "/slug", "/year", "/table" as the route has them (see
 * ngx_http_disclosure_cache_init_entry()):
 *
 *   i  index           always (it lists every top agency's years)
 *   a  agency page     always (an agency page lists its children's years)
 *   r  report, t table the report of that agency and year
 *   n  trend           the agency's
 *   c  comparison      the agency's, of that year and of the next (whose
 *                      "last year" it is)
 *   u  roll-up         of that year: the agency's and its ancestors'; every
 *                      agency's when the ancestors are not known
 *   y  year page       of that year
 *
 * A change of the agencies themselves (year 0: a name, a parent) makes
 * every page but the reports stale: reports keep their published names.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_disclosure_cache.h"
#include "ngx_http_disclosure_stale.h"


static ngx_uint_t ngx_http_disclosure_cache_stale_key(u_char *key,
    size_t len, void *data);
static ngx_uint_t ngx_http_disclosure_stale_prefix(u_char *rest, size_t len,
    ngx_str_t *slug, ngx_int_t year);


ngx_uint_t
ngx_http_disclosure_stale_invalidate(ngx_shm_zone_t *zone,
    ngx_http_disclosure_change_t *ch)
{
    return ngx_http_disclosure_cache_invalidate_keys(zone,
                                   ngx_http_disclosure_cache_stale_key, ch);
}


/* whether a key ("rh/xigong-edz/2024", "uh/demo-district/2024") is stale
 * after the change data (an ngx_http_disclosure_change_t, or NULL) */

static ngx_uint_t
ngx_http_disclosure_cache_stale_key(u_char *key, size_t len, void *data)
{
    ngx_http_disclosure_change_t *ch = data;

    u_char      *rest, *p;
    size_t       n;
    ngx_str_t    none;
    ngx_uint_t   i;

    if (ch == NULL || len < 2) {
        return 1;
    }

    rest = key + 2;
    n = len - 2;

    switch (key[0]) {

    case 'i':
    case 'a':
        return 1;

    case 'r':
    case 't':
        return ch->year
               && ngx_http_disclosure_stale_prefix(rest, n, &ch->agency,
                                                   ch->year);

    case 'n':
        return ch->year == 0
               || ngx_http_disclosure_stale_prefix(rest, n, &ch->agency, -1);

    case 'c':
        return ch->year == 0
               || ngx_http_disclosure_stale_prefix(rest, n, &ch->agency,
                                                   ch->year)
               || ngx_http_disclosure_stale_prefix(rest, n, &ch->agency,
                                                   ch->year + 1);

    case 'u':
        if (ch->year == 0) {
            return 1;
        }

        if (ch->ancestors == NULL) {
            /* "/{any slug}/{year}...": skip the slug */
            p = (n > 1) ? ngx_strlchr(rest + 1, rest + n, '/') : NULL;

            if (p == NULL) {
                return 1;
            }

            ngx_str_null(&none);

            return ngx_http_disclosure_stale_prefix(p, rest + n - p, &none,
                                                    ch->year);
        }

        if (ngx_http_disclosure_stale_prefix(rest, n, &ch->agency, ch->year))
        {
            return 1;
        }

        for (i = 0; i < ch->nancestors; i++) {
            if (ngx_http_disclosure_stale_prefix(rest, n, &ch->ancestors[i],
                                                 ch->year))
            {
                return 1;
            }
        }

        return 0;

    case 'y':
        ngx_str_null(&none);

        return ch->year == 0
               || ngx_http_disclosure_stale_prefix(rest, n, &none, ch->year);

    default:
        /* a kind this file does not know: stale, to be safe */
        return 1;
    }
}


/*
 * rest is "/{slug}/{year}" or "/{slug}/{year}/..." (slug empty: no "/{slug}"
 * part; year -1: "/{slug}" or "/{slug}/...")
 */

static ngx_uint_t
ngx_http_disclosure_stale_prefix(u_char *rest, size_t len, ngx_str_t *slug,
    ngx_int_t year)
{
    u_char  *p, want[1 + NGX_HTTP_DISCLOSURE_MAX_SLUG + 1 + NGX_INT_T_LEN];
    size_t   n;

    if (slug->len > NGX_HTTP_DISCLOSURE_MAX_SLUG) {
        return 0;
    }

    p = want;

    if (slug->len) {
        *p++ = '/';
        p = ngx_cpymem(p, slug->data, slug->len);
    }

    if (year >= 0) {
        p = ngx_sprintf(p, "/%i", year);
    }

    n = p - want;

    return len >= n && ngx_memcmp(rest, want, n) == 0
           && (len == n || rest[n] == '/');
}
