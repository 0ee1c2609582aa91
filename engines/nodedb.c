#include "config.h"
#include "engines/nodedb.h"
#include "engines/ledger.h"
#include "core/alloc.h"
#include "core/db.h"
#include "core/err.h"
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
        "       coalesce(sum(a.mem_max_mb), 0)::bigint, coalesce(sum(a.disk_gb), 0)::bigint"
        "  FROM nodes n"
        "  LEFT JOIN allocations a ON a.node_id = n.id AND a.server_id <> $2::uuid"
        " WHERE n.id = $1 GROUP BY n.id",
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
