/* seed.h - a server's NoCloud seed (cloud-init's "nocloud" datasource):
 * meta-data, user-data and network-config v2, and the ISO 9660 volume
 * labelled "cidata" that carries them to an hvm or pv guest as a read-only
 * cdrom (a container gets the same three files written into its root
 * filesystem, under /var/lib/cloud/seed/nocloud/).
 *
 * Every file is a JSON document (jansson, ASCII only), which is valid YAML:
 * a value can hold quotes, colons, '#' or YAML syntax and still stays one
 * string; control characters are refused. The ISO is made with libisofs
 * (Rock Ridge and Joliet, so the names keep their dashes), in memory; the
 * engine sends it into a storage volume through libvirt
 * (sw_seed_upload), never to a path on the node. */
#ifndef SW_ENGINE_SEED_H
#define SW_ENGINE_SEED_H

#include <libvirt/libvirt.h>
#include <stddef.h>

#include "core/msg.h"

struct sw_err;

/* One server's guest configuration. Every pointer is borrowed; NULL or ""
 * means "none" except for instance_id and hostname, which are required. */
struct sw_seed {
    const char *instance_id; /* the server id */
    const char *hostname;
    const char *mac;          /* the NIC to configure, matched by MAC; NULL: eth0 */
    const char *ipv4;         /* "192.0.2.5" */
    int ipv4_prefix;          /* 1..32 when ipv4 is set */
    const char *ipv4_gateway; /* default route, or NULL */
    const char *ipv6;         /* "2001:db8:1::5" (an address of the server's /64) */
    int ipv6_prefix;          /* 1..128 when ipv6 is set (64 for a /64) */
    const char *ipv6_gateway;
    const char *const *dns; /* resolvers, IPv4 or IPv6 */
    size_t n_dns;
    const char *const *ssh_keys; /* authorized_keys lines for root */
    size_t n_ssh_keys;
    const char *password_hash; /* root's crypt(3) hash, or NULL: password locked */
};

/* The seed as an ISO 9660 image: owned; release with sw_seed_iso_release. */
struct sw_seed_iso {
    unsigned char *bytes;
    size_t len;
};

/* A node job's seed, with the storage its pointers need (sw_seed_of_job). */
struct sw_seed_job {
    struct sw_seed seed; /* borrows from this struct and from the job */
    char instance_id[2 * sizeof(sw_uuid_t)];
    char mac[18];
    char ipv6[SW_MSG_ADDR_LEN]; /* the guest's address in its /64 */
    const char *dns[SW_MSG_DNS_MAX];
    const char *keys[SW_MSG_SSH_KEYS_MAX];
    char key_text[SW_MSG_SSH_KEYS_BYTES];
};

/* Fills sj with job's guest configuration: instance_id (NULL: the server
 * id), the hostname, the NIC's MAC (sw_domdef_mac), the IPv4 address with
 * its prefix (32 when the job knows none) and gateway, the guest's IPv6
 * address (the /64's ::1, or ::2 when ::1 is the gateway) with prefix 64
 * and gateway, the resolvers, the SSH key lines and the root password hash
 * the job opened (none: locked). An older job without guest data still
 * gives instance id and hostname. sj->seed borrows job's strings: keep job
 * alive and unchanged while it is used. Values are not checked here
 * (sw_seed_check does it when the seed is written). */
void sw_seed_of_job(const struct sw_msg_node_job *job, const char *instance_id,
                    struct sw_seed_job *sj);

/* Checks s: required fields, addresses and prefixes that parse, no control
 * characters in any value. Returns 0, or -1 with err (invalid) set. */
int sw_seed_check(const struct sw_seed *s, struct sw_err *err);

/* The three files' text, each NUL-terminated. Return owned strings (free
 * with free(); user-data holds the password hash: wipe it first), or NULL
 * with err set when s does not pass sw_seed_check. */
char *sw_seed_meta_data(const struct sw_seed *s, struct sw_err *err);
char *sw_seed_user_data(const struct sw_seed *s, struct sw_err *err);
char *sw_seed_network_config(const struct sw_seed *s, struct sw_err *err);

/* Builds the "cidata" ISO of s into *iso. Returns 0, or -1 with err set
 * (invalid input, or libisofs failed: internal). */
int sw_seed_iso(const struct sw_seed *s, struct sw_seed_iso *iso, struct sw_err *err);

/* Wipes and frees iso's bytes (they hold the password hash). */
void sw_seed_iso_release(struct sw_seed_iso *iso);

/* Replaces vol's content with iso through libvirt (virStorageVolUpload on a
 * stream): works the same with a remote libvirt. vol must be at least
 * iso->len bytes. Returns 0, or -1 with err set (unavailable, retryable). */
int sw_seed_upload(virStorageVolPtr vol, const struct sw_seed_iso *iso, struct sw_err *err);

#endif
