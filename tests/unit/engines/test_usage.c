/* Tests of engines/usage.c: the pure period/delta rules, then reading real
 * counters from libvirt's test driver. */
#include "config.h"
#include "engines/driver.h"
#include "engines/storage.h"
#include "engines/usage.h"
#include "tests/unit/engines/testnode.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/msg.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODE "00000000-0000-4000-8000-00000000000a"
#define S1 "c0000000-0000-4000-8000-000000000001"
#define S2 "c0000000-0000-4000-8000-000000000002"
#define T0 1700000040 /* a multiple of 60 */

static struct sw_usage_reading reading(const char *id, uint64_t cpu, uint64_t net, uint64_t disk)
{
    struct sw_usage_reading r;
    memset(&r, 0, sizeof r);
    snprintf(r.server_id, sizeof r.server_id, "%s", id);
    r.c.cpu_ns = cpu;
    r.c.net_rx_bytes = net;
    r.c.net_tx_bytes = net / 2;
    r.c.disk_rd_bytes = disk;
    r.c.disk_wr_bytes = disk / 2;
    r.c.have_net = r.c.have_disk = true;
    r.c.mem_kib = 1048576;
    r.c.mem_max_kib = 2097152;
    return r;
}

/* One step with one reading; asserts one sample and returns it. */
static struct sw_msg_usage step1(struct sw_usage *u, struct sw_usage_reading r, int64_t ts)
{
    struct sw_msg_usage *m;
    assert_int_equal(sw_usage_step(u, &r, 1, ts, &m), 1);
    struct sw_msg_usage out = m[0];
    free(m);
    return out;
}

static void test_period_end(void **state)
{
    (void)state;
    assert_int_equal(sw_usage_period_end(T0, 60), T0);
    assert_int_equal(sw_usage_period_end(T0 + 59, 60), T0);
    assert_int_equal(sw_usage_period_end(T0 + 60, 60), T0 + 60);
    assert_int_equal(sw_usage_period_end(1000, 7), 994);
}

static void test_baseline_then_deltas(void **state)
{
    (void)state;
    struct sw_usage *u = sw_usage_new(NODE, 60);
    struct sw_msg_usage m = step1(u, reading(S1, 5000, 800, 4000), T0);
    /* first sight: a baseline, counters 0, gauges real */
    assert_string_equal(m.sample_id, S1 ":1700000040");
    assert_string_equal(m.server_id, S1);
    assert_string_equal(m.node_id, NODE);
    assert_int_equal(m.ts, T0);
    assert_int_equal(m.period_s, 60);
    assert_int_equal(m.cpu_ns, 0);
    assert_int_equal(m.net_rx_bytes, 0);
    assert_int_equal(m.disk_rd_bytes, 0);
    assert_int_equal(m.mem_mb, 1024);
    assert_int_equal(m.mem_max_mb, 2048);

    m = step1(u, reading(S1, 7000, 1000, 4100), T0 + 60);
    assert_int_equal(m.period_s, 60);
    assert_int_equal(m.cpu_ns, 2000);
    assert_int_equal(m.net_rx_bytes, 200);
    assert_int_equal(m.net_tx_bytes, 100);
    assert_int_equal(m.disk_rd_bytes, 100);
    assert_int_equal(m.disk_wr_bytes, 50);

    /* a missed tick: the period covers the gap */
    m = step1(u, reading(S1, 9000, 1000, 4100), T0 + 180);
    assert_int_equal(m.period_s, 120);
    assert_int_equal(m.cpu_ns, 2000);

    /* counters went down: the domain restarted; all of it is new */
    m = step1(u, reading(S1, 300, 10, 20), T0 + 240);
    assert_int_equal(m.cpu_ns, 300);
    assert_int_equal(m.net_rx_bytes, 10);
    assert_int_equal(m.disk_rd_bytes, 20);

    /* the encoded sample passes the strict decoder */
    char *s = sw_msg_usage_encode(&m);
    struct sw_msg_usage back;
    struct sw_err err;
    assert_int_equal(sw_msg_usage_decode(s, &back, &err), 0);
    assert_string_equal(back.sample_id, m.sample_id);
    free(s);
    sw_usage_free(u);
}

static void test_unread_counters_kept(void **state)
{
    (void)state;
    struct sw_usage *u = sw_usage_new(NODE, 60);
    step1(u, reading(S1, 0, 1000, 1000), T0);
    struct sw_usage_reading r = reading(S1, 0, 0, 0);
    r.c.have_net = false; /* the read failed: 0 now, not a reset */
    struct sw_msg_usage m = step1(u, r, T0 + 60);
    assert_int_equal(m.net_rx_bytes, 0);
    assert_int_equal(m.disk_rd_bytes, 0); /* 0 < 1000: a reset, counted from zero: 0 */
    m = step1(u, reading(S1, 0, 1500, 100), T0 + 120);
    assert_int_equal(m.net_rx_bytes, 500); /* the difference over both periods */
    assert_int_equal(m.disk_rd_bytes, 100);
    sw_usage_free(u);
}

static void test_booted_seed(void **state)
{
    (void)state;
    struct sw_usage *u = sw_usage_new(NODE, 60);
    struct sw_usage_reading at_boot = reading(S1, 1000000, 50, 60);
    sw_usage_booted(u, &at_boot, T0 + 45);
    struct sw_msg_usage m = step1(u, reading(S1, 1000700, 80, 90), T0 + 60);
    assert_int_equal(m.period_s, 15); /* [boot, ts) */
    assert_int_equal(m.cpu_ns, 700);
    assert_int_equal(m.net_rx_bytes, 30);
    assert_int_equal(m.disk_rd_bytes, 30);

    /* booted at or after the period end: nothing yet, the seed is kept */
    sw_usage_booted(u, &at_boot, T0 + 120);
    struct sw_usage_reading r = reading(S1, 1000100, 50, 60);
    struct sw_msg_usage *ms;
    assert_int_equal(sw_usage_step(u, &r, 1, T0 + 120, &ms), 0);
    assert_null(ms);
    m = step1(u, reading(S1, 1000400, 50, 60), T0 + 180);
    assert_int_equal(m.period_s, 60);
    assert_int_equal(m.cpu_ns, 400);
    sw_usage_free(u);
}

/* A domain not running at a tick is forgotten: its stopped time is never billed. */
static void test_stopped_forgotten(void **state)
{
    (void)state;
    struct sw_usage *u = sw_usage_new(NODE, 60);
    struct sw_usage_reading both[2] = {reading(S1, 100, 0, 0), reading(S2, 100, 0, 0)};
    struct sw_msg_usage *m;
    assert_int_equal(sw_usage_step(u, both, 2, T0, &m), 2);
    free(m);
    both[0].c.cpu_ns = 200;
    assert_int_equal(sw_usage_step(u, both, 1, T0 + 60, &m), 1); /* S2 stopped */
    assert_string_equal(m[0].server_id, S1);
    free(m);
    assert_int_equal(sw_usage_step(u, NULL, 0, T0 + 120, &m), 0);
    assert_null(m);
    /* back days later: a baseline again, not a period over the stop */
    struct sw_msg_usage s = step1(u, reading(S2, 999999, 0, 0), T0 + 86400 * 3);
    assert_int_equal(s.period_s, 60);
    assert_int_equal(s.cpu_ns, 0);
    sw_usage_free(u);
}

/* Real counters from the test driver: only sw-* domains, memory non-zero,
 * and samples flow even where cpuTime is synthetic. */
static void test_read_test_driver(void **state)
{
    (void)state;
    struct sw_testnode t;
    if (sw_testnode_open(&t) < 0)
        fail_msg("could not open the test node");
    struct sw_msg_node_job job;
    sw_testnode_job(&job, SW_KIND_HVM, SW_JOB_CREATE, S1);
    struct sw_engine_outcome out;
    struct sw_err err;
    sw_err_clear(&err);
    if (sw_engine_run(&t.eng, &job, &out, &err) != 0)
        fail_msg("create: %s (%s)", err.msg, err.detail);
    sw_testnode_job(&job, SW_KIND_CONTAINER, SW_JOB_CREATE, S2);
    assert_int_equal(sw_engine_run(&t.eng, &job, &out, &err), 0);
    /* someone else's domain on the node is not ours to bill */
    virDomainPtr other = virDomainCreateXML(
        t.conn,
        "<domain type='test'><name>not-slipway</name><memory>65536</memory>"
        "<os><type>hvm</type></os></domain>",
        0);
    assert_non_null(other);

    struct sw_usage_reading *r;
    size_t n;
    assert_int_equal(sw_usage_read_all(t.conn, &r, &n, &err), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_true(strcmp(r[i].server_id, S1) == 0 || strcmp(r[i].server_id, S2) == 0);
        assert_true(r[i].c.mem_kib > 0);
        assert_true(r[i].c.mem_max_kib >= r[i].c.mem_kib);
        assert_true(r[i].c.have_net);
        assert_true(r[i].c.have_disk);
        if (strcmp(r[i].server_id, S1) == 0) {
            assert_int_equal(r[i].c.mem_kib, 1024 * 1024); /* hvm boots at its guarantee */
            assert_int_equal(r[i].c.mem_max_kib, 2048 * 1024);
        }
    }
    struct sw_usage *u = sw_usage_new(NODE, 60);
    struct sw_msg_usage *m;
    assert_int_equal(sw_usage_step(u, r, n, T0, &m), 2);
    for (size_t i = 0; i < 2; i++) {
        assert_true(m[i].mem_mb > 0);
        assert_true(m[i].mem_max_mb > 0);
        char *s = sw_msg_usage_encode(&m[i]);
        struct sw_msg_usage back;
        assert_int_equal(sw_msg_usage_decode(s, &back, &err), 0);
        free(s);
    }
    free(m);
    free(r);
    sw_usage_free(u);
    virDomainDestroy(other);
    virDomainFree(other);
    sw_testnode_close(&t);
}

/* A volume of allocation bytes in the node's default pool, made by hand. */
static void volume(struct sw_testnode *t, const char *name, long long alloc)
{
    struct sw_err err;
    sw_err_clear(&err);
    size_t np;
    virStoragePoolPtr pool = sw_storage_pool_open(&t->eng, sw_storage_pools(&t->eng, &np), &err);
    assert_non_null(pool);
    char xml[512];
    snprintf(xml, sizeof xml,
             "<volume><name>%s</name><capacity unit='bytes'>%lld</capacity>"
             "<allocation unit='bytes'>%lld</allocation></volume>",
             name, alloc * 2, alloc);
    virStorageVolPtr vol = virStorageVolCreateXML(pool, xml, 0);
    assert_non_null(vol);
    virStorageVolFree(vol);
    virStoragePoolFree(pool);
}

/* disk_bytes: the allocation of each running server's own volumes, every
 * "sw-<id>-*" added up; another server's, an orphan's or a short name
 * counts for nobody; the sample carries it. */
static void test_read_disks(void **state)
{
    (void)state;
    struct sw_testnode t;
    if (sw_testnode_open(&t) < 0)
        fail_msg("could not open the test node");
    struct sw_msg_node_job job;
    struct sw_engine_outcome out;
    struct sw_err err;
    sw_err_clear(&err);
    sw_testnode_job(&job, SW_KIND_HVM, SW_JOB_CREATE, S1);
    /* a thin root (0 bytes) and its NoCloud seed (1 MiB) each */
    assert_int_equal(sw_engine_run(&t.eng, &job, &out, &err), 0);
    sw_testnode_job(&job, SW_KIND_PV, SW_JOB_CREATE, S2);
    assert_int_equal(sw_engine_run(&t.eng, &job, &out, &err), 0);
    volume(&t, "sw-" S1 "-data.raw", 3LL << 30);
    volume(&t, "sw-" S2 "-data.raw", 5LL << 30);
    volume(&t, "sw-c0000000-0000-4000-8000-000000000009-root-0", 7LL << 30); /* not running */
    volume(&t, "sw-" S1, 11LL << 30); /* no "-" after the id: not the server's */

    struct sw_usage_reading *r;
    size_t n;
    assert_int_equal(sw_usage_read_all(t.conn, &r, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(sw_usage_read_disks(&t.eng, r, n, &err), 0);
    assert_string_equal(r[0].server_id, S1); /* sorted by id */
    assert_int_equal(r[0].c.disk_bytes, (3LL << 30) + (1LL << 20));
    assert_string_equal(r[1].server_id, S2);
    assert_int_equal(r[1].c.disk_bytes, (5LL << 30) + (1LL << 20));

    struct sw_usage *u = sw_usage_new(NODE, 60);
    struct sw_msg_usage *m;
    assert_int_equal(sw_usage_step(u, r, n, T0, &m), 2);
    assert_int_equal(m[0].disk_bytes, (3LL << 30) + (1LL << 20)); /* a gauge, from the baseline on */
    free(m);
    assert_int_equal(sw_usage_step(u, r, n, T0 + 60, &m), 2);
    assert_int_equal(m[1].disk_bytes, (5LL << 30) + (1LL << 20));
    char *text = sw_msg_usage_encode(&m[1]);
    struct sw_msg_usage back;
    assert_int_equal(sw_msg_usage_decode(text, &back, &err), 0);
    assert_int_equal(back.disk_bytes, (5LL << 30) + (1LL << 20));
    free(text);
    free(m);
    free(r);
    sw_usage_free(u);
    sw_testnode_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_period_end),
        cmocka_unit_test(test_baseline_then_deltas),
        cmocka_unit_test(test_unread_counters_kept),
        cmocka_unit_test(test_booted_seed),
        cmocka_unit_test(test_stopped_forgotten),
        cmocka_unit_test(test_read_test_driver),
        cmocka_unit_test(test_read_disks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
