/* relay.c - the outbox relay: publishes committed outbox rows to their
 * Redis streams and stamps them published.
 *
 * Wakes on NOTIFY outbox and at least every RELAY_POLL_MS. A batch is one
 * transaction: SELECT unpublished rows in id order FOR UPDATE SKIP LOCKED
 * (so several relays share the work without waiting on each other), XADD
 * each, stamp published_at, COMMIT. A crash between XADD and COMMIT leaves
 * the rows unpublished, so they are published again: at-least-once, and
 * every consumer is idempotent on its message's id.
 */
#include "config.h"

#include "core/alloc.h"
#include "core/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/redis.h"
#include "core/worker.h"
#include "provisioner/prov.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RELAY_POLL_MS 500
#define RELAY_BATCH 100
#define RELAY_BATCH_S "100"

struct relay {
    struct sw_prov_thread *t;
    int listen_pid; /* backend pid LISTEN ran on; 0: not listening */
};

struct batch_ctx {
    struct sw_redis *redis;
    int selected;
    int published;
    struct sw_err redis_err; /* set when an XADD failed (the rest waits) */
};

static int batch_tx(struct sw_db *db, void *arg, struct sw_err *err)
{
    struct batch_ctx *c = arg;
    c->selected = c->published = 0;
    sw_err_clear(&c->redis_err);
    PGresult *res = sw_db_exec(db, err,
                               "SELECT id, stream, payload FROM outbox"
                               " WHERE published_at IS NULL ORDER BY id"
                               " LIMIT " RELAY_BATCH_S " FOR UPDATE SKIP LOCKED",
                               0, NULL);
    if (!res)
        return -1;
    c->selected = PQntuples(res);
    /* ids published so far, as a PostgreSQL bigint[] literal */
    size_t cap = 3 + (size_t)c->selected * 21, len = 0; /* "{" ids "}" NUL */
    char *ids = sw_malloc(cap);
    ids[len++] = '{';
    for (int i = 0; i < c->selected; i++) {
        const char *id = sw_db_get(res, i, 0);
        char *entry =
            sw_stream_add(c->redis, sw_db_get(res, i, 1), sw_db_get(res, i, 2), &c->redis_err);
        if (!entry)
            break; /* keep order: later rows wait for the next batch */
        sw_debug("outbox.published", "outbox=%s stream=%s entry=%s", id, sw_db_get(res, i, 1),
                 entry);
        free(entry);
        len += (size_t)snprintf(ids + len, cap - len, "%s%s", c->published ? "," : "", id);
        c->published++;
    }
    ids[len++] = '}';
    ids[len] = '\0';
    PQclear(res);
    int rc = 0;
    if (c->published > 0 &&
        sw_db_run(db, err, "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                  SW_PARAMS(ids)) < 0)
        rc = -1;
    free(ids);
    return rc;
}

/* Publishes until the outbox has no unpublished row this relay can take.
 * Returns -1 on a database or Redis error. */
static int drain(struct relay *rl, struct sw_err *err)
{
    struct sw_prov_thread *t = rl->t;
    for (;;) {
        struct batch_ctx c = {.redis = t->redis};
        if (sw_db_tx(t->db, batch_tx, &c, err) < 0)
            return -1;
        if (c.published > 0)
            sw_info("outbox.relayed", "rows=%d", c.published);
        if (c.published < c.selected) {
            *err = c.redis_err;
            return -1;
        }
        if (c.selected < RELAY_BATCH || sw_prov_stopping())
            return 0;
    }
}

/* (Re-)issues LISTEN when the connection is new or was reset underneath. */
static int ensure_listen(struct relay *rl, struct sw_err *err)
{
    PGconn *conn = sw_db_conn(rl->t->db);
    int pid = PQbackendPID(conn);
    if (pid != 0 && pid == rl->listen_pid)
        return 0;
    if (sw_db_run(rl->t->db, err, "LISTEN outbox", 0, NULL) < 0)
        return -1;
    rl->listen_pid = PQbackendPID(conn);
    return 0;
}

/* Waits up to RELAY_POLL_MS for a notification; consumes all pending ones. */
static void wait_notify(struct relay *rl)
{
    PGconn *conn = sw_db_conn(rl->t->db);
    int fd = PQsocket(conn);
    if (fd < 0) {
        sw_prov_sleep_ms(RELAY_POLL_MS);
        return;
    }
    struct pollfd p = {fd, POLLIN, 0};
    int n = poll(&p, 1, RELAY_POLL_MS);
    if (n < 0 && errno != EINTR)
        sw_prov_sleep_ms(RELAY_POLL_MS);
    if (n > 0) {
        PQconsumeInput(conn);
        PGnotify *nt;
        while ((nt = PQnotifies(conn)) != NULL)
            PQfreemem(nt);
    }
}

void *sw_relay_main(void *arg)
{
    struct relay rl = {arg, 0};
    long backoff = 0;
    bool down = false;
    sw_info("thread.started", "thread=%s", rl.t->name);
    while (!sw_prov_stopping()) {
        struct sw_err err;
        sw_err_clear(&err);
        if (!rl.t->db)
            rl.listen_pid = 0; /* a new connection listens afresh */
        if (sw_prov_connect(rl.t, &err) < 0 || ensure_listen(&rl, &err) < 0 ||
            drain(&rl, &err) < 0) {
            sw_prov_log_degraded(rl.t->name, !down, &err);
            down = true;
            backoff = sw_backoff_next(backoff);
            sw_prov_sleep_ms(backoff);
            continue;
        }
        if (down)
            sw_info("thread.recovered", "thread=%s", rl.t->name);
        down = false;
        backoff = 0;
        wait_notify(&rl);
    }
    sw_info("thread.stopped", "thread=%s", rl.t->name);
    return NULL;
}
