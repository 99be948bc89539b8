
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * Text: buffers, messages, the normalised form labels are compared in, and
 * the reading of a printed cell.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "di.h"


static void di_message(di_ctx_t *ctx, int error, const char *fmt,
    va_list ap);
static size_t di_utf8_next(const char *s, size_t len, unsigned *cp);
static void di_buf_addcp(di_buf_t *b, unsigned cp);
static int di_is_space(unsigned cp);


void
di_buf_add(di_buf_t *b, const char *s, size_t len)
{
    char    *n;
    size_t   cap;

    if (b->failed) {
        return;
    }

    if (len > (size_t) -1 / 4 - b->len) {
        b->failed = 1;                  /* a length gone wrong: never loop */
        return;
    }

    if (b->len + len + 1 > b->cap) {
        cap = b->cap ? b->cap : 64;
        while (cap < b->len + len + 1) {
            cap *= 2;
        }
        n = realloc(b->data, cap);
        if (n == NULL) {
            b->failed = 1;
            return;
        }
        b->data = n;
        b->cap = cap;
    }

    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
}


void
di_buf_addc(di_buf_t *b, char c)
{
    di_buf_add(b, &c, 1);
}


/* the buffer's string (an empty one for an empty buffer), NULL on ENOMEM */
char *
di_buf_take(di_buf_t *b)
{
    char  *s;

    if (b->failed) {
        free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
        b->failed = 0;
        return NULL;
    }

    s = b->data ? b->data : di_strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}


char *
di_strdup(const char *s)
{
    size_t   n;
    char    *d;

    n = strlen(s);
    d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n + 1);
    }
    return d;
}


void
di_error(di_ctx_t *ctx, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    di_message(ctx, 1, fmt, ap);
    va_end(ap);
}


void
di_note(di_ctx_t *ctx, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    di_message(ctx, 0, fmt, ap);
    va_end(ap);
}


static void
di_message(di_ctx_t *ctx, int error, const char *fmt, va_list ap)
{
    int     n;
    char   *m, **a, *p;
    size_t  len;

    if (error) {
        ctx->nerrors++;
    }

    if (ctx->nmessages >= DI_MAX_MESSAGES) {
        ctx->dropped++;
        return;
    }

    va_list  aq;

    va_copy(aq, ap);
    n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0) {
        ctx->nomem = 1;
        return;
    }

    len = (error ? 7 : 6) + (size_t) n + 1;
    m = malloc(len);
    a = realloc(ctx->messages, (ctx->nmessages + 1) * sizeof(char *));
    if (m == NULL || a == NULL) {
        free(m);
        if (a) {
            ctx->messages = a;
        }
        ctx->nomem = 1;
        return;
    }
    ctx->messages = a;

    strcpy(m, error ? "error: " : "note: ");
    vsnprintf(m + strlen(m), (size_t) n + 1, fmt, ap);

    /* one line each, whatever the page's labels hold */
    for (p = m; *p; p++) {
        if ((unsigned char) *p < 0x20) {
            *p = ' ';
        }
    }

    ctx->messages[ctx->nmessages++] = m;
}


/* a label or a value for a message: “…”, control characters as spaces,
 * at most 60 characters; static storage, four at a time */
char *
di_quote(const char *s)
{
    static char      bufs[4][300];
    static unsigned  next;
    char            *b, *p;
    size_t           i, n, chars;
    unsigned         cp;

    b = bufs[next++ % 4];
    p = b;
    memcpy(p, "\xe2\x80\x9c", 3);
    p += 3;

    if (s == NULL) {
        s = "";
    }

    n = strlen(s);
    chars = 0;

    for (i = 0; i < n && chars < 60; chars++) {
        size_t k = di_utf8_next(s + i, n - i, &cp);
        if (cp < 0x20 || cp == 0x7f) {
            *p++ = ' ';
        } else {
            memcpy(p, s + i, k);
            p += k;
        }
        i += k;
    }

    if (i < n) {
        memcpy(p, "\xe2\x80\xa6", 3);
        p += 3;
    }

    memcpy(p, "\xe2\x80\x9d", 4);
    return b;
}


/* one code point; an invalid byte reads as U+FFFD and advances by one */
static size_t
di_utf8_next(const char *s, size_t len, unsigned *cp)
{
    const unsigned char  *u = (const unsigned char *) s;
    size_t                need, i;
    unsigned              c, min;

    c = u[0];

    if (c < 0x80) {
        *cp = c;
        return 1;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        need = 1; c &= 0x1f; min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2; c &= 0x0f; min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3; c &= 0x07; min = 0x10000;
    } else {
        *cp = 0xfffd;
        return 1;
    }

    if (len < need + 1) {
        *cp = 0xfffd;
        return 1;
    }

    for (i = 1; i <= need; i++) {
        if ((u[i] & 0xc0) != 0x80) {
            *cp = 0xfffd;
            return 1;
        }
        c = (c << 6) | (u[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        *cp = 0xfffd;
        return 1;
    }

    *cp = c;
    return need + 1;
}


int
di_utf8_valid(const char *s, size_t len, size_t *bad)
{
    size_t    i, k;
    unsigned  cp;

    for (i = 0; i < len; i += k) {
        k = di_utf8_next(s + i, len - i, &cp);
        if (cp == 0xfffd && k == 1) {
            *bad = i;
            return 0;
        }
    }

    return 1;
}


static void
di_buf_addcp(di_buf_t *b, unsigned cp)
{
    char  u[4];

    if (cp < 0x80) {
        u[0] = (char) cp;
        di_buf_add(b, u, 1);
    } else if (cp < 0x800) {
        u[0] = (char) (0xc0 | (cp >> 6));
        u[1] = (char) (0x80 | (cp & 0x3f));
        di_buf_add(b, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char) (0xe0 | (cp >> 12));
        u[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char) (0x80 | (cp & 0x3f));
        di_buf_add(b, u, 3);
    } else {
        u[0] = (char) (0xf0 | (cp >> 18));
        u[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char) (0x80 | (cp & 0x3f));
        di_buf_add(b, u, 4);
    }
}


static int
di_is_space(unsigned cp)
{
    return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r'
           || cp == '\f' || cp == '\v' || cp == 0xa0 || cp == 0x3000
           || (cp >= 0x2000 && cp <= 0x200d) || cp == 0x202f
           || cp == 0x205f || cp == 0xfeff;
}


/* full width to half width, 〔〕【】［］ to (), no white space */
static unsigned
di_fold(unsigned cp)
{
    if (cp >= 0xff01 && cp <= 0xff5e) {
        cp -= 0xfee0;
    }

    switch (cp) {
    case 0x3014: case 0x3010: case '[':
        return '(';
    case 0x3015: case 0x3011: case ']':
        return ')';
    }

    return cp;
}


static int
di_is_numeral(unsigned cp)
{
    return (cp >= '0' && cp <= '9')
           || cp == 0x4e00 || cp == 0x4e8c || cp == 0x4e09 || cp == 0x56db
           || cp == 0x4e94 || cp == 0x516d || cp == 0x4e03 || cp == 0x516b
           || cp == 0x4e5d || cp == 0x5341;      /* 一二三四五六七八九十 */
}


/*
 * The form labels are compared in: full width folded, no white space, no
 * punctuation or quotes (、，. ；：“” and the like), the leading numbering
 * （一） (一) 一、 1. 1、 (1) gone, and no parenthesised part, so that
 * "（二）部分公开（区分处理的，…）" and "(二)部分公开" are both "部分公开".
 */
char *
di_norm_label(const char *s)
{
    size_t     i, n, k, len, j, m;
    unsigned   cp, *cps;
    int        depth, stripped, round;
    di_buf_t   b = { NULL, 0, 0, 0 };

    n = strlen(s);
    cps = malloc((n + 1) * sizeof(unsigned));
    if (cps == NULL) {
        return NULL;
    }

    len = 0;

    for (i = 0; i < n; i += k) {
        k = di_utf8_next(s + i, n - i, &cp);
        cp = di_fold(cp);

        if (di_is_space(cp)) {
            continue;
        }

        switch (cp) {
        case 0x3001: case 0xff0c: case ',': case '.': case ';': case ':':
        case 0x3002: case 0x201c: case 0x201d: case '"': case '\'':
        case 0x2018: case 0x2019: case 0x300c: case 0x300d: case 0x300a:
        case 0x300b: case 0x3008: case 0x3009: case 0xb7: case 0x30fb:
        case '*': case 0x2605: case 0x203b:
            continue;
        }

        cps[len++] = cp;
    }

    /* the leading numbering, up to three levels: "三(一)1" */
    i = 0;
    for (round = 0; round < 3; round++) {
        stripped = 0;

        if (i < len && cps[i] == '(') {
            for (j = i + 1; j < len && di_is_numeral(cps[j]); j++) { }
            if (j > i + 1 && j < len && cps[j] == ')' && j + 1 < len) {
                i = j + 1;
                stripped = 1;
            }

        } else if (i < len && di_is_numeral(cps[i])) {
            for (j = i; j < len && di_is_numeral(cps[j]); j++) { }
            if (j < len) {
                i = j;
                stripped = 1;
            }
        }

        if (!stripped) {
            break;
        }
    }

    /* no parenthesised part */
    depth = 0;
    for (m = i; m < len; m++) {
        cp = cps[m];
        if (cp == '(') {
            depth++;
            continue;
        }
        if (cp == ')') {
            if (depth > 0) {
                depth--;
            }
            continue;
        }
        if (depth == 0) {
            di_buf_addcp(&b, cp);
        }
    }

    free(cps);
    return di_buf_take(&b);
}


/* a line of text: white space runs as one space, trimmed */
char *
di_squeeze(const char *s)
{
    size_t     i, n, k;
    unsigned   cp;
    int        space;
    di_buf_t   b = { NULL, 0, 0, 0 };

    n = strlen(s);
    space = 0;

    for (i = 0; i < n; i += k) {
        k = di_utf8_next(s + i, n - i, &cp);

        if (di_is_space(cp) || cp < 0x20) {
            space = 1;
            continue;
        }

        if (space && b.len) {
            di_buf_addc(&b, ' ');
        }
        space = 0;
        di_buf_add(&b, s + i, k);
    }

    return di_buf_take(&b);
}


/*
 * A printed cell: white space only is blank; "/" is slash, and so is a
 * dash alone ("—", "－", "-", "–", "——"); else a number: ASCII or full
 * width digits, thousands separated by commas, a decimal point only where
 * the cell holds an amount (decimal), a sign only where it holds a change.
 * Returns v->kind; DI_BAD for anything else (a unit, text, "一").
 */
int
di_parse_value(const char *s, int decimal, int negative, di_value_t *v)
{
    size_t     i, n, k, digits, group;
    unsigned   cp;
    int        dashes, other, minus, point, comma, lead;
    di_buf_t   t = { NULL, 0, 0, 0 };
    di_buf_t   num = { NULL, 0, 0, 0 };

    v->number = NULL;

    n = strlen(s);
    dashes = other = 0;

    for (i = 0; i < n; i += k) {
        k = di_utf8_next(s + i, n - i, &cp);
        cp = di_fold(cp);
        if (di_is_space(cp) || cp < 0x20) {
            continue;
        }
        if (cp == 0x2014 || cp == 0x2013 || cp == 0x2015 || cp == 0x2500
            || cp == 0x2012 || cp == 0x2212)
        {
            cp = '-';
        }
        if (cp == 0x3002) {
            cp = '.';
        }
        di_buf_addcp(&t, cp);
        if (cp == '-') {
            dashes++;
        } else {
            other++;
        }
    }

    if (t.failed) {
        free(t.data);
        v->kind = DI_BAD;
        return DI_BAD;
    }

    if (t.len == 0) {
        v->kind = DI_BLANK;
        return DI_BLANK;
    }

    if (other == 0 || strcmp(t.data, "/") == 0) {
        free(t.data);
        (void) dashes;
        v->kind = DI_SLASH;
        return DI_SLASH;
    }

    /* a number */
    minus = point = comma = 0;
    digits = group = 0;
    lead = 1;
    i = 0;

    if (t.data[0] == '+' || t.data[0] == '-') {
        minus = t.data[0] == '-';
        i = 1;
    }

    if (minus) {
        di_buf_addc(&num, '-');
    }

    for ( /* void */ ; i < t.len; i++) {
        char c = t.data[i];

        if (c >= '0' && c <= '9') {
            if (point == 0 && lead && c == '0' && i + 1 < t.len
                && t.data[i + 1] >= '0' && t.data[i + 1] <= '9')
            {
                continue;           /* "05": a leading zero */
            }
            lead = 0;
            di_buf_addc(&num, c);
            digits++;
            group++;
            continue;
        }

        if (c == ',' && !point && digits > 0
            && (comma ? group == 3 : group <= 3))
        {
            comma = 1;
            group = 0;
            continue;
        }

        if (c == '.' && !point && digits > 0 && (!comma || group == 3)) {
            point = 1;
            di_buf_addc(&num, '.');
            continue;
        }

        goto bad;
    }

    if (digits == 0 || (comma && !point && group != 3)
        || t.data[t.len - 1] == '.' || t.data[t.len - 1] == ',')
    {
        goto bad;
    }

    if ((point && !decimal) || (minus && !negative)) {
        goto bad;
    }

    free(t.data);
    v->number = di_buf_take(&num);
    if (v->number == NULL) {
        v->kind = DI_BAD;
        return DI_BAD;
    }
    v->kind = DI_NUMBER;
    return DI_NUMBER;

bad:

    free(t.data);
    free(num.data);
    v->kind = DI_BAD;
    return DI_BAD;
}


/* the first "2019年" / "2019 年度" of s (2008-2100): the text after it,
 * *start where it begins */
const char *
di_find_year(const char *s, int *year, const char **start)
{
    const char  *p, *q;
    int          y;

    for (p = s; *p; p++) {
        if (!(p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9'
              && p[2] >= '0' && p[2] <= '9' && p[3] >= '0' && p[3] <= '9'))
        {
            continue;
        }
        if (p > s && p[-1] >= '0' && p[-1] <= '9') {
            continue;
        }
        if (p[4] >= '0' && p[4] <= '9') {
            continue;
        }

        y = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10
            + (p[3] - '0');
        q = p + 4;
        while (*q == ' ') {
            q++;
        }
        if (strncmp(q, "\xe5\xb9\xb4", 3) != 0 || y < 2008 || y > 2100) {
            continue;                                         /* 年 */
        }
        q += 3;
        if (strncmp(q, "\xe5\xba\xa6", 3) == 0) {             /* 度 */
            q += 3;
        }
        *year = y;
        *start = p;
        return q;
    }

    return NULL;
}
