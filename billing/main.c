/* slipway-billing: consumes stream "usage" (group "billing") and stores
 * each sample once; a second thread keeps draft invoices current,
 * finalizes months that are over and runs dunning (cycle.c). Webhooks are
 * the billing hooks'. SIGTERM or SIGINT stops it cleanly after the entry
 * in hand.
 */
#include "config.h"

#include "billing/cycle.h"
#include "billing/hooks.h"
#include "billing/usage.h"
#include "core/alloc.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/redis.h"
#include "core/worker.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

struct billing {
    const char *db_url, *redis_url;
    struct sw_db *db;
    struct sw_redis *redis;
    bool suspect; /* a dependency was unavailable: check before reading more */
};

/* Entries read at once: one XREADGROUP, one INSERT, one XACK per batch. */
#define USAGE_BATCH 5000

/* A batch of entries: the undecodable ones are poison at once, the rest
 * stored in one statement (sw_usage_store_batch singles out bad data). */
static void handle_usage_batch(void *ctx, const struct sw_stream_entry *const *v, size_t n,
                               enum sw_msg_outcome *out, struct sw_err *errs)
{
    struct billing *b = ctx;
    struct sw_msg_usage *m = sw_calloc(n, sizeof *m);
    enum sw_msg_outcome *mout = sw_calloc(n, sizeof *mout);
    struct sw_err *merr = sw_calloc(n, sizeof *merr);
    size_t *at = sw_calloc(n, sizeof *at), k = 0;
    for (size_t i = 0; i < n; i++) {
        if ((sw_usage_decode_fast(v[i]->payload, &m[k]) < 0 &&
             sw_msg_usage_decode(v[i]->payload, &m[k], &errs[i]) < 0) ||
            !sw_usage_id_valid(&m[k], &errs[i])) {
            out[i] = SW_MSG_POISON;
            sw_log_err(SW_LOG_WARN, "usage.rejected", &errs[i]);
            continue;
        }
        at[k++] = i;
    }
    long stored = sw_usage_store_batch(b->db, m, k, mout, merr);
    for (size_t j = 0; j < k; j++) {
        out[at[j]] = mout[j];
        errs[at[j]] = merr[j];
        if (mout[j] == SW_MSG_POISON)
            sw_log_err(SW_LOG_WARN, "usage.rejected", &merr[j]);
        else if (mout[j] == SW_MSG_RETRY && merr[j].code == SW_EUNAVAILABLE)
            b->suspect = true;
    }
    sw_debug("usage.batch", "entries=%zu valid=%zu new=%ld", n, k, stored);
    free(m);
    free(mout);
    free(merr);
    free(at);
}

static bool is_stopping(void *arg)
{
    (void)arg;
    return stopping != 0;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(argc > 1 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
                "usage: slipway-billing\n"
                "Stores usage samples from Redis stream \"usage\" once each, keeps\n"
                "draft invoices current, finalizes months and runs dunning.\n"
                "Configured by environment variables; see slipwayctl config.\n");
        return strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    if (sw_log_init("billing", sw_conf_get("SLIPWAY_LOG_LEVEL")) < 0) {
        fprintf(stderr, "slipway-billing: SLIPWAY_LOG_LEVEL must be debug, info, warn, "
                        "error or off\n");
        return 2;
    }
    if (sw_crypto_init() < 0) {
        sw_error("startup.failed", "msg=\"could not initialise libsodium\"");
        return 1;
    }
    struct sw_err err;
    sw_err_clear(&err);
    struct billing b = {0};
    long idle_ms = 0;
    b.db_url = sw_conf_require("SLIPWAY_DATABASE_URL", &err);
    b.redis_url = b.db_url ? sw_conf_require("SLIPWAY_REDIS_URL", &err) : NULL;
    long interval = 0, due = 0, grace = 0;
    if (!b.redis_url || sw_conf_long("SLIPWAY_CLAIM_IDLE_MS", 100, 86400000L, &idle_ms, &err) < 0 ||
        sw_conf_long("SLIPWAY_BILLING_INTERVAL", 1, 86400, &interval, &err) < 0 ||
        sw_conf_long("SLIPWAY_INVOICE_DUE_DAYS", 0, 3650, &due, &err) < 0 ||
        sw_conf_long("SLIPWAY_DUNNING_GRACE_DAYS", 0, 3650, &grace, &err) < 0) {
        sw_log_err(SW_LOG_ERROR, "startup.failed", &err);
        return 2;
    }
    char *consumer = sw_conf_consumer_name();

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    struct sw_consumer c = {
        .stream = SW_STREAM_USAGE,
        .group = SW_GROUP_BILLING,
        .consumer = consumer,
        .min_idle_ms = idle_ms,
        .count = USAGE_BATCH,
        .handle_batch = handle_usage_batch,
        .ctx = &b,
    };
    sw_info("billing.started", "stream=%s group=%s consumer=%s claim_idle_ms=%ld", c.stream,
            c.group, consumer, idle_ms);
    const struct sw_worker w = {
        .name = "billing",
        .db_url = b.db_url,
        .redis_url = b.redis_url,
        .consumer = &c,
        .db = &b.db,
        .redis = &b.redis,
        .suspect = &b.suspect,
        .stopping = is_stopping,
    };
    struct sw_billing_cycle cycle = {b.db_url, interval, (int)due, (int)grace, is_stopping, NULL};
    pthread_t cycle_thread;
    if (pthread_create(&cycle_thread, NULL, sw_billing_cycle_run, &cycle) != 0) {
        sw_error("startup.failed", "msg=\"could not start the billing cycle thread\"");
        return 1;
    }
    struct sw_hooks *hooks = sw_hooks_start(b.db_url, &err);
    if (!hooks) {
        sw_log_err(SW_LOG_ERROR, "startup.failed", &err);
        stopping = 1;
        pthread_join(cycle_thread, NULL);
        return 2;
    }
    sw_worker_run(&w);
    sw_hooks_stop(hooks);
    pthread_join(cycle_thread, NULL);
    sw_db_free(b.db);
    sw_redis_free(b.redis);
    sw_info("billing.stopped", "consumer=%s", c.consumer);
    free(consumer);
    return 0;
}
