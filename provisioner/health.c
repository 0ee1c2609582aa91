/* health.c - the node health thread (health.h; README.md "High availability").
 * Every step is one statement or one SQL function (migrations/0033), so any
 * number of provisioners run it at once: a node moves out of a health only
 * under its row lock, and a fence run is taken with a lease
 * (fence_next_at in the future) that no other provisioner's pass takes.
 */
#include "config.h"

#include "core/bkkey.h"
#include "core/conf.h"
#include "core/db.h"
#include "core/err.h"
#include "core/log.h"
#include "provisioner/fence.h"
#include "provisioner/health.h"
#include "provisioner/prov.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sw_health_conf_load(struct sw_health_conf *c, struct sw_err *err)
{
    c->suspect_s = 15;
    c->check_ms = 1000;
    c->fence_timeout_s = 30;
    return sw_conf_long("SLIPWAY_HA_SUSPECT_S", 1, 3600, &c->suspect_s, err) < 0 ||
                   sw_conf_long("SLIPWAY_HA_CHECK_MS", 50, 60000, &c->check_ms, err) < 0 ||
                   sw_conf_long("SLIPWAY_HA_FENCE_TIMEOUT_S", 1, 600, &c->fence_timeout_s, err) < 0
               ? -1
               : 0;
}

static const char sql_suspect[] =
    "WITH s AS (UPDATE nodes SET health = 'suspect', health_since = now(), fence_attempts = 0,"
    "       fence_next_at = now(), fence_error = NULL"
    "     WHERE health = 'ok' AND state <> 'offline' AND last_heartbeat_at IS NOT NULL"
    "       AND last_heartbeat_at < now() - make_interval(secs => $1::int)"
    /* a node an operator just made healthy gets the threshold to beat */
    "       AND health_since < now() - make_interval(secs => $1::int)"
    "     RETURNING id, name, last_heartbeat_at, fence_agent)"
    " SELECT s.id, s.name, coalesce(s.fence_agent, 'none'),"
    "        sw_event_emit('node.suspect', NULL, jsonb_build_object('node_id', s.id,"
    "          'health', 'suspect', 'last_heartbeat_at', sw_ts(s.last_heartbeat_at),"
    "          'fence_agent', s.fence_agent))"
    "   FROM s";

/* Heartbeats resumed while only suspect: back to ok. A node being fenced,
 * fenced or failed never comes back by itself. */
static const char sql_resumed[] =
    "UPDATE nodes SET health = 'ok', health_since = now(), fence_next_at = NULL,"
    "       fence_error = NULL, fence_attempts = 0"
    " WHERE health = 'suspect'"
    "   AND last_heartbeat_at >= now() - make_interval(secs => $1::int)"
    " RETURNING id, name";

/* A suspect node without an agent that runs (manual, none) waits for an
 * operator; said once in its fence error. */
static const char sql_waiting[] =
    "UPDATE nodes SET fence_error = 'waiting for an operator''s fence confirmation"
    " (POST /v1/admin/nodes/{id}/fence-confirm)'"
    " WHERE health = 'suspect' AND (fence_agent IS NULL OR fence_agent = 'manual')"
    "   AND fence_error IS NULL RETURNING id, name";

/* One due fence, taken with a lease of $1 s: the row lock decides between
 * provisioners, the lease keeps the others off while this one runs it (and
 * lets one take over when this one died mid-fence). */
static const char sql_take_fence[] =
    "UPDATE nodes n SET health = 'fencing', health_since = now(),"
    "       fence_attempts = fence_attempts + 1,"
    "       fence_next_at = now() + make_interval(secs => $1::int)"
    " WHERE n.id = (SELECT id FROM nodes WHERE health IN ('suspect', 'fencing')"
    "       AND fence_agent IN ('ipmi', 'ssh', 'libvirt') AND fence_next_at <= now()"
    "       ORDER BY fence_next_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
    " RETURNING n.id, n.name, n.fence_agent, n.fence_config::text, n.fence_secret,"
    "           n.engine_uri, n.fence_attempts, n.fence_secret_wrapped";

/* The largest fence secret (panel/admin_ha.c, migration 0033). */
#define FENCE_SECRET_MAX 16384

static int log_rows(struct sw_db *db, const char *sql, const char *event, const char *what,
                    const struct sw_health_conf *c, struct sw_err *err)
{
    char s[24];
    snprintf(s, sizeof s, "%ld", c->suspect_s);
    PGresult *res = sql == sql_waiting ? sw_db_exec(db, err, sql, 0, NULL)
                                       : sw_db_exec(db, err, sql, SW_PARAMS(s));
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++)
        sw_warn(event, "node=%s name=%s suspect_s=%ld %s", sw_db_get(res, i, 0),
                sw_db_get(res, i, 1), c->suspect_s, what);
    PQclear(res);
    return 0;
}

/* The fence's end recorded; 0 or -1 with err. */
static int fence_done(struct sw_db *db, const char *node, bool ok, const char *agent,
                      const char *why, int attempts, struct sw_err *err)
{
    char retry[24];
    snprintf(retry, sizeof retry, "%ld", sw_fence_backoff_s(attempts));
    PGresult *res = sw_db_exec(db, err, "SELECT sw_node_fence_done($1, $2, $3, $4, $5::int)",
                               SW_PARAMS(node, ok ? "true" : "false", agent, why, retry));
    if (!res)
        return -1;
    PQclear(res);
    char q[300];
    if (ok)
        sw_warn("node.fenced", "node=%s agent=%s", node, agent);
    else
        sw_warn("node.fence_failed", "node=%s agent=%s attempts=%d retry_s=%s error=%s", node,
                agent, attempts, retry, sw_log_quote(q, sizeof q, why));
    return 0;
}

/* The taken node's fence secret into secret[FENCE_SECRET_MAX + 1]:
 * unwrapped with the master key (migration 0039), or as a row from before
 * holds it (wrap_legacy wraps those). The result's copy is wiped. */
static int fence_secret(PGresult *res, char *secret, struct sw_err *err)
{
    secret[0] = '\0';
    if (PQgetisnull(res, 0, 4))
        return 0;
    char *s = PQgetvalue(res, 0, 4);
    int rc = 0;
    if (strcmp(sw_db_get(res, 0, 7), "t") == 0) {
        char *plain = sw_bkkey_unwrap_new(s, FENCE_SECRET_MAX, err);
        if (plain) {
            snprintf(secret, FENCE_SECRET_MAX + 1, "%s", plain);
            sodium_memzero(plain, strlen(plain));
            free(plain);
        }
        rc = plain ? 0 : -1;
    } else {
        snprintf(secret, FENCE_SECRET_MAX + 1, "%s", s);
    }
    sodium_memzero(s, strlen(s));
    return rc;
}

/* Takes one due fence and runs it. The secret is copied out of the
 * result, which is wiped before it is freed. */
static int fence_one(struct sw_db *db, const struct sw_health_conf *c, struct sw_err *err)
{
    char lease[24];
    snprintf(lease, sizeof lease, "%ld", c->fence_timeout_s * 2 + 10);
    PGresult *res = sw_db_exec(db, err, sql_take_fence, SW_PARAMS(lease));
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return 0;
    }
    char node[40], agent[16], secret[FENCE_SECRET_MAX + 1];
    snprintf(node, sizeof node, "%s", sw_db_get(res, 0, 0));
    snprintf(agent, sizeof agent, "%s", sw_db_get(res, 0, 2));
    int attempts = (int)sw_db_get_i64(res, 0, 6);
    struct sw_fence_target t;
    struct sw_err perr;
    sw_err_clear(&perr);
    char why[300];
    int rc = fence_secret(res, secret, &perr);
    if (rc == 0)
        rc = sw_fence_parse(agent, sw_db_get(res, 0, 3), sw_db_get(res, 0, 5), &t, &perr);
    PQclear(res);
    sw_info("node.fencing", "node=%s agent=%s attempt=%d", node, agent, attempts);
    if (rc == 0)
        rc = sw_fence_run(&t, secret, c->fence_timeout_s * 1000, why, sizeof why, &perr);
    else
        rc = -1;
    sodium_memzero(secret, sizeof secret);
    if (rc < 0)
        snprintf(why, sizeof why, "%s", perr.msg);
    return fence_done(db, node, rc == 1, agent, why, attempts, err);
}

/* Rows written before migration 0039 hold the fence secret as given: each
 * is wrapped with the master key here (only when it is still the value
 * read: a secret the panel set meanwhile is kept). Without the master key
 * they stay as they are (fence_secret reads them so), said once (*told). */
static int wrap_legacy(struct sw_db *db, bool *told, struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT id, fence_secret FROM nodes"
                               " WHERE fence_secret IS NOT NULL AND NOT fence_secret_wrapped",
                               0, NULL);
    if (!res)
        return -1;
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        char *s = PQgetvalue(res, i, 1);
        struct sw_err e;
        sw_err_clear(&e);
        char *w = sw_bkkey_wrap_new(s, strlen(s), &e);
        if (!w) {
            if (!*told)
                sw_log_err(SW_LOG_WARN, "node.fence_secret_plain", &e);
            *told = true;
            break;
        }
        long n = sw_db_run(db, err,
                           "UPDATE nodes SET fence_secret = $2, fence_secret_wrapped = true"
                           " WHERE id = $1 AND NOT fence_secret_wrapped AND fence_secret = $3",
                           SW_PARAMS(sw_db_get(res, i, 0), w, s));
        free(w);
        if (n < 0)
            rc = -1;
        else if (n == 1)
            sw_info("node.fence_secret_wrapped", "node=%s", sw_db_get(res, i, 0));
    }
    for (int i = 0; i < PQntuples(res); i++)
        sodium_memzero(PQgetvalue(res, i, 1), strlen(PQgetvalue(res, i, 1)));
    PQclear(res);
    return rc;
}

/* Fenced nodes become failed, their ha servers' recoveries queued. */
static int fail_fenced(struct sw_db *db, struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err, "SELECT id FROM nodes WHERE health = 'fenced'", 0, NULL);
    if (!res)
        return -1;
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        const char *id = sw_db_get(res, i, 0);
        PGresult *f = sw_db_exec(db, err, "SELECT sw_node_fail($1)", SW_PARAMS(id));
        if (!f) {
            rc = -1;
            break;
        }
        sw_warn("node.failed", "node=%s recover_jobs=%s", id, sw_db_get(f, 0, 0));
        PQclear(f);
    }
    PQclear(res);
    return rc;
}

int sw_health_pass(struct sw_db *db, const struct sw_health_conf *c, struct sw_err *err)
{
    if (log_rows(db, sql_suspect, "node.suspect", "why=\"heartbeats stopped\"", c, err) < 0 ||
        log_rows(db, sql_resumed, "node.resumed", "why=\"heartbeats resumed while suspect\"", c,
                 err) < 0 ||
        log_rows(db, sql_waiting, "node.fence_waiting",
                 "why=\"no fence agent runs for it: an operator must confirm\"", c, err) < 0 ||
        fence_one(db, c, err) < 0)
        return -1;
    return fail_fenced(db, err);
}

void *sw_health_main(void *arg)
{
    struct sw_prov_thread *t = arg;
    struct sw_health_conf c;
    struct sw_err err;
    sw_err_clear(&err);
    if (sw_health_conf_load(&c, &err) < 0) {
        sw_log_err(SW_LOG_ERROR, "health.config", &err);
        return NULL;
    }
    sw_info("thread.started", "thread=%s suspect_s=%ld check_ms=%ld fence_timeout_s=%ld", t->name,
            c.suspect_s, c.check_ms, c.fence_timeout_s);
    bool down = false, told = false;
    while (!sw_prov_stopping()) {
        sw_err_clear(&err);
        if (sw_prov_connect(t, &err) < 0 || wrap_legacy(t->db, &told, &err) < 0 ||
            sw_health_pass(t->db, &c, &err) < 0) {
            sw_prov_log_degraded(t->name, !down, &err);
            down = true;
        } else if (down) {
            sw_info("thread.recovered", "thread=%s", t->name);
            down = false;
        }
        sw_prov_sleep_ms(c.check_ms);
    }
    sw_info("thread.stopped", "thread=%s", t->name);
    return NULL;
}
