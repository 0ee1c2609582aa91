/* writer.c - writes one backup: chunks first, its manifest last. */
#include "config.h"
#include "backup/repo.h"
#include "backup/pipeline.h"
#include "core/alloc.h"
#include "core/crypto.h"
#include "core/err.h"

#include <sodium.h>
#include <string.h>
#include <time.h>

/* The caller's thread checks and counts each chunk and hands it to the
 * pipeline (pipeline.h): hash, zstd and secretstream run on its workers
 * (seal_chunk), the target and the manifest's entries only on its storer
 * (store_chunk), in the order the chunks came. */
struct sw_bk_writer {
    struct sw_bk_target *t;
    struct sw_bk_keys keys;
    struct sw_bk_manifest *m;
    struct sw_bk_pipe *pipe; /* made at the first put */
    unsigned workers;
    uint64_t done;
};

char *sw_bk_chunk_key(const char *account, const unsigned char id[SW_BK_ID_BYTES])
{
    char hex[SW_BK_ID_HEX + 1];
    sw_bk_id_hex(id, hex);
    return sw_asprintf("%s/chunks/%.2s/%s", account, hex, hex);
}

static int check_ids(const char *account, const char *server, const char *backup_id,
                     const struct sw_bk_manifest *parent, uint64_t disk_size,
                     struct sw_err *err)
{
    if (!sw_uuid_valid(account) || !sw_uuid_valid(server) || !sw_uuid_valid(backup_id)) {
        SW_ERR(err, SW_EINVALID, "backup: account, server and backup ids must be uuids");
        return -1;
    }
    if (parent && (strcmp(parent->account, account) != 0 ||
                   strcmp(parent->server, server) != 0)) {
        SW_ERR(err, SW_EINVALID, "backup: the parent backup is another server's");
        return -1;
    }
    if (parent && parent->disk_size != disk_size) {
        SW_ERR(err, SW_EINVALID,
               "backup: the disk's size changed since the parent backup; take a full one");
        return -1;
    }
    return 0;
}

struct sw_bk_writer *sw_bk_writer_new(struct sw_bk_target *t,
                                      const unsigned char key[SW_BK_KEY_BYTES],
                                      const char *account, const char *server,
                                      const char *backup_id,
                                      const struct sw_bk_manifest *parent, uint64_t disk_size,
                                      struct sw_err *err)
{
    if (check_ids(account, server, backup_id, parent, disk_size, err) < 0)
        return NULL;
    struct sw_bk_writer *w = sw_calloc(1, sizeof *w);
    w->t = t;
    sw_bk_keys_init(&w->keys, key);
    if (parent && sodium_memcmp(parent->keycheck, w->keys.check, SW_BK_KEYCHECK_BYTES) != 0) {
        SW_ERR(err, SW_EUNAUTHENTICATED, "backup: wrong backup key for the parent backup");
        sw_bk_writer_free(w);
        return NULL;
    }
    w->workers = sw_bk_pipe_default_workers();
    w->m = sw_bk_manifest_new(disk_size);
    memcpy(w->m->account, account, SW_BK_UUID_LEN + 1);
    memcpy(w->m->server, server, SW_BK_UUID_LEN + 1);
    memcpy(w->m->backup_id, backup_id, SW_BK_UUID_LEN + 1);
    memcpy(w->m->keycheck, w->keys.check, SW_BK_KEYCHECK_BYTES);
    if (parent) {
        w->m->incremental = true;
        memcpy(w->m->parent_id, parent->backup_id, SW_BK_UUID_LEN + 1);
        memcpy(w->m->ids, parent->ids, parent->nchunks * sizeof *w->m->ids);
        memcpy(w->m->zero, parent->zero, parent->nchunks * sizeof *w->m->zero);
    }
    return w;
}

void sw_bk_writer_set_workers(struct sw_bk_writer *w, unsigned workers)
{
    if (!w->pipe)
        w->workers = workers;
}

/* On a worker: is it zero; if not, its id and its sealed form. */
static int seal_chunk(void *ctx, struct sw_bk_slot *s, struct sw_err *err)
{
    struct sw_bk_writer *w = ctx;
    s->zero = sw_bk_is_zero(s->data, s->len);
    if (s->zero)
        return 0;
    sw_bk_chunk_id(&w->keys, s->data, s->len, s->id);
    s->blob = sw_bk_chunk_seal(&s->sealer, &w->keys, s->id, s->data, s->len, &s->blob_len, err);
    return s->blob ? 0 : -1;
}

/* On the storer, in order: the manifest's entry, and the sealed chunk put
 * unless the target has it whole. The sealed size is checked too: a store
 * that is not atomic (s3rver killed mid-PUT keeps the part it got) must
 * not pass a torn chunk off as the one already there. A store that cannot
 * answer for the object at all (s3rver answers 500 for one torn before its
 * metadata was written; S3 may answer 500 at any time) gets it put again:
 * rewriting a chunk is harmless, and a target that is really down fails
 * the put, which says so. */
static int store_chunk(void *ctx, struct sw_bk_slot *s, struct sw_err *err)
{
    struct sw_bk_writer *w = ctx;
    size_t i = (size_t)(s->offset / SW_BK_CHUNK_SIZE);
    w->m->zero[i] = s->zero;
    if (s->zero)
        return 0;
    memcpy(w->m->ids[i], s->id, SW_BK_ID_BYTES);
    SW_AUTOFREE char *key = sw_bk_chunk_key(w->m->account, s->id);
    bool there = false;
    uint64_t size = 0;
    if (sw_bk_target_exists(w->t, key, &there, &size, err) < 0) {
        sw_err_clear(err);
        there = false;
    }
    if (there && size == s->blob_len)
        return 0;
    if (sw_bk_target_put(w->t, key, s->blob, s->blob_len, err) < 0)
        return -1;
    w->m->stored_new_bytes += s->blob_len;
    return 0;
}

int sw_bk_writer_put(struct sw_bk_writer *w, uint64_t offset, const unsigned char *data,
                     size_t len, struct sw_err *err)
{
    size_t i = (size_t)(offset / SW_BK_CHUNK_SIZE);
    if (offset % SW_BK_CHUNK_SIZE || i >= w->m->nchunks ||
        len != sw_bk_manifest_chunk_len(w->m, i)) {
        SW_ERR(err, SW_EINVALID, "backup: a chunk must be whole and at a 4 MiB boundary");
        sw_err_detail(err, "offset %llu, %zu bytes", (unsigned long long)offset, len);
        return -1;
    }
    if (!w->pipe)
        w->pipe = sw_bk_pipe_new(w->workers, seal_chunk, store_chunk, w);
    if (sw_bk_pipe_put(w->pipe, offset, data, len, err) < 0)
        return -1;
    w->m->read_bytes += len;
    w->done += len;
    return 0;
}

void sw_bk_writer_set_created(struct sw_bk_writer *w, time_t at)
{
    w->m->created_at = at;
}

void sw_bk_writer_progress(const struct sw_bk_writer *w, uint64_t *done, uint64_t *total)
{
    *done = w->done;
    *total = w->m->disk_size;
}

int sw_bk_writer_finish(struct sw_bk_writer *w, struct sw_bk_manifest **out,
                        struct sw_err *err)
{
    if (w->pipe && sw_bk_pipe_drain(w->pipe, err) < 0)
        return -1;
    if (!w->m->created_at)
        w->m->created_at = time(NULL);
    json_t *j = sw_bk_manifest_to_json(w->m);
    SW_AUTOFREE char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    SW_AUTOFREE char *key = sw_bk_manifest_key(w->m->account, w->m->backup_id);
    size_t blen = 0;
    SW_AUTOFREE unsigned char *blob =
        sw_bk_object_seal(&w->keys, key, (const unsigned char *)text, strlen(text), &blen);
    if (sw_bk_target_put(w->t, key, blob, blen, err) < 0)
        return -1;
    if (out)
        *out = SW_STEAL(&w->m);
    return 0;
}

void sw_bk_writer_free(struct sw_bk_writer *w)
{
    if (!w)
        return;
    sw_bk_pipe_free(w->pipe); /* first: its threads use the keys */
    sw_bk_keys_release(&w->keys);
    sw_bk_manifest_free(w->m);
    free(w);
}
