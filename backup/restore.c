/* restore.c - reads a backup back, verifying every chunk. */
#include "config.h"
#include "backup/repo.h"
#include "core/alloc.h"
#include "core/crypto.h"
#include "core/err.h"

#include <sodium.h>
#include <string.h>

struct sw_bk_manifest *sw_bk_manifest_load(struct sw_bk_target *t,
                                           const unsigned char key[SW_BK_KEY_BYTES],
                                           const char *account, const char *backup_id,
                                           struct sw_err *err)
{
    if (!sw_uuid_valid(account) || !sw_uuid_valid(backup_id)) {
        SW_ERR(err, SW_EINVALID, "backup: account and backup ids must be uuids");
        return NULL;
    }
    SW_AUTOFREE char *name = sw_bk_manifest_key(account, backup_id);
    SW_AUTOFREE unsigned char *blob = NULL;
    size_t blen = 0, plen = 0;
    if (sw_bk_target_get(t, name, &blob, &blen, err) < 0)
        return NULL;
    struct sw_bk_keys keys;
    sw_bk_keys_init(&keys, key);
    SW_AUTOFREE unsigned char *plain = sw_bk_object_open(&keys, name, blob, blen, &plen, err);
    struct sw_bk_manifest *m = NULL;
    json_error_t je;
    json_t *j = plain ? json_loadb((const char *)plain, plen, 0, &je) : NULL;
    if (plain && !j)
        SW_ERR(err, SW_EINVALID, "backup manifest: %s", je.text);
    if (j)
        m = sw_bk_manifest_from_json(j, err);
    json_decref(j);
    /* A manifest is bound to its name (the ad), so its ids cannot disagree
     * with where it lives unless it was written wrong. */
    if (m && (strcmp(m->account, account) != 0 || strcmp(m->backup_id, backup_id) != 0)) {
        SW_ERR(err, SW_EINVALID, "backup manifest: %s names another backup", name);
        sw_bk_manifest_free(m);
        m = NULL;
    }
    if (m)
        memcpy(m->keycheck, keys.check, SW_BK_KEYCHECK_BYTES);
    sw_bk_keys_release(&keys);
    return m;
}

int sw_bk_chunk_fetch(struct sw_bk_target *t, const struct sw_bk_keys *keys,
                 const struct sw_bk_manifest *m, size_t i, unsigned char *buf,
                 struct sw_err *err)
{
    SW_AUTOFREE char *name = sw_bk_chunk_key(m->account, m->ids[i]);
    SW_AUTOFREE unsigned char *blob = NULL;
    size_t blen = 0;
    char hex[SW_BK_ID_HEX + 1];
    sw_bk_id_hex(m->ids[i], hex);
    unsigned long long off = (unsigned long long)i * m->chunk_size;
    struct sw_err e = {0};
    if (sw_bk_target_get(t, name, &blob, &blen, &e) < 0) {
        if (e.code != SW_ENOTFOUND) {
            *err = e;
            return -1;
        }
        SW_ERR(err, SW_EINTERNAL, "chunk %s at offset %llu is missing from the target", hex,
               off);
        return -1;
    }
    if (sw_bk_chunk_open(keys, m->ids[i], blob, blen, buf, sw_bk_manifest_chunk_len(m, i),
                         &e) < 0) {
        SW_ERR(err, SW_EINTERNAL, "chunk %s at offset %llu failed its checksum", hex, off);
        return -1;
    }
    return 0;
}

int sw_bk_restore(struct sw_bk_target *t, const unsigned char key[SW_BK_KEY_BYTES],
                  const struct sw_bk_manifest *m, sw_bk_emit_fn emit, void *arg,
                  struct sw_err *err)
{
    struct sw_bk_keys keys;
    sw_bk_keys_init(&keys, key);
    int rc = 0;
    if (sodium_memcmp(keys.check, m->keycheck, SW_BK_KEYCHECK_BYTES) != 0) {
        SW_ERR(err, SW_EUNAUTHENTICATED, "wrong backup key for backup %s", m->backup_id);
        rc = -1;
    }
    unsigned char *buf = sw_malloc(SW_BK_CHUNK_SIZE);
    for (size_t i = 0; rc == 0 && i < m->nchunks; i++) {
        size_t len = sw_bk_manifest_chunk_len(m, i);
        uint64_t off = (uint64_t)i * m->chunk_size;
        if (!m->zero[i] && sw_bk_chunk_fetch(t, &keys, m, i, buf, err) < 0)
            rc = -1;
        else if (emit(arg, off, m->zero[i] ? NULL : buf, len) != 0) {
            SW_ERR(err, SW_EUNAVAILABLE, "could not write the restored disk at offset %llu",
                   (unsigned long long)off);
            rc = -1;
        }
    }
    sodium_memzero(buf, SW_BK_CHUNK_SIZE);
    free(buf);
    sw_bk_keys_release(&keys);
    return rc;
}
