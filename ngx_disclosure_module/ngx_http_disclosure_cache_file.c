
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * The cache zone's memory as a file, so that a large body goes out with
 * sendfile() as a static file does, the kernel taking references to the
 * zone's pages instead of copying them into the socket.
 *
 * nginx maps a zone as anonymous shared memory, which has no descriptor.
 * When a zone is made (not when a reload keeps it), the master maps a
 * memfd of the zone's size over it, at the same address, before any
 * worker exists, and puts back the slab pool's header that nginx had
 * written there; the workers inherit the descriptor and the mapping.
 *
 * A page sent with sendfile() stays referenced by the socket until the
 * peer acknowledges it, long after the request that sent it has ended and
 * its entry's pin has gone.  Writing another entry into that page would
 * change bytes already "sent".  So a body page is punched out of the file
 * before the slab allocator may hand it out again: the socket keeps the
 * old page, the next write into the range faults in a new one.  Only
 * whole pages are sent this way (pieces of a body that are pages of the
 * slab: their own, page-aligned), so a punch never cuts a page another
 * allocation shares.  Huge pages would make a punch cut inside one page,
 * zeroing it in place: the mapping asks for none, and a system that
 * forces them on shared memory keeps the copy.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sys/mman.h>

#include "ngx_http_disclosure_cache.h"
#include "ngx_http_disclosure_cache_node.h"


#define NGX_HTTP_DISCLOSURE_CACHE_FILE_THP                                   \
    "/sys/kernel/mm/transparent_hugepage/shmem_enabled"


static ngx_int_t ngx_http_disclosure_cache_file_thp_forced(ngx_log_t *log);
static void ngx_http_disclosure_cache_file_cleanup(void *data);


/* at configuration: the descriptor is closed with the cycle */

ngx_int_t
ngx_http_disclosure_cache_file_conf(ngx_conf_t *cf,
    ngx_http_disclosure_cache_t *cache, ngx_str_t *name)
{
    size_t               len;
    ngx_pool_cleanup_t  *cln;

    cache->file.fd = NGX_INVALID_FILE;
    cache->file.log = cf->cycle->log;

    /* NUL-terminated: memfd_create() takes it as the file's name */

    len = sizeof("disclosure cache zone \"\"") + name->len;

    cache->file.name.data = ngx_pnalloc(cf->pool, len);
    if (cache->file.name.data == NULL) {
        return NGX_ERROR;
    }

    cache->file.name.len = len - 1;
    ngx_sprintf(cache->file.name.data, "disclosure cache zone \"%V\"%Z",
                name);

    cln = ngx_pool_cleanup_add(cf->cycle->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_disclosure_cache_file_cleanup;
    cln->data = cache;

    return NGX_OK;
}


/*
 * A new zone, in the master, after nginx has laid out its slab pool: the
 * memfd over it.  Any failure before the new mapping leaves the zone as
 * it was, without the file; a failed mapping fails the start.
 */

ngx_int_t
ngx_http_disclosure_cache_file_init(ngx_shm_zone_t *shm_zone,
    ngx_http_disclosure_cache_t *cache)
{
    u_char           *addr, *p, *head;
    size_t            size, len;
    ngx_fd_t          fd;
    ngx_log_t        *log;
    ngx_slab_pool_t  *sp;

    log = shm_zone->shm.log;
    addr = shm_zone->shm.addr;
    size = shm_zone->shm.size;
    sp = (ngx_slab_pool_t *) addr;

    if (ngx_http_disclosure_cache_file_thp_forced(log)) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "disclosure: huge pages are forced on shared memory, "
                      "%V copies its bodies into the socket",
                      &cache->file.name);
        return NGX_OK;
    }

    fd = memfd_create((char *) cache->file.name.data, MFD_CLOEXEC);

    if (fd == -1) {
        ngx_log_error(NGX_LOG_NOTICE, log, ngx_errno,
                      "disclosure: memfd_create() failed, "
                      "%V copies its bodies into the socket",
                      &cache->file.name);
        return NGX_OK;
    }

    if (ftruncate(fd, size) == -1) {
        ngx_log_error(NGX_LOG_NOTICE, log, ngx_errno,
                      "disclosure: ftruncate() of %V failed, "
                      "it copies its bodies into the socket",
                      &cache->file.name);
        (void) close(fd);
        return NGX_OK;
    }

    /* the pool's header and page table lie before its first page */

    len = sp->start - addr;

    head = ngx_alloc(len, log);
    if (head == NULL) {
        (void) close(fd);
        return NGX_ERROR;
    }

    ngx_memcpy(head, addr, len);

    p = mmap(addr, size, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_FIXED, fd, 0);

    if (p == MAP_FAILED) {
        ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                      "disclosure: mmap() of %V failed", &cache->file.name);
        ngx_free(head);
        (void) close(fd);
        return NGX_ERROR;
    }

    if (madvise(addr, size, MADV_NOHUGEPAGE) == -1) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, ngx_errno,
                       "disclosure: madvise(MADV_NOHUGEPAGE) of %V failed",
                       &cache->file.name);
    }

    ngx_memcpy(addr, head, len);
    ngx_free(head);

    /* the lock's semaphore is made again, not used as a copy */

    if (ngx_shmtx_create(&sp->mutex, &sp->lock, NULL) != NGX_OK) {
        (void) close(fd);
        return NGX_ERROR;
    }

    cache->file.fd = fd;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "disclosure: %V is memfd %d", &cache->file.name, fd);

    return NGX_OK;
}


/* a reload keeps the zone: its file too, under this cycle's descriptor */

ngx_int_t
ngx_http_disclosure_cache_file_reuse(ngx_http_disclosure_cache_t *cache,
    ngx_http_disclosure_cache_t *ocache)
{
    if (ocache->file.fd == NGX_INVALID_FILE) {
        return NGX_OK;
    }

    cache->file.fd = dup(ocache->file.fd);

    if (cache->file.fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_NOTICE, cache->file.log, ngx_errno,
                      "disclosure: dup() of %V failed, "
                      "it copies its bodies into the socket",
                      &cache->file.name);
    }

    return NGX_OK;
}


/*
 * Body pages about to go back to the slab: out of the file, so that no
 * later entry writes into a page a socket still sends.  A failed punch
 * leaves nothing but a risk: the zone stops sending by file.
 */

void
ngx_http_disclosure_cache_file_punch(ngx_http_disclosure_cache_t *cache,
    u_char *p, size_t len)
{
    off_t  off;

    if (cache->file.fd == NGX_INVALID_FILE || len == 0) {
        return;
    }

    off = p - (u_char *) cache->shpool;

    if (fallocate(cache->file.fd, FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE,
                  off, len)
        == 0)
    {
        return;
    }

    ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                  "disclosure: fallocate(PUNCH_HOLE) of %V failed, "
                  "it copies its bodies into the socket from now on",
                  &cache->file.name);

    cache->sh->file_failed = 1;
}


/* the page's range in the file, when it may go out by sendfile() */

ngx_file_t *
ngx_http_disclosure_cache_file(ngx_http_disclosure_cache_t *cache)
{
    if (cache->file.fd == NGX_INVALID_FILE || cache->sh->file_failed) {
        return NULL;
    }

    return &cache->file;
}


static ngx_int_t
ngx_http_disclosure_cache_file_thp_forced(ngx_log_t *log)
{
    u_char      buf[128];
    ssize_t     n;
    ngx_fd_t    fd;

    fd = ngx_open_file(NGX_HTTP_DISCLOSURE_CACHE_FILE_THP, NGX_FILE_RDONLY,
                       NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        return 0;
    }

    n = read(fd, buf, sizeof(buf) - 1);

    (void) ngx_close_file(fd);

    if (n <= 0) {
        return 0;
    }

    buf[n] = '\0';

    return ngx_strstr(buf, "[force]") != NULL;
}


static void
ngx_http_disclosure_cache_file_cleanup(void *data)
{
    ngx_http_disclosure_cache_t  *cache = data;

    if (cache->file.fd != NGX_INVALID_FILE) {
        (void) close(cache->file.fd);
        cache->file.fd = NGX_INVALID_FILE;
    }
}
