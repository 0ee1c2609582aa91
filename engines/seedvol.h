/* seedvol.h - a server's NoCloud seed volume (engines/README.md, "The
 * NoCloud seed"): "sw-<server_id>-seed.iso", raw, in the pool of the
 * server's root volume, holding the "cidata" ISO engines/seed.c makes of
 * the job's guest configuration, uploaded through libvirt (never a path
 * the engine writes). The domain templates that take it attach it as a
 * read-only disk in a {{seed}} section; the variables are set here.
 *
 * The volume holds the root password hash: it is the server's own, deleted
 * with it (every "sw-<id>-*" volume goes at terminate).
 */
#ifndef SW_ENGINES_SEEDVOL_H
#define SW_ENGINES_SEEDVOL_H

#include <stdbool.h>

#include "engines/kind.h"

struct sw_err;
struct sw_domxml_vars;

/* Writes "sw-<server_id>-seed.iso" (lower case) into out[128]; returns out. */
const char *sw_seedvol_name(const char *server_id, char out[128]);

/* The template variables of the seed section: "seed" (a marker list: one
 * item, written in a comment, or none and the section's lines go) and
 * "seed_volume" (a list: the volume's name, or none); the section names
 * the root's pool ({{disk_pool}}). on: the kind has a seed (pv, hvm). */
void sw_seedvol_vars(const char *server_id, bool on, struct sw_domxml_vars *v);

/* 1 when drv's template for eng's hypervisor has a {{seed}} section, 0
 * when not (the seed is not made there), -1 with err set (no template). */
int sw_seedvol_wanted(const struct sw_engine *eng, const struct sw_engine_driver *drv,
                      struct sw_err *err);

/* How an existing seed volume is treated. */
enum sw_seedvol_how {
    SW_SEEDVOL_WRITE, /* written with the job's seed (create, reinstall, reset_password) */
    SW_SEEDVOL_KEEP,  /* kept as it is; made only when missing (a restore, a resize:
                         their jobs carry no password) */
};

/* What sw_seedvol_ensure did. */
struct sw_seedvol {
    struct sw_msg_disk disk; /* role "seed", its pool, name, format "iso", capacity */
    bool made;               /* the volume was created by this call */
    bool written;            /* the seed was uploaded by this call */
    bool unwritable;         /* the node's storage has no upload (libvirt's test driver):
                                the volume exists, empty */
};

/* The seed volume of job's server in root's pool, made before the domain
 * is defined: created when missing (raw, the ISO's size rounded up to a
 * MiB; grown when a new seed is larger), and written with the job's seed
 * (sw_seed_of_job, instance_id NULL: the server id) when it was missing or
 * how is SW_SEEDVOL_WRITE; the whole volume is written (the ISO, then
 * zeros), so nothing of an older seed stays in it. A replay writes the
 * same bytes into the same volume. Returns 1 (out filled), 0 when drv's
 * template has no seed on this hypervisor (nothing done), -1 with err set
 * (an invalid guest configuration: invalid; libvirt: its error, retryable
 * where that is). A volume this call made is deleted again when it fails. */
int sw_seedvol_ensure(struct sw_engine *eng, const struct sw_engine_driver *drv,
                      const struct sw_msg_node_job *job, const struct sw_msg_disk *root,
                      enum sw_seedvol_how how, const char *instance_id, struct sw_seedvol *out,
                      struct sw_err *err);

#endif
