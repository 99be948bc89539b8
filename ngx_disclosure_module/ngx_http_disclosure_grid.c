
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * The statistic tables of a report page (tables 二, 三 and 四 of the
 * official layout) as HTML grids: header trees of merged cells down the
 * left and across the top, the cells with their ids and headers, derived
 * totals beside published ones that differ, and rows a report did not
 * print.  The page around them is _html.c's; the class names are listed
 * there.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_disclosure_doc.h"
#include "ngx_http_disclosure_grid.h"


#define NGX_HTTP_DISCLOSURE_GRID_LEVELS  (NGX_HTTP_DISCLOSURE_GROUP_DEPTH + 2)


/* a leaf of a header tree: a row or a column of the rendered table */
typedef struct {
    ngx_str_t                      *label[NGX_HTTP_DISCLOSURE_GRID_LEVELS];
    ngx_str_t                       id[NGX_HTTP_DISCLOSURE_GRID_LEVELS];
    ngx_uint_t                      span[NGX_HTTP_DISCLOSURE_GRID_LEVELS];
    ngx_uint_t                      depth;
    ngx_str_t                       key;
    ngx_uint_t                      row;        /* the format's row, col */
    ngx_uint_t                      col;
    yajl_val                        printed;    /* the merged （六） row */
} ngx_http_disclosure_grid_leaf_t;


/* one <table>: row leaves down the left, column leaves across the top */
typedef struct {
    ngx_http_disclosure_table_t      *table;
    ngx_str_t                         id;
    ngx_str_t                        *caption;
    ngx_uint_t                        caption_hidden;
    ngx_str_t                        *corner;
    ngx_uint_t                        corner_note;
    ngx_http_disclosure_grid_leaf_t  *rows;
    ngx_uint_t                        nrows;
    ngx_uint_t                        row_depth;
    ngx_http_disclosure_grid_leaf_t  *cols;
    ngx_uint_t                        ncols;
    ngx_uint_t                        col_depth;
    ngx_uint_t                        by_col;     /* cell row from the column */
} ngx_http_disclosure_grid_t;


static ngx_int_t ngx_http_disclosure_grid_proactive(
    ngx_http_disclosure_html_t *h, ngx_http_disclosure_table_t *t);
static ngx_int_t ngx_http_disclosure_grid_appeals(
    ngx_http_disclosure_html_t *h, ngx_http_disclosure_section_t *s);
static ngx_int_t ngx_http_disclosure_grid_applications(
    ngx_http_disclosure_html_t *h, ngx_http_disclosure_section_t *s);
static ngx_http_disclosure_axis_t *ngx_http_disclosure_grid_merged_row(
    ngx_http_disclosure_html_t *h, ngx_http_disclosure_table_t *t);
static void ngx_http_disclosure_grid_leaf_axis(
    ngx_http_disclosure_grid_leaf_t *lf, ngx_http_disclosure_axis_t *a);
static void ngx_http_disclosure_grid_leaf_add(
    ngx_http_disclosure_grid_leaf_t *lf, ngx_str_t *label);
static ngx_int_t ngx_http_disclosure_grid_merge(ngx_http_disclosure_html_t *h,
    ngx_str_t *id, const char *axis, ngx_http_disclosure_grid_leaf_t *leaves,
    ngx_uint_t n, ngx_uint_t *depth);
static ngx_int_t ngx_http_disclosure_grid_write(ngx_http_disclosure_html_t *h,
    ngx_http_disclosure_grid_t *g);
static void ngx_http_disclosure_grid_header(ngx_http_disclosure_html_t *h,
    ngx_http_disclosure_grid_leaf_t *lf, ngx_uint_t l, ngx_uint_t col,
    ngx_uint_t depth);
static ngx_int_t ngx_http_disclosure_grid_values(
    ngx_http_disclosure_html_t *h, ngx_http_disclosure_table_t *t);
static ngx_int_t ngx_http_disclosure_grid_cell(ngx_http_disclosure_html_t *h,
    ngx_http_disclosure_grid_t *g, ngx_http_disclosure_grid_leaf_t *row,
    ngx_http_disclosure_grid_leaf_t *col);
static void ngx_http_disclosure_grid_value(ngx_http_disclosure_html_t *h,
    yajl_val v);
static ngx_uint_t ngx_http_disclosure_grid_not_printed(yajl_val v);
static ngx_uint_t ngx_http_disclosure_grid_row_not_printed(
    ngx_http_disclosure_html_t *h, ngx_http_disclosure_table_t *t,
    ngx_uint_t row);
static void ngx_http_disclosure_grid_span(ngx_http_disclosure_html_t *h,
    const char *name, ngx_uint_t n);


/* not a label of the format's cells: the note printed in the corner of 三 */
static ngx_str_t  ngx_http_disclosure_grid_note = ngx_string(
    "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）");


/* a section's table(s) in a scrollable box, and the legend if needed */

ngx_int_t
ngx_http_disclosure_grid_table(ngx_http_disclosure_html_t *h,
    ngx_http_disclosure_section_t *s)
{
    ngx_int_t                     rc;
    ngx_http_disclosure_table_t  *t;

    t = s->table;
    h->differs = 0;

    /* focusable, so that a keyboard can scroll a wide table */

    ngx_http_disclosure_out_literal(&h->out,
                  "<div class=\"d-scroll\" role=\"region\" tabindex=\"0\" "
                  "aria-label=\"");
    ngx_http_disclosure_out_html_str(&h->out, &s->heading);
    ngx_http_disclosure_out_literal(&h->out, "\">\n");

    if (ngx_strcmp(t->key.data, "proactive") == 0) {
        rc = ngx_http_disclosure_grid_proactive(h, t);

    } else if (ngx_strcmp(t->key.data, "appeals") == 0) {
        rc = ngx_http_disclosure_grid_appeals(h, s);

    } else {
        rc = ngx_http_disclosure_grid_applications(h, s);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    ngx_http_disclosure_out_literal(&h->out, "</div>\n");

    if (h->differs) {
        ngx_http_disclosure_out_literal(&h->out,
            "<p class=\"d-legend\">注：注有“分项合计”的总计栏，原报告公布数"
            "与按分项计算的合计不一致；表中数字为原报告公布数。</p>\n");
    }

    return NGX_OK;
}


/*
 * 二: one captioned table per block of rows (第二十条第（一）项 ...), each
 * with the header row 信息内容 | its columns.
 */

static ngx_int_t
ngx_http_disclosure_grid_proactive(ngx_http_disclosure_html_t *h,
    ngx_http_disclosure_table_t *t)
{
    u_char                           *p;
    ngx_uint_t                        i, j, k, c, block, ncols;
    ngx_str_t                        *group;
    ngx_http_disclosure_grid_t        g;
    ngx_http_disclosure_grid_leaf_t  *rows, *cols;

    rows = ngx_pcalloc(h->pool,
                       t->nrows * sizeof(ngx_http_disclosure_grid_leaf_t));
    cols = ngx_pcalloc(h->pool,
                       t->ncols * sizeof(ngx_http_disclosure_grid_leaf_t));

    if (rows == NULL || cols == NULL) {
        return ngx_http_disclosure_html_nomem(h);
    }

    block = 0;

    for (i = 0; i < t->nrows; i = j) {
        group = &t->rows[i].group[0];

        for (j = i + 1; j < t->nrows; j++) {
            if (t->rows[j].group[0].len != group->len
                || ngx_strncmp(t->rows[j].group[0].data, group->data,
                               group->len) != 0)
            {
                break;
            }
        }

        for (k = i; k < j; k++) {
            rows[k].key = t->rows[k].key;
            rows[k].row = k;
            ngx_http_disclosure_grid_leaf_add(&rows[k], &t->rows[k].label);
        }

        /* the block's columns: those its cells use, in format order */

        ncols = 0;

        for (c = 0; c < t->ncells; c++) {
            if (t->cells[c].row < i || t->cells[c].row >= j) {
                continue;
            }

            for (k = 0; k < ncols; k++) {
                if (cols[k].col == t->cells[c].col) {
                    break;
                }
            }

            if (k < ncols) {
                continue;
            }

            ngx_memzero(&cols[ncols], sizeof(ngx_http_disclosure_grid_leaf_t));
            cols[ncols].key = t->cols[t->cells[c].col].key;
            cols[ncols].col = t->cells[c].col;
            ngx_http_disclosure_grid_leaf_add(&cols[ncols],
                                         &t->cols[t->cells[c].col].label);
            ncols++;
        }

        p = ngx_pnalloc(h->pool, sizeof("d-proactive-") - 1 + NGX_INT_T_LEN);
        if (p == NULL) {
            return ngx_http_disclosure_html_nomem(h);
        }

        ngx_memzero(&g, sizeof(ngx_http_disclosure_grid_t));

        g.table = t;
        g.id.data = p;
        g.id.len = ngx_sprintf(p, "d-proactive-%ui", ++block) - p;
        g.caption = group->len ? group : &t->key;
        g.rows = &rows[i];
        g.nrows = j - i;
        g.cols = cols;
        g.ncols = ncols;

        /* the column group (信息内容) heads the column of row labels */
        g.corner = ncols ? &t->cols[cols[0].col].group[0] : NULL;

        if (ngx_http_disclosure_grid_write(h, &g) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * 四: a single row of data under three header rows: 行政复议 | 行政诉讼,
 * then 未经复议直接起诉 | 复议后起诉, then 结果维持 ... 总计 of each block.
 */

static ngx_int_t
ngx_http_disclosure_grid_appeals(ngx_http_disclosure_html_t *h,
    ngx_http_disclosure_section_t *s)
{
    u_char                           *p;
    ngx_uint_t                        i;
    ngx_http_disclosure_grid_t        g;
    ngx_http_disclosure_grid_leaf_t  *lf, row;
    ngx_http_disclosure_axis_t       *ra, *ca;
    ngx_http_disclosure_table_t      *t;

    t = s->table;

    ngx_memzero(&g, sizeof(ngx_http_disclosure_grid_t));
    ngx_memzero(&row, sizeof(ngx_http_disclosure_grid_leaf_t));

    g.cols = ngx_pcalloc(h->pool,
                         t->ncells * sizeof(ngx_http_disclosure_grid_leaf_t));
    if (g.cols == NULL) {
        return ngx_http_disclosure_html_nomem(h);
    }

    for (i = 0; i < t->ncells; i++) {
        ra = &t->rows[t->cells[i].row];
        ca = &t->cols[t->cells[i].col];
        lf = &g.cols[i];

        lf->row = t->cells[i].row;
        lf->col = t->cells[i].col;

        if (ra->ngroups) {
            ngx_http_disclosure_grid_leaf_add(lf, &ra->group[0]);
        }

        /* 行政复议 is both the group and the label: one merged cell */

        if (ra->ngroups == 0
            || ra->group[0].len != ra->label.len
            || ngx_strncmp(ra->group[0].data, ra->label.data, ra->label.len)
               != 0)
        {
            ngx_http_disclosure_grid_leaf_add(lf, &ra->label);
        }

        ngx_http_disclosure_grid_leaf_add(lf, &ca->label);

        p = ngx_pnalloc(h->pool, ra->key.len + 1 + ca->key.len);
        if (p == NULL) {
            return ngx_http_disclosure_html_nomem(h);
        }

        lf->key.data = p;
        lf->key.len = ngx_sprintf(p, "%V-%V", &ra->key, &ca->key) - p;
    }

    g.table = t;
    ngx_str_set(&g.id, "d-appeals");
    g.caption = &s->heading;
    g.caption_hidden = h->page;
    g.ncols = t->ncells;
    g.rows = &row;
    g.nrows = 1;
    g.by_col = 1;

    return ngx_http_disclosure_grid_write(h, &g);
}


/*
 * 三: the note in a merged corner; 申请人情况 over the applicant columns;
 * rows nested under 三、本年度办理结果 and （三）..（六）.
 */

static ngx_int_t
ngx_http_disclosure_grid_applications(ngx_http_disclosure_html_t *h,
    ngx_http_disclosure_section_t *s)
{
    u_char                       *p;
    ngx_uint_t                    i, n, done;
    ngx_http_disclosure_grid_t    g;
    ngx_http_disclosure_axis_t   *merged;
    ngx_http_disclosure_table_t  *t;

    t = s->table;

    ngx_memzero(&g, sizeof(ngx_http_disclosure_grid_t));

    g.rows = ngx_pcalloc(h->pool,
                         t->nrows * sizeof(ngx_http_disclosure_grid_leaf_t));
    g.cols = ngx_pcalloc(h->pool,
                         t->ncols * sizeof(ngx_http_disclosure_grid_leaf_t));
    p = ngx_pnalloc(h->pool, sizeof("d-") - 1 + t->key.len);

    if (g.rows == NULL || g.cols == NULL || p == NULL) {
        return ngx_http_disclosure_html_nomem(h);
    }

    if (ngx_http_disclosure_grid_values(h, t) != NGX_OK) {
        return NGX_ERROR;
    }

    merged = ngx_http_disclosure_grid_merged_row(h, t);

    done = 0;

    for (i = 0, n = 0; i < t->nrows; i++) {
        if (merged && ngx_strncmp(t->rows[i].key.data, "other_", 6) == 0) {

            /* one （六）其他处理 row for the three sub-rows, as printed */

            if (!done) {
                ngx_http_disclosure_grid_leaf_axis(&g.rows[n], merged);
                g.rows[n].row = i;
                g.rows[n].printed = h->merged;
                n++;
                done = 1;
            }

            continue;
        }

        ngx_http_disclosure_grid_leaf_axis(&g.rows[n], &t->rows[i]);
        g.rows[n].row = i;
        n++;
    }

    for (i = 0; i < t->ncols; i++) {
        ngx_http_disclosure_grid_leaf_axis(&g.cols[i], &t->cols[i]);
        g.cols[i].col = i;
    }

    g.table = t;
    g.id.data = p;
    g.id.len = ngx_sprintf(p, "d-%V", &t->key) - p;
    g.caption = &s->heading;
    g.caption_hidden = h->page;
    g.corner = &ngx_http_disclosure_grid_note;
    g.corner_note = 1;
    g.nrows = n;
    g.ncols = t->ncols;

    return ngx_http_disclosure_grid_write(h, &g);
}


/*
 * A 2021 report that printed （六）其他处理 as one row: its three sub-rows
 * are not printed and published_totals has the row under the 2019 key
 * "other".  Returns the 2019 format's row, for its labels, or NULL.
 */

static ngx_http_disclosure_axis_t *
ngx_http_disclosure_grid_merged_row(ngx_http_disclosure_html_t *h,
    ngx_http_disclosure_table_t *t)
{
    ngx_uint_t                     i, j, k, sub;
    ngx_http_disclosure_table_t   *t19;
    ngx_http_disclosure_format_t  *f;

    if (h->merged == NULL) {
        return NULL;
    }

    sub = 0;

    for (i = 0; i < t->nrows; i++) {
        if (ngx_strncmp(t->rows[i].key.data, "other_", 6) == 0) {
            if (!ngx_http_disclosure_grid_row_not_printed(h, t, i)) {
                return NULL;
            }

            sub++;
        }
    }

    if (sub == 0) {
        return NULL;
    }

    for (i = 0; i < ngx_http_disclosure_nformats; i++) {
        f = &ngx_http_disclosure_formats[i];

        if (f->version != 2019) {
            continue;
        }

        for (j = 0; j < f->ntables; j++) {
            t19 = &f->tables[j];

            if (t19->key.len != t->key.len
                || ngx_strncmp(t19->key.data, t->key.data, t->key.len) != 0)
            {
                continue;
            }

            for (k = 0; k < t19->nrows; k++) {
                if (t19->rows[k].key.len == 5
                    && ngx_strncmp(t19->rows[k].key.data, "other", 5) == 0)
                {
                    return &t19->rows[k];
                }
            }
        }
    }

    return NULL;
}


/* a leaf from a row or column of the format: its groups, then its label */

static void
ngx_http_disclosure_grid_leaf_axis(ngx_http_disclosure_grid_leaf_t *lf,
    ngx_http_disclosure_axis_t *a)
{
    ngx_uint_t  i;

    lf->key = a->key;

    for (i = 0; i < a->ngroups; i++) {
        ngx_http_disclosure_grid_leaf_add(lf, &a->group[i]);
    }

    ngx_http_disclosure_grid_leaf_add(lf, &a->label);
}


static void
ngx_http_disclosure_grid_leaf_add(ngx_http_disclosure_grid_leaf_t *lf,
    ngx_str_t *label)
{
    /* the format has at most GROUP_DEPTH groups (checked by gen-c) */

    if (label->len && lf->depth < NGX_HTTP_DISCLOSURE_GRID_LEVELS) {
        lf->label[lf->depth++] = label;
    }
}


/*
 * Merges equal groups of neighbouring leaves into one spanning header cell
 * and gives every header cell its id; *depth is the number of levels.
 */

static ngx_int_t
ngx_http_disclosure_grid_merge(ngx_http_disclosure_html_t *h, ngx_str_t *id,
    const char *axis, ngx_http_disclosure_grid_leaf_t *leaves, ngx_uint_t n,
    ngx_uint_t *depth)
{
    u_char                           *p;
    ngx_uint_t                        i, l, k, same;
    ngx_uint_t                        start[NGX_HTTP_DISCLOSURE_GRID_LEVELS];
    ngx_http_disclosure_grid_leaf_t  *lf, *prev;

    ngx_memzero(start, sizeof(start));

    *depth = 0;

    for (i = 0; i < n; i++) {
        lf = &leaves[i];
        prev = i ? &leaves[i - 1] : NULL;

        *depth = ngx_max(*depth, lf->depth);

        for (l = 0; l < lf->depth; l++) {

            same = 0;

            if (prev && l + 1 < lf->depth && l + 1 < prev->depth) {
                same = 1;

                for (k = 0; k <= l; k++) {
                    if (prev->label[k]->len != lf->label[k]->len
                        || ngx_strncmp(prev->label[k]->data,
                                       lf->label[k]->data,
                                       lf->label[k]->len) != 0)
                    {
                        same = 0;
                        break;
                    }
                }
            }

            if (same) {
                leaves[start[l]].span[l]++;
                lf->span[l] = 0;
                lf->id[l] = leaves[start[l]].id[l];
                continue;
            }

            start[l] = i;
            lf->span[l] = 1;

            p = ngx_pnalloc(h->pool, id->len + sizeof("-xg-") + NGX_INT_T_LEN
                                     + lf->key.len);
            if (p == NULL) {
                return ngx_http_disclosure_html_nomem(h);
            }

            lf->id[l].data = p;

            if (l + 1 == lf->depth) {
                p = ngx_sprintf(p, "%V-%s-%V", id, axis, &lf->key);

            } else {
                p = ngx_sprintf(p, "%V-%sg%ui-%V", id, axis, l, &lf->key);
            }

            lf->id[l].len = p - lf->id[l].data;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_disclosure_grid_write(ngx_http_disclosure_html_t *h,
    ngx_http_disclosure_grid_t *g)
{
    ngx_uint_t                        i, j, l;
    ngx_http_disclosure_out_t        *o;
    ngx_http_disclosure_grid_leaf_t  *lf;

    o = &h->out;

    if (ngx_http_disclosure_grid_merge(h, &g->id, "r", g->rows, g->nrows,
                                       &g->row_depth)
        != NGX_OK
        || ngx_http_disclosure_grid_merge(h, &g->id, "c", g->cols, g->ncols,
                                          &g->col_depth)
           != NGX_OK)
    {
        return ngx_http_disclosure_html_nomem(h);
    }

    ngx_http_disclosure_out_printf(o, "<table class=\"d-table d-t-%V\">\n"
                                   "<caption", &g->table->key);

    if (g->caption_hidden) {
        ngx_http_disclosure_out_literal(o, " class=\"d-sr\"");
    }

    ngx_http_disclosure_out_literal(o, ">");
    ngx_http_disclosure_out_html_str(o, g->caption);
    ngx_http_disclosure_out_literal(o, "</caption>\n<thead>\n");

    for (l = 0; l < g->col_depth; l++) {
        ngx_http_disclosure_out_literal(o, "<tr>");

        if (l == 0 && g->row_depth) {
            if (g->corner_note) {
                ngx_http_disclosure_out_literal(o, "<td class=\"d-note\"");

            } else {
                ngx_http_disclosure_out_printf(o, "<th scope=\"col\" "
                                               "id=\"%V-corner\"", &g->id);
            }

            ngx_http_disclosure_grid_span(h, "colspan", g->row_depth);
            ngx_http_disclosure_grid_span(h, "rowspan", g->col_depth);
            ngx_http_disclosure_out_literal(o, ">");

            if (g->corner) {
                ngx_http_disclosure_out_html_str(o, g->corner);
            }

            if (g->corner_note) {
                ngx_http_disclosure_out_literal(o, "</td>");

            } else {
                ngx_http_disclosure_out_literal(o, "</th>");
            }
        }

        for (j = 0; j < g->ncols; j++) {
            lf = &g->cols[j];

            if (l >= lf->depth || lf->span[l] == 0) {
                continue;
            }

            ngx_http_disclosure_grid_header(h, lf, l, 1, g->col_depth);
        }

        ngx_http_disclosure_out_literal(o, "</tr>\n");
    }

    ngx_http_disclosure_out_literal(o, "</thead>\n<tbody>\n");

    if (h->vtable != g->table
        && ngx_http_disclosure_grid_values(h, g->table) != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < g->nrows; i++) {
        lf = &g->rows[i];

        ngx_http_disclosure_out_literal(o, "<tr>");

        for (l = 0; l < lf->depth; l++) {
            if (lf->span[l] == 0) {
                continue;
            }

            ngx_http_disclosure_grid_header(h, lf, l, 0, g->row_depth);
        }

        /* a row the report did not print is one cell that says so */

        if (!g->by_col && lf->printed == NULL
            && ngx_http_disclosure_grid_row_not_printed(h, g->table, lf->row))
        {
            ngx_http_disclosure_out_literal(o, "<td class=\"d-np\"");
            ngx_http_disclosure_grid_span(h, "colspan", g->ncols);
            ngx_http_disclosure_out_literal(o, " headers=\"");

            for (l = 0; l < lf->depth; l++) {
                if (l) {
                    ngx_http_disclosure_out_literal(o, " ");
                }

                ngx_http_disclosure_out_str(o, &lf->id[l]);
            }

            ngx_http_disclosure_out_literal(o, "\">未列出</td></tr>\n");
            continue;
        }

        for (j = 0; j < g->ncols; j++) {
            if (ngx_http_disclosure_grid_cell(h, g, lf, &g->cols[j])
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        ngx_http_disclosure_out_literal(o, "</tr>\n");
    }

    ngx_http_disclosure_out_literal(o, "</tbody>\n</table>\n");

    return NGX_OK;
}


/*
 * A header cell of a leaf, at level l of its axis: the leaf's own label
 * stretches over the levels left below (columns) or to the right (rows),
 * a group's label over the leaves it groups.
 */

static void
ngx_http_disclosure_grid_header(ngx_http_disclosure_html_t *h,
    ngx_http_disclosure_grid_leaf_t *lf, ngx_uint_t l, ngx_uint_t col,
    ngx_uint_t depth)
{
    ngx_http_disclosure_out_t  *o;

    o = &h->out;

    if (col) {
        ngx_http_disclosure_out_literal(o, "<th scope=\"col\" id=\"");

    } else {
        ngx_http_disclosure_out_literal(o, "<th scope=\"row\" id=\"");
    }

    ngx_http_disclosure_out_str(o, &lf->id[l]);
    ngx_http_disclosure_out_literal(o, "\"");

    if (l + 1 == lf->depth) {
        ngx_http_disclosure_grid_span(h, col ? "rowspan" : "colspan",
                                      depth - l);

    } else {
        ngx_http_disclosure_grid_span(h, col ? "colspan" : "rowspan",
                                      lf->span[l]);
    }

    ngx_http_disclosure_out_literal(o, ">");
    ngx_http_disclosure_out_html_str(o, lf->label[l]);
    ngx_http_disclosure_out_literal(o, "</th>");
}


/* the values of t's cells, and where each sits, once per table */

static ngx_int_t
ngx_http_disclosure_grid_values(ngx_http_disclosure_html_t *h,
    ngx_http_disclosure_table_t *t)
{
    ngx_uint_t  i;

    h->at = ngx_pcalloc(h->pool, t->nrows * t->ncols * sizeof(ngx_uint_t));
    if (h->at == NULL) {
        return ngx_http_disclosure_html_nomem(h);
    }

    for (i = 0; i < t->ncells; i++) {
        h->at[t->cells[i].row * t->ncols + t->cells[i].col] = i + 1;
    }

    if (ngx_http_disclosure_cell_values(h->log, h->pool, h->tables, t, 1,
                                        &h->values)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    h->dvalues = NULL;

    if (h->derived
        && ngx_http_disclosure_cell_values(h->log, h->pool, h->derived, t,
                                           0, &h->dvalues)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    h->vtable = t;

    return NGX_OK;
}


/* one data cell; its headers attribute names every header above and left */

static ngx_int_t
ngx_http_disclosure_grid_cell(ngx_http_disclosure_html_t *h,
    ngx_http_disclosure_grid_t *g, ngx_http_disclosure_grid_leaf_t *row,
    ngx_http_disclosure_grid_leaf_t *col)
{
    ngx_uint_t                    i, r, c, differs, total;
    yajl_val                      v, dv;
    ngx_uint_t                    sep;
    ngx_http_disclosure_out_t    *o;
    ngx_http_disclosure_cell_t   *cell;
    ngx_http_disclosure_table_t  *t;

    o = &h->out;
    t = g->table;

    r = g->by_col ? col->row : row->row;
    c = col->col;

    if (h->vtable != t && ngx_http_disclosure_grid_values(h, t) != NGX_OK) {
        return NGX_ERROR;
    }

    dv = NULL;
    differs = 0;

    if (row->printed) {
        /* the merged （六） row: its cells as printed, absent ones not */
        v = ngx_http_disclosure_doc_get_str(row->printed, &col->key);
        total = (col->key.len == 5
                 && ngx_strncmp(col->key.data, "total", 5) == 0);

    } else {
        i = h->at[r * t->ncols + c];

        if (i == 0) {
            ngx_http_disclosure_out_literal(o, "<td></td>");
            return NGX_OK;
        }

        cell = &t->cells[--i];
        v = h->values[i];
        total = cell->total;

        /* a legacy report shows its totals as published (the document's
         * values) and, where they differ, the derived ones beside them */

        if (total && h->dvalues && h->dvalues[i]) {
            dv = h->dvalues[i];
            differs = 1;
            h->differs = 1;
        }
    }

    ngx_http_disclosure_out_literal(o, "<td class=\"d-num");

    if (total) {
        ngx_http_disclosure_out_literal(o, " d-total");
    }

    if (differs) {
        ngx_http_disclosure_out_literal(o, " d-differs");
    }

    if (v == NULL || ngx_http_disclosure_grid_not_printed(v)) {
        ngx_http_disclosure_out_literal(o, " d-np");
    }

    ngx_http_disclosure_out_literal(o, "\" headers=\"");

    sep = 0;

    if (!g->by_col) {
        for (i = 0; i < row->depth; i++) {
            if (sep++) {
                ngx_http_disclosure_out_literal(o, " ");
            }

            ngx_http_disclosure_out_str(o, &row->id[i]);
        }
    }

    for (i = 0; i < col->depth; i++) {
        if (sep++) {
            ngx_http_disclosure_out_literal(o, " ");
        }

        ngx_http_disclosure_out_str(o, &col->id[i]);
    }

    ngx_http_disclosure_out_literal(o, "\">");

    if (v == NULL) {
        ngx_http_disclosure_out_literal(o, "未列出");

    } else {
        ngx_http_disclosure_grid_value(h, v);
    }

    if (differs) {
        ngx_http_disclosure_out_literal(o, "<span class=\"d-derived\">"
                                        "（分项合计：");

        if (YAJL_IS_NULL(dv)) {
            ngx_http_disclosure_out_literal(o, "空白");

        } else {
            ngx_http_disclosure_grid_value(h, dv);
        }

        ngx_http_disclosure_out_literal(o, "）</span>");
    }

    ngx_http_disclosure_out_literal(o, "</td>");

    return NGX_OK;
}


/*
 * A number as its JSON text, null as nothing, "not_printed" as 未列出, any
 * other string ("/") as text.
 */

static void
ngx_http_disclosure_grid_value(ngx_http_disclosure_html_t *h, yajl_val v)
{
    if (YAJL_IS_NUMBER(v)) {
        ngx_http_disclosure_out_html_cstr(&h->out, v->u.number.r);

    } else if (ngx_http_disclosure_grid_not_printed(v)) {
        ngx_http_disclosure_out_literal(&h->out, "未列出");

    } else if (YAJL_IS_STRING(v)) {
        ngx_http_disclosure_out_html_cstr(&h->out, v->u.string);
    }
}


static ngx_uint_t
ngx_http_disclosure_grid_not_printed(yajl_val v)
{
    return YAJL_IS_STRING(v) && ngx_strcmp(v->u.string, "not_printed") == 0;
}


/* every cell of the row not printed: the report has no such row */

static ngx_uint_t
ngx_http_disclosure_grid_row_not_printed(ngx_http_disclosure_html_t *h,
    ngx_http_disclosure_table_t *t, ngx_uint_t row)
{
    ngx_uint_t  c, i, n;

    n = 0;

    for (c = 0; c < t->ncols; c++) {
        i = h->at[row * t->ncols + c];

        if (i == 0) {
            continue;
        }

        if (!ngx_http_disclosure_grid_not_printed(h->values[i - 1])) {
            return 0;
        }

        n++;
    }

    return n > 0;
}


static void
ngx_http_disclosure_grid_span(ngx_http_disclosure_html_t *h,
    const char *name, ngx_uint_t n)
{
    if (n > 1) {
        ngx_http_disclosure_out_printf(&h->out, " %s=\"%ui\"", name, n);
    }
}
