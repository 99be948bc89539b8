
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * disclosure_template FILE;
 *
 * The portal's own page with one "<!--# disclosure -->" where the report
 * goes.  It is read once, at configuration time, and split at the marker;
 * the page renderers send the part before, the report, and the part after,
 * the two parts straight from configuration memory.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_disclosure_module.h"
#include "ngx_http_disclosure_template.h"


#define NGX_HTTP_DISCLOSURE_TEMPLATE_MAX  (1024 * 1024)


static u_char *ngx_http_disclosure_template_find(u_char *p, u_char *last);


static ngx_str_t  ngx_http_disclosure_marker =
    ngx_string("<!--# disclosure -->");


char *
ngx_http_disclosure_template(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_disclosure_loc_conf_t *dlcf = conf;

    u_char           *buf, *mark;
    off_t             size;
    ssize_t           n;
    ngx_str_t        *value, name;
    ngx_file_t        file;
    ngx_file_info_t   fi;

    if (dlcf->template_file.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    name = value[1];

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));

    file.name = name;
    file.log = cf->log;

    file.fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &name);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed", &name);
        goto failed;
    }

    size = ngx_file_size(&fi);

    if (size > NGX_HTTP_DISCLOSURE_TEMPLATE_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "template \"%V\" is larger than %d bytes",
                           &name, NGX_HTTP_DISCLOSURE_TEMPLATE_MAX);
        goto failed;
    }

    buf = ngx_pnalloc(cf->pool, size + 1);
    if (buf == NULL) {
        goto failed;
    }

    n = ngx_read_file(&file, buf, size, 0);

    if (n == NGX_ERROR) {
        goto failed;    /* ngx_read_file() has logged */
    }

    if (n != size) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           ngx_read_file_n " \"%V\" returned only %z bytes "
                           "instead of %O", &name, n, size);
        goto failed;
    }

    if (ngx_close_file(file.fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%V\" failed", &name);
    }

    mark = ngx_http_disclosure_template_find(buf, buf + size);

    if (mark == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "template \"%V\" has no \"%V\" marker",
                           &name, &ngx_http_disclosure_marker);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_disclosure_template_find(
            mark + ngx_http_disclosure_marker.len, buf + size)
        != NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "template \"%V\" has more than one \"%V\" marker",
                           &name, &ngx_http_disclosure_marker);
        return NGX_CONF_ERROR;
    }

    dlcf->template_file = name;

    dlcf->template_head.data = buf;
    dlcf->template_head.len = mark - buf;

    dlcf->template_tail.data = mark + ngx_http_disclosure_marker.len;
    dlcf->template_tail.len = buf + size - dlcf->template_tail.data;

    dlcf->template_time = ngx_time();

    return NGX_CONF_OK;

failed:

    if (ngx_close_file(file.fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%V\" failed", &name);
    }

    return NGX_CONF_ERROR;
}


/* the marker in [p, last); the template may hold any bytes, even NUL */

static u_char *
ngx_http_disclosure_template_find(u_char *p, u_char *last)
{
    size_t   len;
    u_char  *m;

    m = ngx_http_disclosure_marker.data;
    len = ngx_http_disclosure_marker.len;

    for ( /* void */ ; (size_t) (last - p) >= len; p++) {
        p = ngx_strlchr(p, last - len + 1, m[0]);

        if (p == NULL) {
            return NULL;
        }

        if (ngx_memcmp(p, m, len) == 0) {
            return p;
        }
    }

    return NULL;
}
