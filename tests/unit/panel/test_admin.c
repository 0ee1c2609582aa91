/* test_admin.c - panel/admin.c without a database: a node PATCH checked,
 * merged into the node's row and held against what the node runs, a create
 * body checked and given its defaults, and the node and IP pool routes
 * refusing bad bodies before they touch the database. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "panel/admin.h"
#include "tests/unit/panel/testreq.h"

#define ERR_IS sw_testreq_err_is

/* A node of 8 CPUs, 16 GiB (1 GiB reserved), 200 GB, ratios 4 and 1.5,
 * hosting hvm and pv. */
static void node_row(struct sw_node_row *row)
{
    memset(row, 0, sizeof *row);
    row->inv = (struct sw_node_inv){.cpus = 8, .ram_mb = 16384, .reserved_ram_mb = 1024,
                                    .disk_gb = 200, .cpu_ratio_milli = 4000,
                                    .ram_ratio_milli = 1500};
    strcpy(row->engine_uri, "test:///default");
    strcpy(row->kinds, "{pv,hvm}");
    row->mask = 1u << SW_KIND_PV | 1u << SW_KIND_HVM;
    strcpy(row->state, "active");
}

/* sw_node_patch_check's verdict on a body. */
static int check(const char *body, struct sw_err *err)
{
    json_t *b = sw_testreq_json(body);
    sw_err_clear(err);
    int rc = sw_node_patch_check(b, err);
    json_decref(b);
    return rc;
}

static void test_patch_check_refuses(void **state)
{
    (void)state;
    struct sw_err err;
    static const struct {
        const char *body, *msg;
    } cases[] = {
        {"{\"engine_uri\": \"http://x\"}", "engine_uri must be a libvirt URI"},
        {"{\"engine_uri\": \"\"}", "engine_uri must be 1 to 1024 bytes long"},
        {"{\"cpus\": 0}", "cpus must be from 1 to 4096"},
        {"{\"ram_mb\": 255}", "ram_mb must be from 256"},
        {"{\"disk_gb\": 1000001}", "disk_gb must be from 1 to 1000000"},
        {"{\"reserved_ram_mb\": -1}", "reserved_ram_mb must be from 0"},
        {"{\"state\": \"asleep\"}", "state must be active, draining, offline or maintenance"},
        {"{\"kinds\": []}", "kinds must not be empty"},
        {"{\"kinds\": [\"hvm\", \"hvm\"]}", "kinds must list distinct values"},
        {"{\"kinds\": [\"vz\"]}", "kinds must list distinct values"},
        {"{\"cpu_ratio\": 0}", "cpu_ratio must be above 0, at most 1000"},
        {"{\"ram_ratio\": 1000.5}", "ram_ratio must be above 0, at most 1000"},
        {"{\"ram_ratio\": 1.2345}", "ram_ratio must be above 0, at most 1000, with up to 3"},
        {"{\"balloon\": {\"target_pct\": \"x\"}}", "balloon"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (check(cases[i].body, &err) != -1)
            fail_msg("accepted %s", cases[i].body);
        ERR_IS(&err, SW_EINVALID, cases[i].msg);
    }
}

static void test_patch_check_accepts(void **state)
{
    (void)state;
    struct sw_err err;
    assert_int_equal(check("{\"engine_uri\": \"qemu+ssh://h/system\", \"kinds\": [\"hvm\","
                           " \"container\"], \"cpus\": 4096, \"ram_mb\": 256, \"cpu_ratio\":"
                           " 0.125, \"ram_ratio\": 1000, \"state\": \"offline\","
                           " \"balloon\": {\"enabled\": true}}",
                           &err),
                     0);
}

/* Remote libvirt over TLS is a node URI like any other (issue 12). */
static void test_patch_check_accepts_tls_uris(void **state)
{
    (void)state;
    struct sw_err err;
    assert_int_equal(check("{\"engine_uri\": \"qemu+tls://h1.example.com/system\"}", &err), 0);
    assert_int_equal(check("{\"engine_uri\": \"xen+tls://h1.example.com/system\"}", &err), 0);
    assert_int_equal(check("{\"engine_uri\": \"qemu+tcp://h1.example.com/system\"}", &err), -1);
}

/* sw_node_patch_merge of body onto node_row() into *out. */
static int merge(const char *body, struct sw_node_row *out, struct sw_err *err)
{
    struct sw_node_row cur;
    node_row(&cur);
    json_t *b = sw_testreq_json(body);
    sw_err_clear(err);
    int rc = sw_node_patch_merge(&cur, b, out, err);
    json_decref(b);
    return rc;
}

static void test_merge_overlays_what_is_given(void **state)
{
    (void)state;
    struct sw_node_row row;
    struct sw_err err;
    assert_int_equal(merge("{\"kinds\": [\"hvm\", \"container\"], \"cpus\": 16, \"ram_ratio\":"
                           " 1.25, \"state\": \"draining\", \"engine_uri\": \"qemu:///system\"}",
                           &row, &err),
                     0);
    assert_string_equal(row.kinds, "{container,hvm}");
    assert_int_equal(row.mask, 1u << SW_KIND_CONTAINER | 1u << SW_KIND_HVM);
    assert_int_equal(row.inv.cpus, 16);
    assert_int_equal(row.inv.ram_ratio_milli, 1250);
    assert_string_equal(row.state, "draining");
    assert_string_equal(row.engine_uri, "qemu:///system");
    /* What the body leaves out stays. */
    assert_int_equal(row.inv.ram_mb, 16384);
    assert_int_equal(row.inv.reserved_ram_mb, 1024);
    assert_int_equal(row.inv.disk_gb, 200);
    assert_int_equal(row.inv.cpu_ratio_milli, 4000);
}

static void test_merge_keeps_all_on_a_balloon_only_patch(void **state)
{
    (void)state;
    struct sw_node_row row, cur;
    struct sw_err err;
    node_row(&cur);
    assert_int_equal(merge("{\"balloon\": {\"enabled\": false}}", &row, &err), 0);
    assert_memory_equal(&row, &cur, sizeof row);
}

static void test_merge_reserved_below_ram(void **state)
{
    (void)state;
    struct sw_node_row row;
    struct sw_err err;
    /* Each alone is in bounds; against the row's other value it is not. */
    assert_int_equal(merge("{\"reserved_ram_mb\": 16384}", &row, &err), -1);
    ERR_IS(&err, SW_EINVALID, "reserved_ram_mb (16384) must be below ram_mb (16384)");
    assert_int_equal(merge("{\"ram_mb\": 1024}", &row, &err), -1);
    ERR_IS(&err, SW_EINVALID, "reserved_ram_mb (1024) must be below ram_mb (1024)");
    assert_int_equal(merge("{\"ram_mb\": 1024, \"reserved_ram_mb\": 0}", &row, &err), 0);
}

static void test_merge_checks_first(void **state)
{
    (void)state;
    struct sw_node_row row;
    struct sw_err err;
    assert_int_equal(merge("{\"cpus\": 5000}", &row, &err), -1);
    ERR_IS(&err, SW_EINVALID, "cpus must be from 1 to 4096");
}

static void test_fits(void **state)
{
    (void)state;
    struct sw_node_row row;
    struct sw_err err;
    node_row(&row);
    /* capacity: VCPU 32, MEM_GUAR 15360, MEM_MAX 23040, DISK 200 */
    struct sw_amounts used = {{32, 15360, 23040, 200}};
    int64_t live[SW_KIND__COUNT] = {[SW_KIND_HVM] = 3, [SW_KIND_PV] = 1};
    assert_int_equal(sw_node_patch_fits(&row, &used, live, &err), 0);
    used.v[SW_RC_MEM_MAX] = 23041;
    assert_int_equal(sw_node_patch_fits(&row, &used, live, &err), -1);
    ERR_IS(&err, SW_ECONFLICT,
           "the node's allocations would not fit: MEM_MAX used 23041, new capacity 23040");
}

static void test_fits_keeps_live_kinds(void **state)
{
    (void)state;
    struct sw_node_row row;
    struct sw_err err;
    node_row(&row);
    struct sw_amounts used = {{0, 0, 0, 0}};
    int64_t live[SW_KIND__COUNT] = {[SW_KIND_PV] = 2};
    row.mask = 1u << SW_KIND_HVM; /* pv dropped, with 2 servers */
    assert_int_equal(sw_node_patch_fits(&row, &used, live, &err), -1);
    ERR_IS(&err, SW_ECONFLICT, "kinds must keep pv: 2 pv server(s) live on this node");
    live[SW_KIND_HVM] = 1;
    row.mask = 1u << SW_KIND_CONTAINER; /* both dropped: the first by name */
    assert_int_equal(sw_node_patch_fits(&row, &used, live, &err), -1);
    ERR_IS(&err, SW_ECONFLICT, "kinds must keep hvm: 1 hvm server(s)");
    live[SW_KIND_PV] = live[SW_KIND_HVM] = 0; /* nothing lives there: any kinds */
    assert_int_equal(sw_node_patch_fits(&row, &used, live, &err), 0);
}

static void test_capacity_json(void **state)
{
    (void)state;
    struct sw_node_row row;
    node_row(&row);
    struct sw_amounts used = {{3, 2048, 4096, 50}};
    json_t *c = sw_node_capacity_json(&row.inv, &used);
    json_t *want = sw_testreq_json(
        "{\"VCPU\": {\"total\": 8, \"reserved\": 0, \"ratio\": 4.0, \"capacity\": 32,"
        " \"used\": 3, \"free\": 29},"
        " \"MEM_GUAR\": {\"total\": 16384, \"reserved\": 1024, \"ratio\": 1.0,"
        " \"capacity\": 15360, \"used\": 2048, \"free\": 13312},"
        " \"MEM_MAX\": {\"total\": 16384, \"reserved\": 1024, \"ratio\": 1.5,"
        " \"capacity\": 23040, \"used\": 4096, \"free\": 18944},"
        " \"DISK\": {\"total\": 200, \"reserved\": 0, \"ratio\": 1.0, \"capacity\": 200,"
        " \"used\": 50, \"free\": 150}}");
    if (!json_equal(c, want)) {
        char *got = json_dumps(c, JSON_SORT_KEYS);
        fail_msg("capacity: %s", got);
    }
    json_decref(want);
    json_decref(c);
}

/* sw_node_create_check of a body with kinds and extra fields. */
static int create(const char *kinds, const char *extra, struct sw_node_row *out,
                  struct sw_err *err)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"name\": \"n1\", \"location_id\": \"" SW_TEST_ID "\", \"engine_uri\":"
             " \"test:///default\", \"kinds\": %s, \"cpus\": 8, \"ram_mb\": 4096,"
             " \"disk_gb\": 100%s}",
             kinds, extra);
    json_t *b = sw_testreq_json(text);
    sw_err_clear(err);
    int rc = sw_node_create_check(b, out, err);
    json_decref(b);
    return rc;
}

static void test_create_defaults_by_kinds(void **state)
{
    (void)state;
    struct sw_node_row row;
    struct sw_err err;
    assert_int_equal(create("[\"container\"]", "", &row, &err), 0);
    assert_int_equal(row.inv.cpu_ratio_milli, 16000);
    assert_int_equal(row.inv.ram_ratio_milli, 1500);
    assert_string_equal(row.state, "active");
    assert_string_equal(row.engine_uri, "test:///default");
    assert_int_equal(row.inv.reserved_ram_mb, 0);
    assert_int_equal(create("[\"hvm\", \"pv\"]", "", &row, &err), 0);
    assert_string_equal(row.kinds, "{pv,hvm}");
    assert_int_equal(row.inv.cpu_ratio_milli, 4000);
    assert_int_equal(row.inv.ram_ratio_milli, 1000);
    assert_int_equal(create("[\"hvm\", \"container\"]", "", &row, &err), 0);
    assert_int_equal(row.inv.cpu_ratio_milli, 4000);
    assert_int_equal(row.inv.ram_ratio_milli, 1500);
}

static void test_create_takes_what_is_given(void **state)
{
    (void)state;
    struct sw_node_row row;
    struct sw_err err;
    assert_int_equal(create("[\"container\"]",
                            ", \"cpu_ratio\": 2.5, \"ram_ratio\": 1, \"state\": \"offline\","
                            " \"reserved_ram_mb\": 4095",
                            &row, &err),
                     0);
    assert_int_equal(row.inv.cpu_ratio_milli, 2500);
    assert_int_equal(row.inv.ram_ratio_milli, 1000);
    assert_string_equal(row.state, "offline");
    assert_int_equal(row.inv.cpus, 8);
    assert_int_equal(row.inv.ram_mb, 4096);
    assert_int_equal(row.inv.disk_gb, 100);
    assert_int_equal(row.inv.reserved_ram_mb, 4095);
    assert_int_equal(create("[\"container\"]", ", \"reserved_ram_mb\": 4096", &row, &err), -1);
    ERR_IS(&err, SW_EINVALID, "reserved_ram_mb must be below ram_mb");
    assert_int_equal(create("[]", "", &row, &err), -1);
    ERR_IS(&err, SW_EINVALID, "kinds must not be empty");
    assert_int_equal(create("[\"pv\"]", ", \"state\": \"retired\"", &row, &err), -1);
    ERR_IS(&err, SW_EINVALID, "state must be active, draining, offline or maintenance");
}

/* ---- the routes, without a database ---- */

#define NODES "/v1/admin/nodes"
#define NODE "/v1/admin/nodes/{id}"
#define OPR SW_ROLE_OPERATOR

static void test_node_create_refused(void **state)
{
    (void)state;
    static const char ok_rest[] = "\"location_id\": \"" SW_TEST_ID "\", \"engine_uri\":"
                                  " \"test:///default\", \"kinds\": [\"hvm\"], \"cpus\": 8,"
                                  " \"disk_gb\": 100";
    char body[512];
    sw_testreq_refused("POST", NODES, OPR, "{\"name\": \"n\"}", 400, "field \"location_id\"");
    sw_testreq_refused("POST", NODES, OPR, "[]", 400, "a JSON object is expected");
    snprintf(body, sizeof body, "{\"name\": \"n\", %s, \"ram_mb\": 1024, \"color\": 1}", ok_rest);
    sw_testreq_refused("POST", NODES, OPR, body, 400, "unknown field \"color\"");
    snprintf(body, sizeof body, "{\"name\": \"n\", %s, \"ram_mb\": 1024, \"reserved_ram_mb\":"
             " 1024}", ok_rest);
    sw_testreq_refused("POST", NODES, OPR, body, 400, "reserved_ram_mb must be below ram_mb");
    snprintf(body, sizeof body, "{\"name\": \"\", %s, \"ram_mb\": 1024}", ok_rest);
    sw_testreq_refused("POST", NODES, OPR, body, 400, "name must be 1 to 64 bytes long");
    snprintf(body, sizeof body, "{\"name\": \"n\", %s, \"ram_mb\": 1024, \"cpu_ratio\": -1}",
             ok_rest);
    sw_testreq_refused("POST", NODES, OPR, body, 400, "cpu_ratio must be above 0");
    sw_testreq_refused("POST", NODES, OPR,
                       "{\"name\": \"n\", \"location_id\": \"nowhere\", \"engine_uri\":"
                       " \"test:///default\", \"kinds\": [\"hvm\"], \"cpus\": 8, \"disk_gb\": 1,"
                       " \"ram_mb\": 1024}",
                       400, "location_id must be a UUID");
}

static void test_node_patch_refused(void **state)
{
    (void)state;
    sw_testreq_refused("PATCH", NODE, OPR, "{}", 400, "the body names no field to change");
    sw_testreq_refused("PATCH", NODE, OPR, "{\"name\": \"x\"}", 400, "unknown field \"name\"");
    sw_testreq_refused("PATCH", NODE, OPR, "{\"location_id\": \"" SW_TEST_ID "\"}", 400,
                       "unknown field \"location_id\"");
    sw_testreq_refused("PATCH", NODE, OPR, "{\"state\": \"asleep\"}", 400, "state must be");
    sw_testreq_refused("PATCH", NODE, OPR, "{\"kinds\": []}", 400, "kinds must not be empty");
    sw_testreq_refused("PATCH", NODE, OPR, "{\"cpus\": \"8\"}", 400, "field \"cpus\"");
    sw_testreq_refused("PATCH", NODE, OPR, "{\"balloon\": {\"target_pct\": 400}}", 400,
                       "balloon.target_pct");
}

#define POOLS "/v1/admin/ip-pools"

/* A pool body in location SW_TEST_ID: network, then more fields. */
static void pool_refused(const char *network, const char *extra, const char *msg)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"location_id\": \"" SW_TEST_ID "\", \"network\": \"%s\"%s}", network,
             extra);
    sw_testreq_refused("POST", POOLS, OPR, body, 400, msg);
}

static void test_pool_create_refused(void **state)
{
    (void)state;
    pool_refused("192.0.2.0", "", "network must be a CIDR prefix");
    pool_refused("192.0.2.0/24", ", \"dns\": [\"dns.example\"]",
                 "dns[0] must be an IPv4 or IPv6 address");
    pool_refused("192.0.2.0/24", ", \"dns\": [\"1.1.1.1\", 53]",
                 "dns[1] must be an IPv4 or IPv6 address");
    pool_refused("192.0.2.0/24",
                 ", \"dns\": [\"1.1.1.1\", \"1.0.0.1\", \"8.8.8.8\", \"8.8.4.4\", \"::1\"]",
                 "dns holds at most 4 resolvers");
    pool_refused("192.0.2.0/33", "", "network must be a CIDR prefix");
    pool_refused("192.0.2.0/024", "", "network must be a CIDR prefix");
    pool_refused("192.0.2.1/24", "", "network has host bits set: the /24 prefix");
    pool_refused("10.0.0.0/7", "", "network: an IPv4 pool must be a /8 or narrower");
    pool_refused("2000::/15", "", "network: an IPv6 pool must be a /16 or narrower");
    pool_refused("2001:db8::/48", ", \"family\": 4", "family must be 6 for an IPv6 network");
    pool_refused("192.0.2.0/24", ", \"gateway\": \"2001:db8::1\"",
                 "gateway must be an IPv4 address");
    pool_refused("192.0.2.0/24", ", \"gateway\": \"192.0.3.1\"",
                 "gateway must be a host address inside 192.0.2.0/24");
    pool_refused("192.0.2.0/24", ", \"gateway\": \"192.0.2.0\"",
                 "gateway must be a host address inside");
    pool_refused("192.0.2.0/24", ", \"gateway\": \"192.0.2.255\"",
                 "gateway must be a host address inside");
    sw_testreq_refused("POST", POOLS, OPR,
                       "{\"location_id\": \"x\", \"network\": \"192.0.2.0/24\"}", 400,
                       "location_id must be a UUID");
}

static void test_location_create_refused(void **state)
{
    (void)state;
    sw_testreq_refused("POST", "/v1/admin/locations", OPR, "{\"code\": \"\", \"name\": \"x\"}",
                       400, "code must be 1 to 32 bytes long");
    sw_testreq_refused("POST", "/v1/admin/locations", OPR, "{\"code\": \"a\"}", 400,
                       "field \"name\" is required");
}

static void test_node_routes_accept(void **state)
{
    (void)state;
    sw_testreq_accepted("POST", NODES, OPR,
                        "{\"name\": \"n1\", \"location_id\": \"" SW_TEST_ID "\", \"engine_uri\":"
                        " \"qemu+ssh://root@h1/system\", \"kinds\": [\"pv\"], \"cpus\": 4096,"
                        " \"ram_mb\": 256, \"reserved_ram_mb\": 255, \"disk_gb\": 1}");
    sw_testreq_accepted("PATCH", NODE, OPR, "{\"state\": \"draining\", \"cpu_ratio\": 2.5}");
    sw_testreq_accepted("PATCH", NODE, OPR, "{\"balloon\": {\"enabled\": true}}");
    sw_testreq_accepted("POST", "/v1/admin/locations", OPR,
                        "{\"code\": \"fra1\", \"name\": \"Frankfurt\"}");
}

static void test_pool_create_accepts(void **state)
{
    (void)state;
    /* A /31 has no network or broadcast address: its first address is a
     * host. */
    sw_testreq_accepted("POST", POOLS, OPR,
                        "{\"location_id\": \"" SW_TEST_ID "\", \"network\": \"192.0.2.0/31\","
                        " \"gateway\": \"192.0.2.0\"}");
    sw_testreq_accepted("POST", POOLS, OPR,
                        "{\"location_id\": \"" SW_TEST_ID "\", \"network\": \"2001:db8::/48\","
                        " \"gateway\": \"2001:db8::1\", \"family\": 6}");
    sw_testreq_accepted("POST", POOLS, OPR,
                        "{\"location_id\": \"" SW_TEST_ID "\", \"network\": \"10.0.0.0/8\"}");
}

/* A node's pools: defaults filled, each rule refused with its field. */
static void test_pools_rows(void **state)
{
    (void)state;
    struct sw_err err;
    sw_err_clear(&err);
    json_t *in = sw_testreq_json("[{\"name\":\"slipway\"},{\"name\":\"vg-0\",\"type\":\"logical\","
                                 "\"path\":\"vg0\",\"shared\":true,\"disk_ratio\":1.5,"
                                 "\"fill_threshold\":75}]");
    json_t *rows = sw_node_pools_rows(in, &err);
    assert_non_null(rows);
    char *text = json_dumps(rows, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text,
                        "[{\"disk_ratio\":1.0,\"fill_threshold\":90,\"name\":\"slipway\","
                        "\"path\":\"/var/lib/slipway/pools/slipway\",\"position\":0,"
                        "\"shared\":false,\"type\":\"dir\"},{\"disk_ratio\":1.5,"
                        "\"fill_threshold\":75,\"name\":\"vg-0\",\"path\":\"vg0\","
                        "\"position\":1,\"shared\":true,\"type\":\"logical\"}]");
    free(text);
    json_decref(rows);
    json_decref(in);
    static const struct {
        const char *body, *words;
    } bad[] = {
        {"[]", "pools must be"},
        {"[{\"name\":\"-a\"}]", "pools[0].name"},
        {"[{\"name\":\"a/b\"}]", "pools[0].name"},
        {"[{\"name\":\"a\",\"type\":\"lvm\"}]", "pools[0].type"},
        {"[{\"name\":\"a\",\"path\":\"x\"}]", "pools[0].path"},
        {"[{\"name\":\"a\",\"path\":\"/x</path>\"}]", "pools[0].path"},
        {"[{\"name\":\"a\",\"disk_ratio\":-1}]", "pools[0].disk_ratio"},
        {"[{\"name\":\"a\",\"fill_threshold\":0}]", "pools[0].fill_threshold"},
        {"[{\"name\":\"a\"},{\"name\":\"a\"}]", "given twice"},
        {"[{\"name\":\"a\",\"extra\":1}]", "extra"},
        {"[1]", "pools[0]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        in = sw_testreq_json(bad[i].body);
        sw_err_clear(&err);
        rows = sw_node_pools_rows(in, &err);
        if (rows || err.code != SW_EINVALID || !strstr(err.msg, bad[i].words))
            fail_msg("%s: accepted or wrong message \"%s\"", bad[i].body, err.msg);
        json_decref(in);
    }
}

/* What a node's answer adds to each pool: the GiB placement counts and
 * whether it takes new servers (core/diskpool.h). */
static void test_pools_view(void **state)
{
    (void)state;
    json_t *node = sw_testreq_json(
        "{\"pools\":["
        /* 100 GiB x 1.5, 50 GiB used of a 90% threshold */
        "{\"name\":\"a\",\"disk_ratio\":1.500,\"fill_threshold\":90,\"present\":true,"
        "\"capacity_bytes\":107374182400,\"allocation_bytes\":53687091200,"
        "\"reported_at\":\"2026-12-07T04:00:00Z\"},"
        /* 95 of 100 GiB: past 90% */
        "{\"name\":\"b\",\"disk_ratio\":1,\"fill_threshold\":90,\"present\":true,"
        "\"capacity_bytes\":107374182400,\"allocation_bytes\":102005473280,"
        "\"reported_at\":\"2026-12-07T04:00:00Z\"},"
        /* reported missing */
        "{\"name\":\"c\",\"disk_ratio\":1,\"fill_threshold\":90,\"present\":false,"
        "\"capacity_bytes\":null,\"allocation_bytes\":null,"
        "\"reported_at\":\"2026-12-07T04:00:00Z\"},"
        /* not reported yet */
        "{\"name\":\"d\",\"disk_ratio\":1,\"fill_threshold\":90,\"present\":null,"
        "\"capacity_bytes\":null,\"allocation_bytes\":null,\"reported_at\":null}]}");
    sw_node_pools_view(node);
    json_t *pools = json_object_get(node, "pools");
    static const char *const want[] = {
        "{\"capacity_gb\":150,\"full\":false}", "{\"capacity_gb\":100,\"full\":true}",
        "{\"capacity_gb\":0,\"full\":true}", "{\"capacity_gb\":null,\"full\":false}"};
    for (size_t i = 0; i < 4; i++) {
        json_t *o = json_array_get(pools, i);
        json_t *got = json_pack("{s:O, s:O}", "capacity_gb", json_object_get(o, "capacity_gb"),
                                "full", json_object_get(o, "full"));
        char *text = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(text, want[i]);
        free(text);
        json_decref(got);
    }
    json_decref(node);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pools_view),
        cmocka_unit_test(test_patch_check_refuses),
        cmocka_unit_test(test_pools_rows),
        cmocka_unit_test(test_patch_check_accepts),
        cmocka_unit_test(test_patch_check_accepts_tls_uris),
        cmocka_unit_test(test_merge_overlays_what_is_given),
        cmocka_unit_test(test_merge_keeps_all_on_a_balloon_only_patch),
        cmocka_unit_test(test_merge_reserved_below_ram),
        cmocka_unit_test(test_merge_checks_first),
        cmocka_unit_test(test_fits),
        cmocka_unit_test(test_fits_keeps_live_kinds),
        cmocka_unit_test(test_capacity_json),
        cmocka_unit_test(test_create_defaults_by_kinds),
        cmocka_unit_test(test_create_takes_what_is_given),
        cmocka_unit_test(test_node_create_refused),
        cmocka_unit_test(test_node_patch_refused),
        cmocka_unit_test(test_pool_create_refused),
        cmocka_unit_test(test_location_create_refused),
        cmocka_unit_test(test_node_routes_accept),
        cmocka_unit_test(test_pool_create_accepts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
