
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * disclosure-import: a published report page (HTML) in, a
 * disclosure-report/1 document out.  di_import() is the whole reading, on
 * a buffer, so that the command and the fuzz target share it:
 *
 *   di_page.c   bytes -> UTF-8 -> libxml2's HTML tree -> text lines and
 *               tables expanded into grids (rowspan, colspan)
 *   di_text.c   label normalisation, cell values, buffers, messages
 *   di_map.c    the three tables of the format found by their labels,
 *               every cell mapped or reported
 *   di_doc.c    year, agency, dates, the six narrative sections, and the
 *               document written with yajl
 */


#ifndef DI_H
#define DI_H


#include <stddef.h>
#include <stdarg.h>

#include "di_format.h"


#define DI_MAX_INPUT      (32 * 1024 * 1024)
#define DI_MAX_COLS       64
#define DI_MAX_ROWS       1024
#define DI_MAX_ITEMS      200000
#define DI_MAX_MESSAGES   500


typedef struct {
    char                  *data;
    size_t                 len;
    size_t                 cap;
    int                    failed;          /* out of memory */
} di_buf_t;


/* an origin cell of a table: its text and where it starts */
typedef struct {
    char                  *text;
    size_t                 row;
    size_t                 col;
    size_t                 rowspan;
    size_t                 colspan;
} di_tcell_t;


typedef struct {
    unsigned               no;              /* 1-based, on the page */
    size_t                 nrows;
    size_t                 ncols;
    di_tcell_t            *cells;
    size_t                 ncells;
    int                   *grid;            /* nrows * ncols, -1: none */
} di_grid_t;


typedef struct {
    char                  *text;            /* a line of text, or NULL */
    di_grid_t             *grid;            /* a table, or NULL */
} di_item_t;


typedef struct {
    di_item_t             *items;
    size_t                 nitems;
    size_t                 cap;
    unsigned               ntables;
    char                  *title;           /* <title> */
    char                  *saved_from;      /* "saved from url=" comment */
    char                  *canonical;       /* <link rel=canonical> */
} di_page_t;


/* a value as printed */
enum {
    DI_UNSET = 0,
    DI_NUMBER,
    DI_BLANK,
    DI_SLASH,
    DI_NOT_PRINTED,
    DI_BAD
};


typedef struct {
    int                    kind;
    char                  *number;          /* DI_NUMBER: JSON number text */
} di_value_t;


typedef struct {
    const char            *agency;          /* --agency */
    const char            *name;            /* --name */
    const char            *kind;            /* --kind */
    const char            *parent;          /* --parent */
    const char            *scope;           /* --scope */
    const char            *source_url;      /* --source-url */
    int                    year;            /* --year, 0: from the page */
    unsigned               format;          /* --format, 0: from the page */
    const char            *file;            /* for messages */
} di_options_t;


typedef struct {
    const di_options_t    *opt;
    char                 **messages;        /* "error: ..." / "note: ..." */
    size_t                 nmessages;
    size_t                 nerrors;
    size_t                 dropped;         /* past DI_MAX_MESSAGES */
    int                    nomem;
} di_ctx_t;


/* the reading of one page: status 0 (every cell mapped), 2 (something
 * could not be mapped or read; messages say what), 1 (out of memory);
 * *json is the document (malloc), NULL when none could be written */
int di_import(const char *buf, size_t len, const di_options_t *opt,
    di_ctx_t *ctx, char **json);
void di_ctx_free(di_ctx_t *ctx);


/* di_text.c */
void di_error(di_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void di_note(di_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *di_quote(const char *s);
void di_buf_add(di_buf_t *b, const char *s, size_t len);
void di_buf_addc(di_buf_t *b, char c);
char *di_buf_take(di_buf_t *b);
char *di_norm_label(const char *s);
char *di_squeeze(const char *s);
int di_parse_value(const char *s, int decimal, int negative, di_value_t *v);
int di_utf8_valid(const char *s, size_t len, size_t *bad);
char *di_strdup(const char *s);
const char *di_find_year(const char *s, int *year, const char **start);


/* di_page.c */
int di_page_read(const char *buf, size_t len, di_page_t *page,
    di_ctx_t *ctx);
void di_page_free(di_page_t *page);
size_t di_row_cells(const di_grid_t *g, size_t row, int *out);


/* di_map.c */
typedef struct {
    const di_format_t     *fmt;
    di_value_t            *values[3];       /* per table, per cell */
    int                    found[3];        /* a grid of that table seen */
    int                    merged_other;    /* 2021 with the 2019 （六） */
    di_value_t             other[16];       /* its printed values, by col */
} di_cells_t;

const di_format_t *di_format(unsigned version);
unsigned di_detect_format(const di_page_t *page);
int di_map_tables(const di_page_t *page, di_cells_t *cells, di_ctx_t *ctx);
void di_cells_free(di_cells_t *cells);


#endif /* DI_H */
