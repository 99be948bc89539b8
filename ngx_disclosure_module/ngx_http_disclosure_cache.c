
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
 * ngx_http_disclosure_cache_layout() for why).  A small response is
 * copied out under the zone's lock (the slab pool's own mutex, which nginx
 * releases if a worker dies holding it).  A large body is sent from the
 * zone instead: the lookup pins the node (a count, and a record of the
 * worker's slot and pid), and the request pool's cleanup unpins it.  An
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


/* bumped when the shared structures change: a reload then refuses to
 * reuse a zone laid out by an older build */
#define NGX_HTTP_DISCLOSURE_CACHE_LAYOUT  5

/* bodies from this size up are sent from the zone, not copied: a copy
 * and a second trip to the zone's lock cost about the same below it */
#define NGX_HTTP_DISCLOSURE_CACHE_PIN_MIN  16384

/* expired entries dropped at the LRU tail per store */
#define NGX_HTTP_DISCLOSURE_CACHE_EXPIRE  2

/* the smallest chunk of a body: fewer bytes go into the node; the slab
 * keeps the bitmap of a page of 128-byte chunks or larger outside it */
#define NGX_HTTP_DISCLOSURE_CACHE_CHUNK   128


/* one variant of the body: its pieces, and its last bytes in the node */
typedef struct {
    uint32_t                          len;
    uint32_t                          pages;        /* pieces of a page */
    uint16_t                          chunks;       /* smaller pieces: a bit
                                                       for each size */
    uint16_t                          rest;         /* the last bytes */
} ngx_http_disclosure_cache_var_t;


typedef struct {
    ngx_rbtree_node_t                 node;         /* key: the hash */
    ngx_queue_t                       queue;        /* LRU, recent first */

    uint64_t                          token;        /* the filler's lock */
    ngx_msec_t                        lock_until;

    ngx_atomic_uint_t                 generation;   /* the body's fill
                                                       began under it */
    ngx_atomic_uint_t                 fill;         /* the lock holder's
                                                       began under it */

    time_t                            expire;       /* fresh until */
    time_t                            stale_time;   /* usable stale after */
    time_t                            last_modified;

    uint32_t                          location;
    ngx_http_disclosure_cache_var_t   var[2];       /* plain, gzip (len 0:
                                                       none) */
    uint16_t                          key_len;
    uint16_t                          etag_len;

    uint32_t                          pins;         /* requests sending
                                                       from it */

    unsigned                          body:1;       /* else a lock */
    unsigned                          updating:1;
    unsigned                          not_found:1;  /* a 404, no body */
    unsigned                          unlinked:1;   /* out of the tree and
                                                       the LRU, pinned */

    u_char                            data[1];      /* key, ETag; the gzip
                                                       variant's pointers to
                                                       its pieces and rest,
                                                       then the plain's */
} ngx_http_disclosure_cache_node_t;


/* one request sending from a node, in the zone's list of pins */
typedef struct {
    ngx_queue_t                       queue;
    ngx_http_disclosure_cache_node_t *node;
    ngx_pid_t                         pid;
    ngx_int_t                         slot;         /* ngx_process_slot */
} ngx_http_disclosure_cache_pin_t;


/* how a body is laid out in the zone */
typedef struct {
    size_t                            size;         /* of the node */
    ngx_uint_t                        pages;
    size_t                            chunks;
    size_t                            rest;
} ngx_http_disclosure_cache_layout_t;


typedef struct {
    ngx_uint_t                        layout;

    ngx_rbtree_t                      rbtree;
    ngx_rbtree_node_t                 sentinel;
    ngx_queue_t                       lru;

    ngx_queue_t                       pins;

    ngx_uint_t                        entries;
    ngx_uint_t                        locks;
    size_t                            bytes;
    size_t                            allocated;
    ngx_uint_t                        pinned;
    size_t                            pinned_bytes;
    ngx_uint_t                        npins;
    ngx_uint_t                        unlinked;
    ngx_uint_t                        pins_reclaimed;
    size_t                            body_bytes;
    ngx_uint_t                        gzip_entries;
    size_t                            gzip_bytes;
    ngx_uint_t                        stored;
    ngx_uint_t                        evictions;
    ngx_uint_t                        expired;
    ngx_uint_t                        too_large;
    ngx_uint_t                        invalidated;

    /* written under the lock, read without it */
    ngx_atomic_t                      generation;

    /* counted without the lock */
    ngx_atomic_t                      hits;
    ngx_atomic_t                      misses;
    ngx_atomic_t                      stale;
    ngx_atomic_t                      updating;
    ngx_atomic_t                      bypass;
} ngx_http_disclosure_cache_sh_t;


typedef struct {
    ngx_http_disclosure_cache_sh_t   *sh;
    ngx_slab_pool_t                  *shpool;
} ngx_http_disclosure_cache_t;


static ngx_int_t ngx_http_disclosure_cache_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_disclosure_cache_rbtree_insert_value(
    ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel);
static ngx_int_t ngx_http_disclosure_cache_cmp(uint32_t location1,
    u_char *key1, size_t len1, uint32_t location2, u_char *key2, size_t len2);
static ngx_http_disclosure_cache_node_t *ngx_http_disclosure_cache_find(
    ngx_http_disclosure_cache_t *cache,
    ngx_http_disclosure_cache_entry_t *entry);
static void ngx_http_disclosure_cache_layout(ngx_slab_pool_t *shpool,
    size_t head, size_t len, ngx_http_disclosure_cache_layout_t *lo);
static ngx_uint_t ngx_http_disclosure_cache_nchunks(size_t chunks);
static void *ngx_http_disclosure_cache_alloc(
    ngx_http_disclosure_cache_t *cache, size_t size);
static void ngx_http_disclosure_cache_expire(
    ngx_http_disclosure_cache_t *cache, time_t now);
static void ngx_http_disclosure_cache_delete(
    ngx_http_disclosure_cache_t *cache,
    ngx_http_disclosure_cache_node_t *node);
static void ngx_http_disclosure_cache_free(ngx_http_disclosure_cache_t *cache,
    ngx_http_disclosure_cache_node_t *node);
static ngx_int_t ngx_http_disclosure_cache_pin(ngx_http_request_t *r,
    ngx_http_disclosure_cache_t *cache, ngx_http_disclosure_cache_node_t *node,
    ngx_uint_t v, ngx_http_disclosure_cache_copy_t *copy);
static void ngx_http_disclosure_cache_unpin_locked(
    ngx_http_disclosure_cache_t *cache, ngx_http_disclosure_cache_pin_t *pin);
static size_t ngx_http_disclosure_cache_head(size_t key_len, size_t etag_len);
static u_char **ngx_http_disclosure_cache_pieces(
    ngx_http_disclosure_cache_node_t *node, ngx_uint_t v);
static ngx_uint_t ngx_http_disclosure_cache_npieces(
    ngx_http_disclosure_cache_var_t *var);
static size_t ngx_http_disclosure_cache_piece_size(
    ngx_http_disclosure_cache_var_t *var, ngx_uint_t i);
static void ngx_http_disclosure_cache_write(
    ngx_http_disclosure_cache_node_t *node, ngx_uint_t v, ngx_chain_t *body);
static void ngx_http_disclosure_cache_account(
    ngx_http_disclosure_cache_t *cache,
    ngx_http_disclosure_cache_node_t *node, ngx_int_t sign);
static size_t ngx_http_disclosure_cache_node_size(
    ngx_http_disclosure_cache_node_t *node);
static size_t ngx_http_disclosure_cache_bytes(
    ngx_http_disclosure_cache_node_t *node);
static size_t ngx_http_disclosure_cache_allocated(ngx_slab_pool_t *shpool,
    ngx_http_disclosure_cache_node_t *node);
static size_t ngx_http_disclosure_cache_slab_size(ngx_slab_pool_t *shpool,
    size_t size);
static ngx_int_t ngx_http_disclosure_cache_copy(ngx_http_request_t *r,
    ngx_http_disclosure_cache_t *cache, ngx_http_disclosure_cache_node_t *node,
    ngx_uint_t flags, ngx_http_disclosure_cache_copy_t *copy);
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
                          "disclosure cache zone \"%V\" was made by another "
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
    ngx_uint_t                           i, v, npieces;
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

    /* the gzip variant first, the plain body last: see _pieces() */

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
                       "disclosure: a newer fill holds \"%*s\", "
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
    node->expire = (cache->sh->generation == entry->generation)
                   ? now + entry->valid : now;

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

    return NGX_OK;
}


/* a variant's bytes, buffer after buffer, into its pieces and the node */

static void
ngx_http_disclosure_cache_write(ngx_http_disclosure_cache_node_t *node,
    ngx_uint_t v, ngx_chain_t *body)
{
    u_char                           *p, *pos, **piece;
    size_t                            size, left, n;
    ngx_uint_t                        i, npieces;
    ngx_chain_t                      *cl;
    ngx_http_disclosure_cache_var_t  *var;

    var = &node->var[v];
    piece = ngx_http_disclosure_cache_pieces(node, v);
    npieces = ngx_http_disclosure_cache_npieces(var);

    cl = body;
    pos = cl ? cl->buf->pos : NULL;
    left = var->len - var->rest;

    for (i = 0; i <= npieces; i++) {

        if (i < npieces) {
            p = piece[i];
            size = ngx_http_disclosure_cache_piece_size(var, i);
            size = ngx_min(size, left);
            left -= size;

        } else {
            p = (u_char *) &piece[npieces];
            size = var->rest;
        }

        while (size) {

            if (!ngx_buf_in_memory(cl->buf) || pos == cl->buf->last) {
                cl = cl->next;
                pos = cl->buf->pos;
                continue;
            }

            n = ngx_min(size, (size_t) (cl->buf->last - pos));

            p = ngx_cpymem(p, pos, n);
            pos += n;
            size -= n;
        }
    }
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
 * A body is kept in pieces, so that an entry needs no pages next to each
 * other and loses little to rounding: the slab allocator gives whole pages
 * for more than half a page, a power of two for less.  The body takes
 * whole pages, then for the rest of its last page a chunk of each size it
 * needs (the binary digits of the rest in 128 bytes: 2048, 1024, ... 128
 * with 4 KB pages).  The node, key, ETag and the pointers to the pieces
 * are one allocation, rounded up to a power of two as well: what that
 * leaves over takes the body's last bytes, less than 128, and then the
 * smallest chunks while they fit.  Only when the last bytes do not fit
 * does a chunk of 128 bytes (or a page) take them.
 */

static void
ngx_http_disclosure_cache_layout(ngx_slab_pool_t *shpool, size_t head,
    size_t len, ngx_http_disclosure_cache_layout_t *lo)
{
    size_t  rest, chunks, size, slot, s;

    lo->pages = len / ngx_pagesize;
    rest = len % ngx_pagesize;
    chunks = rest & ~((size_t) NGX_HTTP_DISCLOSURE_CACHE_CHUNK - 1);

    size = head + (lo->pages + ngx_http_disclosure_cache_nchunks(chunks))
                  * sizeof(u_char *);
    slot = ngx_http_disclosure_cache_slab_size(shpool, size);

    if (size + (rest - chunks) > slot) {
        chunks += NGX_HTTP_DISCLOSURE_CACHE_CHUNK;

        if (chunks == ngx_pagesize) {
            lo->pages++;
            rest = 0;
            chunks = 0;
        }

        size = head + (lo->pages + ngx_http_disclosure_cache_nchunks(chunks))
                      * sizeof(u_char *);
        slot = ngx_http_disclosure_cache_slab_size(shpool, size);
    }

    /* smallest first, while the node's slot holds their bytes instead */

    for (s = NGX_HTTP_DISCLOSURE_CACHE_CHUNK; s < ngx_pagesize; s <<= 1) {

        if (!(chunks & s)) {
            continue;
        }

        /* without this chunk, rest + s - chunks bytes go into the node */

        if (size - sizeof(u_char *) + (rest + s - chunks) > slot) {
            break;
        }

        chunks -= s;
        size -= sizeof(u_char *);
    }

    lo->chunks = chunks;
    lo->rest = (rest > chunks) ? rest - chunks : 0;
    lo->size = size + lo->rest;
}


static ngx_uint_t
ngx_http_disclosure_cache_nchunks(size_t chunks)
{
    ngx_uint_t  n;

    for (n = 0; chunks; n++) {
        chunks &= chunks - 1;
    }

    return n;
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


static void
ngx_http_disclosure_cache_free(ngx_http_disclosure_cache_t *cache,
    ngx_http_disclosure_cache_node_t *node)
{
    u_char      **piece;
    ngx_uint_t    i, n, v;

    for (v = 0; v < 2; v++) {
        piece = ngx_http_disclosure_cache_pieces(node, v);
        n = ngx_http_disclosure_cache_npieces(&node->var[v]);

        for (i = 0; i < n; i++) {
            ngx_slab_free_locked(cache->shpool, piece[i]);
        }
    }

    ngx_slab_free_locked(cache->shpool, node);
}


static void
ngx_http_disclosure_cache_account(ngx_http_disclosure_cache_t *cache,
    ngx_http_disclosure_cache_node_t *node, ngx_int_t sign)
{
    size_t      bytes, allocated, plain, gzip;
    ngx_uint_t  gzipped;

    bytes = ngx_http_disclosure_cache_bytes(node);
    allocated = ngx_http_disclosure_cache_allocated(cache->shpool, node);
    plain = node->var[NGX_HTTP_DISCLOSURE_PLAIN].len;
    gzip = node->var[NGX_HTTP_DISCLOSURE_GZIP].len;
    gzipped = gzip ? 1 : 0;

    if (sign > 0) {
        cache->sh->bytes += bytes;
        cache->sh->allocated += allocated;
        cache->sh->body_bytes += plain;
        cache->sh->gzip_entries += gzipped;
        cache->sh->gzip_bytes += gzip;

    } else {
        cache->sh->bytes -= bytes;
        cache->sh->allocated -= allocated;
        cache->sh->body_bytes -= plain;
        cache->sh->gzip_entries -= gzipped;
        cache->sh->gzip_bytes -= gzip;
    }
}


/* the node, its key and ETag, aligned for the pointers that follow */

static size_t
ngx_http_disclosure_cache_head(size_t key_len, size_t etag_len)
{
    return ngx_align(offsetof(ngx_http_disclosure_cache_node_t, data)
                     + key_len + etag_len, sizeof(u_char *));
}


/*
 * The gzip variant's pointers and last bytes come first, then the plain
 * body's: the plain body is laid out last, knowing the node's whole size
 * (see ngx_http_disclosure_cache_store()).
 */

static u_char **
ngx_http_disclosure_cache_pieces(ngx_http_disclosure_cache_node_t *node,
    ngx_uint_t v)
{
    size_t                            off;
    ngx_http_disclosure_cache_var_t  *gz;

    off = ngx_http_disclosure_cache_head(node->key_len, node->etag_len);

    if (v == NGX_HTTP_DISCLOSURE_PLAIN) {
        gz = &node->var[NGX_HTTP_DISCLOSURE_GZIP];
        off += ngx_align(ngx_http_disclosure_cache_npieces(gz)
                         * sizeof(u_char *) + gz->rest, sizeof(u_char *));
    }

    return (u_char **) ((u_char *) node + off);
}


static ngx_uint_t
ngx_http_disclosure_cache_npieces(ngx_http_disclosure_cache_var_t *var)
{
    return var->pages + ngx_http_disclosure_cache_nchunks(var->chunks);
}


/* pages first, then the chunks, larger first */

static size_t
ngx_http_disclosure_cache_piece_size(ngx_http_disclosure_cache_var_t *var,
    ngx_uint_t i)
{
    size_t  s;

    if (i < var->pages) {
        return ngx_pagesize;
    }

    i -= var->pages;

    for (s = ngx_pagesize / 2; s; s >>= 1) {

        if (!(var->chunks & s)) {
            continue;
        }

        if (i == 0) {
            return s;
        }

        i--;
    }

    return 0;
}


/* the size of the node's own allocation */

static size_t
ngx_http_disclosure_cache_node_size(ngx_http_disclosure_cache_node_t *node)
{
    ngx_http_disclosure_cache_var_t  *plain;

    plain = &node->var[NGX_HTTP_DISCLOSURE_PLAIN];

    return (u_char *) ngx_http_disclosure_cache_pieces(node,
                                                   NGX_HTTP_DISCLOSURE_PLAIN)
           - (u_char *) node
           + ngx_http_disclosure_cache_npieces(plain) * sizeof(u_char *)
           + plain->rest;
}


/* the entry's own bytes: the node and the bodies outside it */

static size_t
ngx_http_disclosure_cache_bytes(ngx_http_disclosure_cache_node_t *node)
{
    size_t      size;
    ngx_uint_t  v;

    size = ngx_http_disclosure_cache_node_size(node);

    for (v = 0; v < 2; v++) {
        size += node->var[v].len - node->var[v].rest;
    }

    return size;
}


/* what the slab allocator takes for the node and all the pieces */

static size_t
ngx_http_disclosure_cache_allocated(ngx_slab_pool_t *shpool,
    ngx_http_disclosure_cache_node_t *node)
{
    size_t      size;
    ngx_uint_t  v;

    size = ngx_http_disclosure_cache_slab_size(shpool,
                                   ngx_http_disclosure_cache_node_size(node));

    for (v = 0; v < 2; v++) {
        size += node->var[v].pages * ngx_pagesize + node->var[v].chunks;
    }

    return size;
}


/* what ngx_slab_alloc_locked() really takes for size bytes */

static size_t
ngx_http_disclosure_cache_slab_size(ngx_slab_pool_t *shpool, size_t size)
{
    size_t  s;

    if (size > ngx_pagesize / 2) {
        return ngx_align(size, ngx_pagesize);
    }

    if (size <= shpool->min_size) {
        return shpool->min_size;
    }

    for (s = shpool->min_size; s < size; s <<= 1) { /* void */ }

    return s;
}


static ngx_int_t
ngx_http_disclosure_cache_copy(ngx_http_request_t *r,
    ngx_http_disclosure_cache_t *cache, ngx_http_disclosure_cache_node_t *node,
    ngx_uint_t flags, ngx_http_disclosure_cache_copy_t *copy)
{
    u_char                           *p, **piece;
    size_t                            len, left;
    ngx_int_t                         rc;
    ngx_uint_t                        i, n, v;
    ngx_http_disclosure_cache_var_t  *var;

    v = ((flags & NGX_HTTP_DISCLOSURE_CACHE_GZIP)
         && node->var[NGX_HTTP_DISCLOSURE_GZIP].len)
        ? NGX_HTTP_DISCLOSURE_GZIP : NGX_HTTP_DISCLOSURE_PLAIN;

    var = &node->var[v];

    copy->gzip = (v == NGX_HTTP_DISCLOSURE_GZIP);
    copy->vary = node->var[NGX_HTTP_DISCLOSURE_GZIP].len ? 1 : 0;
    copy->chain = NULL;
    copy->pin = NULL;

    copy->etag.len = node->etag_len;
    copy->etag.data = ngx_pnalloc(r->pool, node->etag_len + 1);
    if (copy->etag.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(copy->etag.data, node->data + node->key_len, node->etag_len);

    copy->status = node->not_found ? NGX_HTTP_NOT_FOUND : NGX_HTTP_OK;
    copy->last_modified = node->last_modified;

    /* HEAD: the length without the bytes */

    copy->body.len = var->len;
    copy->body.data = NULL;

    /* the most recently used go first */

    ngx_queue_remove(&node->queue);
    ngx_queue_insert_head(&cache->sh->lru, &node->queue);

    if (flags & NGX_HTTP_DISCLOSURE_CACHE_NO_BODY) {
        return NGX_OK;
    }

    if ((flags & NGX_HTTP_DISCLOSURE_CACHE_PIN)
        && var->len >= NGX_HTTP_DISCLOSURE_CACHE_PIN_MIN)
    {
        rc = ngx_http_disclosure_cache_pin(r, cache, node, v, copy);

        if (rc != NGX_DECLINED) {
            return rc;
        }

        /* past the bound of pinned bytes: a copy */
    }

    p = ngx_pnalloc(r->pool, var->len ? var->len : 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    copy->body.data = p;

    piece = ngx_http_disclosure_cache_pieces(node, v);
    n = ngx_http_disclosure_cache_npieces(var);
    left = var->len - var->rest;

    for (i = 0; i < n; i++) {
        len = ngx_min(left, ngx_http_disclosure_cache_piece_size(var, i));
        p = ngx_cpymem(p, piece[i], len);
        left -= len;
    }

    ngx_memcpy(p, &piece[n], var->rest);

    return NGX_OK;
}


/*
 * Buffers into the variant's pieces and the node's last bytes, and a pin
 * record: NGX_OK, NGX_DECLINED (the bound of pinned bytes, or no room for
 * the record: copy instead), NGX_ERROR (no memory in the request pool,
 * nothing pinned).
 */

static ngx_int_t
ngx_http_disclosure_cache_pin(ngx_http_request_t *r,
    ngx_http_disclosure_cache_t *cache, ngx_http_disclosure_cache_node_t *node,
    ngx_uint_t v, ngx_http_disclosure_cache_copy_t *copy)
{
    u_char                           **piece, *start;
    size_t                             bytes, left, size;
    ngx_buf_t                         *b;
    ngx_uint_t                         i, n;
    ngx_chain_t                       *cl, **ll;
    ngx_http_disclosure_cache_var_t   *var;
    ngx_http_disclosure_cache_pin_t   *pin;

    var = &node->var[v];
    bytes = 0;

    if (node->pins == 0) {
        bytes = ngx_http_disclosure_cache_allocated(cache->shpool, node);

        if (cache->sh->pinned_bytes + bytes
            > (size_t) (cache->shpool->last - cache->shpool->pages)
              * ngx_pagesize / 4)
        {
            return NGX_DECLINED;
        }
    }

    piece = ngx_http_disclosure_cache_pieces(node, v);
    n = ngx_http_disclosure_cache_npieces(var);

    b = ngx_pcalloc(r->pool, (n + 1) * sizeof(ngx_buf_t));
    cl = ngx_palloc(r->pool, (n + 1) * sizeof(ngx_chain_t));

    if (b == NULL || cl == NULL) {
        return NGX_ERROR;
    }

    pin = ngx_slab_alloc_locked(cache->shpool,
                                sizeof(ngx_http_disclosure_cache_pin_t));
    if (pin == NULL) {
        return NGX_DECLINED;
    }

    left = var->len - var->rest;
    ll = &copy->chain;

    for (i = 0; i <= n; i++) {

        if (i < n) {
            start = piece[i];
            size = ngx_min(left, ngx_http_disclosure_cache_piece_size(var, i));
            left -= size;

        } else {
            start = (u_char *) &piece[n];
            size = var->rest;
        }

        if (size == 0) {
            continue;
        }

        if (ll != &copy->chain && cl[-1].buf->last == start) {
            /*
             * the slab allocator hands out a run of free pages in order:
             * one buffer for adjacent pieces, so that nginx's filters pass
             * a few buffers, not one a page (writev() joined them anyway)
             */
            cl[-1].buf->last += size;
            continue;
        }

        /* memory, not temporary: no filter writes into the zone */
        b->pos = start;
        b->last = start + size;
        b->memory = 1;

        cl->buf = b++;
        *ll = cl;
        ll = &cl->next;
        cl++;
    }

    *ll = NULL;

    pin->node = node;
    pin->pid = ngx_pid;
    pin->slot = ngx_process_slot;

    ngx_queue_insert_tail(&cache->sh->pins, &pin->queue);

    if (node->pins++ == 0) {
        cache->sh->pinned++;
        cache->sh->pinned_bytes += bytes;
    }

    cache->sh->npins++;

    copy->pin = pin;

    return NGX_OK;
}


static void
ngx_http_disclosure_cache_unpin_locked(ngx_http_disclosure_cache_t *cache,
    ngx_http_disclosure_cache_pin_t *pin)
{
    ngx_http_disclosure_cache_node_t  *node;

    node = pin->node;

    ngx_queue_remove(&pin->queue);
    ngx_slab_free_locked(cache->shpool, pin);

    cache->sh->npins--;

    if (--node->pins) {
        return;
    }

    cache->sh->pinned--;
    cache->sh->pinned_bytes -= ngx_http_disclosure_cache_allocated(
                                                       cache->shpool, node);

    if (node->unlinked) {
        cache->sh->unlinked--;
        ngx_http_disclosure_cache_free(cache, node);
    }
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
