#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/rate.h"

#define H 3600
#define D 86400

static int64_t rnd(int64_t a, int64_t b)
{
    int64_t v = -1;
    assert_int_equal(sw_rate_round((unsigned __int128)a, (unsigned __int128)b, &v), 0);
    return v;
}

/* Half up, once: 0.5 goes up, anything below stays down. */
static void test_round_half_up(void **state)
{
    (void)state;
    assert_int_equal(rnd(0, 7), 0);
    assert_int_equal(rnd(1, 2), 1);
    assert_int_equal(rnd(3, 2), 2);
    assert_int_equal(rnd(5, 2), 3);
    assert_int_equal(rnd(1, 3), 0);
    assert_int_equal(rnd(2, 3), 1);
    assert_int_equal(rnd(1799, 3600), 0);
    assert_int_equal(rnd(1800, 3600), 1);
    assert_int_equal(rnd(10, 5), 2);
    int64_t v;
    assert_int_equal(sw_rate_round((unsigned __int128)INT64_MAX * 4, 1, &v), -1);
}

static void test_month(void **state)
{
    (void)state;
    int64_t s, e;
    assert_int_equal(sw_rate_month("2024-02", &s, &e), 0);
    assert_int_equal(s, 1706745600);
    assert_int_equal(e - s, 29 * D);
    assert_int_equal(sw_rate_month("2023-02", &s, &e), 0);
    assert_int_equal(e - s, 28 * D);
    assert_int_equal(sw_rate_month("2024-12", &s, &e), 0);
    assert_int_equal(e, 1735689600); /* 2025-01-01 */
    assert_int_equal(e - s, 31 * D);
    assert_int_equal(sw_rate_month("2000-02", &s, &e), 0);
    assert_int_equal(e - s, 29 * D);
    assert_int_equal(sw_rate_month("2100-02", &s, &e), 0);
    assert_int_equal(e - s, 28 * D);
    const char *bad[] = {"2024-13", "2024-00", "2024-1", "24-01", "2024/01", "1969-12", "", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(sw_rate_month(bad[i], &s, &e), -1);
    assert_int_equal(sw_rate_month(NULL, &s, &e), -1);
    char m[8];
    sw_rate_month_of(1735689599, m);
    assert_string_equal(m, "2024-12");
    sw_rate_month_of(1735689600, m);
    assert_string_equal(m, "2025-01");
    sw_rate_month_of(0, m);
    assert_string_equal(m, "1970-01");
    /* every month's start maps back to it */
    for (int y = 1999; y <= 2101; y++)
        for (int mo = 1; mo <= 12; mo++) {
            char p[16];
            snprintf(p, sizeof p, "%04d-%02d", y, mo);
            assert_int_equal(sw_rate_month(p, &s, &e), 0);
            sw_rate_month_of(s, m);
            assert_string_equal(m, p);
            sw_rate_month_of(e - 1, m);
            assert_string_equal(m, p);
        }
}

struct out {
    struct sw_rate_line l[8];
    size_t n;
    struct sw_rate_bandwidth bw;
};

static void rate(const struct sw_rate_period *p, size_t n, const char *month, int64_t upto,
                 int64_t traffic, struct out *o)
{
    int64_t s, e;
    struct sw_err err = {0};
    assert_int_equal(sw_rate_month(month, &s, &e), 0);
    assert_int_equal(sw_rate_server(p, n, s, e, upto, traffic, o->l, &o->n, &o->bw, &err), 0);
}

/* One plan all month: hourly adds up past the monthly price, which caps it. */
static void test_full_month_capped(void **state)
{
    (void)state;
    int64_t s, e;
    sw_rate_month("2024-05", &s, &e);
    struct sw_rate_period p = {s - 5 * D, -1, 1, 400, 0, 0};
    struct out o;
    rate(&p, 1, "2024-05", e + 100, 0, &o);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.l[0].seconds, 31 * D);
    assert_int_equal(o.l[0].amount, 400); /* 744 hours x 1 > 400 */
    assert_int_equal(o.l[0].cap, 400);
    /* cheaper hourly than monthly: hourly wins */
    p.price_monthly = 1000;
    rate(&p, 1, "2024-05", e, 0, &o);
    assert_int_equal(o.l[0].amount, 744);
}

/* Part of a month on one plan: per hour used, to the second, capped at the
 * full monthly price (DigitalOcean-style), half up once. */
static void test_partial(void **state)
{
    (void)state;
    int64_t s, e;
    sw_rate_month("2024-05", &s, &e);
    struct sw_rate_period p = {s + 3 * D, s + 3 * D + 10 * H + 1800, 7, 4000, 0, 0};
    struct out o;
    rate(&p, 1, "2024-05", e, 0, &o);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.l[0].seconds, 10 * H + 1800);
    assert_int_equal(o.l[0].amount, 74); /* 7 x 10.5 = 73.5 -> 74 */
    p.end = p.start + 1799; /* 7 x 0.4997 = 3.498 -> 3 */
    rate(&p, 1, "2024-05", e, 0, &o);
    assert_int_equal(o.l[0].amount, 3);
    /* still open: counted up to now */
    p.end = -1;
    rate(&p, 1, "2024-05", s + 3 * D + 2 * H, 0, &o);
    assert_int_equal(o.l[0].amount, 14);
    /* a period wholly outside the month gives no line */
    p.start = e + 10;
    p.end = e + 20;
    rate(&p, 1, "2024-05", e, 0, &o);
    assert_int_equal(o.n, 0);
}

/* A resize mid-month: each period is capped at its time-share of its
 * monthly price (m x s / T). */
static void test_plan_change(void **state)
{
    (void)state;
    int64_t s, e;
    sw_rate_month("2024-05", &s, &e);
    struct sw_rate_period p[2] = {
        {s, s + 20 * D, 2, 1000, 0, 0},
        {s + 20 * D, -1, 5, 3000, 0, 0},
    };
    struct out o;
    rate(p, 2, "2024-05", e + 1, 0, &o);
    assert_int_equal(o.n, 2);
    assert_int_equal(o.l[0].cap, 645);    /* 1000 x 20 / 31 = 645.16 */
    assert_int_equal(o.l[0].amount, 645); /* charge 960 */
    assert_int_equal(o.l[1].cap, 1065);   /* 3000 x 11 / 31 = 1064.52 */
    assert_int_equal(o.l[1].amount, 1065);
    /* a short first period: its share of the cap, 1000 x 5 h / 31 days =
     * 6.72, is below its hourly charge of 10 */
    p[0].end = s + 5 * H;
    p[1].start = p[0].end;
    rate(p, 2, "2024-05", e, 0, &o);
    assert_int_equal(o.l[0].amount, 7);
    assert_int_equal(o.l[1].amount, 2980); /* 3000 x (31 d - 5 h) / 31 d = 2979.84 */
}

/* Traffic past the allowance, per GB of 10^9 bytes, half up once. */
static void test_bandwidth(void **state)
{
    (void)state;
    int64_t s, e;
    sw_rate_month("2024-06", &s, &e);
    struct sw_rate_period p = {s, -1, 1, 400, 100, 1000};
    struct out o;
    rate(&p, 1, "2024-06", e, 1500 * SW_RATE_GB, &o);
    assert_int_equal(o.bw.allowance, 1000 * SW_RATE_GB);
    assert_int_equal(o.bw.over, 500 * SW_RATE_GB);
    assert_int_equal(o.bw.amount, 50000);
    rate(&p, 1, "2024-06", e, 1000 * SW_RATE_GB + 5000000, &o); /* 0.005 GB x 100 = 0.5 */
    assert_int_equal(o.bw.amount, 1);
    rate(&p, 1, "2024-06", e, 1000 * SW_RATE_GB + 4999999, &o);
    assert_int_equal(o.bw.amount, 0);
    rate(&p, 1, "2024-06", e, 10, &o);
    assert_int_equal(o.bw.over, 0);
    /* two plans: allowance time-weighted, price of the last period */
    struct sw_rate_period q[2] = {{s + 10 * D, -1, 1, 1, 300, 3000}, {s, s + 10 * D, 1, 1, 100, 0}};
    rate(q, 2, "2024-06", e, 3000 * SW_RATE_GB, &o);
    assert_int_equal(o.bw.allowance, 2000 * SW_RATE_GB);
    assert_int_equal(o.bw.unit_price, 300);
    assert_int_equal(o.bw.amount, 300000);
}

/* Disk space: bytes x seconds over a whole calendar month's seconds, per
 * GB-month, half up once; the divisor is the month whatever the server's
 * share of it. */
static void test_disk(void **state)
{
    (void)state;
    struct sw_err err = {0};
    int64_t s, e;
    sw_rate_month("2024-06", &s, &e); /* 30 days */
    typedef unsigned __int128 u128;
    struct sw_rate_disk d;
    /* 20 GB held all month at 10 per GB-month */
    assert_int_equal(sw_rate_disk((u128)20 * SW_RATE_GB * (u128)(e - s), s, e, 10, &d, &err), 0);
    assert_int_equal(d.avg_bytes, 20 * SW_RATE_GB);
    assert_int_equal(d.amount, 200);
    /* 20 GB for 3 days of 30: 2 GB-months' tenth, 20 x 3 / 30 x 10 = 20 */
    assert_int_equal(sw_rate_disk((u128)20 * SW_RATE_GB * 3 * D, s, e, 10, &d, &err), 0);
    assert_int_equal(d.amount, 20);
    assert_int_equal(d.avg_bytes, 2 * SW_RATE_GB);
    /* half a minor unit goes up, just under it does not */
    u128 half = (u128)SW_RATE_GB * (u128)(e - s) / 2; /* 0.5 GB-month at 1 */
    assert_int_equal(sw_rate_disk(half, s, e, 1, &d, &err), 0);
    assert_int_equal(d.amount, 1);
    assert_int_equal(sw_rate_disk(half - 1, s, e, 1, &d, &err), 0);
    assert_int_equal(d.amount, 0);
    /* February is shorter: the same bytes x seconds cost more */
    int64_t fs, fe;
    sw_rate_month("2023-02", &fs, &fe);
    assert_int_equal(sw_rate_disk((u128)SW_RATE_GB * (u128)(fe - fs), fs, fe, 1000, &d, &err), 0);
    assert_int_equal(d.amount, 1000);
    /* no price, no charge; bad input and overflow refused */
    assert_int_equal(sw_rate_disk((u128)1 << 80, s, e, 0, &d, &err), 0);
    assert_int_equal(d.amount, 0);
    assert_int_equal(sw_rate_disk(1, e, s, 1, &d, &err), -1);
    assert_int_equal(sw_rate_disk(1, s, e, -1, &d, &err), -1);
    assert_int_equal(sw_rate_disk((u128)1 << 120, s, e, INT64_MAX, &d, &err), -1);
    assert_int_equal(sw_rate_disk(~(u128)0, s, e, 1, &d, &err), -1);
    /* numeric text */
    u128 v;
    assert_int_equal(sw_rate_parse_u128("2700000000000000000000", &v), 0);
    assert_true(v == (u128)2700000000000LL * 1000000000ULL);
    assert_int_equal(sw_rate_parse_u128("0", &v), 0);
    assert_true(v == 0);
    assert_int_equal(sw_rate_parse_u128("", &v), -1);
    assert_int_equal(sw_rate_parse_u128("1.5", &v), -1);
    assert_int_equal(sw_rate_parse_u128("-1", &v), -1);
    assert_int_equal(sw_rate_parse_u128("340282366920938463463374607431768211456", &v), -1);
    assert_int_equal(sw_rate_parse_u128("340282366920938463463374607431768211455", &v), 0);
}

static void test_tax(void **state)
{
    (void)state;
    struct sw_err err = {0};
    int64_t t;
    assert_int_equal(sw_rate_tax(1999, 1900, &t, &err), 0);
    assert_int_equal(t, 380); /* 379.81 */
    assert_int_equal(sw_rate_tax(50, 100, &t, &err), 0);
    assert_int_equal(t, 1); /* 0.5 */
    assert_int_equal(sw_rate_tax(49, 100, &t, &err), 0);
    assert_int_equal(t, 0);
    assert_int_equal(sw_rate_tax(12345, 0, &t, &err), 0);
    assert_int_equal(t, 0);
    assert_int_equal(sw_rate_tax(12345, 10000, &t, &err), 0);
    assert_int_equal(t, 12345);
    assert_int_equal(sw_rate_tax(1, 10001, &t, &err), -1);
    assert_int_equal(sw_rate_tax(-1, 10, &t, &err), -1);
}

static void test_rejects(void **state)
{
    (void)state;
    struct sw_err err = {0};
    struct out o;
    struct sw_rate_period p = {100, 50, 1, 1, 0, 0};
    assert_int_equal(sw_rate_server(&p, 1, 0, 1000, 1000, 0, o.l, &o.n, &o.bw, &err), -1);
    p = (struct sw_rate_period){0, 100, -1, 1, 0, 0};
    assert_int_equal(sw_rate_server(&p, 1, 0, 1000, 1000, 0, o.l, &o.n, &o.bw, &err), -1);
    p = (struct sw_rate_period){0, 100, 1, 1, 0, 0};
    assert_int_equal(sw_rate_server(&p, 1, 1000, 1000, 1000, 0, o.l, &o.n, &o.bw, &err), -1);
    /* a line never exceeds its monthly price, so it always fits; traffic
     * priced past 64 bits is an error, not a wrap */
    p = (struct sw_rate_period){0, 1000000, INT64_MAX, INT64_MAX, 0, 0};
    assert_int_equal(sw_rate_server(&p, 1, 0, 2000000, 2000000, 0, o.l, &o.n, &o.bw, &err), 0);
    assert_int_equal(o.l[0].amount, INT64_MAX);
    p.price_bandwidth_gb = INT64_MAX;
    assert_int_equal(
        sw_rate_server(&p, 1, 0, 2000000, 2000000, INT64_MAX, o.l, &o.n, &o.bw, &err), -1);
}

/* Properties over many random histories: every line is at most its exact
 * hourly charge and its cap (rounded), a one-plan month never exceeds the
 * monthly price, and lines cover exactly the clipped seconds. The exact
 * comparison against an independent implementation is
 * tests/integration/billing_rating.py. */
static void test_random_properties(void **state)
{
    (void)state;
    srand(42);
    int64_t s, e;
    sw_rate_month("2024-03", &s, &e);
    for (int iter = 0; iter < 20000; iter++) {
        struct sw_rate_period p[4];
        size_t n = 1 + (size_t)(rand() % 4);
        int64_t t = s - D + rand() % (3 * D);
        for (size_t i = 0; i < n; i++) {
            int64_t len = rand() % (12 * D);
            p[i] = (struct sw_rate_period){t, t + len, rand() % 50, rand() % 20000,
                                           rand() % 500, rand() % 100};
            t += len;
        }
        if (rand() % 2)
            p[n - 1].end = -1;
        if (rand() % 3 == 0)
            for (size_t i = 0; i < n; i++) {
                p[i].price_hourly = p[0].price_hourly;
                p[i].price_monthly = p[0].price_monthly;
            }
        struct out o;
        struct sw_err err = {0};
        int64_t upto = s + rand() % (40 * D);
        assert_int_equal(sw_rate_server(p, n, s, e, upto, rand() % 1000000000, o.l, &o.n, &o.bw, &err), 0);
        int64_t secs = 0, sum = 0;
        for (size_t k = 0; k < o.n; k++) {
            const struct sw_rate_period *q = &p[o.l[k].period];
            assert_true(o.l[k].seconds > 0);
            assert_true(o.l[k].start >= s && o.l[k].end <= e && o.l[k].end <= upto);
            assert_true(o.l[k].amount <= o.l[k].cap);
            assert_true(o.l[k].amount <= rnd(q->price_hourly * o.l[k].seconds, 3600));
            secs += o.l[k].seconds;
            sum += o.l[k].amount;
        }
        int64_t expect = 0;
        for (size_t i = 0; i < n; i++) {
            int64_t a = p[i].start > s ? p[i].start : s;
            int64_t b = p[i].end < 0 ? upto : p[i].end;
            b = b < e ? b : e;
            b = b < upto ? b : upto;
            expect += b > a ? b - a : 0;
        }
        assert_int_equal(secs, expect);
        if (o.n > 0 && p[0].price_hourly == p[n - 1].price_hourly &&
            p[0].price_monthly == p[n - 1].price_monthly) {
            bool same = true;
            for (size_t i = 0; i < n; i++)
                same = same && p[i].price_monthly == p[0].price_monthly &&
                       p[i].price_hourly == p[0].price_hourly;
            /* the lines' rounding may add up to half a unit each */
            if (same)
                assert_true(sum <= p[0].price_monthly + (int64_t)o.n);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_half_up),   cmocka_unit_test(test_month),
        cmocka_unit_test(test_full_month_capped), cmocka_unit_test(test_partial),
        cmocka_unit_test(test_plan_change),     cmocka_unit_test(test_bandwidth),
        cmocka_unit_test(test_disk),
        cmocka_unit_test(test_tax),             cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_random_properties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
