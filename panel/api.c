#include "config.h"
#include "panel/api.h"
#include "core/alloc.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"
#include "panel/data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sw_api_reply(struct sw_resp *resp, int status, json_t *body)
{
    json_decref(resp->body);
    resp->status = status;
    resp->body = body;
    return 0;
}

json_t *sw_api_json_col(const char *text)
{
    json_error_t je;
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, &je) : json_null();
    if (!v)
        abort(); /* the database rendered it: a bug, not input */
    return v;
}

json_t *sw_api_body(struct sw_req *req, const struct sw_jfield *fields, struct sw_err *err)
{
    json_t *o = sw_json_parse_object(req->body, req->body_len, err);
    if (o && sw_json_check(o, fields, err) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *sw_api_scope(const struct sw_req *req, const char *col)
{
    return sw_api_scope_who(&req->who, col);
}

char *sw_api_scope_who(const struct sw_principal *who, const char *col)
{
    switch (who->kind) {
    case SW_ACCT_OPERATOR:
        return sw_strdup("$1::uuid IS NOT NULL");
    case SW_ACCT_RESELLER:
        return sw_asprintf("(%s = $1::uuid OR %s IN (SELECT sa.id FROM accounts sa"
                           " WHERE sa.reseller_id = $1::uuid))",
                           col, col);
    default:
        return sw_asprintf("%s = $1::uuid", col);
    }
}

static int parse_limit(const struct sw_req *req, long *limit, struct sw_err *err)
{
    const char *l = req->query(req, "limit");
    *limit = 50;
    if (!l)
        return 0;
    char *end;
    long v = strtol(l, &end, 10);
    if (!*l || *end || v < 1 || v > 200) {
        SW_ERR(err, SW_EINVALID, "limit must be an integer from 1 to 200");
        return -1;
    }
    *limit = v;
    return 0;
}

/* A growing text buffer for list answers. */
struct text_buf {
    char *p;
    size_t len, cap;
};

static void tb_reserve(struct text_buf *b, size_t n)
{
    if (b->len + n + 1 <= b->cap)
        return;
    b->cap = (b->len + n + 1) * 2;
    b->p = sw_realloc(b->p, b->cap);
}

static void tb_put(struct text_buf *b, const char *s, size_t n)
{
    tb_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Appends a JSON text rendered by PostgreSQL exactly as jansson's compact
 * dump of it reads: whitespace outside strings dropped, everything else
 * copied. That holds for what PostgreSQL's json output writes: strings with
 * \" \\ \b \f \n \r \t escapes and integers. Anything else jansson would
 * rewrite (\u and other escapes, reals, integers past 18 digits, -0) makes
 * it return false with nothing appended; the caller then round-trips the
 * text through jansson as before. (One case is not caught: a `json` value
 * stored verbatim with a duplicate key keeps both here, where jansson kept
 * the last; the API views build their objects, so none has one.) */
static bool tb_put_compact(struct text_buf *b, const char *s)
{
    size_t start = b->len;
    tb_reserve(b, strlen(s));
    char *o = b->p + b->len;
    const char *p = s;
    while (*p) {
        char c = *p;
        if (c == '"') {
            *o++ = *p++;
            while (*p != '"') {
                if (!*p)
                    goto refuse;
                if (*p == '\\') {
                    if (!p[1] || !strchr("\"\\bfnrt", p[1]))
                        goto refuse;
                    *o++ = *p++;
                }
                *o++ = *p++;
            }
            *o++ = *p++;
        } else if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
            p++;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t n = strspn(p, "-+.eE0123456789");
            size_t digits = strspn(p + (c == '-'), "0123456789");
            if (digits + (c == '-') != n || digits == 0 || digits > 18 ||
                (c == '-' && digits == 1 && p[1] == '0'))
                goto refuse;
            memcpy(o, p, n);
            o += n;
            p += n;
        } else {
            *o++ = *p++;
        }
    }
    b->len = (size_t)(o - b->p);
    b->p[b->len] = '\0';
    return true;
refuse:
    b->len = start;
    b->p[b->len] = '\0';
    return false;
}

int sw_api_list(struct sw_req *req, struct sw_resp *resp, struct sw_err *err,
                const char *json_expr, const char *table, const char *where, int nparams,
                const char *const *params)
{
    long limit;
    if (parse_limit(req, &limit, err) < 0)
        return -1;
    const char *cursor = req->query(req, "cursor");
    if (cursor && !sw_uuid_valid(cursor)) {
        SW_ERR(err, SW_EINVALID, "cursor is malformed");
        return -1;
    }
    const struct sw_data_list l = {json_expr, table, where, NULL};
    PGresult *res = sw_data_list_page(req->db, err, &l, cursor, limit + 1, nparams, params);
    if (!res)
        return -1;
    /* The answer is written as text from the rendered rows, byte for byte
     * what json_dumps(JSON_COMPACT) of the parsed rows gave, without
     * parsing and re-serialising every row. */
    int n = PQntuples(res);
    struct text_buf b = {NULL, 0, 0};
    tb_put(&b, "{\"items\":[", 10);
    for (int i = 0; i < n && i < limit; i++) {
        if (i > 0)
            tb_put(&b, ",", 1);
        const char *row = sw_db_get(res, i, 0);
        if (!row) {
            tb_put(&b, "null", 4);
        } else if (!tb_put_compact(&b, row)) {
            json_t *v = sw_api_json_col(row);
            char *text = sw_json_dump(v);
            json_decref(v);
            tb_put(&b, text, strlen(text));
            free(text);
        }
    }
    tb_put(&b, "],\"next_cursor\":", 16);
    if (n > limit) {
        /* an id column: a UUID, nothing to escape */
        tb_put(&b, "\"", 1);
        const char *next = sw_db_get(res, (int)limit - 1, 1);
        tb_put(&b, next, strlen(next));
        tb_put(&b, "\"}", 2);
    } else {
        tb_put(&b, "null}", 5);
    }
    PQclear(res);
    json_decref(resp->body);
    resp->body = NULL;
    free(resp->text);
    resp->status = 200;
    resp->text = b.p;
    resp->content_type = "application/json";
    return 0;
}

int sw_api_list_data(struct sw_req *req, struct sw_resp *resp, struct sw_err *err,
                     const struct sw_data_list *l, int nparams, const char *const *params)
{
    if (!l->owner_col)
        return sw_api_list(req, resp, err, l->json_expr, l->table, l->where, nparams, params);
    char *where = sw_data_sql_scoped(&req->who, l->where, l->owner_col);
    int rc = sw_api_list(req, resp, err, l->json_expr, l->table, where, nparams, params);
    free(where);
    return rc;
}

int sw_api_one(struct sw_req *req, struct sw_resp *resp, struct sw_err *err, int status,
               const char *what, const char *sql, int nparams, const char *const *params)
{
    json_t *v = sw_data_json_row(req->db, err, what, sql, nparams, params);
    if (!v)
        return -1;
    return sw_api_reply(resp, status, v);
}

const char *sw_api_param_uuid(const struct sw_req *req, int i, const char *what,
                              struct sw_err *err)
{
    const char *v = req->params[i];
    if (!sw_uuid_valid(v)) {
        SW_ERR(err, SW_ENOTFOUND, "%s not found", what);
        return NULL;
    }
    return v;
}

int sw_api_check_len(const json_t *body, const char *field, size_t min, size_t max,
                     struct sw_err *err)
{
    const char *s = sw_json_str(body, field);
    if (!s)
        return 0;
    size_t n = strlen(s);
    if (n < min || n > max) {
        SW_ERR(err, SW_EINVALID, "%s must be %zu to %zu bytes long", field, min, max);
        return -1;
    }
    return 0;
}

bool sw_api_hostname_valid(const char *s)
{
    size_t total = strlen(s);
    if (total == 0 || total > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i <= total; i++) {
        char c = s[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && label > 0))
            return false;
        label++;
    }
    return true;
}

int sw_api_no_body(struct sw_req *req, struct sw_err *err)
{
    static const struct sw_jfield none[] = {{NULL, 0, false}};
    if (!req->body || req->body_len == 0)
        return 0;
    json_t *b = sw_api_body(req, none, err);
    if (!b)
        return -1;
    json_decref(b);
    return 0;
}
