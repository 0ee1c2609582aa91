/* slipway-provisioner: outbox relay, jobs consumer and results consumer,
 * one thread each, each with its own PostgreSQL and Redis connection.
 * SIGTERM or SIGINT stops it cleanly (threads finish the entry in hand).
 */
#include "config.h"

#include "core/alloc.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/redis.h"
#include "provisioner/prov.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
    const char *name;
    void *(*main)(void *);
} threads[] = {
    {"relay", sw_relay_main},
    {"jobs", sw_jobs_main},
    {"results", sw_results_main},
    {"sweeper", sw_sweeper_main},
};

#define NTHREADS (sizeof threads / sizeof threads[0])

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: slipway-provisioner\n"
               "Relays the outbox to Redis, places and dispatches jobs, applies results.\n"
               "Configured by environment variables; see slipwayctl config.\n");
    return rc;
}

static int load_conf(struct sw_prov_conf *conf, char **owned_consumer, struct sw_err *err)
{
    conf->db_url = sw_conf_require("SLIPWAY_DATABASE_URL", err);
    conf->redis_url = conf->db_url ? sw_conf_require("SLIPWAY_REDIS_URL", err) : NULL;
    if (!conf->redis_url ||
        sw_conf_long("SLIPWAY_CLAIM_IDLE_MS", 100, 86400000L, &conf->claim_idle_ms, err) < 0 ||
        sw_conf_long("SLIPWAY_JOB_SILENT_S", 1, 86400L, &conf->job_silent_s, err) < 0)
        return -1;
    *owned_consumer = sw_conf_consumer_name();
    conf->consumer = *owned_consumer;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return strcmp(argv[1], "--help") == 0 ? usage(stdout, 0) : usage(stderr, 2);
    if (sw_log_init("provisioner", sw_conf_get("SLIPWAY_LOG_LEVEL")) < 0) {
        fprintf(stderr, "slipway-provisioner: SLIPWAY_LOG_LEVEL must be debug, info, warn, "
                        "error or off\n");
        return 2;
    }
    if (sw_crypto_init() < 0) {
        sw_error("startup.failed", "msg=\"could not initialise libsodium\"");
        return 1;
    }
    struct sw_err err;
    sw_err_clear(&err);
    struct sw_prov_conf conf = {0};
    char *consumer = NULL;
    if (load_conf(&conf, &consumer, &err) < 0) {
        sw_log_err(SW_LOG_ERROR, "startup.failed", &err);
        return 2;
    }

    /* Signals go to this thread only (sigwait); a Redis peer closing is an
     * error return, not a SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    struct sw_prov_thread ctx[NTHREADS];
    pthread_t tid[NTHREADS];
    memset(ctx, 0, sizeof ctx);
    sw_info("provisioner.started", "consumer=%s claim_idle_ms=%ld job_silent_s=%ld threads=%zu",
            conf.consumer, conf.claim_idle_ms, conf.job_silent_s, NTHREADS);
    size_t started = 0;
    for (size_t i = 0; i < NTHREADS; i++) {
        ctx[i].name = threads[i].name;
        ctx[i].conf = &conf;
        int rc = pthread_create(&tid[i], NULL, threads[i].main, &ctx[i]);
        if (rc != 0) {
            sw_error("startup.failed", "msg=\"could not start thread %s\" errno=%d",
                     threads[i].name, rc);
            sw_prov_stop();
            break;
        }
        started++;
    }

    int sig = 0;
    if (!sw_prov_stopping())
        sigwait(&set, &sig);
    sw_info("provisioner.stopping", "signal=%d", sig);
    sw_prov_stop();
    for (size_t i = 0; i < started; i++) {
        pthread_join(tid[i], NULL);
        sw_db_free(ctx[i].db);
        sw_redis_free(ctx[i].redis);
    }
    free(consumer);
    sw_info("provisioner.stopped", "signal=%d", sig);
    return started == NTHREADS ? 0 : 1;
}
