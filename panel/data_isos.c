/* data_isos.c - the SQL of ISO installs (data_isos.h). */
#include "config.h"
#include "panel/data_isos.h"
#include "core/db.h"
#include "core/err.h"

#include <libpq-fe.h>

const struct sw_data_list sw_data_isos_list = {
    "json_build_object('id', t.id, 'name', t.name, 'size_bytes', t.size_bytes)", "images",
    "t.state = 'ready' AND t.format = 'iso' AND $1::uuid IS NOT NULL", NULL};

int sw_data_isos_ready(struct sw_db *db, const char *iso_id, struct sw_err *err)
{
    return sw_data_exists(db, err,
                          "SELECT 1 FROM images WHERE id = $1 AND state = 'ready'"
                          " AND format = 'iso'",
                          SW_PARAMS(iso_id));
}

int sw_data_isos_mounted(struct sw_db *db, const char *server_id, struct sw_err *err)
{
    return sw_data_exists(db, err, "SELECT 1 FROM servers WHERE id = $1 AND iso_id IS NOT NULL",
                          SW_PARAMS(server_id));
}

int sw_data_isos_set(struct sw_db *db, const char *server_id, const char *iso_id,
                     const char *boot, struct sw_err *err)
{
    return sw_db_run(db, err,
                     "UPDATE servers SET iso_id = $2::uuid, boot = $3, updated_at = now()"
                     " WHERE id = $1",
                     SW_PARAMS(server_id, iso_id, boot)) < 0
               ? -1
               : 0;
}

int sw_data_isos_set_boot(struct sw_db *db, const char *server_id, const char *boot,
                          struct sw_err *err)
{
    return sw_db_run(db, err, "UPDATE servers SET boot = $2, updated_at = now() WHERE id = $1",
                     SW_PARAMS(server_id, boot)) < 0
               ? -1
               : 0;
}

int sw_data_isos_in_use(struct sw_db *db, const char *iso_id, struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT count(*) FROM servers WHERE iso_id = $1"
                               " AND state <> 'terminated'",
                               SW_PARAMS(iso_id));
    if (!res)
        return -1;
    long long n = sw_db_get_i64(res, 0, 0);
    PQclear(res);
    if (n == 0)
        return 0;
    SW_ERR(err, SW_ECONFLICT, "the iso is mounted on %lld server(s): they must eject it first", n);
    return 1;
}
