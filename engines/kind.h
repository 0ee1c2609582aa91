/* kind.h - the driver contract below the dispatcher: what a plan kind's
 * driver table holds, and what its operations work on and leave behind
 * (libvirt's src/driver-hypervisor.h). The dispatcher (driver.h) picks a
 * kind's table and calls into it; nothing here calls back up into it, so
 * the operations (virt.c), domain definition (domdef.c) and the kinds'
 * tables (container.c, pv.c, hvm.c) include this header, never driver.h
 * (tests/lint/layering.sh checks it).
 *
 * Every operation is idempotent on the server id: the domain's name is
 * "sw-<server_id>" and its UUID is the server id, so a replayed job finds
 * the domain an earlier delivery made. See engines/README.md for what each
 * operation guarantees.
 */
#ifndef SW_ENGINES_KIND_H
#define SW_ENGINES_KIND_H

#include <stdbool.h>
#include <stdint.h>

#include <libvirt/libvirt.h>

#include "core/msg.h"

struct sw_err;
struct sw_domxml_vars;

#define SW_ENGINE_DOMAIN_PREFIX "sw-"
/* The namespace of the templates' <slipway:server> metadata. */
#define SW_ENGINE_DOMAIN_NS "https://slipway.dev/xmlns/domain/1"
/* Where node-local images, container roots and kernels live (not yet a
 * config key: storage provisioning is later work). */
#define SW_ENGINE_STATE_DIR "/var/lib/slipway"
/* Graceful shutdown waits this long before the domain is destroyed. */
#define SW_ENGINE_STOP_TIMEOUT_MS 60000

/* A hypervisor family, chosen from the libvirt URI scheme. */
struct sw_hypervisor {
    const char *scheme;        /* URI scheme without "+transport": "qemu" */
    const char *name;          /* template suffix: templates/domain/<kind>-<name>.xml */
    const char *domain_type;   /* <domain type='...'> this hypervisor prefers */
    const char *fallback_type; /* used when the host cannot run domain_type (no KVM); or NULL */
    bool guest_agent;          /* libvirt reaches a guest agent here (qemu-guest-agent channel) */
    /* <cputune><shares> per vCPU: 256 on Xen (its credit scheduler's
     * default weight, so hvm and pv guests on one Xen node weigh alike),
     * 1024 elsewhere (cgroup cpu.shares). */
    int cpu_weight;
    /* Why slipway cannot drive this hypervisor, or NULL: a scheme it knows
     * and refuses (sw_hypervisor_from_uri answers SW_EUNSUPPORTED). */
    const char *refused;
};

struct sw_engine_driver;
struct sw_image_source;

/* What the driver operations work on: one node's libvirt connection. */
/* What a guest's NIC attaches to on its node: a libvirt network, or a
 * host bridge (SLIPWAY_NETWORK, parsed by sw_domdef_net_parse()). */
struct sw_engine_net {
    char type[8];    /* "network" or "bridge": the <interface type> and <source> attribute */
    char source[64]; /* the network's or bridge's name */
};

/* One of the node's storage pools (node_pools, migration 0019). */
struct sw_engine_pool {
    char name[64];   /* the libvirt pool's name: [a-z0-9][a-z0-9_-]* */
    char type[12];   /* dir, logical, zfs, netfs, rbd */
    char path[512];  /* dir: its directory (the engine makes the pool when missing) */
    bool shared;     /* seen by several nodes (migration and HA, later) */
    int fill_threshold; /* percent of capacity past which no new volume goes there */
};

struct sw_engine {
    /* Borrowed; shared by the engine's threads (libvirt connections are
     * thread-safe) and open for the life of the process: the test driver
     * forgets its domains when its connection closes. May be NULL in tests
     * that never reach libvirt. */
    virConnectPtr conn;
    const struct sw_hypervisor *hv; /* borrowed static entry */
    const char *domain_type;        /* borrowed; NULL: hv->domain_type */
    const char *templates_dir;      /* borrowed; holds domain/<kind>-<hv>.xml */
    const char *state_dir;          /* borrowed; NULL: SW_ENGINE_STATE_DIR */
    const struct sw_engine_net *net; /* borrowed; NULL: the libvirt network "default" */
    const char *node_id;            /* borrowed */
    /* The node's X25519 secret key (SW_SEAL_KEY_BYTES, borrowed), which
     * opens the secrets sealed in its jobs (job.c); NULL: none configured,
     * and a job carrying a secret fails. */
    const unsigned char *secret_key;
    /* Where the node fetches its servers' images (engines/image.h), or
     * NULL: a job's image must already be in the pool. Borrowed. */
    const struct sw_image_source *images;
    /* The node's storage pools (borrowed, read at start; a pool declared
     * later is appended by the engine's sampler, then npools published:
     * entries below npools never change); npools 0: the default dir pool
     * "slipway" under <state_dir>/pools/slipway. */
    const struct sw_engine_pool *pools;
    _Atomic size_t npools;
    unsigned kinds;                 /* bit (1u << kind) per kind the node hosts; 0: all */
    int stop_timeout_ms;            /* 0: SW_ENGINE_STOP_TIMEOUT_MS */
    /* The ledger re-check before anything is defined (create of an absent
     * domain, reinstall, a resize that grows): 0 when the node's ledger
     * still holds every guarantee with job's sizes in it, or -1 with err
     * set (SW_EUNPROCESSABLE, or SW_EUNAVAILABLE + retryable when the
     * ledger cannot be read). NULL: no check (unit tests without a
     * database). See engines/ledger.h. */
    int (*admit)(void *ctx, const struct sw_msg_node_job *job, struct sw_err *err);
    void *admit_ctx;
    /* Before any job but a migration runs: 0 when the job's server still
     * lives on this node at the job's epoch, -1 with err set (SW_ECONFLICT:
     * it moved; SW_EUNAVAILABLE + retryable: not known now). NULL: no check
     * (unit tests without a database). See engines/epoch.h. */
    int (*placed)(void *ctx, const struct sw_msg_node_job *job, struct sw_err *err);
    void *placed_ctx;
    /* The kinds' tables, indexed by kind (borrowed); NULL: the built-in
     * ones (driver.c). Tests put their own here: a NULL operation, an
     * operation that fails. */
    const struct sw_engine_driver *const *drivers;
    /* Whether an operator cancelled job_id, running on this node (a
     * migration polls it while it moves): 1 yes, 0 no or unknown. NULL:
     * never (engines/nodedb.h: sw_nodedb_job_cancelled, ctx admit_ctx). */
    int (*cancelled)(void *ctx, const char *job_id);
};

/* Domain states reported in results. */
#define SW_DOMAIN_RUNNING "running"
#define SW_DOMAIN_STOPPED "stopped"
#define SW_DOMAIN_SUSPENDED "suspended"
#define SW_DOMAIN_ABSENT "absent"

/* What an operation left behind, filled by the dispatcher even on failure. */
struct sw_engine_outcome {
    char domain_state[24]; /* SW_DOMAIN_* after the operation */
    bool booted;           /* the operation started a domain that was not running */
    /* What the customer should know beyond ok / not ok, e.g. "memory
     * applied live; vcpus apply at next boot" (the result's note). */
    char note[160];
    /* The server's volumes after create, reinstall and resize (the
     * result's "disks"); ndisks 0 for other operations. */
    struct sw_msg_disk disks[SW_MSG_MAX_DISKS];
    int ndisks;
    /* snapshot_create: the space the snapshot takes (the result's
     * "snapshot_bytes"). */
    int64_t snapshot_bytes;
    /* backup: what it did (the result's "backup", core/bkmsg.h) */
    struct sw_msg_backup_result backup;
    /* migrate: what the move did (the result's "migrate", core/migmsg.h) */
    struct sw_msg_migrate_result migrate;
};

/* One operation: 0, or -1 with err set. drv is the kind's table the
 * dispatcher picked (borrowed static), so an operation shared by the kinds
 * reaches the kind's differences without asking the dispatcher. job carries
 * the server id and, for create, the sizes. out->booted is set by the
 * operation; the dispatcher fills out->domain_state afterwards. */
typedef int (*sw_engine_op_fn)(struct sw_engine *eng, const struct sw_engine_driver *drv,
                               const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                               struct sw_err *err);

/* The domain lifecycle: one operation per job type, and define. Every kind
 * does these through libvirt's domain API the same way today, so all three
 * name the one shared table (virt.c: sw_virt_lifecycle). A NULL slot is an
 * operation the kind cannot do: the dispatcher answers SW_EUNSUPPORTED. */
struct sw_engine_lifecycle {
    sw_engine_op_fn create;    /* define if absent, then make it run */
    sw_engine_op_fn start;     /* running afterwards */
    sw_engine_op_fn stop;      /* graceful shutdown, destroy after the timeout */
    sw_engine_op_fn reboot;    /* running afterwards, through a reboot */
    sw_engine_op_fn suspend;   /* paused afterwards (a stopped domain stays stopped) */
    sw_engine_op_fn unsuspend; /* resumed afterwards (a stopped domain is booted) */
    sw_engine_op_fn terminate; /* destroyed and undefined; absent is success */
    sw_engine_op_fn reinstall; /* destroyed, storage freed, redefined with job->os, running */
    sw_engine_op_fn resize;    /* new sizes in the config; live where the hypervisor allows */
    sw_engine_op_fn reset_password; /* root's password through the guest agent */
    /* Not a job type: defines the domain if absent, never boots it
     * (reconciliation brings back a stopped server without running it). */
    sw_engine_op_fn define;
};

/* Removable media (hvm, engines/iso.h): a customer's ISO on the cdrom and
 * the boot order. A kind without it (pv, container) leaves the group NULL:
 * the dispatcher answers SW_EUNSUPPORTED. */
struct sw_engine_media {
    sw_engine_op_fn mount_iso; /* the job's ISO on the cdrom, its boot order */
    sw_engine_op_fn eject_iso; /* the cdrom emptied, boot from the disk */
    sw_engine_op_fn set_boot;  /* the job's boot order */
};

/* Customers' snapshots (hvm, engines/snapshot.h). A kind without them
 * (pv, container) leaves the group NULL: SW_EUNSUPPORTED. */
struct sw_engine_snapshots {
    sw_engine_op_fn create; /* snapshot_create */
    sw_engine_op_fn revert; /* snapshot_revert */
    sw_engine_op_fn remove; /* snapshot_delete */
};

/* Backups (engines/backup.h): the root disk read into a backup
 * repository, and restored from one. A kind without them (container: its
 * hypervisor has no backup API) leaves the group NULL: SW_EUNSUPPORTED. */
struct sw_engine_backups {
    sw_engine_op_fn backup;  /* backup */
    sw_engine_op_fn restore; /* restore */
    sw_engine_op_fn create;  /* a create whose job carries a backup (engines/bkrestore.h) */
};

/* One plan kind: what it does differently, and which operations it has.
 * The operations come in groups, one table each (static const, shared by
 * the kinds that do them the same way); a NULL group or slot is
 * unsupported. Later groups (storage, snapshots, backups, migration,
 * consoles) take a pointer each beside lifecycle; see engines/README.md. */
struct sw_engine_driver {
    int kind;         /* enum sw_plan_kind */
    const char *name; /* sw_plan_kind_name(kind) */

    /* What the kind does differently inside the shared operations: */
    /* Pure: adds this kind's template variables (memory split, CPU weight,
     * boot paths) to those every kind gets (domdef.c). */
    void (*domain_vars)(const struct sw_engine *eng, const struct sw_msg_node_job *job,
                        struct sw_domxml_vars *vars);
    /* Applies job's memory sizes to the running domain (resize): 1 applied
     * live, 0 left for the next boot (the hypervisor cannot, e.g. a ceiling
     * above the live maximum). Never fails: the persistent config already
     * has the new sizes. NULL: memory always waits for the boot. */
    int (*live_memory)(virDomainPtr dom, const struct sw_msg_node_job *job);
    /* The kind boots from a root volume in the node's pools (pv, hvm);
     * false: it has none yet (container roots are later work). */
    bool root_volume;

    /* What the kind can do: */
    const struct sw_engine_lifecycle *lifecycle;
    const struct sw_engine_media *media; /* NULL: no ISO installs */
    const struct sw_engine_snapshots *snapshots; /* NULL: no snapshots */
    const struct sw_engine_backups *backups; /* NULL: no backups */
};

/* The kinds' tables (container.c, pv.c, hvm.c). */
const struct sw_engine_driver *sw_engine_container_driver(void);
const struct sw_engine_driver *sw_engine_pv_driver(void);
const struct sw_engine_driver *sw_engine_hvm_driver(void);

#endif
