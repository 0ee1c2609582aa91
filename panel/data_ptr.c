#include "config.h"
#include "panel/data_ptr.h"
#include "core/db.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>

int sw_data_ptr_address(struct sw_db *db, const char *server_id, const char *addr,
                        struct sw_data_ptr_addr *out, struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT a.pool_id, host($2::inet), r.pool_id IS NOT NULL,"
                               " coalesce(r.zone, ''), coalesce(r.forward_confirm, false)"
                               " FROM ip_assignments a"
                               " LEFT JOIN ip_pool_rdns r ON r.pool_id = a.pool_id"
                               " WHERE a.server_id = $1 AND $2::inet <<= a.address",
                               SW_PARAMS(server_id, addr));
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        snprintf(out->pool_id, sizeof out->pool_id, "%s", sw_db_get(res, 0, 0));
        snprintf(out->address, sizeof out->address, "%s", sw_db_get(res, 0, 1));
        out->offered = sw_db_get_bool(res, 0, 2);
        snprintf(out->zone, sizeof out->zone, "%s", sw_db_get(res, 0, 3));
        out->forward_confirm = sw_db_get_bool(res, 0, 4);
    }
    PQclear(res);
    return found;
}

json_t *sw_data_ptr_want(struct sw_db *db, const char *server_id, const char *pool_id,
                         const char *address, const char *ptr, struct sw_err *err)
{
    if (!ptr)
        return sw_data_json_row(
            db, err, "ptr",
            "UPDATE ptr_records p SET ptr = NULL, state = 'pending', version = version + 1,"
            " attempts = 0, error = NULL, next_at = now(), updated_at = now()"
            " WHERE p.address = $2::inet AND p.server_id = $1 AND p.ptr IS NOT NULL"
            " RETURNING sw_ptr_json(p)",
            SW_PARAMS(server_id, address));
    char id[SW_UUID_LEN + 1];
    sw_uuid_new(id);
    return sw_data_json_row(
        db, err, "ptr",
        "INSERT INTO ptr_records AS p (id, address, server_id, pool_id, ptr)"
        " VALUES ($1, $2::inet, $3, $4, $5) ON CONFLICT (address) DO UPDATE SET"
        " ptr = EXCLUDED.ptr, server_id = EXCLUDED.server_id, pool_id = EXCLUDED.pool_id,"
        " state = 'pending', version = p.version + 1, attempts = 0, error = NULL,"
        " next_at = now(), updated_at = now() RETURNING sw_ptr_json(p)",
        SW_PARAMS(id, address, server_id, pool_id, ptr));
}

json_t *sw_data_ptr_get(struct sw_db *db, const char *server_id, const char *address,
                        struct sw_err *err)
{
    return sw_data_json_row(db, err, "ptr",
                            "SELECT sw_ptr_json(p) FROM ptr_records p WHERE p.address = $2::inet"
                            " AND p.server_id = $1 AND p.ptr IS NOT NULL",
                            SW_PARAMS(server_id, address));
}

int sw_data_ptr_pool_first(struct sw_db *db, const char *pool_id, char first[48],
                           struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err, "SELECT host(network) FROM ip_pools WHERE id = $1",
                               SW_PARAMS(pool_id));
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    snprintf(first, 48, "%s", found ? sw_db_get(res, 0, 0) : "");
    PQclear(res);
    return found;
}

json_t *sw_data_ptr_pool_set(struct sw_db *db, const struct sw_data_ptr_pool *p,
                             struct sw_err *err)
{
    return sw_data_json_row(
        db, err, "ip pool",
        "WITH u AS (UPDATE ptr_records SET state = 'pending', version = version + 1,"
        " attempts = 0, error = NULL, next_at = now(), updated_at = now()"
        " WHERE pool_id = $1 AND ptr IS NOT NULL)"
        " INSERT INTO ip_pool_rdns AS r (pool_id, api_url, api_server, zone, api_key_wrapped,"
        " forward_confirm, ttl) VALUES ($1, $2, $3, $4, $5, $6::boolean, $7::integer)"
        " ON CONFLICT (pool_id) DO UPDATE SET api_url = EXCLUDED.api_url,"
        " api_server = EXCLUDED.api_server, zone = EXCLUDED.zone,"
        " api_key_wrapped = EXCLUDED.api_key_wrapped,"
        " forward_confirm = EXCLUDED.forward_confirm, ttl = EXCLUDED.ttl, updated_at = now()"
        " RETURNING json_build_object('pool_id', r.pool_id, 'api_url', r.api_url,"
        " 'api_server', r.api_server, 'zone', r.zone, 'forward_confirm', r.forward_confirm,"
        " 'ttl', r.ttl, 'api_key_set', true, 'updated_at', sw_ts(r.updated_at))",
        SW_PARAMS(p->pool_id, p->api_url, p->api_server, p->zone, p->api_key_wrapped,
                  p->forward_confirm ? "true" : "false", p->ttl));
}

int sw_data_ptr_claim(struct sw_db *db, struct sw_data_ptr_work *w, struct sw_err *err)
{
    PGresult *res = sw_db_exec(
        db, err,
        "WITH c AS (SELECT id FROM ptr_records WHERE state = 'pending' AND next_at <= now()"
        " AND (lease_until IS NULL OR lease_until < now()) ORDER BY next_at LIMIT 1"
        " FOR UPDATE SKIP LOCKED)"
        " UPDATE ptr_records p SET lease_until = now() + interval '60 s',"
        " attempts = p.attempts + 1 FROM c, ip_pool_rdns r"
        " WHERE p.id = c.id AND r.pool_id = p.pool_id"
        " RETURNING p.id, host(p.address), p.ptr IS NULL, coalesce(p.ptr, ''), p.version,"
        " r.api_url, r.api_server, r.zone, r.api_key_wrapped, r.ttl",
        0, NULL);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        snprintf(w->id, sizeof w->id, "%s", sw_db_get(res, 0, 0));
        snprintf(w->address, sizeof w->address, "%s", sw_db_get(res, 0, 1));
        w->remove = sw_db_get_bool(res, 0, 2);
        snprintf(w->ptr, sizeof w->ptr, "%s", sw_db_get(res, 0, 3));
        snprintf(w->version, sizeof w->version, "%s", sw_db_get(res, 0, 4));
        snprintf(w->api_url, sizeof w->api_url, "%s", sw_db_get(res, 0, 5));
        snprintf(w->api_server, sizeof w->api_server, "%s", sw_db_get(res, 0, 6));
        snprintf(w->zone, sizeof w->zone, "%s", sw_db_get(res, 0, 7));
        snprintf(w->api_key_wrapped, sizeof w->api_key_wrapped, "%s", sw_db_get(res, 0, 8));
        w->ttl = (long)sw_db_get_i64(res, 0, 9);
    }
    PQclear(res);
    return found;
}

/* The row's lease back, whatever became of it. */
static int release(struct sw_db *db, const char *id, struct sw_err *err)
{
    return sw_data_run(db, err, "UPDATE ptr_records SET lease_until = NULL WHERE id = $1",
                       SW_PARAMS(id));
}

int sw_data_ptr_done(struct sw_db *db, const struct sw_data_ptr_work *w, struct sw_err *err)
{
    if (sw_data_run(db, err,
                    "WITH d AS (DELETE FROM ptr_records WHERE id = $1 AND version = $2::bigint"
                    " AND ptr IS NULL)"
                    " UPDATE ptr_records SET state = 'synced', attempts = 0, error = NULL,"
                    " updated_at = now() WHERE id = $1 AND version = $2::bigint"
                    " AND ptr IS NOT NULL",
                    SW_PARAMS(w->id, w->version)) < 0)
        return -1;
    return release(db, w->id, err);
}

int sw_data_ptr_failed(struct sw_db *db, const struct sw_data_ptr_work *w, const char *why,
                       struct sw_err *err)
{
    if (sw_data_run(db, err,
                    "UPDATE ptr_records SET error = $3, updated_at = now(), next_at = now()"
                    " + least(600, power(2, least(attempts, 10))) * interval '1 s'"
                    " WHERE id = $1 AND version = $2::bigint",
                    SW_PARAMS(w->id, w->version, why)) < 0)
        return -1;
    return release(db, w->id, err);
}
