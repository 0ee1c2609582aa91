#include "config.h"
#include "core/worker.h"
#include "core/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/redis.h"

#include <sodium.h>
#include <time.h>

long sw_backoff_next(long prev_ms)
{
    long next = prev_ms <= 0 ? 100 : prev_ms * 2;
    if (next > 5000)
        next = 5000;
    return next / 2 + (long)randombytes_uniform((uint32_t)(next / 2) + 1);
}

void sw_sleep_ms(long ms, bool (*stopping)(void *arg), void *arg)
{
    while (ms > 0 && !stopping(arg)) {
        long step = ms < 100 ? ms : 100;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

/* Makes sure the connections are up and the group exists; 0 when ready. */
static int connect_all(const struct sw_worker *w, bool suspect, struct sw_err *err)
{
    if (w->db_url) {
        if (!*w->db) {
            *w->db = sw_db_connect(w->db_url, err);
            if (!*w->db)
                return -1;
        } else if (suspect && sw_db_run(*w->db, err, "SELECT 1", 0, NULL) < 0) {
            return -1; /* sw_db_run resets a broken connection outside a transaction */
        }
    }
    if (!*w->redis) {
        *w->redis = sw_redis_connect(w->redis_url, err);
        if (!*w->redis)
            return -1;
    } else if (sw_redis_broken(*w->redis) || suspect) {
        if (sw_redis_reconnect(*w->redis, err) < 0)
            return -1;
    } else {
        return 0;
    }
    /* A fresh connection: Redis may have restarted empty, so (re)create the group. */
    return sw_consumer_setup(*w->redis, w->consumer, err);
}

void sw_worker_run(const struct sw_worker *w)
{
    bool down = false, local_suspect = false;
    bool *suspect = w->suspect ? w->suspect : &local_suspect;
    long backoff = 0;
    sw_info("worker.started", "worker=%s stream=%s group=%s consumer=%s", w->name,
            w->consumer->list_streams ? "(one per node)" : w->consumer->stream,
            w->consumer->group, w->consumer->consumer);
    while (!w->stopping(w->stop_arg)) {
        struct sw_err err;
        sw_err_clear(&err);
        if (connect_all(w, *suspect, &err) < 0 ||
            (*suspect = false, sw_consumer_step(*w->redis, w->consumer, &err) < 0)) {
            sw_log_err(down ? SW_LOG_DEBUG : SW_LOG_WARN, "worker.degraded", &err);
            down = true;
            *suspect = true;
            backoff = sw_backoff_next(backoff);
            sw_sleep_ms(backoff, w->stopping, w->stop_arg);
            continue;
        }
        if (*suspect)
            continue; /* a handler met an outage: check before reading more */
        if (down)
            sw_info("worker.recovered", "worker=%s", w->name);
        down = false;
        backoff = 0;
    }
    sw_consumer_release(w->consumer);
    sw_info("worker.stopped", "worker=%s", w->name);
}
