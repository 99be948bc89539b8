
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * disclosure-import's reading of a page, any bytes: di_import() of
 * import/, the whole tool but its file handling, compiled into this target
 * (fuzz/build adds import/di_*.c and libxml2).  Besides memory errors and
 * leaks: the status is 0, 1 or 2, and 2 exactly when an error was reported;
 * every message is one line, "error: " or "note: "; a status 0 comes with a
 * document that yajl parses back, a disclosure-report/1 with legacy true
 * and the three tables, every cell a number, null, "/" or "not_printed".
 */


#include "fuzz.h"

#include <string.h>
#include <libxml/parser.h>
#include <yajl/yajl_tree.h>

#include "di.h"


static void fuzz_cells(yajl_val tables);


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ngx_http_disclosure_fuzz_init();
    xmlInitParser();
    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int            rc;
    char          *copy, *json, err[256];
    size_t         i;
    di_ctx_t       ctx;
    yajl_val       doc, v;
    di_options_t   opt;

    /* a copy of exactly size bytes: reading past it is an ASan error */
    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);

    memset(&opt, 0, sizeof(di_options_t));
    opt.agency = "fuzz";
    opt.file = "fuzz.html";

    rc = di_import(copy, size, &opt, &ctx, &json);
    free(copy);

    ngx_http_disclosure_fuzz_check(rc == 0 || rc == 1 || rc == 2,
                                   "status %d", rc);
    ngx_http_disclosure_fuzz_check(rc == 1 || (rc == 2) == (ctx.nerrors > 0),
                                   "status %d with %zu errors", rc,
                                   ctx.nerrors);

    for (i = 0; i < ctx.nmessages; i++) {
        const char *m = ctx.messages[i], *p;

        ngx_http_disclosure_fuzz_check(strncmp(m, "error: ", 7) == 0
                                       || strncmp(m, "note: ", 6) == 0,
                                       "message \"%s\"", m);
        for (p = m; *p; p++) {
            ngx_http_disclosure_fuzz_check((unsigned char) *p >= 0x20,
                                           "control byte in \"%s\"", m);
        }
    }

    if (rc == 0) {
        ngx_http_disclosure_fuzz_check(json != NULL, "status 0, no document");

        doc = yajl_tree_parse(json, err, sizeof(err));
        ngx_http_disclosure_fuzz_check(doc != NULL, "%s in %s", err, json);

        const char *document[] = { "document", NULL };
        const char *legacy[] = { "legacy", NULL };
        const char *tables[] = { "tables", NULL };

        v = yajl_tree_get(doc, document, yajl_t_string);
        ngx_http_disclosure_fuzz_check(v && strcmp(YAJL_GET_STRING(v),
                                                   "disclosure-report/1") == 0,
                                       "document %s", json);
        v = yajl_tree_get(doc, legacy, yajl_t_true);
        ngx_http_disclosure_fuzz_check(v != NULL, "not legacy: %s", json);
        v = yajl_tree_get(doc, tables, yajl_t_object);
        ngx_http_disclosure_fuzz_check(v != NULL && v->u.object.len == 3,
                                       "tables: %s", json);
        fuzz_cells(v);

        yajl_tree_free(doc);
    }

    free(json);
    di_ctx_free(&ctx);

    return 0;
}


static void
fuzz_cells(yajl_val tables)
{
    size_t    t, r, c;
    yajl_val  rows, cols, v;

    for (t = 0; t < tables->u.object.len; t++) {
        rows = tables->u.object.values[t];
        ngx_http_disclosure_fuzz_check(YAJL_IS_OBJECT(rows), "a table");

        for (r = 0; r < rows->u.object.len; r++) {
            cols = rows->u.object.values[r];
            ngx_http_disclosure_fuzz_check(YAJL_IS_OBJECT(cols), "a row");

            for (c = 0; c < cols->u.object.len; c++) {
                v = cols->u.object.values[c];
                ngx_http_disclosure_fuzz_check(
                    YAJL_IS_NUMBER(v) || YAJL_IS_NULL(v)
                    || (YAJL_IS_STRING(v)
                        && (strcmp(YAJL_GET_STRING(v), "/") == 0
                            || strcmp(YAJL_GET_STRING(v), "not_printed") == 0)),
                    "cell %s.%s", rows->u.object.keys[r],
                    cols->u.object.keys[c]);
            }
        }
    }
}
