
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_CONNINFO_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_CONNINFO_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <libpq-fe.h>

#include "ngx_http_disclosure_module.h"


/*
 * What PQconnectStartParams() gets, NULL-terminated arrays built at
 * configuration time (main conf ->conninfo; NULL without a database):
 * the configured options (main conf ->conn_keywords, ->conn_values) plus
 * the session settings ("options": statement_timeout of
 * disclosure_query_timeout, read-only sessions but for the preview's;
 * GSSAPI encryption off unless asked for: getting Kerberos tickets may
 * block), and the listener's copy with an application name of its own.
 */

typedef struct ngx_http_disclosure_conninfo_s {
    const char                 **keywords;          /* the pool's */
    const char                 **values;
    const char                 **listener_keywords; /* NULL: the preview */
    const char                 **listener_values;
} ngx_http_disclosure_conninfo_t;


/* disclosure_database, disclosure_preview_database: the string parsed */
char *ngx_http_disclosure_conf_database(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* from init_main_conf, once the timeouts are known: the arrays above, for
 * the database and the preview's */
ngx_int_t ngx_http_disclosure_conninfo_init_main_conf(ngx_conf_t *cf,
    ngx_http_disclosure_main_conf_t *dmcf);

/*
 * For fuzz/conninfo.c, which checks what is logged of a string: libpq's
 * parse error with every piece of a secret hidden (logged at "emerg"),
 * and the parsed options in libpq's syntax, every secret "********".
 */
void ngx_http_disclosure_conninfo_error(ngx_conf_t *cf, ngx_str_t *conninfo,
    char *err);
ngx_int_t ngx_http_disclosure_conninfo_mask(ngx_conf_t *cf,
    PQconninfoOption *opts, ngx_str_t *safe);


#endif /* _NGX_HTTP_DISCLOSURE_CONNINFO_H_INCLUDED_ */
