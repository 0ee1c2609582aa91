/* json.h - strict JSON input and small output helpers over jansson.
 *
 * Input is strict: duplicate keys, nesting deeper than SW_JSON_MAX_DEPTH,
 * unknown fields and wrong types are SW_EINVALID with a message that names
 * the offending field.
 */
#ifndef SW_JSON_H
#define SW_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sw_err;

#define SW_JSON_MAX_DEPTH 32

/* Parses buf as one JSON object. Returns owned (json_decref), or NULL. */
json_t *sw_json_parse_object(const char *buf, size_t len, struct sw_err *err);

enum sw_jtype {
    SW_JT_STRING,
    SW_JT_INT,    /* an integer (no fraction) */
    SW_JT_NUMBER, /* integer or real */
    SW_JT_BOOL,
    SW_JT_ARRAY,
    SW_JT_OBJECT,
    SW_JT_STRING_OR_NULL,
};

struct sw_jfield {
    const char *name;
    enum sw_jtype type;
    bool required;
};

/* Checks obj against a field list terminated by {NULL}: every key known,
 * every required key present, every value of its type. */
int sw_json_check(const json_t *obj, const struct sw_jfield *fields, struct sw_err *err);

/* Borrowed string value, or NULL when absent, null or not a string. */
const char *sw_json_str(const json_t *obj, const char *key);
/* Integer value, or dflt when absent or not an integer. */
int64_t sw_json_int(const json_t *obj, const char *key, int64_t dflt);
bool sw_json_bool(const json_t *obj, const char *key, bool dflt);

/* Dumps compactly; returns owned (free()). */
char *sw_json_dump(const json_t *v);

#endif
