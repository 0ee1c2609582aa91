/* prov.h - what the provisioner's threads share: configuration, the stop
 * flag, and the per-thread context (each thread owns its own PostgreSQL and
 * Redis connections; nothing else is shared between threads).
 */
#ifndef SW_PROV_H
#define SW_PROV_H

#include <stdbool.h>

#include "core/redis.h"

struct sw_db;
struct sw_err;
struct sw_redis;

struct sw_prov_conf {
    const char *db_url;    /* borrowed from the environment */
    const char *redis_url; /* borrowed from the environment */
    const char *consumer;  /* consumer name in Redis groups; borrowed */
    long claim_idle_ms;    /* reclaim stream entries idle this long */
    long job_silent_s;     /* re-dispatch a running job unanswered this long */
    long acl_interval_s;   /* re-apply the nodes' Redis users this often */
};

struct sw_prov_thread {
    const char *name; /* "relay", "jobs", "results", "sweeper", "acl"; static storage */
    const struct sw_prov_conf *conf;
    struct sw_db *db;       /* owned by the thread; NULL until connected */
    struct sw_redis *redis; /* owned by the thread; NULL until connected */
    /* Set by a handler that hit an unavailable dependency: the loop checks
     * the connections before reading more entries. */
    bool suspect;
};

/* The stop flag: set from the signal-handling thread, read by the others. */
void sw_prov_stop(void);
bool sw_prov_stopping(void);
/* Sleeps up to ms, waking early once sw_prov_stopping(). */
void sw_prov_sleep_ms(long ms);

/* Logs a thread's trouble: at warn when an outage starts (first), at debug
 * while it lasts, so one outage is one warning. */
void sw_prov_log_degraded(const char *thread, bool first, const struct sw_err *err);

/* Maps a handler's error to what happens to the stream entry: invalid or
 * not-found input is poison; anything else is retried later (and marks the
 * thread's connections suspect when a dependency was unavailable). */
enum sw_msg_outcome sw_prov_disposition(struct sw_prov_thread *t, const struct sw_err *err);

/* For the threads that are not stream consumers (relay, sweeper): opens
 * the thread's PostgreSQL and Redis connections, or re-opens a broken one.
 * 0, or -1 with err (unavailable). A new PostgreSQL connection has a new
 * backend pid, which is how the relay knows to LISTEN again. */
int sw_prov_connect(struct sw_prov_thread *t, struct sw_err *err);

/* Runs a consumer until stopped through core's sw_worker_run() on the
 * thread's own connections. c->ctx must be t. */
void sw_prov_run_consumer(struct sw_prov_thread *t, struct sw_consumer *c);

/* Thread entry points; arg is a struct sw_prov_thread *. */
void *sw_relay_main(void *arg);
void *sw_jobs_main(void *arg);
void *sw_results_main(void *arg);
void *sw_sweeper_main(void *arg);
void *sw_acl_main(void *arg);

/* Stream handlers (ctx is a struct sw_prov_thread *). */
enum sw_msg_outcome sw_jobs_handle(void *ctx, const struct sw_stream_entry *e, struct sw_err *err);
enum sw_msg_outcome sw_results_handle(void *ctx, const struct sw_stream_entry *e,
                                      struct sw_err *err);

#endif
