
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * The time parser behind Last-Modified:
 * ngx_http_disclosure_time_parse_iso() of ngx_http_disclosure_time.c,
 * linked from the module's archive.  The text comes from the database
 * ("published_at", "changed_at").  The answer is compared with timegm() on
 * the same fields, read by a plain RFC 3339 reading of the one layout the
 * database writes, "2025-01-20T09:00:00+08:00": every field digits, month
 * 01-12, day 01-31, hour 00-23, minute 00-59, second 00-60, offset hours
 * 00-23 and minutes 00-59, year from 1970; anything else is -1.
 */


#include "fuzz.h"
#include "ngx_http_disclosure_time.h"


static time_t fuzz_reference(const char *s);
static ngx_int_t fuzz_field(const char *s, size_t len, ngx_int_t min,
    ngx_int_t max);


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ngx_http_disclosure_fuzz_init();
    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char    *s;
    time_t   t, ref;

    /* exactly size + 1 bytes: reading past the NUL is an ASan error */
    s = malloc(size + 1);
    if (s == NULL) {
        return 0;
    }

    ngx_memcpy(s, data, size);
    s[size] = '\0';

    t = ngx_http_disclosure_time_parse_iso(s);
    ref = fuzz_reference(s);

    ngx_http_disclosure_fuzz_check(t == ref, "\"%s\": %lld, expected %lld",
                                   s, (long long) t, (long long) ref);

    free(s);

    return 0;
}


static time_t
fuzz_reference(const char *s)
{
    ngx_int_t  year, month, day, hour, min, sec, oh, om;
    struct tm  tm;

    if (strlen(s) != 25
        || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':'
        || s[16] != ':' || (s[19] != '+' && s[19] != '-') || s[22] != ':')
    {
        return -1;
    }

    year = fuzz_field(s, 4, 1970, 9999);
    month = fuzz_field(s + 5, 2, 1, 12);
    day = fuzz_field(s + 8, 2, 1, 31);
    hour = fuzz_field(s + 11, 2, 0, 23);
    min = fuzz_field(s + 14, 2, 0, 59);
    sec = fuzz_field(s + 17, 2, 0, 60);
    oh = fuzz_field(s + 20, 2, 0, 23);
    om = fuzz_field(s + 23, 2, 0, 59);

    if (year < 0 || month < 0 || day < 0 || hour < 0 || min < 0 || sec < 0
        || oh < 0 || om < 0)
    {
        return -1;
    }

    ngx_memzero(&tm, sizeof(struct tm));
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;

    return timegm(&tm) - (s[19] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
}


/* len digits, between min and max; -1 otherwise */

static ngx_int_t
fuzz_field(const char *s, size_t len, ngx_int_t min, ngx_int_t max)
{
    size_t     i;
    ngx_int_t  n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        n = n * 10 + (s[i] - '0');
    }

    return (n < min || n > max) ? -1 : n;
}
