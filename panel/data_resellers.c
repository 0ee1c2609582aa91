#include "config.h"
#include "panel/data_resellers.h"
#include "core/err.h"

const struct sw_data_list sw_data_resellers_admin_list = {
    "sw_admin_reseller_json(t)", "accounts",
    "$1::uuid IS NOT NULL AND t.kind = 'reseller' AND ($2::text IS NULL OR t.state = $2)", NULL};

int sw_data_resellers_insert(struct sw_db *db, const char *id, const char *email, const char *name,
                             const char *password_hash, struct sw_err *err)
{
    return sw_data_run(db, err,
                       "INSERT INTO accounts (id, kind, email, name, password_hash)"
                       " VALUES ($1, 'reseller', $2, $3, $4)",
                       SW_PARAMS(id, email, name, password_hash));
}

long sw_data_resellers_rename(struct sw_db *db, const char *id, const char *name,
                              struct sw_err *err)
{
    return sw_db_run(db, err,
                     "UPDATE accounts SET name = coalesce($2, name) WHERE id = $1"
                     " AND kind = 'reseller'",
                     SW_PARAMS(id, name));
}

int sw_data_resellers_set_quota(struct sw_db *db, const char *id, const struct sw_data_quota_in *q,
                                struct sw_err *err)
{
    return sw_db_run(
        db, err,
        "INSERT INTO reseller_quotas AS r (reseller_id, max_servers, max_vcpus, max_ram_mb,"
        " max_disk_gb, max_ipv4, kinds) VALUES ($1, $2, $3, $4, $5, $6, $7::text[])"
        " ON CONFLICT (reseller_id) DO UPDATE SET"
        " max_servers = CASE WHEN 'max_servers' = ANY ($8::text[])"
        "  THEN EXCLUDED.max_servers ELSE r.max_servers END,"
        " max_vcpus = CASE WHEN 'max_vcpus' = ANY ($8::text[])"
        "  THEN EXCLUDED.max_vcpus ELSE r.max_vcpus END,"
        " max_ram_mb = CASE WHEN 'max_ram_mb' = ANY ($8::text[])"
        "  THEN EXCLUDED.max_ram_mb ELSE r.max_ram_mb END,"
        " max_disk_gb = CASE WHEN 'max_disk_gb' = ANY ($8::text[])"
        "  THEN EXCLUDED.max_disk_gb ELSE r.max_disk_gb END,"
        " max_ipv4 = CASE WHEN 'max_ipv4' = ANY ($8::text[])"
        "  THEN EXCLUDED.max_ipv4 ELSE r.max_ipv4 END,"
        " kinds = CASE WHEN 'kinds' = ANY ($8::text[]) THEN EXCLUDED.kinds ELSE r.kinds END,"
        " updated_at = now()",
        SW_PARAMS(id, q->limit[0], q->limit[1], q->limit[2], q->limit[3], q->limit[4], q->kinds,
                  q->given));
}

json_t *sw_data_resellers_get(struct sw_db *db, const char *id, struct sw_err *err)
{
    return sw_data_json_row(db, err, "reseller",
                            "SELECT sw_admin_reseller_json(a) FROM accounts a WHERE a.id = $1",
                            SW_PARAMS(id));
}
