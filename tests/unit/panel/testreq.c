/* testreq.c - panel handlers called without a socket (testreq.h). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/db.h"
#include "core/enums.h"
#include "panel/errmap.h"
#include "panel/router.h"
#include "tests/unit/panel/testreq.h"

/* No database: the panel's unit tests link with --wrap for these (see
 * tests/Makefile.inc). A handler that gets past its checks to the database
 * fails the test by name instead of crashing on req->db, unless the test
 * expects it to (sw_testreq_accepted): then the database is unavailable. */
static bool db_expected, db_reached;

static const char no_db[] = "no database in a unit test";

PGresult *__wrap_sw_db_exec(struct sw_db *db, struct sw_err *err, const char *sql, int nparams,
                            const char *const *params);
long __wrap_sw_db_run(struct sw_db *db, struct sw_err *err, const char *sql, int nparams,
                      const char *const *params);
int __wrap_sw_db_tx(struct sw_db *db, sw_db_tx_fn fn, void *ctx, struct sw_err *err);

/* The database reached: fails the test unless expected, else err says it
 * is unavailable. */
static void reach_db(struct sw_err *err, const char *what)
{
    if (!db_expected)
        fail_msg("the handler reached the database: %.120s", what);
    db_reached = true;
    SW_ERR(err, SW_EUNAVAILABLE, "%s", no_db);
}

PGresult *__wrap_sw_db_exec(struct sw_db *db, struct sw_err *err, const char *sql, int nparams,
                            const char *const *params)
{
    (void)db, (void)nparams, (void)params;
    reach_db(err, sql);
    return NULL;
}

long __wrap_sw_db_run(struct sw_db *db, struct sw_err *err, const char *sql, int nparams,
                      const char *const *params)
{
    return __wrap_sw_db_exec(db, err, sql, nparams, params) ? 0 : -1;
}

int __wrap_sw_db_tx(struct sw_db *db, sw_db_tx_fn fn, void *ctx, struct sw_err *err)
{
    (void)db, (void)fn, (void)ctx;
    reach_db(err, "a transaction");
    return -1;
}

static const char *no_query(const struct sw_req *req, const char *key)
{
    (void)req;
    (void)key;
    return NULL;
}

void sw_testreq_init(struct sw_req *req, unsigned role, const char *body, const char *id)
{
    static const int kind_of[] = {[SW_ROLE_CUSTOMER] = SW_ACCT_CUSTOMER,
                                  [SW_ROLE_RESELLER] = SW_ACCT_RESELLER,
                                  [SW_ROLE_OPERATOR] = SW_ACCT_OPERATOR};
    static struct sw_panel app; /* no order rate limit, so no Redis */
    memset(req, 0, sizeof *req);
    req->app = &app;
    req->method = "POST";
    req->path = "/";
    req->body = body;
    req->body_len = body ? strlen(body) : 0;
    req->params[0] = id;
    req->remote = "127.0.0.1";
    req->query = no_query;
    req->who.role = role;
    req->who.kind = kind_of[role];
    snprintf(req->who.account_id, sizeof req->who.account_id, "%s",
             "00000000-0000-4000-8000-000000000001");
}

static const struct sw_route *route_of(const char *method, const char *pattern)
{
    size_t n;
    const struct sw_route *const *r = sw_routes(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(r[i]->method, method) == 0 && strcmp(r[i]->pattern, pattern) == 0)
            return r[i];
    fail_msg("no route %s %s", method, pattern);
    return NULL;
}

int sw_testreq_call(const char *method, const char *pattern, struct sw_req *req,
                    struct sw_err *err)
{
    const struct sw_route *route = route_of(method, pattern);
    struct sw_resp resp = {0};
    req->route = route;
    req->method = method;
    sw_err_clear(err);
    int rc = route->fn(req, &resp, err);
    json_decref(resp.body);
    return rc;
}

void sw_testreq_err_is(const struct sw_err *err, int code, const char *msg_prefix)
{
    if ((int)err->code != code || strncmp(err->msg, msg_prefix, strlen(msg_prefix)) != 0)
        fail_msg("expected %s \"%s...\", got %s \"%s\"", sw_errc_name(code), msg_prefix,
                 sw_errc_name(err->code), err->msg);
}

void sw_testreq_refused(const char *method, const char *pattern, unsigned role, const char *body,
                        int status, const char *msg_prefix)
{
    struct sw_req req;
    struct sw_err err;
    sw_testreq_init(&req, role, body, SW_TEST_ID);
    assert_int_equal(sw_testreq_call(method, pattern, &req, &err), -1);
    /* What the client would read: the status and the error body. */
    int got;
    json_t *answer = sw_errmap_body(&err, &got);
    const char *code = "", *msg = "";
    json_unpack(answer, "{s:{s:s, s:s}}", "error", "code", &code, "message", &msg);
    if (got != status || strncmp(msg, msg_prefix, strlen(msg_prefix)) != 0)
        fail_msg("%s %s %.160s: expected %d \"%s...\", got %d %s \"%s\"", method, pattern, body,
                 status, msg_prefix, got, code, msg);
    json_decref(answer);
}

json_t *sw_testreq_json(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!v)
        fail_msg("bad JSON in a test: %s: %s", text, je.text);
    return v;
}

void sw_testreq_accepted(const char *method, const char *pattern, unsigned role, const char *body)
{
    struct sw_req req;
    struct sw_err err;
    sw_testreq_init(&req, role, body, SW_TEST_ID);
    db_expected = true;
    db_reached = false;
    int rc = sw_testreq_call(method, pattern, &req, &err);
    db_expected = false;
    if (rc != -1 || !db_reached || strcmp(err.msg, no_db) != 0)
        fail_msg("%s %s %.160s: expected its checks to pass, got %s \"%s\"", method, pattern, body,
                 sw_errc_name(err.code), err.msg);
}
