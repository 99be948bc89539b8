
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <libpq-fe.h>

#include "ngx_http_disclosure_module.h"
#include "ngx_http_disclosure_db.h"
#include "ngx_http_disclosure_render.h"
#include "ngx_http_disclosure_cache.h"
#include "ngx_http_disclosure_listener.h"
#include "ngx_http_disclosure_preview.h"
#include "ngx_http_disclosure_conninfo.h"


static char *ngx_http_disclosure(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_disclosure_positive_msec(ngx_conf_t *cf, void *post,
    void *data);

static ngx_int_t ngx_http_disclosure_add_variables(ngx_conf_t *cf);
static void *ngx_http_disclosure_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_disclosure_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_disclosure_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_disclosure_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_http_disclosure_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_disclosure_init_process(ngx_cycle_t *cycle);
static void ngx_http_disclosure_exit_process(ngx_cycle_t *cycle);


static ngx_conf_post_t  ngx_http_disclosure_positive_msec_post =
    { ngx_http_disclosure_positive_msec };


static ngx_conf_bitmask_t  ngx_http_disclosure_use_stale_masks[] = {
    { ngx_string("off"), NGX_HTTP_DISCLOSURE_STALE_OFF },
    { ngx_string("error"), NGX_HTTP_DISCLOSURE_STALE_ERROR },
    { ngx_string("updating"), NGX_HTTP_DISCLOSURE_STALE_UPDATING },
    { ngx_null_string, 0 }
};


static ngx_http_variable_t  ngx_http_disclosure_vars[] = {

    { ngx_string("disclosure_cache_status"), NULL,
      ngx_http_disclosure_cache_status_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_command_t  ngx_http_disclosure_commands[] = {

    { ngx_string("disclosure_database"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_disclosure_conf_database,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("disclosure_keepalive"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_disclosure_main_conf_t, keepalive),
      NULL },

    { ngx_string("disclosure_max_connections"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_disclosure_main_conf_t, max_connections),
      NULL },

    { ngx_string("disclosure_keepalive_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_disclosure_main_conf_t, keepalive_timeout),
      &ngx_http_disclosure_positive_msec_post },

    { ngx_string("disclosure_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_disclosure_main_conf_t, connect_timeout),
      &ngx_http_disclosure_positive_msec_post },

    { ngx_string("disclosure_query_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_disclosure_main_conf_t, query_timeout),
      &ngx_http_disclosure_positive_msec_post },

    { ngx_string("disclosure"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_disclosure,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("disclosure_template"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_disclosure_template,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("disclosure_cache_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_disclosure_cache_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("disclosure_cache_poll"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_disclosure_main_conf_t, cache_poll),
      &ngx_http_disclosure_positive_msec_post },

    { ngx_string("disclosure_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_disclosure_cache,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("disclosure_cache_valid"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_disclosure_loc_conf_t, cache_valid),
      NULL },

    { ngx_string("disclosure_cache_use_stale"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_conf_set_bitmask_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_disclosure_loc_conf_t, cache_use_stale),
      &ngx_http_disclosure_use_stale_masks },

    { ngx_string("disclosure_cache_stale_time"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_disclosure_loc_conf_t, cache_stale_time),
      NULL },

    { ngx_string("disclosure_cache_lock_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_disclosure_loc_conf_t, cache_lock_timeout),
      NULL },

    { ngx_string("disclosure_cache_bypass"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_set_predicate_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_disclosure_loc_conf_t, cache_bypass),
      NULL },

    { ngx_string("disclosure_preview_database"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_disclosure_preview_database,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("disclosure_preview"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_disclosure_preview,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_disclosure_loc_conf_t, preview),
      NULL },

    { ngx_string("disclosure_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_disclosure_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_disclosure_module_ctx = {
    ngx_http_disclosure_add_variables,     /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_disclosure_create_main_conf,  /* create main configuration */
    ngx_http_disclosure_init_main_conf,    /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_disclosure_create_loc_conf,   /* create location configuration */
    ngx_http_disclosure_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_disclosure_module = {
    NGX_MODULE_V1,
    &ngx_http_disclosure_module_ctx,       /* module context */
    ngx_http_disclosure_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_disclosure_init_module,       /* init module */
    ngx_http_disclosure_init_process,      /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_disclosure_exit_process,      /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static char *
ngx_http_disclosure(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_disclosure_loc_conf_t *dlcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (dlcf->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    dlcf->enable = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_disclosure_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_disclosure_positive_msec(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *msp = data;

    if (*msp == 0) {
        return "must be greater than zero";
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_disclosure_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_disclosure_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static void *
ngx_http_disclosure_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_disclosure_main_conf_t  *dmcf;

    dmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_disclosure_main_conf_t));
    if (dmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     dmcf->conn_keywords = NULL;
     *     dmcf->conn_values = NULL;
     *     dmcf->conninfo_safe = { 0, NULL };
     *     dmcf->pool = NULL;
     *     dmcf->shared = NULL;
     */

    dmcf->keepalive = NGX_CONF_UNSET_UINT;
    dmcf->max_connections = NGX_CONF_UNSET_UINT;
    dmcf->keepalive_timeout = NGX_CONF_UNSET_MSEC;
    dmcf->connect_timeout = NGX_CONF_UNSET_MSEC;
    dmcf->query_timeout = NGX_CONF_UNSET_MSEC;
    dmcf->cache_poll = NGX_CONF_UNSET_MSEC;

    if (ngx_array_init(&dmcf->cache_zones, cf->pool, 2,
                       sizeof(ngx_shm_zone_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return dmcf;
}


static char *
ngx_http_disclosure_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_disclosure_main_conf_t *dmcf = conf;

    ngx_conf_init_uint_value(dmcf->max_connections, 0);

    if (dmcf->keepalive == NGX_CONF_UNSET_UINT) {
        /* the default, but never more than may be open */
        dmcf->keepalive = 4;

        if (dmcf->max_connections && dmcf->max_connections < 4) {
            dmcf->keepalive = dmcf->max_connections;
        }

    } else if (dmcf->max_connections
               && dmcf->keepalive > dmcf->max_connections)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"disclosure_keepalive %ui\" is more than "
                           "\"disclosure_max_connections %ui\": a worker "
                           "cannot keep more idle connections than it may "
                           "open", dmcf->keepalive, dmcf->max_connections);
        return NGX_CONF_ERROR;
    }

    ngx_conf_init_msec_value(dmcf->keepalive_timeout, 60000);
    ngx_conf_init_msec_value(dmcf->connect_timeout, 5000);
    ngx_conf_init_msec_value(dmcf->query_timeout, 10000);
    ngx_conf_init_msec_value(dmcf->cache_poll, 3000);

    if (dmcf->cache_zones.nelts && dmcf->conn_keywords == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"disclosure_cache_zone\" is set, but "
                           "\"disclosure_database\" is not");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_disclosure_preview_init_main_conf(cf, dmcf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_disclosure_conninfo_init_main_conf(cf, dmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* counters and the listener's state, shared by the workers */

    if (dmcf->conn_keywords
        && ngx_http_disclosure_shared_add(cf, dmcf) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_disclosure_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_disclosure_loc_conf_t  *dlcf;

    dlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_disclosure_loc_conf_t));
    if (dlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     dlcf->template_file = { 0, NULL };
     *     dlcf->template_head = { 0, NULL };
     *     dlcf->template_tail = { 0, NULL };
     *     dlcf->cache_use_stale = 0;
     *     dlcf->cache_location = 0;
     *     dlcf->status = 0;
     */

    dlcf->enable = NGX_CONF_UNSET;
    dlcf->cache = NGX_CONF_UNSET_PTR;
    dlcf->cache_valid = NGX_CONF_UNSET;
    dlcf->cache_stale_time = NGX_CONF_UNSET;
    dlcf->cache_lock_timeout = NGX_CONF_UNSET_MSEC;
    dlcf->cache_bypass = NGX_CONF_UNSET_PTR;
    dlcf->preview = NGX_CONF_UNSET;

    return dlcf;
}


static char *
ngx_http_disclosure_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_disclosure_loc_conf_t *prev = parent;
    ngx_http_disclosure_loc_conf_t *conf = child;

    ngx_http_core_loc_conf_t         *clcf;
    ngx_http_disclosure_main_conf_t  *dmcf;

    /*
     * A content handler is not inherited by nested locations, and so
     * neither is "disclosure;".
     */

    if (ngx_http_disclosure_preview_merge(cf, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (conf->enable == NGX_CONF_UNSET) {
        conf->enable = 0;
    }

    if (conf->template_file.data == NULL) {
        conf->template_file = prev->template_file;
        conf->template_head = prev->template_head;
        conf->template_tail = prev->template_tail;
        conf->template_time = prev->template_time;
    }

    ngx_conf_merge_ptr_value(conf->cache, prev->cache, NULL);
    ngx_conf_merge_sec_value(conf->cache_valid, prev->cache_valid, 300);
    ngx_conf_merge_sec_value(conf->cache_stale_time, prev->cache_stale_time,
                             86400);
    ngx_conf_merge_msec_value(conf->cache_lock_timeout,
                              prev->cache_lock_timeout, 5000);
    ngx_conf_merge_bitmask_value(conf->cache_use_stale, prev->cache_use_stale,
                                 (NGX_CONF_BITMASK_SET
                                  |NGX_HTTP_DISCLOSURE_STALE_ERROR
                                  |NGX_HTTP_DISCLOSURE_STALE_UPDATING));
    ngx_conf_merge_ptr_value(conf->cache_bypass, prev->cache_bypass, NULL);

    if (conf->cache_use_stale & NGX_HTTP_DISCLOSURE_STALE_OFF) {
        conf->cache_use_stale = NGX_CONF_BITMASK_SET
                                |NGX_HTTP_DISCLOSURE_STALE_OFF;
    }

    if (conf->cache && conf->cache->data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown \"disclosure_cache_zone\" \"%V\"",
                           &conf->cache->shm.name);
        return NGX_CONF_ERROR;
    }

    if (conf->cache_valid == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"disclosure_cache_valid\" must be greater "
                           "than zero");
        return NGX_CONF_ERROR;
    }

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    /* what, besides the data, makes the bytes of this location's pages */

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    conf->cache_location = ngx_http_disclosure_cache_location(&clcf->name,
                                                              conf);

    dmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_disclosure_module);

    if (dmcf->conn_keywords == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"disclosure\" is used, but "
                           "\"disclosure_database\" is not set "
                           "in the http block");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_disclosure_init_module(ngx_cycle_t *cycle)
{
    ngx_http_disclosure_main_conf_t  *dmcf;

    dmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_disclosure_module);

    if (dmcf == NULL || dmcf->conn_keywords == NULL) {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                  "disclosure: database \"%V\", keepalive %ui, "
                  "timeouts: connect %Mms, query %Mms, idle %Mms, "
                  "max_connections %ui%s",
                  &dmcf->conninfo_safe, dmcf->keepalive,
                  dmcf->connect_timeout, dmcf->query_timeout,
                  dmcf->keepalive_timeout, dmcf->max_connections,
                  dmcf->max_connections ? "" : " (no limit)");

    return NGX_OK;
}


/* the connection pool lives in each worker; the master never connects */

static ngx_int_t
ngx_http_disclosure_init_process(ngx_cycle_t *cycle)
{
    /*
     * Read at configuration time (ngx_http_disclosure_conninfo_expand()):
     * left here, it would make libpq read the service file at every new
     * connection.
     */
    (void) unsetenv("PGSERVICE");

    ngx_http_disclosure_cache_init_worker(cycle);

    if (ngx_http_disclosure_db_init_worker(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_disclosure_listener_init_worker(cycle);
}


static void
ngx_http_disclosure_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_disclosure_listener_exit_worker(cycle);
    ngx_http_disclosure_db_exit_worker(cycle);
}
