
/*
 * Copyright (C) ngx_disclosure_module authors
 */


/*
 * The documents of the read-only web API, as the handler takes them: the
 * text is parsed with ngx_http_disclosure_doc_parse() into the pool, which
 * must agree with yajl_tree_parse() (the same tree, numbers' values and
 * flags included; ours refuses comments and nesting past 64, yajl_tree
 * takes them), then every renderer runs on the tree: the report page (with and without the portal template, with and
 * without links), each table as a fragment (and one that does not exist),
 * the index and agency pages, CSV and JSON.  What they write is checked:
 *
 *   HTML  only the elements and attributes the renderers write, every
 *         attribute value quoted and free of < > ", every link to the
 *         location or to an http(s) address: text from the document never
 *         becomes markup, an attribute or a javascript: link;
 *   JSON  parses again into the same tree (number texts included), and
 *         "</" never appears (no "</script>" inside a page);
 *   CSV   the BOM and header, five fields per record, keys [a-z0-9_], and
 *         no value a spreadsheet takes for a formula (= + - @ tab CR at the
 *         start) unless it is a JSON number;
 *   all   a result is NGX_OK, NGX_DECLINED (fragment) or NGX_ERROR, an OK
 *         body ends with last_buf and last_in_chain.
 */


#include "fuzz.h"
#include "ngx_http_disclosure_doc.h"
#include "ngx_http_disclosure_html.h"
#include "ngx_http_disclosure_csv.h"
#include "ngx_http_disclosure_json.h"


#define FUZZ_HEAD                                                             \
    "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"    \
    "<title>门户</title></head>\n<body><header class=\"portal\">门户"         \
    "</header><main>\n"
#define FUZZ_TAIL                                                             \
    "</main><footer class=\"portal\">页脚</footer></body></html>\n"


typedef ngx_int_t (*fuzz_page_pt)(ngx_http_request_t *r, yajl_val doc,
    ngx_str_t *prefix, ngx_http_disclosure_loc_conf_t *dlcf,
    ngx_chain_t **out);


static void fuzz_page(ngx_pool_t *pool, yajl_val doc, fuzz_page_pt page,
    ngx_str_t *prefix, ngx_http_disclosure_loc_conf_t *dlcf);
static void fuzz_fragment(ngx_pool_t *pool, yajl_val doc, const char *table);
static void fuzz_csv(ngx_pool_t *pool, yajl_val doc);
static void fuzz_json(ngx_pool_t *pool, yajl_val doc);
static ngx_int_t fuzz_body(ngx_pool_t *pool, ngx_int_t rc, ngx_chain_t *out,
    ngx_str_t *text);
static void fuzz_html(ngx_str_t *html);
static ngx_uint_t fuzz_listed(const char **list, u_char *name, size_t len);
static ngx_uint_t fuzz_number(u_char *p, size_t len);
static ngx_uint_t fuzz_same(yajl_val a, yajl_val b);
static ngx_uint_t fuzz_same_numbers(yajl_val a, yajl_val b);
static ngx_uint_t fuzz_lenient(const char *text);


static const char  *fuzz_elements[] = {
    "a", "article", "body", "caption", "div", "footer", "h1", "h2", "head",
    "header", "html", "li", "main", "meta", "nav", "ol", "p", "section",
    "span", "style", "table", "tbody", "td", "th", "thead", "time", "title",
    "tr", "ul", NULL
};

static const char  *fuzz_attributes[] = {
    "aria-label", "charset", "class", "colspan", "content", "datetime",
    "headers", "href", "id", "lang", "name", "role", "rowspan", "scope",
    "tabindex", NULL
};

static ngx_str_t                        fuzz_prefix = ngx_string("/r/");
static ngx_str_t                        fuzz_bare = ngx_string("/r");
static ngx_http_disclosure_loc_conf_t   fuzz_portal;


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ngx_http_disclosure_fuzz_init();

    ngx_str_set(&fuzz_portal.template_file, "/portal/template.html");
    ngx_str_set(&fuzz_portal.template_head, FUZZ_HEAD);
    ngx_str_set(&fuzz_portal.template_tail, FUZZ_TAIL);

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char         err[128], *text;
    yajl_val     doc, tree;
    ngx_str_t    error;
    ngx_pool_t  *pool;

    pool = ngx_create_pool(1024, &ngx_http_disclosure_fuzz_log);
    if (pool == NULL) {
        abort();
    }

    /* the handler parses the NUL-terminated text of a PostgreSQL value */
    text = ngx_http_disclosure_fuzz_cstr(pool, data, size);

    doc = ngx_http_disclosure_doc_parse(pool, &ngx_http_disclosure_fuzz_log,
                                        (u_char *) text, ngx_strlen(text),
                                        &error);
    tree = yajl_tree_parse(text, err, sizeof(err));

    if (doc == NULL) {
        ngx_http_disclosure_fuzz_check(error.len > 0,
                                       "a refusal without a reason");
        ngx_http_disclosure_fuzz_check(tree == NULL || fuzz_lenient(text),
                                       "JSON that yajl_tree takes refused");
        if (tree) {
            yajl_tree_free(tree);
        }

        ngx_destroy_pool(pool);
        return 0;
    }

    ngx_http_disclosure_fuzz_check(tree != NULL,
                                   "text that yajl_tree refuses taken");
    ngx_http_disclosure_fuzz_check(fuzz_same_numbers(doc, tree),
                                   "parsed into another tree than yajl_tree");
    yajl_tree_free(tree);

    fuzz_page(pool, doc, ngx_http_disclosure_html_report, &fuzz_prefix, NULL);
    fuzz_page(pool, doc, ngx_http_disclosure_html_report, &fuzz_bare,
              &fuzz_portal);
    fuzz_page(pool, doc, ngx_http_disclosure_html_report, NULL, NULL);
    fuzz_page(pool, doc, ngx_http_disclosure_html_index, &fuzz_prefix,
              &fuzz_portal);
    fuzz_page(pool, doc, ngx_http_disclosure_html_agency, &fuzz_prefix, NULL);

    fuzz_fragment(pool, doc, "proactive");
    fuzz_fragment(pool, doc, "applications");
    fuzz_fragment(pool, doc, "appeals");
    fuzz_fragment(pool, doc, "summary");

    fuzz_csv(pool, doc);
    fuzz_json(pool, doc);

    ngx_destroy_pool(pool);

    return 0;
}


static void
fuzz_page(ngx_pool_t *pool, yajl_val doc, fuzz_page_pt page,
    ngx_str_t *prefix, ngx_http_disclosure_loc_conf_t *dlcf)
{
    ngx_int_t            rc;
    ngx_str_t            html;
    ngx_chain_t         *out;
    ngx_http_request_t  *r;

    r = ngx_http_disclosure_fuzz_request(pool);
    out = NULL;

    rc = page(r, doc, prefix, dlcf, &out);

    ngx_http_disclosure_fuzz_check(rc == NGX_OK || rc == NGX_ERROR,
                                   "page: rc %d", (int) rc);

    if (fuzz_body(pool, rc, out, &html) == NGX_OK) {
        fuzz_html(&html);
    }
}


static void
fuzz_fragment(ngx_pool_t *pool, yajl_val doc, const char *table)
{
    ngx_int_t            rc;
    ngx_str_t            name, html;
    ngx_chain_t         *out, *cl;
    ngx_http_request_t  *r, *sr;

    r = ngx_http_disclosure_fuzz_request(pool);

    /* a fragment is what SSI asks for: a subrequest */
    sr = ngx_http_disclosure_fuzz_request(pool);
    sr->main = r;

    name.data = (u_char *) table;
    name.len = ngx_strlen(table);
    out = NULL;

    rc = ngx_http_disclosure_html_fragment(sr, doc, &name, &out);

    ngx_http_disclosure_fuzz_check(rc == NGX_OK || rc == NGX_ERROR
                                   || rc == NGX_DECLINED,
                                   "fragment: rc %d", (int) rc);

    ngx_http_disclosure_fuzz_check(rc != NGX_OK
                                   || ngx_strcmp(table, "summary") != 0,
                                   "a fragment of \"%s\"", table);

    if (rc != NGX_OK) {
        return;
    }

    for (cl = out; cl->next; cl = cl->next) { /* void */ }

    ngx_http_disclosure_fuzz_check(cl->buf->last_in_chain
                                   && !cl->buf->last_buf,
                                   "a subrequest's body ends the response");

    if (ngx_http_disclosure_fuzz_join(pool, out, &html) == NGX_OK) {
        fuzz_html(&html);
    }
}


static ngx_int_t
fuzz_body(ngx_pool_t *pool, ngx_int_t rc, ngx_chain_t *out, ngx_str_t *text)
{
    ngx_chain_t  *cl;

    if (rc != NGX_OK) {
        return NGX_DECLINED;
    }

    ngx_http_disclosure_fuzz_check(out != NULL, "NGX_OK without a body");

    for (cl = out; cl->next; cl = cl->next) { /* void */ }

    ngx_http_disclosure_fuzz_check(cl->buf->last_buf && cl->buf->last_in_chain,
                                   "the body does not end the response");

    return ngx_http_disclosure_fuzz_join(pool, out, text);
}


/*
 * A small scanner for what the renderers write: "<" starts an element we
 * know, its attributes are ours and quoted, and text never holds ">".
 * The stylesheet (<style>) is skipped: it is a constant.
 */

static void
fuzz_html(ngx_str_t *html)
{
    u_char      *p, *end, *name, *value, *q;
    ngx_uint_t   style;

    p = html->data;
    end = p + html->len;

    while (p < end) {

        if (*p == '>') {
            ngx_http_disclosure_fuzz_check(0, "a bare \">\" in the text: %.60s",
                                           (char *) p);
        }

        if (*p != '<') {
            p++;
            continue;
        }

        p++;

        if (end - p >= 9 && ngx_strncmp(p, "!DOCTYPE ", 9) == 0) {
            q = ngx_strlchr(p, end, '>');
            ngx_http_disclosure_fuzz_check(q != NULL, "an open doctype");
            p = q + 1;
            continue;
        }

        style = 1;

        if (p < end && *p == '/') {
            style = 0;
            p++;
        }

        name = p;

        while (p < end
               && ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
        {
            p++;
        }

        ngx_http_disclosure_fuzz_check(
            fuzz_listed(fuzz_elements, name, p - name),
            "an element that the renderers do not write: <%.30s",
            (char *) name);

        style = style && p - name == 5 && ngx_strncmp(name, "style", 5) == 0;

        for ( ;; ) {
            while (p < end && *p == ' ') {
                p++;
            }

            ngx_http_disclosure_fuzz_check(p < end, "an open tag at the end");

            if (*p == '>') {
                p++;
                break;
            }

            name = p;

            while (p < end && ((*p >= 'a' && *p <= 'z') || *p == '-')) {
                p++;
            }

            ngx_http_disclosure_fuzz_check(
                fuzz_listed(fuzz_attributes, name, p - name),
                "an attribute that the renderers do not write: %.30s",
                (char *) name);

            ngx_http_disclosure_fuzz_check(p + 1 < end && p[0] == '='
                                           && p[1] == '"',
                                           "an unquoted attribute: %.30s",
                                           (char *) name);

            value = p + 2;
            q = ngx_strlchr(value, end, '"');

            ngx_http_disclosure_fuzz_check(q != NULL, "an open attribute");

            ngx_http_disclosure_fuzz_check(
                ngx_strlchr(value, q, '<') == NULL
                && ngx_strlchr(value, q, '>') == NULL,
                "< or > in an attribute: %.60s", (char *) value);

            if (p - name == 4 && ngx_strncmp(name, "href", 4) == 0) {
                ngx_http_disclosure_fuzz_check(
                    ngx_strncmp(value, "/r/", 3) == 0
                    || ngx_strncasecmp(value, (u_char *) "http://", 7) == 0
                    || ngx_strncasecmp(value, (u_char *) "https://", 8) == 0,
                    "a link elsewhere: %.60s", (char *) value);
            }

            p = q + 1;
        }

        /* the stylesheet is ours and constant */

        if (style) {
            q = ngx_strnstr(p, "</style>", end - p);
            ngx_http_disclosure_fuzz_check(q != NULL, "an open <style>");
            p = q;
        }
    }
}


static ngx_uint_t
fuzz_listed(const char **list, u_char *name, size_t len)
{
    for ( /* void */ ; *list; list++) {
        if (ngx_strlen(*list) == len && ngx_strncmp(*list, name, len) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
fuzz_csv(ngx_pool_t *pool, yajl_val doc)
{
    u_char              *p, *end, *field;
    ngx_int_t            rc;
    ngx_str_t            csv;
    ngx_uint_t           n, quoted;
    ngx_chain_t         *out;
    ngx_http_request_t  *r;

    r = ngx_http_disclosure_fuzz_request(pool);
    out = NULL;

    rc = ngx_http_disclosure_csv(r, doc, &out);

    ngx_http_disclosure_fuzz_check(rc == NGX_OK || rc == NGX_ERROR,
                                   "csv: rc %d", (int) rc);

    if (fuzz_body(pool, rc, out, &csv) != NGX_OK) {
        return;
    }

    ngx_http_disclosure_fuzz_check(
        csv.len >= 32
        && ngx_strncmp(csv.data,
                       "\xef\xbb\xbftable,row,col,value,derived\r\n", 32)
           == 0,
        "no BOM and header");

    p = csv.data + 32;
    end = csv.data + csv.len;

    /* RFC 4180 records, CRLF-terminated */

    while (p < end) {

        for (n = 0; ; n++) {
            quoted = (*p == '"');
            field = quoted ? p + 1 : p;

            if (quoted) {
                for (p++; ; p++) {
                    ngx_http_disclosure_fuzz_check(p < end, "an open quote");

                    if (*p == '"') {
                        if (p + 1 < end && p[1] == '"') {
                            p++;
                            continue;
                        }

                        break;
                    }
                }

            } else {
                while (p < end && *p != ',' && *p != '\r' && *p != '"') {
                    ngx_http_disclosure_fuzz_check(*p != '\n',
                                                   "a bare LF in a field");
                    p++;
                }

                ngx_http_disclosure_fuzz_check(p == end || *p != '"',
                                               "a quote inside a field");
            }

            if (n < 3) {
                ngx_http_disclosure_fuzz_check(!quoted && p > field,
                                               "an empty or quoted key");

                for (; field < p; field++) {
                    ngx_http_disclosure_fuzz_check(
                        (*field >= 'a' && *field <= 'z')
                        || (*field >= '0' && *field <= '9') || *field == '_',
                        "a key with \"%c\"", *field);
                }

            } else if (p > field && ngx_strchr("=+-@\t\r", *field) != NULL) {
                ngx_http_disclosure_fuzz_check(
                    !quoted && fuzz_number(field, p - field),
                    "a formula: %.40s", (char *) field);
            }

            if (quoted) {
                p++;
            }

            ngx_http_disclosure_fuzz_check(p < end, "a record without CRLF");

            if (*p == ',') {
                p++;
                continue;
            }

            ngx_http_disclosure_fuzz_check(end - p >= 2 && p[0] == '\r'
                                           && p[1] == '\n',
                                           "a record without CRLF");
            p += 2;
            break;
        }

        ngx_http_disclosure_fuzz_check(n == 4, "%d fields in a record",
                                       (int) n + 1);
    }
}


/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */

static ngx_uint_t
fuzz_number(u_char *p, size_t len)
{
    u_char  *end;

    end = p + len;

    if (p < end && *p == '-') {
        p++;
    }

    if (p < end && *p == '0') {
        p++;

    } else if (p < end && *p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') { p++; }

    } else {
        return 0;
    }

    if (p < end && *p == '.') {
        p++;
        if (p == end || *p < '0' || *p > '9') {
            return 0;
        }
        while (p < end && *p >= '0' && *p <= '9') { p++; }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (p == end || *p < '0' || *p > '9') {
            return 0;
        }
        while (p < end && *p >= '0' && *p <= '9') { p++; }
    }

    return p == end;
}


static void
fuzz_json(ngx_pool_t *pool, yajl_val doc)
{
    char                 err[128];
    yajl_val             again;
    ngx_int_t            rc;
    ngx_str_t            json;
    ngx_chain_t         *out;
    ngx_http_request_t  *r;

    r = ngx_http_disclosure_fuzz_request(pool);
    out = NULL;

    rc = ngx_http_disclosure_json(r, doc, &out);

    ngx_http_disclosure_fuzz_check(rc == NGX_OK || rc == NGX_ERROR,
                                   "json: rc %d", (int) rc);

    if (fuzz_body(pool, rc, out, &json) != NGX_OK) {
        return;
    }

    ngx_http_disclosure_fuzz_check(ngx_strnstr(json.data, "</", json.len)
                                   == NULL, "\"</\" in JSON");

    again = yajl_tree_parse((char *) json.data, err, sizeof(err));

    ngx_http_disclosure_fuzz_check(again != NULL, "the JSON written does not "
                                   "parse: %s", err);

    ngx_http_disclosure_fuzz_check(fuzz_same(doc, again),
                                   "the JSON written is another document");

    yajl_tree_free(again);
}


static ngx_uint_t
fuzz_same(yajl_val a, yajl_val b)
{
    size_t  i;

    if (a->type != b->type) {
        return 0;
    }

    switch (a->type) {

    case yajl_t_string:
        return ngx_strcmp(a->u.string, b->u.string) == 0;

    case yajl_t_number:
        return ngx_strcmp(a->u.number.r, b->u.number.r) == 0;

    case yajl_t_object:
        if (a->u.object.len != b->u.object.len) {
            return 0;
        }

        for (i = 0; i < a->u.object.len; i++) {
            if (ngx_strcmp(a->u.object.keys[i], b->u.object.keys[i]) != 0
                || !fuzz_same(a->u.object.values[i], b->u.object.values[i]))
            {
                return 0;
            }
        }

        return 1;

    case yajl_t_array:
        if (a->u.array.len != b->u.array.len) {
            return 0;
        }

        for (i = 0; i < a->u.array.len; i++) {
            if (!fuzz_same(a->u.array.values[i], b->u.array.values[i])) {
                return 0;
            }
        }

        return 1;

    default:
        return 1;
    }
}


/* fuzz_same(), and numbers' values and flags the same too */

static ngx_uint_t
fuzz_same_numbers(yajl_val a, yajl_val b)
{
    size_t  i;

    if (!fuzz_same(a, b)) {
        return 0;
    }

    switch (a->type) {

    case yajl_t_number:
        return a->u.number.flags == b->u.number.flags
               && (!YAJL_IS_INTEGER(a) || a->u.number.i == b->u.number.i)
               && (!YAJL_IS_DOUBLE(a) || a->u.number.d == b->u.number.d);

    case yajl_t_object:
        for (i = 0; i < a->u.object.len; i++) {
            if (!fuzz_same_numbers(a->u.object.values[i],
                                   b->u.object.values[i]))
            {
                return 0;
            }
        }

        return 1;

    case yajl_t_array:
        for (i = 0; i < a->u.array.len; i++) {
            if (!fuzz_same_numbers(a->u.array.values[i],
                                   b->u.array.values[i]))
            {
                return 0;
            }
        }

        return 1;

    default:
        return 1;
    }
}


/* what yajl_tree_parse() takes and ours need not: comments (a "/" outside
 * strings) and nesting deeper than 64 */

static ngx_uint_t
fuzz_lenient(const char *text)
{
    ngx_uint_t  depth, string;

    depth = 0;
    string = 0;

    for ( /* void */ ; *text; text++) {

        if (string) {
            if (*text == '\\' && text[1]) {
                text++;

            } else if (*text == '"') {
                string = 0;
            }

            continue;
        }

        switch (*text) {
        case '"':
            string = 1;
            break;
        case '/':
            return 1;
        case '[':
        case '{':
            if (++depth > 64) {
                return 1;
            }
            break;
        case ']':
        case '}':
            if (depth) {
                depth--;
            }
            break;
        }
    }

    return 0;
}
