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
#define S3 "c0000000-0000-4000-8000-000000000003"
#define S4 "c0000000-0000-4000-8000-000000000004"
#define S5 "c0000000-0000-4000-8000-000000000005"
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
    r.active = true;
    return r;
}

/* What sw_usage_read_domain reads of a stopped server's domain. */
static struct sw_usage_reading stopped(const char *id)
{
    struct sw_usage_reading r;
    memset(&r, 0, sizeof r);
    snprintf(r.server_id, sizeof r.server_id, "%s", id);
    r.c.have_net = r.c.have_disk = true;
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

/* A server not sampled at a tick is forgotten: when it comes back it starts
 * over, never with a period over the gap. */
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

/* A server that stops: its next samples carry its disk for whole periods
 * and nothing else (no cpu, network or memory); started again by a job,
 * its first period runs from the boot, never over the stopped one. */
static void test_stopped_disk(void **state)
{
    (void)state;
    struct sw_usage *u = sw_usage_new(NODE, 60);
    struct sw_usage_reading r = reading(S1, 5000, 800, 4000);
    r.c.disk_bytes = 7000000000;
    step1(u, r, T0);
    struct sw_usage_reading off = stopped(S1);
    off.c.disk_bytes = 7000000000;
    struct sw_msg_usage m = step1(u, off, T0 + 60);
    assert_int_equal(m.period_s, 60);
    assert_int_equal(m.disk_bytes, 7000000000);
    assert_int_equal(m.cpu_ns, 0);
    assert_int_equal(m.net_rx_bytes + m.net_tx_bytes + m.disk_rd_bytes + m.disk_wr_bytes, 0);
    assert_int_equal(m.mem_mb + m.mem_max_mb, 0);
    m = step1(u, off, T0 + 120);
    assert_int_equal(m.period_s, 60);
    assert_int_equal(m.disk_bytes, 7000000000);
    /* first seen stopped (an engine restart): a baseline of one interval */
    struct sw_usage_reading other = stopped(S2);
    other.c.disk_bytes = 1;
    assert_int_equal(step1(u, other, T0 + 120).period_s, 60);
    /* started by a job at T0 + 150: [boot, ts), counted from its boot */
    struct sw_usage_reading at_boot = reading(S1, 100, 10, 10);
    sw_usage_booted(u, &at_boot, T0 + 150);
    r = reading(S1, 400, 30, 10);
    r.c.disk_bytes = 7000000000;
    m = step1(u, r, T0 + 180);
    assert_int_equal(m.period_s, 30);
    assert_int_equal(m.cpu_ns, 300);
    assert_int_equal(m.net_rx_bytes, 20);
    assert_int_equal(m.mem_mb, 1024);
    sw_usage_free(u);
}

/* Volume names: "sw-<id>-<rest>" is the server's; several add up into one
 * entry per server, sorted. */
static void test_disks_add(void **state)
{
    (void)state;
    struct sw_usage_disks d = {0};
    sw_usage_disks_add(&d, "sw-" S2 "-root-0.qcow2", 300);
    sw_usage_disks_add(&d, "sw-" S1 "-root-0.qcow2", 100);
    sw_usage_disks_add(&d, "sw-" S2 "-seed.iso", 20);
    sw_usage_disks_add(&d, "sw-" S1 "-data.raw", 5);
    sw_usage_disks_add(&d, "sw-" S1, 1000);           /* no "-" after the id */
    sw_usage_disks_add(&d, "xx-" S1 "-root-0", 1000); /* not slipway's */
    sw_usage_disks_add(&d, "sw-c0000000-0000-4000-8000-00000000000g-root", 1000); /* no uuid */
    sw_usage_disks_add(&d, "other-data", 1000);
    sw_usage_disks_add(&d, NULL, 1000);
    sw_usage_disks_add(&d, "sw-" S3 "-root-0", -1); /* unknown allocation: 0, still S3's */
    sw_usage_disks_finish(&d);
    assert_int_equal(d.n, 3);
    assert_string_equal(d.v[0].server_id, S1);
    assert_int_equal(d.v[0].bytes, 105);
    assert_string_equal(d.v[1].server_id, S2);
    assert_int_equal(d.v[1].bytes, 320);
    assert_string_equal(d.v[2].server_id, S3);
    assert_int_equal(d.v[2].bytes, 0);
    sw_usage_disks_release(&d);
    assert_int_equal(d.n, 0);
    sw_usage_disks_finish(&d); /* empty: nothing */
}

/* Readings and ids into a fresh array, as sw_usage_read_all returns them. */
static struct sw_usage_reading *readings(size_t n, const struct sw_usage_reading *src)
{
    struct sw_usage_reading *r = calloc(n, sizeof *r);
    memcpy(r, src, n * sizeof *r);
    return r;
}

/* Which servers a tick samples: running ones always; a stopped domain or
 * volumes without a domain only for a server the control plane places
 * here, and only when both the pools and the placements were read. */
static void test_select(void **state)
{
    (void)state;
    /* S1 runs; S2 is stopped and placed here; S3 is a stopped domain placed
     * elsewhere (a copy left behind); S4 has volumes and no domain, placed
     * here; S5 has volumes and no domain, placed elsewhere (an orphan) */
    const struct sw_usage_reading doms[] = {stopped(S3), reading(S1, 1, 1, 1), stopped(S2)};
    struct sw_usage_disks d = {0};
    const char *vols[] = {"sw-" S5 "-root-0", "sw-" S4 "-root-0", "sw-" S3 "-root-0",
                          "sw-" S2 "-root-0", "sw-" S2 "-seed",   "sw-" S1 "-root-0"};
    for (size_t i = 0; i < 6; i++)
        sw_usage_disks_add(&d, vols[i], (int64_t)(i + 1) * 1000);
    sw_usage_disks_finish(&d);
    const sw_uuid_t held[] = {S1, S2, S4}; /* sorted */

    struct sw_usage_reading *r = readings(3, doms);
    size_t n = sw_usage_select(&r, 3, &d, held, 3);
    assert_int_equal(n, 3);
    assert_string_equal(r[0].server_id, S1);
    assert_true(r[0].active);
    assert_int_equal(r[0].c.disk_bytes, 6000);
    assert_int_equal(r[0].c.cpu_ns, 1);
    assert_string_equal(r[1].server_id, S2);
    assert_false(r[1].active);
    assert_int_equal(r[1].c.disk_bytes, 4000 + 5000);
    assert_string_equal(r[2].server_id, S4);
    assert_false(r[2].active);
    assert_int_equal(r[2].c.disk_bytes, 2000);
    assert_int_equal(r[2].c.cpu_ns + r[2].c.mem_kib + r[2].c.mem_max_kib, 0);
    assert_true(r[2].c.have_net && r[2].c.have_disk); /* zero, not unread */
    /* the samples: S4's is a baseline of one interval with its disk alone */
    struct sw_usage *u = sw_usage_new(NODE, 60);
    struct sw_msg_usage *m;
    assert_int_equal(sw_usage_step(u, r, n, T0, &m), 3);
    assert_string_equal(m[2].sample_id, S4 ":1700000040");
    assert_int_equal(m[2].period_s, 60);
    assert_int_equal(m[2].disk_bytes, 2000);
    assert_int_equal(m[2].mem_mb, 0);
    free(m);
    sw_usage_free(u);
    free(r);

    /* placements unknown (the database is down): running servers only */
    r = readings(3, doms);
    n = sw_usage_select(&r, 3, &d, NULL, 0);
    assert_int_equal(n, 1);
    assert_string_equal(r[0].server_id, S1);
    assert_int_equal(r[0].c.disk_bytes, 6000);
    free(r);
    /* nothing placed here: the same */
    r = readings(3, doms);
    assert_int_equal(sw_usage_select(&r, 3, &d, held, 0), 1);
    free(r);
    /* pools unread: running servers only, disk 0 */
    r = readings(3, doms);
    n = sw_usage_select(&r, 3, NULL, held, 3);
    assert_int_equal(n, 1);
    assert_string_equal(r[0].server_id, S1);
    assert_int_equal(r[0].c.disk_bytes, 0);
    free(r);
    /* no domain at all: the held servers' volumes alone */
    r = NULL;
    n = sw_usage_select(&r, 0, &d, held, 3);
    assert_int_equal(n, 3);
    assert_string_equal(r[0].server_id, S1);
    assert_false(r[0].active);
    assert_int_equal(r[0].c.disk_bytes, 6000);
    free(r);
    sw_usage_disks_release(&d);
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
    /* a stopped server: its domain defined and off */
    sw_testnode_job(&job, SW_KIND_HVM, SW_JOB_CREATE, S3);
    assert_int_equal(sw_engine_run(&t.eng, &job, &out, &err), 0);
    sw_testnode_job(&job, SW_KIND_HVM, SW_JOB_STOP, S3);
    if (sw_engine_run(&t.eng, &job, &out, &err) != 0)
        fail_msg("stop: %s (%s)", err.msg, err.detail);
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
    assert_int_equal(n, 3);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(r[i].server_id, S3) == 0) { /* read, as off: nothing but its id */
            assert_false(r[i].active);
            assert_int_equal(r[i].c.cpu_ns + r[i].c.net_rx_bytes + r[i].c.disk_wr_bytes, 0);
            assert_int_equal(r[i].c.mem_kib + r[i].c.mem_max_kib, 0);
            continue;
        }
        r[k++] = r[i];
        assert_true(r[i].active);
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
    n = k;
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

/* disk_bytes: the allocation of each server's own volumes, every
 * "sw-<id>-*" added up, running or stopped; another server's, an orphan's
 * or a short name counts for nobody; the samples carry it. */
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
    sw_testnode_job(&job, SW_KIND_PV, SW_JOB_STOP, S2); /* stopped: still holds its disks */
    assert_int_equal(sw_engine_run(&t.eng, &job, &out, &err), 0);
    volume(&t, "sw-" S1 "-data.raw", 3LL << 30);
    volume(&t, "sw-" S2 "-data.raw", 5LL << 30);
    volume(&t, "sw-" S4 "-root-0", 7LL << 30);  /* no domain, placed here */
    volume(&t, "sw-" S5 "-root-0", 13LL << 30); /* no domain, no server of this node */
    volume(&t, "sw-" S1, 11LL << 30);           /* no "-" after the id: not the server's */

    struct sw_usage_reading *r;
    size_t n;
    assert_int_equal(sw_usage_read_all(t.conn, &r, &n, &err), 0);
    assert_int_equal(n, 2);
    struct sw_usage_disks d = {0};
    assert_int_equal(sw_usage_read_disks(&t.eng, &d, &err), 0);
    assert_int_equal(d.n, 4);
    const sw_uuid_t held[] = {S1, S2, S4};
    n = sw_usage_select(&r, n, &d, held, 3);
    sw_usage_disks_release(&d);
    assert_int_equal(n, 3);
    assert_string_equal(r[0].server_id, S1); /* sorted by id */
    assert_true(r[0].active);
    assert_int_equal(r[0].c.disk_bytes, (3LL << 30) + (1LL << 20));
    assert_string_equal(r[1].server_id, S2);
    assert_false(r[1].active);
    assert_int_equal(r[1].c.disk_bytes, (5LL << 30) + (1LL << 20));
    assert_string_equal(r[2].server_id, S4);
    assert_int_equal(r[2].c.disk_bytes, 7LL << 30);

    struct sw_usage *u = sw_usage_new(NODE, 60);
    struct sw_msg_usage *m;
    assert_int_equal(sw_usage_step(u, r, n, T0, &m), 3);
    assert_int_equal(m[0].disk_bytes, (3LL << 30) + (1LL << 20)); /* a gauge, from the baseline on */
    free(m);
    assert_int_equal(sw_usage_step(u, r, n, T0 + 60, &m), 3);
    assert_int_equal(m[1].disk_bytes, (5LL << 30) + (1LL << 20));
    assert_int_equal(m[1].period_s, 60);
    assert_int_equal(m[1].mem_mb + m[1].cpu_ns, 0);
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
        cmocka_unit_test(test_stopped_disk),
        cmocka_unit_test(test_disks_add),
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_read_test_driver),
        cmocka_unit_test(test_read_disks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
