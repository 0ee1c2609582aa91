/* worker.c - what the provisioner's threads share: the stop flag, the
 * error-to-outcome mapping, and the consumer loop (core's sw_worker_run on
 * each thread's own connections).
 */
#include "config.h"

#include "core/daemon.h"
#include "core/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/redis.h"
#include "provisioner/prov.h"

#include "core/worker.h"


void sw_prov_stop(void)
{
    sw_daemon_stop();
}

bool sw_prov_stopping(void)
{
    return sw_daemon_stopping(NULL);
}

void sw_prov_sleep_ms(long ms)
{
    sw_sleep_ms(ms, sw_daemon_stopping, NULL);
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

void sw_prov_run_consumer(struct sw_prov_thread *t, struct sw_consumer *c)
{
    const struct sw_worker w = {
        .name = t->name,
        .db_url = t->conf->db_url,
        .redis_url = t->conf->redis_url,
        .consumer = c,
        .db = &t->db,
        .redis = &t->redis,
        .suspect = &t->suspect,
        .stopping = sw_daemon_stopping,
    };
    sw_worker_run(&w);
}

int sw_prov_connect(struct sw_prov_thread *t, struct sw_err *err)
{
    if (!t->db) {
        t->db = sw_db_connect(t->conf->db_url, err);
        if (!t->db)
            return -1;
    } else if (PQstatus(sw_db_conn(t->db)) != CONNECTION_OK) {
        PQreset(sw_db_conn(t->db));
        if (PQstatus(sw_db_conn(t->db)) != CONNECTION_OK) {
            SW_ERR_RETRY(err, SW_EUNAVAILABLE, "could not reconnect to the database");
            sw_err_detail(err, "%s", PQerrorMessage(sw_db_conn(t->db)));
            return -1;
        }
    }
    if (!t->redis) {
        t->redis = sw_redis_connect(t->conf->redis_url, err);
        if (!t->redis)
            return -1;
    } else if (sw_redis_broken(t->redis) && sw_redis_reconnect(t->redis, err) < 0) {
        return -1;
    }
    return 0;
}
