/* backup_gc.c - garbage collection of backup chunks, per account, under the
 * account's lock (backup_gc.h; provisioner/README.md "Backup garbage
 * collection"). */
#include "config.h"
#include "provisioner/backup_gc.h"
#include "provisioner/dispatch.h"
#include "provisioner/jobdb.h"
#include "provisioner/prov.h"
#include "backup/repo.h"
#include "core/alloc.h"
#include "core/bkkey.h"
#include "core/conf.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"

#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ---- the backup job's side ---- */

int sw_backup_gc_holds(struct sw_db *db, const struct sw_job_row *row, struct sw_err *err)
{
    if (row->type != SW_JOB_BACKUP)
        return 0;
    PGresult *res = sw_db_exec(
        db, err,
        "SELECT NOT pg_try_advisory_xact_lock_shared(sw_backup_gc_lock_key(b.account_id))"
        "  FROM jobs j JOIN backups b ON b.id::text = j.params->>'backup_id' WHERE j.id = $1",
        SW_PARAMS(row->job_id));
    if (!res)
        return -1;
    int held = PQntuples(res) == 1 && sw_db_get_bool(res, 0, 0);
    PQclear(res);
    return held;
}

/* ---- one account on one target ---- */

struct gc_run {
    const char *account, *target_id;
    int manifests_removed;
    struct sw_bk_gc_stats st;
    char error[300];
};

/* The target's configuration with its secret unwrapped into it; owned. */
static struct sw_bk_target *target_open(const unsigned char master[SW_BKKEY_BYTES],
                                        const char *conf_text, const char *secret_wrapped,
                                        struct sw_err *err)
{
    json_t *conf = json_loads(conf_text, 0, NULL);
    char secret[SW_BKKEY_PLAIN_MAX + 1] = "";
    size_t n = 0;
    struct sw_bk_target *t = NULL;
    if (!json_is_object(conf))
        SW_ERR(err, SW_EINTERNAL, "a backup target's configuration is not a JSON object");
    else if (!secret_wrapped || sw_bkkey_unwrap(master, secret_wrapped, (unsigned char *)secret,
                                                sizeof secret - 1, &n, err) == 0) {
        secret[n] = '\0';
        if (n)
            json_object_set_new(conf, "secret_key", json_string(secret));
        t = sw_bk_target_open(conf, err);
        const char *s = json_string_value(json_object_get(conf, "secret_key"));
        if (s)
            sodium_memzero((char *)s, strlen(s));
    }
    sodium_memzero(secret, sizeof secret);
    json_decref(conf);
    return t;
}

/* Removes the manifests of the account's deleted backups on the target
 * (retention's are gone already: a missing one is no error). */
static int remove_manifests(struct sw_db *db, struct sw_bk_target *tg, struct gc_run *g,
                            struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT id FROM backups WHERE account_id = $1 AND target_id = $2"
                               " AND state = 'deleted' AND manifest_removed_at IS NULL",
                               SW_PARAMS(g->account, g->target_id));
    if (!res)
        return -1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        SW_AUTOFREE char *name = sw_asprintf("%s/manifests/%s", g->account, sw_db_get(res, i, 0));
        rc = sw_bk_target_delete(tg, name, err);
        if (rc == 0 && sw_db_run(db, err,
                                 "UPDATE backups SET manifest_removed_at = now() WHERE id = $1",
                                 SW_PARAMS(sw_db_get(res, i, 0))) < 0)
            rc = -1;
        g->manifests_removed += rc == 0;
    }
    PQclear(res);
    return rc;
}

static int record_run(struct sw_db *db, const struct gc_run *g, const char *started,
                      struct sw_err *err)
{
    char m[24], mk[24], ck[24], cd[24], bd[24];
    snprintf(m, sizeof m, "%d", g->manifests_removed);
    snprintf(mk, sizeof mk, "%zu", g->st.manifests);
    snprintf(ck, sizeof ck, "%zu", g->st.chunks_kept);
    snprintf(cd, sizeof cd, "%zu", g->st.chunks_deleted);
    snprintf(bd, sizeof bd, "%llu", (unsigned long long)g->st.bytes_deleted);
    return sw_db_run(db, err,
                     "INSERT INTO backup_gc_runs (account_id, target_id, started_at,"
                     " manifests_removed, manifests, chunks_kept, chunks_deleted, bytes_deleted,"
                     " error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, nullif($9, ''))",
                     SW_PARAMS(g->account, g->target_id, started, m, mk, ck, cd, bd, g->error)) < 0
               ? -1
               : 0;
}

/* gc of the account on one target: its deleted manifests removed, then the
 * chunks no manifest references. A target failure is the run's error (the
 * account stays due); a database failure is -1. */
static int gc_target(struct sw_db *db, const unsigned char master[SW_BKKEY_BYTES],
                     const unsigned char key[SW_BKKEY_BYTES], const PGresult *tr, int i,
                     struct gc_run *g, struct sw_err *err)
{
    SW_AUTOFREE char *started = NULL;
    PGresult *res = sw_db_exec(db, err, "SELECT clock_timestamp()::text", 0, NULL);
    if (!res)
        return -1;
    started = sw_strdup(sw_db_get(res, 0, 0));
    PQclear(res);
    struct sw_err terr;
    sw_err_clear(&terr);
    struct sw_bk_target *tg = target_open(master, sw_db_get(tr, i, 1), sw_db_get(tr, i, 2), &terr);
    int rc = tg ? remove_manifests(db, tg, g, &terr) : -1;
    if (rc == 0)
        rc = sw_bk_gc(tg, key, g->account, &g->st, &terr);
    sw_bk_target_free(tg);
    if (rc < 0)
        snprintf(g->error, sizeof g->error, "%s", terr.msg);
    return record_run(db, g, started, err);
}

/* ---- one account ---- */

/* The account's repository key, unwrapped into key; 0 when it has none
 * (nothing was ever written for it), 1, or -1. */
static int account_key(struct sw_db *db, const unsigned char master[SW_BKKEY_BYTES],
                       const char *account, unsigned char key[SW_BKKEY_BYTES],
                       struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT key_wrapped FROM account_backup_keys WHERE account_id = $1",
                               SW_PARAMS(account));
    if (!res)
        return -1;
    unsigned char buf[SW_BKKEY_BYTES + 16];
    size_t n = 0;
    int rc = PQntuples(res) == 0 ? 0 : 1;
    if (rc == 1 && (sw_bkkey_unwrap(master, sw_db_get(res, 0, 0), buf, sizeof buf, &n, err) < 0 ||
                    n != SW_BKKEY_BYTES)) {
        if (n != SW_BKKEY_BYTES)
            SW_ERR(err, SW_EINTERNAL, "account %s's backup key has the wrong length", account);
        rc = -1;
    }
    if (rc == 1)
        memcpy(key, buf, SW_BKKEY_BYTES);
    sodium_memzero(buf, sizeof buf);
    PQclear(res);
    return rc;
}

static void log_run(const struct gc_run *g)
{
    char q[340];
    if (g->error[0])
        sw_warn("backup.gc_failed", "account=%s target=%s manifests_removed=%d error=%s",
                g->account, g->target_id, g->manifests_removed,
                sw_log_quote(q, sizeof q, g->error));
    else
        sw_info("backup.gc", "account=%s target=%s manifests_removed=%d manifests=%zu"
                             " chunks_kept=%zu chunks_deleted=%zu bytes_deleted=%llu",
                g->account, g->target_id, g->manifests_removed, g->st.manifests,
                g->st.chunks_kept, g->st.chunks_deleted,
                (unsigned long long)g->st.bytes_deleted);
}

/* gc on every target the account has backups on; *failed: one failed. */
static int collect(struct sw_db *db, const char *account, bool *failed, struct sw_err *err)
{
    unsigned char master[SW_BKKEY_BYTES], key[SW_BKKEY_BYTES];
    if (sw_bkkey_master(master, err) < 0)
        return -1;
    int have = account_key(db, master, account, key, err);
    PGresult *tr = have <= 0 ? NULL
                             : sw_db_exec(db, err,
                                          "SELECT DISTINCT t.id,"
                                          " (t.config || jsonb_build_object('kind', t.kind))::text,"
                                          " t.secret_sealed FROM backups b"
                                          " JOIN backup_targets t ON t.id = b.target_id"
                                          " WHERE b.account_id = $1 ORDER BY 1",
                                          SW_PARAMS(account));
    int rc = have < 0 || (have > 0 && !tr) ? -1 : 0;
    for (int i = 0; rc == 0 && tr && i < PQntuples(tr); i++) {
        struct gc_run g = {.account = account, .target_id = sw_db_get(tr, i, 0)};
        rc = gc_target(db, master, key, tr, i, &g, err);
        if (rc == 0)
            log_run(&g);
        *failed = *failed || g.error[0];
    }
    PQclear(tr);
    sodium_memzero(master, sizeof master);
    sodium_memzero(key, sizeof key);
    return rc;
}

/* Takes the account's lock when nobody holds it and no job naming one of
 * its backups runs: 1 (held), 0 (busy: left due), -1. */
static int lock_account(struct sw_db *db, const char *account, struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err, "SELECT pg_try_advisory_lock(sw_backup_gc_lock_key($1))",
                               SW_PARAMS(account));
    if (!res)
        return -1;
    bool got = sw_db_get_bool(res, 0, 0);
    PQclear(res);
    if (!got)
        return 0;
    /* A new statement, so a snapshot taken after the lock: every start that
     * held the shared lock has committed its running job by now. */
    res = sw_db_exec(db, err,
                     "SELECT EXISTS (SELECT 1 FROM jobs j WHERE j.state = 'running'"
                     "  AND j.params->>'backup_id' IN"
                     "   (SELECT id::text FROM backups WHERE account_id = $1))",
                     SW_PARAMS(account));
    bool busy = !res || sw_db_get_bool(res, 0, 0);
    PQclear(res);
    if (busy)
        sw_db_run(db, NULL, "SELECT pg_advisory_unlock(sw_backup_gc_lock_key($1))",
                  SW_PARAMS(account));
    return !res ? -1 : busy ? 0 : 1;
}

/* Announces the account's queued backup jobs again (they waited for gc). */
static int kick_waiting(struct sw_prov_thread *t, const char *account, struct sw_err *err)
{
    PGresult *res = sw_db_exec(t->db, err,
                               "SELECT DISTINCT j.server_id FROM jobs j"
                               " JOIN backups b ON b.id::text = j.params->>'backup_id'"
                               " WHERE b.account_id = $1 AND j.type = 'backup'"
                               " AND j.state = 'queued'",
                               SW_PARAMS(account));
    if (!res)
        return -1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++)
        rc = sw_dispatch_kick_next(t->db, t->redis, sw_db_get(res, i, 0), err);
    PQclear(res);
    return rc;
}

/* gc of one account: 1 ran, 0 busy, -1 (database or Redis). */
static int gc_account(struct sw_prov_thread *t, const char *account, struct sw_err *err)
{
    int held = lock_account(t->db, account, err);
    if (held <= 0) {
        if (held == 0)
            sw_debug("backup.gc_waiting", "account=%s why=\"a job of the account's backups "
                                          "runs, or another gc holds it\"",
                     account);
        return held;
    }
    PGresult *res = sw_db_exec(t->db, err,
                               "UPDATE backup_gc_accounts SET running_since = now(),"
                               " holder = $2 WHERE account_id = $1 RETURNING due_seq",
                               SW_PARAMS(account, t->conf->consumer));
    SW_AUTOFREE char *seq = res && PQntuples(res) == 1 ? sw_strdup(sw_db_get(res, 0, 0)) : NULL;
    if (res && !seq)
        SW_ERR(err, SW_EINTERNAL, "account %s has no backup gc row", account);
    PQclear(res);
    bool failed = false;
    int rc = seq ? collect(t->db, account, &failed, err) : -1;
    /* Due stays when a run failed or a mark came meanwhile (due_seq moved). */
    if (seq && sw_db_run(t->db, rc < 0 ? NULL : err,
                         "UPDATE backup_gc_accounts SET running_since = NULL, holder = NULL,"
                         " last_run_at = now(), last_error = nullif($3, ''),"
                         " due_at = CASE WHEN $3 = '' AND due_seq = $2::bigint THEN NULL"
                         "          ELSE due_at END WHERE account_id = $1",
                         SW_PARAMS(account, seq, rc < 0    ? err->msg
                                                 : failed ? "a target failed"
                                                          : "")) < 0)
        rc = -1;
    sw_db_run(t->db, NULL, "SELECT pg_advisory_unlock(sw_backup_gc_lock_key($1))",
              SW_PARAMS(account));
    if (rc == 0 && kick_waiting(t, account, err) < 0)
        rc = -1;
    return rc < 0 ? -1 : 1;
}

int sw_backup_gc_pass(struct sw_prov_thread *t, int *done, struct sw_err *err)
{
    *done = 0;
    PGresult *res = sw_db_exec(t->db, err,
                               "SELECT account_id FROM backup_gc_accounts WHERE due_at IS NOT NULL"
                               " ORDER BY due_at, account_id LIMIT 20",
                               0, NULL);
    if (!res)
        return -1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        int ran = gc_account(t, sw_db_get(res, i, 0), err);
        rc = ran < 0 ? -1 : 0;
        *done += ran > 0;
    }
    PQclear(res);
    return rc;
}

void *sw_backup_gc_main(void *arg)
{
    struct sw_prov_thread *t = arg;
    long interval_s = 60;
    struct sw_err err;
    sw_err_clear(&err);
    if (sw_conf_long("SLIPWAY_BACKUP_GC_INTERVAL", 0, 86400, &interval_s, &err) < 0)
        sw_log_err(SW_LOG_ERROR, "backup.gc", &err);
    sw_info("thread.started", "thread=%s interval_s=%ld", t->name, interval_s);
    bool down = false;
    while (interval_s > 0 && !sw_prov_stopping()) {
        int n = 0;
        sw_err_clear(&err);
        if (sw_prov_connect(t, &err) < 0 || sw_backup_gc_pass(t, &n, &err) < 0) {
            sw_prov_log_degraded(t->name, !down, &err);
            down = true;
        } else {
            down = false;
        }
        sw_prov_sleep_ms(interval_s * 1000);
    }
    sw_info("thread.stopped", "thread=%s", t->name);
    return NULL;
}
