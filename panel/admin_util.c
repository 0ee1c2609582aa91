/* admin_util.c - input checks shared by the operator routes. */
#include "panel/admin_util.h"
#include "config.h"
#include "core/alloc.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"
#include "panel/api.h"

#include <stdio.h>
#include <string.h>

int sw_adm_check_ints(const json_t *b, const struct sw_adm_int_rule *rules, struct sw_err *err)
{
    for (const struct sw_adm_int_rule *r = rules; r->field; r++) {
        json_t *v = json_object_get(b, r->field);
        if (!v || json_is_null(v))
            continue;
        int64_t x = (int64_t)json_integer_value(v);
        if (x < r->min || x > r->max) {
            SW_ERR(err, SW_EINVALID, "%s must be from %lld to %lld", r->field, (long long)r->min,
                   (long long)r->max);
            return -1;
        }
    }
    return 0;
}

int sw_adm_check_uuid_field(const json_t *b, const char *field, struct sw_err *err)
{
    const char *s = sw_json_str(b, field);
    if (s && !sw_uuid_valid(s)) {
        SW_ERR(err, SW_EINVALID, "%s must be a UUID", field);
        return -1;
    }
    return 0;
}

/* "a, b or c" into buf. */
static const char *join_or(const char *const *values, char *buf, size_t n)
{
    size_t count = 0, used = 0;
    while (values[count])
        count++;
    buf[0] = '\0';
    for (size_t i = 0; i < count && used < n; i++) {
        const char *sep = i == 0 ? "" : i + 1 == count ? " or " : ", ";
        int w = snprintf(buf + used, n - used, "%s%s", sep, values[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

static bool in_list(const char *s, const char *const *values)
{
    for (; *values; values++)
        if (strcmp(s, *values) == 0)
            return true;
    return false;
}

int sw_adm_check_enum(const json_t *b, const char *field, const char *const *values,
                      struct sw_err *err)
{
    const char *s = sw_json_str(b, field);
    if (s && !in_list(s, values)) {
        char list[160];
        SW_ERR(err, SW_EINVALID, "%s must be %s", field, join_or(values, list, sizeof list));
        return -1;
    }
    return 0;
}

int sw_adm_check_kind(const char *s, const char *field, struct sw_err *err)
{
    if (!s || sw_plan_kind_parse(s) < 0) {
        SW_ERR(err, SW_EINVALID, "%s must be container, pv or hvm", field);
        return -1;
    }
    return 0;
}

const char *sw_adm_i64(char buf[24], int64_t v)
{
    snprintf(buf, 24, "%lld", (long long)v);
    return buf;
}

int sw_adm_parse_kinds(const json_t *arr, const char *field, bool allow_empty, char out[64],
                       unsigned *mask, struct sw_err *err)
{
    size_t n = json_array_size(arr);
    *mask = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = json_string_value(json_array_get(arr, i));
        int kind = k ? sw_plan_kind_parse(k) : -1;
        if (kind < 0 || (*mask & (1u << kind))) {
            SW_ERR(err, SW_EINVALID, "%s must list distinct values of container, pv, hvm", field);
            return -1;
        }
        *mask |= 1u << kind;
    }
    if (n == 0 && !allow_empty) {
        SW_ERR(err, SW_EINVALID, "%s must not be empty", field);
        return -1;
    }
    /* In one order, so that the same set is the same array. */
    strcpy(out, "{");
    for (int k = 0; k < SW_KIND__COUNT; k++) {
        if (*mask & (1u << k)) {
            strcat(out, out[1] ? "," : "");
            strcat(out, sw_plan_kind_name(k));
        }
    }
    strcat(out, "}");
    return 0;
}

static const char *jtype_word(enum sw_jtype t)
{
    switch (t) {
    case SW_JT_INT:
        return "an integer";
    case SW_JT_NUMBER:
        return "a number";
    case SW_JT_STRING:
        return "a string";
    case SW_JT_ARRAY:
        return "an array";
    case SW_JT_OBJECT:
        return "an object";
    case SW_JT_BOOL:
        return "a boolean";
    default:
        return "a value";
    }
}

json_t *sw_adm_body_nullable(struct sw_req *req, const struct sw_jfield *fields,
                             const char *const *nullable, struct sw_err *err)
{
    json_t *o = sw_json_parse_object(req->body, req->body_len, err);
    if (!o)
        return NULL;
    /* Check the others on a copy without the null-valued nullable fields;
     * a non-null value is checked with its ordinary type. */
    json_t *rest = json_copy(o);
    for (const char *const *n = nullable; *n; n++) {
        json_t *v = json_object_get(o, *n);
        if (v && json_is_null(v))
            json_object_del(rest, *n);
    }
    int rc = sw_json_check(rest, fields, err);
    json_decref(rest);
    if (rc < 0) {
        /* Name null as allowed where it is. */
        for (const char *const *n = nullable; *n; n++) {
            char pat[96];
            snprintf(pat, sizeof pat, "field \"%s\" must be ", *n);
            if (strncmp(err->msg, pat, strlen(pat)) == 0) {
                for (const struct sw_jfield *f = fields; f->name; f++)
                    if (strcmp(f->name, *n) == 0)
                        SW_ERR(err, SW_EINVALID, "field \"%s\" must be %s or null", *n,
                               jtype_word(f->type));
                break;
            }
        }
        json_decref(o);
        return NULL;
    }
    return o;
}

int sw_adm_query_uuid(const struct sw_req *req, const char *key, const char **out,
                      struct sw_err *err)
{
    *out = req->query(req, key);
    if (*out && !sw_uuid_valid(*out)) {
        SW_ERR(err, SW_EINVALID, "%s must be a UUID", key);
        return -1;
    }
    return 0;
}

int sw_adm_query_enum(const struct sw_req *req, const char *key, const char *const *values,
                      const char **out, struct sw_err *err)
{
    *out = req->query(req, key);
    if (*out && !in_list(*out, values)) {
        char list[160];
        SW_ERR(err, SW_EINVALID, "%s must be %s", key, join_or(values, list, sizeof list));
        return -1;
    }
    return 0;
}

json_t *sw_adm_patch_body(struct sw_req *req, const char *what, const struct sw_jfield *fields,
                          const char **id, struct sw_err *err)
{
    *id = sw_api_param_uuid(req, 0, what, err);
    if (!*id)
        return NULL;
    json_t *b = sw_api_body(req, fields, err);
    if (b && json_object_size(b) == 0) {
        json_decref(b);
        SW_ERR(err, SW_EINVALID, "the body names no field to change");
        return NULL;
    }
    return b;
}

int sw_adm_patch_run(struct sw_req *req, struct sw_resp *resp, struct sw_err *err,
                     const char *what, const struct sw_jfield *fields,
                     int (*check)(const json_t *body, struct sw_err *err),
                     int (*tx)(struct sw_db *db, void *ctx, struct sw_err *err))
{
    struct sw_adm_patch p = {NULL, NULL, NULL};
    json_t *b = sw_adm_patch_body(req, what, fields, &p.id, err);
    if (!b)
        return -1;
    p.body = b;
    int rc = -1;
    if (check(b, err) == 0 && sw_db_tx(req->db, tx, &p, err) == 0)
        rc = sw_api_reply(resp, 200, SW_STEAL(&p.answer));
    json_decref(p.answer);
    json_decref(b);
    return rc;
}
