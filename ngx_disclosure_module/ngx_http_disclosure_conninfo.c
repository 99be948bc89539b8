
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * The connection string of "disclosure_database" (and of
 * "disclosure_preview_database"): parsed, expanded (service file, the PG*
 * variables given to the workers), host names resolved and secrets masked
 * for logs at configuration time, in the master; then, once the http
 * block is read, the arrays the pool and the listener hand to
 * PQconnectStartParams(), with the session settings.  A worker never
 * reads a file or asks DNS to connect.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <libpq-fe.h>

#include "ngx_http_disclosure_module.h"
#include "ngx_http_disclosure_conninfo.h"


#define NGX_HTTP_DISCLOSURE_APPLICATION_NAME  "nginx-disclosure"
#define NGX_HTTP_DISCLOSURE_HIDDEN            "(hidden)"

/* the pool's sessions, in the startup packet ("options") */
#define NGX_HTTP_DISCLOSURE_SETTINGS                                          \
    "-c statement_timeout=%M -c default_transaction_read_only=on"
/* the preview's check_report writes a temporary table (its role cannot) */
#define NGX_HTTP_DISCLOSURE_SETTINGS_TEMP                                     \
    "-c statement_timeout=%M"

/* appended to the application name of the listener's session */
#define NGX_HTTP_DISCLOSURE_LISTENER_NAME     " listener"


/* one "keyword=value" of the connection string */
typedef struct {
    char                        *keyword;
    char                        *value;
    ngx_uint_t                   secret;    /* libpq's dispchar "*" */
} ngx_http_disclosure_conn_param_t;


static ngx_uint_t ngx_http_disclosure_conninfo_is_keyword(u_char *name,
    size_t len);
static ngx_uint_t ngx_http_disclosure_conninfo_has_secret(ngx_str_t *conninfo);
static char *ngx_http_disclosure_conninfo_expand(ngx_conf_t *cf,
    ngx_array_t *params);
static ngx_int_t ngx_http_disclosure_conninfo_service(ngx_conf_t *cf,
    const char *service, ngx_array_t *params);
static ngx_int_t ngx_http_disclosure_conninfo_add(ngx_conf_t *cf,
    ngx_array_t *params, PQconninfoOption *o, const char *value);
static u_char *ngx_http_disclosure_conninfo_worker_env(ngx_conf_t *cf,
    const char *name);
static ngx_int_t ngx_http_disclosure_conninfo_params(ngx_conf_t *cf,
    PQconninfoOption *opts, ngx_array_t *params);
static ngx_http_disclosure_conn_param_t *ngx_http_disclosure_conninfo_param(
    ngx_array_t *params, const char *keyword);
static char *ngx_http_disclosure_conninfo_resolve_hosts(ngx_conf_t *cf,
    ngx_array_t *params);
static ngx_uint_t ngx_http_disclosure_conninfo_is_ip_literal(ngx_str_t *host);
static ngx_int_t ngx_http_disclosure_conninfo_split(char *list,
    ngx_array_t *items);
static char *ngx_http_disclosure_conninfo_join(ngx_pool_t *pool,
    ngx_array_t *items);
static char *ngx_http_disclosure_conninfo_strdup(ngx_pool_t *pool,
    const char *s);
static ngx_int_t ngx_http_disclosure_conninfo_safe(ngx_conf_t *cf,
    ngx_array_t *params, ngx_str_t *safe);
static ngx_int_t ngx_http_disclosure_conninfo_pool(ngx_conf_t *cf,
    ngx_http_disclosure_main_conf_t *dmcf);
static ngx_int_t ngx_http_disclosure_conninfo_listener(ngx_conf_t *cf,
    ngx_http_disclosure_conninfo_t *ci);


/*
 * disclosure_database "conninfo";
 *
 * Everything that can be decided about the connection is decided here, in
 * the master at configuration time, so that a worker only ever calls
 * PQconnectStartParams() with ready arrays: host names become addresses
 * (libpq would otherwise look them up with a blocking call), and the
 * password never reaches a log.  Nothing connects here.
 */

char *
ngx_http_disclosure_conf_database(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_disclosure_main_conf_t *dmcf = conf;

    char                              *conninfo, *err, *rv;
    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_array_t                        params;
    PQconninfoOption                  *opts;
    ngx_http_disclosure_conn_param_t  *param;

    if (dmcf->conn_keywords != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    conninfo = ngx_pnalloc(cf->pool, value[1].len + 1);
    if (conninfo == NULL) {
        return NGX_CONF_ERROR;
    }

    (void) ngx_cpystrn((u_char *) conninfo, value[1].data, value[1].len + 1);

    err = NULL;
    opts = PQconninfoParse(conninfo, &err);

    if (opts == NULL) {
        if (err == NULL) {
            return NGX_CONF_ERROR;        /* out of memory */
        }

        ngx_http_disclosure_conninfo_error(cf, &value[1], err);
        PQfreemem(err);

        return NGX_CONF_ERROR;
    }

    if (ngx_array_init(&params, cf->pool, 16,
                       sizeof(ngx_http_disclosure_conn_param_t))
        != NGX_OK)
    {
        PQconninfoFree(opts);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_disclosure_conninfo_params(cf, opts, &params) != NGX_OK) {
        PQconninfoFree(opts);
        return NGX_CONF_ERROR;
    }

    PQconninfoFree(opts);

    rv = ngx_http_disclosure_conninfo_expand(cf, &params);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (ngx_http_disclosure_conninfo_param(&params, "application_name")
        == NULL)
    {
        param = ngx_array_push(&params);
        if (param == NULL) {
            return NGX_CONF_ERROR;
        }

        param->keyword = "application_name";
        param->secret = 0;
        param->value = NGX_HTTP_DISCLOSURE_APPLICATION_NAME;
    }

    rv = ngx_http_disclosure_conninfo_resolve_hosts(cf, &params);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    dmcf->conn_keywords = ngx_palloc(cf->pool,
                                     (params.nelts + 1) * sizeof(char *));
    dmcf->conn_values = ngx_palloc(cf->pool,
                                   (params.nelts + 1) * sizeof(char *));

    if (dmcf->conn_keywords == NULL || dmcf->conn_values == NULL) {
        return NGX_CONF_ERROR;
    }

    param = params.elts;

    for (i = 0; i < params.nelts; i++) {
        dmcf->conn_keywords[i] = param[i].keyword;
        dmcf->conn_values[i] = param[i].value;
    }

    dmcf->conn_keywords[i] = NULL;
    dmcf->conn_values[i] = NULL;

    if (ngx_http_disclosure_conninfo_safe(cf, &params, &dmcf->conninfo_safe)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * libpq's parse errors quote pieces of the string, for a URI all of it.
 * When the string may hold a password, only the quoted pieces that cannot
 * be part of it are kept: option names and the punctuation libpq itself
 * names.  A URI may hold one in its userinfo, or spell "password" with
 * %-escapes.  If the string has double quotes of its own, libpq's quoted
 * pieces cannot be told apart: all from the first quote to the last one is
 * hidden (libpq names the piece of the string last).
 */

void
ngx_http_disclosure_conninfo_error(ngx_conf_t *cf, ngx_str_t *conninfo,
    char *err)
{
    u_char      *msg, *p, *q, *end, *last, *s, *send, *lastq;
    size_t       len;
    ngx_uint_t   secret, quotes;

    s = conninfo->data;
    send = s + conninfo->len;

    secret = ngx_http_disclosure_conninfo_has_secret(conninfo);

    quotes = (ngx_strlchr(s, send, '"') != NULL);

    len = ngx_strlen(err);

    while (len && (err[len - 1] == '\n' || err[len - 1] == '\r')) {
        len--;
    }

    /* each hidden piece is at least 3 bytes of err, quotes included */
    msg = ngx_pnalloc(cf->temp_pool,
                      len * sizeof(NGX_HTTP_DISCLOSURE_HIDDEN) + 1);
    if (msg == NULL) {
        return;
    }

    p = (u_char *) err;
    end = p + len;
    last = msg;

    lastq = end;

    while (lastq > p && lastq[-1] != '"') {
        lastq--;
    }

    while (p < end) {

        *last++ = *p;

        if (*p++ != '"' || !secret) {
            continue;
        }

        q = ngx_strlchr(p, end, '"');
        if (q == NULL) {
            continue;
        }

        if (!quotes
            && ((q - p == 1 && ngx_strchr("=]:/", *p) != NULL)
                || ngx_http_disclosure_conninfo_is_keyword(p, q - p)))
        {
            last = ngx_cpymem(last, p, q - p);

        } else {
            q = quotes ? lastq - 1 : q;
            last = ngx_cpymem(last, NGX_HTTP_DISCLOSURE_HIDDEN,
                              sizeof(NGX_HTTP_DISCLOSURE_HIDDEN) - 1);
        }

        *last++ = '"';
        p = q + 1;
    }

    *last = '\0';

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid \"disclosure_database\": %s", msg);
}


/*
 * Whether the string may hold a secret: the name of an option libpq marks
 * secret (dispchar "*": password, sslpassword), or a URI with userinfo or
 * %-escapes, which can spell such a name.
 */

static ngx_uint_t
ngx_http_disclosure_conninfo_has_secret(ngx_str_t *conninfo)
{
    u_char            *s, *end;
    ngx_uint_t         found;
    PQconninfoOption  *opts, *o;

    s = conninfo->data;
    end = s + conninfo->len;

    if (ngx_strnstr(s, "://", conninfo->len) != NULL
        && (ngx_strlchr(s, end, '@') != NULL
            || ngx_strlchr(s, end, '%') != NULL))
    {
        return 1;
    }

    opts = PQconninfoParse("", NULL);
    if (opts == NULL) {
        /* no memory: assume the worst */
        return 1;
    }

    found = 0;

    for (o = opts; o->keyword != NULL; o++) {
        if (o->dispchar && o->dispchar[0] == '*'
            && ngx_strnstr(s, o->keyword, conninfo->len) != NULL)
        {
            found = 1;
            break;
        }
    }

    PQconninfoFree(opts);

    return found;
}


static ngx_uint_t
ngx_http_disclosure_conninfo_is_keyword(u_char *name, size_t len)
{
    ngx_uint_t         found;
    PQconninfoOption  *opts, *o;

    /* an empty string parses into the list of every option libpq knows */

    opts = PQconninfoParse("", NULL);
    if (opts == NULL) {
        return 0;
    }

    found = 0;

    for (o = opts; o->keyword != NULL; o++) {
        if (ngx_strlen(o->keyword) == len
            && ngx_strncmp(o->keyword, name, len) == 0)
        {
            found = 1;
            break;
        }
    }

    PQconninfoFree(opts);

    return found;
}


static ngx_int_t
ngx_http_disclosure_conninfo_params(ngx_conf_t *cf, PQconninfoOption *opts,
    ngx_array_t *params)
{
    PQconninfoOption  *o;

    for (o = opts; o->keyword != NULL; o++) {

        if (o->val != NULL
            && ngx_http_disclosure_conninfo_add(cf, params, o, o->val)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_http_disclosure_conn_param_t *
ngx_http_disclosure_conninfo_param(ngx_array_t *params, const char *keyword)
{
    ngx_uint_t                         i;
    ngx_http_disclosure_conn_param_t  *param;

    param = params->elts;

    for (i = 0; i < params->nelts; i++) {
        if (ngx_strcmp(param[i].keyword, keyword) == 0) {
            return &param[i];
        }
    }

    return NULL;
}


/*
 * What libpq would take in a worker besides the string: a service file
 * ("service=", or PGSERVICE) and the PG* variables that "env" passes to
 * the workers.  Both are read here, in the master, with libpq's order
 * (the string, then the service, then the environment), and given to the
 * workers as options: their host names are then resolved like any, and a
 * worker reads no service file (its PGSERVICE is dropped, see
 * ngx_http_disclosure_init_process()).  An "env" after the http block is
 * not seen here.
 */

static char *
ngx_http_disclosure_conninfo_expand(ngx_conf_t *cf, ngx_array_t *params)
{
    u_char                            *value;
    ngx_uint_t                         i;
    PQconninfoOption                  *opts, *o;
    ngx_http_disclosure_conn_param_t  *param, *service;

    service = ngx_http_disclosure_conninfo_param(params, "service");

    value = service ? (u_char *) service->value
                    : ngx_http_disclosure_conninfo_worker_env(cf, "PGSERVICE");

    if (value
        && ngx_http_disclosure_conninfo_service(cf, (char *) value, params)
                 != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    opts = PQconninfoParse("", NULL);
    if (opts == NULL) {
        return NGX_CONF_ERROR;
    }

    for (o = opts; o->keyword != NULL; o++) {

        if (o->envvar == NULL
            || ngx_strcmp(o->keyword, "service") == 0
            || ngx_http_disclosure_conninfo_param(params, o->keyword) != NULL)
        {
            continue;
        }

        value = ngx_http_disclosure_conninfo_worker_env(cf, o->envvar);

        if (value
            && ngx_http_disclosure_conninfo_add(cf, params, o,
                                                (char *) value)
               != NGX_OK)
        {
            PQconninfoFree(opts);
            return NGX_CONF_ERROR;
        }
    }

    PQconninfoFree(opts);

    /* the service is read: the worker gets its options, not its name */

    param = params->elts;

    for (i = 0; i < params->nelts; i++) {
        if (ngx_strcmp(param[i].keyword, "service") == 0) {
            param[i] = param[params->nelts - 1];
            params->nelts--;
            break;
        }
    }

    return NGX_CONF_OK;
}


/*
 * libpq reads a service file only for its defaults: PQconndefaults()
 * with PGSERVICE set, compared with its answer without, gives what the
 * service sets.  The master's other PG* variables are set aside meanwhile
 * (a worker does not have them), but not PGSERVICEFILE and PGSYSCONFDIR,
 * which say where the file is.
 */

static ngx_int_t
ngx_http_disclosure_conninfo_service(ngx_conf_t *cf, const char *service,
    ngx_array_t *params)
{
    u_char            *eq;
    ngx_int_t          rc;
    ngx_uint_t         i, n;
    ngx_array_t        saved;
    PQconninfoOption  *with, *without, *o, *b;
    char             **e, **kept;

    if (ngx_array_init(&saved, cf->temp_pool, 8, sizeof(char *)) != NGX_OK) {
        return NGX_ERROR;
    }

    for (e = environ; *e; e++) {
        if (ngx_strncmp(*e, "PG", 2) == 0
            && ngx_strncmp(*e, "PGSERVICEFILE=", 14) != 0
            && ngx_strncmp(*e, "PGSYSCONFDIR=", 13) != 0)
        {
            kept = ngx_array_push(&saved);
            if (kept == NULL) {
                return NGX_ERROR;
            }

            *kept = ngx_http_disclosure_conninfo_strdup(cf->temp_pool, *e);
            if (*kept == NULL) {
                return NGX_ERROR;
            }
        }
    }

    kept = saved.elts;

    for (i = 0; i < saved.nelts; i++) {
        eq = (u_char *) ngx_strchr(kept[i], '=');
        *eq = '\0';
        (void) unsetenv(kept[i]);
        *eq = '=';
    }

    (void) setenv("PGSERVICE", service, 1);
    with = PQconndefaults();
    (void) unsetenv("PGSERVICE");
    without = PQconndefaults();

    for (i = 0; i < saved.nelts; i++) {
        eq = (u_char *) ngx_strchr(kept[i], '=');
        *eq = '\0';
        (void) setenv(kept[i], (char *) eq + 1, 1);
        *eq = '=';
    }

    rc = NGX_ERROR;

    if (with == NULL || without == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "PQconndefaults() failed for service \"%s\"",
                           service);
        goto done;
    }

    n = 0;

    for (o = with, b = without; o->keyword && b->keyword; o++, b++) {

        if (o->val == NULL
            || ngx_strcmp(o->keyword, "service") == 0
            || (b->val && ngx_strcmp(o->val, b->val) == 0)
            || ngx_http_disclosure_conninfo_param(params, o->keyword) != NULL)
        {
            continue;
        }

        if (ngx_http_disclosure_conninfo_add(cf, params, o, o->val)
            != NGX_OK)
        {
            goto done;
        }

        n++;
    }

    /* PQconndefaults() says nothing of a service it could not read */

    if (n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"disclosure_database\": service "
                           "\"%s\" is not defined, sets nothing, or its "
                           "file cannot be read (PGSERVICEFILE, "
                           "~/.pg_service.conf, PGSYSCONFDIR/pg_service.conf)",
                           service);
        goto done;
    }

    rc = NGX_OK;

done:

    if (with) {
        PQconninfoFree(with);
    }

    if (without) {
        PQconninfoFree(without);
    }

    return rc;
}


/* option o with this value; secret as libpq marks it (dispchar "*") */

static ngx_int_t
ngx_http_disclosure_conninfo_add(ngx_conf_t *cf, ngx_array_t *params,
    PQconninfoOption *o, const char *value)
{
    ngx_http_disclosure_conn_param_t  *param;

    param = ngx_array_push(params);
    if (param == NULL) {
        return NGX_ERROR;
    }

    param->keyword = ngx_http_disclosure_conninfo_strdup(cf->pool, o->keyword);
    param->value = ngx_http_disclosure_conninfo_strdup(cf->pool, value);
    param->secret = (o->dispchar && o->dispchar[0] == '*');

    if (param->keyword == NULL || param->value == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the value "env NAME" or "env NAME=value" gives the workers, or NULL */

static u_char *
ngx_http_disclosure_conninfo_worker_env(ngx_conf_t *cf, const char *name)
{
    u_char           *p;
    size_t            len;
    ngx_str_t        *var;
    ngx_uint_t        i;
    ngx_core_conf_t  *ccf;

    ccf = (ngx_core_conf_t *) ngx_get_conf(cf->cycle->conf_ctx,
                                           ngx_core_module);
    len = ngx_strlen(name);
    var = ccf->env.elts;

    for (i = 0; i < ccf->env.nelts; i++) {

        /* nginx keeps "NAME=value" with the length of NAME */

        if (var[i].len != len || ngx_strncmp(var[i].data, name, len) != 0) {
            continue;
        }

        if (var[i].data[len] == '=') {
            /* the directive's token, NUL-terminated */
            p = var[i].data + len + 1;

        } else {
            /* inherited from the master's environment */
            p = (u_char *) getenv(name);
        }

        return (p && *p) ? p : NULL;
    }

    return NULL;
}


/*
 * "host" may be a list; each name in it becomes one entry per address,
 * with "hostaddr" holding the address and "host" keeping the name (libpq
 * still uses it for authentication and TLS).  Socket directories and
 * addresses are kept as they are.  A "port" list follows the hosts.
 */

static char *
ngx_http_disclosure_conninfo_resolve_hosts(ngx_conf_t *cf, ngx_array_t *params)
{
    u_char                            *p;
    size_t                             len;
    ngx_url_t                          u;
    ngx_str_t                         *host, *port, *h, *a, *pt;
    ngx_uint_t                         i, k, resolved;
    ngx_array_t                        hosts, ports, new_hosts, new_addrs,
                                       new_ports;
    ngx_http_disclosure_conn_param_t  *host_param, *port_param, *param;
    u_char                             text[NGX_SOCKADDR_STRLEN];

    if (ngx_http_disclosure_conninfo_param(params, "hostaddr") != NULL) {
        /* the operator gave addresses: libpq looks nothing up */
        return NGX_CONF_OK;
    }

    host_param = ngx_http_disclosure_conninfo_param(params, "host");

    if (host_param == NULL) {
        /* libpq's default is a unix socket */
        return NGX_CONF_OK;
    }

    port_param = ngx_http_disclosure_conninfo_param(params, "port");

    if (ngx_array_init(&hosts, cf->temp_pool, 4, sizeof(ngx_str_t)) != NGX_OK
        || ngx_array_init(&ports, cf->temp_pool, 4, sizeof(ngx_str_t))
           != NGX_OK
        || ngx_array_init(&new_hosts, cf->temp_pool, 4, sizeof(ngx_str_t))
           != NGX_OK
        || ngx_array_init(&new_addrs, cf->temp_pool, 4, sizeof(ngx_str_t))
           != NGX_OK
        || ngx_array_init(&new_ports, cf->temp_pool, 4, sizeof(ngx_str_t))
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_disclosure_conninfo_split(host_param->value, &hosts)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (port_param != NULL
        && ngx_http_disclosure_conninfo_split(port_param->value, &ports)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ports.nelts > 1 && ports.nelts != hosts.nelts) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"disclosure_database\": "
                           "%ui ports for %ui hosts",
                           ports.nelts, hosts.nelts);
        return NGX_CONF_ERROR;
    }

    host = hosts.elts;
    port = ports.elts;
    resolved = 0;

    for (i = 0; i < hosts.nelts; i++) {

        ngx_memzero(&u, sizeof(ngx_url_t));

        if (host[i].len == 0 || host[i].data[0] == '/'
            || host[i].data[0] == '@')
        {
            /* a unix socket: an empty "hostaddr" entry keeps it */

        } else if (ngx_http_disclosure_conninfo_is_ip_literal(&host[i])) {
            resolved = 1;

        } else {
            u.host = host[i];

            if (ngx_inet_resolve_host(cf->pool, &u) != NGX_OK) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"disclosure_database\": "
                                   "host \"%V\": %s", &host[i],
                                   u.err ? u.err : "cannot be resolved");
                return NGX_CONF_ERROR;
            }

            resolved = 1;
        }

        for (k = 0; k < (u.naddrs ? u.naddrs : 1); k++) {

            h = ngx_array_push(&new_hosts);
            a = ngx_array_push(&new_addrs);
            if (h == NULL || a == NULL) {
                return NGX_CONF_ERROR;
            }

            *h = host[i];

            if (u.naddrs) {
                len = ngx_sock_ntop(u.addrs[k].sockaddr, u.addrs[k].socklen,
                                    text, NGX_SOCKADDR_STRLEN, 0);

                p = ngx_pnalloc(cf->temp_pool, len);
                if (p == NULL) {
                    return NGX_CONF_ERROR;
                }

                a->len = len;
                a->data = ngx_cpymem(p, text, len) - len;

            } else if (host[i].len && host[i].data[0] != '/'
                       && host[i].data[0] != '@')
            {
                *a = host[i];

            } else {
                ngx_str_null(a);
            }

            if (ports.nelts > 1) {
                pt = ngx_array_push(&new_ports);
                if (pt == NULL) {
                    return NGX_CONF_ERROR;
                }

                *pt = port[i];
            }
        }
    }

    if (!resolved) {
        return NGX_CONF_OK;
    }

    host_param->value = ngx_http_disclosure_conninfo_join(cf->pool, &new_hosts);
    if (host_param->value == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ports.nelts > 1) {
        port_param->value = ngx_http_disclosure_conninfo_join(cf->pool,
                                                              &new_ports);
        if (port_param->value == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    param = ngx_array_push(params);
    if (param == NULL) {
        return NGX_CONF_ERROR;
    }

    param->keyword = "hostaddr";
    param->secret = 0;
    param->value = ngx_http_disclosure_conninfo_join(cf->pool, &new_addrs);

    if (param->value == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_uint_t
ngx_http_disclosure_conninfo_is_ip_literal(ngx_str_t *host)
{
#if (NGX_HAVE_INET6)
    u_char  addr6[16];

    if (ngx_inet6_addr(host->data, host->len, addr6) == NGX_OK) {
        return 1;
    }
#endif

    return ngx_inet_addr(host->data, host->len) != INADDR_NONE;
}


/* splits a libpq comma list in place: items point into the list */

static ngx_int_t
ngx_http_disclosure_conninfo_split(char *list, ngx_array_t *items)
{
    u_char     *p, *end, *comma;
    ngx_str_t  *item;

    p = (u_char *) list;
    end = p + ngx_strlen(list);

    for ( ;; ) {
        comma = ngx_strlchr(p, end, ',');

        item = ngx_array_push(items);
        if (item == NULL) {
            return NGX_ERROR;
        }

        item->data = p;
        item->len = (comma ? comma : end) - p;

        if (comma == NULL) {
            return NGX_OK;
        }

        p = comma + 1;
    }
}


static char *
ngx_http_disclosure_conninfo_join(ngx_pool_t *pool, ngx_array_t *items)
{
    u_char      *s, *p;
    size_t       len;
    ngx_str_t   *item;
    ngx_uint_t   i;

    item = items->elts;
    len = items->nelts;

    for (i = 0; i < items->nelts; i++) {
        len += item[i].len;
    }

    s = ngx_pnalloc(pool, len + 1);
    if (s == NULL) {
        return NULL;
    }

    p = s;

    for (i = 0; i < items->nelts; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, item[i].data, item[i].len);
    }

    *p = '\0';

    return (char *) s;
}


static char *
ngx_http_disclosure_conninfo_strdup(ngx_pool_t *pool, const char *s)
{
    u_char  *p;
    size_t   len;

    len = ngx_strlen(s) + 1;

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, s, len);

    return (char *) p;
}


/* the connection string for logs: libpq's syntax, every secret masked */

static ngx_int_t
ngx_http_disclosure_conninfo_safe(ngx_conf_t *cf, ngx_array_t *params,
    ngx_str_t *safe)
{
    u_char                            *p, *v;
    size_t                             len;
    ngx_uint_t                         i, quote;
    ngx_http_disclosure_conn_param_t  *param;

    param = params->elts;
    len = 0;

    for (i = 0; i < params->nelts; i++) {
        len += ngx_strlen(param[i].keyword) + sizeof(" ='********'")
               + 2 * ngx_strlen(param[i].value);
    }

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    safe->data = p;

    for (i = 0; i < params->nelts; i++) {

        if (i) {
            *p++ = ' ';
        }

        p = ngx_cpymem(p, param[i].keyword, ngx_strlen(param[i].keyword));
        *p++ = '=';

        if (param[i].secret) {
            p = ngx_cpymem(p, "********", sizeof("********") - 1);
            continue;
        }

        v = (u_char *) param[i].value;
        quote = (*v == '\0' || strpbrk((char *) v, " \t\n\r\f\v'\\") != NULL);

        if (quote) {
            *p++ = '\'';
        }

        for ( /* void */ ; *v; v++) {
            if (*v == '\'' || *v == '\\') {
                *p++ = '\\';
            }

            *p++ = *v;
        }

        if (quote) {
            *p++ = '\'';
        }
    }

    safe->len = p - safe->data;

    return NGX_OK;
}

/* the masked string of parsed options, as conf_database logs them */

ngx_int_t
ngx_http_disclosure_conninfo_mask(ngx_conf_t *cf, PQconninfoOption *opts,
    ngx_str_t *safe)
{
    ngx_array_t  params;

    if (ngx_array_init(&params, cf->pool, 16,
                       sizeof(ngx_http_disclosure_conn_param_t))
        != NGX_OK
        || ngx_http_disclosure_conninfo_params(cf, opts, &params) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_disclosure_conninfo_safe(cf, &params, safe);
}


ngx_int_t
ngx_http_disclosure_conninfo_init_main_conf(ngx_conf_t *cf,
    ngx_http_disclosure_main_conf_t *dmcf)
{
    if (dmcf->conn_keywords == NULL) {
        return NGX_OK;
    }

    if (ngx_http_disclosure_conninfo_pool(cf, dmcf) != NGX_OK
        || ngx_http_disclosure_conninfo_listener(cf, dmcf->conninfo)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the preview's pool: its own role, the same settings but writes */
    return dmcf->preview ? ngx_http_disclosure_conninfo_pool(cf, dmcf->preview)
                         : NGX_OK;
}


/*
 * The session is configured in the startup packet, so that a connection
 * is ready for queries as soon as PQconnectPoll() reports OK: the server
 * cancels statements that outlive query_timeout, and the module only reads.
 * GSSAPI encryption is off unless asked for: acquiring Kerberos tickets
 * may block the worker.  conf_database always sets an application name.
 */

static ngx_int_t
ngx_http_disclosure_conninfo_pool(ngx_conf_t *cf,
    ngx_http_disclosure_main_conf_t *dmcf)
{
    size_t                           len;
    u_char                          *p, *settings;
    ngx_uint_t                       i, n, options, gssenc;
    const char                     **keywords, **values;
    ngx_http_disclosure_conninfo_t  *ci;

    for (n = 0; dmcf->conn_keywords[n]; n++) { /* void */ }

    ci = ngx_pcalloc(cf->pool, sizeof(ngx_http_disclosure_conninfo_t));
    keywords = ngx_palloc(cf->pool, (n + 3) * sizeof(const char *));
    values = ngx_palloc(cf->pool, (n + 3) * sizeof(const char *));
    settings = ngx_pnalloc(cf->pool, sizeof(NGX_HTTP_DISCLOSURE_SETTINGS)
                                     + NGX_INT_T_LEN);

    if (ci == NULL || keywords == NULL || values == NULL || settings == NULL)
    {
        return NGX_ERROR;
    }

    p = ngx_sprintf(settings, dmcf->writes_temp
                              ? NGX_HTTP_DISCLOSURE_SETTINGS_TEMP
                              : NGX_HTTP_DISCLOSURE_SETTINGS,
                    dmcf->query_timeout);
    *p = '\0';

    options = n;
    gssenc = 0;

    for (i = 0; i < n; i++) {
        keywords[i] = dmcf->conn_keywords[i];
        values[i] = dmcf->conn_values[i];

        if (ngx_strcmp(keywords[i], "options") == 0) {
            options = i;

        } else if (ngx_strcmp(keywords[i], "gssencmode") == 0) {
            gssenc = 1;
        }
    }

    if (options < n) {
        /* ours come last, so they win over the configured ones */

        len = ngx_strlen(values[options]);

        p = ngx_pnalloc(cf->pool, len + 1 + ngx_strlen(settings) + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        values[options] = (const char *) p;

        p = ngx_cpymem(p, dmcf->conn_values[options], len);
        *p++ = ' ';
        p = ngx_cpymem(p, settings, ngx_strlen(settings));
        *p = '\0';

    } else {
        keywords[n] = "options";
        values[n++] = (const char *) settings;
    }

    if (!gssenc) {
        keywords[n] = "gssencmode";
        values[n++] = "disable";
    }

    keywords[n] = NULL;
    values[n] = NULL;

    ci->keywords = keywords;
    ci->values = values;

    dmcf->conninfo = ci;

    return NGX_OK;
}


/* the pool's parameters, with an application_name of its own */

static ngx_int_t
ngx_http_disclosure_conninfo_listener(ngx_conf_t *cf,
    ngx_http_disclosure_conninfo_t *ci)
{
    u_char       *p;
    size_t        len;
    ngx_uint_t    i, n;
    const char  **keywords, **values;

    for (n = 0; ci->keywords[n]; n++) { /* void */ }

    keywords = ngx_palloc(cf->pool, (n + 1) * sizeof(const char *));
    values = ngx_palloc(cf->pool, (n + 1) * sizeof(const char *));

    if (keywords == NULL || values == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i <= n; i++) {
        keywords[i] = ci->keywords[i];
        values[i] = ci->values[i];

        if (keywords[i] == NULL
            || (ngx_strcmp(keywords[i], "application_name") != 0
                && ngx_strcmp(keywords[i], "fallback_application_name")
                   != 0))
        {
            continue;
        }

        len = ngx_strlen(values[i]);

        p = ngx_pnalloc(cf->pool,
                        len + sizeof(NGX_HTTP_DISCLOSURE_LISTENER_NAME));
        if (p == NULL) {
            return NGX_ERROR;
        }

        values[i] = (const char *) p;

        p = ngx_cpymem(p, ci->values[i], len);
        ngx_memcpy(p, NGX_HTTP_DISCLOSURE_LISTENER_NAME,
                   sizeof(NGX_HTTP_DISCLOSURE_LISTENER_NAME));
    }

    ci->listener_keywords = keywords;
    ci->listener_values = values;

    return NGX_OK;
}
