
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <yajl/yajl_tree.h>

#include "ngx_http_disclosure_module.h"
#include "ngx_http_disclosure_db.h"
#include "ngx_http_disclosure_conninfo.h"
#include "ngx_http_disclosure_route.h"
#include "ngx_http_disclosure_handler.h"
#include "ngx_http_disclosure_doc.h"
#include "ngx_http_disclosure_preview.h"


/*
 * The editors' draft preview.  Drafts are kept from the public location by
 * the database: "disclosure;" calls only disclosure_web, which never returns
 * one, whatever role it connects as.  A preview location calls
 * disclosure_preview through a connection string and a pool of its own.
 *
 * Its role is checked twice.  At configuration time nothing connects (a
 * worker must never wait, and the master does not connect at all), so
 * nginx -t can only compare the strings: the preview's must name a role
 * (user=...) other than the public one.  At every call the SQL functions
 * themselves refuse a session whose login role is not in
 * disclosure_previewer or is in disclosure_reader (insufficient_privilege,
 * logged, 503): a check at the first connection only would miss a GRANT
 * made while the connection is kept.
 */


static const char *ngx_http_disclosure_preview_user(
    ngx_http_disclosure_main_conf_t *dmcf);
static void ngx_http_disclosure_preview_findings(ngx_http_disclosure_out_t *o,
    yajl_val findings);


/* by ngx_http_disclosure_route_e */
static const char  *ngx_http_disclosure_preview_sql[] = {
    "SELECT disclosure_preview.index()::text",
    "SELECT disclosure_preview.agency($1)::text",
    "SELECT disclosure_preview.report($1, $2::int)::text",
    "SELECT disclosure_preview.report($1, $2::int)::text"
};


/* disclosure_preview_database "conninfo"; parsed like disclosure_database */

char *
ngx_http_disclosure_preview_database(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_disclosure_main_conf_t *dmcf = conf;

    char                             *rv;
    ngx_http_disclosure_main_conf_t  *pmcf;

    if (dmcf->preview != NULL) {
        return "is duplicate";
    }

    pmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_disclosure_main_conf_t));
    if (pmcf == NULL) {
        return NGX_CONF_ERROR;
    }

    rv = ngx_http_disclosure_conf_database(cf, cmd, pmcf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    dmcf->preview = pmcf;

    return NGX_CONF_OK;
}


/* disclosure_preview on | off; "on" serves the location, as "disclosure;" */

char *
ngx_http_disclosure_preview(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_disclosure_loc_conf_t *dlcf = conf;

    char                      *rv;
    ngx_http_core_loc_conf_t  *clcf;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (dlcf->preview) {
        clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
        clcf->handler = ngx_http_disclosure_handler;
    }

    return NGX_CONF_OK;
}


/* the pool's settings are disclosure_database's; the role must differ */

char *
ngx_http_disclosure_preview_init_main_conf(ngx_conf_t *cf,
    ngx_http_disclosure_main_conf_t *dmcf)
{
    const char                       *user, *public_user;
    ngx_http_disclosure_main_conf_t  *pmcf;

    pmcf = dmcf->preview;

    if (pmcf == NULL) {
        return NGX_CONF_OK;
    }

    if (dmcf->conn_keywords == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"disclosure_preview_database\" is set, but "
                           "\"disclosure_database\" is not");
        return NGX_CONF_ERROR;
    }

    pmcf->keepalive = dmcf->keepalive;
    pmcf->max_connections = dmcf->max_connections;
    pmcf->keepalive_timeout = dmcf->keepalive_timeout;
    pmcf->connect_timeout = dmcf->connect_timeout;
    pmcf->query_timeout = dmcf->query_timeout;

    /*
     * check_report() fills a temporary table (as the functions' owner), so
     * the sessions cannot be read-only; the previewer role itself has no
     * privilege to write anything, temporary tables included
     */
    pmcf->writes_temp = 1;

    user = ngx_http_disclosure_preview_user(pmcf);
    public_user = ngx_http_disclosure_preview_user(dmcf);

    if (user == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"disclosure_preview_database\" must name its "
                           "role (user=...), a member of "
                           "disclosure_previewer, never the public reader");
        return NGX_CONF_ERROR;
    }

    if (public_user && ngx_strcmp(user, public_user) == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"disclosure_preview_database\" connects as "
                           "\"%s\", the role of \"disclosure_database\": "
                           "the preview needs a role of its own "
                           "(disclosure_previewer), never the public reader",
                           user);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static const char *
ngx_http_disclosure_preview_user(ngx_http_disclosure_main_conf_t *dmcf)
{
    ngx_uint_t  i;

    for (i = 0; dmcf->conn_keywords[i]; i++) {
        if (ngx_strcmp(dmcf->conn_keywords[i], "user") == 0) {
            return dmcf->conn_values[i];
        }
    }

    return NULL;
}


/*
 * Before the location's other settings are merged: a preview is never
 * cached (disclosure_cache in it is an error, one from an enclosing level
 * is not inherited), and like "disclosure;" it is not inherited.
 */

char *
ngx_http_disclosure_preview_merge(ngx_conf_t *cf,
    ngx_http_disclosure_loc_conf_t *conf)
{
    ngx_http_disclosure_main_conf_t  *dmcf;

    if (conf->preview == NGX_CONF_UNSET) {
        conf->preview = 0;
    }

    if (!conf->preview) {
        return NGX_CONF_OK;
    }

    if (conf->cache != NGX_CONF_UNSET_PTR && conf->cache != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"disclosure_cache\" is not allowed in a "
                           "location with \"disclosure_preview on\": "
                           "drafts are never cached");
        return NGX_CONF_ERROR;
    }

    conf->cache = NULL;

    if (conf->enable == NGX_CONF_UNSET) {
        conf->enable = 1;
    }

    dmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_disclosure_module);

    if (dmcf->preview == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"disclosure_preview\" is on, but "
                           "\"disclosure_preview_database\" is not set "
                           "in the http block");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_disclosure_preview_headers(ngx_http_request_t *r)
{
    ngx_uint_t        i;
    ngx_table_elt_t  *h;

    static ngx_str_t  headers[] = {
        ngx_string("Cache-Control"), ngx_string("no-store"),
        ngx_string("X-Robots-Tag"), ngx_string("noindex")
    };

    for (i = 0; i < sizeof(headers) / sizeof(ngx_str_t); i += 2) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        h->hash = 1;
        h->key = headers[i];
        h->value = headers[i + 1];
    }

    return NGX_OK;
}


void
ngx_http_disclosure_preview_query(ngx_http_request_t *r,
    ngx_http_disclosure_route_t *route, ngx_http_disclosure_query_t *q)
{
    ngx_http_disclosure_main_conf_t  *dmcf;

    dmcf = ngx_http_get_module_main_conf(r, ngx_http_disclosure_module);

    q->sql = ngx_http_disclosure_preview_sql[route->route];
    q->database = dmcf->preview;
}


void
ngx_http_disclosure_preview_strip(yajl_val doc)
{
    size_t  i, n;

    if (!YAJL_IS_OBJECT(doc)) {
        return;
    }

    n = doc->u.object.len;

    for (i = 0; i < n; i++) {
        if (ngx_strcmp(doc->u.object.keys[i], "preview") != 0) {
            continue;
        }

        ngx_memmove(&doc->u.object.keys[i], &doc->u.object.keys[i + 1],
                    (n - i - 1) * sizeof(const char *));
        ngx_memmove(&doc->u.object.values[i], &doc->u.object.values[i + 1],
                    (n - i - 1) * sizeof(yajl_val));
        doc->u.object.len--;
        return;
    }
}


void
ngx_http_disclosure_preview_banner(ngx_http_disclosure_out_t *o,
    yajl_val doc)
{
    ngx_http_disclosure_out_literal(o,
        "<div class=\"d-preview\" role=\"status\" style=\"border:3px solid "
        "#b00;background:#fff4f4;color:#000;padding:.6em 1em;"
        "margin:0 0 1em\">\n"
        "<p class=\"d-preview-banner\" style=\"margin:0;font-size:1.25em\">"
        "<strong>草稿（未发布）</strong>　编辑预览：公众看不到本页，"
        "发布后才公开。</p>\n");

    ngx_http_disclosure_preview_findings(o,
        ngx_http_disclosure_doc_get(ngx_http_disclosure_doc_get(doc, "preview"),
                                "findings"));

    ngx_http_disclosure_out_literal(o, "</div>\n");
}


/* errors, then warnings, each with its rule, cell and message; infos are
 * only counted (they never block publication) */

static void
ngx_http_disclosure_preview_findings(ngx_http_disclosure_out_t *o,
    yajl_val findings)
{
    size_t       i, k;
    yajl_val     f;
    ngx_uint_t   n[3], pass;
    const char  *severity, *s;

    static const char  *severities[] = { "error", "warning", "info" };
    static const char  *names[] = { "错误", "警告", "提示" };
    static const char  *where[] = { "table", "row", "col" };

    if (!YAJL_IS_ARRAY(findings)) {
        return;
    }

    ngx_memzero(n, sizeof(n));

    for (i = 0; i < findings->u.array.len; i++) {
        severity = ngx_http_disclosure_doc_get_string(findings->u.array.values[i],
                                                  "severity");
        for (k = 0; severity && k < 3; k++) {
            if (ngx_strcmp(severity, severities[k]) == 0) {
                n[k]++;
            }
        }
    }

    ngx_http_disclosure_out_printf(o,
        "<p class=\"d-preview-summary\" style=\"margin:.4em 0 0\">"
        "检查结果：%ui 个错误，%ui 个警告，%ui 条提示。%s</p>\n",
        n[0], n[1], n[2],
        n[0] ? "有错误的报告不能发布。" : "没有阻止发布的错误。");

    if (n[0] + n[1] == 0) {
        return;
    }

    ngx_http_disclosure_out_literal(o,
                   "<ul class=\"d-findings\" style=\"margin:.4em 0 0\">\n");

    for (pass = 0; pass < 2; pass++) {

        for (i = 0; i < findings->u.array.len; i++) {
            f = findings->u.array.values[i];

            severity = ngx_http_disclosure_doc_get_string(f, "severity");
            if (severity == NULL
                || ngx_strcmp(severity, severities[pass]) != 0)
            {
                continue;
            }

            ngx_http_disclosure_out_printf(o,
                                           "<li class=\"d-finding-%s\">"
                                           "<strong>%s</strong> ",
                                           severities[pass], names[pass]);

            s = ngx_http_disclosure_doc_get_string(f, "rule");
            if (s) {
                ngx_http_disclosure_out_html_cstr(o, s);
            }

            for (k = 0; k < 3; k++) {
                s = ngx_http_disclosure_doc_get_string(f, where[k]);
                if (s && *s) {
                    if (k == 0) {
                        ngx_http_disclosure_out_literal(o, " ");

                    } else {
                        ngx_http_disclosure_out_literal(o, "/");
                    }

                    ngx_http_disclosure_out_html_cstr(o, s);
                }
            }

            ngx_http_disclosure_out_literal(o, "：");

            s = ngx_http_disclosure_doc_get_string(f, "message");
            if (s) {
                ngx_http_disclosure_out_html_cstr(o, s);
            }

            ngx_http_disclosure_out_literal(o, "</li>\n");
        }
    }

    ngx_http_disclosure_out_literal(o, "</ul>\n");
}


ngx_int_t
ngx_http_disclosure_preview_prepend(ngx_http_request_t *r, yajl_val doc,
    ngx_chain_t **out)
{
    ngx_chain_t                *cl;
    ngx_http_disclosure_out_t   o;

    ngx_http_disclosure_out_init(&o, r);

    ngx_http_disclosure_preview_banner(&o, doc);

    if (o.failed || o.first == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "disclosure: no memory for the preview banner");
        return NGX_ERROR;
    }

    for (cl = o.first; cl->next; cl = cl->next) { /* void */ }

    cl->next = *out;
    *out = o.first;

    return NGX_OK;
}
