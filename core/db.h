/* db.h - PostgreSQL helpers: parameterised queries only, transactions,
 * SQLSTATE mapping, reconnect, and a connection pool for threaded daemons.
 *
 * SQLSTATE mapping (done once, here): 23505 unique_violation and 23P01
 * exclusion_violation -> SW_ECONFLICT; 23503/23514/22xxx -> SW_EINVALID;
 * 40001/40P01 -> SW_EUNAVAILABLE + retryable; connection failures ->
 * SW_EUNAVAILABLE + retryable; anything else -> SW_EINTERNAL.
 */
#ifndef SW_DB_H
#define SW_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

struct sw_err;
struct sw_db;
struct sw_db_pool;

/* Counts the arguments and builds the parameter array:
 *   sw_db_exec(db, err, "select $1, $2", SW_PARAMS(a, b)); */
#define SW_PARAMS(...)                                                         \
    (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)), \
        (const char *const[]) { __VA_ARGS__ }

/* The connection string url without its password, as key='value' pairs
 * (for another host's configuration: the engine's, shown at enrolment).
 * Returns owned (free()), or NULL when libpq cannot parse url. */
char *sw_db_url_without_password(const char *url);
/* The same with user (NULL: url's own) and password (NULL: none) as given,
 * for a node's engine (its own role, panel/admin.c). Wipe the answer with
 * sodium_memzero before free() when it holds a password. */
char *sw_db_url_with_login(const char *url, const char *user, const char *password);

/* Returns an owned connection; free with sw_db_free(). */
struct sw_db *sw_db_connect(const char *url, struct sw_err *err);
void sw_db_free(struct sw_db *db);
/* Borrowed, valid until sw_db_free(); for LISTEN/NOTIFY and COPY. */
PGconn *sw_db_conn(struct sw_db *db);

/* Runs one parameterised statement (text parameters; NULL entries are SQL
 * NULL). Returns an owned result (PQclear) of status COMMAND_OK or
 * TUPLES_OK, or NULL with err set. Outside a transaction a broken connection
 * is reset and the statement tried once more. */
PGresult *sw_db_exec(struct sw_db *db, struct sw_err *err, const char *sql, int nparams,
                     const char *const *params);
/* Like sw_db_exec but discards the result; returns rows affected or -1. */
long sw_db_run(struct sw_db *db, struct sw_err *err, const char *sql, int nparams,
               const char *const *params);

int sw_db_begin(struct sw_db *db, struct sw_err *err);
int sw_db_commit(struct sw_db *db, struct sw_err *err);
/* Never fails in a way a caller can act on; safe to call when not in a transaction. */
void sw_db_rollback(struct sw_db *db);

/* Runs fn inside BEGIN..COMMIT. fn returns 0 to commit, -1 to roll back
 * (with err set). Serialization failures and deadlocks are retried up to
 * 5 times with jittered backoff. Called inside an open transaction, it
 * joins it: fn runs once and the outermost call commits or retries. */
typedef int (*sw_db_tx_fn)(struct sw_db *db, void *ctx, struct sw_err *err);
int sw_db_tx(struct sw_db *db, sw_db_tx_fn fn, void *ctx, struct sw_err *err);

/* Maps a failed result (or a connection error if res is NULL) into err. */
void sw_db_map_error(struct sw_db *db, const PGresult *res, struct sw_err *err);

/* Result accessors: borrowed string, NULL when SQL NULL or out of range. */
const char *sw_db_get(const PGresult *res, int row, int col);
/* Parses an integer column (0 when NULL). */
int64_t sw_db_get_i64(const PGresult *res, int row, int col);
bool sw_db_get_bool(const PGresult *res, int row, int col);

/* A fixed-size pool. sw_db_pool_get blocks until a connection is free;
 * returns borrowed until sw_db_pool_put(). A connection left inside a
 * transaction is rolled back when put. */
struct sw_db_pool *sw_db_pool_new(const char *url, int size, struct sw_err *err);
void sw_db_pool_free(struct sw_db_pool *pool);
struct sw_db *sw_db_pool_get(struct sw_db_pool *pool);
void sw_db_pool_put(struct sw_db_pool *pool, struct sw_db *db);

#endif
