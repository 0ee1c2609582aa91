/* slipway-billing: consumes every node's stream "usage:<id>" (group
 * "billing"), accepts a sample only from the node its server was placed on
 * in the sampled period, and stores each sample once; a second thread keeps draft invoices current,
 * finalizes months that are over and runs dunning (cycle.c). Webhooks are
 * the billing hooks'. Three threads: the usage consumer, the cycle and
 * the hooks; main waits for SIGTERM or SIGINT (core/daemon.h) and stops
 * them, the consumer after the entry in hand.
 */
#include "config.h"

#include "billing/cycle.h"
#include "billing/hooks.h"
#include "billing/usage.h"
#include "core/alloc.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "core/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/nodemsg.h"
#include "core/redis.h"
#include "core/worker.h"

#include <pthread.h>
#include <stdlib.h>
#include <strings.h>

struct billing {
    const char *db_url, *redis_url;
    struct sw_db *db;
    struct sw_redis *redis;
    bool suspect; /* a dependency was unavailable: check before reading more */
};

/* Entries read at once: one XREADGROUP, one INSERT, one XACK per batch. */
#define USAGE_BATCH 5000

/* Refuses entry e (from node, NULL when its stream names none) for reason:
 * recorded (core/nodemsg.h) and dead-lettered, or left for later when the
 * record cannot be written. */
static void refuse(struct billing *b, const struct sw_stream_entry *e, const char *node,
                   const char *reason, enum sw_msg_outcome *out, struct sw_err *err)
{
    sw_err_clear(err);
    if (node && sw_nodemsg_reject(b->db, e->stream, e->id, node, reason, err) < 0) {
        *out = SW_MSG_RETRY;
        if (err->code == SW_EUNAVAILABLE)
            b->suspect = true;
        return;
    }
    SW_ERR(err, SW_EINVALID, "%s", reason);
    *out = SW_MSG_POISON;
}

/* Decodes entry e into m, checking that it names its stream's node; 0, or
 * -1 with e refused. */
static int decode_entry(struct billing *b, const struct sw_stream_entry *e,
                        struct sw_msg_usage *m, enum sw_msg_outcome *out, struct sw_err *err)
{
    char node[SW_UUID_LEN + 1];
    if (sw_msg_stream_node(e->stream, SW_STREAM_USAGE_PREFIX, node) < 0) {
        refuse(b, e, NULL, "not a node's usage stream", out, err);
        return -1;
    }
    if ((sw_usage_decode_fast(e->payload, m) < 0 &&
         sw_msg_usage_decode(e->payload, m, err) < 0) ||
        !sw_usage_id_valid(m, err)) {
        sw_log_err(SW_LOG_WARN, "usage.rejected", err);
        refuse(b, e, node, SW_REJECT_MALFORMED, out, err);
        return -1;
    }
    if (strcasecmp(m->node_id, node) != 0) {
        refuse(b, e, node, SW_REJECT_FORGED_NODE, out, err);
        return -1;
    }
    return 0;
}

/* A batch of entries: the undecodable, forged and misplaced ones are
 * refused at once, the rest stored in one statement (sw_usage_store_batch
 * singles out bad data). */
static void handle_usage_batch(void *ctx, const struct sw_stream_entry *const *v, size_t n,
                               enum sw_msg_outcome *out, struct sw_err *errs)
{
    struct billing *b = ctx;
    struct sw_msg_usage *m = sw_calloc(n, sizeof *m);
    enum sw_msg_outcome *mout = sw_calloc(n, sizeof *mout);
    struct sw_err *merr = sw_calloc(n, sizeof *merr);
    bool *placed = sw_calloc(n, sizeof *placed);
    size_t *at = sw_calloc(n, sizeof *at), k = 0, good = 0;
    for (size_t i = 0; i < n; i++)
        if (decode_entry(b, v[i], &m[k], &out[i], &errs[i]) == 0)
            at[k++] = i;
    if (k > 0 && sw_usage_check_placed(b->db, m, k, placed, &errs[at[0]]) < 0) {
        if (errs[at[0]].code == SW_EUNAVAILABLE)
            b->suspect = true;
        goto out; /* all of them stay RETRY */
    }
    for (size_t j = 0; j < k; j++) {
        if (placed[j])
            m[good] = m[j], at[good++] = at[j];
        else
            refuse(b, v[at[j]], m[j].node_id, SW_REJECT_NOT_PLACED, &out[at[j]], &errs[at[j]]);
    }
    long stored = sw_usage_store_batch(b->db, m, good, mout, merr);
    for (size_t j = 0; j < good; j++) {
        out[at[j]] = mout[j];
        errs[at[j]] = merr[j];
        if (mout[j] == SW_MSG_POISON)
            sw_log_err(SW_LOG_WARN, "usage.rejected", &merr[j]);
        else if (mout[j] == SW_MSG_RETRY && merr[j].code == SW_EUNAVAILABLE)
            b->suspect = true;
    }
    sw_debug("usage.batch", "entries=%zu valid=%zu placed=%zu new=%ld", n, k, good, stored);
out:
    free(m);
    free(mout);
    free(merr);
    free(placed);
    free(at);
}

/* Every node's usage stream, listed from PostgreSQL. */
static int list_streams(void *ctx, char ***out, size_t *n, struct sw_err *err)
{
    struct billing *b = ctx;
    return sw_nodemsg_streams(b->db, SW_STREAM_USAGE_PREFIX, out, n, err);
}

static const struct sw_daemon daemon_info = {
    "billing",
    "usage: slipway-billing\n"
    "Stores usage samples from the Redis streams \"usage:<node>\" once each, keeps\n"
    "draft invoices current, finalizes months and runs dunning.\n"
    "Configured by environment variables; see slipwayctl config.\n",
};

/* The usage consumer's thread; arg is its struct sw_worker. */
static void *usage_main(void *arg)
{
    sw_worker_run(arg);
    return NULL;
}

/* The cycle's keys; 0, or -1 with err. */
static int load_cycle(struct sw_billing_cycle *cycle, const char *db_url, struct sw_err *err)
{
    long interval, due, grace;
    if (sw_conf_long("SLIPWAY_BILLING_INTERVAL", 1, 86400, &interval, err) < 0 ||
        sw_conf_long("SLIPWAY_INVOICE_DUE_DAYS", 0, 3650, &due, err) < 0 ||
        sw_conf_long("SLIPWAY_DUNNING_GRACE_DAYS", 0, 3650, &grace, err) < 0)
        return -1;
    *cycle = (struct sw_billing_cycle){db_url, interval, (int)due, (int)grace, sw_daemon_stopping,
                                       NULL};
    return 0;
}

/* Stops and joins a thread started before the start-up failed. */
static void stop_early(pthread_t t)
{
    sw_daemon_stop();
    pthread_join(t, NULL);
}

/* Starts the cycle thread, the hooks and the usage thread, waits for the
 * stop, and stops them in the opposite order. 0, or -1 with err. */
static int run(struct sw_billing_cycle *cycle, struct sw_worker *w, struct sw_err *err)
{
    pthread_t cycle_thread, usage_thread;
    if (pthread_create(&cycle_thread, NULL, sw_billing_cycle_run, cycle) != 0) {
        SW_ERR(err, SW_EINTERNAL, "could not start the billing cycle thread");
        return -1;
    }
    struct sw_hooks *hooks = sw_hooks_start(cycle->db_url, err);
    if (!hooks) {
        stop_early(cycle_thread);
        return -1;
    }
    if (pthread_create(&usage_thread, NULL, usage_main, w) != 0) {
        SW_ERR(err, SW_EINTERNAL, "could not start the usage thread");
        sw_hooks_stop(hooks);
        stop_early(cycle_thread);
        return -1;
    }
    sw_daemon_wait();
    pthread_join(usage_thread, NULL);
    sw_hooks_stop(hooks);
    pthread_join(cycle_thread, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    int status;
    if (sw_daemon_start(&daemon_info, argc, argv, &status) < 0)
        return status;
    struct sw_err err;
    sw_err_clear(&err);
    struct sw_daemon_conf dc = {0};
    struct sw_billing_cycle cycle;
    if (sw_daemon_conf_load(&dc, &err) < 0 || load_cycle(&cycle, dc.db_url, &err) < 0) {
        sw_daemon_conf_release(&dc);
        return sw_daemon_fail(&err);
    }
    struct billing b = {.db_url = dc.db_url, .redis_url = dc.redis_url};
    struct sw_consumer c = {
        .list_streams = list_streams,
        .group = SW_GROUP_BILLING,
        .consumer = dc.consumer,
        .min_idle_ms = dc.claim_idle_ms,
        .count = USAGE_BATCH,
        .handle_batch = handle_usage_batch,
        .ctx = &b,
    };
    sw_info("billing.started", "streams=usage:<node> group=%s consumer=%s claim_idle_ms=%ld",
            c.group, c.consumer, c.min_idle_ms);
    struct sw_worker w = {
        .name = "billing",
        .db_url = b.db_url,
        .redis_url = b.redis_url,
        .consumer = &c,
        .db = &b.db,
        .redis = &b.redis,
        .suspect = &b.suspect,
        .stopping = sw_daemon_stopping,
    };
    int rc = run(&cycle, &w, &err);
    sw_db_free(b.db);
    sw_redis_free(b.redis);
    if (rc < 0) {
        sw_daemon_conf_release(&dc);
        return sw_daemon_fail(&err);
    }
    sw_info("billing.stopped", "consumer=%s", c.consumer);
    sw_daemon_conf_release(&dc);
    return 0;
}
