/* json.c - fuzz target: core/json.c, the strict parser every request body
 * and stream message goes through (sw_json_parse_object, sw_json_check and
 * the typed accessors). Input: a body, as the panel receives it.
 * Oracles: a refusal is SW_EINVALID with a message; what is accepted is an
 * object that survives a compact dump and a second parse unchanged; a
 * checked object has only known fields, each of its declared type. */
#include "config.h"
#include "tests/fuzz/fuzz.h"
#include "core/err.h"
#include "core/json.h"

static const struct sw_jfield fields[] = {
    {"s", SW_JT_STRING, true},      {"i", SW_JT_INT, false},  {"n", SW_JT_NUMBER, false},
    {"b", SW_JT_BOOL, false},       {"a", SW_JT_ARRAY, false}, {"o", SW_JT_OBJECT, false},
    {"z", SW_JT_STRING_OR_NULL, false}, {NULL, 0, false},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sw_err err = {0};
    json_t *o = sw_json_parse_object((const char *)data, size, &err);
    if (!o) {
        SW_FUZZ_ASSERT(err.code == SW_EINVALID && err.msg[0]);
        return 0;
    }
    SW_FUZZ_ASSERT(json_is_object(o));

    char *text = sw_json_dump(o);
    struct sw_err err2 = {0};
    json_t *again = sw_json_parse_object(text, strlen(text), &err2);
    SW_FUZZ_ASSERT(again && json_equal(o, again));
    json_decref(again);
    free(text);

    struct sw_err err3 = {0};
    if (sw_json_check(o, fields, &err3) == 0) {
        SW_FUZZ_ASSERT(sw_json_str(o, "s") != NULL);
        const char *key;
        json_t *v;
        json_object_foreach(o, key, v) {
            const struct sw_jfield *f = fields;
            while (f->name && strcmp(f->name, key) != 0)
                f++;
            SW_FUZZ_ASSERT(f->name != NULL);
        }
        if (json_object_get(o, "i"))
            SW_FUZZ_ASSERT(sw_json_int(o, "i", 1) == json_integer_value(json_object_get(o, "i")));
        if (json_object_get(o, "b"))
            SW_FUZZ_ASSERT(sw_json_bool(o, "b", false) == json_is_true(json_object_get(o, "b")));
    } else {
        SW_FUZZ_ASSERT(err3.code == SW_EINVALID && err3.msg[0]);
    }
    json_decref(o);
    return 0;
}
