
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * The connection string of "disclosure_database", from nginx.conf, and
 * what the module logs of it: the two functions of
 * ngx_http_disclosure_conninfo.c that say it, linked from the module's
 * archive.  The host lookup of the directive is left out (it asks DNS).
 *
 *   a string libpq refuses: the error the module logs must not show any
 *   piece of a secret.  Inputs that hold "Zq7Xk" (the dictionary and the
 *   corpus carry it) stand for a secret: when the string can hold one (the
 *   name of an option libpq marks secret, dispchar "*": "password",
 *   "sslpassword"; or a URI with userinfo or %-escapes, which can spell
 *   such a name), no three letters of it may appear in the message;
 *
 *   a string libpq takes: the masked string logged at every start must
 *   parse again into the same options, every secret one as "********".
 */


#include "fuzz.h"
#include "ngx_http_disclosure_conninfo.h"


#define FUZZ_SECRET  "Zq7Xk"


static void fuzz_refused(ngx_conf_t *cf, ngx_str_t *conninfo, char *err);
static void fuzz_taken(ngx_conf_t *cf, PQconninfoOption *opts);
static ngx_uint_t fuzz_names_secret(ngx_str_t *conninfo);


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ngx_http_disclosure_fuzz_init();
    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char              *conninfo, *err;
    ngx_str_t          value;
    ngx_conf_t         cf;
    ngx_pool_t        *pool;
    PQconninfoOption  *opts;

    if (size > 4096) {
        return 0;
    }

    pool = ngx_create_pool(1024, &ngx_http_disclosure_fuzz_log);
    if (pool == NULL) {
        abort();
    }

    ngx_memzero(&cf, sizeof(ngx_conf_t));
    cf.pool = pool;
    cf.temp_pool = pool;
    cf.log = &ngx_http_disclosure_fuzz_log;

    /* nginx.conf cannot hold a NUL: the string ends at the first one */
    conninfo = ngx_http_disclosure_fuzz_cstr(pool, data, size);
    value.data = (u_char *) conninfo;
    value.len = ngx_strlen(conninfo);

    err = NULL;
    opts = PQconninfoParse(conninfo, &err);

    if (opts == NULL) {
        if (err) {
            fuzz_refused(&cf, &value, err);
            PQfreemem(err);
        }

    } else {
        fuzz_taken(&cf, opts);
        PQconninfoFree(opts);
    }

    ngx_destroy_pool(pool);

    return 0;
}


static void
fuzz_refused(ngx_conf_t *cf, ngx_str_t *conninfo, char *err)
{
    char        piece[4];
    u_char     *s, *end;
    ngx_str_t  *logged;
    ngx_uint_t  secret, i;

    ngx_http_disclosure_fuzz_capture(1);
    ngx_http_disclosure_conninfo_error(cf, conninfo, err);
    ngx_http_disclosure_fuzz_capture(0);

    logged = ngx_http_disclosure_fuzz_logged();

    ngx_http_disclosure_fuzz_check(
        ngx_strnstr(logged->data, "invalid \"disclosure_database\"",
                    logged->len) != NULL,
        "nothing logged for \"%s\"", conninfo->data);

    s = conninfo->data;
    end = s + conninfo->len;

    secret = fuzz_names_secret(conninfo)
             || (ngx_strnstr(s, "://", conninfo->len) != NULL
                 && (ngx_strlchr(s, end, '@') != NULL
                     || ngx_strlchr(s, end, '%') != NULL));

    if (!secret || ngx_strnstr(s, FUZZ_SECRET, conninfo->len) == NULL) {
        return;
    }

    for (i = 0; i + 3 <= sizeof(FUZZ_SECRET) - 1; i++) {
        ngx_memcpy(piece, &FUZZ_SECRET[i], 3);
        piece[3] = '\0';

        ngx_http_disclosure_fuzz_check(
            ngx_strnstr(logged->data, piece, logged->len) == NULL,
            "\"%s\" shows a piece of the password: %.*s",
            conninfo->data, (int) logged->len, logged->data);
    }
}


static void
fuzz_taken(ngx_conf_t *cf, PQconninfoOption *opts)
{
    char              *again, *err;
    ngx_str_t          safe;
    PQconninfoOption  *o, *r, *p;

    if (ngx_http_disclosure_conninfo_mask(cf, opts, &safe) != NGX_OK) {
        abort();
    }

    again = ngx_http_disclosure_fuzz_cstr(cf->pool, safe.data, safe.len);

    err = NULL;
    r = PQconninfoParse(again, &err);

    ngx_http_disclosure_fuzz_check(r != NULL, "the logged string \"%s\" does "
                                   "not parse: %s", again, err ? err : "");

    /* the options set, in libpq's order both times */
    p = opts;

    for (o = r; o->keyword; o++) {
        if (o->val == NULL) {
            continue;
        }

        while (p->keyword && p->val == NULL) {
            p++;
        }

        ngx_http_disclosure_fuzz_check(p->keyword != NULL
                                       && ngx_strcmp(o->keyword,
                                                     p->keyword) == 0,
                                       "\"%s\": option %s is new in \"%s\"",
                                       again, o->keyword, again);

        if (o->dispchar[0] == '*') {
            ngx_http_disclosure_fuzz_check(ngx_strcmp(o->val, "********") == 0,
                                           "secret %s is logged: \"%s\"",
                                           o->keyword, again);

        } else {
            ngx_http_disclosure_fuzz_check(ngx_strcmp(o->val, p->val) == 0,
                                           "%s=\"%s\" is logged as \"%s\"",
                                           o->keyword, p->val, o->val);
        }

        p++;
    }

    while (p->keyword && p->val == NULL) {
        p++;
    }

    ngx_http_disclosure_fuzz_check(p->keyword == NULL,
                                   "options lost in \"%s\"", again);

    PQconninfoFree(r);
}


/* the names of libpq's secret options, as libpq itself lists them */

static ngx_uint_t
fuzz_names_secret(ngx_str_t *conninfo)
{
    ngx_uint_t         found, secrets;
    PQconninfoOption  *opts, *o;

    opts = PQconninfoParse("", NULL);
    if (opts == NULL) {
        abort();
    }

    found = 0;
    secrets = 0;

    for (o = opts; o->keyword; o++) {
        if (o->dispchar[0] != '*') {
            continue;
        }

        secrets++;

        if (ngx_strnstr(conninfo->data, o->keyword, conninfo->len) != NULL) {
            found = 1;
        }
    }

    PQconninfoFree(opts);

    /* libpq 15 has two: password and sslpassword */
    ngx_http_disclosure_fuzz_check(secrets >= 2, "libpq lists %d secret "
                                   "options", (int) secrets);

    return found;
}
