/* msg.c - fuzz target: core/msg.c, the stream messages as consumers read
 * them. Input: one byte choosing the decoder (job, node job, result,
 * usage), then the entry's "m" field. Oracle: what a decoder accepts
 * encodes and decodes again to the same message; a refusal is SW_EINVALID. */
#include "config.h"
#include "tests/fuzz/fuzz.h"
#include "core/err.h"
#include "core/msg.h"

#define SAME_STR(a, b) SW_FUZZ_ASSERT(strcmp((a), (b)) == 0)

static void job(const char *s)
{
    struct sw_msg_job m, m2;
    struct sw_err err = {0};
    if (sw_msg_job_decode(s, &m, &err) < 0) {
        SW_FUZZ_ASSERT(err.code == SW_EINVALID);
        return;
    }
    char *t = sw_msg_job_encode(&m);
    SW_FUZZ_ASSERT(sw_msg_job_decode(t, &m2, &err) == 0);
    free(t);
    SAME_STR(m.job_id, m2.job_id);
    SAME_STR(m.server_id, m2.server_id);
    SW_FUZZ_ASSERT(m.type == m2.type);
}

static void node_job(const char *s)
{
    struct sw_msg_node_job m, m2;
    struct sw_err err = {0};
    if (sw_msg_node_job_decode(s, &m, &err) < 0) {
        SW_FUZZ_ASSERT(err.code == SW_EINVALID);
        return;
    }
    char *t = sw_msg_node_job_encode(&m);
    SW_FUZZ_ASSERT(sw_msg_node_job_decode(t, &m2, &err) == 0);
    free(t);
    SAME_STR(m.job_id, m2.job_id);
    SAME_STR(m.server_id, m2.server_id);
    SAME_STR(m.node_id, m2.node_id);
    SW_FUZZ_ASSERT(m.type == m2.type && m.kind == m2.kind && m.vcpus == m2.vcpus &&
                   m.ram_mb == m2.ram_mb && m.max_ram_mb == m2.max_ram_mb &&
                   m.swap_mb == m2.swap_mb && m.disk_gb == m2.disk_gb);
    SAME_STR(m.hostname, m2.hostname);
    SAME_STR(m.os, m2.os);
    SAME_STR(m.password_hash_sealed, m2.password_hash_sealed);
    /* the guest's configuration and the plan's limits (issue 13) */
    SW_FUZZ_ASSERT(m.ipv4_prefix == m2.ipv4_prefix && m.dns_n == m2.dns_n &&
                   m.ssh_keys_n == m2.ssh_keys_n &&
                   memcmp(&m.limits, &m2.limits, sizeof m.limits) == 0);
    SAME_STR(m.ipv4_gateway, m2.ipv4_gateway);
    SAME_STR(m.ipv6_gateway, m2.ipv6_gateway);
    for (int i = 0; i < m.dns_n; i++)
        SAME_STR(m.dns[i], m2.dns[i]);
    SAME_STR(m.ssh_keys, m2.ssh_keys);
}

static void result(const char *s)
{
    struct sw_msg_result m, m2;
    struct sw_err err = {0};
    if (sw_msg_result_decode(s, &m, &err) < 0) {
        SW_FUZZ_ASSERT(err.code == SW_EINVALID);
        return;
    }
    char *t = sw_msg_result_encode(&m);
    SW_FUZZ_ASSERT(sw_msg_result_decode(t, &m2, &err) == 0);
    free(t);
    SAME_STR(m.job_id, m2.job_id);
    SAME_STR(m.server_id, m2.server_id);
    SAME_STR(m.node_id, m2.node_id);
    SW_FUZZ_ASSERT(m.type == m2.type && m.ok == m2.ok);
    SAME_STR(m.domain_state, m2.domain_state);
    SAME_STR(m.note, m2.note);
    if (!m.ok) { /* an ok result carries no error fields */
        SW_FUZZ_ASSERT(m.retryable == m2.retryable);
        SAME_STR(m.error_code, m2.error_code);
        SAME_STR(m.error, m2.error);
    }
}

static void usage(const char *s)
{
    struct sw_msg_usage m, m2;
    struct sw_err err = {0};
    if (sw_msg_usage_decode(s, &m, &err) < 0) {
        SW_FUZZ_ASSERT(err.code == SW_EINVALID);
        return;
    }
    SW_FUZZ_ASSERT(m.sample_id[0] && m.period_s >= 1 && m.period_s <= 86400);
    char *t = sw_msg_usage_encode(&m);
    SW_FUZZ_ASSERT(sw_msg_usage_decode(t, &m2, &err) == 0);
    free(t);
    SAME_STR(m.sample_id, m2.sample_id);
    SAME_STR(m.server_id, m2.server_id);
    SAME_STR(m.node_id, m2.node_id);
    SW_FUZZ_ASSERT(m.ts == m2.ts && m.period_s == m2.period_s && m.cpu_ns == m2.cpu_ns &&
                   m.mem_mb == m2.mem_mb && m.mem_max_mb == m2.mem_max_mb &&
                   m.net_rx_bytes == m2.net_rx_bytes && m.net_tx_bytes == m2.net_tx_bytes &&
                   m.disk_rd_bytes == m2.disk_rd_bytes && m.disk_wr_bytes == m2.disk_wr_bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static void (*const decoders[])(const char *) = {job, node_job, result, usage};
    char *s = sw_fuzz_str(data + 1, size - 1);
    decoders[data[0] % 4](s);
    free(s);
    return 0;
}
