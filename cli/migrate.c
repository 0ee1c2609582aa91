/* migrate.c - forward-only schema migrations.
 *
 * Files NNNN_name.sql in SLIPWAY_MIGRATIONS_DIR are applied in order, each
 * in its own transaction together with its row in schema_migrations
 * (version, name, sha256 checksum). An applied file whose checksum changed
 * is refused; re-running applies nothing. A session advisory lock keeps two
 * migrators from racing.
 */
#include "config.h"
#include "cli/ctl.h"
#include "core/alloc.h"
#include "core/db.h"
#include "core/err.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SW_MIGRATE_LOCK "4242001"

struct migration {
    int version;
    char *name; /* file name */
    char *path;
};

static int cmp_migration(const void *a, const void *b)
{
    const struct migration *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

/* NNNN_name.sql with a 4-digit version and a [a-z0-9_] name. */
static int parse_name(const char *f, int *version)
{
    size_t n = strlen(f);
    if (n < 10 || strcmp(f + n - 4, ".sql") != 0 || f[4] != '_')
        return -1;
    for (int i = 0; i < 4; i++)
        if (f[i] < '0' || f[i] > '9')
            return -1;
    for (size_t i = 5; i < n - 4; i++)
        if (!((f[i] >= 'a' && f[i] <= 'z') || (f[i] >= '0' && f[i] <= '9') || f[i] == '_'))
            return -1;
    *version = atoi(f);
    return 0;
}

static char *read_file(const char *path, size_t *len, struct sw_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        SW_ERR(err, SW_EINVALID, "could not open \"%s\": %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 8192, n = 0;
    char *buf = sw_malloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 == cap)
            buf = sw_realloc(buf, cap *= 2);
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void sha256_hex(const char *buf, size_t len, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)buf, len);
    sodium_bin2hex(out, 65, h, sizeof h);
}

static int list_migrations(const char *dir, struct migration **out, size_t *count,
                           struct sw_err *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        SW_ERR(err, SW_EINVALID, "could not open migrations folder \"%s\": %s", dir,
               strerror(errno));
        return -1;
    }
    struct migration *v = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int version;
        if (e->d_name[0] == '.' || strlen(e->d_name) < 4 ||
            strcmp(e->d_name + strlen(e->d_name) - 4, ".sql") != 0)
            continue;
        if (parse_name(e->d_name, &version) < 0) {
            SW_ERR(err, SW_EINVALID, "migration file \"%s\" is not named NNNN_name.sql",
                   e->d_name);
            closedir(d);
            for (size_t i = 0; i < n; i++) {
                free(v[i].name);
                free(v[i].path);
            }
            free(v);
            return -1;
        }
        v = sw_realloc(v, (n + 1) * sizeof *v);
        v[n].version = version;
        v[n].name = sw_strdup(e->d_name);
        v[n].path = sw_asprintf("%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n > 1) /* v is NULL when the folder has none: qsort's pointer must not be */
        qsort(v, n, sizeof *v, cmp_migration);
    for (size_t i = 1; i < n; i++) {
        if (v[i].version == v[i - 1].version) {
            SW_ERR(err, SW_EINVALID, "migrations \"%s\" and \"%s\" share version %04d",
                   v[i - 1].name, v[i].name, v[i].version);
            return -1;
        }
    }
    *out = v;
    *count = n;
    return 0;
}

static int apply_one(struct sw_db *db, const struct migration *m, const char *sql,
                     const char *sum, struct sw_err *err)
{
    if (sw_db_begin(db, err) < 0)
        return -1;
    PGresult *res = PQexec(sw_db_conn(db), sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        SW_ERR(err, SW_EINVALID, "migration %s failed: %s", m->name,
               PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                   ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                   : PQerrorMessage(sw_db_conn(db)));
        PQclear(res);
        sw_db_rollback(db);
        return -1;
    }
    PQclear(res);
    char ver[16];
    snprintf(ver, sizeof ver, "%d", m->version);
    if (sw_db_run(db, err,
                  "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                  SW_PARAMS(ver, m->name, sum)) < 0 ||
        sw_db_commit(db, err) < 0) {
        sw_db_rollback(db);
        return -1;
    }
    return 0;
}

int sw_ctl_migrate(struct sw_db *db, const char *dir, int *applied, struct sw_err *err)
{
    struct migration *v = NULL;
    size_t n = 0;
    int rc = -1;
    *applied = 0;
    if (sw_db_run(db, err, "SELECT pg_advisory_lock(" SW_MIGRATE_LOCK ")", 0, NULL) < 0)
        return -1;
    if (sw_db_run(db, err,
                  "CREATE TABLE IF NOT EXISTS schema_migrations ("
                  " version integer PRIMARY KEY, name text NOT NULL,"
                  " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                  0, NULL) < 0)
        goto out;
    if (list_migrations(dir, &v, &n, err) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        char *sql = read_file(v[i].path, &len, err);
        if (!sql)
            goto out;
        char sum[65];
        sha256_hex(sql, len, sum);
        char ver[16];
        snprintf(ver, sizeof ver, "%d", v[i].version);
        PGresult *res = sw_db_exec(db, err,
                                   "SELECT checksum, name FROM schema_migrations WHERE version = $1",
                                   SW_PARAMS(ver));
        if (!res) {
            free(sql);
            goto out;
        }
        if (PQntuples(res) == 1) {
            const char *have = sw_db_get(res, 0, 0);
            if (strcmp(have, sum) != 0) {
                SW_ERR(err, SW_ECONFLICT,
                       "migration %s was edited after it was applied (checksum %.12s..., "
                       "applied %.12s...); add a new migration instead",
                       v[i].name, sum, have);
                PQclear(res);
                free(sql);
                goto out;
            }
            PQclear(res);
            free(sql);
            continue;
        }
        PQclear(res);
        int r = apply_one(db, &v[i], sql, sum, err);
        free(sql);
        if (r < 0)
            goto out;
        printf("applied %s\n", v[i].name);
        (*applied)++;
    }
    rc = 0;
out:
    sw_db_run(db, NULL, "SELECT pg_advisory_unlock(" SW_MIGRATE_LOCK ")", 0, NULL);
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].path);
    }
    free(v);
    return rc;
}
