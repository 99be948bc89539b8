
/*
 * Copyright (C) ngx_disclosure_module authors
 */


#ifndef _NGX_HTTP_DISCLOSURE_CACHE_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_CACHE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_disclosure_module.h"
#include "ngx_http_disclosure_route.h"


/*
 * The shared-memory cache of rendered responses (see _cache.c and
 * _cache_node.c).  The functions here work on shared memory only; the
 * request flow that uses them (hits, waiting, stale answers) is in
 * _handler.c.
 */


/* route, variant, slug, year and table: "rh/xigong-edz/2024" */
#define NGX_HTTP_DISCLOSURE_CACHE_KEY_LEN  (NGX_HTTP_DISCLOSURE_MAX_PATH + 16)


/* what a response says about the cache, the X-Disclosure-Cache values */
typedef enum {
    NGX_HTTP_DISCLOSURE_CACHE_NONE = 0,
    NGX_HTTP_DISCLOSURE_CACHE_MISS,
    NGX_HTTP_DISCLOSURE_CACHE_HIT,
    NGX_HTTP_DISCLOSURE_CACHE_STALE,
    NGX_HTTP_DISCLOSURE_CACHE_UPDATING,
    NGX_HTTP_DISCLOSURE_CACHE_BYPASS
} ngx_http_disclosure_cache_status_e;


/* what a lookup found */
typedef enum {
    NGX_HTTP_DISCLOSURE_CACHE_FRESH = 0,   /* a fresh copy */
    NGX_HTTP_DISCLOSURE_CACHE_OLD,         /* a stale copy, another request
                                              refreshes the entry */
    NGX_HTTP_DISCLOSURE_CACHE_LOCKED,      /* the caller fills the entry */
    NGX_HTTP_DISCLOSURE_CACHE_BUSY         /* another request fills it */
} ngx_http_disclosure_cache_found_e;


/* lookup flags */
#define NGX_HTTP_DISCLOSURE_CACHE_USE_OLD   0x01   /* OLD rather than BUSY */
#define NGX_HTTP_DISCLOSURE_CACHE_TAKEOVER  0x02   /* waited long enough */
#define NGX_HTTP_DISCLOSURE_CACHE_NO_BODY   0x04   /* HEAD: headers only */
#define NGX_HTTP_DISCLOSURE_CACHE_GZIP      0x08   /* the client takes gzip */
#define NGX_HTTP_DISCLOSURE_CACHE_PIN       0x10   /* the body may be sent
                                                      from the zone */


/* the variants an entry holds: its body, and the body gzipped at fill */
#define NGX_HTTP_DISCLOSURE_PLAIN  0
#define NGX_HTTP_DISCLOSURE_GZIP   1


/* one request's view of one entry */
typedef struct {
    ngx_shm_zone_t                  *zone;
    time_t                           valid;
    time_t                           stale_time;
    ngx_msec_t                       lock_timeout;

    uint32_t                         hash;          /* of location and key */
    uint32_t                         location;
    ngx_uint_t                       report;        /* invalidated by its
                                                       own publications */
    size_t                           len;
    u_char                           key[NGX_HTTP_DISCLOSURE_CACHE_KEY_LEN];

    uint64_t                         token;         /* our lock, 0: none */
    ngx_atomic_uint_t                generation;    /* when the query began */
} ngx_http_disclosure_cache_entry_t;


/*
 * A response out of shared memory: copied into the request pool, or with
 * PIN a large body as buffers into the entry's pieces (chain), the entry
 * pinned until ngx_http_disclosure_cache_unpin(pin).
 */
typedef struct {
    ngx_uint_t                       status;        /* NGX_HTTP_OK, or
                                                       NGX_HTTP_NOT_FOUND:
                                                       no body, no
                                                       validators */
    ngx_str_t                        body;          /* empty with NO_BODY;
                                                       its length only when
                                                       chain is set */
    ngx_chain_t                     *chain;         /* in the zone, or NULL */
    void                            *pin;
    ngx_str_t                        etag;          /* the plain body's */
    time_t                           last_modified;
    unsigned                         gzip:1;        /* body is the gzip
                                                       variant */
    unsigned                         vary:1;        /* the entry has one */
} ngx_http_disclosure_cache_copy_t;


/* a zone's figures, all uint64_t: the status page reads them through
 * one table of offsets (_status.c) */
typedef struct {
    uint64_t                         size;          /* of the zone */
    uint64_t                         pages;         /* slab pages, in all */
    uint64_t                         free_pages;
    uint64_t                         used_bytes;    /* of the pages in use */
    uint64_t                         free_bytes;    /* of the free pages */
    uint64_t                         entries;       /* responses held */
    uint64_t                         locks;         /* fills in progress */
    uint64_t                         bytes;         /* entries' own size */
    uint64_t                         allocated;     /* the same, as the
                                                       slab allocator
                                                       rounds it */
    uint64_t                         body_bytes;    /* plain bodies */
    uint64_t                         gzip_entries;  /* with a gzip variant */
    uint64_t                         gzip_bytes;    /* their gzip bodies */
    uint64_t                         pinned;        /* entries being sent
                                                       from the zone */
    uint64_t                         pinned_bytes;  /* what they allocated */
    uint64_t                         pins;          /* requests sending */
    uint64_t                         unlinked;      /* evicted or replaced
                                                       while pinned: freed
                                                       by the last unpin */
    uint64_t                         pins_reclaimed;  /* of workers that
                                                         died sending */
    uint64_t                         hits;
    uint64_t                         misses;
    uint64_t                         stale;
    uint64_t                         updating;
    uint64_t                         bypass;
    uint64_t                         stored;
    uint64_t                         evictions;
    uint64_t                         expired;
    uint64_t                         too_large;
    uint64_t                         invalidated;   /* entries */
    uint64_t                         generation;    /* invalidation events */
} ngx_http_disclosure_cache_stats_t;


/* directives */
char *ngx_http_disclosure_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_disclosure_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* the location's part of every key: its prefix and template shape links
 * and page, so two locations share entries only if they render alike */
uint32_t ngx_http_disclosure_cache_location(ngx_str_t *prefix,
    ngx_http_disclosure_loc_conf_t *dlcf);

/* fills entry from the location's configuration and the route */
void ngx_http_disclosure_cache_init_entry(
    ngx_http_disclosure_cache_entry_t *entry,
    ngx_http_disclosure_loc_conf_t *dlcf, ngx_http_disclosure_route_t *route);

/*
 * Returns a ngx_http_disclosure_cache_found_e, or NGX_ERROR (no memory
 * for the copy).  FRESH and OLD fill copy, with the gzip variant when
 * flags have GZIP and the entry has one; LOCKED sets entry->token when
 * a lock could be taken (a full zone may leave none: the caller queries
 * anyway) and entry->generation.
 */
ngx_int_t ngx_http_disclosure_cache_lookup(ngx_http_request_t *r,
    ngx_http_disclosure_cache_entry_t *entry, ngx_uint_t flags,
    ngx_http_disclosure_cache_copy_t *copy);

/* a copy usable as stale after the database failed: NGX_OK or
 * NGX_DECLINED (nothing usable), NGX_ERROR (no memory) */
ngx_int_t ngx_http_disclosure_cache_stale(ngx_http_request_t *r,
    ngx_http_disclosure_cache_entry_t *entry, ngx_uint_t flags,
    ngx_http_disclosure_cache_copy_t *copy);

/* notes when a query that bypasses the lock begins */
void ngx_http_disclosure_cache_begin(ngx_http_disclosure_cache_entry_t *entry);

/*
 * Stores the response, replacing what the key held, and drops our lock;
 * status NGX_HTTP_NOT_FOUND (the database has no such page) is stored
 * with body NULL.  gzip, the body compressed, is stored beside it unless
 * NULL.  NGX_OK, or NGX_DECLINED when it was not stored (too large).
 */
ngx_int_t ngx_http_disclosure_cache_store(
    ngx_http_disclosure_cache_entry_t *entry, ngx_uint_t status,
    ngx_chain_t *body, ngx_str_t *gzip, ngx_str_t *etag,
    time_t last_modified, ngx_log_t *log);

/* drops our lock */
void ngx_http_disclosure_cache_release(
    ngx_http_disclosure_cache_entry_t *entry);

/* the request that sent from the zone is done */
void ngx_http_disclosure_cache_unpin(ngx_shm_zone_t *zone, void *pin);

/* a worker starting: pins of workers that died are released */
void ngx_http_disclosure_cache_init_worker(ngx_cycle_t *cycle);

void ngx_http_disclosure_cache_count(ngx_shm_zone_t *zone,
    ngx_http_disclosure_cache_status_e status);

typedef ngx_uint_t (*ngx_http_disclosure_cache_match_pt)(u_char *key,
    size_t len, void *data);


/* marks stale, under the zone's lock, the entries whose key match() says */
ngx_uint_t ngx_http_disclosure_cache_invalidate_keys(ngx_shm_zone_t *zone,
    ngx_http_disclosure_cache_match_pt match, void *data);

void ngx_http_disclosure_cache_stats(ngx_shm_zone_t *zone,
    ngx_http_disclosure_cache_stats_t *st);


#endif /* _NGX_HTTP_DISCLOSURE_CACHE_H_INCLUDED_ */
