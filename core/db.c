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

/* Appends key='value' to *out (owned), quoting ' and \ as libpq wants. The
 * copies it drops are wiped: the value may be a password. */
static void conninfo_append(char **out, const char *key, const char *val)
{
    size_t n = strlen(val);
    char *q = sw_malloc(2 * n + 1), *p = q;
    for (size_t i = 0; i < n; i++) {
        if (val[i] == '\'' || val[i] == '\\')
            *p++ = '\\';
        *p++ = val[i];
    }
    *p = '\0';
    char *next = sw_asprintf("%s%s%s='%s'", *out ? *out : "", *out ? " " : "", key, q);
    sodium_memzero(q, 2 * n + 1);
    free(q);
    if (*out)
        sodium_memzero(*out, strlen(*out));
    free(*out);
    *out = next;
}

char *sw_db_url_with_login(const char *url, const char *user, const char *password)
{
    PQconninfoOption *opts = PQconninfoParse(url, NULL);
    if (!opts)
        return NULL;
    char *out = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        bool is_user = strcmp(o->keyword, "user") == 0;
        if (is_user && user)
            conninfo_append(&out, "user", user);
        else if (o->val && o->val[0] && strcmp(o->keyword, "password") != 0)
            conninfo_append(&out, o->keyword, o->val);
    }
    PQconninfoFree(opts);
    if (password)
        conninfo_append(&out, "password", password);
    return out ? out : sw_strdup("");
}

char *sw_db_url_without_password(const char *url)
{
    return sw_db_url_with_login(url, NULL, NULL);
}

/* A pool connection prepares each distinct statement text once per session
 * and then only binds and executes it: parsing and planning were most of
 * PostgreSQL's work for the panel's short queries (bench/api.sh). Open
 * addressing over STMT_SLOTS, at most STMT_MAX statements per session; past
 * that, statements run unprepared as before. The cache belongs to one
 * backend session: a reset connection (new backend pid) starts afresh.
 *
 * PostgreSQL plans a prepared statement for its parameters 5 times, then
 * may keep one generic plan, made from the table sizes of that moment, until
 * an ANALYZE or DDL invalidates it. A table that was nearly empty then (a new
 * installation) could keep a sequential scan while it grows. So a statement
 * is prepared again after 4, 16, 64, ... uses, then every STMT_REPLAN_MAX:
 * its plan follows the tables' growth at a negligible cost. */
#define STMT_SLOTS 512 /* a power of two, twice STMT_MAX */
#define STMT_MAX 256
#define STMT_REPLAN_FIRST 4
#define STMT_REPLAN_MAX 65536

struct sw_stmt {
    uint64_t hash;
    char *sql;         /* NULL: empty slot */
    unsigned id;       /* the statement is named "sw_<id>" */
    uint32_t uses;     /* executions since it was prepared */
    uint32_t replan_at; /* prepare again at this many uses */
};

struct sw_db {
    PGconn *conn;
    char *url;
    bool in_tx;
    struct sw_stmt *stmts; /* NULL: statements are not cached */
    unsigned nstmt;    /* statements cached */
    unsigned next_id;  /* names are never reused within a session */
    int backend_pid;   /* the session the cached statements live in */
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

static void stmt_forget_all(struct sw_db *db)
{
    for (unsigned i = 0; db->stmts && i < STMT_SLOTS; i++) {
        free(db->stmts[i].sql);
        db->stmts[i].sql = NULL;
    }
    db->nstmt = 0;
}

void sw_db_free(struct sw_db *db)
{
    if (!db)
        return;
    stmt_forget_all(db);
    free(db->stmts);
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
    /* Every error the server reports carries a SQLSTATE; one without is
     * libpq's own, and in practice a lost connection ("server closed the
     * connection unexpectedly" can come back while PQstatus still says
     * CONNECTION_OK): unavailable and retryable, not internal. Found by
     * tests/soak: 72 answers of 500 during PostgreSQL restarts. */
    if (!state)
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

static uint64_t stmt_hash(const char *s)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The slot holding sql, or the empty slot where it would go. */
static struct sw_stmt *stmt_slot(struct sw_db *db, const char *sql, uint64_t h)
{
    for (unsigned i = (unsigned)h & (STMT_SLOTS - 1);; i = (i + 1) & (STMT_SLOTS - 1)) {
        struct sw_stmt *s = &db->stmts[i];
        if (!s->sql || (s->hash == h && strcmp(s->sql, sql) == 0))
            return s;
    }
}

/* Failures that mean a cached statement no longer fits the session: it is
 * gone (26000, say after DISCARD ALL), or a schema change altered its
 * result columns (0A000 "cached plan must not change result type"). */
static bool stmt_stale(const PGresult *res)
{
    const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    return st && (strcmp(st, "26000") == 0 ||
                  (strcmp(st, "0A000") == 0 && msg &&
                   strcmp(msg, "cached plan must not change result type") == 0));
}

static PGresult *exec_once(struct sw_db *db, const char *sql, int nparams,
                           const char *const *params, struct sw_stmt **used)
{
    *used = NULL;
    if (!db->stmts)
        return PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    int pid = PQbackendPID(db->conn);
    if (pid != db->backend_pid) {
        stmt_forget_all(db);
        db->backend_pid = pid;
        db->next_id = 0;
    }
    uint64_t h = stmt_hash(sql);
    struct sw_stmt *s = stmt_slot(db, sql, h);
    char name[40];
    bool replan = s->sql && ++s->uses >= s->replan_at &&
                  PQtransactionStatus(db->conn) != PQTRANS_INERROR;
    if (replan) {
        /* Statements are not transactional: this holds inside one too. */
        snprintf(name, sizeof name, "DEALLOCATE sw_%u", s->id);
        PQclear(PQexec(db->conn, name));
    }
    if (!s->sql || replan) {
        if (!s->sql && db->nstmt >= STMT_MAX)
            return PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
        snprintf(name, sizeof name, "sw_%u", db->next_id);
        /* Parameter types are inferred from the text, as PQexecParams does;
         * a statement that fails to parse fails here the same way. */
        PGresult *res = PQprepare(db->conn, name, sql, 0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            if (replan) { /* forget it; it is prepared again next time */
                free(s->sql);
                s->sql = NULL;
                stmt_forget_all(db); /* an emptied slot would break probe chains */
            }
            return res;
        }
        PQclear(res);
        if (!s->sql) {
            s->sql = sw_strdup(sql);
            s->hash = h;
            s->replan_at = STMT_REPLAN_FIRST;
            db->nstmt++;
        } else {
            s->replan_at = s->replan_at < STMT_REPLAN_MAX ? s->replan_at * 4 : STMT_REPLAN_MAX;
        }
        s->id = db->next_id++;
        s->uses = 0;
    }
    snprintf(name, sizeof name, "sw_%u", s->id);
    *used = s;
    return PQexecPrepared(db->conn, name, nparams, params, NULL, NULL, 0);
}

PGresult *sw_db_exec(struct sw_db *db, struct sw_err *err, const char *sql, int nparams,
                     const char *const *params)
{
    struct sw_stmt *used;
    PGresult *res = exec_once(db, sql, nparams, params, &used);
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
        res = exec_once(db, sql, nparams, params, &used);
    }
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    if (used && stmt_stale(res)) {
        /* Forget every cached statement (a schema change may have staled
         * them all); they are prepared again under new names as they come.
         * The stale ones stay in the session, unused. */
        stmt_forget_all(db);
        if (!db->in_tx) {
            /* Nothing ran: run it again, prepared afresh. */
            PQclear(res);
            res = exec_once(db, sql, nparams, params, &used);
            st = PQresultStatus(res);
            if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
                return res;
        } else {
            /* The transaction is aborted; sw_db_tx runs it again. */
            PQclear(res);
            SW_ERR_RETRY(err, SW_EUNAVAILABLE, "concurrent update, try again");
            sw_err_detail(err, "a prepared statement went stale after a schema change");
            return NULL;
        }
    }
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
        p->all[i]->stmts = sw_calloc(STMT_SLOTS, sizeof *p->all[i]->stmts);
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
