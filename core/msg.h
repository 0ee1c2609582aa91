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
#include <stdint.h>

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
    /* reset_password only: the new root password as a crypt(3) hash
     * ("$6$..."), never the password itself, sealed to the node's public
     * key (core/seal.h, base64): on the wire as "password_hash_sealed".
     * Empty for other jobs. */
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

#endif
