
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * What the libFuzzer targets share.  They link the module's objects with
 * nginx's own core, built from Debian's nginx sources by fuzz/build with
 * NGX_DEBUG_PALLOC, so that every pool allocation is a malloc() of its own
 * and AddressSanitizer sees an overflow past any of them.
 */


#ifndef _NGX_HTTP_DISCLOSURE_FUZZ_H_INCLUDED_
#define _NGX_HTTP_DISCLOSURE_FUZZ_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <stdio.h>
#include <stdlib.h>


/* an invariant that failed: libFuzzer keeps the input as a crash */
#define ngx_http_disclosure_fuzz_check(cond, ...)                             \
    if (!(cond)) {                                                            \
        fprintf(stderr, "\n%s:%d: invariant failed: %s\n  ",                  \
                __FILE__, __LINE__, #cond);                                   \
        fprintf(stderr, __VA_ARGS__);                                         \
        fprintf(stderr, "\n");                                                \
        abort();                                                              \
    }


/* nginx's process-wide state that the module's code relies on: page size,
 * cached time, strerror; a log at debug level that discards its lines */
void ngx_http_disclosure_fuzz_init(void);

extern ngx_log_t  ngx_http_disclosure_fuzz_log;

/* while on, log lines (not debug ones) are kept, for
 * ngx_http_disclosure_fuzz_logged(); turning it on forgets the old ones */
void ngx_http_disclosure_fuzz_capture(ngx_uint_t on);
ngx_str_t *ngx_http_disclosure_fuzz_logged(void);

/* a pool and a request with what the renderers use: pool, log, main */
ngx_http_request_t *ngx_http_disclosure_fuzz_request(ngx_pool_t *pool);

/* the bytes of an output chain, joined into one buffer from pool */
ngx_int_t ngx_http_disclosure_fuzz_join(ngx_pool_t *pool, ngx_chain_t *out,
    ngx_str_t *text);

/* a NUL-terminated copy of the input, from pool */
char *ngx_http_disclosure_fuzz_cstr(ngx_pool_t *pool, const uint8_t *data,
    size_t size);


#endif /* _NGX_HTTP_DISCLOSURE_FUZZ_H_INCLUDED_ */
