#include "config.h"
#include "panel/data.h"
#include "core/err.h"
#include "panel/api.h"

json_t *sw_data_json_row(struct sw_db *db, struct sw_err *err, const char *what,
                         const char *sql, int nparams, const char *const *params)
{
    PGresult *res = sw_db_exec(db, err, sql, nparams, params);
    if (!res)
        return NULL;
    if (PQntuples(res) == 0) {
        PQclear(res);
        SW_ERR(err, SW_ENOTFOUND, "%s not found", what);
        return NULL;
    }
    json_t *v = sw_api_json_col(sw_db_get(res, 0, 0));
    PQclear(res);
    return v;
}
