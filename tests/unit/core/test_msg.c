#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/msg.h"

#include <jansson.h>

#define SID "0b1c2d3e-4f50-4612-8734-9a8b7c6d5e4f"
#define JID "11111111-2222-4333-8444-555555555555"
#define NID "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"

static void test_job_roundtrip(void **state)
{
    (void)state;
    struct sw_msg_job a = {JID, SID, SW_JOB_TERMINATE}, b;
    struct sw_err err = {0};
    char *s = sw_msg_job_encode(&a);
    assert_int_equal(sw_msg_job_decode(s, &b, &err), 0);
    assert_string_equal(b.job_id, JID);
    assert_string_equal(b.server_id, SID);
    assert_int_equal(b.type, SW_JOB_TERMINATE);
    free(s);
}

/* A create of an hvm server: 2 vCPUs, 512 MiB bursting to 2048, 20 GB. */
static void node_job(struct sw_msg_node_job *a)
{
    *a = (struct sw_msg_node_job){.type = SW_JOB_CREATE, .kind = SW_KIND_HVM, .vcpus = 2,
                                  .ram_mb = 512, .max_ram_mb = 2048, .swap_mb = 0, .disk_gb = 20};
    strcpy(a->job_id, JID);
    strcpy(a->server_id, SID);
    strcpy(a->node_id, NID);
    strcpy(a->hostname, "web1.example.com");
    strcpy(a->os, "debian-12");
}

static void test_node_job_roundtrip(void **state)
{
    (void)state;
    struct sw_msg_node_job a;
    node_job(&a);
    struct sw_msg_node_job b;
    struct sw_err err = {0};
    char *s = sw_msg_node_job_encode(&a);
    assert_int_equal(sw_msg_node_job_decode(s, &b, &err), 0);
    assert_memory_equal(&a.vcpus, &b.vcpus, sizeof a.vcpus);
    assert_int_equal(b.max_ram_mb, 2048);
    assert_int_equal(b.kind, SW_KIND_HVM);
    assert_string_equal(b.hostname, "web1.example.com");
    assert_string_equal(b.password_hash_sealed, "");
    assert_null(strstr(s, "password_hash"));
    free(s);

    /* Only the sealed value travels; an opened hash is never encoded. */
    a.type = SW_JOB_RESET_PASSWORD;
    strcpy(a.password_hash_sealed, "c2VhbGVk");
    strcpy(a.password_hash, "$6$saltsalt$hash");
    s = sw_msg_node_job_encode(&a);
    assert_null(strstr(s, "$6$"));
    memset(b.password_hash, 'x', sizeof b.password_hash);
    assert_int_equal(sw_msg_node_job_decode(s, &b, &err), 0);
    assert_string_equal(b.password_hash_sealed, "c2VhbGVk");
    assert_string_equal(b.password_hash, "");
    free(s);

    /* A plain hash on the wire is refused (poison), not run. */
    s = sw_msg_node_job_encode(&a);
    char *plain = sw_strdup(s);
    free(s);
    char *f = strstr(plain, "password_hash_sealed");
    memmove(f + strlen("password_hash"), f + strlen("password_hash_sealed"),
            strlen(f + strlen("password_hash_sealed")) + 1);
    assert_non_null(strstr(plain, "\"password_hash\""));
    assert_int_equal(sw_msg_node_job_decode(plain, &b, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    free(plain);
}

/* The addresses are optional, and each must be an address of its family. */
static void test_node_job_addresses(void **state)
{
    (void)state;
    struct sw_msg_node_job a;
    node_job(&a);
    a.type = SW_JOB_REINSTALL;
    struct sw_msg_node_job b;
    struct sw_err err = {0};
    char *s = sw_msg_node_job_encode(&a);
    assert_null(strstr(s, "ipv4"));
    assert_null(strstr(s, "ipv6"));
    assert_int_equal(sw_msg_node_job_decode(s, &b, &err), 0);
    assert_string_equal(b.ipv4, "");
    assert_string_equal(b.ipv6, "");
    free(s);

    strcpy(a.ipv4, "192.0.2.7");
    strcpy(a.ipv6, "2001:db8:d:1::");
    s = sw_msg_node_job_encode(&a);
    assert_int_equal(sw_msg_node_job_decode(s, &b, &err), 0);
    assert_string_equal(b.ipv4, "192.0.2.7");
    assert_string_equal(b.ipv6, "2001:db8:d:1::");
    free(s);

    static const struct {
        const char *v4, *v6;
    } bad[] = {
        {"2001:db8::1", ""},   {"192.0.2.300", ""}, {"192.0.2.7/24", ""}, {"192.0.2", ""},
        {"", "192.0.2.7"},     {"", "2001:db8::/64"}, {"", "2001:db8::g"}, {"' onload='x", ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strcpy(a.ipv4, bad[i].v4);
        strcpy(a.ipv6, bad[i].v6);
        s = sw_msg_node_job_encode(&a);
        assert_int_equal(sw_msg_node_job_decode(s, &b, &err), -1);
        assert_int_equal(err.code, SW_EINVALID);
        assert_non_null(strstr(err.msg, bad[i].v4[0] ? "\"ipv4\"" : "\"ipv6\""));
        free(s);
    }
}

static void test_result_and_usage_roundtrip(void **state)
{
    (void)state;
    struct sw_msg_result r = {.type = SW_JOB_CREATE, .ok = false, .retryable = true};
    strcpy(r.job_id, JID);
    strcpy(r.server_id, SID);
    strcpy(r.node_id, NID);
    strcpy(r.error_code, "unavailable");
    strcpy(r.error, "hypervisor is down");
    strcpy(r.domain_state, "absent");
    struct sw_msg_result r2;
    struct sw_err err = {0};
    char *s = sw_msg_result_encode(&r);
    assert_int_equal(sw_msg_result_decode(s, &r2, &err), 0);
    assert_false(r2.ok);
    assert_true(r2.retryable);
    assert_string_equal(r2.error, "hypervisor is down");
    assert_string_equal(r2.note, "");
    free(s);

    r.ok = true;
    strcpy(r.note, "vcpus apply at next boot");
    s = sw_msg_result_encode(&r);
    assert_int_equal(sw_msg_result_decode(s, &r2, &err), 0);
    assert_true(r2.ok);
    assert_string_equal(r2.note, "vcpus apply at next boot");
    free(s);
    char long_note[300];
    memset(long_note, 'x', sizeof long_note - 1);
    long_note[sizeof long_note - 1] = 0;
    char *bad = sw_asprintf("{\"job_id\":\"%s\",\"server_id\":\"%s\",\"node_id\":\"%s\","
                            "\"type\":\"resize\",\"ok\":true,\"note\":\"%s\"}",
                            JID, SID, NID, long_note);
    assert_int_equal(sw_msg_result_decode(bad, &r2, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    free(bad);

    struct sw_msg_usage u = {.ts = 1700000000, .period_s = 60, .cpu_ns = 123456789,
                             .mem_mb = 512, .mem_max_mb = 1024, .net_rx_bytes = 10,
                             .disk_bytes = 10737418240LL};
    strcpy(u.sample_id, SID ":1700000000");
    strcpy(u.server_id, SID);
    strcpy(u.node_id, NID);
    struct sw_msg_usage u2;
    s = sw_msg_usage_encode(&u);
    assert_int_equal(sw_msg_usage_decode(s, &u2, &err), 0);
    assert_int_equal(u2.cpu_ns, 123456789);
    assert_int_equal(u2.disk_bytes, 10737418240LL);
    assert_string_equal(u2.sample_id, SID ":1700000000");
    free(s);
}

/* The volumes a result names (storage) travel and are checked for shape:
 * a known role and format, a capacity, at most SW_MSG_MAX_DISKS. */
static void test_result_disks(void **state)
{
    (void)state;
    struct sw_msg_result r = {.type = SW_JOB_CREATE, .ok = true, .has_disks = true, .ndisks = 1};
    strcpy(r.job_id, JID);
    strcpy(r.server_id, SID);
    strcpy(r.node_id, NID);
    r.disks[0] = (struct sw_msg_disk){"root", "slipway", "sw-" SID "-root-0.qcow2", "qcow2",
                                      20LL << 30};
    struct sw_msg_result r2;
    struct sw_err err = {0};
    char *s = sw_msg_result_encode(&r);
    assert_int_equal(sw_msg_result_decode(s, &r2, &err), 0);
    assert_true(r2.has_disks);
    assert_int_equal(r2.ndisks, 1);
    assert_string_equal(r2.disks[0].volume, "sw-" SID "-root-0.qcow2");
    assert_int_equal(r2.disks[0].capacity, 20LL << 30);
    free(s);
    r.has_disks = false;
    s = sw_msg_result_encode(&r);
    assert_non_null(s);
    assert_null(strstr(s, "disks"));
    assert_int_equal(sw_msg_result_decode(s, &r2, &err), 0);
    assert_false(r2.has_disks);
    assert_int_equal(r2.ndisks, 0);
    free(s);
    static const char *const bad[] = {
        "[{\"role\":\"swap\",\"pool\":\"p\",\"volume\":\"v\",\"format\":\"raw\",\"capacity\":1}]",
        "[{\"role\":\"root\",\"pool\":\"p\",\"volume\":\"v\",\"format\":\"vmdk\",\"capacity\":1}]",
        "[{\"role\":\"root\",\"pool\":\"p\",\"volume\":\"v\",\"format\":\"raw\",\"capacity\":-1}]",
        "[{\"role\":\"root\",\"pool\":\"p\",\"volume\":\"v\",\"format\":\"raw\"}]",
        "[{\"role\":\"root\",\"pool\":\"p\",\"volume\":\"v\",\"format\":\"raw\",\"capacity\":1,\"x\":1}]",
        "[1]",
        "[{},{},{},{},{}]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *b = sw_asprintf("{\"job_id\":\"%s\",\"server_id\":\"%s\",\"node_id\":\"%s\","
                              "\"type\":\"create\",\"ok\":true,\"disks\":%s}",
                              JID, SID, NID, bad[i]);
        if (sw_msg_result_decode(b, &r2, &err) != -1)
            fail_msg("accepted disks %s", bad[i]);
        assert_int_equal(err.code, SW_EINVALID);
        free(b);
    }
}

/* A node job's nonce travels to the result and back; a bad one is
 * refused; the node a stream belongs to. */
static void test_nonce_and_streams(void **state)
{
    (void)state;
    struct sw_err err = {0};
    struct sw_msg_result r = {.type = SW_JOB_CREATE, .ok = true};
    snprintf(r.job_id, sizeof r.job_id, "11111111-1111-4111-8111-111111111111");
    snprintf(r.server_id, sizeof r.server_id, "22222222-2222-4222-8222-222222222222");
    snprintf(r.node_id, sizeof r.node_id, "33333333-3333-4333-8333-333333333333");
    snprintf(r.nonce, sizeof r.nonce, "0123456789abcdef0123456789abcdef");
    char *s = sw_msg_result_encode(&r);
    struct sw_msg_result back;
    assert_int_equal(sw_msg_result_decode(s, &back, &err), 0);
    assert_string_equal(back.nonce, r.nonce);
    free(s);
    snprintf(r.nonce, sizeof r.nonce, "0123456789ABCDEF0123456789abcdef");
    s = sw_msg_result_encode(&r);
    assert_int_equal(sw_msg_result_decode(s, &back, &err), -1);
    free(s);

    char node[SW_UUID_LEN + 1], stream[64];
    sw_msg_results_stream("33333333-3333-4333-8333-333333333333", stream);
    assert_string_equal(stream, "results:33333333-3333-4333-8333-333333333333");
    assert_int_equal(sw_msg_stream_node(stream, SW_STREAM_RESULTS_PREFIX, node), 0);
    assert_string_equal(node, "33333333-3333-4333-8333-333333333333");
    assert_int_equal(sw_msg_stream_node(stream, SW_STREAM_USAGE_PREFIX, node), -1);
    assert_int_equal(sw_msg_stream_node("results:not-a-uuid", SW_STREAM_RESULTS_PREFIX, node), -1);
    assert_int_equal(sw_msg_stream_node("results", SW_STREAM_RESULTS_PREFIX, node), -1);
}

/* The guest's configuration and the plan's limits survive the round trip;
 * none of them is on the wire when empty. */
static void test_node_job_guest(void **state)
{
    (void)state;
    struct sw_msg_node_job a, b;
    struct sw_err err = {0};
    node_job(&a);
    char *s = sw_msg_node_job_encode(&a);
    static const char *const absent[] = {"ipv4_prefix", "gateway", "dns", "ssh_keys", "limits"};
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
        assert_null(strstr(s, absent[i]));
    free(s);

    strcpy(a.ipv4, "192.0.2.7");
    a.ipv4_prefix = 24;
    strcpy(a.ipv4_gateway, "192.0.2.1");
    strcpy(a.ipv6, "2001:db8:d:1::");
    strcpy(a.ipv6_gateway, "fe80::1");
    a.dns_n = 2;
    strcpy(a.dns[0], "192.0.2.53");
    strcpy(a.dns[1], "2001:db8::53");
    a.ssh_keys_n = 2;
    strcpy(a.ssh_keys, "ssh-ed25519 AAAAC3Nza one@example\nssh-rsa AAAAB3Nza two@example");
    a.limits = (struct sw_msg_limits){.disk_read_iops = 500, .disk_write_bytes_sec = 10485760,
                                      .net_average_kbyte_s = 1000, .net_peak_kbyte_s = 2000,
                                      .net_burst_kbyte = 512, .cpu_cap_pct = 50};
    s = sw_msg_node_job_encode(&a);
    assert_non_null(strstr(s, "\"ssh_keys\":[\"ssh-ed25519 AAAAC3Nza one@example\","));
    assert_null(strstr(s, "disk_write_iops")); /* 0: not sent */
    assert_int_equal(sw_msg_node_job_decode(s, &b, &err), 0);
    free(s);
    assert_int_equal(b.ipv4_prefix, 24);
    assert_string_equal(b.ipv4_gateway, "192.0.2.1");
    assert_string_equal(b.ipv6_gateway, "fe80::1");
    assert_int_equal(b.dns_n, 2);
    assert_string_equal(b.dns[1], "2001:db8::53");
    assert_int_equal(b.ssh_keys_n, 2);
    assert_string_equal(b.ssh_keys, a.ssh_keys);
    assert_memory_equal(&b.limits, &a.limits, sizeof a.limits);
}

/* Each bad guest field is refused by name. */
static void test_node_job_guest_poison(void **state)
{
    (void)state;
    static const struct {
        const char *extra, *name;
    } bad[] = {
        {"\"ipv4_prefix\":33", "ipv4_prefix"},
        {"\"ipv4_prefix\":24", "ipv4_prefix"}, /* without an ipv4 */
        {"\"ipv4_gateway\":\"2001:db8::1\"", "ipv4_gateway"},
        {"\"ipv6_gateway\":\"192.0.2.1\"", "ipv6_gateway"},
        {"\"dns\":[\"1.1.1.1\",\"1.0.0.1\",\"8.8.8.8\",\"8.8.4.4\",\"9.9.9.9\"]", "dns"},
        {"\"dns\":[\"resolver.example\"]", "dns"},
        {"\"dns\":[53]", "dns"},
        {"\"ssh_keys\":[\"ssh-rsa A\\nssh-rsa B\"]", "ssh_keys"},
        {"\"ssh_keys\":[\"\"]", "ssh_keys"},
        {"\"ssh_keys\":[7]", "ssh_keys"},
        {"\"limits\":{\"disk_read_iops\":-1}", "disk_read_iops"},
        {"\"limits\":{\"cpu_cap_pct\":101}", "cpu_cap_pct"},
        {"\"limits\":{\"net_peak_kbyte_s\":10}", "net_average_kbyte_s"},
        {"\"limits\":{\"net_average_kbyte_s\":10,\"net_peak_kbyte_s\":5}", "net_peak_kbyte_s"},
        {"\"limits\":{\"disk_iops\":5}", "disk_iops"},
        {"\"limits\":{\"cpu_cap_pct\":\"50\"}", "cpu_cap_pct"},
    };
    struct sw_msg_node_job a, b;
    node_job(&a);
    char *base = sw_msg_node_job_encode(&a);
    base[strlen(base) - 1] = '\0'; /* drop the closing brace */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char msg[1024];
        struct sw_err err = {0};
        snprintf(msg, sizeof msg, "%s,%s}", base, bad[i].extra);
        assert_int_equal(sw_msg_node_job_decode(msg, &b, &err), -1);
        assert_int_equal(err.code, SW_EINVALID);
        if (!strstr(err.msg, bad[i].name))
            fail_msg("%s: \"%s\" does not name %s", bad[i].extra, err.msg, bad[i].name);
    }
    /* the keys' total is bounded */
    json_t *keys = json_array();
    char key[2001];
    memset(key, 'A', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    memcpy(key, "ssh-rsa ", 8);
    for (int i = 0; i < 9; i++)
        json_array_append_new(keys, json_string(key));
    char *k = json_dumps(keys, JSON_COMPACT);
    json_decref(keys);
    size_t n = strlen(base) + strlen(k) + 32;
    char *msg = malloc(n);
    snprintf(msg, n, "%s,\"ssh_keys\":%s}", base, k);
    struct sw_err err = {0};
    assert_int_equal(sw_msg_node_job_decode(msg, &b, &err), -1);
    assert_non_null(strstr(err.msg, "ssh_keys"));
    free(msg);
    free(k);
    free(base);
}

/* A create may carry a backup (a restore as a new server, core/bkmsg.h):
 * it round-trips; a plain create has none; another type with one is
 * refused. */
static void test_node_job_restoring_create(void **state)
{
    (void)state;
    struct sw_msg_node_job a, b;
    struct sw_err err = {0};
    node_job(&a);
    char *s = sw_msg_node_job_encode(&a);
    assert_null(strstr(s, "\"backup\""));
    free(s);
    strcpy(a.backup.id, JID);
    strcpy(a.backup.account, SID);
    strcpy(a.backup.target, "{\"kind\":\"dir\",\"path\":\"/b\"}");
    strcpy(a.backup.key_sealed, "c2VhbGVk");
    strcpy(a.backup.restore_id, JID);
    s = sw_msg_node_job_encode(&a);
    assert_int_equal(sw_msg_node_job_decode(s, &b, &err), 0);
    assert_int_equal(b.type, SW_JOB_CREATE);
    assert_string_equal(b.backup.id, JID);
    assert_string_equal(b.backup.account, SID);
    assert_string_equal(b.backup.key_sealed, "c2VhbGVk");
    assert_string_equal(b.backup.restore_id, JID);
    char *t = strstr(s, "\"create\"");
    assert_non_null(t);
    char *start = sw_asprintf("%.*s\"start\"%s", (int)(t - s), s, t + strlen("\"create\""));
    assert_int_equal(sw_msg_node_job_decode(start, &b, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    free(start);
    free(s);
}

static void test_poison(void **state)
{
    (void)state;
    struct sw_msg_job j;
    struct sw_msg_usage u;
    struct sw_err err = {0};
    const char *bad[] = {
        NULL,
        "",
        "not json",
        "{\"job_id\":\"x\",\"server_id\":\"" SID "\",\"type\":\"create\"}",
        "{\"job_id\":\"" JID "\",\"server_id\":\"" SID "\",\"type\":\"explode\"}",
        "{\"job_id\":\"" JID "\",\"server_id\":\"" SID "\",\"type\":\"create\",\"x\":1}",
        "{\"job_id\":\"" JID "\",\"server_id\":\"" SID "\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sw_msg_job_decode(bad[i], &j, &err), -1);
        assert_int_equal(err.code, SW_EINVALID);
    }
    /* negative counters and a zero period are refused */
    const char *neg = "{\"sample_id\":\"s\",\"server_id\":\"" SID "\",\"node_id\":\"" NID
                      "\",\"ts\":1,\"period_s\":60,\"cpu_ns\":-5,\"mem_mb\":1,\"mem_max_mb\":1,"
                      "\"net_rx_bytes\":0,\"net_tx_bytes\":0,\"disk_rd_bytes\":0,"
                      "\"disk_wr_bytes\":0}";
    assert_int_equal(sw_msg_usage_decode(neg, &u, &err), -1);
    const char *zero = "{\"sample_id\":\"s\",\"server_id\":\"" SID "\",\"node_id\":\"" NID
                       "\",\"ts\":1,\"period_s\":0,\"cpu_ns\":5,\"mem_mb\":1,\"mem_max_mb\":1,"
                       "\"net_rx_bytes\":0,\"net_tx_bytes\":0,\"disk_rd_bytes\":0,"
                       "\"disk_wr_bytes\":0}";
    assert_int_equal(sw_msg_usage_decode(zero, &u, &err), -1);
    /* disk_bytes is optional, but never negative */
    const char *negdisk = "{\"sample_id\":\"s\",\"server_id\":\"" SID "\",\"node_id\":\"" NID
                          "\",\"ts\":1,\"period_s\":60,\"cpu_ns\":5,\"mem_mb\":1,\"mem_max_mb\":1,"
                          "\"net_rx_bytes\":0,\"net_tx_bytes\":0,\"disk_rd_bytes\":0,"
                          "\"disk_wr_bytes\":0,\"disk_bytes\":-1}";
    assert_int_equal(sw_msg_usage_decode(negdisk, &u, &err), -1);
}

/* The template's image refs: absent for a blank disk, carried whole
 * otherwise, and a sha256 is exactly 64 lower-case hex digits (the node
 * names a file by it). */
static void test_node_job_images(void **state)
{
    (void)state;
    struct sw_msg_node_job a, b;
    struct sw_err err = {0};
    node_job(&a);
    char *s = sw_msg_node_job_encode(&a);
    assert_null(strstr(s, "image_"));
    assert_int_equal(sw_msg_node_job_decode(s, &b, &err), 0);
    assert_string_equal(b.image_sha256, "");
    assert_int_equal(b.image_bytes, 0);
    free(s);

    static const char sha[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    a.kind = SW_KIND_PV;
    strcpy(a.image_sha256, sha);
    strcpy(a.image_format, "qcow2");
    a.image_bytes = 196616;
    strcpy(a.kernel_sha256, sha);
    a.kernel_bytes = 5000000;
    strcpy(a.initrd_sha256, sha);
    a.initrd_bytes = 700000;
    s = sw_msg_node_job_encode(&a);
    assert_int_equal(sw_msg_node_job_decode(s, &b, &err), 0);
    assert_string_equal(b.image_sha256, sha);
    assert_string_equal(b.image_format, "qcow2");
    assert_int_equal(b.image_bytes, 196616);
    assert_string_equal(b.kernel_sha256, sha);
    assert_int_equal(b.kernel_bytes, 5000000);
    assert_string_equal(b.initrd_sha256, sha);
    assert_int_equal(b.initrd_bytes, 700000);
    free(s);

    /* a kernel without its initrd, or either without its size, is poison */
    static const struct {
        bool initrd;
        int64_t kernel_bytes, initrd_bytes;
    } half[] = {{false, 5000000, 0}, {true, 0, 700000}, {true, 5000000, 0}};
    for (size_t i = 0; i < sizeof half / sizeof half[0]; i++) {
        struct sw_msg_node_job c = a;
        if (!half[i].initrd)
            c.initrd_sha256[0] = '\0';
        c.kernel_bytes = half[i].kernel_bytes;
        c.initrd_bytes = half[i].initrd_bytes;
        s = sw_msg_node_job_encode(&c);
        assert_int_equal(sw_msg_node_job_decode(s, &b, &err), -1);
        assert_int_equal(err.code, SW_EINVALID);
        free(s);
    }

    static const struct {
        const char *sha, *format;
    } bad[] = {
        {"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", "qcow2"},
        {"0123456789abcdef", "qcow2"},
        {"../../etc/shadow", "raw"},
        {sha, "vmdk"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strcpy(a.image_sha256, bad[i].sha);
        strcpy(a.image_format, bad[i].format);
        s = sw_msg_node_job_encode(&a);
        assert_int_equal(sw_msg_node_job_decode(s, &b, &err), -1);
        assert_int_equal(err.code, SW_EINVALID);
        free(s);
    }
    /* a kernel sha256 that is not one is refused too */
    strcpy(a.image_sha256, sha);
    strcpy(a.image_format, "raw");
    strcpy(a.kernel_sha256, "/boot/vmlinuz");
    s = sw_msg_node_job_encode(&a);
    assert_int_equal(sw_msg_node_job_decode(s, &b, &err), -1);
    free(s);
}

/* The mounted ISO and boot order (issue 13): absent without, carried
 * whole with, and a boot from the cdrom needs an ISO; a sha256 that is no
 * sha256 or an ISO without its size is poison. */
static void test_node_job_iso(void **state)
{
    (void)state;
    struct sw_msg_node_job a, b;
    struct sw_err err = {0};
    node_job(&a);
    char *s = sw_msg_node_job_encode(&a);
    assert_null(strstr(s, "iso_"));
    assert_null(strstr(s, "\"boot\""));
    assert_int_equal(sw_msg_node_job_decode(s, &b, &err), 0);
    assert_string_equal(b.iso_sha256, "");
    assert_string_equal(b.boot, "");
    free(s);

    static const char sha[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    strcpy(a.iso_sha256, sha);
    a.iso_bytes = 1474560;
    strcpy(a.boot, "cdrom");
    s = sw_msg_node_job_encode(&a);
    assert_int_equal(sw_msg_node_job_decode(s, &b, &err), 0);
    assert_string_equal(b.iso_sha256, sha);
    assert_int_equal(b.iso_bytes, 1474560);
    assert_string_equal(b.boot, "cdrom");
    free(s);

    static const struct {
        const char *sha, *boot;
        int64_t bytes;
    } bad[] = {
        {"../../etc/shadow", "cdrom", 10},
        {sha, "cdrom", 0},   /* an ISO without its size */
        {"", "cdrom", 0},    /* a cdrom boot without an ISO */
        {sha, "network", 10},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strcpy(a.iso_sha256, bad[i].sha);
        strcpy(a.boot, bad[i].boot);
        a.iso_bytes = bad[i].bytes;
        s = sw_msg_node_job_encode(&a);
        assert_int_equal(sw_msg_node_job_decode(s, &b, &err), -1);
        assert_int_equal(err.code, SW_EINVALID);
        free(s);
    }
}

/* recover_stopped: on a recover job it travels; elsewhere it is refused. */
static void test_node_job_recover_stopped(void **state)
{
    (void)state;
    struct sw_msg_node_job a, b;
    struct sw_err err = {0};
    node_job(&a);
    a.type = SW_JOB_RECOVER;
    char *s = sw_msg_node_job_encode(&a);
    assert_null(strstr(s, "recover_stopped"));
    assert_int_equal(sw_msg_node_job_decode(s, &b, &err), 0);
    assert_false(b.recover_stopped);
    free(s);
    a.recover_stopped = true;
    s = sw_msg_node_job_encode(&a);
    assert_int_equal(sw_msg_node_job_decode(s, &b, &err), 0);
    assert_true(b.recover_stopped);
    free(s);
    a.type = SW_JOB_START;
    s = sw_msg_node_job_encode(&a);
    assert_int_equal(sw_msg_node_job_decode(s, &b, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_job_recover_stopped),
        cmocka_unit_test(test_job_roundtrip),
        cmocka_unit_test(test_node_job_roundtrip),
        cmocka_unit_test(test_node_job_addresses),
        cmocka_unit_test(test_node_job_images),
        cmocka_unit_test(test_node_job_iso),
        cmocka_unit_test(test_node_job_guest),
        cmocka_unit_test(test_node_job_guest_poison),
        cmocka_unit_test(test_result_and_usage_roundtrip),
        cmocka_unit_test(test_result_disks),
        cmocka_unit_test(test_nonce_and_streams),
        cmocka_unit_test(test_poison),
        cmocka_unit_test(test_node_job_restoring_create),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
