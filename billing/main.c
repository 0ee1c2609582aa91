/* slipway-billing: consumes stream "usage" (group "billing") and stores
 * each sample once. Rating, invoices and webhooks come in a later issue.
 * SIGTERM or SIGINT stops it cleanly after the entry in hand.
 */
#include "config.h"

#include "billing/usage.h"
#include "core/alloc.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/redis.h"

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

static enum sw_msg_outcome handle_usage(void *ctx, const struct sw_stream_entry *e,
                                        struct sw_err *err)
{
    struct billing *b = ctx;
    struct sw_msg_usage m;
    if (sw_msg_usage_decode(e->payload, &m, err) < 0 || !sw_usage_id_valid(&m, err))
        return SW_MSG_POISON;
    int rc = sw_usage_store(b->db, &m, err);
    if (rc < 0) {
        enum sw_msg_outcome r = sw_usage_disposition(err);
        if (r == SW_MSG_POISON)
            sw_log_err(SW_LOG_WARN, "usage.rejected", err);
        else if (err->code == SW_EUNAVAILABLE)
            b->suspect = true;
        return r;
    }
    sw_debug("usage.stored", "sample=%s server=%s new=%d", m.sample_id, m.server_id, rc);
    return SW_MSG_DONE;
}

static void sleep_ms(long ms)
{
    while (ms > 0 && !stopping) {
        long step = ms < 100 ? ms : 100;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

static long next_backoff(long prev)
{
    long next = prev <= 0 ? 100 : prev * 2;
    if (next > 5000)
        next = 5000;
    return next / 2 + (long)randombytes_uniform((uint32_t)(next / 2) + 1);
}

static int connect_all(struct billing *b, struct sw_consumer *c, struct sw_err *err)
{
    if (!b->db) {
        b->db = sw_db_connect(b->db_url, err);
        if (!b->db)
            return -1;
    } else if (b->suspect && sw_db_run(b->db, err, "SELECT 1", 0, NULL) < 0) {
        return -1;
    }
    if (!b->redis) {
        b->redis = sw_redis_connect(b->redis_url, err);
        if (!b->redis || sw_consumer_setup(b->redis, c, err) < 0)
            return -1;
    } else if (sw_redis_broken(b->redis) || b->suspect) {
        if (sw_redis_reconnect(b->redis, err) < 0 || sw_consumer_setup(b->redis, c, err) < 0)
            return -1;
    }
    b->suspect = false;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(argc > 1 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
                "usage: slipway-billing\n"
                "Stores usage samples from Redis stream \"usage\" once each.\n"
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
    if (!b.redis_url || sw_conf_long("SLIPWAY_CLAIM_IDLE_MS", 100, 86400000L, &idle_ms, &err) < 0) {
        sw_log_err(SW_LOG_ERROR, "startup.failed", &err);
        return 2;
    }
    char *owned = NULL;
    const char *consumer = sw_conf_get("SLIPWAY_CONSUMER");
    if (!consumer) {
        char host[256];
        if (gethostname(host, sizeof host) < 0)
            snprintf(host, sizeof host, "billing");
        host[sizeof host - 1] = '\0';
        consumer = owned = sw_asprintf("%s-%ld", host, (long)getpid());
    }

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
        .handle = handle_usage,
        .ctx = &b,
    };
    sw_info("billing.started", "stream=%s group=%s consumer=%s claim_idle_ms=%ld", c.stream,
            c.group, consumer, idle_ms);
    long backoff = 0;
    bool down = false;
    while (!stopping) {
        sw_err_clear(&err);
        if (connect_all(&b, &c, &err) < 0 || sw_consumer_step(b.redis, &c, &err) < 0) {
            sw_log_err(down ? SW_LOG_DEBUG : SW_LOG_WARN, "billing.degraded", &err);
            down = true;
            b.suspect = true;
            backoff = next_backoff(backoff);
            sleep_ms(backoff);
            continue;
        }
        if (down)
            sw_info("billing.recovered", "consumer=%s", consumer);
        down = false;
        backoff = 0;
    }
    sw_db_free(b.db);
    sw_redis_free(b.redis);
    sw_info("billing.stopped", "consumer=%s", c.consumer);
    free(owned);
    return 0;
}
