/* rootfs.h - a container's root filesystem: the template's tarball
 * unpacked into a private temporary directory on the engine's host, the
 * guest's own files written in (its hostname and the NoCloud files of
 * engines/seed.h), an ext4 filesystem of the plan's disk size made of it
 * with mkfs.ext4 -d, and that image sent into the server's raw root volume
 * through libvirt (virStorageVolUpload, sparse): the volume itself is never
 * a path the engine writes. engines/README.md, "Container roots".
 *
 * The tarball is a trust boundary (an operator's upload, or a URL's body):
 * it is read with libarchive, tar formats only, gzip/bzip2/xz/zstd through
 * their libraries (never an external program), and every entry is checked
 * before anything is written (sw_rootfs_unpack): no absolute path and no
 * ".." component (in names and hard-link targets), no writing through a
 * symbolic link the archive made (libarchive's SECURE_SYMLINKS), no block
 * device and no character device but those in the list below, setuid and
 * setgid bits dropped from files not owned by root, sockets skipped, and
 * the unpacked size bounded by the plan's disk. */
#ifndef SW_ENGINES_ROOTFS_H
#define SW_ENGINES_ROOTFS_H

#include <stdint.h>

#include <archive.h>
#include <libvirt/libvirt.h>

#include "engines/kind.h"

struct sw_err;

/* Character devices an archive may hold (major, minor): null, zero, full,
 * random, urandom, tty, console, ptmx. Anything else is refused. */
#define SW_ROOTFS_DEVICES {{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 1}, {5, 2}}

/* How long mkfs.ext4 may take (seconds) before it is killed. */
#define SW_ROOTFS_MKFS_TIMEOUT_S 300

/* Reads the archive's next bytes into *buf (libarchive's read callback):
 * how many, 0 at the end, -1 on error (archive_set_error on a). */
typedef la_ssize_t sw_rootfs_read_fn(struct archive *a, void *ctx, const void **buf);

/* Unpacks the tar archive that read gives (tar formats; gzip, bzip2, xz
 * and zstd through their libraries, never an external program) into the
 * directory dir (an absolute path without symbolic links) under the rules
 * above, at most max_bytes of file data. 0, or -1 with err set
 * (SW_EINVALID: the archive breaks a rule, is damaged, truncated or not a
 * tar archive, or does not fit; SW_EINTERNAL: the engine's host could not
 * write it). What was written stays in dir for the caller to remove. */
int sw_rootfs_unpack(sw_rootfs_read_fn *read, void *ctx, const char *dir, int64_t max_bytes,
                     struct sw_err *err);

/* Writes the file rel (relative, e.g. "etc/hostname") under the root dirfd
 * with text and mode, replacing what is there, never following a symbolic
 * link of the tree: missing directories are made (0755), a link or other
 * non-directory in the way is refused. 0, or -1 with err set. */
int sw_rootfs_write_at(int dirfd, const char *rel, const char *text, int mode, struct sw_err *err);

/* One of the guest's own files: its path relative to the root, its text
 * (owned), its mode. */
struct sw_rootfs_file {
    char rel[64];
    char *text;
    int mode;
};
#define SW_ROOTFS_GUEST_FILES 4

/* job's guest configuration as files, into out: etc/hostname and
 * var/lib/cloud/seed/nocloud/{meta-data,network-config,user-data} (the
 * documents engines/seed.c makes; user-data 0600, it may hold the root
 * password's hash, the others 0644). 0 (release out with
 * sw_rootfs_guest_files_release, which wipes the texts), or -1 with err
 * set and nothing to release. */
int sw_rootfs_guest_files(const struct sw_msg_node_job *job,
                          struct sw_rootfs_file out[SW_ROOTFS_GUEST_FILES], struct sw_err *err);
void sw_rootfs_guest_files_release(struct sw_rootfs_file f[SW_ROOTFS_GUEST_FILES]);

/* Writes job's guest files (sw_rootfs_guest_files) into the tree at dir
 * (sw_rootfs_write_at). 0, or -1 with err set. */
int sw_rootfs_write_guest(const char *dir, const struct sw_msg_node_job *job, struct sw_err *err);

/* Runs argv (no shell, stdin /dev/null), its output to the file log. Its
 * exit code (128 + N when killed by signal N), or -1 (errno set). */
int sw_rootfs_run(char *const argv[], const char *log);

/* The last non-empty line of the file path into out[n] ("" when none). */
void sw_rootfs_last_line(const char *path, char *out, size_t n);

/* A private 0700 directory under $TMPDIR (else /var/tmp), its path
 * resolved. Returns owned (free()), or NULL with err set. */
char *sw_rootfs_work_dir(struct sw_err *err);

/* Removes dir and everything under it, best effort (never follows a link). */
void sw_rootfs_work_remove(const char *dir);

/* Makes image, a sparse file of bytes, an ext4 filesystem holding dir's
 * tree (mkfs.ext4 -d, run with an argv under timeout(1), no shell). 0, or
 * -1 with err set. */
int sw_rootfs_mkfs(const char *dir, const char *image, int64_t bytes, struct sw_err *err);

/* Sends the file image into vol (virStorageVolUpload with a sparse
 * stream: holes are skipped, not sent), its first 4 KiB (the ext4
 * superblock) last. 0, or -1 with err set. */
int sw_rootfs_upload(virStorageVolPtr vol, const char *image, struct sw_err *err);

/* 1 when vol is a root whose build was cut short (no ext4 superblock:
 * sw_rootfs_upload sends the first block last), 0 when whole or when
 * libvirt cannot read it back (the test driver's blank roots). */
int sw_rootfs_unfinished(virStorageVolPtr vol);

/* The whole build: the tarball read from the volume tar
 * (virStorageVolDownload), unpacked, job's files written in, made into an
 * ext4 of job->disk_gb and uploaded into vol. Temporary files go under
 * $TMPDIR (else /var/tmp) in a private directory, removed before it
 * returns. 0, or -1 with err set (tenant-safe message). */
int sw_rootfs_build(virStorageVolPtr tar, virStorageVolPtr vol, const struct sw_msg_node_job *job,
                    struct sw_err *err);

/* The longest root volume path libvirt's LXC driver can loop-mount: it
 * copies the path into the loop device's lo_file_name (LO_NAME_SIZE, 64
 * bytes with its NUL) and refuses a longer one (libvirt 9.0: "Unable to
 * set backing file", after a 20 s start timeout). */
#define SW_ROOTFS_LXC_PATH_MAX 63

/* Checks that the container root vol can be booted on eng's hypervisor:
 * on LXC its path is at most SW_ROOTFS_LXC_PATH_MAX bytes. 0, or -1 with
 * err set (SW_EUNSUPPORTED, not retryable: the pool's path is too long). */
int sw_rootfs_check(const struct sw_engine *eng, virStorageVolPtr vol, struct sw_err *err);

/* The path libvirt gives the volume named volume in the pool named pool
 * (virStorageVolGetPath). Returns owned (free()), or NULL. */
char *sw_rootfs_path(virConnectPtr conn, const char *pool, const char *volume);

#endif
