
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * The portal template file: the "disclosure_template" directive itself,
 * ngx_http_disclosure_template(), on a file holding the fuzzed bytes.  It
 * must accept the file exactly when the marker occurs once, and then the
 * part before, the marker and the part after must be the file again.
 */


#include "fuzz.h"
#include "ngx_http_disclosure_module.h"
#include "ngx_http_disclosure_template.h"


#define FUZZ_MARKER  "<!--# disclosure -->"
#define FUZZ_MAX     (1024 * 1024)


static ngx_uint_t fuzz_markers(const uint8_t *data, size_t size);
static void fuzz_unlink(void);


static char  fuzz_file[64];


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    int  fd;

    ngx_http_disclosure_fuzz_init();

    /* one file for the whole run, rewritten for every input */
    ngx_sprintf((u_char *) fuzz_file, "/tmp/disclosure-fuzz-template-%P%Z",
                ngx_getpid());

    fd = open(fuzz_file, O_CREAT|O_TRUNC|O_WRONLY, 0600);
    if (fd == -1) {
        perror(fuzz_file);
        abort();
    }

    close(fd);
    atexit(fuzz_unlink);

    return 0;
}


static void
fuzz_unlink(void)
{
    unlink(fuzz_file);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                              fd;
    char                            *rv;
    ngx_str_t                       *args;
    ngx_conf_t                       cf;
    ngx_pool_t                      *pool;
    ngx_cycle_t                      cycle;
    ngx_command_t                    cmd;
    ngx_array_t                     *a;
    ngx_http_disclosure_loc_conf_t   dlcf;

    fd = open(fuzz_file, O_TRUNC|O_WRONLY);
    if (fd == -1 || write(fd, data, size) != (ssize_t) size) {
        perror(fuzz_file);
        abort();
    }

    close(fd);

    pool = ngx_create_pool(1024, &ngx_http_disclosure_fuzz_log);
    if (pool == NULL) {
        abort();
    }

    ngx_memzero(&cycle, sizeof(ngx_cycle_t));
    cycle.pool = pool;
    cycle.log = &ngx_http_disclosure_fuzz_log;
    ngx_str_set(&cycle.conf_prefix, "/tmp/");
    ngx_str_set(&cycle.prefix, "/tmp/");

    a = ngx_array_create(pool, 2, sizeof(ngx_str_t));
    args = ngx_array_push_n(a, 2);
    if (args == NULL) {
        abort();
    }

    ngx_str_set(&args[0], "disclosure_template");
    args[1].data = (u_char *) fuzz_file;
    args[1].len = ngx_strlen(fuzz_file);

    ngx_memzero(&cf, sizeof(ngx_conf_t));
    cf.args = a;
    cf.cycle = &cycle;
    cf.pool = pool;
    cf.temp_pool = pool;
    cf.log = &ngx_http_disclosure_fuzz_log;

    ngx_memzero(&cmd, sizeof(ngx_command_t));
    ngx_str_set(&cmd.name, "disclosure_template");

    ngx_memzero(&dlcf, sizeof(ngx_http_disclosure_loc_conf_t));

    rv = ngx_http_disclosure_template(&cf, &cmd, &dlcf);

    if (rv == NGX_CONF_OK) {
        ngx_http_disclosure_fuzz_check(
            size <= FUZZ_MAX && fuzz_markers(data, size) == 1,
            "a template with %d markers accepted",
            (int) fuzz_markers(data, size));

        ngx_http_disclosure_fuzz_check(
            dlcf.template_head.len + sizeof(FUZZ_MARKER) - 1
            + dlcf.template_tail.len == size
            && ngx_memcmp(dlcf.template_head.data, data,
                          dlcf.template_head.len) == 0
            && ngx_memcmp(data + dlcf.template_head.len, FUZZ_MARKER,
                          sizeof(FUZZ_MARKER) - 1) == 0
            && ngx_memcmp(dlcf.template_tail.data,
                          data + size - dlcf.template_tail.len,
                          dlcf.template_tail.len) == 0,
            "head + marker + tail is not the file");

    } else {
        ngx_http_disclosure_fuzz_check(
            size > FUZZ_MAX || fuzz_markers(data, size) != 1,
            "a template with one marker refused");
    }

    ngx_destroy_pool(pool);

    return 0;
}


static ngx_uint_t
fuzz_markers(const uint8_t *data, size_t size)
{
    size_t      i, len;
    ngx_uint_t  n;

    len = sizeof(FUZZ_MARKER) - 1;
    n = 0;

    for (i = 0; i + len <= size; i++) {
        if (ngx_memcmp(data + i, FUZZ_MARKER, len) == 0) {
            n++;
            i += len - 1;
        }
    }

    return n;
}
