/* jobdb.h - the job's rows in PostgreSQL: load a job with its server, plan
 * and template, move it to running, finish it. The state changes follow
 * the table in jobstate.c; every writer here expects the job and server
 * rows locked (sw_jobdb_load(..., lock = true) inside a transaction).
 */
#ifndef SW_JOBDB_H
#define SW_JOBDB_H

#include <stdbool.h>

#include "core/bkkey.h"
#include "core/msg.h"
#include "core/resource.h"
#include "core/seal.h"

struct sw_db;
struct sw_err;

/* One job as the consumers need it. Node ids are "" when NULL. */
struct sw_job_row {
    sw_uuid_t job_id;
    sw_uuid_t server_id;
    int type;  /* enum sw_job_type */
    int state; /* enum sw_job_state */
    int attempts;
    sw_uuid_t job_node_id;
    int srv_state; /* enum sw_server_state */
    sw_uuid_t srv_node_id;
    sw_uuid_t location_id; /* requested location; "" for any */
    char hostname[254];
    struct sw_plan_size plan;
    char os[64];
    int template_kind; /* enum sw_plan_kind */
    /* resize: the plan in jobs.params.plan_id (has_target false when it
     * names none); dispatch sends its sizes, plan keeps the current one */
    bool has_target;
    sw_uuid_t target_plan_id;
    struct sw_plan_size target;
    /* reinstall: os and template_kind are those of jobs.params.template_id
     * (has_template false when it names none) */
    bool has_template;
    /* jobs.params.password_hash (a crypt(3) hash): reset_password's new
     * one, or the order's (create) or request's (reinstall) when it gave a
     * password; "" else. Removed from the job when it ends. */
    char password_hash[128];
    /* the server's addresses: host(servers.ipv4), host(servers.ipv6); "" for none */
    char ipv4[SW_MSG_ADDR_LEN];
    char ipv6[SW_MSG_ADDR_LEN];
    /* The public key (base64) of the job's node (jobs.node_id, else the
     * server's), to which dispatch seals the job's secrets; "" when the
     * node has none (enrolled before keys, or inserted by hand). */
    char node_public_key[SW_SEAL_KEY_B64 + 1];
    /* create and reinstall: the disk image of the template the job
     * installs (reinstall: the new one), as the node job carries it; ""
     * and 0 when it has none (a blank disk) */
    char image_sha256[SW_MSG_SHA256_LEN + 1];
    char image_format[8];
    int64_t image_bytes;
    /* every job: that template's own kernel and initrd (pv), both ready
     * or neither ("" and 0) */
    char kernel_sha256[SW_MSG_SHA256_LEN + 1];
    int64_t kernel_bytes;
    char initrd_sha256[SW_MSG_SHA256_LEN + 1];
    int64_t initrd_bytes;
    /* ---- guest configuration and plan limits (issue 13) ---- */
    /* The server's network beyond its addresses, from the IP pools its
     * addresses came from (ip_assignments): the IPv4 pool's prefix length
     * (0: unknown) and gateways ("" for none); DNS resolvers, the IPv4
     * pool's then the IPv6 pool's, duplicates dropped, at most
     * SW_MSG_DNS_MAX. Re-read with the addresses (sw_jobdb_load_addresses). */
    int ipv4_prefix;
    char ipv4_gateway[SW_MSG_ADDR_LEN];
    char ipv6_gateway[SW_MSG_ADDR_LEN];
    int dns_n;
    char dns[SW_MSG_DNS_MAX][SW_MSG_ADDR_LEN];
    /* servers.ssh_keys joined by '\n' (the panel allows no newline in a key) */
    char ssh_keys[SW_MSG_SSH_KEYS_BYTES];
    /* the plan's limits, and (resize, has_target) the new plan's */
    struct sw_msg_limits limits;
    struct sw_msg_limits target_limits;
    /* ---- ISO installs (issue 13) ---- */
    /* Every job: the ISO mounted on the server (servers.iso_id, a ready
     * iso image) and servers.boot ("cdrom" only with that ISO), as the
     * node job carries them; "", 0 and "disk" when none. */
    char iso_sha256[SW_MSG_SHA256_LEN + 1];
    int64_t iso_bytes;
    char boot[8];
    /* snapshot jobs: the snapshot (jobs.params' snapshot_id, "" for other
     * jobs) and whether a create saves memory (its snapshots row) */
    char snapshot_id[SW_UUID_LEN + 1];
    bool snapshot_memory;
    /* backup, restore and a create restoring: the job's backup and target
     * (provisioner/backups.h), no key in it; the account's key and the
     * target's secret as stored, wrapped with the master key (core/bkkey.h):
     * only sw_backups_seal opens them, into its own buffers, and wipes them */
    struct sw_msg_backup backup;
    char backup_key_wrapped[SW_BKKEY_WRAPPED_MAX];
    char backup_secret_wrapped[SW_BKKEY_WRAPPED_MAX];
    /* migrate: the move as its node job carries it (provisioner/migrate.h;
     * zeroed for other jobs, and before the claim names the target) */
    struct sw_msg_migrate migrate;
};

/* Loads job_id. With lock, the job and server rows are locked FOR UPDATE
 * (call inside a transaction). Returns 1 when found, 0 when not, -1 on error. */
int sw_jobdb_load(struct sw_db *db, const char *job_id, bool lock, struct sw_job_row *row,
                  struct sw_err *err);

/* Re-reads row's server addresses (ipv4, ipv6) with their network
 * (prefix, gateways, DNS) and its node's public key: a claim assigns the
 * addresses and the node after the row was loaded. 0, or -1 with err set. */
int sw_jobdb_load_addresses(struct sw_db *db, struct sw_job_row *row, struct sw_err *err);

/* A queued job goes to node_id: state running, attempts + 1 (1 when
 * started_at is NULL: a first start or an operator's retry), started_at,
 * node_id; the server takes srv_state unless it is SW_SRV_KEEP. */
int sw_jobdb_mark_running(struct sw_db *db, const struct sw_job_row *row, const char *node_id,
                          int srv_state, struct sw_err *err);

/* A failed but retryable attempt that will be dispatched again: attempts
 * + 1, error recorded, retry_at = now() + delay_ms (the sweeper dispatches
 * it then); the job stays running. */
int sw_jobdb_note_retry(struct sw_db *db, const struct sw_job_row *row, const char *error_code,
                        const char *error, long delay_ms, struct sw_err *err);

/* Finishes the job (succeeded, or failed with error_code and error, progress
 * 100, finished_at) and applies its effect on the server, the order and the
 * allocation. domain_state may be NULL. */
int sw_jobdb_finish(struct sw_db *db, const struct sw_job_row *row, bool ok, const char *error_code,
                    const char *error, const char *domain_state, struct sw_err *err);

/* sw_jobdb_finish() with the job's final state given: succeeded, failed or
 * dead (dead has the effects of a failure). */
int sw_jobdb_finish_as(struct sw_db *db, const struct sw_job_row *row, int job_state,
                       const char *error_code, const char *error, const char *domain_state,
                       struct sw_err *err);

/* A create whose build failed on its node (non-retryable) moves to the
 * next alternate: when jobs.params.alternates is not empty, the claim is
 * released (allocation and addresses), the server goes back to pending,
 * the job back to queued with params.reclaim (claim.c then tries only the
 * alternates) and the failed node appended to params.failed_nodes. Returns
 * 1 when moved, 0 when there is no alternate left, -1 on error. */
int sw_jobdb_move_to_alternate(struct sw_db *db, const struct sw_job_row *row,
                               const char *error_code, const char *error, struct sw_err *err);

#endif
