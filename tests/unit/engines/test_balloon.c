/* Tests of engines/balloon.c (the ballooning loop), engines/stats.c (the
 * libvirt source, on the test driver) and the policy parser it runs
 * (core/balloon_conf.c). */
#include "config.h"
#include "engines/balloon.h"
#include "engines/stats.h"
#include "tests/unit/engines/testnode.h"
#include "core/alloc.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A source of fixed guests, recording what was applied. */
struct fixed {
    struct sw_stats_host h;
    struct sw_stats_guest g[4];
    size_t n;
    int applied;
};

static int fx_sample(void *self, struct sw_stats_host *h, struct sw_stats_guest **g, size_t *n,
                     struct sw_err *err)
{
    (void)err;
    struct fixed *f = self;
    *h = f->h;
    *g = sw_calloc(f->n, sizeof **g);
    memcpy(*g, f->g, f->n * sizeof **g);
    *n = f->n;
    return 0;
}

static int fx_apply(void *self, const struct sw_stats_guest *g, int64_t target, struct sw_err *err)
{
    (void)err;
    struct fixed *f = self;
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->g[i].id, g->id) == 0)
            f->g[i].current_mb = target;
    f->applied++;
    return 0;
}

static const struct sw_stats_ops fixed_ops = {"fixed", fx_sample, fx_apply, NULL};

static void guest(struct sw_stats_guest *g, const char *id, int kind, int64_t min, int64_t max,
                  int64_t cur, int64_t used)
{
    memset(g, 0, sizeof *g);
    snprintf(g->id, sizeof g->id, "%s", id);
    g->kind = kind;
    g->min_mb = min;
    g->max_mb = max;
    g->shares = 1000;
    g->current_mb = cur;
    g->used_mb = used;
    g->fresh = true;
}

#define OPTOUT "a0000000-0000-4000-8000-0000000000aa"

/* Only hvm (and pv when the pool ratio is above 1) is ballooned; shares 0
 * opts out; the rest is host use. */
static void test_eligibility(void **state)
{
    (void)state;
    struct fixed f = {.h = {16384, 1024}, .n = 4};
    guest(&f.g[0], "hvm", SW_KIND_HVM, 1024, 8192, 8192, 1000);
    guest(&f.g[1], "pv", SW_KIND_PV, 1024, 4096, 4096, 500);
    guest(&f.g[2], "ct", SW_KIND_CONTAINER, 1024, 2048, 2048, 500);
    guest(&f.g[3], OPTOUT, SW_KIND_HVM, 1024, 4096, 4096, 100);
    struct sw_ballooner *b = sw_ballooner_new((struct sw_stats_source){&fixed_ops, &f});
    struct sw_balloon_conf c;
    sw_balloon_conf_default(&c);
    c.enabled = true;
    c.nshares = 1;
    snprintf(c.shares[0].server_id, sizeof c.shares[0].server_id, "%s", OPTOUT);
    c.shares[0].shares = 0;
    sw_ballooner_configure(b, &c, false);
    struct sw_err err;
    struct sw_balloon_report r;
    assert_int_equal(sw_ballooner_tick(b, &r, &err), -1); /* nothing sampled */
    assert_int_equal(sw_ballooner_sample(b, &err), 0);
    assert_int_equal(sw_ballooner_tick(b, &r, &err), 0);
    assert_int_equal(r.guests, 2);  /* hvm and the opted-out hvm */
    assert_int_equal(r.managed, 1); /* only one is managed */
    assert_true(sw_ballooner_target(b, "hvm") < 8192); /* idle: shrinks */
    assert_int_equal(sw_ballooner_target(b, OPTOUT), 4096);
    assert_int_equal(sw_ballooner_target(b, "pv"), -1);
    assert_int_equal(f.g[3].current_mb, 4096);
    /* pv joins when the pool ratio is above 1 */
    sw_ballooner_configure(b, &c, true);
    assert_int_equal(sw_ballooner_sample(b, &err), 0);
    assert_int_equal(sw_ballooner_tick(b, &r, &err), 0);
    assert_int_equal(r.guests, 3);
    assert_true(sw_ballooner_target(b, "pv") >= 1024);
    sw_ballooner_free(b);
}

/* Pressure that lasts pressure_ticks raises once per episode. */
static void test_pressure_raises_once(void **state)
{
    (void)state;
    struct fixed f = {.h = {8192, 7000}, .n = 1};
    guest(&f.g[0], "g", SW_KIND_HVM, 2048, 4096, 4096, 1000);
    struct sw_ballooner *b = sw_ballooner_new((struct sw_stats_source){&fixed_ops, &f});
    struct sw_balloon_conf c;
    sw_balloon_conf_default(&c);
    c.pressure_ticks = 2;
    sw_ballooner_configure(b, &c, false);
    struct sw_err err;
    struct sw_balloon_report r;
    int raised = 0;
    for (int t = 0; t < 6; t++) {
        assert_int_equal(sw_ballooner_sample(b, &err), 0);
        assert_int_equal(sw_ballooner_tick(b, &r, &err), 0);
        assert_true(r.pressure);
        raised += r.raise;
        if (t == 1)
            assert_true(r.raise);
    }
    assert_int_equal(raised, 1);
    f.h.other_used_mb = 1000; /* relieved, then pressure again: a new episode */
    assert_int_equal(sw_ballooner_sample(b, &err), 0);
    assert_int_equal(sw_ballooner_tick(b, &r, &err), 0);
    assert_false(r.pressure);
    f.h.other_used_mb = 7000;
    for (int t = 0; t < 2; t++) {
        assert_int_equal(sw_ballooner_sample(b, &err), 0);
        assert_int_equal(sw_ballooner_tick(b, &r, &err), 0);
    }
    assert_true(r.raise);
    sw_ballooner_free(b);
}

/* The libvirt source on the test driver: slipway hvm domains with their
 * sizes from the metadata, (synthetic) fresh stats, a target applied live. */
static void test_libvirt_source(void **state)
{
    (void)state;
    struct sw_testnode t;
    assert_int_equal(sw_testnode_open(&t), 0);
    static const char id[] = "c0000000-0000-4000-8000-000000000001";
    struct sw_msg_node_job job;
    sw_testnode_job(&job, SW_KIND_HVM, SW_JOB_CREATE, id);
    struct sw_engine_outcome out;
    struct sw_err err;
    assert_int_equal(sw_engine_run(&t.eng, &job, &out, &err), 0);
    struct sw_stats_source src;
    assert_int_equal(sw_stats_open("libvirt", t.conn, &src, &err), 0);
    struct sw_stats_host h;
    struct sw_stats_guest *g;
    size_t n;
    assert_int_equal(src.ops->sample(src.self, &h, &g, &n, &err), 0);
    assert_int_equal(h.ram_mb, 16384);
    assert_int_equal(n, 1);
    assert_string_equal(g[0].id, id);
    assert_int_equal(g[0].kind, SW_KIND_HVM);
    assert_int_equal(g[0].min_mb, 1024);
    assert_int_equal(g[0].max_mb, 2048);
    assert_int_equal(g[0].current_mb, 1024);
    assert_true(g[0].fresh);
    assert_int_equal(g[0].used_mb, 512); /* the test driver: always half free */
    assert_int_equal(src.ops->apply(src.self, &g[0], 1536, &err), 0);
    free(g);
    assert_int_equal(src.ops->sample(src.self, &h, &g, &n, &err), 0);
    assert_int_equal(g[0].current_mb, 1536);
    free(g);
    sw_stats_close(&src);
    assert_int_equal(sw_stats_open("sim:/nonexistent.json", t.conn, &src, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    assert_int_equal(sw_stats_open("vmstat", t.conn, &src, &err), -1);
    sw_testnode_close(&t);
}

static void test_policy_parse(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *msg; /* NULL: valid */
    } cases[] = {
        {"{}", NULL},
        {"{\"enabled\":true,\"target_pct\":70,\"stop_pct\":90,\"step_max_mb\":2048}", NULL},
        {"{\"shares\":{\"5f0c6a7e-2b1d-4c3e-9a8b-7d6e5f4a3b2c\":0}}", NULL},
        {"{\"colour\":1}", "balloon.colour is not a ballooning policy key"},
        {"{\"target_pct\":1.5}", "balloon.target_pct must be an integer from 10 to 99"},
        {"{\"stop_pct\":50}", "stop_pct must be at least target_pct"},
        {"{\"step_min_mb\":2000}", "step_min_mb at most step_max_mb"},
        {"{\"shares\":[]}", "balloon.shares must be an object"},
        {"{\"shares\":{\"x\":1}}", "balloon.shares: keys must be server ids"},
        {"{\"enabled\":1}", "balloon.enabled must be true or false"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *o = json_loads(cases[i].json, 0, NULL);
        assert_non_null(o);
        struct sw_balloon_conf *c = sw_malloc(sizeof *c);
        struct sw_err err;
        sw_err_clear(&err);
        int rc = sw_balloon_conf_parse(o, c, &err);
        if (cases[i].msg) {
            assert_int_equal(rc, -1);
            if (!strstr(err.msg, cases[i].msg))
                fail_msg("%s: %s", cases[i].json, err.msg);
        } else {
            assert_int_equal(rc, 0);
        }
        if (i == 1) {
            assert_true(c->enabled);
            assert_int_equal(c->policy.target_pct, 70);
            assert_int_equal(c->policy.step_max_mb, 2048);
            assert_int_equal(c->policy.reserve_pct, 20); /* default kept */
        }
        if (i == 2) {
            assert_int_equal(sw_balloon_conf_shares(c, "5F0C6A7E-2B1D-4C3E-9A8B-7D6E5F4A3B2C", 1000), 0);
            assert_int_equal(sw_balloon_conf_shares(c, "other", 1000), 1000);
        }
        free(c);
        json_decref(o);
    }
}

int main(void)
{
    sw_log_init("test", "off");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eligibility),
        cmocka_unit_test(test_pressure_raises_once),
        cmocka_unit_test(test_libvirt_source),
        cmocka_unit_test(test_policy_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
