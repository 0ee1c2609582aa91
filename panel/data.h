/* data.h - what every panel data file shares.
 *
 * The panel's SQL lives in data_<resource>.c files, one per resource, each
 * function named sw_data_<resource>_<verb>, taking the connection and a
 * caller-owned struct sw_err; handlers keep validation, authorization flow
 * and the JSON answers. Tenant-scoped functions take the caller's scope
 * (sw_api_scope()) so no query loses its owner condition.
 */
#ifndef SW_PANEL_DATA_H
#define SW_PANEL_DATA_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/db.h"

struct sw_err;
struct sw_principal;

/* Runs a query answering one JSON column and returns the first row's value
 * as a new reference (the caller owns it; json_decref()). No row is
 * SW_ENOTFOUND "<what> not found"; a database error is mapped by
 * sw_db_exec(). Either way NULL with err set. A SQL NULL value is
 * json_null(). Parameters as sw_db_exec (SW_PARAMS(...)). */
json_t *sw_data_json_row(struct sw_db *db, struct sw_err *err, const char *what, const char *sql,
                         int nparams, const char *const *params);

/* A list's SQL, for sw_api_list_data(): what each row renders as, the
 * table (aliased t) and the condition; its parameters ($1..) are said where
 * the list is declared. With owner_col, where holds one %s, replaced by the
 * caller's scope of that column (sw_data_sql_scoped(); $1 is the caller).
 * Static storage. */
struct sw_data_list {
    const char *json_expr;
    const char *table;
    const char *where;
    const char *owner_col; /* NULL: where is complete */
};

/* Runs one page of the list l: rows (JSON, id) in (created_at, id) order
 * after the row cursor (NULL: from the start; looked up under the list's
 * own condition, so another tenant's id tells nothing), at most limit rows.
 * where is already complete (scoped); params are its $1..$n, at most 8.
 * Returns an owned result (PQclear) or NULL with err. */
PGresult *sw_data_list_page(struct sw_db *db, struct sw_err *err, const struct sw_data_list *l,
                            const char *cursor, long limit, int nparams, const char *const *params);

/* sql_fmt with its one %s replaced by sw_api_scope_who(who, owner_col):
 * the condition limiting owner_col to what who may see, with who's account
 * id as $1. Returns owned (free()). */
char *sw_data_sql_scoped(const struct sw_principal *who, const char *sql_fmt,
                         const char *owner_col);

/* sw_data_json_row() over the rows who may see: sql_fmt holds one %s,
 * replaced by sw_api_scope_who(who, owner_col); $1 must be who's account
 * id (params[0]). */
json_t *sw_data_json_row_scoped(struct sw_db *db, struct sw_err *err, const char *what,
                                const struct sw_principal *who, const char *sql_fmt,
                                const char *owner_col, int nparams, const char *const *params);

/* Whether id names a row who may see: sql_fmt as sw_data_sql_scoped(),
 * with $1 who's account id and $2 id. 1, 0, or -1 with err. */
int sw_data_visible(struct sw_db *db, struct sw_err *err, const struct sw_principal *who,
                    const char *sql_fmt, const char *owner_col, const char *id);

/* A count of rows in one state. */
struct sw_data_count {
    char state[24];
    int64_t count;
};

/* Reads rows (state, count) of sql into out (at most max); the number read,
 * or -1 with err. */
int sw_data_counts(struct sw_db *db, struct sw_err *err, const char *sql, struct sw_data_count *out,
                   int max);

/* Whether the database answers: a trivial statement. */
bool sw_data_ping(struct sw_db *db);

/* Runs a statement for its effect (sw_db_run): 0, or -1 with err. */
int sw_data_run(struct sw_db *db, struct sw_err *err, const char *sql, int nparams,
                const char *const *params);

/* Runs a query and says whether it answered a row: 1 yes, 0 no, -1 with
 * err set. */
int sw_data_exists(struct sw_db *db, struct sw_err *err, const char *sql, int nparams,
                   const char *const *params);

#endif
