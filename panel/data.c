#include "config.h"
#include "panel/data.h"
#include "core/alloc.h"
#include "core/err.h"
#include "panel/api.h"

#include <stdio.h>
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

PGresult *sw_data_list_page(struct sw_db *db, struct sw_err *err, const struct sw_data_list *l,
                            const char *cursor, long limit, int nparams, const char *const *params)
{
    if (nparams > 8) {
        SW_ERR(err, SW_EINTERNAL, "too many list parameters");
        return NULL;
    }
    char lim[24];
    snprintf(lim, sizeof lim, "%ld", limit);
    const char *all[10];
    for (int i = 0; i < nparams; i++)
        all[i] = params[i];
    all[nparams] = cursor ? cursor : lim;
    all[nparams + 1] = lim;
    /* table, json_expr and where are static strings of the caller. The
     * first page's statement has no cursor condition at all, so its plan
     * (prepared once per connection, core/db.c) never depends on one. The
     * cursor row is looked up under the list's own condition: an unscoped
     * lookup would tell a caller whether another tenant's id exists (found
     * by tests/integration/authz_matrix.py). */
    char *sql = cursor ? sw_asprintf("SELECT %s, t.id FROM %s t WHERE (%s) AND "
                                     "(t.created_at, t.id) > (SELECT t.created_at, t.id FROM %s t "
                                     "WHERE t.id = $%d::uuid AND (%s)) ORDER BY t.created_at, t.id"
                                     " LIMIT $%d",
                                     l->json_expr, l->table, l->where, l->table, nparams + 1,
                                     l->where, nparams + 2)
                       : sw_asprintf("SELECT %s, t.id FROM %s t WHERE (%s)"
                                     " ORDER BY t.created_at, t.id LIMIT $%d",
                                     l->json_expr, l->table, l->where, nparams + 1);
    PGresult *res = sw_db_exec(db, err, sql, nparams + (cursor ? 2 : 1), all);
    free(sql);
    return res;
}

int sw_data_counts(struct sw_db *db, struct sw_err *err, const char *sql, struct sw_data_count *out,
                   int max)
{
    PGresult *res = sw_db_exec(db, err, sql, 0, NULL);
    if (!res)
        return -1;
    int n = PQntuples(res) < max ? PQntuples(res) : max;
    for (int i = 0; i < n; i++) {
        snprintf(out[i].state, sizeof out[i].state, "%s", sw_db_get(res, i, 0));
        out[i].count = sw_db_get_i64(res, i, 1);
    }
    PQclear(res);
    return n;
}

bool sw_data_ping(struct sw_db *db)
{
    return sw_db_run(db, NULL, "SELECT 1", 0, NULL) >= 0;
}

int sw_data_run(struct sw_db *db, struct sw_err *err, const char *sql, int nparams,
                const char *const *params)
{
    return sw_db_run(db, err, sql, nparams, params) < 0 ? -1 : 0;
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
