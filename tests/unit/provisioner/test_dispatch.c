/* Unit tests for provisioner/dispatch.c: the node job built from a job row. */
#include "config.h"
/* cmocka needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>
#include <string.h>

#include "core/enums.h"
#include "core/err.h"
#include "core/msg.h"
#include "provisioner/dispatch.h"
#include "provisioner/jobdb.h"

#define JOB "11111111-1111-4111-8111-111111111111"
#define SRV "22222222-2222-4222-8222-222222222222"
#define NODE "33333333-3333-4333-8333-333333333333"

static struct sw_job_row mkrow(int kind, int64_t ram, int64_t burst, int64_t swap)
{
    struct sw_job_row r;
    memset(&r, 0, sizeof r);
    strcpy(r.job_id, JOB);
    strcpy(r.server_id, SRV);
    r.type = SW_JOB_CREATE;
    r.plan = (struct sw_plan_size){kind, 2, ram, burst, swap, 40};
    strcpy(r.hostname, "web1.example.com");
    strcpy(r.os, "debian-12");
    r.template_kind = kind;
    return r;
}

static void test_hvm_sizes(void **state)
{
    (void)state;
    struct sw_job_row r = mkrow(SW_KIND_HVM, 1024, 8192, 0);
    struct sw_msg_node_job m;
    assert_int_equal(sw_dispatch_build(&r, NODE, &m, NULL), 0);
    assert_string_equal(m.job_id, JOB);
    assert_string_equal(m.server_id, SRV);
    assert_string_equal(m.node_id, NODE);
    assert_int_equal(m.type, SW_JOB_CREATE);
    assert_int_equal(m.kind, SW_KIND_HVM);
    assert_int_equal(m.vcpus, 2);
    assert_int_equal(m.ram_mb, 2048); /* guarantee: max / 4 */
    assert_int_equal(m.max_ram_mb, 8192);
    assert_int_equal(m.disk_gb, 40);
    assert_string_equal(m.hostname, "web1.example.com");
    assert_string_equal(m.os, "debian-12");
    assert_string_equal(m.ipv4, "");
    assert_string_equal(m.ipv6, "");
}

/* Every job type carries the server's current addresses. */
static void test_addresses(void **state)
{
    (void)state;
    struct sw_job_row r = mkrow(SW_KIND_HVM, 1024, 0, 0);
    strcpy(r.ipv4, "192.0.2.9");
    strcpy(r.ipv6, "2001:db8:d:2::");
    static const int types[] = {SW_JOB_CREATE, SW_JOB_REINSTALL, SW_JOB_RESIZE, SW_JOB_START};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        r.type = types[i];
        struct sw_msg_node_job m;
        assert_int_equal(sw_dispatch_build(&r, NODE, &m, NULL), 0);
        assert_string_equal(m.ipv4, "192.0.2.9");
        assert_string_equal(m.ipv6, "2001:db8:d:2::");
    }
}

static void test_container_and_pv_sizes(void **state)
{
    (void)state;
    struct sw_job_row r = mkrow(SW_KIND_CONTAINER, 1024, 0, 512);
    struct sw_msg_node_job m;
    assert_int_equal(sw_dispatch_build(&r, NODE, &m, NULL), 0);
    assert_int_equal(m.ram_mb, 1024);
    assert_int_equal(m.max_ram_mb, 1536);
    assert_int_equal(m.swap_mb, 512);
    r = mkrow(SW_KIND_PV, 4096, 0, 0);
    r.type = SW_JOB_TERMINATE;
    assert_int_equal(sw_dispatch_build(&r, NODE, &m, NULL), 0);
    assert_int_equal(m.type, SW_JOB_TERMINATE);
    assert_int_equal(m.ram_mb, 4096);
    assert_int_equal(m.max_ram_mb, 4096);
}

/* What we build, the engine's decoder accepts. */
static void test_round_trip(void **state)
{
    (void)state;
    struct sw_job_row r = mkrow(SW_KIND_HVM, 2048, 4096, 0);
    struct sw_msg_node_job m, back;
    assert_int_equal(sw_dispatch_build(&r, NODE, &m, NULL), 0);
    char *s = sw_msg_node_job_encode(&m);
    struct sw_err err;
    sw_err_clear(&err);
    assert_int_equal(sw_msg_node_job_decode(s, &back, &err), 0);
    free(s);
    assert_int_equal(back.ram_mb, m.ram_mb);
    assert_int_equal(back.max_ram_mb, m.max_ram_mb);
    assert_string_equal(back.os, "debian-12");
    assert_string_equal(back.node_id, NODE);
}

/* A reset_password's hash travels sealed to the node's key, never plain. */
static void test_sealed_password(void **state)
{
    (void)state;
    struct sw_job_row r = mkrow(SW_KIND_HVM, 2048, 4096, 0);
    r.type = SW_JOB_RESET_PASSWORD;
    strcpy(r.password_hash, "$6$saltsaltsaltsalt$hashhashhash");
    char sk[SW_SEAL_KEY_B64 + 1];
    sw_seal_keypair(r.node_public_key, sk);
    struct sw_msg_node_job m;
    struct sw_err err;
    sw_err_clear(&err);
    assert_int_equal(sw_dispatch_build(&r, NODE, &m, &err), 0);
    assert_string_equal(m.password_hash, "");
    char *s = sw_msg_node_job_encode(&m);
    assert_null(strstr(s, "$6$"));
    assert_non_null(strstr(s, "password_hash_sealed"));
    free(s);
    unsigned char key[SW_SEAL_KEY_BYTES];
    char opened[SW_SEAL_PLAIN_MAX];
    assert_int_equal(sw_seal_key_parse(sk, "sk", key, &err), 0);
    assert_int_equal(sw_seal_open(key, m.password_hash_sealed, opened, sizeof opened, &err), 0);
    assert_string_equal(opened, r.password_hash);

    /* Other jobs carry no secret; a node without a key gets none. */
    r.type = SW_JOB_START;
    assert_int_equal(sw_dispatch_build(&r, NODE, &m, &err), 0);
    assert_string_equal(m.password_hash_sealed, "");
    r.type = SW_JOB_RESET_PASSWORD;
    r.node_public_key[0] = '\0';
    assert_int_equal(sw_dispatch_build(&r, NODE, &m, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    assert_false(err.retryable);
    assert_non_null(strstr(err.msg, "rekey"));
}

/* The guest's configuration: network, keys, the plan's limits (a resize's
 * new plan's), and a create's password hash sealed like reset_password's. */
static void test_guest_config(void **state)
{
    (void)state;
    struct sw_job_row r = mkrow(SW_KIND_HVM, 2048, 4096, 0);
    strcpy(r.ipv4, "192.0.2.9");
    r.ipv4_prefix = 24;
    strcpy(r.ipv4_gateway, "192.0.2.1");
    strcpy(r.ipv6_gateway, "2001:db8::1");
    r.dns_n = 1;
    strcpy(r.dns[0], "192.0.2.53");
    strcpy(r.ssh_keys, "ssh-ed25519 AAAA one\nssh-ed25519 BBBB two\nssh-rsa CCCC three");
    r.limits.disk_read_iops = 100;
    r.target_limits.disk_read_iops = 900;
    r.target_limits.cpu_cap_pct = 25;
    strcpy(r.password_hash, "$6$saltsaltsaltsalt$hashhashhash");
    char sk[SW_SEAL_KEY_B64 + 1];
    sw_seal_keypair(r.node_public_key, sk);
    struct sw_msg_node_job m;
    struct sw_err err;
    sw_err_clear(&err);
    assert_int_equal(sw_dispatch_build(&r, NODE, &m, &err), 0);
    assert_int_equal(m.ipv4_prefix, 24);
    assert_string_equal(m.ipv4_gateway, "192.0.2.1");
    assert_string_equal(m.ipv6_gateway, "2001:db8::1");
    assert_int_equal(m.dns_n, 1);
    assert_int_equal(m.ssh_keys_n, 3);
    assert_int_equal(m.limits.disk_read_iops, 100);
    assert_int_equal(m.limits.cpu_cap_pct, 0);
    assert_string_not_equal(m.password_hash_sealed, "");

    r.type = SW_JOB_RESIZE;
    r.has_target = true;
    r.target = r.plan;
    assert_int_equal(sw_dispatch_build(&r, NODE, &m, &err), 0);
    assert_int_equal(m.limits.disk_read_iops, 900);
    assert_int_equal(m.limits.cpu_cap_pct, 25);
    assert_string_equal(m.password_hash_sealed, ""); /* a resize sets no password */

    r.type = SW_JOB_REINSTALL;
    assert_int_equal(sw_dispatch_build(&r, NODE, &m, &err), 0);
    assert_string_not_equal(m.password_hash_sealed, "");
    assert_int_equal(m.limits.disk_read_iops, 100);

    /* no ipv4: no prefix either, whatever the row says */
    r.ipv4[0] = '\0';
    assert_int_equal(sw_dispatch_build(&r, NODE, &m, &err), 0);
    assert_int_equal(m.ipv4_prefix, 0);
    r.ssh_keys[0] = '\0';
    assert_int_equal(sw_dispatch_build(&r, NODE, &m, &err), 0);
    assert_int_equal(m.ssh_keys_n, 0);
}

int main(void)
{
    if (sw_crypto_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sealed_password),
        cmocka_unit_test(test_hvm_sizes),
        cmocka_unit_test(test_container_and_pv_sizes),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_guest_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
