#include "config.h"
#include "engines/nodedb.h"
#include "engines/epoch.h"
#include "engines/ledger.h"
#include "core/alloc.h"
#include "core/db.h"
#include "core/diskpool.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/resource.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sw_nodedb {
    char *url;
    sw_uuid_t node_id;
    pthread_mutex_t mu;
    struct sw_db *db; /* under mu; NULL until first used */
};

struct sw_nodedb *sw_nodedb_new(const char *db_url, const char *node_id)
{
    struct sw_nodedb *nd = sw_calloc(1, sizeof *nd);
    nd->url = sw_strdup(db_url);
    snprintf(nd->node_id, sizeof nd->node_id, "%s", node_id);
    pthread_mutex_init(&nd->mu, NULL);
    return nd;
}

void sw_nodedb_free(struct sw_nodedb *nd)
{
    if (!nd)
        return;
    sw_db_free(nd->db);
    pthread_mutex_destroy(&nd->mu);
    free(nd->url);
    free(nd);
}

/* Locks nd and returns its connection, or NULL (unlocked) with err set. */
static struct sw_db *lock_db(struct sw_nodedb *nd, struct sw_err *err)
{
    pthread_mutex_lock(&nd->mu);
    if (!nd->db && !(nd->db = sw_db_connect(nd->url, err))) {
        pthread_mutex_unlock(&nd->mu);
        return NULL;
    }
    return nd->db;
}

static void unlock_db(struct sw_nodedb *nd)
{
    pthread_mutex_unlock(&nd->mu);
}

int sw_nodedb_admit(void *ctx, const struct sw_msg_node_job *job, struct sw_err *err)
{
    struct sw_nodedb *nd = ctx;
    struct sw_db *db = lock_db(nd, err);
    if (!db)
        return -1;
    PGresult *res = sw_db_exec(
        db, err,
        "SELECT n.cpus, n.ram_mb, n.reserved_ram_mb, n.disk_gb,"
        "       round(n.cpu_ratio * 1000)::bigint, round(n.ram_ratio * 1000)::bigint,"
        "       coalesce(sum(a.vcpus), 0)::bigint, coalesce(sum(a.mem_guar_mb), 0)::bigint,"
        "       coalesce(sum(a.mem_max_mb), 0)::bigint, coalesce(sum(a.disk_gb), 0)::bigint,"
        "       coalesce(f.figures, '')," /* DISK from its pools, as placement counts it */
        /* a move's target: the server's disk its shared pool counts on the source (0044) */
        "       sw_shared_disk_elsewhere_gb($1, $2::uuid)"
        "  FROM nodes n LEFT JOIN sw_node_pool_figures() f ON f.node_id = n.id"
        "  LEFT JOIN allocations a ON a.node_id = n.id AND a.server_id <> $2::uuid"
        " WHERE n.id = $1 GROUP BY n.id, f.figures",
        SW_PARAMS(nd->node_id, job->server_id));
    unlock_db(nd);
    if (!res) {
        err->retryable = true;
        return -1;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        SW_ERR_RETRY(err, SW_EUNAVAILABLE, "its node is not registered");
        return -1;
    }
    struct sw_node_inv inv = {
        .cpus = sw_db_get_i64(res, 0, 0),
        .ram_mb = sw_db_get_i64(res, 0, 1),
        .reserved_ram_mb = sw_db_get_i64(res, 0, 2),
        .disk_gb = sw_db_get_i64(res, 0, 3),
        .cpu_ratio_milli = sw_db_get_i64(res, 0, 4),
        .ram_ratio_milli = sw_db_get_i64(res, 0, 5),
    };
    struct sw_diskpool_sum disk;
    if (sw_diskpool_node(sw_db_get(res, 0, 10), inv.disk_gb, &disk) == 0)
        inv.disk_gb = disk.capacity_gb + sw_db_get_i64(res, 0, 11);
    struct sw_amounts others;
    for (int c = 0; c < SW_RC__COUNT; c++)
        others.v[c] = sw_db_get_i64(res, 0, 6 + c);
    PQclear(res);
    int short_class = 0;
    if (sw_ledger_fits(&inv, &others, job, &short_class))
        return 0;
    struct sw_amounts cap, want;
    sw_node_capacity(&inv, &cap);
    sw_ledger_job_demand(job, &want);
    SW_ERR(err, SW_EUNPROCESSABLE, "its node cannot hold it without breaking a guarantee");
    sw_err_detail(err, "node %s class %s: others %lld + this %lld > capacity %lld", nd->node_id,
                  sw_res_class_name(short_class), (long long)others.v[short_class],
                  (long long)want.v[short_class], (long long)cap.v[short_class]);
    return -1;
}

int sw_nodedb_job_cancelled(void *ctx, const char *job_id)
{
    struct sw_nodedb *nd = ctx;
    struct sw_err err;
    sw_err_clear(&err);
    struct sw_db *db = lock_db(nd, &err);
    PGresult *res = db ? sw_db_exec(db, &err, "SELECT sw_engine_job_cancelled($1, $2)",
                                    SW_PARAMS(nd->node_id, job_id))
                       : NULL;
    if (db)
        unlock_db(nd);
    if (!res) {
        sw_log_err(SW_LOG_WARN, "job.cancel_unknown", &err);
        return 0;
    }
    int yes = PQntuples(res) == 1 && strcmp(sw_db_get(res, 0, 0), "t") == 0;
    PQclear(res);
    return yes;
}

#define SERVER_COLS                                                                    \
    "s.id, s.state, s.hostname, p.kind, p.vcpus, p.ram_mb, p.burst_ram_mb, p.swap_mb," \
    " p.disk_gb, t.os, coalesce(host(s.ipv4), ''), coalesce(host(s.ipv6), '')," \
    /* the plan's limits, in sw_msg_limit_fields' order (0021_plan_limits) */   \
    " p.disk_read_iops, p.disk_write_iops, p.disk_read_bytes_sec,"                 \
    " p.disk_write_bytes_sec, p.net_average_kbyte_s, p.net_peak_kbyte_s,"          \
    " p.net_burst_kbyte, p.cpu_cap_pct,"                                        \
    /* the mounted ISO (0023_iso: sw_engine_isos) */                             \
    " coalesce(iso.sha256, ''), coalesce(iso.size_bytes, 0), coalesce(iso.boot, 'disk'),"  \
    " s.epoch,"                                                                    \
    /* a pv template's own kernel (0038_engine_kernels: sw_engine_kernels) */     \
    " coalesce(kr.kernel_sha256, ''), coalesce(kr.kernel_bytes, 0),"              \
    " coalesce(kr.initrd_sha256, ''), coalesce(kr.initrd_bytes, 0)"
#define SERVER_LIMITS_COL 12
#define SERVER_ISO_COL 20
#define SERVER_EPOCH_COL 23
#define SERVER_KERNEL_COL 24

/* The states of a server the node holds (its domain and volumes are
 * here): sw_nodedb_servers and sw_nodedb_held. */
#define HELD_STATES "('provisioning', 'running', 'stopped', 'suspended', 'terminating')"

int sw_nodedb_servers(struct sw_nodedb *nd, struct sw_node_server **out, size_t *n,
                      struct sw_err *err)
{
    *out = NULL;
    *n = 0;
    struct sw_db *db = lock_db(nd, err);
    if (!db)
        return -1;
    PGresult *res = sw_db_exec(
        db, err,
        "SELECT " SERVER_COLS " FROM servers s JOIN plans p ON p.id = s.plan_id"
        "  JOIN templates t ON t.id = s.template_id"
        "  LEFT JOIN sw_engine_isos($1) iso ON iso.server_id = s.id"
        "  LEFT JOIN sw_engine_kernels($1) kr ON kr.server_id = s.id"
        " WHERE s.node_id = $1 AND s.state IN " HELD_STATES " ORDER BY s.created_at, s.id",
        SW_PARAMS(nd->node_id));
    unlock_db(nd);
    if (!res)
        return -1;
    int rows = PQntuples(res);
    struct sw_node_server *v = sw_calloc(rows ? (size_t)rows : 1, sizeof *v);
    size_t k = 0;
    for (int i = 0; i < rows; i++) {
        struct sw_node_server *s = &v[k];
        struct sw_plan_size plan = {
            .kind = sw_plan_kind_parse(sw_db_get(res, i, 3)),
            .vcpus = sw_db_get_i64(res, i, 4),
            .ram_mb = sw_db_get_i64(res, i, 5),
            .burst_ram_mb = sw_db_get_i64(res, i, 6),
            .swap_mb = sw_db_get_i64(res, i, 7),
            .disk_gb = sw_db_get_i64(res, i, 8),
        };
        if (plan.kind < 0)
            continue;
        struct sw_amounts want;
        sw_plan_demand(&plan, &want); /* what the provisioner's dispatch sends */
        struct sw_msg_node_job *j = &s->job;
        snprintf(j->server_id, sizeof j->server_id, "%s", sw_db_get(res, i, 0));
        snprintf(j->node_id, sizeof j->node_id, "%s", nd->node_id);
        j->type = SW_JOB_CREATE;
        j->kind = plan.kind;
        j->vcpus = want.v[SW_RC_VCPU];
        j->ram_mb = want.v[SW_RC_MEM_GUAR];
        j->max_ram_mb = want.v[SW_RC_MEM_MAX];
        j->swap_mb = plan.swap_mb;
        j->disk_gb = want.v[SW_RC_DISK];
        snprintf(j->hostname, sizeof j->hostname, "%s", sw_db_get(res, i, 2));
        snprintf(j->os, sizeof j->os, "%s", sw_db_get(res, i, 9));
        /* a restore holds the guest to its current addresses, as a job would */
        snprintf(j->ipv4, sizeof j->ipv4, "%s", sw_db_get(res, i, 10));
        snprintf(j->ipv6, sizeof j->ipv6, "%s", sw_db_get(res, i, 11));
        int c = SERVER_LIMITS_COL;
        for (const struct sw_msg_limit_field *f = sw_msg_limit_fields; f->name; f++)
            *sw_msg_limit_at(&j->limits, f) = sw_db_get_i64(res, i, c++);
        /* a restore keeps the cdrom and boot order, as a job would (iso.h) */
        snprintf(j->iso_sha256, sizeof j->iso_sha256, "%s", sw_db_get(res, i, SERVER_ISO_COL));
        j->iso_bytes = j->iso_sha256[0] ? sw_db_get_i64(res, i, SERVER_ISO_COL + 1) : 0;
        snprintf(j->boot, sizeof j->boot, "%s",
                 j->iso_sha256[0] ? sw_db_get(res, i, SERVER_ISO_COL + 2) : "disk");
        j->epoch = sw_db_get_i64(res, i, SERVER_EPOCH_COL); /* a restore is the placement's */
        /* and boots the template's own kernel, as every job does (kernel.h) */
        snprintf(j->kernel_sha256, sizeof j->kernel_sha256, "%s",
                 sw_db_get(res, i, SERVER_KERNEL_COL));
        j->kernel_bytes = sw_db_get_i64(res, i, SERVER_KERNEL_COL + 1);
        snprintf(j->initrd_sha256, sizeof j->initrd_sha256, "%s",
                 sw_db_get(res, i, SERVER_KERNEL_COL + 2));
        j->initrd_bytes = sw_db_get_i64(res, i, SERVER_KERNEL_COL + 3);
        snprintf(s->state, sizeof s->state, "%s", sw_db_get(res, i, 1));
        k++;
    }
    PQclear(res);
    *out = v;
    *n = k;
    return 0;
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

int sw_nodedb_held(struct sw_nodedb *nd, sw_uuid_t **out, size_t *n, struct sw_err *err)
{
    *out = NULL;
    *n = 0;
    struct sw_db *db = lock_db(nd, err);
    if (!db)
        return -1;
    PGresult *res = sw_db_exec(db, err,
                               "SELECT s.id FROM servers s"
                               " WHERE s.node_id = $1 AND s.state IN " HELD_STATES,
                               SW_PARAMS(nd->node_id));
    unlock_db(nd);
    if (!res) {
        err->retryable = true;
        return -1;
    }
    int rows = PQntuples(res);
    *out = sw_calloc(rows ? (size_t)rows : 1, sizeof **out);
    for (int i = 0; i < rows; i++)
        snprintf((*out)[i], sizeof(sw_uuid_t), "%s", sw_db_get(res, i, 0));
    PQclear(res);
    *n = (size_t)rows;
    qsort(*out, *n, sizeof **out, cmp_id); /* the order sw_usage_select searches */
    return 0;
}

int sw_nodedb_server_state(struct sw_nodedb *nd, const char *server_id, char state[16],
                           struct sw_err *err)
{
    state[0] = '\0';
    struct sw_db *db = lock_db(nd, err);
    if (!db)
        return -1;
    PGresult *res = sw_db_exec(db, err, "SELECT sw_engine_server_state($2, $1)",
                               SW_PARAMS(server_id, nd->node_id));
    unlock_db(nd);
    if (!res)
        return -1;
    if (PQntuples(res) == 1 && sw_db_get(res, 0, 0))
        snprintf(state, 16, "%s", sw_db_get(res, 0, 0));
    PQclear(res);
    return 0;
}

int sw_nodedb_epoch(struct sw_nodedb *nd, const char *server_id, struct sw_epoch_record *rec,
                    struct sw_err *err)
{
    memset(rec, 0, sizeof *rec);
    struct sw_db *db = lock_db(nd, err);
    if (!db)
        return -1;
    PGresult *res = sw_db_exec(db, err,
                               "SELECT elsewhere, epoch, state"
                               "  FROM sw_engine_server_epochs($1, ARRAY[$2::uuid])",
                               SW_PARAMS(nd->node_id, server_id));
    unlock_db(nd);
    if (!res) {
        err->retryable = true;
        return -1;
    }
    if (PQntuples(res) == 1) {
        rec->found = true;
        rec->elsewhere = strcmp(sw_db_get(res, 0, 0), "t") == 0;
        rec->epoch = sw_db_get_i64(res, 0, 1);
        snprintf(rec->state, sizeof rec->state, "%s", sw_db_get(res, 0, 2));
    }
    PQclear(res);
    return 0;
}

int sw_nodedb_placed(void *ctx, const struct sw_msg_node_job *job, struct sw_err *err)
{
    struct sw_epoch_record rec;
    if (sw_nodedb_epoch(ctx, job->server_id, &rec, err) < 0)
        return -1;
    return sw_epoch_job_check(job, &rec, err);
}

int sw_nodedb_event(struct sw_nodedb *nd, const char *kind, const char *detail_json,
                    struct sw_err *err)
{
    struct sw_db *db = lock_db(nd, err);
    if (!db)
        return -1;
    long n = sw_db_run(db, err,
                       "INSERT INTO node_events (node_id, kind, detail) VALUES ($1, $2, $3::jsonb)",
                       SW_PARAMS(nd->node_id, kind, detail_json));
    unlock_db(nd);
    return n < 0 ? -1 : 0;
}

int sw_nodedb_balloon(struct sw_nodedb *nd, struct sw_balloon_conf *conf,
                      int64_t *ram_ratio_milli, struct sw_err *err)
{
    struct sw_db *db = lock_db(nd, err);
    if (!db)
        return -1;
    PGresult *res = sw_db_exec(db, err,
                               "SELECT balloon::text, round(ram_ratio * 1000)::bigint FROM nodes"
                               " WHERE id = $1",
                               SW_PARAMS(nd->node_id));
    unlock_db(nd);
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        SW_ERR(err, SW_ENOTFOUND, "node %s is not registered", nd->node_id);
        return -1;
    }
    const char *text = sw_db_get(res, 0, 0);
    *ram_ratio_milli = sw_db_get_i64(res, 0, 1);
    json_t *o = json_loads(text, 0, NULL);
    PQclear(res);
    int rc = sw_balloon_conf_parse(o, conf, err);
    json_decref(o);
    return rc;
}

int sw_nodedb_drain(struct sw_nodedb *nd, struct sw_err *err)
{
    struct sw_db *db = lock_db(nd, err);
    if (!db)
        return -1;
    /* a function: the node's role may not write nodes.state itself */
    PGresult *res = sw_db_exec(db, err, "SELECT sw_engine_node_drain($1)", SW_PARAMS(nd->node_id));
    unlock_db(nd);
    if (!res)
        return -1;
    int changed = sw_db_get_bool(res, 0, 0) ? 1 : 0;
    PQclear(res);
    return changed;
}

int sw_nodedb_pools(struct sw_nodedb *nd, struct sw_engine_pool *out, size_t max, size_t *n,
                    struct sw_err *err)
{
    *n = 0;
    struct sw_db *db = lock_db(nd, err);
    if (!db)
        return -1;
    PGresult *res = sw_db_exec(db, err,
                               "SELECT name, type, coalesce(path, ''), shared, fill_threshold"
                               " FROM node_pools WHERE node_id = $1 ORDER BY position, name",
                               SW_PARAMS(nd->node_id));
    unlock_db(nd);
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res) && *n < max; i++) {
        struct sw_engine_pool *p = &out[(*n)++];
        memset(p, 0, sizeof *p);
        snprintf(p->name, sizeof p->name, "%s", sw_db_get(res, i, 0));
        snprintf(p->type, sizeof p->type, "%s", sw_db_get(res, i, 1));
        snprintf(p->path, sizeof p->path, "%s", sw_db_get(res, i, 2));
        p->shared = sw_db_get_bool(res, i, 3);
        p->fill_threshold = (int)sw_db_get_i64(res, i, 4);
    }
    PQclear(res);
    return 0;
}

int sw_nodedb_pool_report(struct sw_nodedb *nd, const struct sw_storage_report *r,
                          struct sw_err *err)
{
    struct sw_db *db = lock_db(nd, err);
    if (!db)
        return -1;
    char cap[24], alloc[24], avail[24];
    snprintf(cap, sizeof cap, "%lld", (long long)r->capacity);
    snprintf(alloc, sizeof alloc, "%lld", (long long)r->allocation);
    snprintf(avail, sizeof avail, "%lld", (long long)r->available);
    long n = sw_db_run(db, err,
                       "UPDATE node_pools SET present = $3, capacity_bytes = $4,"
                       " allocation_bytes = $5, available_bytes = $6, reported_at = now()"
                       " WHERE node_id = $1 AND name = $2",
                       SW_PARAMS(nd->node_id, r->name, r->present ? "true" : "false",
                                 r->present ? cap : NULL, r->present ? alloc : NULL,
                                 r->present ? avail : NULL));
    unlock_db(nd);
    return n < 0 ? -1 : 0;
}
