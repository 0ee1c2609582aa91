/* slipway-provisioner: outbox relay, jobs consumer, results consumer,
 * sweeper and the nodes' Redis users (acl.c), one thread each, each with its own PostgreSQL and Redis connection.
 * SIGTERM or SIGINT stops it cleanly (threads finish the entry in hand):
 * core/daemon.h takes the signals in main; the threads poll
 * sw_prov_stopping(), which is the daemon's stop flag.
 */
#include "config.h"

#include "core/conf.h"
#include "core/daemon.h"
#include "core/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/redis.h"
#include "provisioner/backup_gc.h"
#include "provisioner/backups.h"
#include "provisioner/health.h"
#include "provisioner/evac.h"
#include "provisioner/prov.h"

#include <pthread.h>
#include <string.h>

static const struct {
    const char *name;
    void *(*main)(void *);
} threads[] = {
    {"relay", sw_relay_main},
    {"jobs", sw_jobs_main},
    {"results", sw_results_main},
    {"sweeper", sw_sweeper_main},
    {"acl", sw_acl_main},
    {"backups", sw_backups_scheduler_main}, /* provisioner/backups.c */
    {"backup-gc", sw_backup_gc_main},       /* provisioner/backup_gc.c */
    {"health", sw_health_main},             /* provisioner/health.c */
    {"evacuate", sw_evac_main},             /* provisioner/evac.c */
};

#define NTHREADS (sizeof threads / sizeof threads[0])

static const struct sw_daemon daemon_info = {
    "provisioner",
    "usage: slipway-provisioner\n"
    "Relays the outbox to Redis, places and dispatches jobs, applies results.\n"
    "Configured by environment variables; see slipwayctl config.\n",
};

static int load_conf(struct sw_prov_conf *conf, struct sw_daemon_conf *dc, struct sw_err *err)
{
    if (sw_daemon_conf_load(dc, err) < 0 ||
        sw_conf_long("SLIPWAY_JOB_SILENT_S", 1, 86400L, &conf->job_silent_s, err) < 0 ||
        sw_conf_long("SLIPWAY_ACL_INTERVAL", 1, 3600L, &conf->acl_interval_s, err) < 0)
        return -1;
    conf->db_url = dc->db_url;
    conf->redis_url = dc->redis_url;
    conf->claim_idle_ms = dc->claim_idle_ms;
    conf->consumer = dc->consumer;
    return 0;
}

int main(int argc, char **argv)
{
    int status;
    if (sw_daemon_start(&daemon_info, argc, argv, &status) < 0)
        return status;
    struct sw_err err;
    sw_err_clear(&err);
    struct sw_prov_conf conf = {0};
    struct sw_daemon_conf dc = {0};
    if (load_conf(&conf, &dc, &err) < 0) {
        sw_daemon_conf_release(&dc);
        return sw_daemon_fail(&err);
    }

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

    int sig = sw_daemon_wait();
    for (size_t i = 0; i < started; i++) {
        pthread_join(tid[i], NULL);
        sw_db_free(ctx[i].db);
        sw_redis_free(ctx[i].redis);
    }
    sw_daemon_conf_release(&dc);
    sw_info("provisioner.stopped", "signal=%d", sig);
    return started == NTHREADS ? 0 : 1;
}
