#include "config.h"
#include "core/msg.h"
#include "core/alloc.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

const char *sw_msg_node_stream(const char *node_id, char out[64])
{
    snprintf(out, 64, "%s%s", SW_STREAM_NODE_PREFIX, node_id);
    return out;
}

const char *sw_msg_results_stream(const char *node_id, char out[64])
{
    snprintf(out, 64, "%s%s", SW_STREAM_RESULTS_PREFIX, node_id);
    return out;
}

const char *sw_msg_usage_stream(const char *node_id, char out[64])
{
    snprintf(out, 64, "%s%s", SW_STREAM_USAGE_PREFIX, node_id);
    return out;
}

int sw_msg_stream_node(const char *stream, const char *prefix, char node_id[SW_UUID_LEN + 1])
{
    size_t n = strlen(prefix);
    if (!stream || strncmp(stream, prefix, n) != 0 || !sw_uuid_valid(stream + n))
        return -1;
    for (size_t i = 0; i <= SW_UUID_LEN; i++)
        node_id[i] = (char)tolower((unsigned char)stream[n + i]);
    return 0;
}

/* A nonce, when present, is SW_NONCE_LEN lower-case hex digits. */
static int get_nonce(const json_t *o, char out[SW_NONCE_LEN + 1], struct sw_err *err)
{
    const char *v = sw_json_str(o, "nonce");
    out[0] = '\0';
    if (!v)
        return 0;
    if (strlen(v) != SW_NONCE_LEN || strspn(v, "0123456789abcdef") != SW_NONCE_LEN) {
        SW_ERR(err, SW_EINVALID, "field \"nonce\" must be %d hex digits", SW_NONCE_LEN);
        return -1;
    }
    memcpy(out, v, SW_NONCE_LEN + 1);
    return 0;
}

static json_t *parse(const char *s, const struct sw_jfield *fields, struct sw_err *err)
{
    if (!s) {
        SW_ERR(err, SW_EINVALID, "message has no body");
        return NULL;
    }
    json_t *o = sw_json_parse_object(s, strlen(s), err);
    if (o && sw_json_check(o, fields, err) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int get_uuid(const json_t *o, const char *key, char out[SW_UUID_LEN + 1],
                    struct sw_err *err)
{
    const char *v = sw_json_str(o, key);
    if (!sw_uuid_valid(v)) {
        SW_ERR(err, SW_EINVALID, "field \"%s\" must be a UUID", key);
        return -1;
    }
    memcpy(out, v, SW_UUID_LEN + 1);
    return 0;
}

static int get_str(const json_t *o, const char *key, char *out, size_t n, struct sw_err *err)
{
    const char *v = sw_json_str(o, key);
    if (!v)
        v = "";
    if (strlen(v) >= n) {
        SW_ERR(err, SW_EINVALID, "field \"%s\" is longer than %zu bytes", key, n - 1);
        return -1;
    }
    memcpy(out, v, strlen(v) + 1);
    return 0;
}

static int get_enum(const json_t *o, const char *key, int (*parse_fn)(const char *), int *out,
                    struct sw_err *err)
{
    int v = parse_fn(sw_json_str(o, key));
    if (v < 0) {
        SW_ERR(err, SW_EINVALID, "field \"%s\" has an unknown value", key);
        return -1;
    }
    *out = v;
    return 0;
}

static int get_count(const json_t *o, const char *key, int64_t *out, struct sw_err *err)
{
    int64_t v = sw_json_int(o, key, 0);
    if (v < 0) {
        SW_ERR(err, SW_EINVALID, "field \"%s\" must not be negative", key);
        return -1;
    }
    *out = v;
    return 0;
}

/* An optional address of family af: absent is "", anything but an address
 * in inet_pton()'s text form is an error. */
static int get_addr(const json_t *o, const char *key, int af, char out[SW_MSG_ADDR_LEN],
                    struct sw_err *err)
{
    if (get_str(o, key, out, SW_MSG_ADDR_LEN, err) < 0)
        return -1;
    unsigned char bin[sizeof(struct in6_addr)];
    if (out[0] && inet_pton(af, out, bin) != 1) {
        SW_ERR(err, SW_EINVALID, "field \"%s\" must be an IPv%d address", key,
               af == AF_INET ? 4 : 6);
        out[0] = '\0';
        return -1;
    }
    return 0;
}

static char *dump_and_free(json_t *o)
{
    char *s = sw_json_dump(o);
    json_decref(o);
    return s;
}

/* ---- job ---- */

static const struct sw_jfield job_fields[] = {
    {"job_id", SW_JT_STRING, true},
    {"server_id", SW_JT_STRING, true},
    {"type", SW_JT_STRING, true},
    {NULL, 0, false},
};

char *sw_msg_job_encode(const struct sw_msg_job *m)
{
    return dump_and_free(json_pack("{s:s, s:s, s:s}", "job_id", m->job_id, "server_id",
                                   m->server_id, "type", sw_job_type_name(m->type)));
}

int sw_msg_job_decode(const char *s, struct sw_msg_job *m, struct sw_err *err)
{
    json_t *o = parse(s, job_fields, err);
    if (!o)
        return -1;
    int rc = (get_uuid(o, "job_id", m->job_id, err) < 0 ||
              get_uuid(o, "server_id", m->server_id, err) < 0 ||
              get_enum(o, "type", sw_job_type_parse, &m->type, err) < 0)
                 ? -1
                 : 0;
    json_decref(o);
    return rc;
}

/* ---- node job ---- */

static const struct sw_jfield node_job_fields[] = {
    {"job_id", SW_JT_STRING, true},   {"server_id", SW_JT_STRING, true},
    {"node_id", SW_JT_STRING, true},  {"type", SW_JT_STRING, true},
    {"kind", SW_JT_STRING, true},     {"vcpus", SW_JT_INT, true},
    {"ram_mb", SW_JT_INT, true},      {"max_ram_mb", SW_JT_INT, true},
    {"swap_mb", SW_JT_INT, true},     {"disk_gb", SW_JT_INT, true},
    {"hostname", SW_JT_STRING, true}, {"os", SW_JT_STRING, true},
    {"password_hash_sealed", SW_JT_STRING, false},
    {"ipv4", SW_JT_STRING, false},    {"ipv6", SW_JT_STRING, false},
    {"nonce", SW_JT_STRING, false},
    /* the template's images */
    {"image_sha256", SW_JT_STRING, false}, {"image_format", SW_JT_STRING, false},
    {"image_bytes", SW_JT_INT, false},     {"kernel_sha256", SW_JT_STRING, false},
    {"kernel_bytes", SW_JT_INT, false},    {"initrd_sha256", SW_JT_STRING, false},
    {"initrd_bytes", SW_JT_INT, false},
    /* guest configuration and plan limits (encode_guest, decode_guest) */
    {"ipv4_prefix", SW_JT_INT, false}, {"ipv4_gateway", SW_JT_STRING, false},
    {"ipv6_gateway", SW_JT_STRING, false}, {"dns", SW_JT_ARRAY, false},
    {"ssh_keys", SW_JT_ARRAY, false}, {"limits", SW_JT_OBJECT, false},
    /* the mounted ISO and the boot order (encode_iso, decode_iso) */
    {"iso_sha256", SW_JT_STRING, false}, {"iso_bytes", SW_JT_INT, false},
    {"boot", SW_JT_STRING, false},
    /* the snapshot a snapshot job acts on (encode_snapshot, decode_snapshot) */
    {"snapshot_id", SW_JT_STRING, false}, {"snapshot_memory", SW_JT_BOOL, false},
    {"backup", SW_JT_OBJECT, false}, /* backup and restore jobs (core/bkmsg.h) */
    {"epoch", SW_JT_INT, false},     /* the placement's epoch (issue 15) */
    {"migrate", SW_JT_OBJECT, false}, /* migrate jobs (core/migmsg.h) */
    {"recover_stopped", SW_JT_BOOL, false}, /* recover jobs (decode_recover) */
    {NULL, 0, false},
};

/* ---- the node job's image refs ---- */

static void encode_images(json_t *o, const struct sw_msg_node_job *m)
{
    if (m->image_sha256[0]) {
        json_object_set_new(o, "image_sha256", json_string(m->image_sha256));
        json_object_set_new(o, "image_format", json_string(m->image_format));
        json_object_set_new(o, "image_bytes", json_integer((json_int_t)m->image_bytes));
    }
    if (m->kernel_sha256[0]) {
        json_object_set_new(o, "kernel_sha256", json_string(m->kernel_sha256));
        json_object_set_new(o, "kernel_bytes", json_integer((json_int_t)m->kernel_bytes));
    }
    if (m->initrd_sha256[0]) {
        json_object_set_new(o, "initrd_sha256", json_string(m->initrd_sha256));
        json_object_set_new(o, "initrd_bytes", json_integer((json_int_t)m->initrd_bytes));
    }
}

/* An optional sha256: absent is "", else SW_MSG_SHA256_LEN lower-case hex
 * digits (the node names a file by it: nothing else may pass). */
static int get_sha256(const json_t *o, const char *key, char out[SW_MSG_SHA256_LEN + 1],
                      struct sw_err *err)
{
    if (get_str(o, key, out, SW_MSG_SHA256_LEN + 1, err) < 0)
        return -1;
    if (out[0] && (strlen(out) != SW_MSG_SHA256_LEN ||
                   strspn(out, "0123456789abcdef") != SW_MSG_SHA256_LEN)) {
        SW_ERR(err, SW_EINVALID, "field \"%s\" must be %d lower-case hex digits", key,
               SW_MSG_SHA256_LEN);
        out[0] = '\0';
        return -1;
    }
    return 0;
}

static int decode_images(const json_t *o, struct sw_msg_node_job *m, struct sw_err *err)
{
    if (get_sha256(o, "image_sha256", m->image_sha256, err) < 0 ||
        get_str(o, "image_format", m->image_format, sizeof m->image_format, err) < 0 ||
        get_count(o, "image_bytes", &m->image_bytes, err) < 0 ||
        get_sha256(o, "kernel_sha256", m->kernel_sha256, err) < 0 ||
        get_count(o, "kernel_bytes", &m->kernel_bytes, err) < 0 ||
        get_sha256(o, "initrd_sha256", m->initrd_sha256, err) < 0 ||
        get_count(o, "initrd_bytes", &m->initrd_bytes, err) < 0)
        return -1;
    /* a pv template boots its own kernel with its initrd, or neither */
    bool kernel = m->kernel_sha256[0], initrd = m->initrd_sha256[0];
    if (kernel != initrd || (kernel ? m->kernel_bytes <= 0 || m->initrd_bytes <= 0
                                    : m->kernel_bytes != 0 || m->initrd_bytes != 0)) {
        SW_ERR(err, SW_EINVALID,
               "fields \"kernel_sha256\" and \"initrd_sha256\" go together, each with its size");
        return -1;
    }
    static const char *const formats[] = {"qcow2", "raw", "tar"};
    bool known = false;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        known = known || strcmp(m->image_format, formats[i]) == 0;
    if (m->image_sha256[0] ? !known : m->image_format[0] != '\0' || m->image_bytes != 0) {
        SW_ERR(err, SW_EINVALID, "field \"image_format\" must be qcow2, raw or tar with an image");
        return -1;
    }
    return 0;
}

static void encode_guest(const struct sw_msg_node_job *m, json_t *o);
static int decode_guest(const json_t *o, struct sw_msg_node_job *m, struct sw_err *err);

/* ---- the node job's ISO (issue 13) ---- */

static void encode_iso(json_t *o, const struct sw_msg_node_job *m)
{
    if (m->iso_sha256[0]) {
        json_object_set_new(o, "iso_sha256", json_string(m->iso_sha256));
        json_object_set_new(o, "iso_bytes", json_integer((json_int_t)m->iso_bytes));
    }
    if (m->boot[0])
        json_object_set_new(o, "boot", json_string(m->boot));
}

/* An ISO comes with its size; boot is "cdrom" or "disk", and "cdrom"
 * only with an ISO to boot from. */
static int decode_iso(const json_t *o, struct sw_msg_node_job *m, struct sw_err *err)
{
    if (get_sha256(o, "iso_sha256", m->iso_sha256, err) < 0 ||
        get_count(o, "iso_bytes", &m->iso_bytes, err) < 0 ||
        get_str(o, "boot", m->boot, sizeof m->boot, err) < 0)
        return -1;
    if (m->iso_sha256[0] ? m->iso_bytes <= 0 : m->iso_bytes != 0) {
        SW_ERR(err, SW_EINVALID, "field \"iso_bytes\" must be the size of iso_sha256's image");
        return -1;
    }
    if (m->boot[0] && strcmp(m->boot, "disk") != 0 &&
        (strcmp(m->boot, "cdrom") != 0 || !m->iso_sha256[0])) {
        SW_ERR(err, SW_EINVALID, "field \"boot\" must be disk, or cdrom with an iso");
        return -1;
    }
    return 0;
}

/* ---- the node job's snapshot (issue 14) ---- */

static void encode_snapshot(json_t *o, const struct sw_msg_node_job *m)
{
    if (m->snapshot_id[0])
        json_object_set_new(o, "snapshot_id", json_string(m->snapshot_id));
    if (m->snapshot_memory)
        json_object_set_new(o, "snapshot_memory", json_true());
}

/* recover_stopped, true on a recover job only (false or absent elsewhere). */
static int decode_recover(const json_t *o, struct sw_msg_node_job *m, struct sw_err *err)
{
    m->recover_stopped = sw_json_bool(o, "recover_stopped", false);
    if (m->recover_stopped && m->type != SW_JOB_RECOVER) {
        SW_ERR(err, SW_EINVALID, "field \"recover_stopped\" belongs to recover jobs");
        return -1;
    }
    return 0;
}

/* A snapshot job names its snapshot; no other job names one. */
static int decode_snapshot(const json_t *o, struct sw_msg_node_job *m, struct sw_err *err)
{
    bool snap = m->type == SW_JOB_SNAPSHOT_CREATE || m->type == SW_JOB_SNAPSHOT_REVERT ||
                m->type == SW_JOB_SNAPSHOT_DELETE;
    m->snapshot_id[0] = '\0';
    m->snapshot_memory = sw_json_bool(o, "snapshot_memory", false);
    if (!snap != !json_object_get(o, "snapshot_id")) {
        SW_ERR(err, SW_EINVALID, "field \"snapshot_id\" belongs to snapshot jobs, and they need it");
        return -1;
    }
    return snap ? get_uuid(o, "snapshot_id", m->snapshot_id, err) : 0;
}

char *sw_msg_node_job_encode(const struct sw_msg_node_job *m)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:s}", "job_id", m->job_id,
        "server_id", m->server_id, "node_id", m->node_id, "type", sw_job_type_name(m->type),
        "kind", sw_plan_kind_name(m->kind), "vcpus", (json_int_t)m->vcpus, "ram_mb",
        (json_int_t)m->ram_mb, "max_ram_mb", (json_int_t)m->max_ram_mb, "swap_mb",
        (json_int_t)m->swap_mb, "disk_gb", (json_int_t)m->disk_gb, "hostname", m->hostname,
        "os", m->os);
    if (m->password_hash_sealed[0])
        json_object_set_new(o, "password_hash_sealed", json_string(m->password_hash_sealed));
    if (m->ipv4[0])
        json_object_set_new(o, "ipv4", json_string(m->ipv4));
    if (m->ipv6[0])
        json_object_set_new(o, "ipv6", json_string(m->ipv6));
    if (m->nonce[0])
        json_object_set_new(o, "nonce", json_string(m->nonce));
    encode_images(o, m);
    encode_guest(m, o);
    encode_iso(o, m);
    encode_snapshot(o, m);
    sw_bkmsg_job_encode(o, m->type, &m->backup);
    if (m->epoch > 0)
        json_object_set_new(o, "epoch", json_integer((json_int_t)m->epoch));
    sw_migmsg_job_encode(o, m->type, &m->migrate);
    if (m->recover_stopped)
        json_object_set_new(o, "recover_stopped", json_true());
    return dump_and_free(o);
}

int sw_msg_node_job_decode(const char *s, struct sw_msg_node_job *m, struct sw_err *err)
{
    json_t *o = parse(s, node_job_fields, err);
    if (!o)
        return -1;
    int rc = -1;
    m->password_hash[0] = '\0'; /* only ever opened by the engine */
    if (get_uuid(o, "job_id", m->job_id, err) < 0 ||
        get_uuid(o, "server_id", m->server_id, err) < 0 ||
        get_uuid(o, "node_id", m->node_id, err) < 0 ||
        get_enum(o, "type", sw_job_type_parse, &m->type, err) < 0 ||
        get_enum(o, "kind", sw_plan_kind_parse, &m->kind, err) < 0 ||
        get_count(o, "vcpus", &m->vcpus, err) < 0 || get_count(o, "ram_mb", &m->ram_mb, err) < 0 ||
        get_count(o, "max_ram_mb", &m->max_ram_mb, err) < 0 ||
        get_count(o, "swap_mb", &m->swap_mb, err) < 0 ||
        get_count(o, "disk_gb", &m->disk_gb, err) < 0 ||
        get_str(o, "hostname", m->hostname, sizeof m->hostname, err) < 0 ||
        get_str(o, "os", m->os, sizeof m->os, err) < 0 ||
        get_str(o, "password_hash_sealed", m->password_hash_sealed,
                sizeof m->password_hash_sealed, err) < 0 ||
        get_addr(o, "ipv4", AF_INET, m->ipv4, err) < 0 ||
        get_addr(o, "ipv6", AF_INET6, m->ipv6, err) < 0 || get_nonce(o, m->nonce, err) < 0 ||
        decode_images(o, m, err) < 0 ||
        decode_guest(o, m, err) < 0 || decode_iso(o, m, err) < 0 ||
        decode_snapshot(o, m, err) < 0 ||
        sw_bkmsg_job_decode(o, m->type, &m->backup, err) < 0 ||
        get_count(o, "epoch", &m->epoch, err) < 0 ||
        sw_migmsg_job_decode(o, m->type, &m->migrate, err) < 0 ||
        decode_recover(o, m, err) < 0)
        goto out;
    if (m->max_ram_mb < m->ram_mb) {
        SW_ERR(err, SW_EINVALID, "max_ram_mb is below ram_mb");
        goto out;
    }
    rc = 0;
out:
    json_decref(o);
    return rc;
}

/* ---- node job: guest configuration and plan limits (issue 13) ---- */

#define LIMIT(field, max) {#field, offsetof(struct sw_msg_limits, field), max}
const struct sw_msg_limit_field sw_msg_limit_fields[] = {
    LIMIT(disk_read_iops, 1000000),
    LIMIT(disk_write_iops, 1000000),
    LIMIT(disk_read_bytes_sec, 100000000000LL),
    LIMIT(disk_write_bytes_sec, 100000000000LL),
    /* libvirt's <bandwidth> attributes are unsigned ints */
    LIMIT(net_average_kbyte_s, 4000000000LL),
    LIMIT(net_peak_kbyte_s, 4000000000LL),
    LIMIT(net_burst_kbyte, 4000000000LL),
    LIMIT(cpu_cap_pct, 100),
    {NULL, 0, 0},
};
#undef LIMIT

const struct sw_msg_limit_field *sw_msg_limit_find(const char *name)
{
    for (const struct sw_msg_limit_field *f = sw_msg_limit_fields; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

int64_t *sw_msg_limit_at(struct sw_msg_limits *l, const struct sw_msg_limit_field *f)
{
    return (int64_t *)(void *)((char *)l + f->off);
}

int sw_msg_limits_check(const struct sw_msg_limits *l, struct sw_err *err)
{
    struct sw_msg_limits c = *l;
    for (const struct sw_msg_limit_field *f = sw_msg_limit_fields; f->name; f++) {
        int64_t v = *sw_msg_limit_at(&c, f);
        if (v < 0 || v > f->max) {
            SW_ERR(err, SW_EINVALID, "%s must be from 0 (no limit) to %lld", f->name,
                   (long long)f->max);
            return -1;
        }
    }
    if (l->net_average_kbyte_s == 0 && (l->net_peak_kbyte_s || l->net_burst_kbyte)) {
        SW_ERR(err, SW_EINVALID, "net_peak_kbyte_s and net_burst_kbyte need a net_average_kbyte_s");
        return -1;
    }
    if (l->net_peak_kbyte_s && l->net_peak_kbyte_s < l->net_average_kbyte_s) {
        SW_ERR(err, SW_EINVALID, "net_peak_kbyte_s must be 0 or at least net_average_kbyte_s (%lld)",
               (long long)l->net_average_kbyte_s);
        return -1;
    }
    return 0;
}

static void encode_guest(const struct sw_msg_node_job *m, json_t *o)
{
    if (m->ipv4_prefix)
        json_object_set_new(o, "ipv4_prefix", json_integer(m->ipv4_prefix));
    if (m->ipv4_gateway[0])
        json_object_set_new(o, "ipv4_gateway", json_string(m->ipv4_gateway));
    if (m->ipv6_gateway[0])
        json_object_set_new(o, "ipv6_gateway", json_string(m->ipv6_gateway));
    if (m->dns_n > 0) {
        json_t *a = json_array();
        for (int i = 0; i < m->dns_n; i++)
            json_array_append_new(a, json_string(m->dns[i]));
        json_object_set_new(o, "dns", a);
    }
    if (m->ssh_keys_n > 0) {
        json_t *a = json_array();
        for (const char *p = m->ssh_keys; *p;) {
            size_t n = strcspn(p, "\n");
            json_array_append_new(a, json_stringn(p, n));
            p += n + (p[n] == '\n');
        }
        json_object_set_new(o, "ssh_keys", a);
    }
    json_t *l = json_object();
    struct sw_msg_limits lim = m->limits;
    for (const struct sw_msg_limit_field *f = sw_msg_limit_fields; f->name; f++)
        if (*sw_msg_limit_at(&lim, f))
            json_object_set_new(l, f->name, json_integer(*sw_msg_limit_at(&lim, f)));
    if (json_object_size(l))
        json_object_set_new(o, "limits", l);
    else
        json_decref(l);
}

/* "dns": at most SW_MSG_DNS_MAX addresses, IPv4 or IPv6. */
static int decode_dns(const json_t *o, struct sw_msg_node_job *m, struct sw_err *err)
{
    const json_t *a = json_object_get(o, "dns");
    size_t i;
    const json_t *v;
    m->dns_n = 0;
    if (json_array_size(a) > SW_MSG_DNS_MAX) {
        SW_ERR(err, SW_EINVALID, "field \"dns\" holds at most %d addresses", SW_MSG_DNS_MAX);
        return -1;
    }
    json_array_foreach(a, i, v) {
        const char *s = json_string_value(v);
        unsigned char bin[sizeof(struct in6_addr)];
        if (!s || strlen(s) >= SW_MSG_ADDR_LEN ||
            (inet_pton(AF_INET, s, bin) != 1 && inet_pton(AF_INET6, s, bin) != 1)) {
            SW_ERR(err, SW_EINVALID, "field \"dns\"[%zu] must be an IP address", i);
            return -1;
        }
        memcpy(m->dns[m->dns_n++], s, strlen(s) + 1);
    }
    return 0;
}

/* "ssh_keys": at most SW_MSG_SSH_KEYS_MAX one-line keys, joined by '\n'. */
static int decode_keys(const json_t *o, struct sw_msg_node_job *m, struct sw_err *err)
{
    const json_t *a = json_object_get(o, "ssh_keys");
    size_t i, used = 0;
    const json_t *v;
    m->ssh_keys_n = 0;
    m->ssh_keys[0] = '\0';
    if (json_array_size(a) > SW_MSG_SSH_KEYS_MAX) {
        SW_ERR(err, SW_EINVALID, "field \"ssh_keys\" holds at most %d keys", SW_MSG_SSH_KEYS_MAX);
        return -1;
    }
    json_array_foreach(a, i, v) {
        const char *s = json_string_value(v);
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || strpbrk(s, "\r\n") || used + n + 1 > sizeof m->ssh_keys) {
            SW_ERR(err, SW_EINVALID,
                   "field \"ssh_keys\"[%zu] must be one key line, all keys within %d bytes", i,
                   SW_MSG_SSH_KEYS_BYTES - 1);
            return -1;
        }
        if (used)
            m->ssh_keys[used++] = '\n';
        memcpy(m->ssh_keys + used, s, n + 1);
        used += n;
        m->ssh_keys_n++;
    }
    return 0;
}

/* "limits": an object of known limits, each an integer in range. */
static int decode_limits(const json_t *o, struct sw_msg_limits *l, struct sw_err *err)
{
    memset(l, 0, sizeof *l);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(o, "limits"), key, v) {
        const struct sw_msg_limit_field *f = sw_msg_limit_find(key);
        if (!f || !json_is_integer(v)) {
            SW_ERR(err, SW_EINVALID, "field \"limits\".\"%s\" is not a known integer limit", key);
            return -1;
        }
        *sw_msg_limit_at(l, f) = (int64_t)json_integer_value(v);
    }
    return sw_msg_limits_check(l, err);
}

static int decode_guest(const json_t *o, struct sw_msg_node_job *m, struct sw_err *err)
{
    int64_t prefix = sw_json_int(o, "ipv4_prefix", 0);
    if (prefix < 0 || prefix > 32 || (prefix && !m->ipv4[0])) {
        SW_ERR(err, SW_EINVALID, "field \"ipv4_prefix\" must be 1..32, with an ipv4");
        return -1;
    }
    m->ipv4_prefix = (int)prefix;
    return get_addr(o, "ipv4_gateway", AF_INET, m->ipv4_gateway, err) < 0 ||
                   get_addr(o, "ipv6_gateway", AF_INET6, m->ipv6_gateway, err) < 0 ||
                   decode_dns(o, m, err) < 0 || decode_keys(o, m, err) < 0 ||
                   decode_limits(o, &m->limits, err) < 0
               ? -1
               : 0;
}

/* ---- result ---- */

static const struct sw_jfield result_fields[] = {
    {"job_id", SW_JT_STRING, true},     {"server_id", SW_JT_STRING, true},
    {"node_id", SW_JT_STRING, true},    {"type", SW_JT_STRING, true},
    {"ok", SW_JT_BOOL, true},           {"retryable", SW_JT_BOOL, false},
    {"error_code", SW_JT_STRING, false}, {"error", SW_JT_STRING, false},
    {"domain_state", SW_JT_STRING, false}, {"note", SW_JT_STRING, false},
    {"nonce", SW_JT_STRING, false},      {"disks", SW_JT_ARRAY, false},
    {"snapshot_bytes", SW_JT_INT, false},
    {"backup", SW_JT_OBJECT, false},
    {"migrate", SW_JT_OBJECT, false},
    {NULL, 0, false},
};

/* ---- result: disks (storage) ---- */

static json_t *disks_encode(const struct sw_msg_result *m)
{
    json_t *a = json_array();
    for (int i = 0; i < m->ndisks && i < SW_MSG_MAX_DISKS; i++) {
        const struct sw_msg_disk *d = &m->disks[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:I}", "role", d->role, "pool",
                                           d->pool, "volume", d->volume, "format", d->format,
                                           "capacity", (json_int_t)d->capacity));
    }
    return a;
}

static const struct sw_jfield disk_fields[] = {
    {"role", SW_JT_STRING, true},   {"pool", SW_JT_STRING, true},
    {"volume", SW_JT_STRING, true}, {"format", SW_JT_STRING, true},
    {"capacity", SW_JT_INT, true},  {NULL, 0, false},
};

static bool one_of(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(s, *set) == 0)
            return true;
    return false;
}

/* Shape only; whose volumes they are is the provisioner's check. */
static int disk_decode(const json_t *o, struct sw_msg_disk *d, struct sw_err *err)
{
    static const char *const roles[] = {"root", "seed", "other", NULL};
    static const char *const formats[] = {"qcow2", "raw", "iso", NULL};
    if (!json_is_object(o) || sw_json_check(o, disk_fields, err) < 0 ||
        get_str(o, "role", d->role, sizeof d->role, err) < 0 ||
        get_str(o, "pool", d->pool, sizeof d->pool, err) < 0 ||
        get_str(o, "volume", d->volume, sizeof d->volume, err) < 0 ||
        get_str(o, "format", d->format, sizeof d->format, err) < 0 ||
        (d->capacity = sw_json_int(o, "capacity", -1)) < 0 || !one_of(d->role, roles) ||
        !one_of(d->format, formats)) {
        SW_ERR(err, SW_EINVALID, "result: a disk is malformed");
        return -1;
    }
    return 0;
}

static int disks_decode(const json_t *o, struct sw_msg_result *m, struct sw_err *err)
{
    const json_t *a = json_object_get(o, "disks");
    m->has_disks = false;
    m->ndisks = 0;
    if (!a)
        return 0;
    if (json_array_size(a) > SW_MSG_MAX_DISKS) {
        SW_ERR(err, SW_EINVALID, "result: too many disks");
        return -1;
    }
    m->has_disks = true;
    for (size_t i = 0; i < json_array_size(a); i++)
        if (disk_decode(json_array_get(a, i), &m->disks[m->ndisks++], err) < 0)
            return -1;
    return 0;
}

char *sw_msg_result_encode(const struct sw_msg_result *m)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "job_id", m->job_id, "server_id",
                          m->server_id, "node_id", m->node_id, "type",
                          sw_job_type_name(m->type), "ok", m->ok, "domain_state",
                          m->domain_state);
    if (!m->ok) {
        json_object_set_new(o, "retryable", json_boolean(m->retryable));
        json_object_set_new(o, "error_code", json_string(m->error_code));
        json_object_set_new(o, "error", json_string(m->error));
    }
    if (m->note[0])
        json_object_set_new(o, "note", json_string(m->note));
    if (m->nonce[0])
        json_object_set_new(o, "nonce", json_string(m->nonce));
    if (m->has_disks)
        json_object_set_new(o, "disks", disks_encode(m));
    if (m->type == SW_JOB_SNAPSHOT_CREATE && m->ok)
        json_object_set_new(o, "snapshot_bytes", json_integer((json_int_t)m->snapshot_bytes));
    sw_bkmsg_result_encode(o, &m->backup);
    sw_migmsg_result_encode(o, &m->migrate);
    return dump_and_free(o);
}

int sw_msg_result_decode(const char *s, struct sw_msg_result *m, struct sw_err *err)
{
    json_t *o = parse(s, result_fields, err);
    if (!o)
        return -1;
    m->ok = sw_json_bool(o, "ok", false);
    m->retryable = sw_json_bool(o, "retryable", false);
    int rc = (get_uuid(o, "job_id", m->job_id, err) < 0 ||
              get_uuid(o, "server_id", m->server_id, err) < 0 ||
              get_uuid(o, "node_id", m->node_id, err) < 0 ||
              get_enum(o, "type", sw_job_type_parse, &m->type, err) < 0 ||
              get_str(o, "error_code", m->error_code, sizeof m->error_code, err) < 0 ||
              get_str(o, "error", m->error, sizeof m->error, err) < 0 ||
              get_str(o, "domain_state", m->domain_state, sizeof m->domain_state, err) < 0 ||
              get_str(o, "note", m->note, sizeof m->note, err) < 0 ||
              get_nonce(o, m->nonce, err) < 0 || disks_decode(o, m, err) < 0 ||
              sw_bkmsg_result_decode(o, &m->backup, err) < 0 ||
              sw_migmsg_result_decode(o, &m->migrate, err) < 0)
                 ? -1
                 : 0;
    m->snapshot_bytes = sw_json_int(o, "snapshot_bytes", -1);
    if (rc == 0 && m->snapshot_bytes < 0 && json_object_get(o, "snapshot_bytes")) {
        SW_ERR(err, SW_EINVALID, "field \"snapshot_bytes\" must not be negative");
        rc = -1;
    }
    json_decref(o);
    return rc;
}

/* ---- usage ---- */

static const struct sw_jfield usage_fields[] = {
    {"sample_id", SW_JT_STRING, true}, {"server_id", SW_JT_STRING, true},
    {"node_id", SW_JT_STRING, true},   {"ts", SW_JT_INT, true},
    {"period_s", SW_JT_INT, true},     {"cpu_ns", SW_JT_INT, true},
    {"mem_mb", SW_JT_INT, true},       {"mem_max_mb", SW_JT_INT, true},
    {"net_rx_bytes", SW_JT_INT, true}, {"net_tx_bytes", SW_JT_INT, true},
    {"disk_rd_bytes", SW_JT_INT, true}, {"disk_wr_bytes", SW_JT_INT, true},
    {"disk_bytes", SW_JT_INT, false},   {NULL, 0, false},
};

char *sw_msg_usage_encode(const struct sw_msg_usage *m)
{
    return dump_and_free(json_pack(
        "{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "sample_id",
        m->sample_id, "server_id", m->server_id, "node_id", m->node_id, "ts", (json_int_t)m->ts,
        "period_s", (json_int_t)m->period_s, "cpu_ns", (json_int_t)m->cpu_ns, "mem_mb",
        (json_int_t)m->mem_mb, "mem_max_mb", (json_int_t)m->mem_max_mb, "net_rx_bytes",
        (json_int_t)m->net_rx_bytes, "net_tx_bytes", (json_int_t)m->net_tx_bytes,
        "disk_rd_bytes", (json_int_t)m->disk_rd_bytes, "disk_wr_bytes",
        (json_int_t)m->disk_wr_bytes, "disk_bytes", (json_int_t)m->disk_bytes));
}

int sw_msg_usage_decode(const char *s, struct sw_msg_usage *m, struct sw_err *err)
{
    json_t *o = parse(s, usage_fields, err);
    if (!o)
        return -1;
    int rc = -1;
    if (get_str(o, "sample_id", m->sample_id, sizeof m->sample_id, err) < 0 ||
        get_uuid(o, "server_id", m->server_id, err) < 0 ||
        get_uuid(o, "node_id", m->node_id, err) < 0 || get_count(o, "ts", &m->ts, err) < 0 ||
        get_count(o, "period_s", &m->period_s, err) < 0 ||
        get_count(o, "cpu_ns", &m->cpu_ns, err) < 0 || get_count(o, "mem_mb", &m->mem_mb, err) < 0 ||
        get_count(o, "mem_max_mb", &m->mem_max_mb, err) < 0 ||
        get_count(o, "net_rx_bytes", &m->net_rx_bytes, err) < 0 ||
        get_count(o, "net_tx_bytes", &m->net_tx_bytes, err) < 0 ||
        get_count(o, "disk_rd_bytes", &m->disk_rd_bytes, err) < 0 ||
        get_count(o, "disk_wr_bytes", &m->disk_wr_bytes, err) < 0 ||
        get_count(o, "disk_bytes", &m->disk_bytes, err) < 0)
        goto out;
    if (m->sample_id[0] == '\0' || m->period_s <= 0 || m->period_s > 86400) {
        SW_ERR(err, SW_EINVALID, "sample_id must be set and period_s within 1..86400");
        goto out;
    }
    rc = 0;
out:
    json_decref(o);
    return rc;
}

/* ---- job progress ---- */

static const struct sw_jfield progress_fields[] = {
    {"job_id", SW_JT_STRING, true}, {"server_id", SW_JT_STRING, true},
    {"node_id", SW_JT_STRING, true}, {"type", SW_JT_STRING, true},
    {"nonce", SW_JT_STRING, true},  {"progress", SW_JT_OBJECT, true},
    {NULL, 0, false},
};

static const struct sw_jfield progress_numbers[] = {
    {"done", SW_JT_INT, true}, {"total", SW_JT_INT, true}, {"run", SW_JT_STRING, true},
    {NULL, 0, false},
};

char *sw_msg_progress_encode(const struct sw_msg_progress *m)
{
    return dump_and_free(json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:I, s:I, s:s}}", "job_id",
                                   m->job_id, "server_id", m->server_id, "node_id", m->node_id,
                                   "type", sw_job_type_name(m->type), "nonce", m->nonce,
                                   "progress", "done", (json_int_t)m->done, "total",
                                   (json_int_t)m->total, "run", m->run));
}

static int progress_numbers_get(const json_t *p, struct sw_msg_progress *m, struct sw_err *err)
{
    if (sw_json_check(p, progress_numbers, err) < 0 || get_count(p, "done", &m->done, err) < 0 ||
        get_count(p, "total", &m->total, err) < 0)
        return -1;
    const char *run = sw_json_str(p, "run");
    if (strlen(run) != SW_PROGRESS_RUN_LEN ||
        strspn(run, "0123456789abcdef") != SW_PROGRESS_RUN_LEN) {
        SW_ERR(err, SW_EINVALID, "progress \"run\" must be %d hex digits", SW_PROGRESS_RUN_LEN);
        return -1;
    }
    memcpy(m->run, run, SW_PROGRESS_RUN_LEN + 1);
    if (m->total <= 0 || m->done > m->total) {
        SW_ERR(err, SW_EINVALID, "progress must have 0 <= done <= total and total > 0");
        return -1;
    }
    return 0;
}

int sw_msg_progress_decode(const char *s, struct sw_msg_progress *m, struct sw_err *err)
{
    json_t *o = s ? json_loads(s, JSON_REJECT_DUPLICATES, NULL) : NULL;
    bool is = json_is_object(o) && json_object_get(o, "progress");
    json_decref(o);
    if (!is)
        return 0;
    memset(m, 0, sizeof *m);
    if (!(o = parse(s, progress_fields, err)))
        return -1;
    int rc = get_uuid(o, "job_id", m->job_id, err) < 0 ||
                     get_uuid(o, "server_id", m->server_id, err) < 0 ||
                     get_uuid(o, "node_id", m->node_id, err) < 0 ||
                     get_enum(o, "type", sw_job_type_parse, &m->type, err) < 0 ||
                     get_nonce(o, m->nonce, err) < 0 ||
                     progress_numbers_get(json_object_get(o, "progress"), m, err) < 0
                 ? -1
                 : 1;
    json_decref(o);
    return rc;
}
