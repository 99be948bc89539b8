
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * The times of documents ("published_at", "changed_at") as time_t, for
 * Last-Modified.  The database writes one layout only, so this is no
 * general RFC 3339 parser; fuzz/iso_time.c compares it with timegm().
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_disclosure_time.h"


time_t
ngx_http_disclosure_time_parse_iso(const char *s)
{
    u_char      *p;
    ngx_int_t    year, month, day, hour, min, sec, oh, om, off, days;

    p = (u_char *) s;

    if (ngx_strlen(s) != sizeof("2025-01-20T09:00:00+08:00") - 1
        || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':'
        || p[16] != ':' || (p[19] != '+' && p[19] != '-') || p[22] != ':')
    {
        return -1;
    }

    /* anything but digits is NGX_ERROR, below every range */

    year = ngx_atoi(p, 4);
    month = ngx_atoi(p + 5, 2);
    day = ngx_atoi(p + 8, 2);
    hour = ngx_atoi(p + 11, 2);
    min = ngx_atoi(p + 14, 2);
    sec = ngx_atoi(p + 17, 2);
    oh = ngx_atoi(p + 20, 2);
    om = ngx_atoi(p + 23, 2);

    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31
        || hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0
        || sec > 60 || oh < 0 || oh > 23 || om < 0 || om > 59)
    {
        return -1;
    }

    /*
     * Gauss' formula for days since 1 March 1 BC, as ngx_http_parse_time():
     * months count from March, January and February are the year before
     */

    month -= 2;

    if (month <= 0) {
        month += 12;
        year -= 1;
    }

    days = 365 * year + year / 4 - year / 100 + year / 400
           + 367 * month / 12 - 30 + day - 1
           - 719527 + 31 + 28;

    off = oh * 60 + om;

    if (p[19] == '+') {
        off = -off;
    }

    return (time_t) days * 86400 + hour * 3600 + min * 60 + sec + off * 60;
}
