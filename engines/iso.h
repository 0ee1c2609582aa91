/* iso.h - a customer's ISO on an hvm server's cdrom, and its boot order
 * (issue 13; engines/README.md "ISO installs").
 *
 * Every node job of a server carries the ISO mounted on it (iso_sha256,
 * iso_bytes; "" for none) and its boot order (boot: "cdrom" or "disk"), so
 * any definition of the domain (create, reinstall, resize, a restore, and
 * the ISO jobs themselves) renders the template's {{iso}} section (a
 * read-only IDE cdrom, target hdd, on the volume img-<sha256>.iso in the
 * root volume's pool) and its <os> boot lines from them. The ISO reaches
 * the pool like a template's image (engines/image.h).
 */
#ifndef SW_ENGINES_ISO_H
#define SW_ENGINES_ISO_H

#include <stdbool.h>
#include <stddef.h>

#include "engines/kind.h"

struct sw_err;
struct sw_domxml_vars;

/* The cdrom's target device (the seed's is hdc). */
#define SW_ISO_TARGET "hdd"

/* Writes the ISO's volume name for job into out[96] ("img-<sha256>.iso"
 * in pools of files, "img-<sha256>" elsewhere: storage.c's image names).
 * Returns out; "" when the job has no ISO. Pure. */
const char *sw_iso_volume(const struct sw_msg_node_job *job, const char *pool_type,
                          char out[96]);

/* The template variables (domdef.c): "iso" (a list: one item when the job
 * has an ISO, keeping the section's lines), "iso_pool", "iso_volume" (the
 * root volume's pool, else eng's first, and the ISO's name there), and
 * "boot_dev" (a list: cdrom then hd when the job boots its ISO, else hd).
 * Pure: reads eng's pools only. */
void sw_iso_vars(const struct sw_engine *eng, const struct sw_msg_node_job *job,
                 const struct sw_msg_disk *root, struct sw_domxml_vars *v);

/* Makes sure the job's ISO is in the pool named pool_name before a
 * definition uses it: fetched (image.h) when the engine has an image
 * source and the pool holds files, else it must be there. 0 (also for a
 * job without an ISO), or -1 with err set (SW_EUNAVAILABLE: not on its
 * node; image.h's codes for a fetch). */
int sw_iso_ensure(struct sw_engine *eng, const struct sw_msg_node_job *job,
                  const char *pool_name, struct sw_err *err);

/* mount_iso, eject_iso and set_boot: one operation, as the job is the
 * whole wanted state. The persistent definition is redefined with the
 * job's ISO and boot order (sw_virt_redefine); on a running or paused
 * domain whose live definition has the cdrom, its medium is changed or
 * ejected live (virDomainUpdateDeviceFlags; an IDE cdrom cannot be
 * hot-plugged, so one booted without it gets it at its next boot). The
 * boot order applies at the next boot. out->note says which. */
int sw_iso_apply(struct sw_engine *eng, const struct sw_engine_driver *drv,
                 const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                 struct sw_err *err);

/* The media group of hvm's table (kind.h): one operation for all three. */
extern const struct sw_engine_media sw_iso_media;

/* The note of sw_iso_apply into out[n]: live says what happened to the
 * running domain's cdrom: 1 changed live, 0 not running, -1 waits for the
 * next boot (no cdrom to change, or the hypervisor refused). Pure. */
void sw_iso_note(const struct sw_msg_node_job *job, int live, char *out, size_t n);

#endif
