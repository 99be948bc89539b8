
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * disclosure-import [options] PAGE.html > report.json
 *
 * A published report page in, a disclosure-report/1 document (legacy) out,
 * for SELECT disclosure.import_report(:'doc').  Exit status: 0 every cell
 * of the format mapped; 2 something could not be mapped or read (one line
 * each on standard error, with its label and position, and no document:
 * a cell it could not read is never written as a guess; --partial writes
 * it anyway, those cells null, for inspection only); 64 bad usage; 66 the
 * file cannot be read; 1 out of memory.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "di.h"


#define EX_USAGE    64
#define EX_NOINPUT  66


static void
usage(const char *why)
{
    if (why) {
        fprintf(stderr, "disclosure-import: %s\n", why);
    }

    fprintf(stderr,
"usage: disclosure-import [--agency SLUG] [--year YYYY] [--format 2019|2021]\n"
"                         [--name NAME] [--kind department|government]\n"
"                         [--parent SLUG] [--scope office|jurisdiction|unknown]\n"
"                         [--source-url URL] [--partial] PAGE.html > report.json\n"
"\n"
"Reads a published 政府信息公开工作年度报告 page (UTF-8, GBK, GB18030 or\n"
"GB2312) and writes its disclosure-report/1 document (legacy: true, the\n"
"printed totals as published_totals) for disclosure.import_report().\n"
"Exit 0: every cell of the format was mapped; 2: something was not (see\n"
"standard error, one line each; no document unless --partial, which\n"
"writes the cells it could not read as null, for inspection only).\n");

    exit(EX_USAGE);
}


static int
number(const char *s, int min, int max)
{
    char  *end;
    long   n;

    errno = 0;
    n = strtol(s, &end, 10);
    if (errno || *end || end == s || n < min || n > max) {
        return -1;
    }
    return (int) n;
}


int
main(int argc, char **argv)
{
    int            i, rc, partial;
    size_t         len, cap, k;
    char          *buf, *json, *nb;
    FILE          *f;
    const char    *file, *a;
    di_options_t   opt;
    di_ctx_t       ctx;

    memset(&opt, 0, sizeof(di_options_t));
    file = NULL;
    partial = 0;

    for (i = 1; i < argc; i++) {
        a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(NULL);
        }

        if (strcmp(a, "--partial") == 0) {
            partial = 1;
            continue;
        }

        if (a[0] == '-' && a[1] == '-' && a[2] != '\0') {
            if (i + 1 >= argc) {
                usage("an option without its value");
            }

            if (strcmp(a, "--agency") == 0) {
                opt.agency = argv[++i];
            } else if (strcmp(a, "--year") == 0) {
                opt.year = number(argv[++i], 2008, 2100);
                if (opt.year < 0) {
                    usage("--year: a year from 2008 to 2100");
                }
            } else if (strcmp(a, "--format") == 0) {
                i++;
                if (strcmp(argv[i], "2019") && strcmp(argv[i], "2021")) {
                    usage("--format: 2019 or 2021");
                }
                opt.format = (unsigned) atoi(argv[i]);
            } else if (strcmp(a, "--name") == 0) {
                opt.name = argv[++i];
            } else if (strcmp(a, "--kind") == 0) {
                opt.kind = argv[++i];
                if (strcmp(opt.kind, "department")
                    && strcmp(opt.kind, "government"))
                {
                    usage("--kind: department or government");
                }
            } else if (strcmp(a, "--parent") == 0) {
                opt.parent = argv[++i];
            } else if (strcmp(a, "--scope") == 0) {
                opt.scope = argv[++i];
                if (strcmp(opt.scope, "office") && strcmp(opt.scope, "unknown")
                    && strcmp(opt.scope, "jurisdiction"))
                {
                    usage("--scope: office, jurisdiction or unknown");
                }
            } else if (strcmp(a, "--source-url") == 0) {
                opt.source_url = argv[++i];
            } else {
                usage("unknown option");
            }
            continue;
        }

        if (file) {
            usage("one page at a time");
        }
        file = a;
    }

    if (file == NULL) {
        usage("no page given");
    }

    opt.file = file;

    f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
    if (f == NULL) {
        fprintf(stderr, "disclosure-import: %s: %s\n", file, strerror(errno));
        return EX_NOINPUT;
    }

    /* read at most one byte past the limit: di_import() says it is over */
    buf = NULL;
    len = cap = 0;
    for ( ;; ) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            if (cap > DI_MAX_INPUT + 1) {
                cap = DI_MAX_INPUT + 1;
            }
            if (len == cap) {
                break;
            }
            nb = realloc(buf, cap);
            if (nb == NULL) {
                fprintf(stderr, "disclosure-import: out of memory\n");
                return 1;
            }
            buf = nb;
        }
        k = fread(buf + len, 1, cap - len, f);
        if (k == 0) {
            break;
        }
        len += k;
    }

    if (ferror(f)) {
        fprintf(stderr, "disclosure-import: %s: %s\n", file, strerror(errno));
        return EX_NOINPUT;
    }

    if (len > DI_MAX_INPUT) {
        /* the whole size, for the message */
        if (f != stdin && fseek(f, 0, SEEK_END) == 0) {
            long end = ftell(f);
            if (end > 0) {
                len = (size_t) end;
            }
        }
        fprintf(stderr, "disclosure-import: %s: error: the file has %zu "
                "bytes; a report page has far fewer (the limit is %d MiB)\n",
                file, len, DI_MAX_INPUT / 1024 / 1024);
        return 2;
    }

    if (f != stdin) {
        fclose(f);
    }

    rc = di_import(buf, len, &opt, &ctx, &json);
    free(buf);

    for (k = 0; k < ctx.nmessages; k++) {
        fprintf(stderr, "disclosure-import: %s: %s\n", file, ctx.messages[k]);
    }
    if (ctx.dropped) {
        fprintf(stderr, "disclosure-import: %s: … and %zu more\n", file,
                ctx.dropped);
    }
    if (rc == 1) {
        fprintf(stderr, "disclosure-import: out of memory\n");
    }
    if (rc == 2 && ctx.nerrors) {
        fprintf(stderr, "disclosure-import: %s: %zu cell%s or label%s not "
                "mapped or read (exit 2)\n", file, ctx.nerrors,
                ctx.nerrors == 1 ? "" : "s", ctx.nerrors == 1 ? "" : "s");
    }

    if (json && (rc == 0 || partial)) {
        fputs(json, stdout);
    }
    if (json) {
        free(json);
    }

    di_ctx_free(&ctx);
    xmlCleanupParser();

    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "disclosure-import: standard output: %s\n",
                strerror(errno));
        return 1;
    }

    return rc;
}
