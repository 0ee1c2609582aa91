/* volcopy.h - a server's volumes copied to another node's pools (issue 15,
 * a move without shared storage), through libvirt's storage API only: the
 * target's libvirt is a connection like any other (it may be remote), and
 * no file of guest storage is opened here.
 *
 * Each volume goes to the pool of the same name on the target, under the
 * same name, so the domain's <disk type='volume'> (pool and volume names)
 * resolves there unchanged. A volume over a backing file (a qcow2 root
 * over its base image "img-<sha256>") is first flattened on the source
 * (virStorageVolCreateXMLFrom into a temporary "sw-<id>-flat-N", which
 * libvirt makes with qemu-img convert: the chain as one standalone file),
 * because the overlay names its base by the source's path, which libvirt's
 * storage API cannot rewrite on the target; the copy needs no image on
 * the target. Then virStorageVolDownload from the source streams into
 * virStorageVolUpload on the target, both sparse (holes sent as holes).
 * See engines/README.md "Migration without shared storage".
 */
#ifndef SW_ENGINES_VOLCOPY_H
#define SW_ENGINES_VOLCOPY_H

#include <stdbool.h>
#include <stdint.h>

#include <libvirt/libvirt.h>

#include "engines/kind.h"

struct sw_err;

/* Progress of a copy: bytes done (data and holes) of the total (the
 * volumes' file sizes). Returns true to stop the copy (a cancel). */
typedef bool (*sw_volcopy_tick_fn)(void *ctx, uint64_t done, uint64_t total);

struct sw_volcopy {
    struct sw_engine *eng;  /* the source node */
    virConnectPtr target;   /* the target node's libvirt (borrowed) */
    const char *server_id;
    const char *role;       /* copy only volumes of this role ("seed"); NULL: all */
    unsigned long bandwidth_mib; /* the stream's limit in MiB/s (data, not holes); 0: none */
    sw_volcopy_tick_fn tick; /* or NULL */
    void *ctx;
    /* filled by sw_volcopy_run: the server's volumes on the source (every
     * role; on the target under the same pool and names once copied) */
    struct sw_msg_disk disks[SW_MSG_MAX_DISKS];
    int ndisks;
    uint64_t total;     /* bytes to stream */
    uint64_t data;      /* bytes of data streamed (holes not counted) */
    double seconds;     /* the copy's wall time, flattening included */
};

/* Copies c->server_id's volumes (of c->role) to c->target. A volume the
 * target has already (a partial copy of an earlier try) is made again,
 * unless it is the source's own file (the pool is one folder both see:
 * SW_ECONFLICT, mark it shared). 0, or -1 with err set (SW_ECONFLICT
 * "cancelled" when tick asked to stop; SW_EUNSUPPORTED when the target has
 * no pool of that name); on failure every copy made is deleted again. */
int sw_volcopy_run(struct sw_volcopy *c, struct sw_err *err);

/* Deletes on the target every volume of c->disks (the copies, and what
 * libvirt pre-created there for a live copy), unless the target has a
 * domain of the server (then they are its). Best effort, logged. */
void sw_volcopy_undo(struct sw_volcopy *c);

#endif
