#include "config.h"
#include "core/db.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

struct sw_db {
    PGconn *conn;
    char *url;
    bool in_tx;
};

struct sw_db_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int size;
    int nfree;
    struct sw_db **all;
    struct sw_db **free_list;
};

static void quiet_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

struct sw_db *sw_db_connect(const char *url, struct sw_err *err)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        SW_ERR_RETRY(err, SW_EUNAVAILABLE, "could not connect to the database");
        sw_err_detail(err, "%s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet_notice, NULL);
    struct sw_db *db = sw_calloc(1, sizeof *db);
    db->conn = c;
    db->url = sw_strdup(url);
    return db;
}

void sw_db_free(struct sw_db *db)
{
    if (!db)
        return;
    PQfinish(db->conn);
    free(db->url);
    free(db);
}

PGconn *sw_db_conn(struct sw_db *db)
{
    return db->conn;
}

struct sqlstate_map {
    const char *prefix;
    enum sw_errc code;
    bool retryable;
    const char *msg;
};

/* Longest prefixes first. */
static const struct sqlstate_map sqlstates[] = {
    {"23505", SW_ECONFLICT, false, "already exists"},
    {"23P01", SW_ECONFLICT, false, "conflicts with an existing object"},
    {"23503", SW_EINVALID, false, "refers to an object that does not exist"},
    {"23514", SW_EINVALID, false, "a value is out of range"},
    {"23502", SW_EINVALID, false, "a required value is missing"},
    {"40001", SW_EUNAVAILABLE, true, "concurrent update, try again"},
    {"40P01", SW_EUNAVAILABLE, true, "concurrent update, try again"},
    {"55P03", SW_EUNAVAILABLE, true, "object is locked, try again"},
    {"57P", SW_EUNAVAILABLE, true, "database is shutting down"},
    {"08", SW_EUNAVAILABLE, true, "database connection failed"},
    {"53", SW_EUNAVAILABLE, true, "database is out of resources"},
    {"22", SW_EINVALID, false, "a value is malformed or out of range"},
};

void sw_db_map_error(struct sw_db *db, const PGresult *res, struct sw_err *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!state && PQstatus(db->conn) != CONNECTION_OK)
        state = "08000";
    if (state) {
        for (size_t i = 0; i < sizeof sqlstates / sizeof sqlstates[0]; i++) {
            if (strncmp(state, sqlstates[i].prefix, strlen(sqlstates[i].prefix)) == 0) {
                sw_err_set_at(err, __FILE__, __func__, __LINE__, sqlstates[i].code,
                              sqlstates[i].retryable, "%s", sqlstates[i].msg);
                sw_err_detail(err, "sqlstate=%s %s", state,
                              primary ? primary : PQerrorMessage(db->conn));
                return;
            }
        }
    }
    SW_ERR(err, SW_EINTERNAL, "database error");
    sw_err_detail(err, "sqlstate=%s %s", state ? state : "none",
                  primary ? primary : PQerrorMessage(db->conn));
}

static PGresult *exec_once(struct sw_db *db, const char *sql, int nparams,
                           const char *const *params)
{
    return PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
}

PGresult *sw_db_exec(struct sw_db *db, struct sw_err *err, const char *sql, int nparams,
                     const char *const *params)
{
    PGresult *res = exec_once(db, sql, nparams, params);
    if (PQstatus(db->conn) != CONNECTION_OK && !db->in_tx) {
        /* The connection broke before or during the statement: outside a
         * transaction nothing was committed that a retry could double,
         * except a lone write whose commit we could not see; callers keep
         * those idempotent. */
        PQclear(res);
        PQreset(db->conn);
        if (PQstatus(db->conn) != CONNECTION_OK) {
            sw_db_map_error(db, NULL, err);
            return NULL;
        }
        res = exec_once(db, sql, nparams, params);
    }
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    sw_db_map_error(db, res, err);
    PQclear(res);
    return NULL;
}

long sw_db_run(struct sw_db *db, struct sw_err *err, const char *sql, int nparams,
               const char *const *params)
{
    PGresult *res = sw_db_exec(db, err, sql, nparams, params);
    if (!res)
        return -1;
    const char *n = PQcmdTuples(res);
    long rows = (n && *n) ? strtol(n, NULL, 10) : 0;
    PQclear(res);
    return rows;
}

int sw_db_begin(struct sw_db *db, struct sw_err *err)
{
    if (sw_db_run(db, err, "BEGIN", 0, NULL) < 0)
        return -1;
    db->in_tx = true;
    return 0;
}

int sw_db_commit(struct sw_db *db, struct sw_err *err)
{
    long r = sw_db_run(db, err, "COMMIT", 0, NULL);
    db->in_tx = false;
    return r < 0 ? -1 : 0;
}

void sw_db_rollback(struct sw_db *db)
{
    if (PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
        PGresult *res = PQexec(db->conn, "ROLLBACK");
        PQclear(res);
    }
    db->in_tx = false;
}

int sw_db_tx(struct sw_db *db, sw_db_tx_fn fn, void *ctx, struct sw_err *err)
{
    /* Inside a transaction already: join it; the outermost sw_db_tx owns
     * the commit and the retries. */
    if (db->in_tx)
        return fn(db, ctx, err);
    for (int attempt = 0;; attempt++) {
        sw_err_clear(err);
        if (sw_db_begin(db, err) == 0) {
            if (fn(db, ctx, err) == 0 && sw_db_commit(db, err) == 0)
                return 0;
        }
        sw_db_rollback(db);
        if (!err || !err->retryable || attempt >= 4 || PQstatus(db->conn) != CONNECTION_OK) {
            if (PQstatus(db->conn) != CONNECTION_OK)
                PQreset(db->conn);
            return -1;
        }
        /* Jittered backoff: 1-2 ms, 2-4 ms, ... */
        long base_us = 1000L << attempt;
        struct timespec ts = {0, (base_us + (long)randombytes_uniform((uint32_t)base_us)) * 1000L};
        nanosleep(&ts, NULL);
    }
}

const char *sw_db_get(const PGresult *res, int row, int col)
{
    if (row < 0 || row >= PQntuples(res) || col < 0 || col >= PQnfields(res) ||
        PQgetisnull(res, row, col))
        return NULL;
    return PQgetvalue(res, row, col);
}

int64_t sw_db_get_i64(const PGresult *res, int row, int col)
{
    const char *v = sw_db_get(res, row, col);
    return v ? strtoll(v, NULL, 10) : 0;
}

bool sw_db_get_bool(const PGresult *res, int row, int col)
{
    const char *v = sw_db_get(res, row, col);
    return v && v[0] == 't';
}

struct sw_db_pool *sw_db_pool_new(const char *url, int size, struct sw_err *err)
{
    struct sw_db_pool *p = sw_calloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->all = sw_calloc((size_t)size, sizeof *p->all);
    p->free_list = sw_calloc((size_t)size, sizeof *p->free_list);
    for (int i = 0; i < size; i++) {
        p->all[i] = sw_db_connect(url, err);
        if (!p->all[i]) {
            p->size = i;
            sw_db_pool_free(p);
            return NULL;
        }
        p->free_list[p->nfree++] = p->all[i];
    }
    p->size = size;
    return p;
}

void sw_db_pool_free(struct sw_db_pool *pool)
{
    if (!pool)
        return;
    for (int i = 0; i < pool->size; i++)
        sw_db_free(pool->all[i]);
    free(pool->all);
    free(pool->free_list);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->cv);
    free(pool);
}

struct sw_db *sw_db_pool_get(struct sw_db_pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    while (pool->nfree == 0)
        pthread_cond_wait(&pool->cv, &pool->mu);
    struct sw_db *db = pool->free_list[--pool->nfree];
    pthread_mutex_unlock(&pool->mu);
    if (PQstatus(db->conn) != CONNECTION_OK)
        PQreset(db->conn);
    return db;
}

void sw_db_pool_put(struct sw_db_pool *pool, struct sw_db *db)
{
    if (!db)
        return;
    sw_db_rollback(db);
    pthread_mutex_lock(&pool->mu);
    pool->free_list[pool->nfree++] = db;
    pthread_cond_signal(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
}
