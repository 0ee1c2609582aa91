/* worker.c - the loop every consumer thread runs: keep a PostgreSQL and a
 * Redis connection (reconnecting with backoff), and step the consumer.
 * An outage is logged once when it starts and once when it ends.
 */
#include "config.h"

#include "core/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/redis.h"
#include "provisioner/prov.h"

#include <sodium.h>
#include <stdatomic.h>
#include <time.h>

static atomic_bool stopping;

void sw_prov_stop(void)
{
    atomic_store(&stopping, true);
}

bool sw_prov_stopping(void)
{
    return atomic_load(&stopping);
}

void sw_prov_sleep_ms(long ms)
{
    while (ms > 0 && !sw_prov_stopping()) {
        long step = ms < 100 ? ms : 100;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

long sw_prov_backoff(long prev_ms)
{
    long next = prev_ms <= 0 ? 100 : prev_ms * 2;
    if (next > 5000)
        next = 5000;
    return next / 2 + (long)randombytes_uniform((uint32_t)(next / 2) + 1);
}

enum sw_msg_outcome sw_prov_disposition(struct sw_prov_thread *t, const struct sw_err *err)
{
    if (err->code == SW_EINVALID || err->code == SW_ENOTFOUND) {
        sw_log_err(SW_LOG_WARN, "message.poison", err);
        return SW_MSG_POISON;
    }
    if (err->code == SW_EUNAVAILABLE)
        t->suspect = true;
    return SW_MSG_RETRY;
}

void sw_prov_log_degraded(const char *thread, bool first, const struct sw_err *err)
{
    enum sw_log_level lvl = first ? SW_LOG_WARN : SW_LOG_DEBUG;
    if (lvl < sw_log_level)
        return;
    char m[600], d[1100];
    sw_log_emit(lvl, "thread.degraded", "thread=%s code=%s retryable=%d msg=%s detail=%s", thread,
                sw_errc_name(err->code), err->retryable ? 1 : 0,
                sw_log_quote(m, sizeof m, err->msg), sw_log_quote(d, sizeof d, err->detail));
}

/* Makes sure both connections are up; 0 when ready. */
static int connect_all(struct sw_prov_thread *t, struct sw_consumer *c, struct sw_err *err)
{
    if (!t->db) {
        t->db = sw_db_connect(t->conf->db_url, err);
        if (!t->db)
            return -1;
    } else if (t->suspect) {
        /* sw_db_run resets a broken connection outside a transaction. */
        if (sw_db_run(t->db, err, "SELECT 1", 0, NULL) < 0)
            return -1;
    }
    if (!t->redis) {
        t->redis = sw_redis_connect(t->conf->redis_url, err);
        if (!t->redis)
            return -1;
        if (c && sw_consumer_setup(t->redis, c, err) < 0)
            return -1;
    } else if (sw_redis_broken(t->redis) || t->suspect) {
        if (sw_redis_reconnect(t->redis, err) < 0)
            return -1;
        if (c && sw_consumer_setup(t->redis, c, err) < 0)
            return -1;
    }
    t->suspect = false;
    return 0;
}

void sw_worker_run(struct sw_prov_thread *t, struct sw_consumer *c)
{
    long backoff = 0;
    bool down = false;
    sw_info("thread.started", "thread=%s stream=%s group=%s consumer=%s", t->name, c->stream,
            c->group, c->consumer);
    while (!sw_prov_stopping()) {
        struct sw_err err;
        sw_err_clear(&err);
        if (connect_all(t, c, &err) < 0 || sw_consumer_step(t->redis, c, &err) < 0) {
            sw_prov_log_degraded(t->name, !down, &err);
            down = true;
            t->suspect = true;
            backoff = sw_prov_backoff(backoff);
            sw_prov_sleep_ms(backoff);
            continue;
        }
        if (t->suspect)
            continue; /* a handler hit an outage: check before calling it over */
        if (down)
            sw_info("thread.recovered", "thread=%s", t->name);
        down = false;
        backoff = 0;
    }
    sw_info("thread.stopped", "thread=%s", t->name);
}
