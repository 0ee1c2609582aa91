#include "config.h"
#include "core/nodemsg.h"
#include "core/alloc.h"
#include "core/db.h"
#include "core/err.h"
#include "core/log.h"

int sw_nodemsg_streams(struct sw_db *db, const char *prefix, char ***out, size_t *n,
                       struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err, "SELECT $1 || id FROM nodes ORDER BY id",
                               SW_PARAMS(prefix));
    if (!res)
        return -1;
    *n = (size_t)PQntuples(res);
    *out = sw_calloc(*n + 1, sizeof **out);
    for (size_t i = 0; i < *n; i++)
        (*out)[i] = sw_strdup(sw_db_get(res, (int)i, 0));
    PQclear(res);
    return 0;
}

int sw_nodemsg_reject(struct sw_db *db, const char *stream, const char *entry_id,
                      const char *node_id, const char *reason, struct sw_err *err)
{
    sw_warn("message.rejected", "stream=%s id=%s node=%s reason=%s", stream, entry_id,
            node_id ? node_id : "-", reason);
    return sw_db_run(db, err,
                     "INSERT INTO rejected_messages (stream, entry_id, node_id, reason)"
                     " VALUES ($1, $2, $3::uuid, $4)",
                     SW_PARAMS(stream, entry_id, node_id, reason)) < 0
               ? -1
               : 0;
}
