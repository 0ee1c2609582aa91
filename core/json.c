#include "config.h"
#include "core/json.h"
#include "core/alloc.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

/* Measures nesting depth of the raw text without building anything, so a
 * deeply nested body is refused before jansson recurses into it. */
static int text_depth_ok(const char *buf, size_t len)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"')
            in_str = true;
        else if (c == '{' || c == '[') {
            if (++depth > SW_JSON_MAX_DEPTH)
                return 0;
        } else if (c == '}' || c == ']')
            depth--;
    }
    return 1;
}

json_t *sw_json_parse_object(const char *buf, size_t len, struct sw_err *err)
{
    if (!buf || len == 0) {
        SW_ERR(err, SW_EINVALID, "request body is empty; a JSON object is expected");
        return NULL;
    }
    if (!text_depth_ok(buf, len)) {
        SW_ERR(err, SW_EINVALID, "JSON nesting is deeper than %d levels", SW_JSON_MAX_DEPTH);
        return NULL;
    }
    json_error_t je;
    json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!v) {
        SW_ERR(err, SW_EINVALID, "malformed JSON at line %d column %d: %s", je.line, je.column,
               je.text);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        SW_ERR(err, SW_EINVALID, "a JSON object is expected");
        return NULL;
    }
    return v;
}

static const char *jtype_name(enum sw_jtype t)
{
    static const char *const names[] = {
        [SW_JT_STRING] = "a string", [SW_JT_INT] = "an integer", [SW_JT_NUMBER] = "a number",
        [SW_JT_BOOL] = "a boolean",  [SW_JT_ARRAY] = "an array", [SW_JT_OBJECT] = "an object",
        [SW_JT_STRING_OR_NULL] = "a string or null",
    };
    return names[t];
}

static bool type_ok(const json_t *v, enum sw_jtype t)
{
    switch (t) {
    case SW_JT_STRING: return json_is_string(v);
    case SW_JT_INT: return json_is_integer(v);
    case SW_JT_NUMBER: return json_is_number(v);
    case SW_JT_BOOL: return json_is_boolean(v);
    case SW_JT_ARRAY: return json_is_array(v);
    case SW_JT_OBJECT: return json_is_object(v);
    case SW_JT_STRING_OR_NULL: return json_is_string(v) || json_is_null(v);
    }
    return false;
}

int sw_json_check(const json_t *obj, const struct sw_jfield *fields, struct sw_err *err)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        const struct sw_jfield *f = fields;
        while (f->name && strcmp(f->name, key) != 0)
            f++;
        if (!f->name) {
            SW_ERR(err, SW_EINVALID, "unknown field \"%.64s\"", key);
            return -1;
        }
        if (!type_ok(val, f->type)) {
            SW_ERR(err, SW_EINVALID, "field \"%s\" must be %s", key, jtype_name(f->type));
            return -1;
        }
    }
    for (const struct sw_jfield *f = fields; f->name; f++) {
        if (f->required && !json_object_get(obj, f->name)) {
            SW_ERR(err, SW_EINVALID, "field \"%s\" is required", f->name);
            return -1;
        }
    }
    return 0;
}

const char *sw_json_str(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int64_t sw_json_int(const json_t *obj, const char *key, int64_t dflt)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

bool sw_json_bool(const json_t *obj, const char *key, bool dflt)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

char *sw_json_dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    if (!s)
        abort();
    return s;
}
