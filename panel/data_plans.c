/* data_plans.c - the SQL of the plan routes (data_plans.h). */
#include "config.h"
#include "panel/data_plans.h"
#include "core/db.h"
#include "core/err.h"
#include "panel/data.h"

#include <stdio.h>

/* The limits' columns, in sw_msg_limit_fields' order. */
#define LIMIT_COLS                                                                                 \
    " p.disk_read_iops, p.disk_write_iops, p.disk_read_bytes_sec, p.disk_write_bytes_sec,"         \
    " p.net_average_kbyte_s, p.net_peak_kbyte_s, p.net_burst_kbyte, p.cpu_cap_pct"
#define LIMIT_NAMES                                                                                \
    " disk_read_iops, disk_write_iops, disk_read_bytes_sec, disk_write_bytes_sec,"                 \
    " net_average_kbyte_s, net_peak_kbyte_s, net_burst_kbyte, cpu_cap_pct"

int sw_data_plans_lock(struct sw_db *db, const char *id, struct sw_plan_row *row,
                       struct sw_err *err)
{
    PGresult *res = sw_db_exec(
        db, err,
        "SELECT p.name, p.kind, p.vcpus, p.ram_mb, p.burst_ram_mb, p.swap_mb, p.disk_gb,"
        " p.bandwidth_gb, p.price_hourly, p.price_monthly, p.price_bandwidth_gb, p.currency,"
        " p.state," LIMIT_COLS ", p.price_disk_gb_month FROM plans p WHERE p.id = $1 FOR UPDATE",
        SW_PARAMS(id));
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        SW_ERR(err, SW_ENOTFOUND, "plan not found");
        return -1;
    }
    snprintf(row->name, sizeof row->name, "%s", sw_db_get(res, 0, 0));
    snprintf(row->kind, sizeof row->kind, "%s", sw_db_get(res, 0, 1));
    int64_t *const ints[] = {&row->vcpus,        &row->ram_mb,       &row->burst_ram_mb,
                             &row->swap_mb,      &row->disk_gb,      &row->bandwidth_gb,
                             &row->price_hourly, &row->price_monthly, &row->price_bandwidth_gb};
    for (int i = 0; i < 9; i++)
        *ints[i] = sw_db_get_i64(res, 0, 2 + i);
    snprintf(row->currency, sizeof row->currency, "%s", sw_db_get(res, 0, 11));
    snprintf(row->state, sizeof row->state, "%s", sw_db_get(res, 0, 12));
    int c = 13;
    for (const struct sw_msg_limit_field *f = sw_msg_limit_fields; f->name; f++)
        *sw_msg_limit_at(&row->limits, f) = sw_db_get_i64(res, 0, c++);
    row->price_disk_gb_month = sw_db_get_i64(res, 0, c);
    PQclear(res);
    return 0;
}

int sw_data_plans_use(struct sw_db *db, const char *id, int64_t *n, struct sw_err *err)
{
    PGresult *res = sw_db_exec(
        db, err,
        "SELECT (SELECT count(*) FROM servers s WHERE s.plan_id = $1::uuid)"
        " + (SELECT count(DISTINCT j.server_id) FROM jobs j WHERE j.type = 'resize'"
        "    AND j.params->>'plan_id' = $1::uuid::text AND j.server_id NOT IN"
        "    (SELECT s.id FROM servers s WHERE s.plan_id = $1::uuid))",
        SW_PARAMS(id));
    if (!res)
        return -1;
    *n = sw_db_get_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

/* The row's numbers as text, in the column order of INSERT and UPDATE:
 * vcpus, ram_mb, burst_ram_mb, swap_mb, disk_gb, bandwidth_gb,
 * price_hourly, price_monthly, price_bandwidth_gb, then the limits
 * (LIMIT_NAMES), then price_disk_gb_month. */
#define LIMITS_AT 9
#define DISK_PRICE_AT (LIMITS_AT + 8)
struct row_text {
    char v[DISK_PRICE_AT + 1][24];
};

static void row_text(const struct sw_plan_row *row, struct row_text *t)
{
    const int64_t n[LIMITS_AT] = {row->vcpus,        row->ram_mb,        row->burst_ram_mb,
                                  row->swap_mb,      row->disk_gb,       row->bandwidth_gb,
                                  row->price_hourly, row->price_monthly, row->price_bandwidth_gb};
    for (int i = 0; i < LIMITS_AT; i++)
        snprintf(t->v[i], sizeof t->v[i], "%lld", (long long)n[i]);
    struct sw_msg_limits l = row->limits;
    int i = LIMITS_AT;
    for (const struct sw_msg_limit_field *f = sw_msg_limit_fields; f->name; f++, i++)
        snprintf(t->v[i], sizeof t->v[i], "%lld", (long long)*sw_msg_limit_at(&l, f));
    snprintf(t->v[DISK_PRICE_AT], sizeof t->v[DISK_PRICE_AT], "%lld",
             (long long)row->price_disk_gb_month);
}

json_t *sw_data_plans_insert(struct sw_db *db, const char *id, const struct sw_plan_row *row,
                             struct sw_err *err)
{
    struct row_text t;
    row_text(row, &t);
    return sw_data_json_row(
        db, err, "plan",
        "INSERT INTO plans (id, name, kind, vcpus, ram_mb, burst_ram_mb, swap_mb, disk_gb,"
        " bandwidth_gb, price_hourly, price_monthly, price_bandwidth_gb, currency, state,"
        LIMIT_NAMES ", price_disk_gb_month)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,"
        " $15, $16, $17, $18, $19, $20, $21, $22, $23)"
        " RETURNING sw_plan_json(plans)",
        SW_PARAMS(id, row->name, row->kind, t.v[0], t.v[1], t.v[2], t.v[3], t.v[4], t.v[5],
                  t.v[6], t.v[7], t.v[8], row->currency, row->state, t.v[9], t.v[10], t.v[11],
                  t.v[12], t.v[13], t.v[14], t.v[15], t.v[16], t.v[17]));
}

json_t *sw_data_plans_update(struct sw_db *db, const char *id, const struct sw_plan_row *row,
                             struct sw_err *err)
{
    struct row_text t;
    row_text(row, &t);
    return sw_data_json_row(
        db, err, "plan",
        "UPDATE plans SET name = $2, kind = $3, vcpus = $4, ram_mb = $5, burst_ram_mb = $6,"
        " swap_mb = $7, disk_gb = $8, bandwidth_gb = $9, price_hourly = $10,"
        " price_monthly = $11, price_bandwidth_gb = $12, currency = $13, state = $14,"
        " (" LIMIT_NAMES ") = ($15, $16, $17, $18, $19, $20, $21, $22),"
        " price_disk_gb_month = $23"
        " WHERE id = $1 RETURNING sw_plan_json(plans)",
        SW_PARAMS(id, row->name, row->kind, t.v[0], t.v[1], t.v[2], t.v[3], t.v[4], t.v[5],
                  t.v[6], t.v[7], t.v[8], row->currency, row->state, t.v[9], t.v[10], t.v[11],
                  t.v[12], t.v[13], t.v[14], t.v[15], t.v[16], t.v[17]));
}

json_t *sw_data_plans_lock_json(struct sw_db *db, const char *id, struct sw_err *err)
{
    return sw_data_json_row(db, err, "plan",
                            "SELECT sw_plan_json(p) FROM plans p WHERE p.id = $1 FOR UPDATE",
                            SW_PARAMS(id));
}

int sw_data_plans_delete(struct sw_db *db, const char *id, bool *deleted, struct sw_err *err)
{
    *deleted = false;
    if (sw_db_run(db, err, "SAVEPOINT plan_delete", 0, NULL) < 0)
        return -1;
    struct sw_err derr = {0};
    if (sw_db_run(db, &derr, "DELETE FROM plans WHERE id = $1", SW_PARAMS(id)) == 1) {
        *deleted = true;
        return 0;
    }
    if (derr.code == SW_EUNAVAILABLE) {
        *err = derr;
        return -1;
    }
    return sw_db_run(db, err, "ROLLBACK TO SAVEPOINT plan_delete", 0, NULL) < 0 ? -1 : 0;
}

json_t *sw_data_plans_retire(struct sw_db *db, const char *id, struct sw_err *err)
{
    return sw_data_json_row(
        db, err, "plan",
        "UPDATE plans SET state = 'retired' WHERE id = $1 RETURNING sw_plan_json(plans)",
        SW_PARAMS(id));
}
