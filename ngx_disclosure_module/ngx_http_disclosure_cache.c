
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * The cache zone: rendered responses in shared memory, found through an
 * rbtree and evicted least recently used first.
 *
 * An entry is a node (with its key and ETag) and its body in pieces: whole
 * pages, then chunks of the slab's size classes, then the last bytes in
 * what the node's own allocation has left over (see
 * ngx_http_disclosure_cache_layout() in _cache_node.c for why).  A small
 * response is copied out under the zone's lock (the slab pool's own mutex,
 * which nginx releases if a worker dies holding it).  A large body is sent
 * from the zone instead: the lookup pins the node (a count, and a record of
 * the worker's slot and pid), and the request pool's cleanup unpins it.  An
 * entry evicted, replaced or expired while pinned is unlinked from the
 * tree and the LRU at once and freed by the last unpin; a worker that
 * starts in the slot of one that died releases the dead one's pins, so
 * that no SIGKILL leaves memory pinned for ever.  Pinned memory is
 * bounded (a quarter of the zone): past it, bodies are copied.
 *
 * An entry without a body is a lock: a request is filling it.  Requests
 * for the same key then wait, or take a stale copy, instead of querying
 * the database again.  A "not found" entry is a response, with an empty
 * body: the database had no such page (SQL NULL), and until a publication
 * invalidates it, asking again would give the same 404.
 *
 * Invalidation marks entries stale by moving their expiry time to now;
 * every invalidation also bumps the zone's generation, and a fill that
 * began under an older generation is stored already stale, so that a
 * response read from the database before a publication is never cached
 * as fresh after it.  A node keeps the generation its body's fill began
 * under, and its lock holder's: a fill replaces its own lock, or a body or
 * another's lock that began no later than it did, never a newer one (a
 * request that waited out the lock may have filled the key after a
 * publication while an older query was still running).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_disclosure_cache.h"
#include "ngx_http_disclosure_cache_node.h"


/* bumped when the shared structures change: a reload then refuses to
 * reuse a zone laid out by an older build */
#define NGX_HTTP_DISCLOSURE_CACHE_LAYOUT  5

/* expired entries dropped at the LRU tail per store */
#define NGX_HTTP_DISCLOSURE_CACHE_EXPIRE  2


static ngx_int_t ngx_http_disclosure_cache_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_disclosure_cache_rbtree_insert_value(
    ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel);
static ngx_int_t ngx_http_disclosure_cache_cmp(uint32_t location1,
    u_char *key1, size_t len1, uint32_t location2, u_char *key2, size_t len2);
static ngx_int_t ngx_http_disclosure_cache_find_or_lock(
    ngx_http_request_t *r, ngx_http_disclosure_cache_entry_t *entry,
    ngx_uint_t flags, ngx_http_disclosure_cache_copy_t *copy);
static ngx_http_disclosure_cache_node_t *ngx_http_disclosure_cache_find(
    ngx_http_disclosure_cache_t *cache,
    ngx_http_disclosure_cache_entry_t *entry);
static void *ngx_http_disclosure_cache_alloc(
    ngx_http_disclosure_cache_t *cache, size_t size);
static void ngx_http_disclosure_cache_expire(
    ngx_http_disclosure_cache_t *cache, time_t now);
static void ngx_http_disclosure_cache_delete(
    ngx_http_disclosure_cache_t *cache,
    ngx_http_disclosure_cache_node_t *node);
static ngx_uint_t ngx_http_disclosure_cache_replaces(
    ngx_http_disclosure_cache_node_t *node,
    ngx_http_disclosure_cache_entry_t *entry);
static uint64_t ngx_http_disclosure_cache_token(void);


/* disclosure_cache_zone name:size; */

char *
ngx_http_disclosure_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_disclosure_main_conf_t *dmcf = conf;

    u_char                       *p;
    ssize_t                       size;
    ngx_str_t                    *value, name, s;
    ngx_shm_zone_t               *shm_zone, **zp;
    ngx_http_disclosure_cache_t  *cache;

    value = cf->args->elts;

    p = ngx_strlchr(value[1].data, value[1].data + value[1].len, ':');

    if (p == NULL || p == value[1].data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\", expected name:size",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    name.data = value[1].data;
    name.len = p - value[1].data;

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small, the minimum is %uzk",
                           &value[1], 8 * ngx_pagesize / 1024);
        return NGX_CONF_ERROR;
    }

    shm_zone = ngx_shared_memory_add(cf, &name, size,
                                     &ngx_http_disclosure_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    cache = ngx_pcalloc(cf->pool, sizeof(ngx_http_disclosure_cache_t));
    if (cache == NULL) {
        return NGX_CONF_ERROR;
    }

    shm_zone->init = ngx_http_disclosure_cache_init_zone;
    shm_zone->data = cache;

    zp = ngx_array_push(&dmcf->cache_zones);
    if (zp == NULL) {
        return NGX_CONF_ERROR;
    }

    *zp = shm_zone;

    return NGX_CONF_OK;
}


/* disclosure_cache zone | off; the zone may be declared further down */

char *
ngx_http_disclosure_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_disclosure_loc_conf_t *dlcf = conf;

    ngx_str_t  *value;

    if (dlcf->cache != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        dlcf->cache = NULL;
        return NGX_CONF_OK;
    }

    dlcf->cache = ngx_shared_memory_add(cf, &value[1], 0,
                                        &ngx_http_disclosure_module);
    if (dlcf->cache == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* a reload with the zone's name and size unchanged keeps its entries */

static ngx_int_t
ngx_http_disclosure_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_disclosure_cache_t  *ocache = data;

    size_t                        len;
    ngx_http_disclosure_cache_t  *cache;

    cache = shm_zone->data;

    if (ocache) {
        if (ocache->sh->layout != NGX_HTTP_DISCLOSURE_CACHE_LAYOUT) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "disclosure: cache zone \"%V\" was made by another "
                          "version of the module; change its size or name "
                          "to start afresh", &shm_zone->shm.name);
            return NGX_ERROR;
        }

        cache->sh = ocache->sh;
        cache->shpool = ocache->shpool;

        return NGX_OK;
    }

    cache->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        cache->sh = cache->shpool->data;
        return NGX_OK;
    }

    cache->sh = ngx_slab_calloc(cache->shpool,
                                sizeof(ngx_http_disclosure_cache_sh_t));
    if (cache->sh == NULL) {
        return NGX_ERROR;
    }

    cache->shpool->data = cache->sh;
    cache->sh->layout = NGX_HTTP_DISCLOSURE_CACHE_LAYOUT;

    ngx_rbtree_init(&cache->sh->rbtree, &cache->sh->sentinel,
                    ngx_http_disclosure_cache_rbtree_insert_value);
    ngx_queue_init(&cache->sh->lru);
    ngx_queue_init(&cache->sh->pins);

    len = sizeof(" in disclosure cache zone \"\"") + shm_zone->shm.name.len;

    cache->shpool->log_ctx = ngx_slab_alloc(cache->shpool, len);
    if (cache->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(cache->shpool->log_ctx, " in disclosure cache zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone is normal: the LRU entries make room */
    cache->shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_http_disclosure_cache_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t                **p;
    ngx_http_disclosure_cache_node_t  *n, *t;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else { /* node->key == temp->key */

            n = (ngx_http_disclosure_cache_node_t *) node;
            t = (ngx_http_disclosure_cache_node_t *) temp;

            p = (ngx_http_disclosure_cache_cmp(n->location, n->data,
                                               n->key_len, t->location,
                                               t->data, t->key_len)
                 < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_int_t
ngx_http_disclosure_cache_cmp(uint32_t location1, u_char *key1, size_t len1,
    uint32_t location2, u_char *key2, size_t len2)
{
    if (location1 != location2) {
        return (location1 < location2) ? -1 : 1;
    }

    return ngx_memn2cmp(key1, key2, len1, len2);
}


uint32_t
ngx_http_disclosure_cache_location(ngx_str_t *prefix,
    ngx_http_disclosure_loc_conf_t *dlcf)
{
    uint32_t  crc;

    ngx_crc32_init(crc);

    ngx_crc32_update(&crc, (u_char *) NGX_HTTP_DISCLOSURE_RENDER_VERSION,
                     sizeof(NGX_HTTP_DISCLOSURE_RENDER_VERSION));
    ngx_crc32_update(&crc, prefix->data, prefix->len);
    ngx_crc32_update(&crc, (u_char *) "", 1);
    ngx_crc32_update(&crc, dlcf->template_head.data, dlcf->template_head.len);
    ngx_crc32_update(&crc, (u_char *) "", 1);
    ngx_crc32_update(&crc, dlcf->template_tail.data, dlcf->template_tail.len);

    ngx_crc32_final(crc);

    return crc;
}


/*
 * The key names what the bytes depend on besides the data: the route and
 * the variant ("ih", "aj/demo-district", "rc/xigong-edz/2024",
 * "th/xigong-edz/2024/appeals"); the location is kept beside it.
 */

void
ngx_http_disclosure_cache_init_entry(ngx_http_disclosure_cache_entry_t *entry,
    ngx_http_disclosure_loc_conf_t *dlcf, ngx_http_disclosure_route_t *route)
{
    u_char    *p;
    size_t     len;

    /* by ngx_http_disclosure_route_e and ngx_http_disclosure_variant_e */
    static u_char  kinds[] = "iartncuy";
    static u_char  variants[] = "hjcf";

    len = 2 + 1 + route->slug.len + 1 + route->year.len + 1
          + route->table.len;

    if (len > NGX_HTTP_DISCLOSURE_CACHE_KEY_LEN) {
        /* the route parser never lets this happen; not cached if it did */
        entry->zone = NULL;
        return;
    }

    entry->zone = dlcf->cache;
    entry->valid = dlcf->cache_valid;
    entry->stale_time = dlcf->cache_stale_time;
    entry->lock_timeout = dlcf->cache_lock_timeout;
    entry->location = dlcf->cache_location;
    entry->token = 0;

    p = entry->key;
    *p++ = kinds[route->route];
    *p++ = variants[route->variant];

    if (route->slug.len) {
        *p++ = '/';
        p = ngx_cpymem(p, route->slug.data, route->slug.len);
    }

    entry->report = (route->route == NGX_HTTP_DISCLOSURE_REPORT
                     || route->route == NGX_HTTP_DISCLOSURE_TABLE);

    if (route->year.len) {
        *p++ = '/';
        p = ngx_cpymem(p, route->year.data, route->year.len);
    }

    if (route->table.len) {
        *p++ = '/';
        p = ngx_cpymem(p, route->table.data, route->table.len);
    }

    entry->len = p - entry->key;

    /*
     * murmur, four bytes a step: a byte-wise CRC32 of the key was half
     * the module's time on an SSI page (perf, bench/README.md); the
     * location is a CRC32 already, and a lookup compares both in full
     */
    entry->hash = ngx_murmur_hash2(entry->key, entry->len) ^ entry->location;
}


ngx_int_t
ngx_http_disclosure_cache_lookup(ngx_http_request_t *r,
    ngx_http_disclosure_cache_entry_t *entry, ngx_uint_t flags,
    ngx_http_disclosure_cache_copy_t *copy)
{
    ngx_int_t  rc;

#if (NGX_DEBUG)
    /* by ngx_http_disclosure_cache_found_e */
    static char  *found[] = { "fresh", "stale", "locked", "busy" };
#endif

    rc = ngx_http_disclosure_cache_find_or_lock(r, entry, flags, copy);

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "disclosure cache: \"%*s\" in \"%V\": %s",
                   entry->len, entry->key, &entry->zone->shm.name,
                   (rc >= 0) ? found[rc] : "no memory");

    return rc;
}


/* the lookup, under the zone's lock: a copy, or the lock to fill */

static ngx_int_t
ngx_http_disclosure_cache_find_or_lock(ngx_http_request_t *r,
    ngx_http_disclosure_cache_entry_t *entry, ngx_uint_t flags,
    ngx_http_disclosure_cache_copy_t *copy)
{
    size_t                             size;
    time_t                             now;
    ngx_int_t                          rc;
    ngx_msec_t                         msec;
    ngx_http_disclosure_cache_t       *cache;
    ngx_http_disclosure_cache_node_t  *node;

    cache = entry->zone->data;
    now = ngx_time();
    msec = ngx_current_msec;

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_http_disclosure_cache_find(cache, entry);

    if (node) {

        if (node->body && now < node->expire) {
            rc = ngx_http_disclosure_cache_copy(r, cache, node, flags, copy);

            ngx_shmtx_unlock(&cache->shpool->mutex);

            return (rc == NGX_OK) ? NGX_HTTP_DISCLOSURE_CACHE_FRESH
                                  : NGX_ERROR;
        }

        if (node->updating
            && !(flags & NGX_HTTP_DISCLOSURE_CACHE_TAKEOVER)
            && (ngx_msec_int_t) (node->lock_until - msec) > 0)
        {
            if ((flags & NGX_HTTP_DISCLOSURE_CACHE_USE_OLD)
                && node->body
                && now < node->expire + node->stale_time)
            {
                rc = ngx_http_disclosure_cache_copy(r, cache, node, flags,
                                                    copy);

                ngx_shmtx_unlock(&cache->shpool->mutex);

                return (rc == NGX_OK) ? NGX_HTTP_DISCLOSURE_CACHE_OLD
                                      : NGX_ERROR;
            }

            ngx_shmtx_unlock(&cache->shpool->mutex);

            return NGX_HTTP_DISCLOSURE_CACHE_BUSY;
        }

        /* expired, or its filler gave up: ours to fill */

        entry->token = ngx_http_disclosure_cache_token();
        entry->generation = cache->sh->generation;

        node->updating = 1;
        node->token = entry->token;
        node->fill = entry->generation;
        node->lock_until = msec + entry->lock_timeout;

        ngx_shmtx_unlock(&cache->shpool->mutex);

        return NGX_HTTP_DISCLOSURE_CACHE_LOCKED;
    }

    entry->generation = cache->sh->generation;

    size = ngx_http_disclosure_cache_head(entry->len, 0);

    node = ngx_http_disclosure_cache_alloc(cache, size);

    if (node == NULL) {
        /* the zone is smaller than a lock: the query goes unlocked */
        ngx_shmtx_unlock(&cache->shpool->mutex);

        entry->token = 0;
        return NGX_HTTP_DISCLOSURE_CACHE_LOCKED;
    }

    entry->token = ngx_http_disclosure_cache_token();

    ngx_memzero(node, offsetof(ngx_http_disclosure_cache_node_t, data));

    node->node.key = entry->hash;
    node->location = entry->location;
    node->key_len = (uint16_t) entry->len;
    ngx_memcpy(node->data, entry->key, entry->len);

    node->updating = 1;
    node->token = entry->token;
    node->fill = entry->generation;
    node->lock_until = msec + entry->lock_timeout;

    ngx_rbtree_insert(&cache->sh->rbtree, &node->node);
    ngx_queue_insert_head(&cache->sh->lru, &node->queue);

    cache->sh->locks++;
    ngx_http_disclosure_cache_account(cache, node, 1);

    ngx_shmtx_unlock(&cache->shpool->mutex);

    return NGX_HTTP_DISCLOSURE_CACHE_LOCKED;
}


ngx_int_t
ngx_http_disclosure_cache_stale(ngx_http_request_t *r,
    ngx_http_disclosure_cache_entry_t *entry, ngx_uint_t flags,
    ngx_http_disclosure_cache_copy_t *copy)
{
    ngx_int_t                          rc;
    ngx_http_disclosure_cache_t       *cache;
    ngx_http_disclosure_cache_node_t  *node;

    cache = entry->zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_http_disclosure_cache_find(cache, entry);

    if (node && node->body && ngx_time() < node->expire + node->stale_time) {
        rc = ngx_http_disclosure_cache_copy(r, cache, node, flags, copy);

    } else {
        rc = NGX_DECLINED;
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    return rc;
}


void
ngx_http_disclosure_cache_begin(ngx_http_disclosure_cache_entry_t *entry)
{
    ngx_http_disclosure_cache_t  *cache;

    cache = entry->zone->data;

    entry->generation = cache->sh->generation;
}


ngx_int_t
ngx_http_disclosure_cache_store(ngx_http_disclosure_cache_entry_t *entry,
    ngx_uint_t status, ngx_chain_t *body, ngx_str_t *gzip, ngx_str_t *etag,
    time_t last_modified, ngx_log_t *log)
{
    u_char                              *p;
    size_t                               len, size, head;
    time_t                               now;
    ngx_buf_t                            gzb;
    ngx_uint_t                           i, v, npieces, fresh;
    ngx_chain_t                         *cl, gzcl;
    ngx_http_disclosure_cache_t         *cache;
    ngx_http_disclosure_cache_node_t    *node;
    ngx_http_disclosure_cache_layout_t   lo[2];
    u_char                             **piece;

    cache = entry->zone->data;
    now = ngx_time();

    len = 0;

    for (cl = body; cl; cl = cl->next) {
        if (!ngx_buf_in_memory(cl->buf) && ngx_buf_size(cl->buf)) {
            ngx_http_disclosure_cache_release(entry);
            return NGX_DECLINED;
        }

        len += ngx_buf_size(cl->buf);
    }

    if (gzip && gzip->len == 0) {
        gzip = NULL;
    }

    /* the gzip variant first, the plain body last: see _pieces() in
     * _cache_node.c */

    head = ngx_http_disclosure_cache_head(entry->len, etag->len);

    ngx_http_disclosure_cache_layout(cache->shpool, head,
                                     gzip ? gzip->len : 0,
                                     &lo[NGX_HTTP_DISCLOSURE_GZIP]);

    head = ngx_align(lo[NGX_HTTP_DISCLOSURE_GZIP].size, sizeof(u_char *));

    ngx_http_disclosure_cache_layout(cache->shpool, head, len,
                                     &lo[NGX_HTTP_DISCLOSURE_PLAIN]);

    size = ngx_http_disclosure_cache_slab_size(cache->shpool,
                                          lo[NGX_HTTP_DISCLOSURE_PLAIN].size);

    for (v = 0; v < 2; v++) {
        size += lo[v].pages * ngx_pagesize + lo[v].chunks;
    }

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_http_disclosure_cache_find(cache, entry);

    if (node && !ngx_http_disclosure_cache_replaces(node, entry)) {
        /* a fill that began after ours holds the key: ours is older */
        ngx_shmtx_unlock(&cache->shpool->mutex);

        entry->token = 0;

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                       "disclosure cache: a newer fill holds \"%*s\", "
                       "this one is not stored", entry->len, entry->key);

        return NGX_DECLINED;
    }

    if (node) {
        ngx_http_disclosure_cache_delete(cache, node);
    }

    entry->token = 0;

    /* more than half the zone would leave room for nothing else */

    if (etag->len > 0xffff || len > 0xffffffff
        || (gzip && gzip->len > 0xffffffff)
        || size > (size_t) (cache->shpool->last - cache->shpool->pages)
                  * ngx_pagesize / 2)
    {
        cache->sh->too_large++;

        ngx_shmtx_unlock(&cache->shpool->mutex);

        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "disclosure: a response of %uz bytes is too large "
                      "for the cache zone \"%V\"", len,
                      &entry->zone->shm.name);

        return NGX_DECLINED;
    }

    ngx_http_disclosure_cache_expire(cache, now);

    node = ngx_http_disclosure_cache_alloc(cache,
                                           lo[NGX_HTTP_DISCLOSURE_PLAIN].size);

    if (node == NULL) {
        cache->sh->too_large++;
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_DECLINED;
    }

    ngx_memzero(node, offsetof(ngx_http_disclosure_cache_node_t, data));

    node->key_len = (uint16_t) entry->len;
    node->etag_len = (uint16_t) etag->len;

    node->var[NGX_HTTP_DISCLOSURE_PLAIN].len = (uint32_t) len;
    node->var[NGX_HTTP_DISCLOSURE_GZIP].len = gzip ? (uint32_t) gzip->len : 0;

    for (v = 0; v < 2; v++) {
        node->var[v].pages = (uint32_t) lo[v].pages;
        node->var[v].chunks = (uint16_t) lo[v].chunks;
        node->var[v].rest = (uint16_t) lo[v].rest;
    }

    for (v = 0; v < 2; v++) {
        piece = ngx_http_disclosure_cache_pieces(node, v);
        npieces = ngx_http_disclosure_cache_npieces(&node->var[v]);

        for (i = 0; i < npieces; i++) {
            piece[i] = ngx_http_disclosure_cache_alloc(cache,
                           ngx_http_disclosure_cache_piece_size(&node->var[v],
                                                                i));
            if (piece[i] != NULL) {
                continue;
            }

            /* nothing is left to evict: no entry is stored in part */

            while (i) {
                ngx_slab_free_locked(cache->shpool, piece[--i]);
            }

            while (v) {
                v--;
                piece = ngx_http_disclosure_cache_pieces(node, v);
                i = ngx_http_disclosure_cache_npieces(&node->var[v]);

                while (i) {
                    ngx_slab_free_locked(cache->shpool, piece[--i]);
                }
            }

            ngx_slab_free_locked(cache->shpool, node);

            cache->sh->too_large++;
            ngx_shmtx_unlock(&cache->shpool->mutex);
            return NGX_DECLINED;
        }
    }

    node->node.key = entry->hash;
    node->location = entry->location;
    node->body = 1;
    node->not_found = (status == NGX_HTTP_NOT_FOUND);
    node->last_modified = last_modified;
    node->stale_time = entry->stale_time;
    node->generation = entry->generation;

    /* invalidated while the query ran: keep it only as a stale copy */
    fresh = (cache->sh->generation == entry->generation);
    node->expire = fresh ? now + entry->valid : now;

    p = ngx_cpymem(node->data, entry->key, entry->len);

    if (etag->len) {
        /* a 404 has none, and no data pointer either */
        ngx_memcpy(p, etag->data, etag->len);
    }

    ngx_http_disclosure_cache_write(node, NGX_HTTP_DISCLOSURE_PLAIN, body);

    if (gzip) {
        ngx_memzero(&gzb, sizeof(ngx_buf_t));
        gzb.pos = gzip->data;
        gzb.last = gzip->data + gzip->len;
        gzb.memory = 1;

        gzcl.buf = &gzb;
        gzcl.next = NULL;

        ngx_http_disclosure_cache_write(node, NGX_HTTP_DISCLOSURE_GZIP,
                                        &gzcl);
    }

    ngx_rbtree_insert(&cache->sh->rbtree, &node->node);
    ngx_queue_insert_head(&cache->sh->lru, &node->queue);

    cache->sh->entries++;
    cache->sh->stored++;
    ngx_http_disclosure_cache_account(cache, node, 1);

    ngx_shmtx_unlock(&cache->shpool->mutex);

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, log, 0,
                   "disclosure cache: stored \"%*s\", %uz bytes, "
                   "gzip %uz, %s", entry->len, entry->key, len,
                   gzip ? gzip->len : 0,
                   fresh ? "fresh" : "already stale");

    return NGX_OK;
}


void
ngx_http_disclosure_cache_release(ngx_http_disclosure_cache_entry_t *entry)
{
    ngx_http_disclosure_cache_t       *cache;
    ngx_http_disclosure_cache_node_t  *node;

    if (entry->zone == NULL || entry->token == 0) {
        return;
    }

    cache = entry->zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_http_disclosure_cache_find(cache, entry);

    if (node && node->updating && node->token == entry->token) {

        if (node->body) {
            node->updating = 0;

        } else {
            ngx_http_disclosure_cache_delete(cache, node);
        }
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    entry->token = 0;
}


void
ngx_http_disclosure_cache_unpin(ngx_shm_zone_t *zone, void *pin)
{
    ngx_http_disclosure_cache_t  *cache;

    cache = zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);
    ngx_http_disclosure_cache_unpin_locked(cache, pin);
    ngx_shmtx_unlock(&cache->shpool->mutex);
}


/*
 * A slot is given to another process only after nginx has reaped the one
 * before: pins in this worker's slot under another pid are of a worker
 * that died (SIGKILL, a crash) while sending, and nothing will release
 * them but this.  The master respawns a dead worker in its own slot at
 * once; the slot of a worker that dies while shutting down (a reload) is
 * reused by the next process nginx starts.  Other slots are not judged:
 * a worker started with this one may be pinning already.
 */

void
ngx_http_disclosure_cache_init_worker(ngx_cycle_t *cycle)
{
    ngx_uint_t                        i, n;
    ngx_queue_t                      *q, *next;
    ngx_shm_zone_t                  **zone;
    ngx_http_disclosure_cache_t      *cache;
    ngx_http_disclosure_cache_pin_t  *pin;
    ngx_http_disclosure_main_conf_t  *dmcf;

    dmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_disclosure_module);
    if (dmcf == NULL) {
        return;
    }

    zone = dmcf->cache_zones.elts;

    for (i = 0; i < dmcf->cache_zones.nelts; i++) {
        cache = zone[i]->data;

        if (cache->sh == NULL) {
            continue;
        }

        n = 0;

        ngx_shmtx_lock(&cache->shpool->mutex);

        for (q = ngx_queue_head(&cache->sh->pins);
             q != ngx_queue_sentinel(&cache->sh->pins);
             q = next)
        {
            next = ngx_queue_next(q);
            pin = ngx_queue_data(q, ngx_http_disclosure_cache_pin_t, queue);

            if (pin->slot == ngx_process_slot && pin->pid != ngx_pid) {
                ngx_http_disclosure_cache_unpin_locked(cache, pin);
                n++;
            }
        }

        cache->sh->pins_reclaimed += n;

        ngx_shmtx_unlock(&cache->shpool->mutex);

        if (n) {
            ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                          "disclosure: %ui pins of a worker that exited "
                          "while sending from the cache zone \"%V\" "
                          "released", n, &zone[i]->shm.name);
        }
    }
}


void
ngx_http_disclosure_cache_count(ngx_shm_zone_t *zone,
    ngx_http_disclosure_cache_status_e status)
{
    ngx_atomic_t                 *counter;
    ngx_http_disclosure_cache_t  *cache;

    cache = zone->data;

    switch (status) {

    case NGX_HTTP_DISCLOSURE_CACHE_HIT:
        counter = &cache->sh->hits;
        break;

    case NGX_HTTP_DISCLOSURE_CACHE_MISS:
        counter = &cache->sh->misses;
        break;

    case NGX_HTTP_DISCLOSURE_CACHE_STALE:
        counter = &cache->sh->stale;
        break;

    case NGX_HTTP_DISCLOSURE_CACHE_UPDATING:
        counter = &cache->sh->updating;
        break;

    case NGX_HTTP_DISCLOSURE_CACHE_BYPASS:
        counter = &cache->sh->bypass;
        break;

    default:
        return;
    }

    (void) ngx_atomic_fetch_add(counter, 1);
}


/*
 * A walk over every entry, under the lock: publications are rare, and a
 * walk of ten thousand entries takes well under a millisecond.  Which keys
 * a change makes stale is decided in _stale.c.
 */

ngx_uint_t
ngx_http_disclosure_cache_invalidate_keys(ngx_shm_zone_t *zone,
    ngx_http_disclosure_cache_match_pt match, void *data)
{
    time_t                             now;
    ngx_uint_t                         n;
    ngx_queue_t                       *q;
    ngx_http_disclosure_cache_t       *cache;
    ngx_http_disclosure_cache_node_t  *node;

    cache = zone->data;
    now = ngx_time();
    n = 0;

    ngx_shmtx_lock(&cache->shpool->mutex);

    for (q = ngx_queue_head(&cache->sh->lru);
         q != ngx_queue_sentinel(&cache->sh->lru);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_disclosure_cache_node_t, queue);

        if (!node->body || node->expire <= now) {
            continue;
        }

        if (match(node->data, node->key_len, data)) {
            node->expire = now;
            n++;
        }
    }

    cache->sh->generation++;
    cache->sh->invalidated += n;

    ngx_shmtx_unlock(&cache->shpool->mutex);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "disclosure cache: %ui entries of \"%V\" marked stale",
                   n, &zone->shm.name);

    return n;
}


void
ngx_http_disclosure_cache_stats(ngx_shm_zone_t *zone,
    ngx_http_disclosure_cache_stats_t *st)
{
    ngx_http_disclosure_cache_t  *cache;

    cache = zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    st->size = zone->shm.size;
    st->pages = cache->shpool->last - cache->shpool->pages;
    st->free_pages = cache->shpool->pfree;
    st->used_bytes = (st->pages - st->free_pages) * ngx_pagesize;
    st->free_bytes = st->free_pages * ngx_pagesize;
    st->entries = cache->sh->entries;
    st->locks = cache->sh->locks;
    st->bytes = cache->sh->bytes;
    st->allocated = cache->sh->allocated;
    st->pinned = cache->sh->pinned;
    st->pinned_bytes = cache->sh->pinned_bytes;
    st->pins = cache->sh->npins;
    st->unlinked = cache->sh->unlinked;
    st->pins_reclaimed = cache->sh->pins_reclaimed;
    st->body_bytes = cache->sh->body_bytes;
    st->gzip_entries = cache->sh->gzip_entries;
    st->gzip_bytes = cache->sh->gzip_bytes;
    st->stored = cache->sh->stored;
    st->evictions = cache->sh->evictions;
    st->expired = cache->sh->expired;
    st->too_large = cache->sh->too_large;
    st->invalidated = cache->sh->invalidated;
    st->generation = cache->sh->generation;

    ngx_shmtx_unlock(&cache->shpool->mutex);

    st->hits = cache->sh->hits;
    st->misses = cache->sh->misses;
    st->stale = cache->sh->stale;
    st->updating = cache->sh->updating;
    st->bypass = cache->sh->bypass;
}


static ngx_http_disclosure_cache_node_t *
ngx_http_disclosure_cache_find(ngx_http_disclosure_cache_t *cache,
    ngx_http_disclosure_cache_entry_t *entry)
{
    ngx_int_t                          rc;
    ngx_rbtree_node_t                 *node, *sentinel;
    ngx_http_disclosure_cache_node_t  *cn;

    node = cache->sh->rbtree.root;
    sentinel = cache->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (entry->hash < node->key) {
            node = node->left;
            continue;
        }

        if (entry->hash > node->key) {
            node = node->right;
            continue;
        }

        /* entry->hash == node->key */

        cn = (ngx_http_disclosure_cache_node_t *) node;

        rc = ngx_http_disclosure_cache_cmp(entry->location, entry->key,
                                           entry->len, cn->location,
                                           cn->data, cn->key_len);

        if (rc == 0) {
            return cn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/*
 * Entries are evicted from the LRU tail until an allocation succeeds or
 * nothing is left.  A piece is a page or less (only the node of a body of
 * many megabytes is larger), so any free page will do: a full zone evicts
 * about what it stores, not entry after entry until pages next to each
 * other come free.
 */

static void *
ngx_http_disclosure_cache_alloc(ngx_http_disclosure_cache_t *cache,
    size_t size)
{
    void                              *p;
    ngx_queue_t                       *q;
    ngx_http_disclosure_cache_node_t  *node;

    for ( ;; ) {
        p = ngx_slab_alloc_locked(cache->shpool, size);

        if (p) {
            return p;
        }

        if (ngx_queue_empty(&cache->sh->lru)) {
            return NULL;
        }

        q = ngx_queue_last(&cache->sh->lru);
        node = ngx_queue_data(q, ngx_http_disclosure_cache_node_t, queue);

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "disclosure cache: evicting \"%*s\" for %uz bytes",
                       (size_t) node->key_len, node->data, size);

        ngx_http_disclosure_cache_delete(cache, node);
        cache->sh->evictions++;
    }
}


/* entries past their stale time, and abandoned locks, at the LRU tail */

static void
ngx_http_disclosure_cache_expire(ngx_http_disclosure_cache_t *cache,
    time_t now)
{
    ngx_uint_t                         n;
    ngx_queue_t                       *q;
    ngx_http_disclosure_cache_node_t  *node;

    for (n = 0; n < NGX_HTTP_DISCLOSURE_CACHE_EXPIRE; n++) {

        if (ngx_queue_empty(&cache->sh->lru)) {
            return;
        }

        q = ngx_queue_last(&cache->sh->lru);
        node = ngx_queue_data(q, ngx_http_disclosure_cache_node_t, queue);

        if (node->body) {
            if (node->updating || now < node->expire + node->stale_time) {
                return;
            }

        } else if ((ngx_msec_int_t) (node->lock_until - ngx_current_msec)
                   > 0)
        {
            return;
        }

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "disclosure cache: \"%*s\" expired",
                       (size_t) node->key_len, node->data);

        ngx_http_disclosure_cache_delete(cache, node);
        cache->sh->expired++;
    }
}


static void
ngx_http_disclosure_cache_delete(ngx_http_disclosure_cache_t *cache,
    ngx_http_disclosure_cache_node_t *node)
{
    if (node->body) {
        cache->sh->entries--;

    } else {
        cache->sh->locks--;
    }

    ngx_http_disclosure_cache_account(cache, node, -1);

    ngx_queue_remove(&node->queue);
    ngx_rbtree_delete(&cache->sh->rbtree, &node->node);

    if (node->pins) {
        /* requests are sending from it: the last of them frees it */
        node->unlinked = 1;
        cache->sh->unlinked++;
        return;
    }

    ngx_http_disclosure_cache_free(cache, node);
}


/*
 * Whether a fill may replace what the key holds: its own lock, or what
 * began under the same generation as it or an older one.  Generations
 * only grow, so "no later" is "not greater".
 */

static ngx_uint_t
ngx_http_disclosure_cache_replaces(ngx_http_disclosure_cache_node_t *node,
    ngx_http_disclosure_cache_entry_t *entry)
{
    if (node->updating && entry->token && node->token == entry->token) {
        return 1;
    }

    if (node->updating && node->fill > entry->generation) {
        /* another request's fill, begun after ours, is under way */
        return 0;
    }

    if (node->body) {
        return node->generation <= entry->generation;
    }

    return node->fill <= entry->generation;
}


static uint64_t
ngx_http_disclosure_cache_token(void)
{
    static uint32_t  n;

    if (++n == 0) {
        n = 1;
    }

    return ((uint64_t) ngx_pid << 32) | n;
}
