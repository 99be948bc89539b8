
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * The open-data catalog (data/, data/index.html, data/index.json) and the
 * data dictionary (format/{format}.json): one query of the pool each, a
 * small document.  The JSON is served as the database made it; the HTML
 * page lists the catalog's files with every text escaped.  The catalog has
 * a version of its own (data_catalog()'s data_version, which moves with any
 * file's and with its title, licence and source) and a last change: its
 * ETag and Last-Modified.  The page's bytes also come from the location's
 * template and prefix, as every page's: its ETag carries their checksum and
 * its Last-Modified is no earlier than the template was read, so that a
 * reload with a new template is not answered 304.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_disclosure_module.h"
#include "ngx_http_disclosure_db.h"
#include "ngx_http_disclosure_handler.h"
#include "ngx_http_disclosure_doc.h"
#include "ngx_http_disclosure_out.h"
#include "ngx_http_disclosure_html.h"
#include "ngx_http_disclosure_time.h"
#include "ngx_http_disclosure_data.h"
#include "ngx_http_disclosure_catalog.h"


typedef enum {
    NGX_HTTP_DISCLOSURE_CATALOG_HTML = 0,
    NGX_HTTP_DISCLOSURE_CATALOG_JSON,
    NGX_HTTP_DISCLOSURE_DICTIONARY
} ngx_http_disclosure_catalog_e;


typedef struct {
    ngx_http_disclosure_query_t     query;
    ngx_http_disclosure_catalog_e   what;
} ngx_http_disclosure_catalog_t;


static void ngx_http_disclosure_catalog_done(ngx_http_request_t *r,
    ngx_http_disclosure_query_t *q, ngx_int_t rc);
static ngx_int_t ngx_http_disclosure_catalog_respond(ngx_http_request_t *r,
    ngx_http_disclosure_catalog_t *cat);
static ngx_int_t ngx_http_disclosure_catalog_validators(ngx_http_request_t *r,
    ngx_http_disclosure_catalog_t *cat, yajl_val doc);
static ngx_int_t ngx_http_disclosure_catalog_html(ngx_http_request_t *r,
    yajl_val doc, ngx_chain_t **out);
static void ngx_http_disclosure_catalog_text(ngx_http_disclosure_out_t *o,
    yajl_val obj, const char *key);


ngx_int_t
ngx_http_disclosure_catalog_handler(ngx_http_request_t *r, ngx_str_t *path)
{
    ngx_uint_t                      i;
    ngx_http_disclosure_catalog_t  *cat;

    cat = ngx_pcalloc(r->pool, sizeof(ngx_http_disclosure_catalog_t));
    if (cat == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if ((path->len == 5 && ngx_strncmp(path->data, "data/", 5) == 0)
        || (path->len == 15
            && ngx_strncmp(path->data, "data/index.html", 15) == 0))
    {
        cat->what = NGX_HTTP_DISCLOSURE_CATALOG_HTML;
        cat->query.sql = "SELECT disclosure_web.data_catalog()::text";

    } else if (path->len == 15
               && ngx_strncmp(path->data, "data/index.json", 15) == 0)
    {
        cat->what = NGX_HTTP_DISCLOSURE_CATALOG_JSON;
        cat->query.sql = "SELECT disclosure_web.data_catalog()::text";

    } else if (path->len == sizeof("format/2021.json") - 1
               && ngx_strncmp(path->data, "format/", 7) == 0
               && ngx_strncmp(path->data + 11, ".json", 5) == 0)
    {
        for (i = 7; i < 11; i++) {
            if (path->data[i] < '0' || path->data[i] > '9') {
                return NGX_HTTP_NOT_FOUND;
            }
        }

        cat->what = NGX_HTTP_DISCLOSURE_DICTIONARY;
        cat->query.sql = "SELECT disclosure_web.data_dictionary($1::int)::text";
        cat->query.nparams = 1;
        cat->query.params[0].data = path->data + 7;
        cat->query.params[0].len = 4;

    } else {
        return NGX_HTTP_NOT_FOUND;
    }

    cat->query.done = ngx_http_disclosure_catalog_done;
    cat->query.data = cat;

    /* a client that goes away ends the request; the query drains alone */

    if (r == r->main) {
        r->read_event_handler = ngx_http_test_reading;

        if (ngx_handle_read_event(r->connection->read, 0) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    r->main->count++;

    if (ngx_http_disclosure_db_query(r, &cat->query) != NGX_OK) {
        r->main->count--;
        return ngx_http_disclosure_data_unavailable(r);
    }

    return NGX_DONE;
}


static void
ngx_http_disclosure_catalog_done(ngx_http_request_t *r,
    ngx_http_disclosure_query_t *q, ngx_int_t rc)
{
    switch (rc) {

    case NGX_OK:
        rc = ngx_http_disclosure_catalog_respond(r, q->data);
        break;

    case NGX_DECLINED:
        rc = NGX_HTTP_NOT_FOUND;
        break;

    default:
        rc = ngx_http_disclosure_data_unavailable(r);
        break;
    }

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_disclosure_catalog_respond(ngx_http_request_t *r,
    ngx_http_disclosure_catalog_t *cat)
{
    off_t             len;
    yajl_val          doc;
    ngx_int_t         rc;
    ngx_str_t         err;
    ngx_buf_t        *b;
    ngx_chain_t      *out, *cl;

    if (cat->what == NGX_HTTP_DISCLOSURE_CATALOG_HTML) {
        doc = ngx_http_disclosure_doc_parse(r->pool, r->connection->log,
                                        cat->query.value, cat->query.len,
                                        &err);
        if (doc == NULL) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "disclosure: the database returned malformed JSON "
                          "for \"%V\": %V", &r->uri, &err);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_http_disclosure_catalog_html(r, doc, &out) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_str_set(&r->headers_out.content_type, "text/html");

    } else {
        b = ngx_calloc_buf(r->pool);
        out = ngx_alloc_chain_link(r->pool);
        if (b == NULL || out == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        b->pos = cat->query.value;
        b->last = cat->query.value + cat->query.len;
        b->memory = 1;
        b->last_buf = 1;
        out->buf = b;
        out->next = NULL;

        ngx_str_set(&r->headers_out.content_type, "application/json");

        doc = NULL;

        if (cat->what == NGX_HTTP_DISCLOSURE_CATALOG_JSON) {
            doc = ngx_http_disclosure_doc_parse(r->pool, r->connection->log,
                                            cat->query.value, cat->query.len,
                                            &err);
        }
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;
    ngx_str_set(&r->headers_out.charset, "utf-8");

    if (doc
        && ngx_http_disclosure_catalog_validators(r, cat, doc) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = 0;

    for (cl = out; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}


/* ETag and Last-Modified of the catalog; nginx's not_modified filter
 * answers conditional requests from them */

static ngx_int_t
ngx_http_disclosure_catalog_validators(ngx_http_request_t *r,
    ngx_http_disclosure_catalog_t *cat, yajl_val doc)
{
    u_char                          *p;
    ngx_int_t                        version;
    const char                      *modified;
    ngx_table_elt_t                 *etag;
    ngx_http_disclosure_loc_conf_t  *dlcf;

    dlcf = ngx_http_get_module_loc_conf(r, ngx_http_disclosure_module);

    modified = ngx_http_disclosure_doc_get_string(doc, "modified");

    if (modified) {
        r->headers_out.last_modified_time =
                                  ngx_http_disclosure_time_parse_iso(modified);
    }

    if (cat->what == NGX_HTTP_DISCLOSURE_CATALOG_HTML
        && dlcf->template_time > r->headers_out.last_modified_time)
    {
        r->headers_out.last_modified_time = dlcf->template_time;
    }

    if (ngx_http_disclosure_doc_get_int(doc, "data_version", &version)
        != NGX_OK)
    {
        return NGX_OK;
    }

    etag = ngx_list_push(&r->headers_out.headers);
    p = ngx_pnalloc(r->pool, sizeof("\"" NGX_HTTP_DISCLOSURE_RENDER_VERSION
                                    "-c-html-\"")
                             + NGX_INT_T_LEN + 8);
    if (etag == NULL || p == NULL) {
        return NGX_ERROR;
    }

    etag->hash = 1;
    ngx_str_set(&etag->key, "ETag");
    etag->value.data = p;

    if (cat->what == NGX_HTTP_DISCLOSURE_CATALOG_HTML) {
        etag->value.len = ngx_sprintf(p, "\"" NGX_HTTP_DISCLOSURE_RENDER_VERSION
                                      "-c%i-html-%08xD\"", version,
                                      dlcf->cache_location)
                          - p;

    } else {
        /* the database's bytes as they are */
        etag->value.len = ngx_sprintf(p, "\"c%i-json\"", version) - p;
    }

    r->headers_out.etag = etag;

    return NGX_OK;
}


static ngx_int_t
ngx_http_disclosure_catalog_html(ngx_http_request_t *r, yajl_val doc,
    ngx_chain_t **out)
{
    ngx_str_t                        title;
    ngx_uint_t                       i;
    yajl_val                         sets, set, dist;
    const char                      *s;
    ngx_http_disclosure_out_t        o;
    ngx_http_disclosure_loc_conf_t  *dlcf;

    if (ngx_http_disclosure_check_document(r->connection->log, doc,
                                           "disclosure-data-catalog/1")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    dlcf = ngx_http_get_module_loc_conf(r, ngx_http_disclosure_module);

    ngx_str_set(&title, "开放数据");

    ngx_http_disclosure_out_init(&o, r);
    ngx_http_disclosure_html_page_open(&o, dlcf, &title);

    ngx_http_disclosure_out_literal(&o, "<h1>");
    ngx_http_disclosure_catalog_text(&o, doc, "title");
    ngx_http_disclosure_out_literal(&o, "</h1>\n<p>");
    ngx_http_disclosure_catalog_text(&o, doc, "description");
    ngx_http_disclosure_out_literal(&o, "</p>\n<p>来源：");
    ngx_http_disclosure_catalog_text(&o, doc, "source");
    ngx_http_disclosure_out_literal(&o, "</p>\n<p>许可：");

    /* a link only to the web: the text is the operator's */
    s = ngx_http_disclosure_doc_get_string(doc, "license");

    if (s && (ngx_strncmp(s, "https://", 8) == 0
              || ngx_strncmp(s, "http://", 7) == 0))
    {
        ngx_http_disclosure_out_literal(&o, "<a rel=\"license\" href=\"");
        ngx_http_disclosure_out_html_cstr(&o, s);
        ngx_http_disclosure_out_literal(&o, "\">");
        ngx_http_disclosure_out_html_cstr(&o, s);
        ngx_http_disclosure_out_literal(&o, "</a>");

    } else {
        ngx_http_disclosure_catalog_text(&o, doc, "license");
    }

    ngx_http_disclosure_out_literal(&o, "</p>\n<p>数据版本 ");
    ngx_http_disclosure_catalog_text(&o, doc, "data_version");
    ngx_http_disclosure_out_literal(&o, "，更新于 ");
    s = ngx_http_disclosure_doc_get_string(doc, "modified");
    if (s) {
        ngx_http_disclosure_html_out_time(&o, s);
    }
    ngx_http_disclosure_out_literal(&o, "。机器可读的目录："
        "<a href=\"index.json\">index.json</a>；数据字典："
        "<a href=\"../format/2021.json\">2021 年版</a>、"
        "<a href=\"../format/2019.json\">2019 年版</a>。</p>\n"
        "<table class=\"data-files\">\n<thead><tr><th scope=\"col\">文件</th>"
        "<th scope=\"col\">年度</th><th scope=\"col\">格式</th>"
        "<th scope=\"col\">报告数</th><th scope=\"col\">字节数</th>"
        "<th scope=\"col\">数据版本</th><th scope=\"col\">更新于</th>"
        "</tr></thead>\n<tbody>\n");

    sets = ngx_http_disclosure_doc_get(doc, "dataset");

    for (i = 0; YAJL_IS_ARRAY(sets) && i < sets->u.array.len; i++) {
        set = sets->u.array.values[i];
        dist = ngx_http_disclosure_doc_get(set, "distribution");

        if (!YAJL_IS_ARRAY(dist) || dist->u.array.len == 0) {
            continue;
        }

        dist = dist->u.array.values[0];

        ngx_http_disclosure_out_literal(&o, "<tr><td><a href=\"");
        ngx_http_disclosure_catalog_text(&o, dist, "downloadURL");
        ngx_http_disclosure_out_literal(&o, "\">");
        ngx_http_disclosure_catalog_text(&o, set, "identifier");
        ngx_http_disclosure_out_literal(&o, "</a></td><td>");
        ngx_http_disclosure_catalog_text(&o, set, "year");
        ngx_http_disclosure_out_literal(&o, "</td><td>");
        ngx_http_disclosure_catalog_text(&o, set, "format");
        ngx_http_disclosure_out_literal(&o, "</td><td>");
        ngx_http_disclosure_catalog_text(&o, set, "rows");
        ngx_http_disclosure_out_literal(&o, "</td><td>");
        ngx_http_disclosure_catalog_text(&o, dist, "byteSize");
        ngx_http_disclosure_out_literal(&o, "</td><td>");
        ngx_http_disclosure_catalog_text(&o, set, "data_version");
        ngx_http_disclosure_out_literal(&o, "</td><td>");

        s = ngx_http_disclosure_doc_get_string(set, "modified");
        if (s) {
            ngx_http_disclosure_html_out_time(&o, s);
        }

        ngx_http_disclosure_out_literal(&o, "</td></tr>\n");
    }

    ngx_http_disclosure_out_literal(&o, "</tbody>\n</table>\n");
    ngx_http_disclosure_html_page_close(&o, dlcf);

    return ngx_http_disclosure_out_finish(&o, r, out);
}


/* a string or a number of the document, HTML-escaped; nothing for null */

static void
ngx_http_disclosure_catalog_text(ngx_http_disclosure_out_t *o, yajl_val obj,
    const char *key)
{
    yajl_val  v;

    v = ngx_http_disclosure_doc_get(obj, key);

    if (YAJL_IS_STRING(v)) {
        ngx_http_disclosure_out_html_cstr(o, v->u.string);

    } else if (YAJL_IS_NUMBER(v)) {
        ngx_http_disclosure_out_html_cstr(o, v->u.number.r);
    }
}

