/* acl.c - the provisioner's "acl" thread: every node enrolled with a Redis
 * password (nodes.redis_password_sha256) gets its own Redis ACL user,
 * "node-<id>", made from PostgreSQL at start, at once when a node is
 * enrolled, rekeyed, changes state or goes (NOTIFY sw_node_users,
 * migrations/0017), and every SLIPWAY_ACL_INTERVAL seconds, so a restarted
 * or failed-over Redis gets them back within one interval. A node set offline, removed, or without
 * a password loses its user (ACL DELUSER, which also drops its
 * connections).
 *
 * What a node's user may do (sw_acl_node_rules): on its own job stream
 * "node:<id>" read, ack, claim, delete and create the group; XADD only to
 * its own "results:<id>", "usage:<id>" and "dead:node:<id>" (a selector,
 * so it cannot XADD to its job stream); its serial consoles' lists
 * "console:<id>:*" (BLPOP, RPUSH, EXPIRE, another selector: panel/console.c
 * and engines/console.c); PING. Nothing else: no other key,
 * no KEYS, SCAN, CONFIG, ACL, FLUSHALL, no pub/sub channel. The password
 * is given as its SHA-256 ("#<hex>"): the clear password exists only in
 * the engine's configuration.
 */
#include "config.h"

#include "core/alloc.h"
#include "core/conf.h"
#include "core/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/redis.h"
#include "core/worker.h"
#include "provisioner/acl.h"
#include "provisioner/prov.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#define NODE_USER_PREFIX "node-"

void sw_acl_node_rules(const char *id, const char *sha256, struct sw_acl_rules *out)
{
    snprintf(out->user, sizeof out->user, NODE_USER_PREFIX "%s", id);
    snprintf(out->pass, sizeof out->pass, "#%s", sha256);
    snprintf(out->keys, sizeof out->keys, "~node:%s", id);
    snprintf(out->writes, sizeof out->writes,
             "(+xadd %%W~results:%s %%W~usage:%s %%W~dead:node:%s)", id, id, id);
    snprintf(out->console, sizeof out->console, "(+blpop +rpush +expire ~console:%s:*)", id);
    const char *argv[] = {"ACL", "SETUSER", out->user, "reset", "on", out->pass, out->keys,
                          "+ping", "+xreadgroup", "+xack", "+xautoclaim", "+xclaim", "+xdel",
                          "+xpending", "+xgroup|create", out->writes, out->console};
    memcpy(out->argv, argv, sizeof argv);
    out->argc = (int)(sizeof argv / sizeof argv[0]);
}

/* Makes (or remakes) the user of every node that should have one; the ids
 * made go into keep. */
static int apply_users(struct sw_prov_thread *t, char ***keep, size_t *nkeep, struct sw_err *err)
{
    PGresult *res = sw_db_exec(t->db, err,
                               "SELECT id, redis_password_sha256 FROM nodes"
                               " WHERE redis_password_sha256 IS NOT NULL"
                               " AND state IN ('active', 'draining', 'maintenance') ORDER BY id",
                               0, NULL);
    if (!res)
        return -1;
    int rc = 0;
    *nkeep = 0;
    *keep = sw_calloc((size_t)PQntuples(res) + 1, sizeof **keep);
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        struct sw_acl_rules r = {0};
        sw_acl_node_rules(sw_db_get(res, i, 0), sw_db_get(res, i, 1), &r);
        rc = sw_redis_exec(t->redis, r.argc, r.argv, err);
        if (rc == 0)
            (*keep)[(*nkeep)++] = sw_strdup(r.user);
    }
    PQclear(res);
    return rc;
}

static bool kept(char *const *keep, size_t n, const char *user)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keep[i], user) == 0)
            return true;
    return false;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Deletes every node user not in keep. */
static int drop_users(struct sw_prov_thread *t, char *const *keep, size_t nkeep,
                      struct sw_err *err)
{
    char **users;
    size_t n;
    const char *list[] = {"ACL", "USERS"};
    if (sw_redis_strings(t->redis, 2, list, &users, &n, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (strncmp(users[i], NODE_USER_PREFIX, strlen(NODE_USER_PREFIX)) != 0 ||
            kept(keep, nkeep, users[i]))
            continue;
        const char *del[] = {"ACL", "DELUSER", users[i]};
        rc = sw_redis_exec(t->redis, 3, del, err);
        if (rc == 0)
            sw_info("acl.user_removed", "user=%s", users[i]);
    }
    free_list(users, n);
    return rc;
}

int sw_acl_sync(struct sw_prov_thread *t, size_t *nusers, struct sw_err *err)
{
    char **keep = NULL;
    size_t nkeep = 0;
    int rc = apply_users(t, &keep, &nkeep, err);
    if (rc == 0)
        rc = drop_users(t, keep, nkeep, err);
    *nusers = nkeep;
    free_list(keep, nkeep);
    return rc;
}

/* LISTENs on the thread's connection when it is new (backend pid). */
static int ensure_listen(struct sw_prov_thread *t, int *listen_pid, struct sw_err *err)
{
    int pid = PQbackendPID(sw_db_conn(t->db));
    if (pid != 0 && pid == *listen_pid)
        return 0;
    if (sw_db_run(t->db, err, "LISTEN sw_node_users", 0, NULL) < 0)
        return -1;
    *listen_pid = PQbackendPID(sw_db_conn(t->db));
    return 0;
}

/* Waits up to ms for a notification (or the stop), 200 ms at a time;
 * consumes the pending ones. */
static void wait_notify(struct sw_prov_thread *t, long ms)
{
    PGconn *conn = sw_db_conn(t->db);
    int fd = PQsocket(conn);
    for (; ms > 0 && !sw_prov_stopping(); ms -= 200) {
        struct pollfd p = {fd, POLLIN, 0};
        int n = fd < 0 ? 0 : poll(&p, 1, 200);
        if (fd < 0 || (n < 0 && errno != EINTR)) {
            sw_prov_sleep_ms(200);
            continue;
        }
        if (n > 0) {
            PQconsumeInput(conn);
            PGnotify *nt;
            bool woke = false;
            while ((nt = PQnotifies(conn)) != NULL) {
                PQfreemem(nt);
                woke = true;
            }
            if (woke)
                return;
        }
    }
}

void *sw_acl_main(void *arg)
{
    struct sw_prov_thread *t = arg;
    bool down = false;
    long backoff = 0;
    size_t last = (size_t)-1;
    int listen_pid = 0;
    sw_info("thread.started", "thread=%s interval_s=%ld", t->name, t->conf->acl_interval_s);
    while (!sw_prov_stopping()) {
        struct sw_err err;
        sw_err_clear(&err);
        size_t n = 0;
        if (sw_prov_connect(t, &err) < 0 || ensure_listen(t, &listen_pid, &err) < 0 ||
            sw_acl_sync(t, &n, &err) < 0) {
            sw_prov_log_degraded(t->name, !down, &err);
            down = true;
            backoff = sw_backoff_next(backoff);
            sw_prov_sleep_ms(backoff);
            continue;
        }
        if (down || n != last)
            sw_info("acl.synced", "node_users=%zu", n);
        down = false;
        backoff = 0;
        last = n;
        wait_notify(t, t->conf->acl_interval_s * 1000);
    }
    sw_info("thread.stopped", "thread=%s", t->name);
    return NULL;
}
