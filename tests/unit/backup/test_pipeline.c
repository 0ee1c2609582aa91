/* The writer's pipeline (backup/pipeline.c): chunks stored in put order
 * whatever order the workers finish in, the first failure answered by a
 * later put or the drain and nothing stored after it, an unfinished
 * pipeline freed with its threads; and the writer with 4 workers makes
 * the same manifest as with 0 (the sequential writer). */
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
#include <time.h>
#include <unistd.h>

#include "backup/pipeline.h"
#include "backup/repo.h"
#include "core/alloc.h"
#include "core/err.h"

#define CS SW_BK_CHUNK_SIZE
#define N 40

/* What the callbacks saw. seal sleeps a pseudo-random while so that the
 * workers finish out of order; store records the order it got. */
struct seen {
    uint64_t stored[N];
    size_t nstored;
    size_t fail_at; /* store of this chunk index fails (N: never) */
    int bad_data;   /* a slot whose bytes were not the chunk put */
};

static int seal_cb(void *ctx, struct sw_bk_slot *s, struct sw_err *err)
{
    (void)ctx;
    (void)err;
    uint64_t k = s->offset / CS;
    struct timespec ts = {0, (long)((k * 7919) % 5) * 1000000L};
    nanosleep(&ts, NULL);
    s->zero = false;
    s->blob = s->data;
    s->blob_len = s->len;
    return 0;
}

static int store_cb(void *ctx, struct sw_bk_slot *s, struct sw_err *err)
{
    struct seen *v = ctx;
    uint64_t k = s->offset / CS;
    if (s->len != 64 || s->data[0] != (unsigned char)k || s->data[63] != (unsigned char)k ||
        s->blob != s->data) /* not sealed yet */
        v->bad_data++;
    s->blob = NULL;
    if (k == v->fail_at) {
        SW_ERR(err, SW_EUNAVAILABLE, "store %llu failed", (unsigned long long)k);
        return -1;
    }
    v->stored[v->nstored++] = k;
    return 0;
}

static int put_k(struct sw_bk_pipe *p, uint64_t k, struct sw_err *err)
{
    unsigned char buf[64];
    memset(buf, (int)k, sizeof buf); /* reused at once: the pipeline copies */
    return sw_bk_pipe_put(p, k * CS, buf, sizeof buf, err);
}

static void test_order_kept(void **state)
{
    (void)state;
    for (unsigned workers = 0; workers <= 4; workers += 4) {
        struct seen v = {.fail_at = N};
        struct sw_err err = {0};
        struct sw_bk_pipe *p = sw_bk_pipe_new(workers, seal_cb, store_cb, &v);
        for (uint64_t k = 0; k < N; k++)
            assert_int_equal(put_k(p, k, &err), 0);
        assert_int_equal(sw_bk_pipe_drain(p, &err), 0);
        sw_bk_pipe_free(p);
        assert_int_equal(v.nstored, N);
        assert_int_equal(v.bad_data, 0);
        for (uint64_t k = 0; k < N; k++)
            assert_int_equal(v.stored[k], k);
    }
}

static void test_first_failure(void **state)
{
    (void)state;
    struct seen v = {.fail_at = 9};
    struct sw_err err = {0};
    struct sw_bk_pipe *p = sw_bk_pipe_new(3, seal_cb, store_cb, &v);
    int rc = 0;
    for (uint64_t k = 0; k < N && rc == 0; k++)
        rc = put_k(p, k, &err);
    if (rc == 0)
        rc = sw_bk_pipe_drain(p, &err);
    assert_int_equal(rc, -1);
    assert_int_equal(err.code, SW_EUNAVAILABLE);
    assert_string_equal(err.msg, "store 9 failed");
    assert_int_equal(sw_bk_pipe_drain(p, &err), -1);
    sw_bk_pipe_free(p);
    assert_int_equal(v.nstored, 9); /* 0..8, nothing after the failure */
}

static void test_free_unfinished(void **state)
{
    (void)state;
    struct seen v = {.fail_at = N};
    struct sw_err err = {0};
    struct sw_bk_pipe *p = sw_bk_pipe_new(2, seal_cb, store_cb, &v);
    for (uint64_t k = 0; k < 6; k++)
        assert_int_equal(put_k(p, k, &err), 0);
    sw_bk_pipe_free(p); /* no drain: threads stopped, slots freed */
    assert_true(v.nstored <= 6);
}

/* The writer over a dir target: the same manifest with 4 workers as with
 * 0, on chunks of random, repeated, zero and text data. */
static struct sw_bk_manifest *write_disk(const char *dir, const unsigned char *key,
                                         const unsigned char *disk, uint64_t size,
                                         const char *id, unsigned workers)
{
    json_t *conf = json_pack("{s:s, s:s}", "kind", "dir", "path", dir);
    struct sw_err err = {0};
    struct sw_bk_target *t = sw_bk_target_open(conf, &err);
    json_decref(conf);
    assert_non_null(t);
    struct sw_bk_writer *w =
        sw_bk_writer_new(t, key, "11111111-1111-4111-8111-111111111111",
                         "22222222-2222-4222-8222-222222222222", id, NULL, size, &err);
    assert_non_null(w);
    sw_bk_writer_set_workers(w, workers);
    for (uint64_t off = 0; off < size; off += CS)
        assert_int_equal(
            sw_bk_writer_put(w, off, disk + off, size - off < CS ? size - off : CS, &err), 0);
    struct sw_bk_manifest *m = NULL;
    assert_int_equal(sw_bk_writer_finish(w, &m, &err), 0);
    sw_bk_writer_free(w);
    sw_bk_target_free(t);
    return m;
}

static void test_writer_same_manifest(void **state)
{
    (void)state;
    char dir[] = "/tmp/swbkp.XXXXXX";
    assert_non_null(mkdtemp(dir));
    unsigned char key[SW_BK_KEY_BYTES];
    randombytes_buf(key, sizeof key);
    uint64_t size = 12 * (uint64_t)CS + 4096;
    unsigned char *disk = sw_calloc(1, size);
    for (size_t c = 0; c < 12; c++) {
        unsigned char *p = disk + c * CS;
        if (c % 4 == 0)
            randombytes_buf(p, CS);
        else if (c % 4 == 1)
            for (size_t i = 0; i < CS; i++)
                p[i] = (unsigned char)("slipway backup text "[i % 20] + c);
        else if (c % 4 == 2)
            memcpy(p, disk, CS); /* chunk 0 again: one stored copy */
    }
    randombytes_buf(disk + 12 * (size_t)CS, 4096);
    struct sw_bk_manifest *a =
        write_disk(dir, key, disk, size, "33333333-3333-4333-8333-333333333333", 0);
    struct sw_bk_manifest *b =
        write_disk(dir, key, disk, size, "44444444-4444-4444-8444-444444444444", 4);
    assert_int_equal(a->nchunks, b->nchunks);
    assert_memory_equal(a->ids, b->ids, a->nchunks * sizeof *a->ids);
    assert_memory_equal(a->zero, b->zero, a->nchunks * sizeof *a->zero);
    assert_int_equal(a->read_bytes, size);
    assert_int_equal(b->read_bytes, size);
    assert_true(a->stored_new_bytes > 0);
    assert_int_equal(b->stored_new_bytes, 0); /* every chunk was already there */
    for (size_t c = 3; c < 12; c += 4)
        assert_true(b->zero[c]);
    sw_bk_manifest_free(a);
    sw_bk_manifest_free(b);
    free(disk);
    SW_AUTOFREE char *cmd = sw_asprintf("rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_kept),
        cmocka_unit_test(test_first_failure),
        cmocka_unit_test(test_free_unfinished),
        cmocka_unit_test(test_writer_same_manifest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
