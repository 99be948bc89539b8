
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_CACHE_NODE_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_CACHE_NODE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_disclosure_cache.h"


/*
 * The cache zone's shared structures, for _cache.c (the zone, its tree
 * and LRU) and _cache_node.c (one entry's memory).  Every function here
 * is called with the zone's lock held.
 */


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


/* where a body of len bytes goes: pieces, chunks, the rest in the node */
void ngx_http_disclosure_cache_layout(ngx_slab_pool_t *shpool,
    size_t head, size_t len, ngx_http_disclosure_cache_layout_t *lo);
/* the node's size before its pieces: header, key, ETag */
size_t ngx_http_disclosure_cache_head(size_t key_len, size_t etag_len);
/* a variant's pieces, their number and each one's size */
u_char **ngx_http_disclosure_cache_pieces(
    ngx_http_disclosure_cache_node_t *node, ngx_uint_t v);
ngx_uint_t ngx_http_disclosure_cache_npieces(
    ngx_http_disclosure_cache_var_t *var);
size_t ngx_http_disclosure_cache_piece_size(
    ngx_http_disclosure_cache_var_t *var, ngx_uint_t i);
/* a variant's bytes into its pieces and the node */
void ngx_http_disclosure_cache_write(
    ngx_http_disclosure_cache_node_t *node, ngx_uint_t v, ngx_chain_t *body);
/* the zone's byte counts: sign 1 for a node added, -1 removed */
void ngx_http_disclosure_cache_account(
    ngx_http_disclosure_cache_t *cache,
    ngx_http_disclosure_cache_node_t *node, ngx_int_t sign);
/* the node and its pieces back to the slab */
void ngx_http_disclosure_cache_free(ngx_http_disclosure_cache_t *cache,
    ngx_http_disclosure_cache_node_t *node);
/* a response out of the node: copied into the request pool, or pinned
 * and sent from the zone (flags: NGX_HTTP_DISCLOSURE_CACHE_*); NGX_OK or
 * NGX_ERROR (no memory) */
ngx_int_t ngx_http_disclosure_cache_copy(ngx_http_request_t *r,
    ngx_http_disclosure_cache_t *cache, ngx_http_disclosure_cache_node_t *node,
    ngx_uint_t flags, ngx_http_disclosure_cache_copy_t *copy);
/* what the slab allocator takes for size bytes */
size_t ngx_http_disclosure_cache_slab_size(ngx_slab_pool_t *shpool,
    size_t size);
/* one pin dropped; an unlinked node whose last pin it was is freed */
void ngx_http_disclosure_cache_unpin_locked(
    ngx_http_disclosure_cache_t *cache, ngx_http_disclosure_cache_pin_t *pin);


#endif /* _NGX_HTTP_DISCLOSURE_CACHE_NODE_H_INCLUDED_ */
