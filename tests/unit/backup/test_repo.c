/* The repository on a dir target: dedup, zero chunks, incremental,
 * tamper named, wrong key, gc and scrub. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/prune.h"
#include "backup/repo.h"
#include "core/alloc.h"
#include "core/crypto.h"
#include "core/err.h"

#define ACCT "11111111-1111-4111-8111-111111111111"
#define ACCT2 "55555555-5555-4555-8555-555555555555"
#define SRV "22222222-2222-4222-8222-222222222222"
#define FULL "33333333-3333-4333-8333-333333333333"
#define INCR "44444444-4444-4444-8444-444444444444"
#define CS SW_BK_CHUNK_SIZE
#define DISK (4 * (uint64_t)CS + 1000) /* chunks A B 0 A C(short) */

struct fixture {
    char dir[64];
    struct sw_bk_target *t;
    unsigned char key[SW_BK_KEY_BYTES];
    unsigned char *disk;
};

static int setup(void **state)
{
    struct fixture *f = sw_calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/swbk.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    json_t *conf = json_pack("{s:s, s:s}", "kind", "dir", "path", f->dir);
    struct sw_err err = {0};
    f->t = sw_bk_target_open(conf, &err);
    json_decref(conf);
    assert_non_null(f->t);
    randombytes_buf(f->key, sizeof f->key);
    f->disk = sw_calloc(1, DISK);
    randombytes_buf(f->disk, CS);                          /* A */
    randombytes_buf(f->disk + CS, CS);                     /* B */
    memcpy(f->disk + 3 * (size_t)CS, f->disk, CS);         /* A again */
    randombytes_buf(f->disk + 4 * (size_t)CS, 1000);       /* C, short */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    SW_AUTOFREE char *cmd = sw_asprintf("rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    sw_bk_target_free(f->t);
    free(f->disk);
    free(f);
    return 0;
}

static int count_one(void *arg, const char *key)
{
    (void)key;
    (*(size_t *)arg)++;
    return 0;
}

static size_t chunks_of(struct fixture *f, const char *account)
{
    size_t n = 0;
    struct sw_err err = {0};
    SW_AUTOFREE char *prefix = sw_asprintf("%s/chunks/", account);
    assert_int_equal(sw_bk_target_list(f->t, prefix, count_one, &n, &err), 0);
    return n;
}

/* Writes chunks of disk (all when parent is NULL, else only index only). */
static struct sw_bk_manifest *backup(struct fixture *f, const char *account, const char *id,
                                     const struct sw_bk_manifest *parent, long only)
{
    struct sw_err err = {0};
    struct sw_bk_writer *w =
        sw_bk_writer_new(f->t, f->key, account, SRV, id, parent, DISK, &err);
    assert_non_null(w);
    for (uint64_t off = 0; off < DISK; off += CS) {
        size_t len = DISK - off < CS ? (size_t)(DISK - off) : CS;
        if (only < 0 || (uint64_t)only == off / CS)
            assert_int_equal(sw_bk_writer_put(w, off, f->disk + off, len, &err), 0);
    }
    uint64_t done, total;
    sw_bk_writer_progress(w, &done, &total);
    assert_int_equal(total, DISK);
    assert_int_equal(done, only < 0 ? DISK : CS);
    struct sw_bk_manifest *m = NULL;
    assert_int_equal(sw_bk_writer_finish(w, &m, &err), 0);
    sw_bk_writer_free(w);
    return m;
}

static int into(void *arg, uint64_t off, const unsigned char *data, size_t len)
{
    unsigned char *out = arg;
    if (data)
        memcpy(out + off, data, len);
    else
        memset(out + off, 0, len);
    return 0;
}

static int restore(struct fixture *f, const char *id, unsigned char *out, struct sw_err *err)
{
    struct sw_bk_manifest *m = sw_bk_manifest_load(f->t, f->key, ACCT, id, err);
    int rc = m ? sw_bk_restore(f->t, f->key, m, into, out, err) : -1;
    sw_bk_manifest_free(m);
    return rc;
}

static void test_full_incremental_gc(void **state)
{
    struct fixture *f = *state;
    struct sw_err err = {0};
    struct sw_bk_manifest *full = backup(f, ACCT, FULL, NULL, -1);
    assert_true(full->zero[2]);
    assert_memory_equal(full->ids[0], full->ids[3], SW_BK_ID_BYTES);
    assert_int_equal(chunks_of(f, ACCT), 3); /* A, B, C: A once, zero never */
    /* A and B are random (zstd cannot shrink them): A is counted once */
    assert_true(full->stored_new_bytes > 2 * (uint64_t)CS);
    assert_true(full->stored_new_bytes < 2 * (uint64_t)CS + CS / 2);
    unsigned char *out = sw_malloc(DISK);
    memset(out, 0xee, DISK);
    assert_int_equal(restore(f, FULL, out, &err), 0);
    assert_memory_equal(out, f->disk, DISK);

    randombytes_buf(f->disk + CS + 10, 100); /* B -> B' */
    struct sw_bk_manifest *incr = backup(f, ACCT, INCR, full, 1);
    assert_true(incr->incremental);
    assert_string_equal(incr->parent_id, FULL);
    assert_int_equal(chunks_of(f, ACCT), 4);
    assert_true(incr->stored_new_bytes > 0 && incr->stored_new_bytes < full->stored_new_bytes);
    assert_int_equal(restore(f, INCR, out, &err), 0);
    assert_memory_equal(out, f->disk, DISK);

    /* another account's backup of the same disk shares nothing */
    sw_bk_manifest_free(backup(f, ACCT2, FULL, NULL, -1));
    assert_int_equal(chunks_of(f, ACCT2), 3);
    assert_int_equal(chunks_of(f, ACCT), 4);

    SW_AUTOFREE char *name = sw_bk_manifest_key(ACCT, FULL);
    assert_int_equal(sw_bk_target_delete(f->t, name, &err), 0);
    struct sw_bk_gc_stats gs;
    assert_int_equal(sw_bk_gc(f->t, f->key, ACCT, &gs, &err), 0);
    assert_int_equal(gs.manifests, 1);
    assert_int_equal(gs.chunks_deleted, 1); /* B, only the full one had it */
    assert_int_equal(gs.chunks_kept, 3);
    assert_int_equal(chunks_of(f, ACCT2), 3);
    assert_int_equal(restore(f, INCR, out, &err), 0);
    assert_memory_equal(out, f->disk, DISK);
    sw_bk_manifest_free(full);
    sw_bk_manifest_free(incr);
    free(out);
}

/* Where chunk i of m lives in the fixture's folder; owned. */
static char *chunk_path(struct fixture *f, const struct sw_bk_manifest *m, size_t i)
{
    SW_AUTOFREE char *name = sw_bk_chunk_key(m->account, m->ids[i]);
    return sw_asprintf("%s/%s", f->dir, name);
}

static void on_bad(void *arg, const char *what, const char *why)
{
    (void)why;
    SW_AUTOFREE char *copy = sw_strdup(what);
    snprintf(arg, 256, "%s", copy);
}

static void test_tamper_and_wrong_key(void **state)
{
    struct fixture *f = *state;
    struct sw_err err = {0};
    struct sw_bk_manifest *m = backup(f, ACCT, FULL, NULL, -1);
    char hex[SW_BK_ID_HEX + 1];
    sw_bk_id_hex(m->ids[1], hex);
    SW_AUTOFREE char *path = chunk_path(f, m, 1);
    FILE *fp = fopen(path, "r+");
    assert_non_null(fp);
    /* a read then a write on one stream needs a seek between them (C11
     * 7.21.5.3): without it the byte may land elsewhere, or nowhere */
    assert_int_equal(fseek(fp, 100, SEEK_SET), 0);
    int byte = fgetc(fp);
    assert_true(byte != EOF);
    assert_int_equal(fseek(fp, 100, SEEK_SET), 0);
    assert_int_equal(fputc(0x55 ^ byte, fp), 0x55 ^ byte);
    fclose(fp);
    unsigned char *out = sw_malloc(DISK);
    assert_int_equal(restore(f, FULL, out, &err), -1);
    SW_AUTOFREE char *want = sw_asprintf("chunk %s at offset %u failed its checksum", hex, CS);
    assert_string_equal(err.msg, want);
    char bad[256] = "";
    struct sw_bk_scrub_stats ss;
    assert_int_equal(sw_bk_scrub(f->t, f->key, ACCT, on_bad, bad, &ss, &err), 0);
    assert_int_equal(ss.bad, 1);
    assert_int_equal(ss.chunks_checked, 3);
    assert_non_null(strstr(bad, hex));

    unsigned char wrong[SW_BK_KEY_BYTES];
    randombytes_buf(wrong, sizeof wrong);
    sw_err_clear(&err);
    assert_null(sw_bk_manifest_load(f->t, wrong, ACCT, FULL, &err));
    assert_int_equal(err.code, SW_EUNAUTHENTICATED);
    sw_err_clear(&err);
    assert_int_equal(sw_bk_restore(f->t, wrong, m, into, out, &err), -1);
    assert_int_equal(err.code, SW_EUNAUTHENTICATED);
    /* gc with a wrong key deletes nothing */
    struct sw_bk_gc_stats gs;
    assert_int_equal(sw_bk_gc(f->t, wrong, ACCT, &gs, &err), -1);
    assert_int_equal(chunks_of(f, ACCT), 3);
    sw_bk_manifest_free(m);
    free(out);
}

static void test_bad_puts(void **state)
{
    struct fixture *f = *state;
    struct sw_err err = {0};
    assert_null(sw_bk_writer_new(f->t, f->key, "acct", SRV, FULL, NULL, DISK, &err));
    struct sw_bk_writer *w = sw_bk_writer_new(f->t, f->key, ACCT, SRV, FULL, NULL, DISK, &err);
    assert_int_equal(sw_bk_writer_put(w, 512, f->disk, CS, &err), -1);
    assert_int_equal(sw_bk_writer_put(w, 0, f->disk, CS - 1, &err), -1);
    assert_int_equal(sw_bk_writer_put(w, 5 * (uint64_t)CS, f->disk, CS, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    sw_bk_writer_free(w); /* unfinished: no manifest */
    char **ids = NULL;
    size_t n = 9;
    assert_int_equal(sw_bk_list_backups(f->t, ACCT, &ids, &n, &err), 0);
    assert_int_equal(n, 0);
    free(ids);
    static const char *bad_targets[] = {
        "{\"kind\": \"tape\"}",
        "[]",
        "{\"kind\": \"dir\", \"path\": \"relative/repo\"}",
        "{\"kind\": \"dir\"}",
        "{\"kind\": \"s3\", \"endpoint\": \"ftp://x\", \"bucket\": \"b\", \"region\": \"r\", "
        "\"access_key\": \"a\", \"secret_key\": \"s\"}",
        "{\"kind\": \"s3\", \"endpoint\": \"http://x\", \"bucket\": \"b\", \"region\": \"r\", "
        "\"access_key\": \"a\", \"secret_key\": \"s\", \"prefix\": \"../other\"}",
        "{\"kind\": \"s3\", \"endpoint\": \"http://x\", \"bucket\": \"b\", \"region\": \"r\", "
        "\"access_key\": \"a\"}",
        "{\"kind\": \"sftp\", \"url\": \"sftp://h/~/repo\", \"user\": \"u\", "
        "\"private_key_file\": \"/k\"}",
        "{\"kind\": \"sftp\", \"url\": \"sftp://h/a b\", \"user\": \"u\", "
        "\"private_key_file\": \"/k\"}",
        "{\"kind\": \"sftp\", \"url\": \"http://h/repo\", \"user\": \"u\", "
        "\"private_key_file\": \"/k\"}",
    };
    for (size_t i = 0; i < sizeof bad_targets / sizeof bad_targets[0]; i++) {
        json_t *conf = json_loads(bad_targets[i], 0, NULL);
        assert_non_null(conf);
        sw_err_clear(&err);
        struct sw_bk_target *t = sw_bk_target_open(conf, &err);
        if (t)
            fail_msg("target accepted: %s", bad_targets[i]);
        assert_int_equal(err.code, SW_EINVALID);
        json_decref(conf);
    }
    const char *good = "{\"kind\": \"sftp\", \"url\": \"sftp://h:2222/srv/bk\", \"user\": \"u\", "
                       "\"private_key_file\": \"/k\"}";
    json_t *conf = json_loads(good, 0, NULL);
    struct sw_bk_target *t = sw_bk_target_open(conf, &err);
    assert_non_null(t);
    sw_bk_target_free(t);
    json_decref(conf);
    assert_int_equal(sw_bk_target_put(f->t, "../escape", "x", 1, &err), -1);
    assert_int_equal(sw_bk_target_put(f->t, "/abs", "x", 1, &err), -1);
}

/* Retention on the target: one backup a day for 5 days, keep-last 1 and
 * keep-daily 2 keep the 2 newest; another server's backup is untouched;
 * an incremental whose parent was pruned still restores. */
static void test_retain(void **state)
{
    struct fixture *f = *state;
    struct sw_err err = {0};
    static const char *ids[] = {
        "a0000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000002",
        "a0000000-0000-4000-8000-000000000003", "a0000000-0000-4000-8000-000000000004",
        "a0000000-0000-4000-8000-000000000005"};
    struct sw_bk_manifest *parent = NULL;
    for (size_t i = 0; i < 5; i++) {
        struct sw_bk_writer *w =
            sw_bk_writer_new(f->t, f->key, ACCT, SRV, ids[i], parent, DISK, &err);
        assert_non_null(w);
        f->disk[i] ^= 1;
        assert_int_equal(sw_bk_writer_put(w, 0, f->disk, CS, &err), 0);
        sw_bk_writer_set_created(w, 1796601600 + (time_t)i * 86400);
        sw_bk_manifest_free(parent);
        parent = NULL;
        assert_int_equal(sw_bk_writer_finish(w, &parent, &err), 0);
        sw_bk_writer_free(w);
    }
    sw_bk_manifest_free(parent);
    struct sw_bk_writer *w = sw_bk_writer_new(f->t, f->key, ACCT, "66666666-6666-4666-8666-666666666666",
                                              FULL, NULL, DISK, &err);
    assert_int_equal(sw_bk_writer_finish(w, NULL, &err), 0);
    sw_bk_writer_free(w);
    struct sw_bk_policy p = {.keep_last = 1, .keep_daily = 1};
    size_t kept = 0, deleted = 0;
    assert_int_equal(sw_bk_retain(f->t, f->key, ACCT, SRV, &p, &kept, &deleted, &err), 0);
    assert_int_equal(kept, 2);
    assert_int_equal(deleted, 3);
    char **left = NULL;
    size_t n = 0;
    assert_int_equal(sw_bk_list_backups(f->t, ACCT, &left, &n, &err), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_true(strcmp(left[i], ids[3]) == 0 || strcmp(left[i], ids[4]) == 0 ||
                    strcmp(left[i], FULL) == 0);
        free(left[i]);
    }
    free(left);
    struct sw_bk_gc_stats gs;
    assert_int_equal(sw_bk_gc(f->t, f->key, ACCT, &gs, &err), 0);
    unsigned char *out = sw_malloc(DISK);
    struct sw_bk_manifest *m = sw_bk_manifest_load(f->t, f->key, ACCT, ids[4], &err);
    assert_non_null(m);
    assert_int_equal(sw_bk_restore(f->t, f->key, m, into, out, &err), 0);
    assert_memory_equal(out, f->disk, CS); /* the one chunk these backups put */
    assert_true(sw_bk_is_zero(out + CS, DISK - CS));
    sw_bk_manifest_free(m);
    free(out);
}

/* A torn chunk on the target (a store that is not atomic) is not taken
 * for the chunk: the next backup of the same data writes it again. */
static void test_torn_chunk(void **state)
{
    struct fixture *f = *state;
    struct sw_err err = {0};
    struct sw_bk_manifest *m = backup(f, ACCT, FULL, NULL, -1);
    SW_AUTOFREE char *path = chunk_path(f, m, 1);
    assert_int_equal(truncate(path, 1000), 0);
    sw_bk_manifest_free(m);
    m = backup(f, ACCT, INCR, NULL, -1);
    assert_true(m->stored_new_bytes > (uint64_t)CS && m->stored_new_bytes < 2 * (uint64_t)CS);
    sw_bk_manifest_free(m);
    unsigned char *out = sw_malloc(DISK);
    assert_int_equal(restore(f, INCR, out, &err), 0);
    assert_memory_equal(out, f->disk, DISK);
    free(out);
}

/* Files under chunks/ that are no chunk name are left alone by gc. */
static void test_gc_strays(void **state)
{
    struct fixture *f = *state;
    struct sw_err err = {0};
    assert_int_equal(sw_bk_target_put(f->t, ACCT "/chunks/x", "hi", 2, &err), 0);
    assert_int_equal(sw_bk_target_put(f->t, ACCT "/chunks/ab/notanid", "hi", 2, &err), 0);
    sw_bk_manifest_free(backup(f, ACCT, FULL, NULL, -1));
    SW_AUTOFREE char *name = sw_bk_manifest_key(ACCT, FULL);
    assert_int_equal(sw_bk_target_delete(f->t, name, &err), 0);
    struct sw_bk_gc_stats gs;
    assert_int_equal(sw_bk_gc(f->t, f->key, ACCT, &gs, &err), 0);
    assert_int_equal(gs.chunks_deleted, 3);
    assert_int_equal(chunks_of(f, ACCT), 2);
}

int main(void)
{
    if (sw_crypto_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_incremental_gc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_and_wrong_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_puts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gc_strays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_chunk, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
