
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * What the pages across reports share: trend, comparison, roll-up and year
 * pages.  Every text from a document goes through out_html(); links are
 * made below the location's prefix as on the report pages.  Class names,
 * beside those of _html.c:
 *
 *   d-change      the change from the year before, under a value
 *   d-chart       the trend's SVG chart
 *   d-nc          a value not comparable with the 2021 figure (trend)
 *   d-states      a completeness table; d-st-{state} its state cells
 *   d-counts      the counts of a completeness view
 *   d-checks      the rules checked on a roll-up's sums
 *   d-apart       the reports a roll-up lists but does not add
 *   d-compare     a table of this year, last year and the change
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_disclosure_doc.h"
#include "ngx_http_disclosure_html.h"
#include "ngx_http_disclosure_page.h"


static void ngx_http_disclosure_page_crumb(ngx_http_disclosure_page_t *pg,
    yajl_val a);


/* beside the report pages' stylesheet, with no specificity either */
static u_char  ngx_http_disclosure_page_css[] =
    "<style>\n"
    ":where(.disclosure .d-change){display:block;font-size:.8em;"
    "color:#404040}\n"
    ":where(.disclosure .d-chart){display:block;width:100%;max-width:44em;"
    "height:auto;margin:0 0 1em}\n"
    ":where(.disclosure .d-nc){font-style:italic}\n"
    ":where(.disclosure .d-trend tbody th .d-change){font-weight:normal}\n"
    ":where(.disclosure .d-st-late,.disclosure .d-st-none){font-weight:600}\n"
    ":where(.disclosure .d-states td:not(:last-child)){white-space:nowrap}\n"
    ":where(.disclosure .d-counts){font-weight:600}\n"
    ":where(.disclosure .d-compare tbody th){text-align:left;"
    "font-weight:normal}\n"
    "@media print{:where(.disclosure .d-chart){max-width:100%}}\n"
    "</style>\n";


void
ngx_http_disclosure_page_style(ngx_str_t *style)
{
    style->data = ngx_http_disclosure_page_css;
    style->len = sizeof(ngx_http_disclosure_page_css) - 1;
}


void
ngx_http_disclosure_page_init(ngx_http_disclosure_page_t *pg,
    ngx_http_request_t *r, ngx_str_t *prefix,
    ngx_http_disclosure_loc_conf_t *dlcf, ngx_uint_t fragment)
{
    u_char  *p;

    ngx_memzero(pg, sizeof(ngx_http_disclosure_page_t));

    ngx_http_disclosure_out_init(&pg->out, r);

    pg->r = r;
    pg->log = r->connection->log;
    pg->pool = r->pool;
    pg->dlcf = dlcf;
    pg->fragment = fragment;

    if (prefix == NULL || prefix->len == 0) {
        return;
    }

    pg->links = 1;

    if (prefix->data[prefix->len - 1] == '/') {
        pg->prefix = *prefix;
        return;
    }

    p = ngx_pnalloc(r->pool, prefix->len + 1);
    if (p == NULL) {
        pg->out.failed = 1;
        pg->links = 0;
        return;
    }

    ngx_memcpy(p, prefix->data, prefix->len);
    p[prefix->len] = '/';

    pg->prefix.data = p;
    pg->prefix.len = prefix->len + 1;
}


void
ngx_http_disclosure_page_begin(ngx_http_disclosure_page_t *pg,
    const char *name, const char *title_suffix)
{
    u_char     *p;
    size_t      len, n, m;
    ngx_str_t   title;

    if (pg->fragment) {
        /* without the stylesheets: the handler sends them, once a page */
        ngx_http_disclosure_out_literal(&pg->out,
                    "<div class=\"disclosure d-fragment\" lang=\"zh-CN\">\n");
        return;
    }

    len = name ? ngx_strlen(name) : 0;
    n = ngx_http_disclosure_escape_html(NULL, (u_char *) name, len);
    m = ngx_strlen(title_suffix);

    p = ngx_pnalloc(pg->pool, n + m);
    if (p == NULL) {
        pg->out.failed = 1;
        return;
    }

    title.data = p;
    p += ngx_http_disclosure_escape_html(p, (u_char *) name, len);
    p = ngx_cpymem(p, title_suffix, m);
    title.len = p - title.data;

    ngx_http_disclosure_html_page_open(&pg->out, pg->dlcf, &title);
    ngx_http_disclosure_out_raw(&pg->out, ngx_http_disclosure_page_css,
                                sizeof(ngx_http_disclosure_page_css) - 1);
}


ngx_int_t
ngx_http_disclosure_page_end(ngx_http_disclosure_page_t *pg,
    ngx_chain_t **out)
{
    if (pg->fragment) {
        ngx_http_disclosure_out_literal(&pg->out, "</div>\n");

    } else {
        ngx_http_disclosure_html_page_close(&pg->out, pg->dlcf);
    }

    return ngx_http_disclosure_out_finish(&pg->out, pg->r, out);
}


void
ngx_http_disclosure_page_link(ngx_http_disclosure_page_t *pg,
    const char *slug, const char *fmt, ...)
{
    u_char     *p, *q, tail[NGX_INT_T_LEN * 2 + 32];
    size_t      len;
    va_list     args;
    uintptr_t   n;

    if (!pg->links) {
        return;
    }

    ngx_http_disclosure_out_literal(&pg->out, "<a href=\"");
    ngx_http_disclosure_out_html_str(&pg->out, &pg->prefix);

    if (slug) {
        len = ngx_strlen(slug);
        n = ngx_escape_uri(NULL, (u_char *) slug, len,
                           NGX_ESCAPE_URI_COMPONENT);

        p = ngx_pnalloc(pg->pool, len + 2 * n);
        if (p == NULL) {
            pg->out.failed = 1;
            return;
        }

        q = (u_char *) ngx_escape_uri(p, (u_char *) slug, len,
                                      NGX_ESCAPE_URI_COMPONENT);

        ngx_http_disclosure_out_html(&pg->out, p, q - p);
    }

    va_start(args, fmt);
    len = ngx_vslprintf(tail, tail + sizeof(tail), fmt, args) - tail;
    va_end(args);

    ngx_http_disclosure_out_html(&pg->out, tail, len);
    ngx_http_disclosure_out_literal(&pg->out, "\">");
}


void
ngx_http_disclosure_page_unlink(ngx_http_disclosure_page_t *pg)
{
    if (pg->links) {
        ngx_http_disclosure_out_literal(&pg->out, "</a>");
    }
}


void
ngx_http_disclosure_page_nav(ngx_http_disclosure_page_t *pg, yajl_val doc)
{
    size_t     i;
    yajl_val   up;

    if (!pg->links || pg->fragment) {
        return;
    }

    ngx_http_disclosure_out_literal(&pg->out,
                    "<nav class=\"d-nav\" aria-label=\"年度报告导航\">");
    ngx_http_disclosure_page_link(pg, NULL, "");
    ngx_http_disclosure_out_literal(&pg->out, "全部机关</a>");

    up = ngx_http_disclosure_doc_get(doc, "ancestors");

    for (i = 0; YAJL_IS_ARRAY(up) && i < up->u.array.len; i++) {
        ngx_http_disclosure_page_crumb(pg, up->u.array.values[i]);
    }

    ngx_http_disclosure_page_crumb(pg, ngx_http_disclosure_doc_get(doc, "agency"));

    ngx_http_disclosure_out_literal(&pg->out, "</nav>\n");
}


static void
ngx_http_disclosure_page_crumb(ngx_http_disclosure_page_t *pg, yajl_val a)
{
    const char  *slug, *name;

    slug = ngx_http_disclosure_doc_get_string(a, "slug");
    name = ngx_http_disclosure_doc_get_string(a, "name");

    if (slug && name) {
        ngx_http_disclosure_out_literal(&pg->out, " › ");
        ngx_http_disclosure_page_link(pg, slug, "/");
        ngx_http_disclosure_out_html_cstr(&pg->out, name);
        ngx_http_disclosure_out_literal(&pg->out, "</a>");
    }
}


void
ngx_http_disclosure_page_value(ngx_http_disclosure_page_t *pg, yajl_val v)
{
    if (YAJL_IS_NUMBER(v)) {
        ngx_http_disclosure_out_html_cstr(&pg->out, v->u.number.r);

    } else if (YAJL_IS_STRING(v)) {
        if (ngx_strcmp(v->u.string, "not_printed") == 0) {
            ngx_http_disclosure_out_literal(&pg->out, "未列出");

        } else {
            ngx_http_disclosure_out_html_cstr(&pg->out, v->u.string);
        }
    }
}


void
ngx_http_disclosure_page_change(ngx_http_disclosure_page_t *pg, yajl_val v)
{
    if (!YAJL_IS_NUMBER(v)) {
        return;
    }

    /* a rise says so: "+3", "+0.6"; "0", "0.0" and falls as they are */
    if ((YAJL_IS_INTEGER(v) && v->u.number.i > 0)
        || (YAJL_IS_DOUBLE(v) && v->u.number.d > 0))
    {
        ngx_http_disclosure_out_literal(&pg->out, "+");
    }

    ngx_http_disclosure_out_html_cstr(&pg->out, v->u.number.r);
}


const char *
ngx_http_disclosure_page_state(const char *state)
{
    if (state == NULL) {
        return "";
    }

    if (ngx_strcmp(state, "on_time") == 0) {
        return "按时发布";
    }

    if (ngx_strcmp(state, "late") == 0) {
        return "逾期发布";
    }

    if (ngx_strcmp(state, "draft") == 0) {
        return "仅有草稿，未发布";
    }

    return "未发布";
}


void
ngx_http_disclosure_page_counts(ngx_http_disclosure_page_t *pg,
    yajl_val counts)
{
    ngx_int_t  n, published, on_time, late, draft, none;

    if (ngx_http_disclosure_doc_get_int(counts, "agencies", &n) != NGX_OK
        || ngx_http_disclosure_doc_get_int(counts, "published", &published)
           != NGX_OK
        || ngx_http_disclosure_doc_get_int(counts, "on_time", &on_time) != NGX_OK
        || ngx_http_disclosure_doc_get_int(counts, "late", &late) != NGX_OK
        || ngx_http_disclosure_doc_get_int(counts, "draft", &draft) != NGX_OK
        || ngx_http_disclosure_doc_get_int(counts, "none", &none) != NGX_OK)
    {
        return;
    }

    ngx_http_disclosure_out_printf(&pg->out,
                   "%i 个机关中已发布 %i 个（按时 %i 个，逾期 %i 个），"
                   "仅有草稿 %i 个，未发布 %i 个",
                   n, published, on_time, late, draft, none);
}


ngx_int_t
ngx_http_disclosure_page_states(ngx_http_disclosure_page_t *pg,
    yajl_val agencies, ngx_int_t year, const char *caption)
{
    size_t       i;
    yajl_val     a, below;
    ngx_int_t    depth;
    const char  *slug, *name, *state, *at, *deadline, *scope;

    if (!YAJL_IS_ARRAY(agencies)) {
        return ngx_http_disclosure_page_missing(pg, "agencies");
    }

    ngx_http_disclosure_out_literal(&pg->out,
        "<div class=\"d-scroll\" role=\"region\" tabindex=\"0\" "
        "aria-label=\"");
    ngx_http_disclosure_out_html_cstr(&pg->out, caption);
    ngx_http_disclosure_out_literal(&pg->out,
        "\">\n<table class=\"d-table d-states\">\n<caption>");
    ngx_http_disclosure_out_html_cstr(&pg->out, caption);
    ngx_http_disclosure_out_literal(&pg->out,
        "</caption>\n<thead><tr><th scope=\"col\">机关</th>"
        "<th scope=\"col\">状态</th><th scope=\"col\">发布日期</th>"
        "<th scope=\"col\">法定期限</th><th scope=\"col\">下级机关</th>"
        "</tr></thead>\n<tbody>\n");

    for (i = 0; i < agencies->u.array.len; i++) {
        a = agencies->u.array.values[i];

        slug = ngx_http_disclosure_doc_get_string(a, "slug");
        name = ngx_http_disclosure_doc_get_string(a, "name");
        state = ngx_http_disclosure_doc_get_string(a, "state");

        if (slug == NULL || name == NULL || state == NULL) {
            return ngx_http_disclosure_page_missing(pg, "agencies[].state");
        }

        at = ngx_http_disclosure_doc_get_string(a, "published_at");
        deadline = ngx_http_disclosure_doc_get_string(a, "deadline");
        scope = ngx_http_disclosure_doc_get_string(a, "scope");
        below = ngx_http_disclosure_doc_get(a, "below");

        if (ngx_http_disclosure_doc_get_int(a, "depth", &depth) != NGX_OK) {
            depth = 1;
        }

        ngx_http_disclosure_out_literal(&pg->out, "<tr><th scope=\"row\">");

        if (at) {
            ngx_http_disclosure_page_link(pg, slug, "/%i.html", year);

        } else {
            ngx_http_disclosure_page_link(pg, slug, "/");
        }

        ngx_http_disclosure_out_html_cstr(&pg->out, name);
        ngx_http_disclosure_page_unlink(pg);

        if (depth == 0 && !pg->fragment) {
            ngx_http_disclosure_out_literal(&pg->out, "（本机关）");
        }

        ngx_http_disclosure_out_literal(&pg->out, "</th><td class=\"d-st-");
        ngx_http_disclosure_out_html_cstr(&pg->out, state);
        ngx_http_disclosure_out_literal(&pg->out, "\">");
        ngx_http_disclosure_out_html_cstr(&pg->out,
                                      ngx_http_disclosure_page_state(state));

        if (YAJL_IS_TRUE(ngx_http_disclosure_doc_get(a, "withdrawn"))) {
            ngx_http_disclosure_out_literal(&pg->out, "（已撤回）");
        }

        if (scope && ngx_strcmp(scope, "jurisdiction") == 0) {
            ngx_http_disclosure_out_literal(&pg->out, "（全辖区范围）");

        } else if (scope && ngx_strcmp(scope, "office") != 0) {
            ngx_http_disclosure_out_literal(&pg->out, "（范围未说明）");
        }

        ngx_http_disclosure_out_literal(&pg->out, "</td><td>");

        if (at) {
            ngx_http_disclosure_html_out_time(&pg->out, at);
        }

        ngx_http_disclosure_out_literal(&pg->out, "</td><td>");

        if (deadline) {
            ngx_http_disclosure_out_html_cstr(&pg->out, deadline);
        }

        ngx_http_disclosure_out_literal(&pg->out, "</td><td>");

        if (YAJL_IS_OBJECT(below)) {
            ngx_http_disclosure_page_link(pg, slug, "/%i/rollup", year);
            ngx_http_disclosure_page_counts(pg, below);
            ngx_http_disclosure_page_unlink(pg);
        }

        ngx_http_disclosure_out_literal(&pg->out, "</td></tr>\n");
    }

    ngx_http_disclosure_out_literal(&pg->out, "</tbody>\n</table>\n</div>\n");

    return NGX_OK;
}


ngx_int_t
ngx_http_disclosure_page_missing(ngx_http_disclosure_page_t *pg,
    const char *what)
{
    ngx_log_error(NGX_LOG_ERR, pg->log, 0,
                  "disclosure: document lacks %s", what);
    return NGX_ERROR;
}
