/* ctdisk.h - a container's root filesystem changed offline (issue 13,
 * engines/README.md "Container roots"): its raw ext4 volume read into a
 * local scratch image on the engine's host (virStorageVolDownload, sparse),
 * checked (e2fsck -f -y), changed with e2fsprogs (resize2fs, debugfs), and
 * sent back (sw_rootfs_upload: sparse, its superblock last), all through
 * libvirt's storage API, so a remote libvirt works the same. Nothing is
 * mounted. Only a stopped container's root: a running one has it mounted.
 *
 * The e2fsprogs steps are shared with bkctnew.c (a backup restored as a new
 * server), which assembles its image from a backup instead. */
#ifndef SW_ENGINES_CTDISK_H
#define SW_ENGINES_CTDISK_H

#include <stddef.h>
#include <stdint.h>

#include "engines/kind.h"
#include "engines/rootfs.h"

struct sw_err;

/* The e2fsprogs programs (e2fsck, resize2fs, debugfs) each run under
 * timeout(1) for at most this many seconds. */
#define SW_CTDISK_TOOL_TIMEOUT_S 300

/* ---- pure ---- */

/* The size in bytes of the ext2/3/4 filesystem whose first n bytes of
 * volume are head (its superblock at 1024, so n >= 2048), or -1 when head
 * holds no ext superblock. */
int64_t sw_ctdisk_fs_bytes(const unsigned char *head, size_t n);

/* shadow (an /etc/shadow text) with user's password field set to hash,
 * every other line and field as it was. Returns owned (free(), wipe: it
 * holds hashes), or NULL when shadow has no line for user. */
char *sw_ctdisk_shadow_set(const char *shadow, const char *user, const char *hash);

/* ---- e2fsprogs on a local image (what: the job's "could not ..." prefix) ---- */

/* e2fsck -f -y image (exit 0-2 accepted: 1 and 2 say it fixed something);
 * why is the tenant-safe reason on failure. 0, or -1 with err set. */
int sw_ctdisk_check(const char *work, const char *image, const char *what, const char *why,
                    struct sw_err *err);

/* image's file grown to bytes and resize2fs run on it. 0, or -1 with err. */
int sw_ctdisk_grow_image(const char *work, const char *image, long long bytes, const char *what,
                         struct sw_err *err);

/* The n files f written into image with debugfs -w (each replaced, owned
 * by root with its mode, missing directories made), then dumped back and
 * compared: debugfs's exit code does not say a request failed. 0, or -1
 * with err set. */
int sw_ctdisk_write(const char *work, const char *image, const struct sw_rootfs_file *f, size_t n,
                    const char *what, struct sw_err *err);

/* ---- a stopped container's root volume ---- */

/* Grows the ext4 inside disk (the root volume, already grown to its
 * capacity) to the volume's size: its superblock read first, and nothing
 * done when the filesystem already fills the volume (a replay), else the
 * volume downloaded, checked, resize2fs'd and uploaded. Never shrinks.
 * note[n] gets "filesystem grown to N GB" when it grew; where libvirt has
 * no volume download (the test driver) nothing is done and
 * ctdisk.grow_unsupported logged. 0, or -1 with err set. */
int sw_ctdisk_grow(struct sw_engine *eng, const struct sw_msg_disk *disk,
                   const struct sw_msg_node_job *job, char *note, size_t n, struct sw_err *err);

/* The container kind's resize: a running container whose disk must grow
 * is refused (unsupported, before anything changes: its filesystem is
 * mounted, and LXC grows no volume live); otherwise sw_virt_resize, and on
 * a stopped one sw_ctdisk_grow (its note appended). */
int sw_ctdisk_resize(struct sw_engine *eng, const struct sw_engine_driver *drv,
                     const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                     struct sw_err *err);

/* The container kind's reset_password: on a stopped container root's
 * /etc/shadow entry gets job->password_hash and the guest files
 * (sw_rootfs_guest_files: user-data carries the hash) are written anew,
 * in its root volume offline; a running one is refused (unsupported: LXC
 * has no guest agent call, and its root is mounted). */
int sw_ctdisk_reset_password(struct sw_engine *eng, const struct sw_engine_driver *drv,
                             const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                             struct sw_err *err);

#endif
