
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * The document: what the page says of itself (title line: year and agency;
 * 发布日期, 索引号, the address it was saved from), the narrative split into
 * the six sections by their headings, and the disclosure-report/1 document
 * written with yajl's generator.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "di.h"


#define DI_NSECTIONS  6

typedef struct {
    int            year;
    char          *name;
    char          *published_at;
    char          *index_no;
    char          *source_url;
    size_t         title_item;            /* the narrative starts after it */
    di_buf_t       parts[DI_NSECTIONS][8];  /* [section][part] */
} di_meta_t;


static void di_title(const di_page_t *page, di_meta_t *meta, di_ctx_t *ctx);
static int di_title_line(const char *line);
static char *di_after(const di_page_t *page, const char *label,
    int date);
static const char *di_label_at(const char *p, const char *label,
    int *colon);
static int di_is_label(const char *text, const char *label);
static char *di_value_after(const char *line, const char *label, int date,
    int colon);
static void di_narrative(const di_page_t *page, const di_format_t *fmt,
    di_meta_t *meta, di_ctx_t *ctx);
static int di_heading(const char *line, const char **numerals,
    const char *const *keys, size_t n);
static char *di_json(const di_options_t *opt, const di_format_t *fmt,
    di_meta_t *meta, di_cells_t *cells, di_ctx_t *ctx);


/* 一 … 六, and the words a heading of that section holds */
static const char  *di_numerals[] = {
    "一", "二", "三", "四", "五", "六"
};

static const char *const  di_section_words[DI_NSECTIONS] = {
    "总体情况", "主动公开", "申请", "行政复议", "问题", "其他需要报告"
};

static const char *const  di_part_words[5] = {
    "主动公开", "依申请公开", "政府信息管理", "平台建设", "监督保障"
};

/* the end of a portal page: its footer */
static const char *const  di_footer[] = {
    "版权所有", "主办单位", "网站标识码", "ICP备", "公网安备", "网站地图",
    "关闭窗口", "打印本页", "【打印】", "【关闭】", NULL
};


int
di_import(const char *buf, size_t len, const di_options_t *opt,
    di_ctx_t *ctx, char **json)
{
    int                 rc, t;
    unsigned            version, printed;
    size_t              i, j;
    di_page_t           page;
    di_meta_t           meta;
    di_cells_t          cells;
    const di_format_t  *fmt;

    *json = NULL;
    memset(ctx, 0, sizeof(di_ctx_t));
    ctx->opt = opt;
    memset(&meta, 0, sizeof(di_meta_t));
    memset(&cells, 0, sizeof(di_cells_t));

    rc = di_page_read(buf, len, &page, ctx);
    if (rc != 0) {
        di_page_free(&page);
        return rc;
    }

    di_title(&page, &meta, ctx);

    if (opt->agency == NULL || *opt->agency == '\0') {
        di_error(ctx, "no --agency SLUG: import_report needs the agency's slug "
                 "(an existing one, or the new agency's)");
    }

    /* the format: as asked, else as printed, else by the year */
    printed = di_detect_format(&page);
    version = opt->format ? opt->format
              : printed ? printed
              : meta.year >= 2021 ? 2021 : 2019;

    if (opt->format && printed && printed != opt->format) {
        di_error(ctx, "--format %u, but the page's table 二 has the column "
                 "labels of the %u format", opt->format, printed);
    }

    if (!opt->format && printed && meta.year
        && printed != (meta.year >= 2021 ? 2021u : 2019u))
    {
        di_note(ctx, "a %d report printed on the %u format: read as the "
                "%u format (R12 will say so)", meta.year, printed, printed);
    }

    fmt = di_format(version);
    if (fmt == NULL) {
        di_error(ctx, "no format %u", version);
        di_page_free(&page);
        return 2;
    }

    cells.fmt = fmt;

    if (page.ntables == 0) {
        di_error(ctx, "the page has no tables: it is not a report page, or "
                 "its tables are images or an attachment");
    } else if (di_map_tables(&page, &cells, ctx) != 0) {
        rc = 1;
    }

    if (rc == 0 && cells.values[0] && cells.values[1] && cells.values[2]) {
        di_narrative(&page, fmt, &meta, ctx);
        *json = di_json(opt, fmt, &meta, &cells, ctx);
        if (*json == NULL) {
            rc = 1;
        }
    }

    di_cells_free(&cells);
    di_page_free(&page);
    free(meta.name);
    free(meta.published_at);
    free(meta.index_no);
    free(meta.source_url);
    for (t = 0; t < DI_NSECTIONS; t++) {
        for (j = 0; j < 8; j++) {
            free(meta.parts[t][j].data);
        }
    }
    (void) i;

    if (ctx->nomem) {
        return 1;
    }

    return rc ? rc : ctx->nerrors ? 2 : 0;
}


void
di_ctx_free(di_ctx_t *ctx)
{
    size_t  i;

    for (i = 0; i < ctx->nmessages; i++) {
        free(ctx->messages[i]);
    }
    free(ctx->messages);
    ctx->messages = NULL;
    ctx->nmessages = 0;
}


/*
 * The title line "2019年上海市人民政府办公厅政府信息公开工作年度报告": the
 * first line of the page (or its <title>) with a year and 政府信息公开 …
 * 报告; the agency is what is left of it without the year and without
 * "政府信息公开…报告".
 */
static void
di_title(const di_page_t *page, di_meta_t *meta, di_ctx_t *ctx)
{
    const di_options_t  *opt = ctx->opt;
    const char          *line, *rest, *cut, *start, *from, *colon, *end;
    size_t               i, found, first_heading;
    int                  year;
    char                *name;
    di_buf_t             b = { NULL, 0, 0, 0 };

    year = 0;
    name = NULL;
    meta->title_item = 0;

    /* the last candidate line before the heading 一、总体情况, else the
     * first one anywhere, else <title> */
    first_heading = page->nitems;
    for (i = 0; i < page->nitems; i++) {
        if (page->items[i].text
            && di_heading(page->items[i].text, di_numerals, di_section_words,
                          1) == 1)
        {
            first_heading = i;
            break;
        }
    }

    found = (size_t) -1;
    for (i = 0; i < page->nitems; i++) {
        if (page->items[i].text && di_title_line(page->items[i].text)
            && (found == (size_t) -1 || i < first_heading))
        {
            found = i;
        }
    }

    line = found != (size_t) -1 ? page->items[found].text
           : page->title && di_title_line(page->title) ? page->title : NULL;

    if (line) {
        cut = strstr(line, "政府信息公开");
        if (cut == NULL) {
            cut = strstr(line, "政务公开");
        }
        rest = di_find_year(line, &year, &start);

        /* the agency: before the year, and between it and 政府信息公开;
         * after a label ("标题：") if there is one */
        from = line;
        while ((colon = strstr(from, "：")) != NULL && colon < start) {
            from = colon + 3;
        }
        end = start < cut ? start : cut;
        if (end > from) {
            di_buf_add(&b, from, (size_t) (end - from));
        }
        if (rest < cut) {
            di_buf_add(&b, rest, (size_t) (cut - rest));
        }
        name = di_buf_take(&b);
        if (name) {
            char *sq = di_squeeze(name);
            free(name);
            name = sq;
        }
        if (found != (size_t) -1) {
            meta->title_item = found + 1;
        }
    }

    if (opt->year) {
        if (year && year != opt->year) {
            di_error(ctx, "--year %d, but the page's title says %d",
                     opt->year, year);
        }
        year = opt->year;
    }

    if (year == 0) {
        di_error(ctx, "no report year on the page (a title line like "
                 "“2020年…政府信息公开工作年度报告”); give --year");
    }

    meta->year = year;

    if (opt->name) {
        free(name);
        name = di_strdup(opt->name);
    } else if (name == NULL || *name == '\0') {
        di_error(ctx, "no agency name in the page's title line; give --name");
    }

    meta->name = name;
    meta->published_at = di_after(page, "发布日期", 1);
    if (meta->published_at == NULL) {
        meta->published_at = di_after(page, "发布时间", 1);
    }
    if (meta->published_at == NULL) {
        meta->published_at = di_after(page, "公开日期", 1);
    }
    meta->index_no = di_after(page, "索引号", 0);

    if (opt->source_url) {
        meta->source_url = di_strdup(opt->source_url);
    } else if (page->canonical && strncmp(page->canonical, "http", 4) == 0) {
        meta->source_url = di_strdup(page->canonical);
    } else if (page->saved_from && strncmp(page->saved_from, "http", 4) == 0)
    {
        meta->source_url = di_strdup(page->saved_from);
    } else {
        /* a saver's note "来源：http://…" (信息来源：某局 is not an address) */
        meta->source_url = di_after(page, "来源", 0);
        if (meta->source_url && strncmp(meta->source_url, "http", 4) != 0) {
            free(meta->source_url);
            meta->source_url = NULL;
        }
    }
}


/* "2023年…政府信息公开…报告" in a short line: a title */
static int
di_title_line(const char *line)
{
    const char  *cut, *start;
    int          year;

    if (strlen(line) > 240) {
        return 0;
    }

    cut = strstr(line, "政府信息公开");
    if (cut == NULL) {
        cut = strstr(line, "政务公开");
    }

    return cut != NULL && strstr(cut, "报告") != NULL
           && di_find_year(line, &year, &start) != NULL;
}


/*
 * "发布日期：2020-01-31" (also 2020年1月31日, 2020/1/31, a time after it) as
 * "2020-01-31T00:00:00+08:00"; "索 引 号：XXX" as "XXX".  Labels may be
 * spaced out; the value is the line's text after the label and its colon,
 * or, in a table (the portals' box above a report), the next cell's.
 */
static char *
di_after(const di_page_t *page, const char *label, int date)
{
    size_t       i, r, n, k;
    int          ids[DI_MAX_COLS];
    char        *v;
    di_grid_t   *g;

    for (i = 0; i < page->nitems; i++) {
        if (page->items[i].text) {
            v = di_value_after(page->items[i].text, label, date, 1);
            if (v) {
                return v;
            }
            continue;
        }

        g = page->items[i].grid;
        for (r = 0; g && r < g->nrows; r++) {
            n = di_row_cells(g, r, ids);
            for (k = 0; k + 1 < n; k++) {
                v = di_value_after(g->cells[ids[k]].text, label, date, 0);
                if (v == NULL && di_is_label(g->cells[ids[k]].text, label)) {
                    v = di_value_after(g->cells[ids[k + 1]].text, "", date, 0);
                }
                if (v) {
                    return v;
                }
            }
        }
    }

    return NULL;
}


/* label at p, its characters maybe spaced out: what follows it and its
 * colon, if any (*colon says), NULL if p does not start with it */
static const char *
di_label_at(const char *p, const char *label, int *colon)
{
    size_t       k;
    const char  *q, *l;

    q = p;
    for (l = label; *l; ) {
        while (*q == ' ') {
            q++;
        }
        k = ((unsigned char) *l >= 0xe0) ? 3 : 1;
        if (strncmp(q, l, k) != 0) {
            return NULL;
        }
        q += k;
        l += k;
    }

    while (*q == ' ') {
        q++;
    }

    *colon = 1;
    if (strncmp(q, "：", 3) == 0) {
        q += 3;
    } else if (*q == ':') {
        q++;
    } else {
        *colon = 0;
    }

    while (*q == ' ') {
        q++;
    }

    return q;
}


/* the cell says only the label (spaced out or not, a colon after it) */
static int
di_is_label(const char *text, const char *label)
{
    int          colon;
    const char  *q;

    q = di_label_at(text, label, &colon);
    return q != NULL && *q == '\0';
}


/* the value after label in line ("" : the line is the value) */
static char *
di_value_after(const char *line, const char *label, int date, int colon)
{
    const char  *p, *q, *t;
    int          y, mo, d, h, mi, s, n, c;
    char         out[64], *v, *sp;

    for (p = line; *p; p++) {
        q = di_label_at(p, label, &c);
        if (q == NULL || (colon && *label && !c)) {
            continue;
        }

        if (!date) {
            if (*label == '\0' && p != line) {
                return NULL;
            }
            v = di_strdup(q);
            if (v && (sp = strchr(v, ' ')) != NULL) {
                *sp = '\0';
            }
            if (v && *v == '\0') {
                free(v);
                v = NULL;
            }
            return v;
        }

        h = mi = s = 0;
        n = 0;
        if (sscanf(q, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3
            && sscanf(q, "%4d/%2d/%2d%n", &y, &mo, &d, &n) != 3
            && sscanf(q, "%4d.%2d.%2d%n", &y, &mo, &d, &n) != 3
            && sscanf(q, "%4d年%2d月%2d日%n", &y, &mo, &d, &n) != 3)
        {
            if (*label == '\0') {
                return NULL;
            }
            continue;
        }
        if (y < 2000 || y > 2100 || mo < 1 || mo > 12 || d < 1 || d > 31) {
            return NULL;
        }
        if (n > 0) {
            t = q + n;
            while (*t == ' ') {
                t++;
            }
            if (sscanf(t, "%2d:%2d:%2d", &h, &mi, &s) < 2
                || h > 23 || mi > 59 || s > 59)
            {
                h = mi = s = 0;
            }
        }
        snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02d+08:00",
                 y, mo, d, h, mi, s);
        return di_strdup(out);
    }

    return NULL;
}


/* the section (1-6) or part (1-5) a heading line starts, 0 if none */
static int
di_heading(const char *line, const char **numerals, const char *const *keys,
    size_t n)
{
    size_t       i, len;
    const char  *p;

    len = strlen(line);
    if (len > 120 && keys != di_part_words) {
        return 0;                              /* a paragraph, not a heading */
    }

    for (i = 0; i < n; i++) {
        p = line;

        if (keys == di_part_words) {
            /* （一） (一) */
            if (strncmp(p, "（", 3) == 0) {
                p += 3;
            } else if (*p == '(') {
                p++;
            } else {
                return 0;
            }
        }

        if (strncmp(p, numerals[i], strlen(numerals[i])) != 0) {
            continue;
        }
        p += strlen(numerals[i]);

        if (keys == di_part_words) {
            if (strncmp(p, "）", 3) != 0 && *p != ')') {
                continue;
            }
        } else if (strncmp(p, "、", 3) != 0 && strncmp(p, "．", 3) != 0
                   && *p != '.' && *p != ' ' && strncmp(p, "，", 3) != 0)
        {
            continue;
        }

        /* a section heading names its section; a part's numbering is
         * enough (its words vary: 及时回应关切，自觉接受监督) */
        if (keys != di_part_words
            && (strstr(p, keys[i]) == NULL
                || (size_t) (strstr(p, keys[i]) - line) > 60))
        {
            continue;
        }

        return (int) i + 1;
    }

    return 0;
}


static void
di_narrative(const di_page_t *page, const di_format_t *fmt, di_meta_t *meta,
    di_ctx_t *ctx)
{
    size_t       i, dropped;
    int          sec, part, s, p, f;
    const char  *line;
    di_buf_t    *b;

    (void) fmt;

    sec = 0;
    part = 0;
    dropped = 0;

    for (i = meta->title_item; i < page->nitems; i++) {
        line = page->items[i].text;
        if (line == NULL) {
            continue;
        }

        s = di_heading(line, di_numerals, di_section_words, DI_NSECTIONS);
        if (s > sec) {
            sec = s;
            part = 0;
            continue;
        }

        if (sec == 6) {
            for (f = 0; di_footer[f]; f++) {
                if (strstr(line, di_footer[f])) {
                    break;
                }
            }
            if (di_footer[f]) {
                break;                       /* the portal's footer */
            }
        }

        if (sec == 0) {
            /* before 一: the report's own preamble, not the page's chrome */
            if (strlen(line) < 60 || strstr(line, "发布日期")
                || strstr(line, "索引号"))
            {
                continue;
            }
        }

        if (sec == 1 || sec == 0) {
            p = di_heading(line, di_numerals, di_part_words, 5);
            if (p > part) {
                part = p;
            }
        }

        if (sec >= 2 && sec <= 4) {
            dropped++;                       /* notes around the tables */
            continue;
        }

        b = &meta->parts[sec <= 1 ? 0 : sec - 1][sec <= 1 ? part : 0];
        if (b->len) {
            di_buf_addc(b, '\n');
        }
        di_buf_add(b, line, strlen(line));
        if (b->failed) {
            ctx->nomem = 1;
            return;
        }
    }

    if (sec == 0) {
        di_note(ctx, "no section headings (一、总体情况 …): the narrative is "
                "left empty");
    } else if (sec < 6) {
        di_note(ctx, "the narrative ends at section %d: the later sections "
                "are left empty", sec);
    }

    if (dropped) {
        di_note(ctx, "%zu lines of text between the tables (二 to 四) are "
                "not kept: the document has no place for them", dropped);
    }
}


#define G(call)  if ((call) != yajl_gen_status_ok) goto failed
#define S(str)   G(yajl_gen_string(g, (const unsigned char *) (str),        \
                                   strlen(str)))


static int
di_value(yajl_gen g, const di_value_t *v)
{
    switch (v->kind) {
    case DI_NUMBER:
        return yajl_gen_number(g, v->number, strlen(v->number));
    case DI_SLASH:
        return yajl_gen_string(g, (const unsigned char *) "/", 1);
    case DI_NOT_PRINTED:
        return yajl_gen_string(g, (const unsigned char *) "not_printed", 11);
    default:
        return yajl_gen_null(g);          /* blank (and unread: exit 2) */
    }
}


static char *
di_json(const di_options_t *opt, const di_format_t *fmt, di_meta_t *meta,
    di_cells_t *cells, di_ctx_t *ctx)
{
    size_t              t, r, k, s, p, n;
    yajl_gen            g;
    const di_table_t   *tab;
    const unsigned char *out;
    size_t              len;
    char               *json, *kind;
    int                 open, any;

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        ctx->nomem = 1;
        return NULL;
    }
    yajl_gen_config(g, yajl_gen_beautify, 1);
    yajl_gen_config(g, yajl_gen_indent_string, "  ");
    yajl_gen_config(g, yajl_gen_validate_utf8, 1);

    kind = NULL;

    G(yajl_gen_map_open(g));
    S("document"); S("disclosure-report/1");

    S("agency");
    G(yajl_gen_map_open(g));
    S("slug");
    if (opt->agency) { S(opt->agency); } else { G(yajl_gen_null(g)); }
    S("name");
    if (meta->name) { S(meta->name); } else { G(yajl_gen_null(g)); }
    S("kind");
    if (opt->kind) {
        S(opt->kind);
    } else if (meta->name) {
        /* a government (人民政府, 管委会) or one of its departments */
        n = strlen(meta->name);
        kind = (n >= 12 && strcmp(meta->name + n - 12, "人民政府") == 0)
               || strstr(meta->name, "管理委员会") || strstr(meta->name, "管委会")
               ? "government" : "department";
        S(kind);
    } else {
        G(yajl_gen_null(g));
    }
    S("parent");
    if (opt->parent) {
        G(yajl_gen_map_open(g));
        S("slug"); S(opt->parent);
        G(yajl_gen_map_close(g));
    } else {
        G(yajl_gen_null(g));
    }
    G(yajl_gen_map_close(g));

    S("year");
    G(yajl_gen_integer(g, meta->year));
    S("format");
    G(yajl_gen_integer(g, fmt->version));
    S("scope"); S(opt->scope ? opt->scope : "unknown");
    S("status"); S("draft");
    S("published_at");
    if (meta->published_at) { S(meta->published_at); }
    else { G(yajl_gen_null(g)); }
    S("source_url");
    if (meta->source_url) { S(meta->source_url); }
    else { G(yajl_gen_null(g)); }
    S("index_no");
    if (meta->index_no) { S(meta->index_no); } else { G(yajl_gen_null(g)); }
    S("legacy");
    G(yajl_gen_bool(g, 1));

    /* the six sections, headings from the format */
    S("sections");
    G(yajl_gen_array_open(g));
    for (s = 0; s < fmt->nsections; s++) {
        G(yajl_gen_map_open(g));
        S("no");
        G(yajl_gen_integer(g, fmt->sections[s].no));
        S("key"); S(fmt->sections[s].key);
        S("heading"); S(fmt->sections[s].heading);
        if (fmt->sections[s].nparts) {
            S("parts");
            G(yajl_gen_array_open(g));
            for (p = 0; p < fmt->sections[s].nparts && p < 8; p++) {
                di_buf_t *b = &meta->parts[s < DI_NSECTIONS ? s : 0][p];
                G(yajl_gen_map_open(g));
                S("key"); S(fmt->sections[s].parts[p].key);
                S("text"); S(b->data ? b->data : "");
                G(yajl_gen_map_close(g));
            }
            G(yajl_gen_array_close(g));
        }
        G(yajl_gen_map_close(g));
    }
    G(yajl_gen_array_close(g));

    /* tables: every input cell; published_totals: the totals printed */
    for (open = 0; open < 2; open++) {
        S(open == 0 ? "tables" : "published_totals");
        G(yajl_gen_map_open(g));

        for (t = 0; t < fmt->ntables; t++) {
            tab = &fmt->tables[t];
            any = 0;

            for (r = 0; r < tab->nrows; r++) {
                int row_open = 0;

                for (k = 0; k < tab->ncells; k++) {
                    const di_value_t *v = &cells->values[t][k];
                    if (tab->cells[k].row != r
                        || tab->cells[k].total != open
                        || (open && (v->kind == DI_NOT_PRINTED
                                     || v->kind == DI_UNSET)))
                    {
                        continue;
                    }
                    if (!any) {
                        S(tab->key);
                        G(yajl_gen_map_open(g));
                        any = 1;
                    }
                    if (!row_open) {
                        S(tab->rows[r].key);
                        G(yajl_gen_map_open(g));
                        row_open = 1;
                    }
                    S(tab->cols[tab->cells[k].col].key);
                    G(di_value(g, v));
                }

                if (row_open) {
                    G(yajl_gen_map_close(g));
                }
            }

            /* the merged （六） of a 2021 report, under the 2019 key */
            if (open && cells->merged_other
                && strcmp(tab->key, "applications") == 0)
            {
                if (!any) {
                    S(tab->key);
                    G(yajl_gen_map_open(g));
                    any = 1;
                }
                S("other");
                G(yajl_gen_map_open(g));
                for (k = 0; k < tab->ncols && k < 16; k++) {
                    if (cells->other[k].kind == DI_UNSET) {
                        continue;
                    }
                    S(tab->cols[k].key);
                    G(di_value(g, &cells->other[k]));
                }
                G(yajl_gen_map_close(g));
            }

            if (any) {
                G(yajl_gen_map_close(g));
            }
        }

        G(yajl_gen_map_close(g));
    }

    G(yajl_gen_map_close(g));

    G(yajl_gen_get_buf(g, &out, &len));
    json = malloc(len + 1);
    if (json == NULL) {
        yajl_gen_free(g);
        ctx->nomem = 1;
        return NULL;
    }
    memcpy(json, out, len);
    json[len] = '\0';
    yajl_gen_free(g);
    return json;

failed:

    yajl_gen_free(g);
    di_error(ctx, "the document could not be written (yajl)");
    return NULL;
}
