/* idempotency.c - Idempotency-Key for POSTs (API.md).
 *
 * The key row is claimed in its own short transaction (state 'running'),
 * so a concurrent retry sees it at once and gets 409. The handler then
 * runs in one transaction together with the update that stores its answer
 * (state 'done'): the effect and the recorded answer commit together, so a
 * crash leaves either both or neither. A 4xx answer is recorded too (the
 * retry would fail the same way); a 5xx or 409 frees the key so the client
 * may try again. An answer's secret (sw_resp.secret_field: a new token, a
 * password) is kept as null: a replay says the request succeeded without
 * storing the secret. A 'running' row is taken over when the PostgreSQL
 * backend that claimed it is gone (its panel died: the request's connection,
 * on which the effect would have committed, closed with it), or when it is
 * older than 10 minutes: either way its request committed nothing. Keys live
 * at least 24 hours.
 */
#include "config.h"
#include "panel/idempotency.h"
#include "panel/errmap.h"
#include "panel/data_idempotency.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/err.h"
#include "core/json.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool key_valid(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] < 0x21 || (unsigned char)k[i] > 0x7e)
            return false;
    return true;
}

/* What a request is, for "same key, same request": its method, path and
 * body. A body may hold a password (an order's, a reinstall's), so it is a
 * hash keyed with the server secret (BLAKE2b-256), as tokens are: the rows
 * give someone who reads the database nothing to test guesses against.
 * legacy gets the unkeyed SHA-256 that rows written before
 * the key kept, so their retries still match for the 24 h they live. */
static void body_hash(const struct sw_req *req, char out[65], char *legacy)
{
    const unsigned char *parts[] = {(const unsigned char *)req->method, (const unsigned char *)" ",
                                    (const unsigned char *)req->path, (const unsigned char *)"\n",
                                    (const unsigned char *)req->body};
    size_t lens[] = {strlen(req->method), 1, strlen(req->path), 1, req->body ? req->body_len : 0};
    crypto_generichash_state st;
    crypto_hash_sha256_state old;
    unsigned char h[32];
    crypto_generichash_init(&st, req->app->key, SW_SECRET_KEY_BYTES, sizeof h);
    crypto_hash_sha256_init(&old);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        if (lens[i] == 0)
            continue;
        crypto_generichash_update(&st, parts[i], lens[i]);
        crypto_hash_sha256_update(&old, parts[i], lens[i]);
    }
    crypto_generichash_final(&st, h, sizeof h);
    sodium_bin2hex(out, 65, h, sizeof h);
    crypto_hash_sha256_final(&old, h);
    sodium_bin2hex(legacy, 65, h, sizeof h);
    sodium_memzero(h, sizeof h);
}

/* Claims the key. Returns 1 when this request owns it, 0 when resp was
 * filled from a finished first request, -1 with err (409, 422, ...). */
/* A copy of body (new reference) with each field named in secrets (space
 * separated; NULL: none) set to null. */
static json_t *without_secrets(json_t *body, const char *secrets)
{
    json_t *kept = json_copy(body);
    for (const char *p = secrets; p && *p;) {
        size_t n = strcspn(p, " ");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        if (json_object_get(kept, name))
            json_object_set_new(kept, name, json_null());
        p += n + (p[n] == ' ');
    }
    return kept;
}

static int claim(struct sw_req *req, const char *hash, const char *legacy, struct sw_resp *resp,
                 struct sw_err *err)
{
    const char *account = req->who.account_id, *key = req->idempotency_key;
    int mine = sw_data_idempotency_claim(req->db, account, key, req->method, req->path, hash, err);
    if (mine != 0)
        return mine;
    /* Taken: a stale 'running' row is taken over by the read itself. */
    struct sw_data_idem k;
    int found = sw_data_idempotency_read(req->db, account, key, hash, &k, err);
    if (found <= 0) {
        if (found == 0) /* expired and deleted meanwhile: rare; ask for a retry */
            SW_ERR_RETRY(err, SW_ECONFLICT, "the Idempotency-Key was just released; retry");
        return -1;
    }
    int rc = -1;
    if (strcmp(k.body_hash, hash) != 0 && strcmp(k.body_hash, legacy) != 0) {
        SW_ERR(err, SW_EUNPROCESSABLE,
               "this Idempotency-Key was already used with another request");
    } else if (k.taken_over) {
        rc = 1;
    } else if (strcmp(k.state, "running") == 0) {
        SW_ERR(err, SW_ECONFLICT, "a request with this Idempotency-Key is still running");
    } else {
        json_error_t je;
        resp->status = k.status;
        resp->body = k.response && *k.response ? json_loads(k.response, 0, &je) : NULL;
        resp->replayed = "true";
        rc = 0;
    }
    free(k.response);
    return rc;
}

struct run_ctx {
    struct sw_req *req;
    sw_handler_fn fn;
    struct sw_resp *resp;
    struct sw_err *herr; /* the handler's own error, kept apart from commit errors */
    bool handler_failed;
};

static int run_tx(struct sw_db *db, void *arg, struct sw_err *err)
{
    struct run_ctx *c = arg;
    json_decref(c->resp->body); /* a retried transaction starts the answer over */
    c->resp->body = NULL;
    sw_err_clear(c->herr);
    c->handler_failed = false;
    if (c->fn(c->req, c->resp, c->herr) < 0) {
        c->handler_failed = true;
        *err = *c->herr;
        return -1;
    }
    char status[8];
    snprintf(status, sizeof status, "%d", c->resp->status);
    char *text = NULL;
    if (c->resp->body) {
        json_t *kept = without_secrets(c->resp->body, c->resp->secret_field);
        text = sw_json_dump(kept);
        json_decref(kept);
    }
    int rc = sw_data_idempotency_finish(db, c->req->who.account_id, c->req->idempotency_key,
                                        status, text, err);
    free(text);
    return rc;
}

int sw_idem_run(struct sw_req *req, sw_handler_fn fn, struct sw_resp *resp,
                struct sw_err *err)
{
    if (!key_valid(req->idempotency_key)) {
        SW_ERR(err, SW_EINVALID, "Idempotency-Key must be 1 to 255 visible ASCII characters");
        return -1;
    }
    char hash[65], legacy[65];
    body_hash(req, hash, legacy);
    int c = claim(req, hash, legacy, resp, err);
    if (c <= 0)
        return c;
    struct sw_err herr = {0};
    struct run_ctx ctx = {req, fn, resp, &herr, false};
    if (sw_db_tx(req->db, run_tx, &ctx, err) == 0)
        return 0;
    /* Failed: record a client error so a retry gets the same answer; free
     * the key after a server error or a conflict so a retry can succeed. */
    int status;
    json_t *b = sw_errmap_body(err, &status);
    if (ctx.handler_failed && status >= 400 && status < 500 && status != 409 && status != 429) {
        char st[8];
        snprintf(st, sizeof st, "%d", status);
        char *text = sw_json_dump(b);
        sw_data_idempotency_finish(req->db, req->who.account_id, req->idempotency_key, st, text,
                                   NULL);
        free(text);
    } else {
        sw_data_idempotency_release(req->db, req->who.account_id, req->idempotency_key);
    }
    json_decref(b);
    return -1;
}
