/* gc.c - an account's backups listed, garbage collected and scrubbed. */
#include "config.h"
#include "backup/repo.h"
#include "core/alloc.h"
#include "core/crypto.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct names {
    char **v;
    size_t n, cap;
    size_t skip; /* length of the listed prefix */
};

static int add_name(void *arg, const char *key)
{
    struct names *l = arg;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = sw_realloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = sw_strdup(strlen(key) >= l->skip ? key + l->skip : "");
    return 0;
}

int sw_bk_list_backups(struct sw_bk_target *t, const char *account, char ***ids, size_t *n,
                       struct sw_err *err)
{
    if (!sw_uuid_valid(account)) {
        SW_ERR(err, SW_EINVALID, "backup: the account id must be a uuid");
        return -1;
    }
    SW_AUTOFREE char *prefix = sw_asprintf("%s/manifests/", account);
    struct names l = {.skip = strlen(prefix)};
    if (sw_bk_target_list(t, prefix, add_name, &l, err) < 0) {
        for (size_t i = 0; i < l.n; i++)
            free(l.v[i]);
        free(l.v);
        return -1;
    }
    *ids = l.v;
    *n = l.n;
    return 0;
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* A sorted set of chunk ids. */
struct idset {
    unsigned char (*v)[SW_BK_ID_BYTES];
    size_t n, cap;
};

static int id_cmp(const void *a, const void *b)
{
    return memcmp(a, b, SW_BK_ID_BYTES);
}

static void mark_manifest(struct idset *s, const struct sw_bk_manifest *m)
{
    for (size_t i = 0; i < m->nchunks; i++) {
        if (m->zero[i])
            continue;
        if (s->n == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 256;
            s->v = sw_realloc(s->v, s->cap * sizeof *s->v);
        }
        memcpy(s->v[s->n++], m->ids[i], SW_BK_ID_BYTES);
    }
}

/* Marks every chunk of every manifest; -1 when one does not open. */
static int mark(struct sw_bk_target *t, const unsigned char key[SW_BK_KEY_BYTES],
                const char *account, struct idset *s, size_t *manifests, struct sw_err *err)
{
    char **ids = NULL;
    size_t n = 0;
    if (sw_bk_list_backups(t, account, &ids, &n, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct sw_bk_manifest *m = sw_bk_manifest_load(t, key, account, ids[i], err);
        if (!m)
            rc = -1;
        else
            mark_manifest(s, m);
        sw_bk_manifest_free(m);
    }
    free_names(ids, n);
    *manifests = n;
    if (s->n)
        qsort(s->v, s->n, SW_BK_ID_BYTES, id_cmp);
    return rc;
}

int sw_bk_gc(struct sw_bk_target *t, const unsigned char key[SW_BK_KEY_BYTES],
             const char *account, struct sw_bk_gc_stats *stats, struct sw_err *err)
{
    memset(stats, 0, sizeof *stats);
    struct idset live = {0};
    SW_AUTOFREE char *prefix = sw_asprintf("%s/chunks/", account);
    struct names chunks = {.skip = strlen(prefix) + 3};
    int rc = mark(t, key, account, &live, &stats->manifests, err);
    if (rc == 0)
        rc = sw_bk_target_list(t, prefix, add_name, &chunks, err);
    for (size_t i = 0; rc == 0 && i < chunks.n; i++) {
        unsigned char id[SW_BK_ID_BYTES];
        bool known = sw_bk_id_parse(chunks.v[i], id) == 0;
        if (known && live.n && bsearch(id, live.v, live.n, SW_BK_ID_BYTES, id_cmp)) {
            stats->chunks_kept++;
            continue;
        }
        if (!known)
            continue; /* not a chunk of ours: left alone */
        SW_AUTOFREE char *name = sw_bk_chunk_key(account, id);
        bool there = false;
        uint64_t size = 0;
        rc = sw_bk_target_exists(t, name, &there, &size, err);
        if (rc == 0)
            rc = sw_bk_target_delete(t, name, err);
        stats->chunks_deleted += rc == 0;
        stats->bytes_deleted += rc == 0 && there ? size : 0;
    }
    free_names(chunks.v, chunks.n);
    free(live.v);
    return rc;
}

/* One use of a chunk: which manifest, which index. */
struct use {
    const unsigned char *id;
    size_t manifest, index;
};

static int use_cmp(const void *a, const void *b)
{
    const struct use *x = a, *y = b;
    return memcmp(x->id, y->id, SW_BK_ID_BYTES);
}

static void report(sw_bk_bad_fn bad, void *arg, struct sw_bk_scrub_stats *stats,
                   const char *what, const char *why)
{
    stats->bad++;
    bad(arg, what, why);
}

/* Verifies each distinct chunk of ms once, naming the first backup using it. */
static void scrub_chunks(struct sw_bk_target *t, const struct sw_bk_keys *keys,
                         struct sw_bk_manifest **ms, size_t n, sw_bk_bad_fn bad, void *arg,
                         struct sw_bk_scrub_stats *stats)
{
    size_t nu = 0, cap = 0;
    struct use *u = NULL;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; ms[k] && i < ms[k]->nchunks; i++) {
            if (ms[k]->zero[i])
                continue;
            if (nu == cap) {
                cap = cap ? 2 * cap : 256;
                u = sw_realloc(u, cap * sizeof *u);
            }
            u[nu++] = (struct use){ms[k]->ids[i], k, i};
        }
    if (nu)
        qsort(u, nu, sizeof *u, use_cmp);
    unsigned char *buf = sw_malloc(SW_BK_CHUNK_SIZE);
    for (size_t j = 0; j < nu; j++) {
        if (j > 0 && use_cmp(&u[j - 1], &u[j]) == 0)
            continue;
        const struct sw_bk_manifest *m = ms[u[j].manifest];
        struct sw_err e = {0};
        stats->chunks_checked++;
        if (sw_bk_chunk_fetch(t, keys, m, u[j].index, buf, &e) == 0)
            continue;
        char hex[SW_BK_ID_HEX + 1];
        sw_bk_id_hex(u[j].id, hex);
        SW_AUTOFREE char *what =
            sw_asprintf("chunk %s at offset %llu of backup %s", hex,
                        (unsigned long long)u[j].index * m->chunk_size, m->backup_id);
        report(bad, arg, stats, what, e.msg);
    }
    free(buf);
    free(u);
}

int sw_bk_scrub(struct sw_bk_target *t, const unsigned char key[SW_BK_KEY_BYTES],
                const char *account, sw_bk_bad_fn bad, void *arg,
                struct sw_bk_scrub_stats *stats, struct sw_err *err)
{
    memset(stats, 0, sizeof *stats);
    char **ids = NULL;
    size_t n = 0;
    if (sw_bk_list_backups(t, account, &ids, &n, err) < 0)
        return -1;
    struct sw_bk_manifest **ms = sw_calloc(n ? n : 1, sizeof *ms);
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < n; k++) {
        struct sw_err e = {0};
        ms[k] = sw_bk_manifest_load(t, key, account, ids[k], &e);
        if (!ms[k] && (e.code == SW_EUNAUTHENTICATED || e.code == SW_EUNAVAILABLE)) {
            *err = e; /* a wrong key or an unreachable target: nothing was checked */
            rc = -1;
        } else if (!ms[k]) {
            SW_AUTOFREE char *what = sw_asprintf("manifest %s", ids[k]);
            report(bad, arg, stats, what, e.msg);
        }
    }
    stats->manifests = n;
    struct sw_bk_keys keys;
    sw_bk_keys_init(&keys, key);
    if (rc == 0)
        scrub_chunks(t, &keys, ms, n, bad, arg, stats);
    sw_bk_keys_release(&keys);
    for (size_t k = 0; k < n; k++)
        sw_bk_manifest_free(ms[k]);
    free(ms);
    free_names(ids, n);
    return rc;
}
