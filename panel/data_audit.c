#include "config.h"
#include "panel/data_audit.h"
#include "core/crypto.h"
#include "core/err.h"

/* action is a prefix ("POST /v1/admin/"); compared with left(), so no LIKE
 * escaping is needed. */
const struct sw_data_list sw_data_audit_list = {
    "sw_audit_json(t)", "audit_log",
    "$1::uuid IS NOT NULL AND ($2::uuid IS NULL OR t.actor_id = $2)"
    " AND ($3::text IS NULL OR t.object_id = $3)"
    " AND ($4::text IS NULL OR left(t.action, length($4)) = $4)"
    " AND ($5::timestamptz IS NULL OR t.created_at >= $5)"
    " AND ($6::timestamptz IS NULL OR t.created_at < $6)"
    " AND ($7::text IS NULL OR t.result = $7)",
    NULL};

int sw_data_audit_insert(struct sw_db *db, const struct sw_data_audit *a, struct sw_err *err)
{
    sw_uuid_t id;
    sw_uuid_new(id);
    return sw_data_run(
        db, err,
        "INSERT INTO audit_log (id, actor_id, token_id, action, object_id, status,"
        " result, remote, idempotency_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        SW_PARAMS(id, a->actor_id, a->token_id, a->action, a->object_id, a->status, a->result,
                  a->remote, a->idempotency_key));
}

int sw_data_audit_check_times(struct sw_db *db, const char *since, const char *until,
                              struct sw_err *err)
{
    return sw_data_run(db, err, "SELECT $1::timestamptz, $2::timestamptz", SW_PARAMS(since, until));
}
