
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * The three tables of the format, found on the page by their labels and
 * mapped cell by cell.  Labels are compared in the normalised form of
 * di_norm_label(), against the labels of format/cells.tsv and a short list
 * of variants seen in published reports (ALIASES below); nothing is matched
 * by similarity.  Values are matched to column labels by their order in the
 * row, not by grid column: Word's exports misalign colspans between a header
 * row and the rows under it, never the order of the cells.
 *
 *   二 proactive     blocks "第二十条第（x）项", a header row "信息内容 | …"
 *                    and rows "规章 | 0 | 0 | 0"
 *   三 applications  a header row with the seven applicant columns, then
 *                    rows whose last seven cells are values and whose
 *                    last label cell names the row; a table split in two
 *                    (a page break in Word) continues under the same header
 *   四 appeals       fifteen column labels under 行政复议 / 未经复议直接起诉 /
 *                    复议后起诉, and one row of fifteen values
 *
 * Whatever cannot be mapped is an error naming its label and position.  A
 * row the report never printed is "not_printed" (a note says so); a 2021
 * report that printed （六）其他处理 as one row gets the merged form of the
 * shared design: its three sub-rows not printed, its values kept as
 * published_totals.applications.other.
 */


#include <stdlib.h>
#include <string.h>

#include "di.h"


enum { T_PROACTIVE = 0, T_APPLICATIONS, T_APPEALS };

static const char  *di_table_keys[3] = {
    "proactive", "applications", "appeals"
};

static const char  *di_table_names[3] = {
    "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
    "四、政府信息公开行政复议、行政诉讼情况"
};


/* variants seen in published reports, normalised: what -> the label */
static const struct {
    int          table;
    int          col;               /* a column label, else a row label */
    const char  *variant;
    const char  *label;
} di_aliases[] = {
    /* 本年废止件数, typed as 本年度止件数 (洛阳西工 2024) and others */
    { T_PROACTIVE, 1, "本年度止件数", "本年废止件数" },
    { T_PROACTIVE, 1, "本年度废止件数", "本年废止件数" },
    { T_PROACTIVE, 1, "本年止件数", "本年废止件数" },
    /* the 2019 and 2021 names of the same row */
    { T_PROACTIVE, 0, "规范性文件", "行政规范性文件" },
    { T_PROACTIVE, 0, "行政规范性文件", "规范性文件" },
    { T_PROACTIVE, 1, "本年收费金额单位万元", "本年收费金额" },
    { T_APPLICATIONS, 0, "本年新收政府信息公开申请", "本年新收政府信息公开申请数量" },
    { T_APPLICATIONS, 0, "上年结转政府信息公开申请", "上年结转政府信息公开申请数量" },
    { T_APPLICATIONS, 0, "结转下年度继续办理数量", "结转下年度继续办理" },
    { T_APPLICATIONS, 1, "合计", "总计" },
    { T_APPEALS, 1, "合计", "总计" },
    { -1, 0, NULL, NULL }
};


typedef struct {
    const di_table_t   *t;
    char              **rows;       /* normalised labels */
    char              **cols;
    char              **groups;     /* normalised row groups, flattened */
    size_t              ngroups;
} di_labels_t;


typedef struct {
    const di_page_t    *page;
    di_cells_t         *cells;
    di_ctx_t           *ctx;
    di_labels_t         labels[3];
    /* the applications header, kept for a continuation table */
    int                 app_cols[DI_MAX_COLS];
    size_t              app_ncols;
    int                 app_header;
    size_t             *where[3];   /* per cell: table no * 10000 + row */
} di_map_t;


static int di_labels(di_labels_t *l, const di_table_t *t);
static void di_labels_free(di_labels_t *l);
static int di_match(di_map_t *m, int table, int col, const char *norm);
static int di_is_group(di_map_t *m, int table, const char *norm);
static int di_classify(di_map_t *m, const di_grid_t *g);
static void di_proactive(di_map_t *m, const di_grid_t *g);
static void di_applications(di_map_t *m, const di_grid_t *g);
static void di_appeals(di_map_t *m, const di_grid_t *g);
static void di_set(di_map_t *m, int table, size_t row, size_t col,
    const di_grid_t *g, size_t grow, const char *text, const char *rlabel);
static long di_cell_index(const di_table_t *t, size_t row, size_t col);
static const char *di_text(const di_grid_t *g, int id);
static char *di_norm_cell(const di_grid_t *g, int id);
static int di_starts(const char *s, const char *prefix);


const di_format_t *
di_format(unsigned version)
{
    size_t  i;

    for (i = 0; i < di_nformats; i++) {
        if (di_formats[i].version == version) {
            return &di_formats[i];
        }
    }

    return NULL;
}


static const di_table_t *
di_table(const di_format_t *f, int table)
{
    size_t  i;

    for (i = 0; i < f->ntables; i++) {
        if (strcmp(f->tables[i].key, di_table_keys[table]) == 0) {
            return &f->tables[i];
        }
    }

    return NULL;
}


/* the format the page's proactive table was printed in: 0 if it does not
 * say (its column labels are those of one format only) */
unsigned
di_detect_format(const di_page_t *page)
{
    size_t      i, k;
    char       *n;
    unsigned    found;
    di_grid_t  *g;

    found = 0;

    for (i = 0; i < page->nitems && found == 0; i++) {
        g = page->items[i].grid;
        if (g == NULL) {
            continue;
        }
        for (k = 0; k < g->ncells && found == 0; k++) {
            n = di_norm_label(g->cells[k].text);
            if (n == NULL) {
                return 0;
            }
            if (strcmp(n, "本年制发件数") == 0 || strcmp(n, "现行有效件数") == 0
                || strcmp(n, "本年处理决定数量") == 0)
            {
                found = 2021;
            } else if (strcmp(n, "本年新制作数量") == 0
                       || strcmp(n, "对外公开总数量") == 0
                       || strcmp(n, "上一年项目数量") == 0)
            {
                found = 2019;
            }
            free(n);
        }
    }

    return found;
}


int
di_map_tables(const di_page_t *page, di_cells_t *cells, di_ctx_t *ctx)
{
    int                 t, kind;
    size_t              i, k, r, set, total;
    di_map_t            m;
    const di_table_t   *tab;
    const di_axis_t    *row;
    di_grid_t          *g;

    memset(&m, 0, sizeof(di_map_t));
    m.page = page;
    m.cells = cells;
    m.ctx = ctx;

    for (t = 0; t < 3; t++) {
        tab = di_table(cells->fmt, t);
        cells->values[t] = tab ? calloc(tab->ncells, sizeof(di_value_t))
                               : NULL;
        m.where[t] = tab ? calloc(tab->ncells, sizeof(size_t)) : NULL;
        if (tab == NULL || cells->values[t] == NULL || m.where[t] == NULL
            || di_labels(&m.labels[t], tab) != 0)
        {
            ctx->nomem = 1;
            goto done;
        }
    }

    for (i = 0; i < page->nitems; i++) {
        g = page->items[i].grid;
        if (g == NULL) {
            continue;
        }

        kind = di_classify(&m, g);

        switch (kind) {
        case T_PROACTIVE:
            di_proactive(&m, g);
            break;
        case T_APPLICATIONS:
            di_applications(&m, g);
            break;
        case T_APPEALS:
            di_appeals(&m, g);
            break;
        default:
            continue;              /* layout, a metadata box: not ours */
        }

        cells->found[kind] = 1;
    }

    /* what was not printed, and tables not found at all */
    for (t = 0; t < 3; t++) {
        tab = m.labels[t].t;

        if (!cells->found[t]) {
            di_error(ctx, "no table %s found (a table with its labels)",
                     di_quote(di_table_names[t]));
            continue;
        }

        for (r = 0; r < tab->nrows; r++) {
            row = &tab->rows[r];
            set = total = 0;

            for (k = 0; k < tab->ncells; k++) {
                if (tab->cells[k].row != r) {
                    continue;
                }
                total++;
                if (cells->values[t][k].kind != DI_UNSET) {
                    set++;
                }
            }

            if (set == total) {
                continue;
            }

            for (k = 0; k < tab->ncells; k++) {
                if (tab->cells[k].row == r
                    && cells->values[t][k].kind == DI_UNSET)
                {
                    cells->values[t][k].kind = DI_NOT_PRINTED;
                    if (set > 0) {
                        di_note(ctx, "%s, row %s: column %s not printed",
                                di_table_keys[t], di_quote(row->label),
                                di_quote(tab->cols[tab->cells[k].col].label));
                    }
                }
            }

            if (set == 0 && !(cells->merged_other
                              && t == T_APPLICATIONS
                              && strncmp(row->key, "other_", 6) == 0))
            {
                di_note(ctx, "%s, row %s not printed: \"not_printed\"",
                        di_table_keys[t], di_quote(row->label));
            }
        }
    }

    if (cells->merged_other) {
        di_note(ctx, "applications: （六）其他处理 printed as one row (the "
                "2019 layout): its three rows \"not_printed\", its values "
                "in published_totals.applications.other");
    }

done:

    for (t = 0; t < 3; t++) {
        di_labels_free(&m.labels[t]);
        free(m.where[t]);
    }

    return ctx->nomem ? 1 : 0;
}


void
di_cells_free(di_cells_t *cells)
{
    size_t              t, k;
    const di_table_t   *tab;

    for (t = 0; t < 3; t++) {
        if (cells->values[t] == NULL) {
            continue;
        }
        tab = di_table(cells->fmt, (int) t);
        for (k = 0; tab && k < tab->ncells; k++) {
            free(cells->values[t][k].number);
        }
        free(cells->values[t]);
        cells->values[t] = NULL;
    }

    for (k = 0; k < 16; k++) {
        free(cells->other[k].number);
        cells->other[k].number = NULL;
    }
}


static int
di_labels(di_labels_t *l, const di_table_t *t)
{
    size_t  i, g;

    l->t = t;
    l->rows = calloc(t->nrows, sizeof(char *));
    l->cols = calloc(t->ncols, sizeof(char *));
    l->groups = calloc(t->nrows * DI_GROUP_DEPTH, sizeof(char *));
    if (l->rows == NULL || l->cols == NULL || l->groups == NULL) {
        return -1;
    }

    for (i = 0; i < t->nrows; i++) {
        l->rows[i] = di_norm_label(t->rows[i].label);
        if (l->rows[i] == NULL) {
            return -1;
        }
        for (g = 0; g < t->rows[i].ngroups; g++) {
            l->groups[l->ngroups] = di_norm_label(t->rows[i].group[g]);
            if (l->groups[l->ngroups++] == NULL) {
                return -1;
            }
        }
    }

    for (i = 0; i < t->ncols; i++) {
        l->cols[i] = di_norm_label(t->cols[i].label);
        if (l->cols[i] == NULL) {
            return -1;
        }
    }

    return 0;
}


static void
di_labels_free(di_labels_t *l)
{
    size_t  i;

    if (l->t == NULL) {
        return;
    }

    for (i = 0; l->rows && i < l->t->nrows; i++) {
        free(l->rows[i]);
    }
    for (i = 0; l->cols && i < l->t->ncols; i++) {
        free(l->cols[i]);
    }
    for (i = 0; l->groups && i < l->ngroups; i++) {
        free(l->groups[i]);
    }
    free(l->rows);
    free(l->cols);
    free(l->groups);
}


/* the index of a row (col 0) or column (col 1) label, -1 if none */
static int
di_match(di_map_t *m, int table, int col, const char *norm)
{
    size_t          i, n, a;
    char          **labels;
    const char     *want;

    labels = col ? m->labels[table].cols : m->labels[table].rows;
    n = col ? m->labels[table].t->ncols : m->labels[table].t->nrows;

    if (*norm == '\0') {
        return -1;
    }

    want = norm;

    for (a = 0; ; a++) {
        for (i = 0; i < n; i++) {
            if (strcmp(labels[i], want) == 0) {
                return (int) i;
            }
        }

        /* the next alias of this label, if any */
        for ( /* void */ ; di_aliases[a].variant; a++) {
            if (di_aliases[a].table == table && di_aliases[a].col == col
                && strcmp(di_aliases[a].variant, norm) == 0)
            {
                break;
            }
        }

        if (di_aliases[a].variant == NULL) {
            return -1;
        }

        want = di_aliases[a].label;
    }
}


static int
di_is_group(di_map_t *m, int table, const char *norm)
{
    size_t  i;

    for (i = 0; i < m->labels[table].ngroups; i++) {
        if (strcmp(m->labels[table].groups[i], norm) == 0) {
            return 1;
        }
    }

    return strcmp(norm, "申请人情况") == 0 || strcmp(norm, "法人或其他组织") == 0
           || strcmp(norm, "信息内容") == 0 || strcmp(norm, "行政诉讼") == 0;
}


static int
di_classify(di_map_t *m, const di_grid_t *g)
{
    size_t   k;
    char    *n;
    int      proactive, review, upheld, app;

    proactive = review = upheld = app = 0;

    for (k = 0; k < g->ncells; k++) {
        n = di_norm_label(g->cells[k].text);
        if (n == NULL) {
            m->ctx->nomem = 1;
            return -1;
        }

        if (di_starts(n, "第二十条") || strcmp(n, "信息内容") == 0) {
            proactive = 1;
        }
        if (strcmp(n, "行政复议") == 0) {
            review = 1;
        }
        if (strcmp(n, "结果维持") == 0) {
            upheld = 1;
        }
        if (strcmp(n, "申请人情况") == 0
            || (di_match(m, T_APPLICATIONS, 0, n) >= 0
                && strcmp(n, "其他") != 0 && strcmp(n, "总计") != 0))
        {
            app = 1;
        }

        free(n);
    }

    if (proactive) {
        return T_PROACTIVE;
    }
    if (review && upheld) {
        return T_APPEALS;
    }
    if (app) {
        return T_APPLICATIONS;
    }

    return -1;
}


static void
di_proactive(di_map_t *m, const di_grid_t *g)
{
    int      ids[DI_MAX_COLS], cols[DI_MAX_COLS];
    size_t   r, n, k, ncols, v;
    int      have_header, row, empty;
    char    *first, *norm;

    have_header = 0;
    ncols = 0;

    for (r = 0; r < g->nrows; r++) {
        n = di_row_cells(g, r, ids);
        if (n == 0) {
            continue;
        }

        first = di_norm_cell(g, ids[0]);
        if (first == NULL) {
            m->ctx->nomem = 1;
            return;
        }

        empty = 1;
        for (k = 0; k < n; k++) {
            if (*di_text(g, ids[k]) != '\0') {
                empty = 0;
            }
        }

        if (empty) {
            free(first);
            continue;
        }

        /* 第二十条第（一）项: a new block */
        if (di_starts(first, "第二十条")) {
            have_header = 0;
            free(first);
            continue;
        }

        /* 信息内容 | 本年制发件数 | …: the block's columns */
        if (strcmp(first, "信息内容") == 0) {
            free(first);
            ncols = n - 1;
            have_header = 1;

            for (k = 1; k < n; k++) {
                norm = di_norm_cell(g, ids[k]);
                if (norm == NULL) {
                    m->ctx->nomem = 1;
                    return;
                }
                cols[k - 1] = di_match(m, T_PROACTIVE, 1, norm);
                if (cols[k - 1] < 0 && *norm) {
                    di_error(m->ctx, "table %u (proactive), row %zu, "
                             "cell %zu: unknown column label %s",
                             g->no, r + 1, k + 1, di_quote(di_text(g, ids[k])));
                }
                free(norm);
            }
            continue;
        }

        row = di_match(m, T_PROACTIVE, 0, first);
        free(first);

        if (row < 0) {
            di_error(m->ctx, "table %u (proactive), row %zu: unknown row "
                     "label %s", g->no, r + 1, di_quote(di_text(g, ids[0])));
            continue;
        }

        if (!have_header) {
            di_error(m->ctx, "table %u (proactive), row %zu %s: no "
                     "\"信息内容\" row of column labels above it",
                     g->no, r + 1, di_quote(di_text(g, ids[0])));
            continue;
        }

        for (k = 0; k < ncols || k + 1 < n; k++) {
            v = k + 1;

            if (k >= ncols || cols[k] < 0) {
                if (v < n && *di_text(g, ids[v]) != '\0') {
                    di_error(m->ctx, "table %u (proactive), row %zu %s, "
                             "cell %zu: %s under no column label",
                             g->no, r + 1, di_quote(di_text(g, ids[0])),
                             v + 1, di_quote(di_text(g, ids[v])));
                }
                continue;
            }

            if (v >= n) {
                di_error(m->ctx, "table %u (proactive), row %zu %s: no cell "
                         "under %s", g->no, r + 1,
                         di_quote(di_text(g, ids[0])),
                         di_quote(m->labels[T_PROACTIVE].t->cols[cols[k]]
                                  .label));
                continue;
            }

            di_set(m, T_PROACTIVE, (size_t) row, (size_t) cols[k], g, r,
                   di_text(g, ids[v]), di_text(g, ids[0]));
        }
    }
}


static void
di_applications(di_map_t *m, const di_grid_t *g)
{
    int      ids[DI_MAX_COLS], cols[DI_MAX_COLS], row, merged;
    size_t   r, n, k, hits, first, nlabels, v;
    char    *norm, *leaf;
    const char *leaf_text;
    int      empty_values;

    for (r = 0; r < g->nrows; r++) {
        n = di_row_cells(g, r, ids);
        if (n == 0) {
            continue;
        }

        /* a header row: three or more applicant column labels */
        hits = 0;
        first = n;
        for (k = 0; k < n; k++) {
            norm = di_norm_cell(g, ids[k]);
            if (norm == NULL) {
                m->ctx->nomem = 1;
                return;
            }
            cols[k] = di_match(m, T_APPLICATIONS, 1, norm);
            if (cols[k] >= 0) {
                hits++;
                if (first == n) {
                    first = k;
                }
            }
            free(norm);
        }

        if (hits >= 3) {
            m->app_ncols = n - first;
            m->app_header = 1;
            for (k = first; k < n; k++) {
                m->app_cols[k - first] = cols[k];
                if (cols[k] < 0) {
                    di_error(m->ctx, "table %u (applications), row %zu, "
                             "cell %zu: unknown column label %s",
                             g->no, r + 1, k + 1, di_quote(di_text(g, ids[k])));
                }
            }
            continue;
        }

        if (!m->app_header) {
            continue;                 /* above the header: 申请人情况, notes */
        }

        empty_values = 1;
        nlabels = n > m->app_ncols ? n - m->app_ncols : 0;
        for (k = nlabels; k < n; k++) {
            if (*di_text(g, ids[k]) != '\0') {
                empty_values = 0;
            }
        }

        if (n <= m->app_ncols) {
            if (!empty_values) {
                di_error(m->ctx, "table %u (applications), row %zu %s: %zu "
                         "cells, fewer than a label and the %zu columns",
                         g->no, r + 1, di_quote(di_text(g, ids[0])), n,
                         m->app_ncols);
            }
            continue;
        }

        /* the row's name: its last label cell that says something */
        leaf = NULL;
        leaf_text = "";
        for (k = nlabels; k-- > 0; ) {
            norm = di_norm_cell(g, ids[k]);
            if (norm == NULL) {
                m->ctx->nomem = 1;
                return;
            }
            if (*norm) {
                leaf = norm;
                leaf_text = di_text(g, ids[k]);
                break;
            }
            free(norm);
        }

        if (leaf == NULL) {
            if (!empty_values) {
                di_error(m->ctx, "table %u (applications), row %zu: values "
                         "without a row label", g->no, r + 1);
            }
            continue;
        }

        merged = m->cells->fmt->version == 2021
                 && strcmp(leaf, "其他处理") == 0;
        row = merged ? -1 : di_match(m, T_APPLICATIONS, 0, leaf);

        if (row < 0 && !merged) {
            if (!(empty_values && di_is_group(m, T_APPLICATIONS, leaf))) {
                di_error(m->ctx, "table %u (applications), row %zu: unknown "
                         "row label %s", g->no, r + 1, di_quote(leaf_text));
            }
            free(leaf);
            continue;
        }
        free(leaf);

        for (k = 0; k < m->app_ncols; k++) {
            v = nlabels + k;

            if (m->app_cols[k] < 0) {
                if (*di_text(g, ids[v]) != '\0') {
                    di_error(m->ctx, "table %u (applications), row %zu %s, "
                             "cell %zu: %s under no column label", g->no,
                             r + 1, di_quote(leaf_text), v + 1,
                             di_quote(di_text(g, ids[v])));
                }
                continue;
            }

            if (merged) {
                di_value_t *o = &m->cells->other[m->app_cols[k]];
                if (o->kind != DI_UNSET) {
                    di_error(m->ctx, "table %u (applications), row %zu: "
                             "（六）其他处理 printed twice", g->no, r + 1);
                    break;
                }
                if (di_parse_value(di_text(g, ids[v]), 0, 0, o) == DI_BAD) {
                    di_error(m->ctx, "table %u (applications), row %zu %s, "
                             "column %s: %s is not a number, blank, \"/\" "
                             "or a dash", g->no, r + 1, di_quote(leaf_text),
                             di_quote(m->labels[T_APPLICATIONS].t
                                      ->cols[m->app_cols[k]].label),
                             di_quote(di_text(g, ids[v])));
                }
                m->cells->merged_other = 1;
                continue;
            }

            di_set(m, T_APPLICATIONS, (size_t) row, (size_t) m->app_cols[k],
                   g, r, di_text(g, ids[v]), leaf_text);
        }
    }
}


static void
di_appeals(di_map_t *m, const di_grid_t *g)
{
    typedef struct {
        size_t  col;
        size_t  span;
        int     key;
    } span_t;

    span_t   leaves[DI_MAX_COLS], groups[DI_MAX_COLS], tmp;
    size_t   nleaves, ngroups, k, i, j, r, n, last, data;
    int      ids[DI_MAX_COLS], key, row;
    char    *norm;
    const di_tcell_t *c;

    nleaves = ngroups = 0;
    last = 0;

    for (k = 0; k < g->ncells; k++) {
        c = &g->cells[k];
        norm = di_norm_label(c->text);
        if (norm == NULL) {
            m->ctx->nomem = 1;
            return;
        }

        if ((key = di_match(m, T_APPEALS, 0, norm)) >= 0
            && ngroups < DI_MAX_COLS)
        {
            groups[ngroups].col = c->col;
            groups[ngroups].span = c->colspan;
            groups[ngroups++].key = key;

        } else if ((key = di_match(m, T_APPEALS, 1, norm)) >= 0
                   && nleaves < DI_MAX_COLS)
        {
            leaves[nleaves].col = c->col;
            leaves[nleaves].span = c->colspan;
            leaves[nleaves++].key = key;
            if (c->row + c->rowspan - 1 > last) {
                last = c->row + c->rowspan - 1;
            }
        }

        free(norm);
    }

    if (nleaves == 0) {
        di_error(m->ctx, "table %u (appeals): no column labels "
                 "(结果维持, 结果纠正, …)", g->no);
        return;
    }

    /* left to right */
    for (i = 1; i < nleaves; i++) {
        for (j = i; j > 0 && leaves[j - 1].col > leaves[j].col; j--) {
            tmp = leaves[j];
            leaves[j] = leaves[j - 1];
            leaves[j - 1] = tmp;
        }
    }

    data = 0;
    for (r = last + 1; r < g->nrows; r++) {
        n = di_row_cells(g, r, ids);

        for (k = 0; k < n; k++) {
            if (*di_text(g, ids[k]) != '\0') {
                break;
            }
        }
        if (k == n) {
            continue;                                 /* an empty row */
        }

        if (++data > 1) {
            di_error(m->ctx, "table %u (appeals), row %zu: a second row of "
                     "values", g->no, r + 1);
            break;
        }

        /* a leading label ("数量", "件数") is not a value */
        i = 0;
        if (n == nleaves + 1) {
            di_value_t v;
            if (di_parse_value(di_text(g, ids[0]), 0, 0, &v) == DI_BAD) {
                i = 1;
            }
            free(v.number);
        }

        if (n - i != nleaves) {
            di_error(m->ctx, "table %u (appeals), row %zu: %zu cells under "
                     "%zu column labels", g->no, r + 1, n - i, nleaves);
            continue;
        }

        for (k = 0; k < nleaves; k++) {
            row = -1;
            for (j = 0; j < ngroups; j++) {
                if (leaves[k].col >= groups[j].col
                    && leaves[k].col < groups[j].col + groups[j].span)
                {
                    row = groups[j].key;
                }
            }

            if (row < 0) {
                di_error(m->ctx, "table %u (appeals), column %zu %s: under "
                         "none of 行政复议, 未经复议直接起诉, 复议后起诉",
                         g->no, leaves[k].col + 1,
                         di_quote(m->labels[T_APPEALS].t->cols[leaves[k].key]
                                  .label));
                continue;
            }

            di_set(m, T_APPEALS, (size_t) row, (size_t) leaves[k].key, g, r,
                   di_text(g, ids[i + k]),
                   m->labels[T_APPEALS].t->rows[row].label);
        }
    }

    if (data == 0) {
        di_error(m->ctx, "table %u (appeals): no row of values under its "
                 "column labels", g->no);
    }
}


/* one printed cell into the format's cell (row, col) */
static void
di_set(di_map_t *m, int table, size_t row, size_t col, const di_grid_t *g,
    size_t grow, const char *text, const char *rlabel)
{
    long               k;
    const di_table_t  *t;
    di_value_t        *v;
    int                decimal, negative;

    t = m->labels[table].t;
    k = di_cell_index(t, row, col);

    if (k < 0) {
        di_error(m->ctx, "table %u (%s), row %zu %s: the %u format has no "
                 "column %s in this row", g->no, di_table_keys[table],
                 grow + 1, di_quote(rlabel), m->cells->fmt->version,
                 di_quote(t->cols[col].label));
        return;
    }

    v = &m->cells->values[table][k];

    if (v->kind != DI_UNSET) {
        di_error(m->ctx, "table %u (%s), row %zu %s: column %s printed "
                 "twice (first in table %zu, row %zu)", g->no,
                 di_table_keys[table], grow + 1, di_quote(rlabel),
                 di_quote(t->cols[col].label), m->where[table][k] / 10000,
                 m->where[table][k] % 10000 + 1);
        return;
    }

    /* decimals for amounts (万元, or no unit: 采购总金额), signs for 增/减 */
    decimal = t->cells[k].unit == NULL
              || strcmp(t->cells[k].unit, "万元") == 0;
    negative = strcmp(t->cols[col].key, "change") == 0;

    if (di_parse_value(text, decimal, negative, v) == DI_BAD) {
        di_error(m->ctx, "table %u (%s), row %zu %s, column %s: %s is not "
                 "a number, blank, \"/\" or a dash", g->no,
                 di_table_keys[table], grow + 1, di_quote(rlabel),
                 di_quote(t->cols[col].label), di_quote(text));
    }

    m->where[table][k] = g->no * 10000 + grow;
}


static long
di_cell_index(const di_table_t *t, size_t row, size_t col)
{
    size_t  k;

    for (k = 0; k < t->ncells; k++) {
        if (t->cells[k].row == row && t->cells[k].col == col) {
            return (long) k;
        }
    }

    return -1;
}


static const char *
di_text(const di_grid_t *g, int id)
{
    return g->cells[id].text;
}


static char *
di_norm_cell(const di_grid_t *g, int id)
{
    return di_norm_label(g->cells[id].text);
}


static int
di_starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}
