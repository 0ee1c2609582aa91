/* migrate.h - a server's domain moved to another node (issue 15, the node
 * side): live when it runs, cold when it is stopped.
 *
 * Two halves. The pure one, sw_migrate_plan(), turns a request into what
 * virDomainMigrateToURI3 takes (flags and typed parameters), or refuses
 * with SW_EUNSUPPORTED naming why (the test driver, LXC, a running xen
 * server's volumes outside a shared pool). The libvirt one,
 * sw_migrate_run(), runs the plan peer to peer (the source's libvirtd
 * talks to the target's): it reports progress from virDomainGetJobStats
 * about every 500 ms, sets the downtime limit once the job runs, can be
 * cancelled from another thread (virDomainAbortJob: the guest keeps running
 * on the source) and answers the downtime and total time the completed job
 * measured. The control plane (claims on both nodes, epochs) calls it;
 * nothing here touches the job system. See engines/README.md, "Migration
 * (node side)".
 */
#ifndef SW_ENGINES_MIGRATE_H
#define SW_ENGINES_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>

#include <libvirt/libvirt.h>

#include "engines/kind.h"

struct sw_err;

/* Progress of a running migration, from virDomainGetJobStats: bytes
 * processed and the hypervisor's current total and remaining (the total
 * grows when the guest dirties memory again). */
typedef void (*sw_migrate_progress_fn)(void *ctx, uint64_t processed, uint64_t total,
                                       uint64_t remaining);

struct sw_migrate_req {
    const char *server_id;   /* the domain sw-<id> on the engine's node */
    /* The target node's libvirt URI as the SOURCE's libvirtd reaches it
     * (peer to peer): "qemu+tls://node-b/system", or for two daemons on one
     * host "qemu+unix:///system?socket=..." (not "qemu:///system?socket=",
     * which libvirt takes for the same host). The engine also opens it
     * itself to read the completed job's figures. */
    const char *target_uri;
    /* Where the memory stream goes ("tcp://10.0.0.2"), or NULL: the
     * target's hypervisor picks (its host name). */
    const char *migrate_uri;
    /* The domain's XML on the target (its node's own paths), or NULL: the
     * same as on the source. */
    const char *dest_xml;
    /* The domain's persistent XML on the target (VIR_MIGRATE_PARAM_PERSIST_XML),
     * or NULL: libvirt's choice (the source's persistent definition). */
    const char *persist_xml;
    bool live;           /* false: refuse a running server instead of moving it live */
    bool shared_storage; /* every volume of the server is in a pool both nodes see */
    /* The shared pool sits on a filesystem libvirt cannot tell is shared
     * (a local folder standing in for NFS in tests): VIR_MIGRATE_UNSAFE.
     * Never on a real node; NFS, GFS2 and the like need no flag. */
    bool unsafe;
    bool auto_converge;         /* throttle a guest that dirties memory faster than it moves */
    unsigned downtime_ms;       /* the switch-over's limit; 0: the hypervisor's default */
    unsigned long bandwidth_mib; /* MiB/s; 0: unlimited */
    sw_migrate_progress_fn progress; /* or NULL */
    void *ctx;
};

/* How a server moves. */
enum sw_migrate_how {
    SW_MIGRATE_LIVE = 0, /* running throughout; a short pause at the switch-over */
    SW_MIGRATE_OFFLINE,  /* stopped: its definition moves (VIR_MIGRATE_OFFLINE) */
};

/* What sw_migrate_plan() decided: virDomainMigrateToURI3's arguments. */
struct sw_migrate_plan {
    enum sw_migrate_how how;
    unsigned int flags;          /* VIR_MIGRATE_* */
    virTypedParameterPtr params; /* owned: sw_migrate_plan_release() */
    int nparams;
    int maxparams;
    unsigned downtime_ms;        /* set on the job once it runs (no typed parameter for it) */
    /* The volumes are not shared: copied to the target's pools of the same
     * names (engines/volcopy.h), all of them before an offline move, the
     * read-only ones (the seed) before a live one (QEMU copies the rest,
     * NON_SHARED_DISK); the source's deleted after the move. */
    bool copy;
};

/* Why a hypervisor (URI scheme: "qemu", "xen", "lxc", "test") cannot move
 * a server live, or NULL: it can. Borrowed static text. */
const char *sw_migrate_live_refusal(const char *scheme);

/* Pure: the plan for req on a node of hypervisor scheme whose domain runs
 * (running) or not. 0, or -1 with err set (SW_EUNSUPPORTED naming why,
 * SW_EINVALID for a request without a target). plan is released on
 * failure too. */
int sw_migrate_plan(const struct sw_migrate_req *req, const char *scheme, bool running,
                    struct sw_migrate_plan *plan, struct sw_err *err);

/* Frees plan's parameters; plan may be zeroed or released already. */
void sw_migrate_plan_release(struct sw_migrate_plan *plan);

/* What a migration did, from the completed job's statistics on the target
 * (-1 where it had none: an offline move has no memory stream). */
struct sw_migrate_result {
    enum sw_migrate_how how;
    long long downtime_ms; /* measured: the guest paused for the switch-over */
    long long total_ms;    /* the job's elapsed time */
    long long data_bytes;  /* processed */
    double seconds;        /* wall time of sw_migrate_run */
    int reports;           /* progress reports made */
    /* plan.copy: the volume copy through the storage API (before the
     * migration call), and the server's volumes, now on the target */
    double copy_seconds;
    long long copy_bytes;  /* streamed, holes included */
    long long copy_data;   /* of which data (holes are sent as their length only) */
    struct sw_msg_disk disks[SW_MSG_MAX_DISKS];
    int ndisks;
};

/* One migration's cancel switch, shared between the thread that runs it
 * and the one that may cancel it. */
struct sw_migrate_ctl;

/* Returns owned (sw_migrate_ctl_free). */
struct sw_migrate_ctl *sw_migrate_ctl_new(void);
/* From any thread: the running (or next) sw_migrate_run with ctl aborts
 * its job and fails with "cancelled"; the guest stays on the source. */
void sw_migrate_cancel(struct sw_migrate_ctl *ctl);
void sw_migrate_ctl_free(struct sw_migrate_ctl *ctl); /* accepts NULL */

/* Moves req->server_id from eng's node to req->target_uri (plan above),
 * reporting progress through req->progress in the calling thread. ctl may
 * be NULL (not cancellable). 0 with res filled: the domain runs (or is
 * defined, offline) on the target, persistent, and is gone from the
 * source (with plan.copy its volumes too, copied to the target first).
 * -1 with err set: SW_ENOTFOUND (no such domain), SW_EUNSUPPORTED,
 * SW_EUNAVAILABLE + retryable (the target is unreachable), SW_ECONFLICT
 * ("cancelled", or storage libvirt finds not shared); the domain is then
 * still on the source, running as before, its volumes whole, and no copy
 * of them left on the target. */
int sw_migrate_run(struct sw_engine *eng, const struct sw_migrate_req *req,
                   struct sw_migrate_ctl *ctl, struct sw_migrate_result *res, struct sw_err *err);

#endif
