
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_DOC_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_DOC_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <yajl/yajl_tree.h>

#include "ngx_http_disclosure_format.h"


/*
 * A document of the web API (doc/report-document.md) as a yajl_val tree,
 * and lookups into it (_doc.c).
 */

/* the web API's JSON as a yajl_val tree built in pool (never freed by
 * yajl_tree_free); NULL and *error set (possibly empty: no memory) when
 * the text is not JSON */
yajl_val ngx_http_disclosure_doc_parse(ngx_pool_t *pool, ngx_log_t *log,
    u_char *text, size_t len, ngx_str_t *error);

/* members by key, NULL when absent or of another type */
yajl_val ngx_http_disclosure_doc_get(yajl_val obj, const char *key);
yajl_val ngx_http_disclosure_doc_get_str(yajl_val obj, ngx_str_t *key);
const char *ngx_http_disclosure_doc_get_string(yajl_val obj, const char *key);
ngx_int_t ngx_http_disclosure_doc_get_int(yajl_val obj, const char *key,
    ngx_int_t *n);

/* checks "document" and, for reports, finds the format; logs on failure */
ngx_int_t ngx_http_disclosure_check_document(ngx_log_t *log, yajl_val doc,
    const char *type);
ngx_http_disclosure_format_t *ngx_http_disclosure_report_format(
    ngx_log_t *log, yajl_val doc);

/* the value of tables.{table}.{row}.{col}; logs and returns NULL if absent;
 * a JSON null comes back as a yajl_val of type yajl_t_null */
yajl_val ngx_http_disclosure_cell_value(ngx_log_t *log, yajl_val tables,
    ngx_http_disclosure_table_t *t, ngx_http_disclosure_cell_t *c);

/* the values of every cell of t, in the order of t->cells, into an array
 * of the pool; required: an absent value or one of another type is logged
 * and NGX_ERROR; otherwise it is NULL in the array */
ngx_int_t ngx_http_disclosure_cell_values(ngx_log_t *log, ngx_pool_t *pool,
    yajl_val tables, ngx_http_disclosure_table_t *t, ngx_uint_t required,
    yajl_val **values);


#endif /* _NGX_HTTP_DISCLOSURE_DOC_H_INCLUDED_ */
