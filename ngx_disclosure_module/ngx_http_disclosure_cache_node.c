
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * One entry of the cache zone in memory (see _cache.c for the zone): how
 * its body is laid out in pieces, how many bytes it holds and the slab
 * allocator gives it (the zone's statistics), writing a body in and
 * copying it out, and the pins of bodies sent from the zone.  Everything
 * here runs under the zone's lock.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_disclosure_cache.h"
#include "ngx_http_disclosure_cache_node.h"


/* bodies from this size up are sent from the zone, not copied: a copy
 * and a second trip to the zone's lock cost about the same below it */
#define NGX_HTTP_DISCLOSURE_CACHE_PIN_MIN  16384

/* the smallest chunk of a body: fewer bytes go into the node; the slab
 * keeps the bitmap of a page of 128-byte chunks or larger outside it */
#define NGX_HTTP_DISCLOSURE_CACHE_CHUNK   128


static ngx_uint_t ngx_http_disclosure_cache_nchunks(size_t chunks);
static size_t ngx_http_disclosure_cache_node_size(
    ngx_http_disclosure_cache_node_t *node);
static size_t ngx_http_disclosure_cache_bytes(
    ngx_http_disclosure_cache_node_t *node);
static size_t ngx_http_disclosure_cache_allocated(ngx_slab_pool_t *shpool,
    ngx_http_disclosure_cache_node_t *node);
static ngx_int_t ngx_http_disclosure_cache_pin(ngx_http_request_t *r,
    ngx_http_disclosure_cache_t *cache, ngx_http_disclosure_cache_node_t *node,
    ngx_uint_t v, ngx_http_disclosure_cache_copy_t *copy);


/* a variant's bytes, buffer after buffer, into its pieces and the node */

void
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

void
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


void
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


void
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

size_t
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

u_char **
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


ngx_uint_t
ngx_http_disclosure_cache_npieces(ngx_http_disclosure_cache_var_t *var)
{
    return var->pages + ngx_http_disclosure_cache_nchunks(var->chunks);
}


/* pages first, then the chunks, larger first */

size_t
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

size_t
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


ngx_int_t
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

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "disclosure cache: \"%*s\" pinned, %ui pins",
                   (size_t) node->key_len, node->data, (ngx_uint_t) node->pins);

    return NGX_OK;
}


void
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
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "disclosure cache: \"%*s\" freed by its last unpin",
                       (size_t) node->key_len, node->data);

        cache->sh->unlinked--;
        ngx_http_disclosure_cache_free(cache, node);
    }
}
