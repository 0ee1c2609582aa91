#include "config.h"
#include "panel/data.h"
#include "core/alloc.h"
#include "core/err.h"
#include "panel/api.h"

#include <stdlib.h>

json_t *sw_data_json_row(struct sw_db *db, struct sw_err *err, const char *what, const char *sql,
                         int nparams, const char *const *params)
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

char *sw_data_sql_scoped(const struct sw_principal *who, const char *sql_fmt, const char *owner_col)
{
    char *scope = sw_api_scope_who(who, owner_col);
    char *sql = sw_asprintf(sql_fmt, scope);
    free(scope);
    return sql;
}

json_t *sw_data_json_row_scoped(struct sw_db *db, struct sw_err *err, const char *what,
                                const struct sw_principal *who, const char *sql_fmt,
                                const char *owner_col, int nparams, const char *const *params)
{
    char *sql = sw_data_sql_scoped(who, sql_fmt, owner_col);
    json_t *v = sw_data_json_row(db, err, what, sql, nparams, params);
    free(sql);
    return v;
}

int sw_data_visible(struct sw_db *db, struct sw_err *err, const struct sw_principal *who,
                    const char *sql_fmt, const char *owner_col, const char *id)
{
    char *sql = sw_data_sql_scoped(who, sql_fmt, owner_col);
    int found = sw_data_exists(db, err, sql, SW_PARAMS(who->account_id, id));
    free(sql);
    return found;
}

int sw_data_exists(struct sw_db *db, struct sw_err *err, const char *sql, int nparams,
                   const char *const *params)
{
    PGresult *res = sw_db_exec(db, err, sql, nparams, params);
    if (!res)
        return -1;
    int found = PQntuples(res) > 0;
    PQclear(res);
    return found;
}
