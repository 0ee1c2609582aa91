/* msg.h - the messages daemons exchange over Redis streams.
 *
 * Every stream entry has one field "m" holding one of these as a JSON
 * object. Decoders are strict (unknown fields, wrong types and bad ids are
 * SW_EINVALID) so a consumer can dead-letter a poison message at once.
 * Encoders return an owned string (free()).
 *
 * Streams:
 *   "jobs"        panel outbox -> provisioner        struct sw_msg_job
 *   "node:<id>"   provisioner  -> that node's engine struct sw_msg_node_job
 *   "results:<id>" that node's engine -> provisioner  struct sw_msg_result
 *   "usage:<id>"  that node's engine -> billing      struct sw_msg_usage
 *   "dead:<s>"    dead letters of stream <s>         (id, m, why fields)
 * Consumer groups: "provisioners" on jobs and every results:<id>, "engine"
 * on each node stream, "billing" on every usage:<id>.
 *
 * A node writes only its own results:<id> and usage:<id> (its Redis ACL
 * user, provisioner/acl.c), so the stream an entry arrives on names its
 * sender: a node_id inside the message that differs is a forgery. A node
 * job carries a nonce made for that dispatch; the result echoes it, and
 * the provisioner accepts one answer per dispatch (provisioner/results.c).
 */
#ifndef SW_MSG_H
#define SW_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bkmsg.h"
#include "core/migmsg.h"
#include "core/crypto.h"
#include "core/seal.h"

struct sw_err;

#define SW_STREAM_JOBS "jobs"
#define SW_STREAM_RESULTS_PREFIX "results:"
#define SW_STREAM_USAGE_PREFIX "usage:"
#define SW_STREAM_NODE_PREFIX "node:"
#define SW_GROUP_PROVISIONERS "provisioners"
#define SW_GROUP_ENGINE "engine"
#define SW_GROUP_BILLING "billing"


/* An image's sha256 in hex. */
#define SW_MSG_SHA256_LEN 64

/* A dispatch nonce: 16 random bytes in hex. */
#define SW_NONCE_LEN 32

/* A job was committed; the provisioner reads the job row for the rest. */
struct sw_msg_job {
    sw_uuid_t job_id;
    sw_uuid_t server_id;
    int type; /* enum sw_job_type */
};

/* Work for one node's engine. Sizes are what the server's plan gives it;
 * the domain's name is "sw-<server_id>" and its UUID is the server id. */
/* Room for an address in text form, IPv6 included (INET6_ADDRSTRLEN). */
#define SW_MSG_ADDR_LEN 46
#define SW_MSG_DNS_MAX 4
#define SW_MSG_SSH_KEYS_MAX 16
#define SW_MSG_SSH_KEYS_BYTES 16384

/* A plan's I/O, network and CPU limits; 0 is "no limit". Units are those
 * of libvirt's domain XML (engines/README.md "Plan limits"): <iotune>'s
 * operations and bytes per second, <bandwidth>'s kilobytes per second
 * (average, peak) and kilobytes (burst), applied to both directions; and
 * the CPU cap, a percentage of each vCPU (<cputune> quota per vCPU). */
struct sw_msg_limits {
    int64_t disk_read_iops, disk_write_iops;
    int64_t disk_read_bytes_sec, disk_write_bytes_sec;
    int64_t net_average_kbyte_s, net_peak_kbyte_s, net_burst_kbyte;
    int64_t cpu_cap_pct;
};

/* The limits' fields: names (as on the wire, in the API and in plans'
 * columns), where each lives in the struct, and its largest value. */
struct sw_msg_limit_field {
    const char *name;
    size_t off; /* offsetof(struct sw_msg_limits, ...) */
    int64_t max;
};
extern const struct sw_msg_limit_field sw_msg_limit_fields[]; /* ends with {NULL} */
/* Every field within 0..max, a peak or burst only with an average, a peak
 * not below the average. 0, or -1 with err (SW_EINVALID) naming the field. */
int sw_msg_limits_check(const struct sw_msg_limits *l, struct sw_err *err);
/* The field named name, or NULL. */
const struct sw_msg_limit_field *sw_msg_limit_find(const char *name);
/* Field f of l. */
int64_t *sw_msg_limit_at(struct sw_msg_limits *l, const struct sw_msg_limit_field *f);

struct sw_msg_node_job {
    sw_uuid_t job_id;
    sw_uuid_t server_id;
    sw_uuid_t node_id;
    int type; /* enum sw_job_type */
    int kind; /* enum sw_plan_kind */
    int64_t vcpus;
    int64_t ram_mb;     /* guaranteed */
    int64_t max_ram_mb; /* burst ceiling (= ram_mb when none) */
    int64_t swap_mb;
    int64_t disk_gb;
    char hostname[254];
    char os[64]; /* template os, e.g. "debian-12" */
    /* reset_password, and create or reinstall when the order or request
     * gave a password: the root password as a crypt(3) hash ("$6$..."),
     * never the password itself, sealed to the node's public key
     * (core/seal.h, base64): on the wire as "password_hash_sealed".
     * Empty otherwise. */
    char password_hash_sealed[SW_SEAL_B64_MAX];
    /* The engine's side only, never encoded or decoded: the hash it opened
     * from password_hash_sealed (engines/job.c), handed to the guest agent
     * as an encrypted password and wiped after the job. */
    char password_hash[SW_SEAL_PLAIN_MAX];
    /* The server's IPAM addresses as they are when the job is dispatched
     * (create, reinstall and every other job: the current record), each a
     * valid address in text form, "" when it has none of that family: the
     * IPv4 address, and the IPv6 /64's first address (host(servers.ipv6),
     * what the API shows). The engine holds the guest's NIC to them. */
    char ipv4[SW_MSG_ADDR_LEN];
    char ipv6[SW_MSG_ADDR_LEN];
    /* Made for this dispatch (SW_NONCE_LEN hex digits); the result echoes
     * it. "" only in messages made by hand (tests). */
    char nonce[SW_NONCE_LEN + 1];
    /* The template's images (create and reinstall; "" and 0 for other jobs
     * and for a template without one: hvm and pv then get a blank disk of
     * the plan's size, an ISO install). Each sha256 is SW_MSG_SHA256_LEN
     * lower-case hex digits, the name the node fetches it by
     * (GET /v1/node/images/{sha256}, panel/README.md) and checks it
     * against; image_format is qcow2, raw or tar. */
    char image_sha256[SW_MSG_SHA256_LEN + 1];
    char image_format[8];
    int64_t image_bytes;
    /* A pv template's own kernel and initrd (every job of its server, as
     * the ISO: any definition of the domain boots them; engines/kernel.h):
     * both or neither, each with its size; "" and 0 for none. */
    char kernel_sha256[SW_MSG_SHA256_LEN + 1];
    int64_t kernel_bytes;
    char initrd_sha256[SW_MSG_SHA256_LEN + 1];
    int64_t initrd_bytes;
    /* ---- guest configuration and plan limits (issue 13) ---- */
    /* The guest's network beside ipv4/ipv6: the IPv4 pool's prefix length
     * (1..32; 0 when there is no ipv4 or no pool knows it) and gateway,
     * the IPv6 /64's gateway; "" for none. On the wire "ipv4_prefix",
     * "ipv4_gateway", "ipv6_gateway", each absent when empty. */
    int ipv4_prefix;
    char ipv4_gateway[SW_MSG_ADDR_LEN];
    char ipv6_gateway[SW_MSG_ADDR_LEN];
    /* DNS resolvers (IPv4 or IPv6 addresses), the server's IP pools'
     * (provisioner/README.md): "dns", an array of at most SW_MSG_DNS_MAX. */
    int dns_n;
    char dns[SW_MSG_DNS_MAX][SW_MSG_ADDR_LEN];
    /* The order's SSH public keys (servers.ssh_keys), one OpenSSH key line
     * each, joined by '\n' (authorized_keys form, no final newline); on the
     * wire "ssh_keys", an array of at most SW_MSG_SSH_KEYS_MAX lines of at
     * most SW_MSG_SSH_KEYS_BYTES in all. */
    int ssh_keys_n;
    char ssh_keys[SW_MSG_SSH_KEYS_BYTES];
    /* The plan's limits (the new plan's for a resize); "limits", an object
     * of the non-zero ones. */
    struct sw_msg_limits limits;
    /* ---- ISO installs (issue 13, engines/iso.h) ---- */
    /* The ISO mounted on the server's cdrom (every job of an hvm server
     * carries it, so any redefinition keeps the cdrom): its sha256 ("" for
     * none) and size, and the boot order, "cdrom" (the ISO first) or
     * "disk" ("" is disk). On the wire "iso_sha256", "iso_bytes", "boot",
     * each absent when empty. */
    char iso_sha256[SW_MSG_SHA256_LEN + 1];
    int64_t iso_bytes;
    char boot[8];
    /* ---- snapshots (issue 14, engines/snapshot.h) ---- */
    /* The snapshot a snapshot_create/revert/delete acts on ("" for other
     * jobs), and whether a create saves the running guest's memory too.
     * On the wire "snapshot_id" and "snapshot_memory", absent when empty. */
    char snapshot_id[SW_UUID_LEN + 1];
    bool snapshot_memory;
    /* ---- backups (issue 14, core/bkmsg.h): backup and restore jobs ---- */
    struct sw_msg_backup backup;
    /* ---- placement epoch (issue 15, migration 0030) ---- */
    /* servers.epoch when the job was dispatched: the engine writes it into
     * every definition of the domain (<slipway:epoch>), and its
     * reconciliation destroys a copy whose server moved on. On the wire
     * "epoch", absent (0 here) in messages from before epochs; the engine
     * then writes 1. */
    int64_t epoch;
    /* ---- migration (issue 15, core/migmsg.h): migrate jobs ---- */
    struct sw_msg_migrate migrate;
    /* A recover job of a server that was stopped on its failed node: the
     * engine defines it and leaves it stopped. On the wire
     * "recover_stopped", present (true) on such recover jobs only. */
    bool recover_stopped;
};

/* The engine's answer to one node job. */
/* One volume of a server, as an engine's result names it (engines/README.md,
 * "Storage"): role root|seed|other, its pool and volume names, format
 * qcow2|raw|iso, capacity in bytes. */
struct sw_msg_disk {
    char role[8];
    char pool[64];
    char volume[128];
    char format[8];
    int64_t capacity;
};

#define SW_MSG_MAX_DISKS 4

struct sw_msg_result {
    sw_uuid_t job_id;
    sw_uuid_t server_id;
    sw_uuid_t node_id;
    int type; /* enum sw_job_type */
    bool ok;
    bool retryable;   /* when !ok: worth another delivery */
    char error_code[24]; /* when !ok: sw_errc_name() */
    char error[256];     /* when !ok: tenant-safe message */
    char domain_state[24]; /* running|stopped|suspended|absent */
    /* Optional, ok or not: what the operation did that the customer should
     * know, e.g. "memory applied live; vcpus apply at next boot". Shown
     * as the job's "note". Empty: none. */
    char note[160];
    /* The node job's nonce, echoed; "" when the job carried none. */
    char nonce[SW_NONCE_LEN + 1];
    /* Storage (helper "storage"): after a create, reinstall or resize that
     * succeeded, the server's volumes ("disks": has_disks, even when
     * empty); a claim the provisioner checks before recording it. */
    bool has_disks;
    int ndisks;
    struct sw_msg_disk disks[SW_MSG_MAX_DISKS];
    /* snapshot_create that succeeded: the space the snapshot takes (the
     * root volume's allocation after minus before, at least 0), on the wire
     * "snapshot_bytes" (sent with such results only); -1 when a decoded
     * result has none. */
    int64_t snapshot_bytes;
    /* A backup that succeeded: what it did (core/bkmsg.h), "backup". */
    struct sw_msg_backup_result backup;
    /* A migrate job's: what the move did (core/migmsg.h), "migrate". */
    struct sw_msg_migrate_result migrate;
};

/* One usage sample of one server over [ts - period_s, ts). Counters are
 * deltas over the period. sample_id is "<server_id>:<ts>", so a replayed
 * sample has the same id. */
struct sw_msg_usage {
    char sample_id[64];
    sw_uuid_t server_id;
    sw_uuid_t node_id;
    int64_t ts;       /* unix seconds, end of the period */
    int64_t period_s;
    int64_t cpu_ns;
    int64_t mem_mb;     /* current balloon / in use at ts */
    int64_t mem_max_mb;
    int64_t net_rx_bytes, net_tx_bytes;
    int64_t disk_rd_bytes, disk_wr_bytes;
    /* Space the server's volumes take in their pools at ts (their
     * allocation), billed per GB-month; optional on the wire (an engine
     * that does not report it sends none: 0). */
    int64_t disk_bytes;
};

char *sw_msg_job_encode(const struct sw_msg_job *m);
int sw_msg_job_decode(const char *s, struct sw_msg_job *m, struct sw_err *err);
char *sw_msg_node_job_encode(const struct sw_msg_node_job *m);
int sw_msg_node_job_decode(const char *s, struct sw_msg_node_job *m, struct sw_err *err);
char *sw_msg_result_encode(const struct sw_msg_result *m);
int sw_msg_result_decode(const char *s, struct sw_msg_result *m, struct sw_err *err);
char *sw_msg_usage_encode(const struct sw_msg_usage *m);
int sw_msg_usage_decode(const char *s, struct sw_msg_usage *m, struct sw_err *err);

/* Writes "node:<node_id>" into out[64]. */
const char *sw_msg_node_stream(const char *node_id, char out[64]);
/* Writes "results:<node_id>" / "usage:<node_id>" into out[64]. */
const char *sw_msg_results_stream(const char *node_id, char out[64]);
const char *sw_msg_usage_stream(const char *node_id, char out[64]);
/* The node a stream "<prefix><uuid>" belongs to, into node_id (lower
 * case); -1 when stream is not prefix followed by a UUID. */
int sw_msg_stream_node(const char *stream, const char *prefix, char node_id[SW_UUID_LEN + 1]);

/* ---- job progress (issue 14, provisioner/progress.c) ---- */
/* A running job's progress, sent by the engine on its own results:<id>
 * beside its results (at most about one a second, and at each tenth):
 * bytes done of total. On the wire the result's identifying fields (job_id,
 * server_id, node_id, type, nonce: the dispatch it belongs to) and
 * "progress": {"done": N, "total": N, "run": R}; that member tells it from
 * a result. run (SW_PROGRESS_RUN_LEN hex digits, random) names one run of
 * the job: a dispatch delivered again (the engine restarted) counts from 0
 * again under a new run. The decoder checks 0 <= done <= total and
 * total > 0; whether the job and the dispatch are this node's, running,
 * and the numbers monotone within a run is the provisioner's check. */
#define SW_PROGRESS_RUN_LEN 16
struct sw_msg_progress {
    sw_uuid_t job_id;
    sw_uuid_t server_id;
    sw_uuid_t node_id;
    int type; /* enum sw_job_type */
    char nonce[SW_NONCE_LEN + 1];
    int64_t done, total;
    char run[SW_PROGRESS_RUN_LEN + 1];
};

char *sw_msg_progress_encode(const struct sw_msg_progress *m);
/* 1 when s is a progress message, decoded into m; 0 when it is not one
 * (no "progress" member, or not a JSON object: decode it as a result);
 * -1 with err (SW_EINVALID) when it is a progress message that breaks the
 * rules. */
int sw_msg_progress_decode(const char *s, struct sw_msg_progress *m, struct sw_err *err);

#endif
