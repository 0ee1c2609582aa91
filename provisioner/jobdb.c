#include "config.h"

#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"
#include "provisioner/backups.h"
#include "provisioner/jobdb.h"
#include "provisioner/jobstate.h"
#include "provisioner/migrate.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* jobs.params->>key as a uuid, NULL when it is not one (the panel checks
 * it; a bad value must not make the job unreadable). */
#define PARAM_UUID(key)                                                                            \
    "(CASE WHEN j.params->>'" key "' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"        \
    "[0-9a-f]{12}$' THEN (j.params->>'" key "')::uuid END)"

/* ---- guest configuration and plan limits (issue 13): the columns ---- */

/* A plan's limits, in sw_msg_limit_fields' order. */
#define LIMIT_COLS(p)                                                                              \
    " " p ".disk_read_iops, " p ".disk_write_iops, " p ".disk_read_bytes_sec,"                     \
    " " p ".disk_write_bytes_sec, " p ".net_average_kbyte_s, " p ".net_peak_kbyte_s,"              \
    " " p ".net_burst_kbyte, " p ".cpu_cap_pct"
#define LIMIT_NCOLS 8

/* Server s's pool of family f, as a FROM clause. */
#define POOL_OF(f)                                                                                 \
    " FROM ip_assignments a JOIN ip_pools ip ON ip.id = a.pool_id"                                 \
    " WHERE a.server_id = s.id AND a.family = " f
/* The network around server s's addresses: IPv4 prefix length and gateway,
 * IPv6 gateway, DNS resolvers (the IPv4 pool's first; comma separated). */
#define NET_COLS                                                                                   \
    " (SELECT masklen(ip.network)" POOL_OF("4") "),"                                               \
    " (SELECT host(ip.gateway)" POOL_OF("4") "),"                                                  \
    " (SELECT host(ip.gateway)" POOL_OF("6") "),"                                                  \
    " (SELECT string_agg(host(d.addr), ',' ORDER BY a.family, d.o)"                                   \
    "    FROM ip_assignments a JOIN ip_pools ip ON ip.id = a.pool_id,"                             \
    "         unnest(ip.dns) WITH ORDINALITY AS d (addr, o) WHERE a.server_id = s.id)"

/* The guest's SSH keys joined by newlines: a reinstall's own ssh_keys
 * (params; [] for none), else the server's. */
#define SSH_KEYS_COL                                                                               \
    " coalesce(CASE WHEN j.type = 'reinstall' AND jsonb_typeof(j.params->'ssh_keys') = 'array'"    \
    "   THEN (SELECT coalesce(string_agg(k, E'\\n'), '')"                                           \
    "           FROM jsonb_array_elements_text(j.params->'ssh_keys') AS k) END,"                   \
    "   array_to_string(s.ssh_keys, E'\\n'))"

/* Columns of JOB_SELECT from GUEST_COL on. */
enum {
    GUEST_COL = 30,
    COL_SSH_KEYS = GUEST_COL,
    COL_LIMITS,
    COL_TARGET_LIMITS = COL_LIMITS + LIMIT_NCOLS,
    COL_NET = COL_TARGET_LIMITS + LIMIT_NCOLS,
};

#define JOB_SELECT                                                                                 \
    "SELECT j.id, j.server_id, j.type, j.state, j.attempts, j.node_id,"                            \
    "       s.state, s.node_id, s.location_id, s.hostname,"                                        \
    "       p.kind, p.vcpus, p.ram_mb, p.burst_ram_mb, p.swap_mb, p.disk_gb,"                      \
    "       coalesce(nt.os, t.os), coalesce(nt.kind, t.kind),"                                     \
    "       np.id, np.kind, np.vcpus, np.ram_mb, np.burst_ram_mb, np.swap_mb, np.disk_gb,"         \
    "       nt.id IS NOT NULL, j.params->>'password_hash',"                                        \
    "       host(s.ipv4), host(s.ipv6),"                                                           \
    "       (SELECT n.public_key FROM nodes n WHERE n.id = coalesce(j.node_id, s.node_id)),"       \
    SSH_KEYS_COL ","                                                                               \
    LIMIT_COLS("p") "," LIMIT_COLS("np") "," NET_COLS                                              \
    "  FROM jobs j"                                                                                \
    "  JOIN servers s ON s.id = j.server_id"                                                       \
    "  JOIN plans p ON p.id = s.plan_id"                                                           \
    "  JOIN templates t ON t.id = s.template_id"                                                   \
    "  LEFT JOIN plans np ON j.type = 'resize' AND np.id = " PARAM_UUID("plan_id")                 \
    "  LEFT JOIN templates nt ON j.type = 'reinstall' AND nt.id = " PARAM_UUID("template_id")      \
    " WHERE j.id = $1"

static const char sql_load[] = JOB_SELECT;
static const char sql_load_lock[] = JOB_SELECT " FOR UPDATE OF j, s";

/* Copies a column into out[n]: "" for NULL, -1 when it does not fit. */
static int copy_col(const PGresult *res, int col, char *out, size_t n)
{
    const char *v = sw_db_get(res, 0, col);
    if (!v)
        v = "";
    size_t len = strlen(v);
    if (len >= n)
        return -1;
    memcpy(out, v, len + 1);
    return 0;
}

struct enum_col {
    int col;
    int (*parse)(const char *);
    size_t off;
};

static const struct enum_col enum_cols[] = {
    {2, sw_job_type_parse, offsetof(struct sw_job_row, type)},
    {3, sw_job_state_parse, offsetof(struct sw_job_row, state)},
    {6, sw_server_state_parse, offsetof(struct sw_job_row, srv_state)},
    {10, sw_plan_kind_parse, offsetof(struct sw_job_row, plan.kind)},
    {17, sw_plan_kind_parse, offsetof(struct sw_job_row, template_kind)},
};

struct str_col {
    int col;
    size_t off, size;
};

#define STR_COL(c, field)                                                                          \
    {                                                                                              \
        c, offsetof(struct sw_job_row, field), sizeof(((struct sw_job_row *)0)->field)             \
    }

static const struct str_col str_cols[] = {
    STR_COL(0, job_id),      STR_COL(1, server_id),   STR_COL(5, job_node_id),
    STR_COL(7, srv_node_id), STR_COL(8, location_id), STR_COL(9, hostname),
    STR_COL(16, os),         STR_COL(18, target_plan_id), STR_COL(26, password_hash),
    STR_COL(27, ipv4),       STR_COL(28, ipv6),       STR_COL(29, node_public_key),
};

/* The template a job's server runs: a reinstall's new one, else the
 * server's (a reinstall's success records it). */
#define JOB_TEMPLATE                                                                               \
    "  FROM jobs j JOIN servers s ON s.id = j.server_id"                                          \
    "  JOIN templates t ON t.id = coalesce(CASE WHEN j.type = 'reinstall' THEN "                   \
    PARAM_UUID("template_id") " END, s.template_id)"

/* The disk image of the template a create or reinstall installs: ready
 * ones only, the panel refuses to order a template whose images are not. */
static int load_images(struct sw_db *db, struct sw_job_row *row, struct sw_err *err)
{
    if (row->type != SW_JOB_CREATE && row->type != SW_JOB_REINSTALL)
        return 0;
    PGresult *res = sw_db_exec(db, err,
                               "SELECT i.sha256, i.format, i.size_bytes" JOB_TEMPLATE
                               "  LEFT JOIN images i ON i.id = t.image_id AND i.state = 'ready'"
                               " WHERE j.id = $1",
                               SW_PARAMS(row->job_id));
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples(res) > 0 &&
        (copy_col(res, 0, row->image_sha256, sizeof row->image_sha256) < 0 ||
         copy_col(res, 1, row->image_format, sizeof row->image_format) < 0)) {
        SW_ERR(err, SW_EINTERNAL, "job %s has an image reference too long for a node job",
               row->job_id);
        rc = -1;
    }
    if (PQntuples(res) > 0)
        row->image_bytes = sw_db_get_i64(res, 0, 2);
    PQclear(res);
    return rc;
}

/* A pv template's own kernel and initrd, for every job of its server (as
 * the ISO: any definition of the domain boots them, engines/kernel.h);
 * both ready or neither. */
static int load_kernel(struct sw_db *db, struct sw_job_row *row, struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT k.sha256, k.size_bytes, r.sha256, r.size_bytes" JOB_TEMPLATE
                               "  JOIN images k ON k.id = t.kernel_image_id AND k.state = 'ready'"
                               "  JOIN images r ON r.id = t.initrd_image_id AND r.state = 'ready'"
                               " WHERE j.id = $1",
                               SW_PARAMS(row->job_id));
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples(res) > 0 &&
        (copy_col(res, 0, row->kernel_sha256, sizeof row->kernel_sha256) < 0 ||
         copy_col(res, 2, row->initrd_sha256, sizeof row->initrd_sha256) < 0)) {
        SW_ERR(err, SW_EINTERNAL, "job %s has a kernel reference too long for a node job",
               row->job_id);
        rc = -1;
    }
    if (PQntuples(res) > 0) {
        row->kernel_bytes = sw_db_get_i64(res, 0, 1);
        row->initrd_bytes = sw_db_get_i64(res, 0, 3);
    }
    PQclear(res);
    return rc;
}

/* The ISO mounted on the job's server and its boot order (every job: a
 * redefinition keeps the cdrom). An ISO that is not ready is none. */
static int load_iso(struct sw_db *db, struct sw_job_row *row, struct sw_err *err)
{
    PGresult *res = sw_db_exec(
        db, err,
        "SELECT i.sha256, i.size_bytes, CASE WHEN i.sha256 IS NULL THEN 'disk' ELSE s.boot END"
        "  FROM jobs j JOIN servers s ON s.id = j.server_id"
        "  LEFT JOIN images i ON i.id = s.iso_id AND i.state = 'ready' AND i.format = 'iso'"
        " WHERE j.id = $1",
        SW_PARAMS(row->job_id));
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples(res) > 0 &&
        (copy_col(res, 0, row->iso_sha256, sizeof row->iso_sha256) < 0 ||
         copy_col(res, 2, row->boot, sizeof row->boot) < 0)) {
        SW_ERR(err, SW_EINTERNAL, "job %s has an ISO reference too long for a node job",
               row->job_id);
        rc = -1;
    }
    if (PQntuples(res) > 0)
        row->iso_bytes = sw_db_get_i64(res, 0, 1);
    PQclear(res);
    return rc;
}

/* A snapshot job's snapshot: its id from jobs.params, memory from its row. */
static int load_snapshot(struct sw_db *db, struct sw_job_row *row, struct sw_err *err)
{
    PGresult *res = sw_db_exec(
        db, err,
        "SELECT coalesce(j.params->>'snapshot_id', ''), coalesce(s.memory, false)"
        "  FROM jobs j LEFT JOIN snapshots s ON s.id::text = j.params->>'snapshot_id'"
        " WHERE j.id = $1",
        SW_PARAMS(row->job_id));
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples(res) > 0 && copy_col(res, 0, row->snapshot_id, sizeof row->snapshot_id) < 0) {
        SW_ERR(err, SW_EINTERNAL, "job %s names a snapshot id too long", row->job_id);
        rc = -1;
    }
    if (PQntuples(res) > 0)
        row->snapshot_memory = sw_db_get_bool(res, 0, 1);
    PQclear(res);
    return rc;
}

static void load_limits(const PGresult *res, int col, struct sw_msg_limits *out)
{
    memset(out, 0, sizeof *out);
    int i = 0;
    for (const struct sw_msg_limit_field *f = sw_msg_limit_fields; f->name; f++)
        *sw_msg_limit_at(out, f) = sw_db_get_i64(res, 0, col + i++);
}

/* The NET_COLS from col on into row: -1 when a value does not fit. */
static int load_net(const PGresult *res, int col, struct sw_job_row *row)
{
    row->ipv4_prefix = (int)sw_db_get_i64(res, 0, col);
    row->dns_n = 0;
    if (copy_col(res, col + 1, row->ipv4_gateway, sizeof row->ipv4_gateway) < 0 ||
        copy_col(res, col + 2, row->ipv6_gateway, sizeof row->ipv6_gateway) < 0)
        return -1;
    const char *dns = sw_db_get(res, 0, col + 3);
    for (const char *p = dns ? dns : ""; *p && row->dns_n < SW_MSG_DNS_MAX;) {
        size_t n = strcspn(p, ",");
        if (n >= SW_MSG_ADDR_LEN)
            return -1;
        char *slot = row->dns[row->dns_n];
        memcpy(slot, p, n);
        slot[n] = '\0';
        bool seen = false;
        for (int i = 0; i < row->dns_n; i++)
            seen = seen || strcmp(row->dns[i], slot) == 0;
        row->dns_n += !seen;
        p += n + (p[n] == ',');
    }
    return 0;
}

/* The guest configuration and limits columns of JOB_SELECT. */
static int load_guest(const PGresult *res, struct sw_job_row *row)
{
    load_limits(res, COL_LIMITS, &row->limits);
    if (row->has_target)
        load_limits(res, COL_TARGET_LIMITS, &row->target_limits);
    return copy_col(res, COL_SSH_KEYS, row->ssh_keys, sizeof row->ssh_keys) < 0 ||
                   load_net(res, COL_NET, row) < 0
               ? -1
               : 0;
}

int sw_jobdb_load(struct sw_db *db, const char *job_id, bool lock, struct sw_job_row *row,
                  struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err, lock ? sql_load_lock : sql_load, SW_PARAMS(job_id));
    if (!res)
        return -1;
    int rc = -1;
    if (PQntuples(res) == 0) {
        rc = 0;
        goto out;
    }
    memset(row, 0, sizeof *row);
    for (size_t i = 0; i < sizeof str_cols / sizeof str_cols[0]; i++) {
        if (copy_col(res, str_cols[i].col, (char *)row + str_cols[i].off, str_cols[i].size) < 0) {
            SW_ERR(err, SW_EINVALID, "job %s has a value too long for a node job", job_id);
            sw_err_detail(err, "column %s", PQfname(res, str_cols[i].col));
            goto out;
        }
    }
    for (size_t i = 0; i < sizeof enum_cols / sizeof enum_cols[0]; i++) {
        int v = enum_cols[i].parse(sw_db_get(res, 0, enum_cols[i].col));
        if (v < 0) {
            SW_ERR(err, SW_EINTERNAL, "job %s has an unknown enumeration value", job_id);
            sw_err_detail(err, "column %s", PQfname(res, enum_cols[i].col));
            goto out;
        }
        *(int *)(void *)((char *)row + enum_cols[i].off) = v;
    }
    row->attempts = (int)sw_db_get_i64(res, 0, 4);
    row->plan.vcpus = sw_db_get_i64(res, 0, 11);
    row->plan.ram_mb = sw_db_get_i64(res, 0, 12);
    row->plan.burst_ram_mb = sw_db_get_i64(res, 0, 13);
    row->plan.swap_mb = sw_db_get_i64(res, 0, 14);
    row->plan.disk_gb = sw_db_get_i64(res, 0, 15);
    row->has_target = row->target_plan_id[0] != '\0';
    if (row->has_target) {
        row->target.kind = sw_plan_kind_parse(sw_db_get(res, 0, 19));
        row->target.vcpus = sw_db_get_i64(res, 0, 20);
        row->target.ram_mb = sw_db_get_i64(res, 0, 21);
        row->target.burst_ram_mb = sw_db_get_i64(res, 0, 22);
        row->target.swap_mb = sw_db_get_i64(res, 0, 23);
        row->target.disk_gb = sw_db_get_i64(res, 0, 24);
    }
    row->has_template = sw_db_get_bool(res, 0, 25);
    if (load_guest(res, row) < 0) {
        SW_ERR(err, SW_EINVALID, "job %s has SSH keys or a network too long for a node job",
               job_id);
        goto out;
    }
    rc = load_images(db, row, err) < 0 || load_kernel(db, row, err) < 0 ||
                 load_iso(db, row, err) < 0 ||
                 load_snapshot(db, row, err) < 0 ||
                 sw_backups_load_job(db, row, err) < 0 || sw_mig_load_job(db, row, err) < 0
             ? -1
             : 1;
out:
    PQclear(res);
    return rc;
}

int sw_jobdb_load_addresses(struct sw_db *db, struct sw_job_row *row, struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT host(s.ipv4), host(s.ipv6)," NET_COLS ","
                               " (SELECT n.public_key FROM nodes n WHERE n.id = s.node_id)"
                               " FROM servers s WHERE s.id = $1",
                               SW_PARAMS(row->server_id));
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples(res) == 1 && (copy_col(res, 0, row->ipv4, sizeof row->ipv4) < 0 ||
                                copy_col(res, 1, row->ipv6, sizeof row->ipv6) < 0 ||
                                load_net(res, 2, row) < 0 ||
                                copy_col(res, 6, row->node_public_key,
                                         sizeof row->node_public_key) < 0)) {
        SW_ERR(err, SW_EINTERNAL, "server %s has an address too long for a node job",
               row->server_id);
        rc = -1;
    }
    PQclear(res);
    return rc;
}

int sw_jobdb_mark_running(struct sw_db *db, const struct sw_job_row *row, const char *node_id,
                          int srv_state, struct sw_err *err)
{
    const char *sname = srv_state == SW_SRV_KEEP ? NULL : sw_server_state_name(srv_state);
    /* One statement: the job, and the server when it changes state. */
    return sw_db_run(db, err,
                     /* started_at NULL: a first start, or an operator's retry
                      * (panel/admin_ops.c clears it): the count starts again */
                     "WITH j AS (UPDATE jobs SET state = 'running',"
                     " attempts = CASE WHEN started_at IS NULL THEN 1 ELSE attempts + 1 END,"
                     " started_at = coalesce(started_at, now()), node_id = $2,"
                     " error = NULL, error_code = NULL, updated_at = now() WHERE id = $1)"
                     " UPDATE servers SET state = $4, node_id = $2, error = NULL,"
                     " updated_at = now() WHERE id = $3 AND $4::text IS NOT NULL",
                     SW_PARAMS(row->job_id, node_id, row->server_id, sname)) < 0
               ? -1
               : 0;
}

int sw_jobdb_note_retry(struct sw_db *db, const struct sw_job_row *row, const char *error_code,
                        const char *error, long delay_ms, struct sw_err *err)
{
    char ms[24];
    snprintf(ms, sizeof ms, "%ld", delay_ms);
    return sw_db_run(db, err,
                     "UPDATE jobs SET attempts = attempts + 1, error = $2, error_code = $3,"
                     " retry_at = now() + make_interval(secs => $4::bigint / 1000.0),"
                     " updated_at = now() WHERE id = $1",
                     SW_PARAMS(row->job_id, error, error_code, ms)) < 0
               ? -1
               : 0;
}

int sw_jobdb_finish(struct sw_db *db, const struct sw_job_row *row, bool ok, const char *error_code,
                    const char *error, const char *domain_state, struct sw_err *err)
{
    return sw_jobdb_finish_as(db, row, ok ? SW_JOBST_SUCCEEDED : SW_JOBST_FAILED, error_code, error,
                              domain_state, err);
}

/* ---- what a finished job settles beyond the table in jobstate.c ---- */

typedef int (*settle_fn)(struct sw_db *db, const struct sw_job_row *row, bool ok,
                         struct sw_err *err);

/* Sets the server's allocation to a plan's demand (if it has one). */
static int set_allocation(struct sw_db *db, const char *server_id, const struct sw_plan_size *p,
                          struct sw_err *err)
{
    struct sw_amounts d;
    sw_plan_demand(p, &d);
    char v[SW_RC__COUNT][24];
    for (int k = 0; k < SW_RC__COUNT; k++)
        snprintf(v[k], sizeof v[k], "%lld", (long long)d.v[k]);
    return sw_db_run(db, err,
                     "UPDATE allocations SET vcpus = $2, mem_guar_mb = $3, mem_max_mb = $4,"
                     " disk_gb = $5 WHERE server_id = $1",
                     SW_PARAMS(server_id, v[SW_RC_VCPU], v[SW_RC_MEM_GUAR], v[SW_RC_MEM_MAX],
                               v[SW_RC_DISK])) < 0
               ? -1
               : 0;
}

/* A resize held the larger of both plans (claim.c): on success the server
 * takes the new plan and its demand; otherwise its own plan's demand again. */
static int settle_resize(struct sw_db *db, const struct sw_job_row *row, bool ok,
                         struct sw_err *err)
{
    if (!ok || !row->has_target)
        return set_allocation(db, row->server_id, &row->plan, err);
    if (sw_db_run(db, err, "UPDATE servers SET plan_id = $2, updated_at = now() WHERE id = $1",
                  SW_PARAMS(row->server_id, row->target_plan_id)) < 0)
        return -1;
    return set_allocation(db, row->server_id, &row->target, err);
}

static int settle_password(struct sw_db *db, const struct sw_job_row *row, bool ok,
                           struct sw_err *err);

static int settle_reinstall(struct sw_db *db, const struct sw_job_row *row, bool ok,
                            struct sw_err *err)
{
    if (settle_password(db, row, ok, err) < 0)
        return -1;
    /* a reinstall that gave its own keys: the server has them from now on */
    if (ok && sw_db_run(db, err,
                        "UPDATE servers SET ssh_keys ="
                        " ARRAY(SELECT jsonb_array_elements_text(j.params->'ssh_keys'))"
                        " FROM jobs j WHERE j.id = $1 AND servers.id = j.server_id"
                        " AND jsonb_typeof(j.params->'ssh_keys') = 'array'",
                        SW_PARAMS(row->job_id)) < 0)
        return -1;
    if (!ok || !row->has_template)
        return 0;
    return sw_db_run(db, err,
                     "UPDATE servers SET template_id = (j.params->>'template_id')::uuid,"
                     " updated_at = now() FROM jobs j WHERE j.id = $1 AND servers.id = j.server_id",
                     SW_PARAMS(row->job_id)) < 0
               ? -1
               : 0;
}

/* The password's hash is needed only until the job ends. */
static int settle_password(struct sw_db *db, const struct sw_job_row *row, bool ok,
                           struct sw_err *err)
{
    (void)ok;
    return sw_db_run(db, err, "UPDATE jobs SET params = params - 'password_hash' WHERE id = $1",
                     SW_PARAMS(row->job_id)) < 0
               ? -1
               : 0;
}

static const settle_fn settles[SW_JOB__COUNT] = {
    [SW_JOB_CREATE] = settle_password,
    [SW_JOB_RESIZE] = settle_resize,
    [SW_JOB_REINSTALL] = settle_reinstall,
    [SW_JOB_RESET_PASSWORD] = settle_password,
    [SW_JOB_MIGRATE] = sw_mig_settle, /* migrate.c */
};

int sw_jobdb_finish_as(struct sw_db *db, const struct sw_job_row *row, int job_state,
                       const char *error_code, const char *error, const char *domain_state,
                       struct sw_err *err)
{
    bool ok = job_state == SW_JOBST_SUCCEEDED;
    const struct sw_job_effect *e = sw_jobstate_effect(row->type);
    if (!e) {
        SW_ERR(err, SW_EINTERNAL, "job %s has an unknown type", row->job_id);
        return -1;
    }
    const char *jstate = sw_job_state_name(job_state);
    if (ok)
        error_code = error = NULL;
    else if (!error_code || !*error_code)
        error_code = "internal";
    if (!ok && (!error || !*error))
        error = "the job failed";
    /* The job, the server (when the guard holds) and the order (when the
     * type has one) in one statement. */
    bool guard = (e->srv_from & SW_SRVMASK(row->srv_state)) != 0;
    const char *sname = NULL;
    if (guard) {
        int next = sw_jobstate_server_after(e, ok, domain_state, row->srv_state);
        sname = next == SW_SRV_KEEP ? NULL : sw_server_state_name(next);
    }
    const char *ostate = ok ? e->order_ok : e->order_fail;
    if (sw_db_run(db, err,
                  "WITH j AS (UPDATE jobs SET state = $2, error = $3, error_code = $4,"
                  "  progress = 100, retry_at = NULL, finished_at = now(), updated_at = now()"
                  "  WHERE id = $1),"
                  " s AS (UPDATE servers SET state = coalesce($6, state), error = $3,"
                  "  updated_at = now() WHERE id = $5 AND $7::boolean)"
                  " UPDATE orders SET state = $8 WHERE server_id = $5 AND state = 'accepted'"
                  " AND $8::text IS NOT NULL",
                  SW_PARAMS(row->job_id, jstate, error, error_code, row->server_id, sname,
                            guard ? "true" : "false", ostate)) < 0)
        return -1;

    if (settles[row->type] && settles[row->type](db, row, ok, err) < 0)
        return -1;

    /* The allocation and the addresses go together (README.md "IPAM"). */
    if ((ok ? e->release_ok : e->release_fail) &&
        sw_db_run(db, err,
                  "WITH a AS (DELETE FROM allocations WHERE server_id = $1)"
                  " SELECT sw_ipam_release($1)",
                  SW_PARAMS(row->server_id)) < 0)
        return -1;
    return 0;
}

int sw_jobdb_move_to_alternate(struct sw_db *db, const struct sw_job_row *row,
                               const char *error_code, const char *error, struct sw_err *err)
{
    long moved = sw_db_run(db, err,
                           "UPDATE jobs SET state = 'queued', node_id = NULL, error = $2,"
                           " error_code = $3, retry_at = NULL, updated_at = now(),"
                           " params = params || jsonb_build_object('reclaim', true,"
                           "   'failed_nodes', coalesce(params->'failed_nodes', '[]')"
                           "                   || to_jsonb(node_id::text))"
                           " WHERE id = $1 AND state = 'running' AND type = 'create'"
                           " AND jsonb_typeof(params->'alternates') = 'array'"
                           " AND jsonb_array_length(params->'alternates') > 0",
                           SW_PARAMS(row->job_id, error && *error ? error : "the build failed",
                                     error_code && *error_code ? error_code : "internal"));
    if (moved <= 0)
        return moved < 0 ? -1 : 0;
    if (sw_db_run(db, err,
                  "WITH a AS (DELETE FROM allocations WHERE server_id = $1)"
                  " SELECT sw_ipam_release($1)",
                  SW_PARAMS(row->server_id)) < 0 ||
        sw_db_run(db, err,
                  "UPDATE servers SET state = 'pending', node_id = NULL, updated_at = now()"
                  " WHERE id = $1",
                  SW_PARAMS(row->server_id)) < 0)
        return -1;
    return 1;
}
