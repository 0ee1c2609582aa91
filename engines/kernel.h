/* kernel.h - a pv template's own kernel and initrd, booted directly
 * (issue 13; engines/README.md "Own kernels").
 *
 * Every node job of a pv server whose template boots its own kernel
 * carries both images (kernel_sha256, kernel_bytes, initrd_sha256,
 * initrd_bytes; core/msg.h), so any definition of the domain (create,
 * reinstall, resize, a restore, a migration's, the ISO jobs) reaches them
 * the same way: they are made sure of in the root volume's pool like every
 * image (storage.h's sw_storage_image_ensure: fetched once per node by
 * sha256 and verified, image.h), and the domain's <kernel> and <initrd>
 * name the volumes' paths as libvirt gives them (virStorageVolGetPath),
 * never a path the engine builds, so a remote libvirt works the same.
 */
#ifndef SW_ENGINES_KERNEL_H
#define SW_ENGINES_KERNEL_H

#include "engines/kind.h"

struct sw_err;
struct sw_domxml_vars;

/* Makes sure the job's kernel and initrd are in the pool named pool_name
 * (the root's; NULL: eng's first) before a definition boots them. 0 (also
 * for a job without them, and without a libvirt connection), or -1 with
 * err set (storage.h's sw_storage_image_ensure: "could not boot the
 * server's kernel: it is not on its node", or a fetch's error). */
int sw_kernel_ensure(struct sw_engine *eng, const struct sw_msg_node_job *job,
                     const char *pool_name, struct sw_err *err);

/* The template variables "kernel" and "initrd" of a job that carries them
 * (domdef.c, before the kind's own): the volumes' paths in the root's
 * pool (root NULL: eng's first) as libvirt gives them; "" when libvirt
 * knows no such volume (the definition then fails); without a connection
 * (golden files) <state_dir>/pools/<pool>/<volume>. A job without them
 * sets neither. */
void sw_kernel_vars(const struct sw_engine *eng, const struct sw_msg_node_job *job,
                    const struct sw_msg_disk *root, struct sw_domxml_vars *v);

#endif
