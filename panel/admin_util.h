/* admin_util.h - input checks shared by the operator routes (admin*.c).
 *
 * Every check returns 0, or -1 with err set to SW_EINVALID and a message
 * that names the offending field. A field that is absent passes (required
 * fields are sw_api_body()'s business).
 */
#ifndef SW_PANEL_ADMIN_UTIL_H
#define SW_PANEL_ADMIN_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sw_db;
struct sw_err;
struct sw_req;
struct sw_resp;
struct sw_jfield;

struct sw_adm_int_rule {
    const char *field;
    int64_t min, max;
};

/* Checks every present integer field of b against its bounds (rules end
 * with {NULL}). */
int sw_adm_check_ints(const json_t *b, const struct sw_adm_int_rule *rules, struct sw_err *err);


/* A present string field must be a UUID. */
int sw_adm_check_uuid_field(const json_t *b, const char *field, struct sw_err *err);

/* A present string field must be one of values (NULL-terminated); the
 * message lists them. */
int sw_adm_check_enum(const json_t *b, const char *field, const char *const *values,
                      struct sw_err *err);

/* s must be a plan kind (container, pv, hvm). */
int sw_adm_check_kind(const char *s, const char *field, struct sw_err *err);

/* Decimal text of v in buf[24]; returns buf. */
const char *sw_adm_i64(char buf[24], int64_t v);

/* field (an array, e.g. "kinds") must list distinct plan kinds; empty is
 * refused unless allow_empty. Writes a PostgreSQL array literal into
 * out[64] in the enum's order whatever the input's ("{container,hvm}"), and
 * the kinds as bits (1 << kind) into *mask. */
int sw_adm_parse_kinds(const json_t *arr, const char *field, bool allow_empty, char out[64],
                       unsigned *mask, struct sw_err *err);

/* A PATCH's target and body: the path's {id} (a UUID, else "<what> not
 * found") into *id, and the body checked against fields and naming at least
 * one of them. Returns owned, or NULL with err. */
json_t *sw_adm_patch_body(struct sw_req *req, const char *what, const struct sw_jfield *fields,
                          const char **id, struct sw_err *err);

/* A PATCH that runs in one transaction: its target, its body and what the
 * transaction answers (the object, owned; set by the transaction). */
struct sw_adm_patch {
    const char *id;
    const json_t *body;
    json_t *answer;
};

/* The whole of such a PATCH: sw_adm_patch_body(), then check(body) (pure,
 * so a bad body is refused before the database), then tx in a transaction
 * (sw_db_tx) with a struct sw_adm_patch as its ctx; answers 200 with what
 * tx left in answer. tx starts by dropping an answer a failed attempt left. */
int sw_adm_patch_run(struct sw_req *req, struct sw_resp *resp, struct sw_err *err,
                     const char *what, const struct sw_jfield *fields,
                     int (*check)(const json_t *body, struct sw_err *err),
                     int (*tx)(struct sw_db *db, void *ctx, struct sw_err *err));

/* Parses the request body like sw_api_body(), except that the fields named
 * in nullable (NULL-terminated) may also be JSON null ("no limit"); their
 * type in fields is the non-null one. Returns owned, or NULL with err. */
json_t *sw_adm_body_nullable(struct sw_req *req, const struct sw_jfield *fields,
                             const char *const *nullable, struct sw_err *err);

/* Query parameter key: borrowed value or NULL when absent. A present value
 * must be a UUID (else -1, "<key> must be a UUID") or, for
 * sw_adm_query_enum, one of values. */
int sw_adm_query_uuid(const struct sw_req *req, const char *key, const char **out,
                      struct sw_err *err);
int sw_adm_query_enum(const struct sw_req *req, const char *key, const char *const *values,
                      const char **out, struct sw_err *err);

#endif
