/* engine.c - slipway-engine, the daemon of one node.
 *
 * Threads: main (setup, then waits for SIGTERM/SIGINT), the consumer (stream
 * "node:<id>", group "engine": runs each job through the driver table,
 * XADDs its result to "results", and only then lets the entry be ACKed),
 * and the sampler (usage samples to "usage" every SLIPWAY_USAGE_INTERVAL
 * seconds, aligned to the interval; the node heartbeat in PostgreSQL every
 * SLIPWAY_HEARTBEAT_INTERVAL seconds). Each thread has its own Redis
 * connection; the one libvirt connection is shared and stays open for the
 * life of the process. See engines/README.md.
 */
#include "config.h"
#include "engines/balloon.h"
#include "engines/console.h"
#include "engines/domdef.h"
#include "engines/domfile.h"
#include "engines/driver.h"
#include "engines/image.h"
#include "engines/job.h"
#include "engines/nodedb.h"
#include "engines/nwfilter.h"
#include "engines/reconcile.h"
#include "engines/storage.h"
#include "engines/usage.h"
#include "engines/virt.h"
#include "core/alloc.h"
#include "core/balloon_conf.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/daemon.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/redis.h"
#include "core/seal.h"
#include "core/worker.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define USAGE_QUEUE_MAX 10000 /* unsent samples kept while Redis is down */
/* The consumer waits at most this long for the first reconciliation pass. */
#define FIRST_PASS_WAIT_MS 30000
#define SW_ENGINE_MAX_POOLS 16

struct engine {
    /* configuration */
    sw_uuid_t node_id;
    const char *db_url;
    const char *redis_url;
    const char *templates_dir;
    struct sw_engine_net net; /* SLIPWAY_NETWORK */
    char consumer[128];
    char stream[64];
    long usage_interval_s;
    long heartbeat_interval_s;
    long claim_idle_ms;
    long reconcile_interval_s;
    long balloon_interval_s;
    const char *balloon_source;
    const char *domains_file; /* NULL: not written */
    unsigned char secret_key[SW_SEAL_KEY_BYTES]; /* when has_secret_key; wiped at exit */
    bool has_secret_key;
    struct sw_image_source images; /* where images come from, when images.panel_url */

    /* the node */
    char *uri;
    virConnectPtr conn;
    struct sw_engine eng;
    struct sw_usage *usage;
    struct sw_db *db; /* the sampler thread's once it runs */
    struct sw_nodedb *nodedb; /* ledger, reconciliation, balloon policy, events, pools */
    struct sw_engine_pool pools[SW_ENGINE_MAX_POOLS]; /* node_pools, read at start */

    /* the consumer thread's Redis connection, for the handler */
    struct sw_redis *consumer_redis;

    /* Held while a job runs and while reconciliation restores a domain, so
     * the two never act on one server at once. */
    pthread_mutex_t job_mu;

    atomic_bool stopping;
    bool reconciled; /* the first reconciliation pass is done (under mu) */
    /* A heartbeat found the node's beats had stopped (the engine paused, the
     * database out of reach): the control plane may have moved its servers,
     * so a pass runs at once (under mu). */
    bool reconcile_now;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* broadcast when stopping, and after the first pass */
};

/* ---- configuration ---- */

static const struct num_key {
    const char *name;
    long min, max;
    size_t offset;
} num_keys[] = {
    {"SLIPWAY_USAGE_INTERVAL", 1, 86400, offsetof(struct engine, usage_interval_s)},
    {"SLIPWAY_HEARTBEAT_INTERVAL", 1, 3600, offsetof(struct engine, heartbeat_interval_s)},
    {"SLIPWAY_CLAIM_IDLE_MS", 1000, 86400000, offsetof(struct engine, claim_idle_ms)},
    {"SLIPWAY_RECONCILE_INTERVAL", 1, 86400, offsetof(struct engine, reconcile_interval_s)},
    {"SLIPWAY_BALLOON_INTERVAL", 1, 3600, offsetof(struct engine, balloon_interval_s)},
};

/* The node's secret key (optional: without it, jobs carrying a sealed
 * secret fail). A bad value is a configuration error that never shows it. */
static int load_secret_key(struct engine *e, struct sw_err *err)
{
    const char *v = sw_conf_get("SLIPWAY_NODE_SECRET_KEY");
    if (!v || !v[0])
        return 0;
    if (sw_seal_key_parse(v, "SLIPWAY_NODE_SECRET_KEY", e->secret_key, err) < 0)
        return -1;
    e->has_secret_key = true;
    return 0;
}

/* Where the node fetches its servers' images (optional: without
 * SLIPWAY_PANEL_URL, images must already be in its pools). */
static int load_image_source(struct engine *e, struct sw_err *err)
{
    const char *url = sw_conf_get("SLIPWAY_PANEL_URL");
    if (!url || !url[0])
        return 0;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        SW_ERR(err, SW_EINVALID, "SLIPWAY_PANEL_URL must be an http:// or https:// URL");
        return -1;
    }
    const char *token = sw_conf_get("SLIPWAY_NODE_TOKEN");
    if (!token || !token[0]) {
        SW_ERR(err, SW_EINVALID, "SLIPWAY_PANEL_URL needs SLIPWAY_NODE_TOKEN (from the node's enrolment)");
        return -1;
    }
    const char *ca = sw_conf_get("SLIPWAY_PANEL_CACERT");
    e->images = (struct sw_image_source){
        .panel_url = url, .token = token, .cacert = ca && ca[0] ? ca : NULL};
    return 0;
}

static int load_config(struct engine *e, struct sw_err *err)
{
    const char *node = sw_conf_require("SLIPWAY_NODE_ID", err);
    if (!node)
        return -1;
    if (!sw_uuid_valid(node)) {
        SW_ERR(err, SW_EINVALID, "SLIPWAY_NODE_ID must be a UUID, not \"%s\"", node);
        return -1;
    }
    snprintf(e->node_id, sizeof e->node_id, "%s", node);
    sw_msg_node_stream(e->node_id, e->stream);
    for (size_t i = 0; i < sizeof num_keys / sizeof num_keys[0]; i++)
        if (sw_conf_long(num_keys[i].name, num_keys[i].min, num_keys[i].max,
                         (long *)((char *)e + num_keys[i].offset), err) < 0)
            return -1;
    if (!(e->db_url = sw_conf_require("SLIPWAY_DATABASE_URL", err)) ||
        !(e->redis_url = sw_conf_require("SLIPWAY_REDIS_URL", err)) ||
        !(e->templates_dir = sw_conf_require("SLIPWAY_TEMPLATES_DIR", err)) ||
        !(e->balloon_source = sw_conf_require("SLIPWAY_BALLOON_SOURCE", err)))
        return -1;
    const char *net = sw_conf_require("SLIPWAY_NETWORK", err);
    if (!net || sw_domdef_net_parse(net, &e->net, err) < 0)
        return -1;
    e->domains_file = sw_conf_get("SLIPWAY_DOMAINS_FILE");
    if (e->domains_file && !e->domains_file[0])
        e->domains_file = NULL;
    if (load_secret_key(e, err) < 0 || load_image_source(e, err) < 0)
        return -1;
    SW_AUTOFREE char *consumer = sw_conf_consumer_name();
    snprintf(e->consumer, sizeof e->consumer, "%s", consumer);
    return 0;
}

/* Reads the node's row: its libvirt URI and the kinds it hosts. */
static int load_node(struct engine *e, struct sw_err *err)
{
    PGresult *res = sw_db_exec(e->db, err,
                               "SELECT engine_uri, array_to_string(kinds, ',') FROM nodes "
                               "WHERE id = $1",
                               SW_PARAMS(e->node_id));
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        SW_ERR(err, SW_ENOTFOUND, "node %s is not registered", e->node_id);
        return -1;
    }
    e->uri = sw_strdup(sw_db_get(res, 0, 0));
    SW_AUTOFREE char *kinds = sw_strdup(sw_db_get(res, 0, 1) ? sw_db_get(res, 0, 1) : "");
    PQclear(res);
    char *save = NULL;
    for (char *k = strtok_r(kinds, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
        int kind = sw_plan_kind_parse(k);
        if (kind >= 0)
            e->eng.kinds |= 1u << kind;
    }
    if (!e->eng.kinds) {
        SW_ERR(err, SW_EINVALID, "node %s hosts no known plan kind", e->node_id);
        return -1;
    }
    return 0;
}

/* ---- waiting ---- */

static bool stopping(struct engine *e)
{
    return atomic_load(&e->stopping);
}

/* Sleeps ms, until the engine stops, or (when kick is not NULL) until
 * *kick is set, which it clears; all under mu. False when it stops. */
static bool nap_until(struct engine *e, long ms, bool *kick)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&e->mu);
    while (!stopping(e) && !(kick && *kick) && pthread_cond_timedwait(&e->cv, &e->mu, &ts) == 0)
        ;
    if (kick)
        *kick = false;
    pthread_mutex_unlock(&e->mu);
    return !stopping(e);
}

/* Sleeps ms or until the engine stops; false when it stops. */
static bool nap(struct engine *e, long ms)
{
    return nap_until(e, ms, NULL);
}

/* Logs the first failure of an outage as an error, the rest at debug. */
static void log_outage(bool *down, const char *event, const struct sw_err *err)
{
    sw_log_err(*down ? SW_LOG_DEBUG : SW_LOG_ERROR, event, err);
    *down = true;
}

/* ---- consumer ---- */

static enum sw_msg_outcome on_entry(void *ctx, const struct sw_stream_entry *entry,
                                   struct sw_err *err)
{
    struct engine *e = ctx;
    struct sw_msg_result res;
    pthread_mutex_lock(&e->job_mu);
    int rc = sw_engine_job_handle(&e->eng, e->usage, entry->payload, &res, err);
    pthread_mutex_unlock(&e->job_mu);
    if (rc < 0)
        return SW_MSG_POISON;
    SW_AUTOFREE char *payload = sw_msg_result_encode(&res);
    char stream[64];
    SW_AUTOFREE char *id = sw_stream_add(e->consumer_redis,
                                         sw_msg_results_stream(e->node_id, stream), payload, err);
    /* Not published: leave the entry pending. It comes back after the claim
     * idle time and the job runs again, which is harmless (idempotent). */
    if (!id)
        return SW_MSG_RETRY;
    return SW_MSG_DONE;
}

static bool stopping_cb(void *arg)
{
    return stopping(arg);
}

/* Jobs wait for the first reconciliation pass: on a rebooted test node (or
 * a host that lost its domains) a job that came first would find its
 * server's domain missing and fail with not_found. Bounded, so a database
 * that stays down does not hold the node's jobs forever. */
static void wait_first_pass(struct engine *e)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += FIRST_PASS_WAIT_MS / 1000;
    pthread_mutex_lock(&e->mu);
    while (!e->reconciled && !stopping(e) &&
           pthread_cond_timedwait(&e->cv, &e->mu, &ts) == 0)
        ;
    bool done = e->reconciled;
    pthread_mutex_unlock(&e->mu);
    if (!done && !stopping(e))
        sw_warn("engine.unreconciled", "waited_ms=%d", FIRST_PASS_WAIT_MS);
}

static void *consumer_main(void *arg)
{
    struct engine *e = arg;
    wait_first_pass(e);
    struct sw_consumer c = {
        .stream = e->stream,
        .group = SW_GROUP_ENGINE,
        .consumer = e->consumer,
        .block_ms = 1000,
        .min_idle_ms = e->claim_idle_ms,
        .handle = on_entry,
        .ctx = e,
        /* The node's stream has one reader, this group: an entry it has
         * answered (result published) and acked is deleted, so old jobs
         * and their sealed secrets do not sit in the stream. */
        .delete_done = true,
    };
    const struct sw_worker w = {
        .name = "engine",
        .redis_url = e->redis_url,
        .consumer = &c,
        .redis = &e->consumer_redis,
        .stopping = stopping_cb,
        .stop_arg = e,
    };
    sw_worker_run(&w);
    sw_redis_free(e->consumer_redis);
    e->consumer_redis = NULL;
    return NULL;
}

/* ---- sampler and heartbeat ---- */

struct usage_queue {
    size_t n;
    char *v[USAGE_QUEUE_MAX];
};

static void queue_push(struct usage_queue *q, char *payload)
{
    if (q->n == USAGE_QUEUE_MAX) {
        sw_warn("usage.dropped", "reason=queue_full max=%d", USAGE_QUEUE_MAX);
        free(q->v[0]);
        memmove(q->v, q->v + 1, (q->n - 1) * sizeof q->v[0]);
        q->n--;
    }
    q->v[q->n++] = payload;
}

static void queue_release(struct usage_queue *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->v[i]);
    q->n = 0;
}

struct sampler {
    struct engine *e;
    struct sw_redis *redis;
    struct usage_queue queue;
    bool redis_down, db_down, libvirt_down, node_missing, domfile_down, held_down;
    long long last_beat_ms; /* the last heartbeat PostgreSQL took; 0 before one */
    /* per pool (e->eng.pools): reported missing, over its fill threshold */
    bool pool_missing[SW_ENGINE_MAX_POOLS], pool_full[SW_ENGINE_MAX_POOLS];
};

/* One node event about pool r ("node.pool_missing", "node.pool_full"). */
static void pool_event(struct engine *e, const char *kind, const struct sw_storage_report *r,
                       int threshold)
{
    json_t *d = json_pack("{s:s, s:I, s:I, s:i}", "pool", r->name, "capacity_bytes",
                          (json_int_t)r->capacity, "allocation_bytes", (json_int_t)r->allocation,
                          "fill_threshold", threshold);
    char *text = sw_json_dump(d);
    json_decref(d);
    struct sw_err err;
    sw_err_clear(&err);
    if (sw_nodedb_event(e->nodedb, kind, text, &err) < 0)
        sw_log_err(SW_LOG_ERROR, "storage.event_failed", &err);
    free(text);
}

/* Pools the operator declared since the engine started join its list,
 * appended in their declared order, each published (npools) once written:
 * the pools it has keep their place and settings until a restart, and an
 * engine on the default pool (none declared at start) stays on it. */
static void add_new_pools(struct engine *e)
{
    struct sw_engine_pool fresh[SW_ENGINE_MAX_POOLS];
    size_t nf = 0, have = e->eng.npools;
    struct sw_err err;
    sw_err_clear(&err);
    if (have == 0 || sw_nodedb_pools(e->nodedb, fresh, SW_ENGINE_MAX_POOLS, &nf, &err) < 0)
        return; /* the declarations unreadable now: the next tick reads them */
    for (size_t i = 0; i < nf && have < SW_ENGINE_MAX_POOLS; i++) {
        bool known = false;
        for (size_t k = 0; k < have && !known; k++)
            known = strcmp(e->pools[k].name, fresh[i].name) == 0;
        if (known)
            continue;
        e->pools[have] = fresh[i];
        e->eng.npools = ++have;
        sw_info("engine.pool_added", "pool=%s type=%s shared=%d", fresh[i].name, fresh[i].type,
                fresh[i].shared);
    }
}

/* Makes missing dir pools, refreshes every pool and writes its figures;
 * a pool that is missing, or passes its fill threshold, is a node event
 * once per episode. */
static void report_pools(struct sampler *s)
{
    struct engine *e = s->e;
    add_new_pools(e);
    struct sw_storage_report r[SW_ENGINE_MAX_POOLS];
    size_t np, n = sw_storage_report(&e->eng, r, SW_ENGINE_MAX_POOLS);
    const struct sw_engine_pool *pools = sw_storage_pools(&e->eng, &np);
    for (size_t i = 0; i < n && i < np; i++) {
        struct sw_err err;
        sw_err_clear(&err);
        if (sw_nodedb_pool_report(e->nodedb, &r[i], &err) < 0)
            sw_log_err(SW_LOG_WARN, "storage.report_failed", &err);
        bool full = r[i].present &&
                    r[i].allocation * 100 > r[i].capacity * (int64_t)pools[i].fill_threshold;
        if (!r[i].present && !s->pool_missing[i])
            pool_event(e, "node.pool_missing", &r[i], pools[i].fill_threshold);
        if (full && !s->pool_full[i])
            pool_event(e, "node.pool_full", &r[i], pools[i].fill_threshold);
        s->pool_missing[i] = !r[i].present;
        s->pool_full[i] = full;
        sw_debug("storage.pool", "pool=%s present=%d capacity=%lld allocation=%lld", r[i].name,
                 r[i].present, (long long)r[i].capacity, (long long)r[i].allocation);
    }
}

/* The node's domains to SLIPWAY_DOMAINS_FILE, at every heartbeat. */
static void write_domains(struct sampler *s)
{
    struct sw_err err;
    sw_err_clear(&err);
    if (!s->e->domains_file)
        return;
    if (sw_engine_domains_write(&s->e->eng, s->e->domains_file, &err) < 0) {
        log_outage(&s->domfile_down, "domains_file.error", &err);
        return;
    }
    s->domfile_down = false;
}

/* After a heartbeat PostgreSQL took: when the one before was more than 3
 * intervals ago (the control plane's offline threshold), asks for a
 * reconciliation pass at once (reconcile_now). */
static void beat_gap(struct sampler *s)
{
    struct engine *e = s->e;
    long long now = sw_now_ms(), gap = s->last_beat_ms ? now - s->last_beat_ms : 0;
    s->last_beat_ms = now;
    if (gap <= 3 * e->heartbeat_interval_s * 1000)
        return;
    sw_warn("heartbeat.gap", "node=%s gap_ms=%lld", e->node_id, gap);
    pthread_mutex_lock(&e->mu);
    e->reconcile_now = true;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

static void heartbeat(struct sampler *s)
{
    struct engine *e = s->e;
    struct sw_err err;
    sw_err_clear(&err);
    if (!e->db && !(e->db = sw_db_connect(e->db_url, &err))) {
        log_outage(&s->db_down, "heartbeat.db_error", &err);
        return;
    }
    long n = sw_db_run(e->db, &err, "UPDATE nodes SET last_heartbeat_at = now() WHERE id = $1",
                       SW_PARAMS(e->node_id));
    if (n < 0) {
        log_outage(&s->db_down, "heartbeat.db_error", &err);
        return;
    }
    beat_gap(s);
    if (s->db_down)
        sw_info("heartbeat.db_back", "node=%s", e->node_id);
    s->db_down = false;
    if (n == 0 && !s->node_missing)
        sw_warn("heartbeat.node_missing", "node=%s", e->node_id);
    s->node_missing = n == 0;
}

static void sample(struct sampler *s, int64_t ts)
{
    struct engine *e = s->e;
    struct sw_err err;
    sw_err_clear(&err);
    struct sw_usage_reading *r;
    size_t n;
    if (sw_usage_read_all(e->conn, &r, &n, &err) < 0) {
        log_outage(&s->libvirt_down, "usage.libvirt_error", &err);
        return;
    }
    s->libvirt_down = false;
    struct sw_usage_disks disks = {0};
    bool have_disks = sw_usage_read_disks(&e->eng, &disks, &err) == 0;
    if (!have_disks)
        sw_log_err(SW_LOG_WARN, "usage.disks_unread", &err);
    sw_uuid_t *held = NULL;
    size_t nheld = 0;
    sw_err_clear(&err);
    if (sw_nodedb_held(e->nodedb, &held, &nheld, &err) < 0)
        log_outage(&s->held_down, "usage.held_unread", &err);
    else
        s->held_down = false;
    n = sw_usage_select(&r, n, have_disks ? &disks : NULL, held, nheld);
    sw_usage_disks_release(&disks);
    free(held);
    struct sw_msg_usage *m;
    size_t k = sw_usage_step(e->usage, r, n, ts, &m);
    for (size_t i = 0; i < k; i++)
        queue_push(&s->queue, sw_msg_usage_encode(&m[i]));
    free(m);
    free(r);
    sw_debug("usage.sampled", "ts=%lld servers=%zu samples=%zu", (long long)ts, n, k);
}

/* Publishes queued samples in order; what fails stays for the next tick. */
static void flush(struct sampler *s)
{
    struct engine *e = s->e;
    struct sw_err err;
    sw_err_clear(&err);
    if (s->queue.n == 0)
        return;
    if (!s->redis && !(s->redis = sw_redis_connect(e->redis_url, &err)))
        goto fail;
    if (sw_redis_broken(s->redis) && sw_redis_reconnect(s->redis, &err) < 0)
        goto fail;
    size_t sent = 0;
    char stream[64];
    sw_msg_usage_stream(e->node_id, stream);
    for (; sent < s->queue.n; sent++) {
        char *id = sw_stream_add(s->redis, stream, s->queue.v[sent], &err);
        if (!id)
            break;
        free(id);
        free(s->queue.v[sent]);
    }
    memmove(s->queue.v, s->queue.v + sent, (s->queue.n - sent) * sizeof s->queue.v[0]);
    s->queue.n -= sent;
    if (s->queue.n == 0) {
        if (s->redis_down)
            sw_info("usage.redis_back", "sent=%zu", sent);
        s->redis_down = false;
        return;
    }
fail:
    log_outage(&s->redis_down, "usage.redis_error", &err);
}

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The node's serial consoles (console.h). */
static void *console_main(void *arg)
{
    struct engine *e = arg;
    sw_engine_console_serve(&e->eng, e->redis_url, stopping_cb, e);
    return NULL;
}

static void *sampler_main(void *arg)
{
    struct sampler s = {.e = arg};
    struct engine *e = s.e;
    long long next_beat = sw_now_ms();
    int64_t interval = e->usage_interval_s;
    int64_t next_ts = sw_usage_period_end(wall_ms() / 1000, interval) + interval;
    report_pools(&s);
    while (!stopping(e)) {
        if (sw_now_ms() >= next_beat) {
            write_domains(&s);
            heartbeat(&s);
            next_beat = sw_now_ms() + e->heartbeat_interval_s * 1000;
        }
        int64_t now = wall_ms() / 1000;
        if (now >= next_ts) {
            int64_t ts = sw_usage_period_end(now, interval);
            sample(&s, ts);
            flush(&s);
            report_pools(&s);
            next_ts = ts + interval;
        }
        long long wait = next_beat - sw_now_ms();
        long long to_tick = next_ts * 1000 - wall_ms();
        if (to_tick < wait)
            wait = to_tick;
        /* At most a second, so a wall clock step is noticed. */
        nap(e, wait < 10 ? 10 : wait > 1000 ? 1000 : (long)wait);
    }
    /* A last try for samples still queued. */
    flush(&s);
    if (s.queue.n)
        sw_warn("usage.unsent", "samples=%zu", s.queue.n);
    queue_release(&s.queue);
    sw_redis_free(s.redis);
    return NULL;
}

/* ---- reconciliation ---- */

static void *reconciler_main(void *arg)
{
    struct engine *e = arg;
    struct sw_reconciler *r = sw_reconciler_new(&e->eng, e->nodedb, e->usage, &e->job_mu);
    bool down = false;
    do {
        struct sw_reconcile_report rep;
        struct sw_err err;
        sw_err_clear(&err);
        if (sw_reconcile_pass(r, &rep, &err) < 0) {
            log_outage(&down, "reconcile.failed", &err);
            /* soon again: a restarted test node must get its domains back */
            if (!nap(e, 1000))
                break;
            continue;
        }
        down = false;
        pthread_mutex_lock(&e->mu);
        if (!e->reconciled) {
            e->reconciled = true;
            pthread_cond_broadcast(&e->cv);
        }
        pthread_mutex_unlock(&e->mu);
        sw_info("reconcile.done",
                "servers=%zu domains=%zu restored=%zu failed=%zu orphans=%zu orphan_volumes=%zu"
                " stale=%zu",
                rep.servers, rep.domains, rep.restored, rep.failed, rep.orphans,
                rep.orphan_volumes, rep.stale);
    } while (nap_until(e, e->reconcile_interval_s * 1000, &e->reconcile_now));
    sw_reconciler_free(r);
    return NULL;
}

/* ---- ballooning ---- */

/* Policy re-read every this many ticks (and at start). */
#define BALLOON_POLICY_TICKS 6

struct balloon_loop {
    struct engine *e;
    struct sw_ballooner *b;
    struct sw_balloon_conf conf;
    bool have_conf, db_down, down;
};

static void balloon_policy(struct balloon_loop *l)
{
    struct sw_err err;
    sw_err_clear(&err);
    int64_t ratio = 1000;
    struct sw_balloon_conf *c = sw_malloc(sizeof *c);
    if (sw_nodedb_balloon(l->e->nodedb, c, &ratio, &err) < 0) {
        log_outage(&l->db_down, "balloon.policy_unavailable", &err);
        free(c);
        return;
    }
    if (!l->have_conf || c->enabled != l->conf.enabled)
        sw_info("balloon.policy", "enabled=%d target_pct=%d stop_pct=%d pressure_ticks=%d "
                "pv=%d",
                c->enabled, c->policy.target_pct, c->policy.stop_pct, c->pressure_ticks,
                ratio > 1000);
    l->db_down = false;
    l->conf = *c;
    l->have_conf = true;
    sw_ballooner_configure(l->b, c, ratio > 1000);
    free(c);
}

/* Pressure held for pressure_ticks: the node stops taking orders, and
 * operators get an event. */
static void balloon_pressure(struct balloon_loop *l, const struct sw_balloon_report *r)
{
    struct sw_err err;
    sw_err_clear(&err);
    int drained = sw_nodedb_drain(l->e->nodedb, &err);
    if (drained < 0)
        sw_log_err(SW_LOG_ERROR, "balloon.drain_failed", &err);
    double pct = r->host_ram_mb > 0 ? (double)r->host_used_mb * 100.0 / (double)r->host_ram_mb : 0;
    sw_warn("balloon.pressure", "host_used_mb=%lld host_ram_mb=%lld ticks=%d drained=%d",
            (long long)r->host_used_mb, (long long)r->host_ram_mb, r->pressure_ticks,
            drained == 1);
    json_t *d = json_pack("{s:I, s:I, s:f, s:i, s:i, s:b}", "host_used_mb",
                          (json_int_t)r->host_used_mb, "host_ram_mb", (json_int_t)r->host_ram_mb,
                          "host_used_pct", pct, "stop_pct", l->conf.policy.stop_pct, "ticks",
                          r->pressure_ticks, "drained", drained == 1);
    char *text = sw_json_dump(d);
    json_decref(d);
    if (sw_nodedb_event(l->e->nodedb, "node.pressure", text, &err) < 0)
        sw_log_err(SW_LOG_ERROR, "balloon.event_failed", &err);
    free(text);
}

static void *balloon_main(void *arg)
{
    struct balloon_loop *l = arg;
    struct engine *e = l->e;
    long half_ms = e->balloon_interval_s * 500;
    for (long tick = 0; !stopping(e); tick++) {
        if (tick % BALLOON_POLICY_TICKS == 0)
            balloon_policy(l);
        bool on = l->have_conf && l->conf.enabled;
        struct sw_err err;
        sw_err_clear(&err);
        /* stats twice a tick, the controller once */
        if (on && sw_ballooner_sample(l->b, &err) < 0)
            on = false;
        if (!nap(e, half_ms))
            break;
        if (on && sw_ballooner_sample(l->b, &err) < 0)
            on = false;
        struct sw_balloon_report r;
        if (on && sw_ballooner_tick(l->b, &r, &err) == 0) {
            l->down = false;
            sw_info("balloon.tick",
                    "host_used_mb=%lld host_ram_mb=%lld pressure=%d guests=%zu managed=%zu "
                    "moved=%zu failed=%zu",
                    (long long)r.host_used_mb, (long long)r.host_ram_mb, r.pressure, r.guests,
                    r.managed, r.moved, r.failed);
            if (r.raise)
                balloon_pressure(l, &r);
        } else if (l->have_conf && l->conf.enabled) {
            log_outage(&l->down, "balloon.stats_unavailable", &err);
        }
        if (!nap(e, half_ms))
            break;
    }
    return NULL;
}

/* ---- main ---- */

static const char usage_text[] =
    "usage: slipway-engine\n"
    "The engine of one node. Configured by the environment: SLIPWAY_NODE_ID (required),\n"
    "SLIPWAY_DATABASE_URL, SLIPWAY_REDIS_URL, SLIPWAY_USAGE_INTERVAL,\n"
    "SLIPWAY_HEARTBEAT_INTERVAL, SLIPWAY_TEMPLATES_DIR, SLIPWAY_CONSUMER,\n"
    "SLIPWAY_CLAIM_IDLE_MS, SLIPWAY_RECONCILE_INTERVAL, SLIPWAY_BALLOON_INTERVAL,\n"
    "SLIPWAY_BALLOON_SOURCE, SLIPWAY_DOMAINS_FILE, SLIPWAY_NETWORK, SLIPWAY_DOMAIN_TYPE,\n"
    "SLIPWAY_LOG_LEVEL\n"
    "(see slipwayctl config).\n";

static int run(struct engine *e)
{
    struct sw_err err;
    sw_err_clear(&err);
    /* libcurl (image fetches) is set up once, before any thread runs. */
    if (sw_crypto_init() < 0 || sw_virt_init(&err) < 0 ||
        curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        sw_error("engine.init_failed", "what=libraries");
        return 1;
    }
    if (!(e->db = sw_db_connect(e->db_url, &err)) || load_node(e, &err) < 0) {
        sw_log_err(SW_LOG_ERROR, "engine.node_unavailable", &err);
        return 1;
    }
    const struct sw_hypervisor *hv = sw_hypervisor_from_uri(e->uri, &err);
    if (!hv || !(e->conn = sw_virt_open(e->uri, &err))) {
        sw_log_err(SW_LOG_ERROR, "engine.libvirt_unavailable", &err);
        return 1;
    }
    e->eng.conn = e->conn;
    e->eng.hv = hv;
    /* A host whose /dev/kvm starts a guest but cannot run one (nested KVM
     * that fails at the boot loader) passes the probe: the operator says. */
    e->eng.domain_type =
        sw_virt_domain_type_chosen(e->conn, hv, sw_conf_get("SLIPWAY_DOMAIN_TYPE"), &err);
    if (!e->eng.domain_type) {
        sw_log_err(SW_LOG_ERROR, "engine.config_invalid", &err);
        return 1;
    }
    e->eng.templates_dir = e->templates_dir;
    bool filtered;
    if (sw_nwfilter_define(e->conn, e->templates_dir, &filtered, &err) < 0) {
        sw_log_err(SW_LOG_ERROR, "engine.nwfilter_refused", &err);
        return 1;
    }
    sw_info("engine.nwfilter", "guest_filter=%s", filtered ? "slipway-guest" : "none (no nwfilter driver)");
    e->eng.net = &e->net;
    e->eng.node_id = e->node_id;
    e->eng.secret_key = e->has_secret_key ? e->secret_key : NULL;
    e->eng.images = e->images.panel_url ? &e->images : NULL;
    e->nodedb = sw_nodedb_new(e->db_url, e->node_id);
    e->eng.admit = sw_nodedb_admit;
    e->eng.admit_ctx = e->nodedb;
    e->eng.placed = sw_nodedb_placed;
    e->eng.placed_ctx = e->nodedb;
    e->eng.cancelled = sw_nodedb_job_cancelled; /* a migration's cancel (migjob.c) */
    size_t npools = 0;
    if (sw_nodedb_pools(e->nodedb, e->pools, SW_ENGINE_MAX_POOLS, &npools, &err) < 0) {
        sw_log_err(SW_LOG_ERROR, "engine.node_unavailable", &err);
        return 1;
    }
    e->eng.npools = npools;
    e->eng.pools = e->pools;
    e->usage = sw_usage_new(e->node_id, e->usage_interval_s);

    char q[600];
    sw_info("engine.started",
            "node=%s uri=%s hypervisor=%s domain_type=%s kinds=0x%x stream=%s consumer=%s "
            "usage_interval_s=%ld heartbeat_interval_s=%ld secret_key=%s",
            e->node_id, sw_log_quote(q, sizeof q, e->uri), hv->name, e->eng.domain_type,
            e->eng.kinds, e->stream, e->consumer, e->usage_interval_s, e->heartbeat_interval_s,
            e->has_secret_key ? "set" : "none");

    struct sw_stats_source src;
    if (sw_stats_open(e->balloon_source, e->conn, &src, &err) < 0) {
        sw_log_err(SW_LOG_ERROR, "engine.config_invalid", &err);
        return 2;
    }
    struct balloon_loop *bl = sw_calloc(1, sizeof *bl);
    bl->e = e;
    bl->b = sw_ballooner_new(src);
    pthread_t consumer, sampler, reconciler, ballooner;
    if (pthread_create(&consumer, NULL, consumer_main, e) != 0) {
        sw_error("engine.init_failed", "what=consumer_thread");
        return 1;
    }
    if (pthread_create(&sampler, NULL, sampler_main, e) != 0) {
        sw_error("engine.init_failed", "what=sampler_thread");
        atomic_store(&e->stopping, true);
        pthread_join(consumer, NULL);
        return 1;
    }
    if (pthread_create(&reconciler, NULL, reconciler_main, e) != 0) {
        sw_error("engine.init_failed", "what=reconciler_thread");
        atomic_store(&e->stopping, true);
        pthread_join(consumer, NULL);
        pthread_join(sampler, NULL);
        return 1;
    }
    if (pthread_create(&ballooner, NULL, balloon_main, bl) != 0) {
        sw_error("engine.init_failed", "what=balloon_thread");
        atomic_store(&e->stopping, true);
        pthread_join(consumer, NULL);
        pthread_join(sampler, NULL);
        pthread_join(reconciler, NULL);
        return 1;
    }
    pthread_t console;
    if (pthread_create(&console, NULL, console_main, e) != 0) {
        sw_error("engine.init_failed", "what=console_thread");
        atomic_store(&e->stopping, true);
        pthread_join(consumer, NULL);
        pthread_join(sampler, NULL);
        pthread_join(reconciler, NULL);
        pthread_join(ballooner, NULL);
        return 1;
    }
    sw_daemon_wait();
    pthread_mutex_lock(&e->mu);
    atomic_store(&e->stopping, true);
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    pthread_join(consumer, NULL);
    pthread_join(sampler, NULL);
    pthread_join(reconciler, NULL);
    pthread_join(ballooner, NULL);
    pthread_join(console, NULL);
    sw_ballooner_free(bl->b);
    free(bl);
    sw_info("engine.stopped", "node=%s", e->node_id);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct sw_daemon daemon_info = {"engine", usage_text};
    int status;
    if (sw_daemon_start(&daemon_info, argc, argv, &status) < 0)
        return status;
    struct engine e;
    memset(&e, 0, sizeof e);
    struct sw_err err;
    sw_err_clear(&err);
    if (load_config(&e, &err) < 0)
        return sw_daemon_fail(&err);

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e.cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&e.mu, NULL);
    pthread_mutex_init(&e.job_mu, NULL);
    atomic_init(&e.stopping, false);

    int rc = run(&e);

    sodium_memzero(e.secret_key, sizeof e.secret_key);
    sw_usage_free(e.usage);
    sw_nodedb_free(e.nodedb);
    sw_db_free(e.db);
    if (e.conn)
        virConnectClose(e.conn);
    free(e.uri);
    pthread_cond_destroy(&e.cv);
    pthread_mutex_destroy(&e.mu);
    pthread_mutex_destroy(&e.job_mu);
    return rc;
}
