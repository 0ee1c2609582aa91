/* test_admin_catalog.c - panel/admin_catalog.c without a database: a plan
 * created from a body, a PATCH checked, the sizes it changes found and its
 * prices and sizes merged into the plan, and the plan and template routes
 * refusing bad bodies before they touch the database. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "panel/admin_catalog.h"
#include "tests/unit/panel/testreq.h"

#define ERR_IS sw_testreq_err_is
#define OPR SW_ROLE_OPERATOR

/* hvm-1: 1 vCPU, 1 GiB bursting to 2, 20 GB; 10 and 500 EUR cents, 2 per
 * GB past 1000 GB. */
static void plan_row(struct sw_plan_row *row)
{
    memset(row, 0, sizeof *row);
    strcpy(row->name, "hvm-1");
    strcpy(row->kind, "hvm");
    row->vcpus = 1;
    row->ram_mb = 1024;
    row->burst_ram_mb = 2048;
    row->disk_gb = 20;
    row->bandwidth_gb = 1000;
    row->price_hourly = 10;
    row->price_monthly = 500;
    row->price_bandwidth_gb = 2;
    strcpy(row->currency, "EUR");
    strcpy(row->state, "active");
}

#define EUR(n) "{\"amount\": " #n ", \"currency\": \"EUR\"}"
#define USD(n) "{\"amount\": " #n ", \"currency\": \"USD\"}"

/* sw_plan_create_check of a body: the required fields, then extra. */
static int create(const char *extra, struct sw_plan_row *out, struct sw_err *err)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"name\": \"c-1\", \"kind\": \"container\", \"vcpus\": 2, \"ram_mb\": 512,"
             " \"disk_gb\": 10%s}",
             extra);
    json_t *b = sw_testreq_json(text);
    sw_err_clear(err);
    int rc = sw_plan_create_check(b, out, err);
    json_decref(b);
    return rc;
}

static void test_create_fills_the_row(void **state)
{
    (void)state;
    struct sw_plan_row row;
    struct sw_err err;
    assert_int_equal(create(", \"price_hourly\": " EUR(1) ", \"price_monthly\": " EUR(300)
                            ", \"swap_mb\": 256, \"bandwidth_gb\": 50",
                            &row, &err),
                     0);
    assert_string_equal(row.name, "c-1");
    assert_string_equal(row.kind, "container");
    assert_int_equal(row.vcpus, 2);
    assert_int_equal(row.ram_mb, 512);
    assert_int_equal(row.burst_ram_mb, 0);
    assert_int_equal(row.swap_mb, 256);
    assert_int_equal(row.disk_gb, 10);
    assert_int_equal(row.bandwidth_gb, 50);
    assert_int_equal(row.price_hourly, 1);
    assert_int_equal(row.price_monthly, 300);
    assert_int_equal(row.price_bandwidth_gb, 0);
    assert_string_equal(row.currency, "EUR");
    assert_string_equal(row.state, "active");
    assert_int_equal(create(", \"price_hourly\": " USD(0) ", \"price_monthly\": " USD(0)
                            ", \"price_bandwidth_gb\": " USD(7) ", \"burst_ram_mb\": 512",
                            &row, &err),
                     0);
    assert_string_equal(row.currency, "USD");
    assert_int_equal(row.price_bandwidth_gb, 7);
    assert_int_equal(row.burst_ram_mb, 512);
    assert_int_equal(row.price_disk_gb_month, 0);
    assert_int_equal(create(", \"price_hourly\": " USD(0) ", \"price_monthly\": " USD(0)
                            ", \"price_disk_gb_month\": " USD(40),
                            &row, &err),
                     0);
    assert_int_equal(row.price_disk_gb_month, 40);
}

static void test_create_refuses(void **state)
{
    (void)state;
    struct sw_plan_row row;
    struct sw_err err;
    static const struct {
        const char *extra, *msg;
    } cases[] = {
        {", \"price_hourly\": " EUR(1) ", \"price_monthly\": " USD(1),
         "a plan's prices must share a currency"},
        {", \"price_hourly\": " EUR(1) ", \"price_monthly\": " EUR(1)
         ", \"price_bandwidth_gb\": " USD(1),
         "a plan's prices must share a currency"},
        {", \"price_hourly\": " EUR(1) ", \"price_monthly\": " EUR(1)
         ", \"price_disk_gb_month\": " USD(1),
         "a plan's prices must share a currency"},
        {", \"price_hourly\": " EUR(-1) ", \"price_monthly\": " EUR(1),
         "price_hourly.amount must be from 0 to 10^12"},
        {", \"price_hourly\": " EUR(1) ", \"price_monthly\": " EUR(1000000000001),
         "price_monthly.amount must be from 0 to 10^12"},
        {", \"price_hourly\": {\"amount\": 1, \"currency\": \"eur\"}, \"price_monthly\": " EUR(1),
         "price_hourly.currency must be an ISO 4217 code"},
        {", \"price_hourly\": {\"amount\": 1}, \"price_monthly\": " EUR(1),
         "price_hourly: field \"currency\" is required"},
        {", \"price_hourly\": " EUR(1) ", \"price_monthly\": {\"amount\": 1, \"currency\": \"EUR\","
         " \"tax\": 1}",
         "price_monthly: unknown field \"tax\""},
        {", \"price_hourly\": " EUR(1) ", \"price_monthly\": " EUR(1) ", \"burst_ram_mb\": 511",
         "burst_ram_mb must be 0 or at least ram_mb"},
        {", \"price_hourly\": " EUR(1) ", \"price_monthly\": " EUR(1) ", \"swap_mb\": -1",
         "swap_mb must be from 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (create(cases[i].extra, &row, &err) != -1)
            fail_msg("accepted %s", cases[i].extra);
        ERR_IS(&err, SW_EINVALID, cases[i].msg);
    }
}

static void test_patch_check(void **state)
{
    (void)state;
    struct sw_err err;
    static const struct {
        const char *body, *msg;
    } cases[] = {
        {"{\"name\": \"\"}", "name must be 1 to 64 bytes long"},
        {"{\"kind\": \"vz\"}", "kind must be container, pv or hvm"},
        {"{\"vcpus\": 257}", "vcpus must be from 1 to 256"},
        {"{\"ram_mb\": 63}", "ram_mb must be from 64"},
        {"{\"bandwidth_gb\": -1}", "bandwidth_gb must be from 0"},
        {"{\"state\": \"deleted\"}", "state must be active or retired"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *b = sw_testreq_json(cases[i].body);
        sw_err_clear(&err);
        if (sw_plan_patch_check(b, &err) != -1)
            fail_msg("accepted %s", cases[i].body);
        json_decref(b);
        ERR_IS(&err, SW_EINVALID, cases[i].msg);
    }
    json_t *ok = sw_testreq_json("{\"name\": \"x\", \"kind\": \"pv\", \"state\": \"retired\"}");
    assert_int_equal(sw_plan_patch_check(ok, &err), 0);
    json_decref(ok);
}

/* sw_plan_patch_sizes of body against plan_row(). */
static int sizes(const char *body, char changed[160])
{
    struct sw_plan_row cur;
    plan_row(&cur);
    json_t *b = sw_testreq_json(body);
    int n = sw_plan_patch_sizes(&cur, b, changed, 160);
    json_decref(b);
    return n;
}

static void test_patch_sizes(void **state)
{
    (void)state;
    char changed[160];
    assert_int_equal(sizes("{\"name\": \"x\", \"price_hourly\": " EUR(5) "}", changed), 0);
    assert_string_equal(changed, "");
    /* The same values again change nothing. */
    assert_int_equal(sizes("{\"kind\": \"hvm\", \"ram_mb\": 1024, \"bandwidth_gb\": 1000}",
                           changed),
                     0);
    assert_int_equal(sizes("{\"ram_mb\": 2048, \"kind\": \"pv\", \"vcpus\": 1}", changed), 2);
    assert_string_equal(changed, "kind, ram_mb");
    assert_int_equal(sizes("{\"vcpus\": 2, \"burst_ram_mb\": 0, \"swap_mb\": 1, \"disk_gb\": 21,"
                           " \"bandwidth_gb\": 0}",
                           changed),
                     5);
    assert_string_equal(changed, "vcpus, burst_ram_mb, swap_mb, disk_gb, bandwidth_gb");
}

/* sw_plan_patch_merge of body onto plan_row(). */
static int merge(const char *body, struct sw_plan_row *out, struct sw_err *err)
{
    struct sw_plan_row cur;
    plan_row(&cur);
    json_t *b = sw_testreq_json(body);
    sw_err_clear(err);
    int rc = sw_plan_patch_merge(&cur, b, out, err);
    json_decref(b);
    return rc;
}

static void test_merge_overlays(void **state)
{
    (void)state;
    struct sw_plan_row row, cur;
    struct sw_err err;
    plan_row(&cur);
    assert_int_equal(merge("{\"name\": \"hvm-1 (2024)\"}", &row, &err), 0);
    assert_string_equal(row.name, "hvm-1 (2024)");
    memcpy(row.name, cur.name, sizeof row.name);
    assert_memory_equal(&row, &cur, sizeof row);
    assert_int_equal(merge("{\"state\": \"retired\", \"ram_mb\": 2048, \"kind\": \"pv\","
                           " \"price_monthly\": " EUR(450) "}",
                           &row, &err),
                     0);
    assert_string_equal(row.state, "retired");
    assert_int_equal(row.ram_mb, 2048);
    assert_string_equal(row.kind, "pv");
    assert_int_equal(row.price_monthly, 450);
    assert_int_equal(row.price_hourly, 10);
    assert_string_equal(row.currency, "EUR");
}

static void test_merge_currency(void **state)
{
    (void)state;
    struct sw_plan_row row;
    struct sw_err err;
    assert_int_equal(merge("{\"price_hourly\": " USD(1) "}", &row, &err), -1);
    ERR_IS(&err, SW_EINVALID,
           "a plan's prices must share a currency: to change the plan's currency (EUR), give");
    assert_int_equal(merge("{\"price_hourly\": " USD(1) ", \"price_monthly\": " EUR(1) "}", &row,
                           &err),
                     -1);
    /* Its bandwidth price is 2 EUR cents: that one must come along. */
    assert_int_equal(merge("{\"price_hourly\": " USD(2) ", \"price_monthly\": " USD(800) "}", &row,
                           &err),
                     -1);
    assert_int_equal(merge("{\"price_bandwidth_gb\": " USD(3) "}", &row, &err), -1);
    assert_int_equal(merge("{\"price_hourly\": " USD(2) ", \"price_monthly\": " USD(800)
                           ", \"price_bandwidth_gb\": " USD(3) "}",
                           &row, &err),
                     0);
    assert_string_equal(row.currency, "USD");
    assert_int_equal(row.price_hourly, 2);
    assert_int_equal(row.price_monthly, 800);
    assert_int_equal(row.price_bandwidth_gb, 3);
    /* A bandwidth price of 0 given with the others, in the new currency. */
    assert_int_equal(merge("{\"price_hourly\": " USD(2) ", \"price_monthly\": " USD(800)
                           ", \"price_bandwidth_gb\": " USD(0) "}",
                           &row, &err),
                     0);
    assert_int_equal(merge("{\"price_bandwidth_gb\": " EUR(3) "}", &row, &err), 0);
    assert_int_equal(row.price_bandwidth_gb, 3);
    assert_string_equal(row.currency, "EUR");
    /* a disk price of its own must come along with a currency change too */
    assert_int_equal(merge("{\"price_disk_gb_month\": " EUR(9) "}", &row, &err), 0);
    assert_int_equal(row.price_disk_gb_month, 9);
    assert_int_equal(merge("{\"price_disk_gb_month\": " USD(9) "}", &row, &err), -1);
    struct sw_plan_row cur;
    plan_row(&cur);
    cur.price_disk_gb_month = 9;
    json_t *b = sw_testreq_json("{\"price_hourly\": " USD(2) ", \"price_monthly\": " USD(800)
                                ", \"price_bandwidth_gb\": " USD(3) "}");
    assert_int_equal(sw_plan_patch_merge(&cur, b, &row, &err), -1);
    json_decref(b);
    b = sw_testreq_json("{\"price_hourly\": " USD(2) ", \"price_monthly\": " USD(800)
                        ", \"price_bandwidth_gb\": " USD(3) ", \"price_disk_gb_month\": " USD(5)
                        "}");
    assert_int_equal(sw_plan_patch_merge(&cur, b, &row, &err), 0);
    json_decref(b);
    assert_int_equal(row.price_disk_gb_month, 5);
    assert_string_equal(row.currency, "USD");
}

static void test_merge_currency_without_bandwidth_price(void **state)
{
    (void)state;
    struct sw_plan_row cur, row;
    struct sw_err err;
    plan_row(&cur);
    cur.price_bandwidth_gb = 0;
    json_t *b = sw_testreq_json("{\"price_hourly\": " USD(2) ", \"price_monthly\": " USD(800) "}");
    assert_int_equal(sw_plan_patch_merge(&cur, b, &row, &err), 0);
    json_decref(b);
    assert_string_equal(row.currency, "USD");
}

static void test_merge_burst(void **state)
{
    (void)state;
    struct sw_plan_row row;
    struct sw_err err;
    assert_int_equal(merge("{\"burst_ram_mb\": 1023}", &row, &err), -1);
    ERR_IS(&err, SW_EINVALID, "burst_ram_mb must be 0 or at least ram_mb (1024)");
    assert_int_equal(merge("{\"ram_mb\": 4096}", &row, &err), -1);
    ERR_IS(&err, SW_EINVALID, "burst_ram_mb must be 0 or at least ram_mb (4096)");
    assert_int_equal(merge("{\"ram_mb\": 4096, \"burst_ram_mb\": 0}", &row, &err), 0);
    assert_int_equal(merge("{\"vcpus\": 0}", &row, &err), -1);
    ERR_IS(&err, SW_EINVALID, "vcpus must be from 1 to 256");
}

/* A plan's limits: given in "limits", merged key by key, range-checked
 * with the one table of core/msg.c, peak and burst against the average. */
static void test_limits(void **state)
{
    (void)state;
    struct sw_plan_row row;
    struct sw_err err;
    assert_int_equal(create(", \"price_hourly\": " EUR(1) ", \"price_monthly\": " EUR(1)
                            ", \"limits\": {\"disk_read_iops\": 500, \"net_average_kbyte_s\": 1000,"
                            " \"net_peak_kbyte_s\": 1000, \"cpu_cap_pct\": 50}",
                            &row, &err),
                     0);
    assert_int_equal(row.limits.disk_read_iops, 500);
    assert_int_equal(row.limits.disk_write_iops, 0);
    assert_int_equal(row.limits.net_peak_kbyte_s, 1000);
    assert_int_equal(row.limits.cpu_cap_pct, 50);
    static const struct {
        const char *limits, *msg;
    } bad[] = {
        {"{\"cpu_cap_pct\": 101}", "limits.cpu_cap_pct must be an integer from 0 (no limit) to 100"},
        {"{\"disk_read_iops\": -1}", "limits.disk_read_iops must be an integer from 0"},
        {"{\"disk_read_iops\": \"5\"}", "limits.disk_read_iops must be an integer from 0"},
        {"{\"disk_iops\": 5}", "limits.disk_iops is not a limit"},
        {"{\"net_peak_kbyte_s\": 5}", "limits: net_peak_kbyte_s and net_burst_kbyte need a"},
        {"{\"net_burst_kbyte\": 5}", "limits: net_peak_kbyte_s and net_burst_kbyte need a"},
        {"{\"net_average_kbyte_s\": 10, \"net_peak_kbyte_s\": 9}",
         "limits: net_peak_kbyte_s must be 0 or at least net_average_kbyte_s (10)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char extra[256];
        snprintf(extra, sizeof extra,
                 ", \"price_hourly\": " EUR(1) ", \"price_monthly\": " EUR(1) ", \"limits\": %s",
                 bad[i].limits);
        if (create(extra, &row, &err) != -1)
            fail_msg("accepted %s", bad[i].limits);
        if (strncmp(err.msg, bad[i].msg, strlen(bad[i].msg)) != 0)
            fail_msg("%s: \"%s\", not \"%s\"", bad[i].limits, err.msg, bad[i].msg);
    }
    /* a patch merges into the plan's limits: a peak below the kept average */
    plan_row(&row);
    row.limits.net_average_kbyte_s = 100;
    struct sw_plan_row out;
    json_t *p = sw_testreq_json("{\"limits\": {\"net_peak_kbyte_s\": 50}}");
    sw_err_clear(&err);
    assert_int_equal(sw_plan_patch_merge(&row, p, &out, &err), -1);
    ERR_IS(&err, SW_EINVALID, "limits: net_peak_kbyte_s must be 0 or at least net_average_kbyte_s (100)");
    json_decref(p);
    p = sw_testreq_json("{\"limits\": {\"net_peak_kbyte_s\": 150, \"cpu_cap_pct\": 0}}");
    assert_int_equal(sw_plan_patch_merge(&row, p, &out, &err), 0);
    assert_int_equal(out.limits.net_average_kbyte_s, 100);
    assert_int_equal(out.limits.net_peak_kbyte_s, 150);
    json_decref(p);
}

/* ---- the routes, without a database ---- */

static void test_plan_routes_refuse(void **state)
{
    (void)state;
    sw_testreq_refused("POST", "/v1/admin/plans", OPR, "{\"name\": \"x\"}", 400,
                       "field \"kind\" is required");
    sw_testreq_refused("POST", "/v1/admin/plans", OPR,
                       "{\"name\": \"x\", \"kind\": \"hvm\", \"vcpus\": 1, \"ram_mb\": 512,"
                       " \"disk_gb\": 1, \"price_hourly\": " EUR(1) ", \"price_monthly\": " USD(1)
                       "}",
                       400, "a plan's prices must share a currency");
    sw_testreq_refused("POST", "/v1/admin/plans", OPR,
                       "{\"name\": \"x\", \"kind\": \"hvm\", \"vcpus\": 1, \"ram_mb\": 512,"
                       " \"disk_gb\": 1, \"price_hourly\": " EUR(1) ", \"price_monthly\": " EUR(1)
                       ", \"state\": \"active\"}",
                       400, "unknown field \"state\"");
    sw_testreq_refused("PATCH", "/v1/admin/plans/{id}", OPR, "{}", 400,
                       "the body names no field to change");
    sw_testreq_refused("PATCH", "/v1/admin/plans/{id}", OPR, "{\"state\": \"deleted\"}", 400,
                       "state must be active or retired");
    sw_testreq_refused("PATCH", "/v1/admin/plans/{id}", OPR, "{\"vcpus\": 1.5}", 400,
                       "field \"vcpus\"");
}

static void test_template_routes_refuse(void **state)
{
    (void)state;
    sw_testreq_refused("POST", "/v1/admin/templates", OPR,
                       "{\"name\": \"Debian\", \"kind\": \"hvm\", \"os\": \"Debian 12\"}", 400,
                       "os must use only a-z, 0-9");
    sw_testreq_refused("POST", "/v1/admin/templates", OPR,
                       "{\"name\": \"Debian\", \"kind\": \"kvm\", \"os\": \"debian-12\"}", 400,
                       "kind must be container, pv or hvm");
    sw_testreq_refused("PATCH", "/v1/admin/templates/{id}", OPR, "{\"kind\": \"pv\"}", 400,
                       "unknown field \"kind\"");
    sw_testreq_refused("PATCH", "/v1/admin/templates/{id}", OPR, "{\"state\": \"gone\"}", 400,
                       "state must be active or retired");
}

static void test_catalog_routes_accept(void **state)
{
    (void)state;
    sw_testreq_accepted("POST", "/v1/admin/plans", OPR,
                        "{\"name\": \"x\", \"kind\": \"hvm\", \"vcpus\": 256, \"ram_mb\": 64,"
                        " \"disk_gb\": 1, \"price_hourly\": " EUR(0) ", \"price_monthly\": "
                        EUR(1000000000000) "}");
    sw_testreq_accepted("PATCH", "/v1/admin/plans/{id}", OPR,
                        "{\"state\": \"retired\", \"price_hourly\": " USD(1) "}");
    sw_testreq_accepted("POST", "/v1/admin/templates", OPR,
                        "{\"name\": \"Debian 12\", \"kind\": \"pv\", \"os\": \"debian-12.5_x\"}");
    sw_testreq_accepted("PATCH", "/v1/admin/templates/{id}", OPR, "{\"state\": \"active\"}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_fills_the_row),
        cmocka_unit_test(test_create_refuses),
        cmocka_unit_test(test_patch_check),
        cmocka_unit_test(test_patch_sizes),
        cmocka_unit_test(test_merge_overlays),
        cmocka_unit_test(test_merge_currency),
        cmocka_unit_test(test_merge_currency_without_bandwidth_price),
        cmocka_unit_test(test_merge_burst),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_plan_routes_refuse),
        cmocka_unit_test(test_template_routes_refuse),
        cmocka_unit_test(test_catalog_routes_accept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
