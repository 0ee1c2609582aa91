#include "config.h"
#include "engines/domxml.h"
#include "core/alloc.h"
#include "core/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growable string; every append either fits or aborts (sw_realloc). */
struct buf {
    char *s;
    size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->s = sw_realloc(b->s, cap);
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static char *buf_steal(struct buf *b)
{
    if (!b->s)
        return sw_strdup("");
    return SW_STEAL(&b->s);
}

void sw_domxml_vars_init(struct sw_domxml_vars *vars)
{
    memset(vars, 0, sizeof *vars);
}

void sw_domxml_vars_release(struct sw_domxml_vars *vars)
{
    for (size_t i = 0; i < vars->n; i++)
        free(vars->v[i].value);
    vars->n = 0;
}

/* Stores value (owned) under name, replacing an older one. */
static void put(struct sw_domxml_vars *vars, const char *name, char *value, bool list)
{
    for (size_t i = 0; i < vars->n; i++) {
        if (strcmp(vars->v[i].name, name) == 0) {
            free(vars->v[i].value);
            vars->v[i].value = value;
            vars->v[i].list = list;
            return;
        }
    }
    if (vars->n == SW_DOMXML_MAX_VARS)
        abort(); /* a template with this many variables is a bug */
    vars->v[vars->n].name = name;
    vars->v[vars->n].value = value;
    vars->v[vars->n].list = list;
    vars->n++;
}

void sw_domxml_set(struct sw_domxml_vars *vars, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *value = sw_vasprintf(fmt, ap);
    va_end(ap);
    put(vars, name, value, false);
}

void sw_domxml_set_list(struct sw_domxml_vars *vars, const char *name, const char *const *items,
                        size_t n)
{
    struct buf b = {0};
    for (size_t i = 0; i < n; i++)
        buf_add(&b, items[i], strlen(items[i]) + 1); /* keeps each item's '\0' */
    buf_add(&b, "", 1);
    put(vars, name, SW_STEAL(&b.s), true);
}

const char *sw_domxml_get(const struct sw_domxml_vars *vars, const char *name)
{
    for (size_t i = 0; i < vars->n; i++)
        if (strcmp(vars->v[i].name, name) == 0)
            return vars->v[i].value;
    return NULL;
}

static const char *const xml_entities[256] = {
    ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;", ['\''] = "&apos;",
};

char *sw_domxml_escape(const char *s)
{
    struct buf b = {0};
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const char *ent = xml_entities[*p];
        if (ent) {
            buf_add(&b, ent, strlen(ent));
        } else if (*p < 0x20 || *p == 0x7f) {
            buf_add(&b, "?", 1);
        } else if (p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf)) {
            buf_add(&b, "?", 1); /* U+FFFE, U+FFFF: valid UTF-8, but not XML 1.0 characters */
            p += 2;
        } else
            buf_add(&b, (const char *)p, 1);
    }
    return buf_steal(&b);
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* The placeholder name starting at name (after "{{"): its length, or 0
 * when it is empty, too long or not closed by "}}". */
static size_t placeholder_len(const char *name)
{
    size_t n = 0;
    while (is_name_char(name[n]))
        n++;
    return (n == 0 || n >= 64 || strncmp(name + n, "}}", 2) != 0) ? 0 : n;
}

static const struct sw_domxml_var *find_var(const struct sw_domxml_vars *vars, const char *name,
                                            size_t n)
{
    for (size_t i = 0; i < vars->n; i++)
        if (strlen(vars->v[i].name) == n && strncmp(vars->v[i].name, name, n) == 0)
            return &vars->v[i];
    return NULL;
}

static int malformed(struct sw_err *err, const char *why, const char *what)
{
    SW_ERR(err, SW_EINTERNAL, "domain template is malformed");
    sw_err_detail(err, "%s \"%s\"", why, what);
    return -1;
}

/* The one list variable line uses, or NULL: *list set, 0; -1 on a bad
 * placeholder, an unknown name or a second list in the line. */
static int line_list(const char *line, const struct sw_domxml_vars *vars,
                     const struct sw_domxml_var **list, struct sw_err *err)
{
    *list = NULL;
    for (const char *open = strstr(line, "{{"); open; open = strstr(open + 2, "{{")) {
        size_t n = placeholder_len(open + 2);
        if (n == 0)
            return malformed(err, "unterminated or empty placeholder in line", line);
        const struct sw_domxml_var *v = find_var(vars, open + 2, n);
        if (!v)
            return malformed(err, "unknown placeholder in line", line);
        if (v->list && *list && *list != v)
            return malformed(err, "two lists in line", line);
        if (v->list)
            *list = v;
    }
    return 0;
}

/* Appends line with every placeholder replaced by its escaped value; the
 * list variable, if any, by item. Placeholders were checked by line_list. */
static void render_line(struct buf *b, const char *line, const struct sw_domxml_vars *vars,
                        const char *item)
{
    const char *p = line;
    for (const char *open; (open = strstr(p, "{{")) != NULL;) {
        buf_add(b, p, (size_t)(open - p));
        size_t n = placeholder_len(open + 2);
        const struct sw_domxml_var *v = find_var(vars, open + 2, n);
        /* item is NULL only for a line without a list (render_lines) */
        const char *value = v->list ? item : v->value;
        SW_AUTOFREE char *esc = sw_domxml_escape(value ? value : "");
        buf_add(b, esc, strlen(esc));
        p = open + 2 + n + 2;
    }
    buf_add(b, p, strlen(p));
}

/* A line with a list placeholder is written once per item (none: dropped). */
static int render_lines(struct buf *b, const char *line, const struct sw_domxml_vars *vars,
                        struct sw_err *err)
{
    const struct sw_domxml_var *list;
    if (line_list(line, vars, &list, err) < 0)
        return -1;
    if (!list) {
        render_line(b, line, vars, NULL);
        return 0;
    }
    for (const char *item = list->value; *item; item += strlen(item) + 1)
        render_line(b, line, vars, item);
    return 0;
}

char *sw_domxml_render(const char *tmpl, const struct sw_domxml_vars *vars, struct sw_err *err)
{
    struct buf b = {0};
    for (const char *p = tmpl; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
        SW_AUTOFREE char *line = sw_strndup(p, len);
        if (render_lines(&b, line, vars, err) < 0) {
            free(b.s);
            return NULL;
        }
        p += len;
    }
    return buf_steal(&b);
}

char *sw_domxml_read(const char *path, struct sw_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        SW_ERR(err, errno == ENOENT ? SW_ENOTFOUND : SW_EINTERNAL, "could not read a template");
        sw_err_detail(err, "\"%s\": %s", path, strerror(errno));
        return NULL;
    }
    struct buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        buf_add(&b, chunk, n);
        if (b.len > SW_DOMXML_MAX_TEMPLATE)
            break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed || b.len > SW_DOMXML_MAX_TEMPLATE || memchr(b.s ? b.s : "", '\0', b.len)) {
        SW_ERR(err, SW_EINTERNAL, "could not read a template");
        sw_err_detail(err, "\"%s\": %s", path, failed ? "read error" : "too large or not text");
        free(b.s);
        return NULL;
    }
    return buf_steal(&b);
}

char *sw_domxml_load(const char *dir, const char *kind, const char *hv, struct sw_err *err)
{
    SW_AUTOFREE char *path = sw_asprintf("%s/domain/%s-%s.xml", dir, kind, hv);
    char *t = sw_domxml_read(path, err);
    if (!t && err && err->code == SW_ENOTFOUND) {
        SW_ERR(err, SW_EUNSUPPORTED, "%s servers are not supported on %s nodes", kind, hv);
        sw_err_detail(err, "no template \"%s\"", path);
    }
    return t;
}

/* Copies the value of attr='...' (or "...") of the tag starting at tag into out. */
static int tag_attr(const char *tag, const char *attr, char out[64])
{
    const char *end = strchr(tag, '>');
    char pat[32];
    snprintf(pat, sizeof pat, " %s=", attr);
    const char *p = strstr(tag, pat);
    if (!end || !p || p > end)
        return -1;
    p += strlen(pat);
    char quote = *p;
    if (quote != '\'' && quote != '"')
        return -1;
    const char *v = p + 1;
    const char *q = strchr(v, quote);
    if (!q || q > end || q == v || (size_t)(q - v) >= 64)
        return -1;
    memcpy(out, v, (size_t)(q - v));
    out[q - v] = '\0';
    return 0;
}

size_t sw_domxml_targets(const char *xml, const char *element, char out[][64], size_t max)
{
    char open_tag[32], close_tag[32];
    snprintf(open_tag, sizeof open_tag, "<%s", element);
    snprintf(close_tag, sizeof close_tag, "</%s>", element);
    size_t olen = strlen(open_tag);
    size_t n = 0;
    const char *p = xml;
    while (n < max && (p = strstr(p, open_tag)) != NULL) {
        p += olen;
        if (*p != ' ' && *p != '>' && *p != '\n' && *p != '\t')
            continue; /* <interfaces>, <disk_x>: another element */
        const char *end = strstr(p, close_tag);
        if (!end)
            break;
        for (const char *t = strstr(p, "<target "); t && t < end; t = strstr(t + 1, "<target ")) {
            if (tag_attr(t, "dev", out[n]) == 0) {
                n++;
                break;
            }
        }
        p = end;
    }
    return n;
}

int sw_domxml_meta(const char *xml, const char *name, char *out, size_t n)
{
    size_t len = strlen(name);
    for (const char *p = xml ? strstr(xml, name) : NULL; p; p = strstr(p + 1, name)) {
        /* <name> or <prefix:name>, not <max_name> */
        if (p == xml || (p[-1] != '<' && p[-1] != ':') || p[len] != '>')
            continue;
        const char *lt = p;
        while (lt > xml && *lt != '<')
            lt--;
        if (*lt != '<' || lt[1] == '/')
            continue;
        const char *v = p + len + 1, *end = strchr(v, '<');
        if (!end || (size_t)(end - v) >= n)
            return -1;
        memcpy(out, v, (size_t)(end - v));
        out[end - v] = '\0';
        return 0;
    }
    return -1;
}

int sw_domxml_meta_i64(const char *xml, const char *name, int64_t *out)
{
    char v[32], *end;
    if (sw_domxml_meta(xml, name, v, sizeof v) < 0 || !v[0])
        return -1;
    long long x = strtoll(v, &end, 10);
    if (*end || x < 0)
        return -1;
    *out = x;
    return 0;
}
