/* worker.h - the loop every stream-consuming thread runs.
 *
 * sw_worker_run() keeps the thread's connections up and steps its consumer
 * (redis.h) until told to stop: it connects PostgreSQL (when db_url is set)
 * and Redis, creates the group after every (re)connect, and on any failure
 * backs off (100 ms doubling to 5 s, jittered) and reconnects. One outage
 * is logged once at warn, its repeats at debug, and its end at info.
 *
 * The connections live in the caller's slots (db, redis), so handlers use
 * them directly; the caller frees them after the loop returns. A handler
 * that met an unavailable dependency sets *suspect: the loop then checks
 * both connections before it reads more.
 */
#ifndef SW_WORKER_H
#define SW_WORKER_H

#include <stdbool.h>

struct sw_consumer;
struct sw_db;
struct sw_redis;

struct sw_worker {
    const char *name;      /* for logs: "jobs", "billing", "engine" */
    const char *db_url;    /* NULL: this worker needs no database */
    const char *redis_url;
    struct sw_consumer *consumer;
    struct sw_db **db;       /* caller's slot; may be NULL when db_url is NULL */
    struct sw_redis **redis; /* caller's slot */
    bool *suspect;           /* caller's flag, or NULL */
    bool (*stopping)(void *arg);
    void *stop_arg;
};

void sw_worker_run(const struct sw_worker *w);

/* Next backoff delay: 0 -> 100 ms, doubling up to 5 s, with jitter. */
long sw_backoff_next(long prev_ms);
/* Sleeps up to ms in steps of at most 100 ms, returning early once
 * stopping(arg) is true. */
void sw_sleep_ms(long ms, bool (*stopping)(void *arg), void *arg);

#endif
