/* test_bkread.c - engines/bkread.c and bkwrite.c: the chunk arithmetic and
 * names (pure), and on libvirt's test driver, which has neither the backup
 * API nor volume data, that the reader and the restore writer answer
 * unsupported naming what is missing and leave no scratch volume behind
 * (never a pretend success), and that an unknown parent checkpoint is
 * not_found (the caller then reads full). Real reads: tests/integration/bkread_real.sh. */
#include "config.h"
#include "engines/bkread.h"
#include "engines/bkwrite.h"
#include "engines/driver.h"
#include "core/enums.h"
#include "core/err.h"
#include "tests/unit/engines/testnode.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define CH SW_BKREAD_CHUNK
#define SERVER "5e1f0c1e-0000-4000-8000-0000000000b1"
#define BACKUP "b0000000-0000-4000-8000-000000000001"

static void test_chunks_round_out(void **state)
{
    (void)state;
    struct sw_bkread_chunks c;
    sw_bkread_chunks_init(&c, 10ull * CH + 100); /* 11 chunks, the last 100 bytes */
    assert_int_equal(c.n, 11);
    assert_int_equal(sw_bkread_chunk_len(&c, 0), CH);
    assert_int_equal(sw_bkread_chunk_len(&c, 10), 100);
    assert_int_equal(sw_bkread_chunk_len(&c, 11), 0);
    sw_bkread_chunks_mark(&c, 0, 0); /* nothing */
    assert_int_equal(sw_bkread_chunks_bytes(&c), 0);
    sw_bkread_chunks_mark(&c, CH - 1, 2); /* one byte each side of a boundary: 0 and 1 */
    assert_true(sw_bkread_chunks_has(&c, 0) && sw_bkread_chunks_has(&c, 1));
    assert_false(sw_bkread_chunks_has(&c, 2));
    sw_bkread_chunks_mark(&c, 3ull * CH, CH); /* exactly chunk 3 */
    assert_true(sw_bkread_chunks_has(&c, 3));
    assert_false(sw_bkread_chunks_has(&c, 4));
    sw_bkread_chunks_mark(&c, 10ull * CH + 99, 1ull << 40); /* clipped to the disk */
    assert_true(sw_bkread_chunks_has(&c, 10));
    assert_false(sw_bkread_chunks_has(&c, 11));
    sw_bkread_chunks_mark(&c, 20ull * CH, 5); /* past the end: nothing */
    assert_int_equal(sw_bkread_chunks_bytes(&c), 3ull * CH + 100);
    sw_bkread_chunks_release(&c);
}

static void test_names(void **state)
{
    (void)state;
    char n[128];
    assert_int_equal(sw_bkread_checkpoint_name(SERVER, BACKUP, n, sizeof n), 0);
    assert_string_equal(n, "sw-" SERVER "-ckp-" BACKUP);
    assert_true(sw_bkread_is_checkpoint(SERVER, n));
    assert_false(sw_bkread_is_scratch(SERVER, n));
    assert_int_equal(sw_bkread_scratch_name(SERVER, BACKUP, "qcow2", n, sizeof n), 0);
    assert_string_equal(n, "sw-" SERVER "-bk-" BACKUP ".qcow2");
    assert_true(sw_bkread_is_scratch(SERVER, n));
    assert_false(sw_bkread_is_checkpoint(SERVER, n));
    /* another server's, a root, a malformed id, too small a buffer */
    assert_false(sw_bkread_is_scratch("5e1f0c1e-0000-4000-8000-0000000000b2", n));
    assert_false(sw_bkread_is_scratch(SERVER, "sw-" SERVER "-root-0.qcow2"));
    assert_false(sw_bkread_is_checkpoint(SERVER, "sw-" SERVER "-ckp-not-a-uuid"));
    assert_false(sw_bkread_is_scratch(SERVER, "sw-" SERVER "-bk-" BACKUP "."));
    assert_int_equal(sw_bkread_checkpoint_name(SERVER, "B0000000-0000-4000-8000-000000000001", n,
                                               sizeof n),
                     -1);
    assert_int_equal(sw_bkread_checkpoint_name(SERVER, BACKUP, n, 40), -1);
}

static int emitted;
static int count_emit(void *ctx, uint64_t off, const void *data, size_t len, struct sw_err *err)
{
    (void)ctx, (void)off, (void)data, (void)len, (void)err;
    emitted++;
    return 0;
}

static int run_job(struct sw_testnode *t, int type)
{
    struct sw_msg_node_job job;
    struct sw_engine_outcome out;
    struct sw_err err;
    sw_err_clear(&err);
    memset(&out, 0, sizeof out);
    sw_testnode_job(&job, SW_KIND_HVM, type, SERVER);
    return sw_engine_run(&t->eng, &job, &out, &err);
}

static int volumes_named(struct sw_testnode *t, const char *needle)
{
    virStoragePoolPtr p = virStoragePoolLookupByName(t->conn, "slipway");
    char *names[64];
    int n = p ? virStoragePoolListVolumes(p, names, 64) : 0, hits = 0;
    for (int i = 0; i < n; i++) {
        hits += strstr(names[i], needle) != NULL;
        free(names[i]);
    }
    if (p)
        virStoragePoolFree(p);
    return hits;
}

static void read_expect(struct sw_testnode *t, const char *parent, enum sw_errc code,
                        const char *words)
{
    struct sw_bkread_req req = {.server_id = SERVER, .backup_id = BACKUP,
                                .parent_checkpoint = parent, .sock_dir = t->dir,
                                .emit = count_emit};
    struct sw_bkread_result res;
    struct sw_err err;
    sw_err_clear(&err);
    emitted = 0;
    assert_int_equal(sw_bkread_run(&t->eng, &req, &res, &err), -1);
    if (err.code != code || !strstr(err.msg, words))
        fail_msg("%s: %s (%s)", sw_errc_name(err.code), err.msg, err.detail);
    assert_int_equal(emitted, 0);
    assert_int_equal(volumes_named(t, "-bk-"), 0); /* no scratch left */
}

static void test_test_driver(void **state)
{
    struct sw_testnode *t = *state;
    assert_int_equal(run_job(t, SW_JOB_CREATE), 0);
    read_expect(t, NULL, SW_EUNSUPPORTED, "virDomainBackupBegin");
    /* the test driver keeps checkpoints: an unknown parent is said so */
    read_expect(t, "sw-" SERVER "-ckp-" BACKUP, SW_ENOTFOUND, "parent checkpoint is gone");
    assert_int_equal(run_job(t, SW_JOB_STOP), 0);
    read_expect(t, NULL, SW_EUNSUPPORTED, "virStorageVolDownload");
    /* cleanup has nothing to do there, and says so */
    char note[160];
    struct sw_err err;
    sw_err_clear(&err);
    assert_int_equal(sw_bkread_cleanup(&t->eng, SERVER, NULL, note, sizeof note, &err), 0);
    assert_string_equal(note, "backup job none; 0 checkpoint(s) and 0 scratch volume(s) deleted");
}

/* A running guest read by a paused clone (containers): the test driver
 * clones but cannot download; the guest runs again afterwards and no
 * scratch is left. */
static void test_pause_clone(void **state)
{
    struct sw_testnode *t = *state;
    assert_int_equal(run_job(t, SW_JOB_CREATE), 0);
    struct sw_bkread_req req = {.server_id = SERVER, .backup_id = BACKUP, .sock_dir = t->dir,
                                .emit = count_emit, .pause_clone = true};
    struct sw_bkread_result res;
    struct sw_err err;
    sw_err_clear(&err);
    assert_int_equal(sw_bkread_run(&t->eng, &req, &res, &err), -1);
    if (err.code != SW_EUNSUPPORTED || !strstr(err.msg, "virStorageVolDownload"))
        fail_msg("%s: %s (%s)", sw_errc_name(err.code), err.msg, err.detail);
    assert_true(res.paused_ms >= 0);
    assert_int_equal(volumes_named(t, "-bk-"), 0);
    virDomainPtr dom = virDomainLookupByUUIDString(t->conn, SERVER);
    int st = VIR_DOMAIN_NOSTATE;
    assert_non_null(dom);
    assert_int_equal(virDomainGetState(dom, &st, NULL, 0), 0);
    assert_int_equal(st, VIR_DOMAIN_RUNNING); /* resumed after the clone */
    /* one suspended stays suspended, and is not counted as paused by the read */
    assert_int_equal(run_job(t, SW_JOB_SUSPEND), 0);
    assert_int_equal(sw_bkread_run(&t->eng, &req, &res, &err), -1);
    assert_int_equal(res.paused_ms, -1);
    assert_int_equal(virDomainGetState(dom, &st, NULL, 0), 0);
    assert_int_equal(st, VIR_DOMAIN_PAUSED);
    virDomainFree(dom);
}

static void test_writer_unsupported(void **state)
{
    struct sw_testnode *t = *state;
    assert_int_equal(run_job(t, SW_JOB_CREATE), 0); /* makes the pool */
    struct sw_bkwrite_req req = {SERVER, BACKUP, "slipway", "sw-" SERVER "-root-r1.qcow2", 8ull * CH};
    struct sw_err err;
    sw_err_clear(&err);
    struct sw_bkwrite *w = sw_bkwrite_open(&t->eng, &req, &err);
    assert_non_null(w);
    static char chunk[CH];
    assert_int_equal(sw_bkwrite_chunk(w, 0, chunk, CH, &err), 0); /* zero: not sent */
    chunk[5] = 1;
    assert_int_equal(sw_bkwrite_chunk(w, CH, chunk, CH, &err), -1);
    assert_int_equal(err.code, SW_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "virStorageVolUpload"));
    assert_int_equal(sw_bkwrite_chunk(w, 3, chunk, CH, &err), -1); /* not aligned */
    assert_int_equal(err.code, SW_EINVALID);
    sw_bkwrite_free(w);
    assert_int_equal(volumes_named(t, "-bk-"), 0);
    assert_int_equal(volumes_named(t, "-root-r1"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunks_round_out),
        cmocka_unit_test(test_names),
        SW_TESTNODE_TEST(test_test_driver),
        SW_TESTNODE_TEST(test_pause_clone),
        SW_TESTNODE_TEST(test_writer_unsupported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
