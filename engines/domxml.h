/* domxml.h - libvirt domain XML from templates/domain/<kind>-<hypervisor>.xml.
 *
 * A template is a complete domain XML document with {{name}} placeholders
 * (name: [a-z0-9_]+). Every value is XML-escaped when substituted, so a
 * hostile hostname or os name can never add elements or attributes; a
 * placeholder without a value is an error (a template bug), never left in.
 */
#ifndef SW_ENGINES_DOMXML_H
#define SW_ENGINES_DOMXML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sw_err;

#define SW_DOMXML_MAX_VARS 64
#define SW_DOMXML_MAX_TEMPLATE (1024 * 1024)

struct sw_domxml_var {
    const char *name; /* borrowed: a string literal */
    char *value;      /* owned, unescaped; a list: its items, each ending in '\0', then '\0' */
    bool list;        /* set by sw_domxml_set_list() */
};

struct sw_domxml_vars {
    size_t n;
    struct sw_domxml_var v[SW_DOMXML_MAX_VARS];
};

void sw_domxml_vars_init(struct sw_domxml_vars *vars);
/* Frees the values. */
void sw_domxml_vars_release(struct sw_domxml_vars *vars);
/* Sets (or replaces) name's value, printf-formatted. name must be a string
 * literal; more than SW_DOMXML_MAX_VARS names is a bug and aborts. */
void sw_domxml_set(struct sw_domxml_vars *vars, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets (or replaces) name as a list of n non-empty items (copied): a template line
 * holding {{name}} is written once per item, with {{name}} that item, and
 * dropped when n is 0. A line may use one list. */
void sw_domxml_set_list(struct sw_domxml_vars *vars, const char *name, const char *const *items,
                        size_t n);
/* Borrowed value (a list's first item; "" when empty), or NULL. */
const char *sw_domxml_get(const struct sw_domxml_vars *vars, const char *name);

/* Returns owned (free()): s with & < > " ' as entities and control
 * characters, U+FFFE and U+FFFF (not allowed in XML 1.0) replaced by '?'. */
char *sw_domxml_escape(const char *s);

/* Substitutes every {{name}} of tmpl with its escaped value, a line with a
 * list once per item. Returns owned (free()), or NULL with SW_EINTERNAL for
 * an unknown name, an unterminated placeholder or two lists in one line. */
char *sw_domxml_render(const char *tmpl, const struct sw_domxml_vars *vars, struct sw_err *err);

/* Reads a template file (at most SW_DOMXML_MAX_TEMPLATE bytes of text).
 * Returns owned (free()), or NULL with SW_ENOTFOUND when it does not exist,
 * SW_EINTERNAL otherwise. */
char *sw_domxml_read(const char *path, struct sw_err *err);

/* Reads dir/domain/<kind>-<hv>.xml. Returns owned (free()), or NULL with
 * SW_EUNSUPPORTED when there is no such template, SW_EINTERNAL otherwise. */
char *sw_domxml_load(const char *dir, const char *kind, const char *hv, struct sw_err *err);

/* Scans libvirt-formatted domain XML for the <target dev='X'/> of each
 * <element> ("interface" or "disk") and copies up to max names into out.
 * Returns how many were found (at most max). */
size_t sw_domxml_targets(const char *xml, const char *element, char out[][64], size_t max);

/* Reads the text of the first element <name> or <prefix:name> of xml
 * (e.g. the <slipway:server> metadata) into out[n]. 0, or -1 when absent or
 * longer than n - 1. */
int sw_domxml_meta(const char *xml, const char *name, char *out, size_t n);
/* The same as a non-negative integer. */
int sw_domxml_meta_i64(const char *xml, const char *name, int64_t *out);

#endif
