/* backup.c - backup and restore jobs on the node (backup.h). */
#include "config.h"
#include "engines/backup.h"
#include "engines/bkread.h"
#include "engines/bkrestore.h"
#include "engines/bkwrite.h"
#include "engines/progress.h"
#include "engines/storage.h"
#include "backup/prune.h"
#include "backup/repo.h"
#include "core/alloc.h"
#include "core/conf.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"
#include "core/seal.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- secrets ---- */

static int open_one(const struct sw_engine *eng, const char *sealed, char *out, size_t n,
                    const char *what, struct sw_err *err)
{
    if (!sealed[0])
        return 0;
    if (!eng->secret_key) {
        SW_ERR(err, SW_EINVALID,
               "could not open the job's %s: this node's engine has no SLIPWAY_NODE_SECRET_KEY",
               what);
        return -1;
    }
    return sw_seal_open(eng->secret_key, sealed, out, n, err);
}

int sw_engine_backup_open(const struct sw_engine *eng, struct sw_msg_node_job *job,
                          struct sw_err *err)
{
    struct sw_msg_backup *b = &job->backup;
    if (!b->id[0]) /* neither a backup nor a restore (nor a create restoring) */
        return 0;
    if (open_one(eng, b->key_sealed, b->key, sizeof b->key, "backup key", err) < 0 ||
        open_one(eng, b->secret_sealed, b->secret, sizeof b->secret, "target secret", err) < 0) {
        sw_engine_backup_wipe(job);
        return -1;
    }
    return 0;
}

void sw_engine_backup_wipe(struct sw_msg_node_job *job)
{
    sodium_memzero(job->backup.key, sizeof job->backup.key);
    sodium_memzero(job->backup.secret, sizeof job->backup.secret);
}

/* ---- the repository ---- */

/* What a backup or restore works with: the account key, the target. */
struct bk_repo {
    unsigned char key[SW_BK_KEY_BYTES];
    struct sw_bk_target *target;
};

static void repo_close(struct bk_repo *r)
{
    sodium_memzero(r->key, sizeof r->key);
    sw_bk_target_free(r->target);
    r->target = NULL;
}

/* The target's configuration with its secret (an s3 secret_key) put back. */
static struct sw_bk_target *open_target(const struct sw_msg_backup *b, struct sw_err *err)
{
    json_t *conf = json_loads(b->target, 0, NULL);
    if (!json_is_object(conf)) {
        json_decref(conf);
        SW_ERR(err, SW_EINVALID, "the job's backup target is not a JSON object");
        return NULL;
    }
    if (b->secret[0])
        json_object_set_new(conf, "secret_key", json_string(b->secret));
    struct sw_bk_target *t = sw_bk_target_open(conf, err);
    const char *s = json_string_value(json_object_get(conf, "secret_key"));
    if (s)
        sodium_memzero((char *)s, strlen(s));
    json_decref(conf);
    return t;
}

static int repo_open(const struct sw_msg_backup *b, struct bk_repo *r, struct sw_err *err)
{
    size_t n = 0;
    memset(r, 0, sizeof *r);
    if (sodium_base642bin(r->key, sizeof r->key, b->key, strlen(b->key), NULL, &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        n != SW_BK_KEY_BYTES) {
        SW_ERR(err, SW_EINVALID, "the job's backup key is not 32 bytes of base64");
        repo_close(r);
        return -1;
    }
    r->target = open_target(b, err);
    if (!r->target) {
        repo_close(r);
        return -1;
    }
    return 0;
}

/* ---- backup ---- */

/* The root volume's size in bytes. */
static int root_size(struct sw_engine *eng, const char *server_id, uint64_t *size,
                     struct sw_err *err)
{
    struct sw_msg_disk root;
    int found = sw_storage_root_find(eng, server_id, NULL, &root, err);
    if (found <= 0) {
        if (found == 0)
            SW_ERR(err, SW_ENOTFOUND, "could not back up the server: it has no root volume");
        return -1;
    }
    virStorageVolInfo info;
    if (sw_storage_disk_info(eng, &root, &info, err) < 0)
        return -1;
    *size = info.capacity;
    return 0;
}

/* Where a read's chunks and progress go. */
struct bk_sink {
    struct sw_bk_writer *w;
    struct sw_engine_progress *progress; /* NULL: no reports */
    struct sw_bk_manifest **m;           /* the manifest finish wrote */
};

static int emit_chunk(void *ctx, uint64_t offset, const void *data, size_t len,
                      struct sw_err *err)
{
    return sw_bk_writer_put(((struct bk_sink *)ctx)->w, offset, data, len, err);
}

/* bkread's finish: the manifest written while the backup job ends. */
static int finish_writer(void *ctx, struct sw_err *err)
{
    struct bk_sink *sink = ctx;
    return sw_bk_writer_finish(sink->w, sink->m, err);
}

static void read_progress(void *ctx, uint64_t done, uint64_t total)
{
    sw_engine_progress_report(((struct bk_sink *)ctx)->progress, done, total);
}

/* Where the NBD socket of a running guest's export goes: a folder the
 * engine and the node's QEMU both reach. */
static const char *sock_dir(const struct sw_engine *eng, char *buf, size_t n)
{
    const char *d = sw_conf_get("SLIPWAY_BACKUP_SOCK_DIR");
    if (!d || !*d) {
        snprintf(buf, n, "%s/backup", eng->state_dir ? eng->state_dir : SW_ENGINE_STATE_DIR);
        d = buf;
    }
    if (mkdir(d, 0711) < 0 && errno != EEXIST)
        sw_warn("backup.sockdir", "dir=%s errno=%d", d, errno);
    return d;
}

/* One read into one writer: the parent's manifest (NULL: full) and its
 * checkpoint. The manifest written is *m (owned). */
static int read_into(struct sw_engine *eng, const struct sw_msg_node_job *job,
                     struct bk_repo *r, const struct sw_bk_manifest *parent, uint64_t size,
                     bool pause_clone, struct sw_bkread_result *res,
                     struct sw_bk_manifest **m, struct sw_err *err)
{
    char dir[512];
    const struct sw_msg_backup *b = &job->backup;
    struct sw_bk_writer *w = sw_bk_writer_new(r->target, r->key, b->account, job->server_id,
                                              b->id, parent, size, err);
    if (!w)
        return -1;
    struct bk_sink sink = {w, sw_engine_progress_new(eng, job), m};
    struct sw_bkread_req req = {
        .server_id = job->server_id,
        .backup_id = b->id,
        .parent_checkpoint = parent ? b->parent_checkpoint : NULL,
        .sock_dir = sock_dir(eng, dir, sizeof dir),
        .emit = emit_chunk,
        .progress = read_progress,
        .ctx = &sink,
        .freeze = true,
        .pause_clone = pause_clone,
        .finish = finish_writer,
    };
    memset(res, 0, sizeof *res);
    int rc = sw_bkread_run(eng, &req, res, err);
    sw_bk_writer_free(w);
    sw_engine_progress_free(sink.progress);
    return rc;
}

/* The parent's manifest, or NULL (a full backup) with why in note. */
static struct sw_bk_manifest *parent_of(const struct sw_msg_node_job *job, struct bk_repo *r,
                                        char *note, size_t n)
{
    const struct sw_msg_backup *b = &job->backup;
    if (!b->parent_id[0] || !b->parent_checkpoint[0])
        return NULL;
    struct sw_err err;
    sw_err_clear(&err);
    struct sw_bk_manifest *m = sw_bk_manifest_load(r->target, r->key, b->account, b->parent_id,
                                                   &err);
    if (!m)
        snprintf(note, n, "full backup: the parent's manifest did not open (%.100s)",
                 err.msg);
    return m;
}

static void fill_result(const struct sw_bkread_result *res, const struct sw_bk_manifest *m,
                        struct sw_engine_outcome *out)
{
    struct sw_msg_backup_result *o = &out->backup;
    o->has = true;
    o->incremental = res->incremental;
    o->bytes_logical = (int64_t)m->logical_bytes;
    o->bytes_read = (int64_t)res->read_bytes;
    o->bytes_stored = (int64_t)m->stored_new_bytes;
    snprintf(o->checkpoint, sizeof o->checkpoint, "%s", res->checkpoint);
}

/* Adds a and b to note[n], after what it holds. */
static void note_add(char *note, size_t n, const char *a, const char *b)
{
    size_t len = strlen(note);
    snprintf(note + len, n - len, "%s%s%s", len ? "; " : "", a, b);
}

/* Says in note whether the guest was frozen or paused (a stopped guest:
 * nothing said). */
static void note_frozen(const struct sw_bkread_result *res, char *note, size_t n)
{
    int frozen = res->frozen;
    char ms[128];
    if (res->paused_ms >= 0) {
        snprintf(ms, sizeof ms, "%lld ms while its root was cloned%s", (long long)res->paused_ms,
                 res->flushed ? "" : " (the node's caches not flushed: crash-consistent)");
        note_add(note, n, "paused for ", ms);
    } else if (frozen != -1) {
        note_add(note, n, "",
                 frozen == SW_BKREAD_PAUSED ? "not frozen: the guest was paused"
                 : frozen ? "filesystems frozen through the guest agent"
                          : "not frozen: no guest agent answered (crash-consistent)");
    }
}

static int do_backup(struct sw_engine *eng, const struct sw_msg_node_job *job, struct bk_repo *r,
                     bool pause_clone, struct sw_engine_outcome *out, struct sw_err *err)
{
    uint64_t size = 0;
    struct sw_bkread_result res;
    struct sw_bk_manifest *m = NULL;
    if (root_size(eng, job->server_id, &size, err) < 0)
        return -1;
    struct sw_bk_manifest *parent = parent_of(job, r, out->note, sizeof out->note);
    if (parent && parent->disk_size != size) {
        snprintf(out->note, sizeof out->note, "full backup: the disk's size changed");
        sw_bk_manifest_free(parent);
        parent = NULL;
    }
    int rc = read_into(eng, job, r, parent, size, pause_clone, &res, &m, err);
    if (rc < 0 && parent && err->code == SW_ENOTFOUND && strstr(err->msg, "checkpoint")) {
        snprintf(out->note, sizeof out->note, "full backup: the parent's checkpoint is gone");
        sw_err_clear(err);
        rc = read_into(eng, job, r, NULL, size, pause_clone, &res, &m, err);
    }
    sw_bk_manifest_free(parent);
    if (rc == 0) {
        fill_result(&res, m, out);
        note_frozen(&res, out->note, sizeof out->note);
        struct sw_err cerr;
        sw_err_clear(&cerr);
        if (res.checkpoint[0] && sw_bkread_commit(eng, job->server_id, res.checkpoint, &cerr) < 0)
            sw_log_err(SW_LOG_WARN, "backup.commit", &cerr);
    }
    sw_bk_manifest_free(m);
    return rc;
}

/* ---- retention ---- */

static bool listed(char **ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return true;
    return false;
}

static void free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

/* The server's policy applied on the target after its backup
 * (sw_bk_retain): the manifests it deleted are named in the result, so
 * their rows follow. A failure is said in the note; the backup stands. */
static void retain(const struct sw_msg_node_job *job, struct bk_repo *r,
                   struct sw_engine_outcome *out)
{
    const struct sw_msg_backup *b = &job->backup;
    struct sw_bk_policy p = {(unsigned)b->keep_last, (unsigned)b->keep_daily,
                             (unsigned)b->keep_weekly, (unsigned)b->keep_monthly};
    if (!p.keep_last && !p.keep_daily && !p.keep_weekly && !p.keep_monthly)
        return;
    struct sw_err err;
    sw_err_clear(&err);
    char **before = NULL, **after = NULL;
    size_t nb = 0, na = 0, kept = 0, deleted = 0;
    if (sw_bk_list_backups(r->target, b->account, &before, &nb, &err) < 0 ||
        sw_bk_retain(r->target, r->key, b->account, job->server_id, &p, &kept, &deleted, &err) <
            0 ||
        sw_bk_list_backups(r->target, b->account, &after, &na, &err) < 0) {
        sw_log_err(SW_LOG_WARN, "backup.retain", &err);
        snprintf(out->note, sizeof out->note, "retention not applied: %.120s", err.msg);
    }
    struct sw_msg_backup_result *o = &out->backup;
    for (size_t i = 0; after && i < nb && o->ndeleted < SW_BKMSG_DELETED_MAX; i++)
        if (!listed(after, na, before[i]) && sw_uuid_valid(before[i]))
            snprintf(o->deleted[o->ndeleted++], sizeof o->deleted[0], "%s", before[i]);
    if (deleted)
        sw_info("backup.retained", "server=%s kept=%zu deleted=%zu", job->server_id, kept, deleted);
    free_ids(before, nb);
    free_ids(after, na);
}

/* -1 with err (unauthenticated) when the job's key does not open the
 * account's backups already on the target (its parent's, else any one):
 * a wrong key (the control plane's copy replaced or damaged) writes
 * nothing, rather than a full backup no other backup of the account
 * shares a key with. 0 when it opens them, or there are none. */
static int key_check(const struct sw_msg_node_job *job, struct bk_repo *r, struct sw_err *err)
{
    const struct sw_msg_backup *b = &job->backup;
    char **ids = NULL;
    size_t n = 0;
    struct sw_err lerr;
    sw_err_clear(&lerr);
    const char *id = b->parent_id[0] ? b->parent_id : NULL;
    if (!id && sw_bk_list_backups(r->target, b->account, &ids, &n, &lerr) == 0 && n)
        id = ids[0];
    struct sw_bk_manifest *m = id ? sw_bk_manifest_load(r->target, r->key, b->account, id, &lerr)
                                  : NULL;
    int rc = id && !m && lerr.code == SW_EUNAUTHENTICATED ? -1 : 0;
    if (rc < 0)
        SW_ERR(err, SW_EUNAUTHENTICATED,
               "could not back up the server: the account's backup key does not open its "
               "backups on the target (%.100s)", lerr.msg);
    sw_bk_manifest_free(m);
    free_ids(ids, n);
    return rc;
}

/* No backup job, scratch or checkpoint of the server's but the parent's:
 * after a failed backup, and before each one (an engine killed mid-backup
 * left libvirt's job, its scratch and its checkpoint; the replayed job
 * would meet them). Writes into did[n] what it found, "" when nothing. */
static void cleanup(struct sw_engine *eng, const struct sw_msg_node_job *job, char *did, size_t n)
{
    struct sw_err cerr;
    char note[160] = "";
    sw_err_clear(&cerr);
    did[0] = '\0';
    if (sw_bkread_cleanup(eng, job->server_id, job->backup.parent_checkpoint, note, sizeof note,
                          &cerr) < 0)
        sw_log_err(SW_LOG_WARN, "backup.cleanup", &cerr);
    else if (strcmp(note, "backup job none; 0 checkpoint(s) and 0 scratch volume(s) deleted")) {
        sw_info("backup.cleanup", "server=%s did=%s", job->server_id, note);
        snprintf(did, n, "%s", note);
    }
}

static int backup_job(struct sw_engine *eng, const struct sw_msg_node_job *job,
                      bool pause_clone, struct sw_engine_outcome *out, struct sw_err *err)
{
    struct bk_repo r;
    char left[160];
    if (repo_open(&job->backup, &r, err) < 0)
        return -1;
    if (key_check(job, &r, err) < 0) {
        repo_close(&r);
        return -1;
    }
    cleanup(eng, job, left, sizeof left);
    int rc = do_backup(eng, job, &r, pause_clone, out, err);
    if (rc == 0)
        retain(job, &r, out);
    repo_close(&r);
    if (left[0]) /* an interrupted backup's leftovers, said in the note */
        note_add(out->note, sizeof out->note, "leftovers of an interrupted backup: ", left);
    if (rc < 0 && err->code != SW_EUNSUPPORTED)
        cleanup(eng, job, left, sizeof left);
    return rc;
}

int sw_engine_backup_run(struct sw_engine *eng, const struct sw_engine_driver *drv,
                         const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                         struct sw_err *err)
{
    (void)drv;
    return backup_job(eng, job, false, out, err);
}

int sw_engine_backup_run_paused(struct sw_engine *eng, const struct sw_msg_node_job *job,
                                struct sw_engine_outcome *out, struct sw_err *err)
{
    return backup_job(eng, job, true, out, err);
}

/* ---- restore ---- */

struct restore_sink {
    struct sw_bkwrite *w;
    struct sw_err *err;
    struct sw_engine_progress *progress; /* NULL: no reports */
    uint64_t total;                      /* the disk's size */
};

/* sw_bk_emit_fn onto the restore writer; a hole (data NULL) stays sparse. */
static int restore_emit(void *arg, uint64_t offset, const unsigned char *data, size_t len)
{
    struct restore_sink *s = arg;
    if (data && sw_bkwrite_chunk(s->w, offset, data, len, s->err) < 0)
        return -1;
    sw_engine_progress_report(s->progress, offset + len, s->total);
    return 0;
}

/* The pool of the server's current root (its new root goes beside it). */
static const struct sw_engine_pool *root_pool(struct sw_engine *eng, const char *server_id,
                                              struct sw_err *err)
{
    struct sw_msg_disk root;
    size_t n = 0;
    const struct sw_engine_pool *pools = sw_storage_pools(eng, &n);
    int found = sw_storage_root_find(eng, server_id, NULL, &root, err);
    for (size_t i = 0; found > 0 && i < n; i++)
        if (strcmp(pools[i].name, root.pool) == 0)
            return &pools[i];
    if (found >= 0)
        SW_ERR(err, SW_ENOTFOUND, "could not restore the server: its root volume is gone");
    return NULL;
}

/* The backup written, every chunk verified, into the root volume with
 * tag in pool p (disk filled): "sw-<server>-root-<job>" is the root a
 * reinstall by this job finds and boots (virt.c), so the swap is the
 * reinstall's; tag "0" is a create's root (bkrestore.c). */
static int restore_volume(struct sw_engine *eng, const struct sw_msg_node_job *job,
                          struct bk_repo *r, const struct sw_engine_pool *p, const char *tag,
                          struct sw_msg_disk *disk, struct sw_err *err)
{
    const struct sw_msg_backup *b = &job->backup;
    struct sw_bk_manifest *m = sw_bk_manifest_load(r->target, r->key, b->account, b->id, err);
    if (!m)
        return -1;
    char name[128];
    struct sw_bkwrite_req req = {
        .server_id = job->server_id,
        .restore_id = job->job_id,
        .pool = p->name,
        .volume = sw_storage_job_root_name(p, job, tag, name),
        .capacity = m->disk_size,
    };
    struct restore_sink sink = {sw_bkwrite_open(eng, &req, err), err,
                                sw_engine_progress_new(eng, job), m->disk_size};
    int rc = sink.w ? sw_bk_restore(r->target, r->key, m, restore_emit, &sink, err) : -1;
    if (rc == 0)
        rc = sw_bkwrite_finish(sink.w, disk, err);
    sw_bkwrite_free(sink.w);
    sw_engine_progress_free(sink.progress);
    sw_bk_manifest_free(m);
    return rc;
}

int sw_engine_backup_restore_root(struct sw_engine *eng, const struct sw_msg_node_job *job,
                                  const struct sw_engine_pool *p, const char *tag,
                                  struct sw_msg_disk *disk, struct sw_err *err)
{
    struct bk_repo r;
    if (repo_open(&job->backup, &r, err) < 0)
        return -1;
    int rc = restore_volume(eng, job, &r, p, tag, disk, err);
    repo_close(&r);
    return rc;
}

/* sw_engine_backup_restore_each's chunks to its caller, with progress. */
struct each_sink {
    int (*emit)(void *ctx, uint64_t offset, const unsigned char *data, size_t len);
    void *ctx;
    struct sw_engine_progress *progress; /* NULL: no reports */
    uint64_t total;
};

static int each_emit(void *arg, uint64_t offset, const unsigned char *data, size_t len)
{
    struct each_sink *s = arg;
    if (s->emit(s->ctx, offset, data, len) != 0)
        return -1;
    sw_engine_progress_report(s->progress, offset + len, s->total);
    return 0;
}

int sw_engine_backup_restore_each(struct sw_engine *eng, const struct sw_msg_node_job *job,
                                  int (*emit)(void *ctx, uint64_t offset,
                                              const unsigned char *data, size_t len),
                                  void *ctx, uint64_t *disk_size, struct sw_err *err)
{
    struct bk_repo r;
    if (repo_open(&job->backup, &r, err) < 0)
        return -1;
    const struct sw_msg_backup *b = &job->backup;
    struct sw_bk_manifest *m = sw_bk_manifest_load(r.target, r.key, b->account, b->id, err);
    int rc = -1;
    if (m) {
        *disk_size = m->disk_size;
        struct each_sink s = {emit, ctx, sw_engine_progress_new(eng, job), m->disk_size};
        rc = sw_bk_restore(r.target, r.key, m, each_emit, &s, err);
        sw_engine_progress_free(s.progress);
    }
    sw_bk_manifest_free(m);
    repo_close(&r);
    return rc;
}

int sw_engine_restore_run(struct sw_engine *eng, const struct sw_engine_driver *drv,
                          const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                          struct sw_err *err)
{
    const struct sw_engine_pool *p = root_pool(eng, job->server_id, err);
    struct sw_msg_disk disk;
    if (p && (!drv->lifecycle || !drv->lifecycle->reinstall)) {
        SW_ERR(err, SW_EUNSUPPORTED, "restore is not supported for %s servers", drv->name);
        return -1;
    }
    if (!p || sw_engine_backup_restore_root(eng, job, p, job->job_id, &disk, err) < 0)
        return -1;
    /* The new disk has none of the old one's dirty bitmaps: the server's
     * checkpoints go, and its next backup is full. */
    char note[160] = "";
    if (sw_bkread_cleanup(eng, job->server_id, NULL, note, sizeof note, err) < 0)
        return -1;
    snprintf(out->note, sizeof out->note, "restored from backup %s", job->backup.id);
    return drv->lifecycle->reinstall(eng, drv, job, out, err);
}

const struct sw_engine_backups sw_engine_backup_ops = {
    .backup = sw_engine_backup_run,
    .restore = sw_engine_restore_run,
    .create = sw_bkrestore_create,
};
