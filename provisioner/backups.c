/* backups.c - backup and restore jobs in the provisioner (backups.h). */
#include "config.h"
#include "provisioner/backups.h"
#include "provisioner/jobdb.h"
#include "core/bkkey.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/msg.h"
#include "core/seal.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* The job's backup with its target and key: one row or none. */
static const char sql_job[] =
    "SELECT b.id, b.account_id, coalesce(p.id::text, ''), coalesce(p.checkpoint, ''),"
    "       (t.config || jsonb_build_object('kind', t.kind))::text, t.secret_sealed,"
    "       k.key_wrapped, coalesce(ps.keep_last, 0), coalesce(ps.keep_daily, 0),"
    "       coalesce(ps.keep_weekly, 0), coalesce(ps.keep_monthly, 0)"
    "  FROM jobs j JOIN backups b ON b.id::text = j.params->>'backup_id'"
    "  JOIN backup_targets t ON t.id = b.target_id"
    "  LEFT JOIN backups p ON p.id = b.parent_id AND p.state = 'completed'"
    "        AND p.checkpoint IS NOT NULL AND j.type = 'backup'"
    "  LEFT JOIN account_backup_keys k ON k.account_id = b.account_id"
    "  LEFT JOIN backup_policy_of_server ps ON ps.server_id = b.server_id AND j.type = 'backup'"
    "        AND coalesce(ps.target_id, b.target_id) = b.target_id"
    " WHERE j.id = $1";

static int copy_to(const char *v, char *out, size_t n, struct sw_err *err)
{
    if (!v || strlen(v) >= n) {
        SW_ERR(err, SW_EINTERNAL, "a backup's field is too long for a node job");
        return -1;
    }
    memcpy(out, v, strlen(v) + 1);
    return 0;
}

/* The account's wrapped key, made and stored when it has none yet (two
 * provisioners racing keep the first). Owned text into out. */
static int account_key(struct sw_db *db, const char *account, const unsigned char master[32],
                       char out[SW_BKKEY_WRAPPED_MAX], struct sw_err *err)
{
    unsigned char key[SW_BKKEY_BYTES];
    randombytes_buf(key, sizeof key);
    char wrapped[SW_BKKEY_WRAPPED_MAX];
    int rc = sw_bkkey_wrap(master, key, sizeof key, wrapped, err);
    sodium_memzero(key, sizeof key);
    if (rc < 0 || sw_db_run(db, err,
                            "INSERT INTO account_backup_keys (account_id, key_wrapped)"
                            " VALUES ($1, $2) ON CONFLICT (account_id) DO NOTHING",
                            SW_PARAMS(account, wrapped)) < 0)
        return -1;
    PGresult *res = sw_db_exec(db, err,
                               "SELECT key_wrapped FROM account_backup_keys WHERE account_id = $1",
                               SW_PARAMS(account));
    if (!res)
        return -1;
    rc = PQntuples(res) == 1 ? copy_to(sw_db_get(res, 0, 0), out, SW_BKKEY_WRAPPED_MAX, err) : -1;
    if (PQntuples(res) != 1)
        SW_ERR(err, SW_EINTERNAL, "account %s has no backup key", account);
    PQclear(res);
    return rc;
}

/* Unwraps the account key (base64 into b->key) and the target's secret. */
static int unwrap(const unsigned char master[32], const char *key_wrapped,
                  const char *secret_wrapped, struct sw_msg_backup *b, struct sw_err *err)
{
    unsigned char key[SW_BKKEY_BYTES + 16];
    size_t n = 0;
    if (sw_bkkey_unwrap(master, key_wrapped, key, sizeof key, &n, err) < 0)
        return -1;
    if (n != SW_BKKEY_BYTES) {
        sodium_memzero(key, sizeof key);
        SW_ERR(err, SW_EINTERNAL, "an account's backup key has the wrong length");
        return -1;
    }
    sodium_bin2base64(b->key, sizeof b->key, key, n, sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero(key, sizeof key);
    if (!secret_wrapped || !*secret_wrapped)
        return 0;
    if (sw_bkkey_unwrap(master, secret_wrapped, (unsigned char *)b->secret,
                        sizeof b->secret - 1, &n, err) < 0)
        return -1;
    b->secret[n] = '\0';
    return 0;
}

/* A create restores a backup when its params name one (a restore as a new
 * server, panel/backups.c): 1 yes, 0 no, -1 err. The backup must be the
 * new server's owner's: no create ever reads another account's repository. */
static int create_restores(struct sw_db *db, const struct sw_job_row *row, struct sw_err *err)
{
    if (row->type != SW_JOB_CREATE)
        return 0;
    PGresult *res = sw_db_exec(db, err,
                               "SELECT j.params ? 'backup_id', coalesce(b.account_id = s.owner_id, false)"
                               "  FROM jobs j JOIN servers s ON s.id = j.server_id"
                               "  LEFT JOIN backups b ON b.id::text = j.params->>'backup_id'"
                               " WHERE j.id = $1",
                               SW_PARAMS(row->job_id));
    if (!res)
        return -1;
    int has = PQntuples(res) == 1 && sw_db_get_bool(res, 0, 0);
    if (has && !sw_db_get_bool(res, 0, 1)) {
        SW_ERR(err, SW_EINVALID, "the create's backup is gone or not its server owner's");
        has = -1;
    }
    PQclear(res);
    return has;
}

int sw_backups_load_job(struct sw_db *db, struct sw_job_row *row, struct sw_err *err)
{
    memset(&row->backup, 0, sizeof row->backup);
    row->backup_key_wrapped[0] = row->backup_secret_wrapped[0] = '\0';
    int restores = create_restores(db, row, err);
    if (restores < 0)
        return -1;
    if (row->type != SW_JOB_BACKUP && row->type != SW_JOB_RESTORE && !restores)
        return 0;
    PGresult *res = sw_db_exec(db, err, sql_job, SW_PARAMS(row->job_id));
    if (!res)
        return -1;
    struct sw_msg_backup *b = &row->backup;
    unsigned char master[SW_BKKEY_BYTES];
    char wrapped[SW_BKKEY_WRAPPED_MAX] = "";
    int rc = -1;
    if (PQntuples(res) != 1) {
        SW_ERR(err, SW_ENOTFOUND, "the job's backup is gone");
        goto out;
    }
    if (copy_to(sw_db_get(res, 0, 0), b->id, sizeof b->id, err) < 0 ||
        copy_to(sw_db_get(res, 0, 1), b->account, sizeof b->account, err) < 0 ||
        copy_to(sw_db_get(res, 0, 2), b->parent_id, sizeof b->parent_id, err) < 0 ||
        copy_to(sw_db_get(res, 0, 3), b->parent_checkpoint, sizeof b->parent_checkpoint, err) <
            0 ||
        copy_to(sw_db_get(res, 0, 4), b->target, sizeof b->target, err) < 0 ||
        sw_bkkey_master(master, err) < 0)
        goto out;
    if (sw_db_get(res, 0, 6))
        rc = copy_to(sw_db_get(res, 0, 6), wrapped, sizeof wrapped, err);
    else
        rc = account_key(db, b->account, master, wrapped, err);
    if (rc == 0) /* kept wrapped: sw_backups_seal opens them */
        rc = copy_to(wrapped, row->backup_key_wrapped, sizeof row->backup_key_wrapped, err);
    if (rc == 0 && sw_db_get(res, 0, 5))
        rc = copy_to(sw_db_get(res, 0, 5), row->backup_secret_wrapped,
                     sizeof row->backup_secret_wrapped, err);
    if (row->type != SW_JOB_BACKUP) /* a restore, or a create restoring */
        memcpy(b->restore_id, row->job_id, sizeof b->restore_id);
    b->keep_last = sw_db_get_i64(res, 0, 7);
    b->keep_daily = sw_db_get_i64(res, 0, 8);
    b->keep_weekly = sw_db_get_i64(res, 0, 9);
    b->keep_monthly = sw_db_get_i64(res, 0, 10);
out:
    sodium_memzero(master, sizeof master);
    PQclear(res);
    if (rc < 0)
        sw_backups_wipe(b);
    return rc;
}

int sw_backups_seal(const struct sw_job_row *row, struct sw_msg_backup *out, struct sw_err *err)
{
    *out = row->backup;
    sw_backups_wipe(out);
    if (!row->backup.id[0])
        return 0;
    const char *pk = row->node_public_key;
    if (!pk[0]) {
        SW_ERR(err, SW_EINVALID, "the node has no public key to seal the backup key to");
        return -1;
    }
    struct sw_msg_backup plain; /* the opened key and secret, this long only */
    memset(&plain, 0, sizeof plain);
    unsigned char master[SW_BKKEY_BYTES];
    int rc = sw_bkkey_master(master, err);
    if (rc == 0)
        rc = unwrap(master, row->backup_key_wrapped, row->backup_secret_wrapped, &plain, err);
    sodium_memzero(master, sizeof master);
    if (rc == 0 && (sw_seal(pk, plain.key, out->key_sealed, err) < 0 ||
                    (plain.secret[0] && sw_seal(pk, plain.secret, out->secret_sealed, err) < 0)))
        rc = -1;
    sw_backups_wipe(&plain);
    return rc;
}

void sw_backups_wipe(struct sw_msg_backup *b)
{
    sodium_memzero(b->key, sizeof b->key);
    sodium_memzero(b->secret, sizeof b->secret);
}

int sw_backups_record(struct sw_db *db, const struct sw_job_row *row,
                      const struct sw_msg_result *m, struct sw_err *err)
{
    if (row->type != SW_JOB_BACKUP || !m->ok || !m->backup.has)
        return 0;
    const struct sw_msg_backup_result *r = &m->backup;
    /* Retention's deletions on the target, by the engine: their rows go
     * (only the server's own backups). */
    for (int i = 0; i < r->ndeleted; i++)
        if (sw_db_run(db, err,
                      "UPDATE backups SET state = 'deleted' WHERE id = $1 AND server_id = $2"
                      " AND state = 'completed'",
                      SW_PARAMS(r->deleted[i], row->server_id)) < 0)
            return -1;
    char logical[24], stored[24];
    snprintf(logical, sizeof logical, "%lld", (long long)r->bytes_logical);
    snprintf(stored, sizeof stored, "%lld", (long long)r->bytes_stored);
    return sw_db_run(db, err,
                     "UPDATE backups SET bytes_logical = $3, bytes_stored = $4,"
                     " checkpoint = nullif($5, ''), kind = $6,"
                     " parent_id = CASE WHEN $6 = 'full' THEN NULL ELSE parent_id END,"
                     " manifest = account_id || '/manifests/' || id"
                     " WHERE id::text = (SELECT params->>'backup_id' FROM jobs WHERE id = $1)"
                     "   AND server_id = $2",
                     SW_PARAMS(row->job_id, row->server_id, logical, stored, r->checkpoint,
                               r->incremental ? "incremental" : "full")) < 0
               ? -1
               : 0;
}

/* ---- the scheduler ---- */

int sw_backups_schedule(struct sw_db *db, int *queued, struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err, "SELECT sw_backup_schedule(now())", 0, NULL);
    if (!res)
        return -1;
    *queued = (int)sw_db_get_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

