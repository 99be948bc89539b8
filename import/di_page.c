
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * The page: its bytes made UTF-8 (the meta charset, else UTF-8 if they are
 * valid UTF-8, else GB18030, the superset of GBK and GB2312), parsed by
 * libxml2's HTML parser with recovery, then walked into lines of text and
 * tables.  A table that holds another table is layout (Word and portal
 * templates nest them): its cells are walked as text and its inner tables
 * taken on their own.  A data table becomes a grid with every rowspan and
 * colspan expanded, each slot pointing at the cell that covers it.
 */


#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "di.h"


typedef struct {
    di_page_t   *page;
    di_ctx_t    *ctx;
    di_buf_t     line;
    int          failed;
    int          full;              /* DI_MAX_ITEMS reached */
} di_walk_t;


static char *di_charset(const char *buf, size_t len);
static char *di_to_utf8(const char *buf, size_t len, const char *charset,
    di_ctx_t *ctx);
static void di_walk(di_walk_t *w, xmlNode *node, int depth);
static void di_flush(di_walk_t *w);
static int di_push(di_walk_t *w, char *text, di_grid_t *grid);
static int di_has_table(xmlNode *node);
static di_grid_t *di_grid(di_walk_t *w, xmlNode *table);
static void di_collect_rows(xmlNode *node, xmlNode ***rows, size_t *n,
    size_t *cap, int *failed);
static void di_cell_text(xmlNode *node, di_buf_t *b, int depth);
static size_t di_span(xmlNode *cell, const char *name, size_t max);
static int di_is(xmlNode *n, const char *name);
static int di_block(const char *name);
static void di_grid_free(di_grid_t *g);


int
di_page_read(const char *buf, size_t len, di_page_t *page, di_ctx_t *ctx)
{
    int         rc;
    char       *charset, *utf8;
    xmlDoc     *doc;
    xmlNode    *root;
    di_walk_t   w;

    memset(page, 0, sizeof(di_page_t));

    if (len == 0) {
        di_error(ctx, "the file is empty");
        return 2;
    }

    if (len > DI_MAX_INPUT) {
        di_error(ctx, "the file has %zu bytes; a report page has far fewer "
                 "(the limit is %d MiB)", len, DI_MAX_INPUT / 1024 / 1024);
        return 2;
    }

    if (memchr(buf, '\0', len) != NULL) {
        di_error(ctx, "the file holds NUL bytes at byte %zu: not an HTML page"
                 " in UTF-8, GBK, GB18030 or GB2312",
                 (size_t) ((const char *) memchr(buf, '\0', len) - buf));
        return 2;
    }

    charset = di_charset(buf, len);
    utf8 = di_to_utf8(buf, len, charset, ctx);
    free(charset);

    if (utf8 == NULL) {
        return ctx->nomem ? 1 : 2;
    }

    doc = htmlReadMemory(utf8, (int) strlen(utf8), NULL, "UTF-8",
                         HTML_PARSE_RECOVER | HTML_PARSE_NOERROR
                         | HTML_PARSE_NOWARNING | HTML_PARSE_NONET
                         | HTML_PARSE_NOBLANKS | HTML_PARSE_IGNORE_ENC
                         | HTML_PARSE_COMPACT);
    free(utf8);

    if (doc == NULL || (root = xmlDocGetRootElement(doc)) == NULL) {
        if (doc) {
            xmlFreeDoc(doc);
        }
        di_error(ctx, "libxml2 found no HTML document in the file");
        return 2;
    }

    memset(&w, 0, sizeof(di_walk_t));
    w.page = page;
    w.ctx = ctx;

    /* comments before <html>: "<!-- saved from url=(0052)http://… -->" */
    di_walk(&w, doc->children, 0);
    di_flush(&w);

    xmlFreeDoc(doc);

    rc = w.failed ? 1 : 0;
    if (rc) {
        ctx->nomem = 1;
    }

    return rc;
}


/* the charset of <meta charset> or <meta http-equiv content="…charset=">,
 * in the first 4 KB, as libxml2 would take it */
static char *
di_charset(const char *buf, size_t len)
{
    size_t   n, i, j;
    char    *head, *p, *e;

    n = len < 4096 ? len : 4096;
    head = malloc(n + 1);
    if (head == NULL) {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        head[i] = (buf[i] >= 'A' && buf[i] <= 'Z') ? buf[i] + 32 : buf[i];
    }
    head[n] = '\0';

    for (p = head; (p = strstr(p, "<meta")) != NULL; p += 5) {
        e = strchr(p, '>');
        if (e == NULL) {
            break;
        }
        *e = '\0';
        char *c = strstr(p, "charset");
        if (c) {
            c += 7;
            while (*c == ' ' || *c == '=' || *c == '"' || *c == '\'') {
                c++;
            }
            for (j = 0; c[j] && (isalnum((unsigned char) c[j]) || c[j] == '-'
                                 || c[j] == '_'); j++) { }
            if (j > 0 && j < 32) {
                c[j] = '\0';
                char *cs = di_strdup(c);
                free(head);
                return cs;
            }
        }
        *e = '>';
    }

    free(head);
    return NULL;
}


/* the page in UTF-8, NUL-terminated */
static char *
di_to_utf8(const char *buf, size_t len, const char *charset, di_ctx_t *ctx)
{
    size_t    bad, in_left, out_left, out_cap;
    char     *out, *in, *o;
    iconv_t   cd;
    int       utf8;

    utf8 = charset == NULL
           || strcasecmp(charset, "utf-8") == 0
           || strcasecmp(charset, "utf8") == 0;

    if (charset == NULL && !di_utf8_valid(buf, len, &bad)) {
        utf8 = 0;                  /* no meta charset: GB18030 if not UTF-8 */
    }

    /* a byte order mark */
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
        buf += 3;
        len -= 3;
        utf8 = 1;
    }

    if (utf8) {
        if (!di_utf8_valid(buf, len, &bad)) {
            di_error(ctx, "the page %s UTF-8, but byte %zu is not UTF-8 "
                     "(a page saved in another encoding?)",
                     charset ? "says it is" : "is neither GB18030 nor", bad);
            return NULL;
        }
        out = malloc(len + 1);
        if (out == NULL) {
            ctx->nomem = 1;
            return NULL;
        }
        memcpy(out, buf, len);
        out[len] = '\0';
        return out;
    }

    if (charset == NULL || strcasecmp(charset, "gbk") == 0
        || strcasecmp(charset, "gb2312") == 0
        || strcasecmp(charset, "gb18030") == 0
        || strcasecmp(charset, "x-gbk") == 0
        || strcasecmp(charset, "cp936") == 0)
    {
        charset = "GB18030";
    }

    cd = iconv_open("UTF-8", charset);
    if (cd == (iconv_t) -1) {
        di_error(ctx, "the page's charset %s is not one this tool reads "
                 "(UTF-8, GBK, GB18030, GB2312)", di_quote(charset));
        return NULL;
    }

    out_cap = len * 2 + 16;
    out = malloc(out_cap);
    if (out == NULL) {
        iconv_close(cd);
        ctx->nomem = 1;
        return NULL;
    }

    in = (char *) buf;
    in_left = len;
    o = out;
    out_left = out_cap - 1;

    if (iconv(cd, &in, &in_left, &o, &out_left) == (size_t) -1) {
        di_error(ctx, "byte %zu is not %s (%s)",
                 (size_t) (in - buf), charset,
                 errno == EILSEQ ? "an invalid sequence"
                 : errno == EINVAL ? "the file ends inside a character"
                 : "cannot convert");
        iconv_close(cd);
        free(out);
        return NULL;
    }

    iconv_close(cd);
    *o = '\0';
    return out;
}


static void
di_walk(di_walk_t *w, xmlNode *node, int depth)
{
    xmlNode     *n;
    di_grid_t   *g;
    const char  *name, *c;
    xmlChar     *v, *rel;

    if (depth > 200) {
        return;                   /* libxml2 limits depth too; a guard */
    }

    for (n = node; n && !w->failed; n = n->next) {

        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            if (n->content) {
                di_buf_add(&w->line, (char *) n->content,
                           strlen((char *) n->content));
                if (w->line.failed) {
                    w->failed = 1;
                }
            }
            continue;
        }

        if (n->type == XML_COMMENT_NODE) {
            c = n->content ? strstr((char *) n->content, "saved from url=")
                           : NULL;
            if (c && w->page->saved_from == NULL) {
                c += 15;
                if (*c == '(') {
                    c = strchr(c, ')');
                    c = c ? c + 1 : NULL;
                }
                if (c) {
                    w->page->saved_from = di_squeeze(c);
                }
            }
            continue;
        }

        if (n->type != XML_ELEMENT_NODE || n->name == NULL) {
            continue;
        }

        name = (const char *) n->name;

        if (strcmp(name, "script") == 0 || strcmp(name, "style") == 0
            || strcmp(name, "noscript") == 0 || strcmp(name, "template") == 0
            || strcmp(name, "select") == 0 || strcmp(name, "option") == 0)
        {
            continue;
        }

        if (strcmp(name, "title") == 0) {
            di_buf_t t = { NULL, 0, 0, 0 };
            di_cell_text(n, &t, 0);
            char *s = di_buf_take(&t);
            if (s && w->page->title == NULL) {
                w->page->title = di_squeeze(s);
            }
            free(s);
            continue;
        }

        if (strcmp(name, "link") == 0 || strcmp(name, "meta") == 0) {
            rel = xmlGetProp(n, (const xmlChar *) "rel");
            v = xmlGetProp(n, (const xmlChar *) "property");
            if (((rel && strcasecmp((char *) rel, "canonical") == 0)
                 || (v && strcasecmp((char *) v, "og:url") == 0))
                && w->page->canonical == NULL)
            {
                xmlFree(v);
                v = xmlGetProp(n, (const xmlChar *)
                               (strcmp(name, "link") == 0 ? "href"
                                                           : "content"));
                if (v) {
                    w->page->canonical = di_squeeze((char *) v);
                }
            }
            xmlFree(rel);
            xmlFree(v);
            continue;
        }

        if (strcmp(name, "table") == 0 && !di_has_table(n->children)) {
            di_flush(w);
            g = di_grid(w, n);
            if (g && di_push(w, NULL, g) != 0) {
                di_grid_free(g);
            }
            continue;
        }

        if (di_block(name)) {
            di_flush(w);
            di_walk(w, n->children, depth + 1);
            di_flush(w);
            continue;
        }

        di_walk(w, n->children, depth + 1);
    }
}


static int
di_block(const char *name)
{
    static const char  *blocks[] = {
        "p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul",
        "ol", "tr", "td", "th", "table", "tbody", "thead", "tfoot", "section",
        "article", "header", "footer", "nav", "aside", "main", "blockquote",
        "center", "dd", "dt", "dl", "pre", "hr", "caption", "form", "body",
        "html", "address", "figure", "figcaption", NULL
    };
    const char  **b;

    for (b = blocks; *b; b++) {
        if (strcmp(*b, name) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
di_flush(di_walk_t *w)
{
    char  *raw, *s;

    if (w->line.len == 0) {
        return;
    }

    raw = di_buf_take(&w->line);
    if (raw == NULL) {
        w->failed = 1;
        return;
    }

    s = di_squeeze(raw);
    free(raw);

    if (s == NULL) {
        w->failed = 1;
        return;
    }

    if (*s == '\0') {
        free(s);
        return;
    }

    if (di_push(w, s, NULL) != 0) {
        free(s);
    }
}


static int
di_push(di_walk_t *w, char *text, di_grid_t *grid)
{
    di_page_t  *p = w->page;
    di_item_t  *a;
    size_t      cap;

    if (p->nitems >= DI_MAX_ITEMS) {
        if (!w->full) {
            di_error(w->ctx, "more than %d paragraphs and tables: "
                     "the rest of the page is not read", DI_MAX_ITEMS);
            w->full = 1;
        }
        return -1;
    }

    if (p->nitems == p->cap) {
        cap = p->cap ? p->cap * 2 : 256;
        a = realloc(p->items, cap * sizeof(di_item_t));
        if (a == NULL) {
            w->failed = 1;
            return -1;
        }
        p->items = a;
        p->cap = cap;
    }

    p->items[p->nitems].text = text;
    p->items[p->nitems].grid = grid;
    p->nitems++;
    return 0;
}


static int
di_has_table(xmlNode *node)
{
    xmlNode  *n;

    for (n = node; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) {
            continue;
        }
        if (di_is(n, "table") || di_has_table(n->children)) {
            return 1;
        }
    }

    return 0;
}


static int
di_is(xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->name
           && strcmp((const char *) n->name, name) == 0;
}


/* the rows of a table: its <tr>s in document order (no tables inside) */
static void
di_collect_rows(xmlNode *node, xmlNode ***rows, size_t *n, size_t *cap,
    int *failed)
{
    xmlNode   *c, **a;

    for (c = node; c && !*failed; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) {
            continue;
        }

        if (di_is(c, "tr")) {
            if (*n == *cap) {
                *cap = *cap ? *cap * 2 : 32;
                a = realloc(*rows, *cap * sizeof(xmlNode *));
                if (a == NULL) {
                    *failed = 1;
                    return;
                }
                *rows = a;
            }
            (*rows)[(*n)++] = c;
            continue;
        }

        di_collect_rows(c->children, rows, n, cap, failed);
    }
}


static size_t
di_span(xmlNode *cell, const char *name, size_t max)
{
    xmlChar  *v;
    long      n;

    v = xmlGetProp(cell, (const xmlChar *) name);
    if (v == NULL) {
        return 1;
    }

    n = strtol((char *) v, NULL, 10);
    xmlFree(v);

    if (n < 1) {
        return 1;                        /* rowspan="0" and junk: one */
    }

    return (size_t) n > max ? max : (size_t) n;
}


static void
di_cell_text(xmlNode *node, di_buf_t *b, int depth)
{
    xmlNode  *n;

    if (depth > 200) {
        return;
    }

    for (n = node; n; n = n->next) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            if (n->content) {
                di_buf_add(b, (char *) n->content,
                           strlen((char *) n->content));
            }
            continue;
        }

        if (n->type != XML_ELEMENT_NODE
            || di_is(n, "script") || di_is(n, "style"))
        {
            continue;
        }

        if (n->name && di_block((const char *) n->name)) {
            di_buf_addc(b, ' ');
        }
        di_cell_text(n->children, b, depth + 1);
    }
}


static di_grid_t *
di_grid(di_walk_t *w, xmlNode *table)
{
    size_t      nrows, cap, r, c, rs, cs, i, j, ncells, ccap;
    xmlNode   **rows, *td;
    di_grid_t  *g;
    di_tcell_t *cells, *a;
    int        *grid, failed;
    char       *raw;
    di_buf_t    t;

    rows = NULL;
    nrows = cap = 0;
    failed = 0;
    di_collect_rows(table->children, &rows, &nrows, &cap, &failed);

    w->page->ntables++;

    if (failed) {
        free(rows);
        w->failed = 1;
        return NULL;
    }

    if (nrows == 0) {
        free(rows);
        return NULL;
    }

    if (nrows > DI_MAX_ROWS) {
        di_error(w->ctx, "table %u has %zu rows; more than %d are not read",
                 w->page->ntables, nrows, DI_MAX_ROWS);
        nrows = DI_MAX_ROWS;
    }

    grid = malloc(nrows * DI_MAX_COLS * sizeof(int));
    g = calloc(1, sizeof(di_grid_t));
    if (grid == NULL || g == NULL) {
        free(grid);
        free(g);
        free(rows);
        w->failed = 1;
        return NULL;
    }

    for (i = 0; i < nrows * DI_MAX_COLS; i++) {
        grid[i] = -1;
    }

    cells = NULL;
    ncells = ccap = 0;
    g->ncols = 0;

    for (r = 0; r < nrows; r++) {
        c = 0;

        for (td = rows[r]->children; td; td = td->next) {
            if (!di_is(td, "td") && !di_is(td, "th")) {
                continue;
            }

            while (c < DI_MAX_COLS && grid[r * DI_MAX_COLS + c] != -1) {
                c++;
            }

            rs = di_span(td, "rowspan", nrows - r);
            cs = di_span(td, "colspan", DI_MAX_COLS);

            if (c + cs > DI_MAX_COLS) {
                di_error(w->ctx, "table %u, row %zu: more than %d columns; "
                         "the cells past them are not read",
                         w->page->ntables, r + 1, DI_MAX_COLS);
                break;
            }

            if (ncells == ccap) {
                ccap = ccap ? ccap * 2 : 64;
                a = realloc(cells, ccap * sizeof(di_tcell_t));
                if (a == NULL) {
                    failed = 1;
                    break;
                }
                cells = a;
            }

            memset(&t, 0, sizeof(di_buf_t));
            di_cell_text(td->children, &t, 0);
            raw = di_buf_take(&t);
            cells[ncells].text = raw ? di_squeeze(raw) : NULL;
            free(raw);
            if (cells[ncells].text == NULL) {
                failed = 1;
                break;
            }

            cells[ncells].row = r;
            cells[ncells].col = c;
            cells[ncells].rowspan = rs;
            cells[ncells].colspan = cs;

            /* a later cell overlapping an earlier span keeps the earlier */
            for (i = r; i < r + rs; i++) {
                for (j = c; j < c + cs; j++) {
                    if (grid[i * DI_MAX_COLS + j] == -1) {
                        grid[i * DI_MAX_COLS + j] = (int) ncells;
                    }
                }
            }

            ncells++;
            c += cs;
            if (c > g->ncols) {
                g->ncols = c;
            }
        }

        if (failed) {
            break;
        }
    }

    free(rows);

    if (failed) {
        for (i = 0; i < ncells; i++) {
            free(cells[i].text);
        }
        free(cells);
        free(grid);
        free(g);
        w->failed = 1;
        return NULL;
    }

    g->no = w->page->ntables;
    g->nrows = nrows;
    g->cells = cells;
    g->ncells = ncells;

    /* compact to ncols */
    if (g->ncols == 0) {
        g->ncols = 1;
    }
    for (r = 0; r < nrows; r++) {
        for (c = 0; c < g->ncols; c++) {
            grid[r * g->ncols + c] = grid[r * DI_MAX_COLS + c];
        }
    }
    g->grid = grid;

    return g;
}


/* the distinct cells of a row, left to right (a span counted once) */
size_t
di_row_cells(const di_grid_t *g, size_t row, int *out)
{
    size_t  c, n;
    int     id;

    n = 0;

    for (c = 0; c < g->ncols; c++) {
        id = g->grid[row * g->ncols + c];
        if (id < 0 || (n > 0 && out[n - 1] == id)) {
            continue;
        }
        out[n++] = id;
    }

    return n;
}


static void
di_grid_free(di_grid_t *g)
{
    size_t  i;

    if (g == NULL) {
        return;
    }

    for (i = 0; i < g->ncells; i++) {
        free(g->cells[i].text);
    }
    free(g->cells);
    free(g->grid);
    free(g);
}


void
di_page_free(di_page_t *page)
{
    size_t  i;

    for (i = 0; i < page->nitems; i++) {
        free(page->items[i].text);
        di_grid_free(page->items[i].grid);
    }

    free(page->items);
    free(page->title);
    free(page->saved_from);
    free(page->canonical);
    memset(page, 0, sizeof(di_page_t));
}
