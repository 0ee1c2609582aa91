/* api.h - what every panel handler sees: the request, the response, the
 * caller, and the helpers shared by handlers.
 *
 * Lifetimes: a request's strings are borrowed from the HTTP adapter and
 * valid until the handler returns; req->db is borrowed from the pool for the
 * request. A handler returns 0 with resp filled, or -1 with err set (the
 * router maps err->code to an HTTP status in one table).
 */
#ifndef SW_PANEL_API_H
#define SW_PANEL_API_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h"

struct sw_db;
struct sw_db_pool;
struct sw_route;
struct sw_err;
struct sw_redis;

/* Who may call a route: a bitmask of roles. */
enum sw_role {
    SW_ROLE_PUBLIC = 0,   /* no authentication */
    SW_ROLE_CUSTOMER = 1u << 0,
    SW_ROLE_RESELLER = 1u << 1,
    SW_ROLE_OPERATOR = 1u << 2,
};
#define SW_ROLE_ANY (SW_ROLE_CUSTOMER | SW_ROLE_RESELLER | SW_ROLE_OPERATOR)

struct sw_principal {
    char account_id[SW_UUID_LEN + 1];
    char token_id[SW_UUID_LEN + 1];
    int kind;       /* enum sw_account_kind */
    unsigned role;  /* enum sw_role bit */
    bool read_only; /* token scope "read" */
    bool two_factor; /* the account has two-factor login on */
};

/* Process-wide state of the panel. */
struct sw_panel {
    struct sw_db_pool *pool;
    unsigned char key[SW_SECRET_KEY_BYTES];
    char *redis_url;
    long session_ttl_s;
    long login_fail_account, login_fail_address; /* per 15 minutes */
    unsigned tfa_roles; /* enum sw_role bits that must have two-factor login */
    long order_rate;                             /* per minute; 0: none */
    /* One Redis connection for health checks, behind a lock. */
    pthread_mutex_t redis_mu;
    struct sw_redis *redis;
};

#define SW_MAX_PATH_PARAMS 4

struct sw_req {
    struct sw_panel *app;
    const struct sw_route *route; /* matched route */
    const char *method;
    const char *path;
    const char *params[SW_MAX_PATH_PARAMS]; /* {id} captures, in order */
    const char *body;
    size_t body_len;
    const char *remote; /* client address */
    const char *authorization;
    const char *idempotency_key;
    /* Query string lookup: borrowed value or NULL. */
    const char *(*query)(const struct sw_req *req, const char *key);
    /* Request header lookup (name in any case): borrowed value or NULL.
     * May be NULL itself (a request built without an adapter). */
    const char *(*header)(const struct sw_req *req, const char *name);
    void *conn; /* adapter's connection, for query() */
    /* A multipart/form-data upload (routes with SW_RF_UPLOAD only; the
     * adapter streamed its file to disk, image_store.h); NULL otherwise.
     * body is then the form's fields as JSON (sw_upload_finish()). */
    struct sw_upload *upload;
    struct sw_principal who;
    struct sw_db *db;
};

struct sw_resp {
    int status;
    json_t *body;             /* owned; sent and released by the adapter */
    char *text;               /* owned; sent instead of body when set */
    const char *content_type; /* for text; static storage */
    const char *replayed;     /* "true" on an Idempotency-Key replay */
    /* Top-level body fields holding a secret shown once (a new token, a
     * password), space separated: the answer an Idempotency-Key keeps has
     * them null, so no secret is stored in the clear. Static storage;
     * NULL: none. */
    const char *secret_field;
    /* Sent instead of body when send_fd: fd_size bytes of fd (owned: the
     * adapter closes it) as application/octet-stream. */
    bool send_fd;
    int fd;
    uint64_t fd_size;
};

typedef int (*sw_handler_fn)(struct sw_req *req, struct sw_resp *resp, struct sw_err *err);

/* ---- helpers (api.c) ---- */

/* Sets resp to status with body (stolen reference). Returns 0. */
int sw_api_reply(struct sw_resp *resp, int status, json_t *body);
/* Parses a JSON text column value into a new reference (abort on bad JSON:
 * the database rendered it). */
json_t *sw_api_json_col(const char *text);
/* Parses the request body as a strict JSON object checked against fields. */
struct sw_jfield;
json_t *sw_api_body(struct sw_req *req, const struct sw_jfield *fields, struct sw_err *err);

/* For verbs without parameters: no body, or an empty object. 0, or -1 with
 * err (a field given, or not JSON). */
int sw_api_no_body(struct sw_req *req, struct sw_err *err);

/* SQL condition that limits rows to what the caller may see; `col` is the
 * owner column expression (e.g. "t.owner_id"), the caller's account id is
 * always $1. Returns owned (free()). This is the one place tenancy lives. */
char *sw_api_scope(const struct sw_req *req, const char *col);
/* sw_api_scope() for a caller known by its principal (what the data files,
 * which never see the request, use). Returns owned (free()). */
char *sw_api_scope_who(const struct sw_principal *who, const char *col);

/* Runs a keyset-paginated list: SELECT <json_expr> FROM <table> t WHERE
 * <where> ORDER BY t.created_at, t.id, honouring ?limit= (default 50, max
 * 200) and ?cursor= (the last id seen). params are the where clause's ($1..)
 * and the helper appends its own after them. Answers {items, next_cursor}. */
int sw_api_list(struct sw_req *req, struct sw_resp *resp, struct sw_err *err,
                const char *json_expr, const char *table, const char *where, int nparams,
                const char *const *params);

/* sw_api_list() of a list a data file declares (data.h). */
struct sw_data_list;
int sw_api_list_data(struct sw_req *req, struct sw_resp *resp, struct sw_err *err,
                     const struct sw_data_list *l, int nparams, const char *const *params);

/* Runs a query returning one JSON column in one row and replies with it
 * under status; no row is SW_ENOTFOUND naming `what`. */
int sw_api_one(struct sw_req *req, struct sw_resp *resp, struct sw_err *err, int status,
               const char *what, const char *sql, int nparams, const char *const *params);

/* Path parameter i as a UUID; a malformed one is SW_ENOTFOUND for `what`
 * (an id that cannot exist is simply not found). */
const char *sw_api_param_uuid(const struct sw_req *req, int i, const char *what,
                              struct sw_err *err);

/* When body has string field, checks its length in bytes is within
 * [min, max]; -1 with SW_EINVALID naming the field. Absent is fine. */
int sw_api_check_len(const json_t *body, const char *field, size_t min, size_t max,
                     struct sw_err *err);

/* RFC 1123 host name: labels of [A-Za-z0-9-], 1..63 chars, not starting or
 * ending with '-', total at most 253. */
bool sw_api_hostname_valid(const char *s);

/* Fixed-window rate limit shared by every panel (Redis): counts one hit on
 * name:id and returns true when the count is within limit per window_s.
 * When Redis is unreachable it allows (and logs), so an outage of the
 * limiter does not take the API down. ratelimit.c */
bool sw_api_rate_ok(struct sw_req *req, const char *name, const char *id, long limit,
                    long window_s);
/* Counts one hit on name:id and returns the window's count (0 when Redis
 * is unreachable). */
long sw_api_rate_hit(struct sw_req *req, const char *name, const char *id, long window_s);
/* Reads the count of name:id without adding to it (0 when unknown). */
long sw_api_rate_count(struct sw_req *req, const char *name, const char *id, long window_s);

#endif
