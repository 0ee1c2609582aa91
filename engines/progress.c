/* progress.c - a running job's progress reports (progress.h). */
#include "config.h"
#include "engines/progress.h"
#include "engines/kind.h"
#include "core/alloc.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/redis.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sw_engine_progress {
    struct sw_msg_progress msg;
    char stream[64];
    const char *url;      /* borrowed from the configuration */
    struct sw_redis *redis; /* made at the first report */
    bool off;             /* a send failed: quiet for the rest of the job */
    long long last_ms;
    int last_tenth;       /* -1: nothing sent yet */
};

static int tenth(uint64_t done, uint64_t total)
{
    return total ? (int)((long double)done * 10 / (long double)total) : 0;
}

bool sw_engine_progress_due(long long now_ms, long long last_ms, int last_tenth, uint64_t done,
                            uint64_t total)
{
    return last_tenth < 0 || done >= total || tenth(done, total) > last_tenth ||
           now_ms - last_ms >= SW_PROGRESS_INTERVAL_MS;
}

struct sw_engine_progress *sw_engine_progress_new(const struct sw_engine *eng,
                                                  const struct sw_msg_node_job *job)
{
    const char *url = sw_conf_get("SLIPWAY_REDIS_URL");
    if (!url || !*url || !eng->node_id || !job->nonce[0])
        return NULL;
    struct sw_engine_progress *p = sw_calloc(1, sizeof *p);
    struct sw_msg_progress *m = &p->msg;
    snprintf(m->job_id, sizeof m->job_id, "%s", job->job_id);
    snprintf(m->server_id, sizeof m->server_id, "%s", job->server_id);
    snprintf(m->node_id, sizeof m->node_id, "%s", eng->node_id);
    snprintf(m->nonce, sizeof m->nonce, "%s", job->nonce);
    m->type = job->type;
    unsigned char run[SW_PROGRESS_RUN_LEN / 2];
    randombytes_buf(run, sizeof run);
    sodium_bin2hex(m->run, sizeof m->run, run, sizeof run);
    sw_msg_results_stream(eng->node_id, p->stream);
    p->url = url;
    p->last_tenth = -1;
    return p;
}

/* Sends p->msg; a failure turns the reports off for this job (logged once). */
static void send(struct sw_engine_progress *p)
{
    struct sw_err err;
    sw_err_clear(&err);
    if (!p->redis)
        p->redis = sw_redis_connect(p->url, &err);
    SW_AUTOFREE char *payload = p->redis ? sw_msg_progress_encode(&p->msg) : NULL;
    SW_AUTOFREE char *id = payload ? sw_stream_add(p->redis, p->stream, payload, &err) : NULL;
    if (!id) {
        sw_log_err(SW_LOG_WARN, "progress.unsent", &err);
        p->off = true;
    }
}

void sw_engine_progress_report(struct sw_engine_progress *p, uint64_t done, uint64_t total)
{
    if (!p || p->off || total == 0 || done > total || total > INT64_MAX)
        return;
    long long now = sw_now_ms();
    if (!sw_engine_progress_due(now, p->last_ms, p->last_tenth, done, total))
        return;
    p->msg.done = (int64_t)done;
    p->msg.total = (int64_t)total;
    p->last_ms = now;
    p->last_tenth = tenth(done, total);
    send(p);
}

void sw_engine_progress_free(struct sw_engine_progress *p)
{
    if (!p)
        return;
    sw_redis_free(p->redis);
    free(p);
}
