/* rootfs.c - a container's root filesystem from its template's tarball
 * (rootfs.h). */
#include "config.h"
#include "engines/rootfs.h"
#include "engines/seed.h"
#include "engines/virt.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"

#include <libvirt/virterror.h>
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sodium.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define WHAT "could not create the server's disk"
#define MAX_ENTRIES 2000000

/* ---- the archive's rules ---- */

static struct archive *archive_new(struct sw_err *err)
{
    struct archive *a = archive_read_new();
    /* Each filter through its library: ARCHIVE_WARN means libarchive would
     * run an external program instead, which a hostile input never gets. */
    if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
        archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
        archive_read_support_filter_bzip2(a) != ARCHIVE_OK ||
        archive_read_support_filter_xz(a) != ARCHIVE_OK ||
        archive_read_support_filter_zstd(a) != ARCHIVE_OK) {
        SW_ERR(err, SW_EINTERNAL, WHAT ": the engine cannot read tar archives");
        sw_err_detail(err, "libarchive: %s", archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* A name the tree may hold: relative, no ".." component, not empty. */
static bool name_ok(const char *p)
{
    if (!p || !*p || *p == '/' || strlen(p) >= PATH_MAX / 2)
        return false;
    for (const char *c = p; *c;) {
        size_t n = strcspn(c, "/");
        if (n == 2 && c[0] == '.' && c[1] == '.')
            return false;
        c += n;
        c += *c == '/';
    }
    return true;
}

static bool device_allowed(dev_t rdev)
{
    static const unsigned list[][2] = SW_ROOTFS_DEVICES;
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++)
        if (major(rdev) == list[i][0] && minor(rdev) == list[i][1])
            return true;
    return false;
}

static int refuse(struct sw_err *err, const char *why, const char *name)
{
    SW_ERR(err, SW_EINVALID, WHAT ": the template's archive %s", why);
    sw_err_detail(err, "entry \"%.300s\"", name ? name : "");
    return -1;
}

/* Checks e against the rules and rewrites it for extraction under dir:
 * names prefixed, setuid/setgid dropped where the owner is not root.
 * 1 extract, 0 skip, -1 refused (err set). */
static int entry_check(struct archive_entry *e, const char *dir, struct sw_err *err)
{
    const char *name = archive_entry_pathname(e);
    if (!name_ok(name))
        return refuse(err, "names a path outside its root (absolute or with \"..\")", name);
    const char *link = archive_entry_hardlink(e);
    if (link && !name_ok(link))
        return refuse(err, "links a file outside its root", name);
    mode_t type = archive_entry_filetype(e);
    if (type == AE_IFBLK || (type == AE_IFCHR && !device_allowed(archive_entry_rdev(e))))
        return refuse(err, "holds a device node that is not allowed", name);
    if (type == AE_IFSOCK)
        return 0;
    if (archive_entry_uid(e) != 0)
        archive_entry_set_perm(e, archive_entry_perm(e) & ~(mode_t)(S_ISUID | S_ISGID));
    char *full = sw_asprintf("%s/%s", dir, name);
    archive_entry_copy_pathname(e, full);
    free(full);
    if (link) {
        full = sw_asprintf("%s/%s", dir, link);
        archive_entry_copy_hardlink(e, full);
        free(full);
    }
    return 1;
}

/* Copies e's data from a to w, counting it against *left. */
static int copy_data(struct archive *a, struct archive *w, int64_t *left, const char *name,
                     struct sw_err *err)
{
    const void *buf;
    size_t n;
    int64_t off;
    int r;
    while ((r = archive_read_data_block(a, &buf, &n, &off)) == ARCHIVE_OK) {
        if ((int64_t)n > *left)
            return refuse(err, "does not fit the plan's disk", name);
        *left -= (int64_t)n;
        if (archive_write_data_block(w, buf, n, off) < ARCHIVE_WARN) {
            SW_ERR(err, SW_EINTERNAL, WHAT ": its root filesystem could not be unpacked");
            sw_err_detail(err, "write \"%.200s\": %s", name, archive_error_string(w));
            return -1;
        }
    }
    if (r != ARCHIVE_EOF) {
        SW_ERR(err, SW_EINVALID, WHAT ": the template's archive is damaged or truncated");
        sw_err_detail(err, "entry \"%.200s\": %s", name, archive_error_string(a));
        return -1;
    }
    return 0;
}

static struct archive *disk_writer(void)
{
    struct archive *w = archive_write_disk_new();
    archive_write_disk_set_options(w, ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                          ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                          ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM |
                                          ARCHIVE_EXTRACT_TIME);
    /* Owners by number: the guest's ids, not the engine host's names. No
     * ARCHIVE_EXTRACT_UNLINK: with it libarchive would replace a link the
     * archive made on the way instead of refusing the entry. */
    return w;
}

/* One entry: checked, written, its data copied. 0, or -1 with err set. */
static int extract_one(struct archive *a, struct archive *w, struct archive_entry *e,
                       const char *dir, int64_t *left, struct sw_err *err)
{
    char orig[512];
    snprintf(orig, sizeof orig, "%s", archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
    int ok = entry_check(e, dir, err);
    if (ok <= 0)
        return ok;
    if (archive_write_header(w, e) < ARCHIVE_WARN) {
        /* libarchive's own guards (a symbolic link on the way) land here */
        return refuse(err, "writes through a link or cannot be unpacked", orig);
    }
    if (archive_entry_size(e) > 0 && copy_data(a, w, left, orig, err) < 0)
        return -1;
    if (archive_write_finish_entry(w) < ARCHIVE_WARN) {
        SW_ERR(err, SW_EINTERNAL, WHAT ": its root filesystem could not be unpacked");
        sw_err_detail(err, "finish \"%.200s\": %s", orig, archive_error_string(w));
        return -1;
    }
    return 0;
}

static int extract(struct archive *a, const char *dir, int64_t max_bytes, struct sw_err *err)
{
    struct archive *w = disk_writer();
    struct archive_entry *e;
    int64_t left = max_bytes, n = 0;
    int rc = 0, r;
    while (rc == 0 && (r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
        if (r < ARCHIVE_WARN || ++n > MAX_ENTRIES) {
            SW_ERR(err, SW_EINVALID, WHAT ": the template's archive is damaged or truncated");
            sw_err_detail(err, "after %lld entries: %s", (long long)n,
                          n > MAX_ENTRIES ? "too many entries" : archive_error_string(a));
            rc = -1;
            break;
        }
        rc = extract_one(a, w, e, dir, &left, err);
    }
    if (rc == 0 && n == 0) {
        SW_ERR(err, SW_EINVALID, WHAT ": the template's archive is empty");
        rc = -1;
    }
    /* Directory modes and times are set at close. */
    if (archive_write_close(w) != ARCHIVE_OK && rc == 0) {
        SW_ERR(err, SW_EINTERNAL, WHAT ": its root filesystem could not be unpacked");
        sw_err_detail(err, "%s", archive_error_string(w));
        rc = -1;
    }
    archive_write_free(w);
    return rc;
}

int sw_rootfs_unpack(sw_rootfs_read_fn *read, void *ctx, const char *dir, int64_t max_bytes,
                     struct sw_err *err)
{
    struct archive *a = archive_new(err);
    if (!a)
        return -1;
    int rc = -1;
    /* opening reads the first blocks: a short or broken file fails here */
    if (archive_read_open(a, ctx, NULL, read, NULL) != ARCHIVE_OK) {
        SW_ERR(err, SW_EINVALID,
               WHAT ": the template's archive is damaged or truncated, or not a tar archive");
        sw_err_detail(err, "%s", archive_error_string(a));
    } else {
        rc = extract(a, dir, max_bytes, err);
    }
    archive_read_free(a);
    return rc;
}

/* ---- the guest's files ---- */

/* Opens (making it, 0755) the directory name under dirfd, refusing a link.
 * Returns the fd, or -1. */
static int dir_open(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && mkdirat(dirfd, name, 0755) == 0)
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    return fd;
}

static int write_all(int fd, const char *text)
{
    size_t n = strlen(text);
    while (n > 0) {
        ssize_t w = write(fd, text, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        text += w;
        n -= (size_t)w;
    }
    return 0;
}

int sw_rootfs_write_at(int dirfd, const char *rel, const char *text, int mode, struct sw_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", rel);
    int fd = dup(dirfd), rc = -1;
    char *c = path, *slash;
    while (fd >= 0 && (slash = strchr(c, '/'))) {
        *slash = '\0';
        int next = dir_open(fd, c);
        close(fd);
        fd = next;
        c = slash + 1;
    }
    if (fd >= 0) {
        /* whatever the archive put there (a file, a link) is replaced; a
         * directory in the way stays and fails the write */
        int f = -1;
        if (unlinkat(fd, c, 0) == 0 || errno == ENOENT)
            f = openat(fd, c, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
        if (f >= 0 && fchmod(f, (mode_t)mode) == 0 && write_all(f, text) == 0)
            rc = 0;
        if (f >= 0)
            close(f);
        close(fd);
    }
    if (rc < 0) {
        SW_ERR(err, SW_EINVALID, WHAT ": the template's root filesystem has no room for %s", rel);
        sw_err_detail(err, "write \"%s\": %s", rel, strerror(errno));
    }
    return rc;
}

int sw_rootfs_guest_files(const struct sw_msg_node_job *job,
                          struct sw_rootfs_file out[SW_ROOTFS_GUEST_FILES], struct sw_err *err)
{
    /* the same seed an hvm or pv server gets (seed.c), as files */
    struct sw_seed_job *sj = sw_malloc(sizeof *sj);
    sw_seed_of_job(job, NULL, sj);
    const struct sw_seed *s = &sj->seed;
    static const char *const seed = "var/lib/cloud/seed/nocloud/";
    memset(out, 0, sizeof(struct sw_rootfs_file) * SW_ROOTFS_GUEST_FILES);
    snprintf(out[0].rel, sizeof out[0].rel, "etc/hostname");
    snprintf(out[1].rel, sizeof out[1].rel, "%smeta-data", seed);
    snprintf(out[2].rel, sizeof out[2].rel, "%snetwork-config", seed);
    snprintf(out[3].rel, sizeof out[3].rel, "%suser-data", seed);
    out[0].mode = out[1].mode = out[2].mode = 0644;
    out[3].mode = 0600; /* it may hold the root password's hash */
    int rc = -1;
    if (sw_seed_check(s, err) == 0 && (out[0].text = sw_asprintf("%s\n", job->hostname)) &&
        (out[1].text = sw_seed_meta_data(s, err)) &&
        (out[2].text = sw_seed_network_config(s, err)) && (out[3].text = sw_seed_user_data(s, err)))
        rc = 0;
    free(sj);
    if (rc < 0)
        sw_rootfs_guest_files_release(out);
    return rc;
}

void sw_rootfs_guest_files_release(struct sw_rootfs_file f[SW_ROOTFS_GUEST_FILES])
{
    for (int i = 0; i < SW_ROOTFS_GUEST_FILES; i++) {
        if (f[i].text)
            sodium_memzero(f[i].text, strlen(f[i].text)); /* user-data holds the hash */
        free(f[i].text);
        f[i].text = NULL;
    }
}

int sw_rootfs_write_guest(const char *dir, const struct sw_msg_node_job *job, struct sw_err *err)
{
    struct sw_rootfs_file f[SW_ROOTFS_GUEST_FILES];
    if (sw_rootfs_guest_files(job, f, err) < 0)
        return -1;
    int root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = root < 0 ? -1 : 0;
    if (root < 0)
        SW_ERR(err, SW_EINTERNAL, WHAT ": its root filesystem could not be written");
    for (int i = 0; rc == 0 && i < SW_ROOTFS_GUEST_FILES; i++)
        rc = sw_rootfs_write_at(root, f[i].rel, f[i].text, f[i].mode, err);
    if (root >= 0)
        close(root);
    sw_rootfs_guest_files_release(f);
    return rc;
}

/* ---- the filesystem ---- */

int sw_rootfs_run(char *const argv[], const char *log)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void sw_rootfs_last_line(const char *path, char *out, size_t n)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (line[0] != '\n')
            snprintf(out, n, "%s", line);
    if (f)
        fclose(f);
    out[strcspn(out, "\n")] = '\0';
}

int sw_rootfs_mkfs(const char *dir, const char *image, int64_t bytes, struct sw_err *err)
{
    int fd = open(image, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)bytes) < 0) {
        SW_ERR(err, SW_EINTERNAL, WHAT ": its root filesystem could not be made");
        sw_err_detail(err, "%s: %s", image, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    char limit[16], *log = sw_asprintf("%s.log", image);
    snprintf(limit, sizeof limit, "%d", SW_ROOTFS_MKFS_TIMEOUT_S);
    char *const argv[] = {"timeout", "-k", "5", limit, "mkfs.ext4", "-q", "-F", "-t", "ext4",
                          "-d", (char *)dir, "--", (char *)image, NULL};
    int code = sw_rootfs_run(argv, log);
    if (code != 0) {
        char last[256];
        sw_rootfs_last_line(log, last, sizeof last);
        SW_ERR(err, code == 124 ? SW_EUNAVAILABLE : SW_EINVALID,
               WHAT ": its root filesystem could not be made%s",
               code == 124 ? " in time" : " (it may not fit the plan's disk)");
        err->retryable = code == 124;
        sw_err_detail(err, "mkfs.ext4 exited %d: %s", code, code < 0 ? strerror(errno) : last);
    }
    unlink(log);
    free(log);
    return code == 0 ? 0 : -1;
}

/* ---- into the volume ---- */

/* The first block of the image, which holds the ext4 superblock, is sent
 * last: a volume whose upload was cut short (an engine killed mid-build)
 * has none, and sw_rootfs_unfinished tells it from a whole one. */
#define HEAD_BYTES 4096
#define EXT4_MAGIC_AT 1080 /* the superblock's s_magic: 0xEF53, little-endian */

struct source {
    int fd;
    long long left; /* bytes still to send; -1: to the end */
};

static int send_data(virStreamPtr st, char *data, size_t n, void *opaque)
{
    (void)st;
    struct source *s = opaque;
    if (s->left >= 0 && (long long)n > s->left)
        n = (size_t)s->left;
    ssize_t r;
    while ((r = read(s->fd, data, n)) < 0 && errno == EINTR)
        ;
    if (r > 0 && s->left >= 0)
        s->left -= r;
    return (int)r;
}

/* Where the file's position is: in data or a hole, and for how long
 * (libvirt's virFileInData, on SEEK_DATA/SEEK_HOLE). */
static int in_data(virStreamPtr st, int *data, long long *len, void *opaque)
{
    (void)st;
    int fd = ((struct source *)opaque)->fd;
    off_t cur = lseek(fd, 0, SEEK_CUR), d, end;
    if (cur < 0)
        return -1;
    d = lseek(fd, cur, SEEK_DATA);
    if (d < 0 && errno == ENXIO) { /* a hole up to the end */
        if ((end = lseek(fd, 0, SEEK_END)) < 0)
            return -1;
        *data = 0;
        *len = end - cur;
    } else if (d < 0) {
        return -1;
    } else if (d > cur) {
        *data = 0;
        *len = d - cur;
    } else {
        off_t h = lseek(fd, cur, SEEK_HOLE);
        if (h < 0)
            return -1;
        *data = 1;
        *len = h - cur;
    }
    return lseek(fd, cur, SEEK_SET) < 0 ? -1 : 0;
}

static int skip_hole(virStreamPtr st, long long len, void *opaque)
{
    (void)st;
    return lseek(((struct source *)opaque)->fd, (off_t)len, SEEK_CUR) < 0 ? -1 : 0;
}

/* Sends the file's bytes [off, off + len) into vol at off (len 0: to the
 * end, as a sparse stream). 0, or -1 with err set. */
static int upload_range(virStorageVolPtr vol, int fd, off_t off, off_t len, struct sw_err *err)
{
    struct source src = {fd, len ? (long long)len : -1};
    if (lseek(fd, off, SEEK_SET) < 0) {
        SW_ERR(err, SW_EINTERNAL, WHAT ": its root filesystem could not be read back");
        return -1;
    }
    virStreamPtr st = virStreamNew(virStorageVolGetConnect(vol), 0);
    int rc = -1;
    unsigned flags = len ? 0 : VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM;
    if (st && virStorageVolUpload(vol, st, (unsigned long long)off, (unsigned long long)len,
                                  flags) == 0) {
        int r = len ? virStreamSendAll(st, send_data, &src)
                    : virStreamSparseSendAll(st, send_data, in_data, skip_hole, &src);
        if (r == 0 && virStreamFinish(st) == 0)
            rc = 0;
        else
            sw_virt_error(err, "write the server's disk");
        if (rc < 0)
            virStreamAbort(st);
    } else {
        sw_virt_error(err, "write the server's disk");
    }
    if (st)
        virStreamFree(st);
    return rc;
}

int sw_rootfs_upload(virStorageVolPtr vol, const char *image, struct sw_err *err)
{
    int fd = open(image, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        SW_ERR(err, SW_EINTERNAL, WHAT ": its root filesystem could not be read back");
        return -1;
    }
    int rc = upload_range(vol, fd, HEAD_BYTES, 0, err) == 0 &&
                     upload_range(vol, fd, 0, HEAD_BYTES, err) == 0
                 ? 0
                 : -1;
    close(fd);
    return rc;
}

int sw_rootfs_unfinished(virStorageVolPtr vol)
{
    virStreamPtr st = virStreamNew(virStorageVolGetConnect(vol), 0);
    unsigned char m[2] = {0, 0};
    int got = 0, r = 1;
    if (!st || virStorageVolDownload(vol, st, EXT4_MAGIC_AT, 2, 0) < 0) {
        r = 0; /* libvirt cannot read it back (the test driver): cannot tell */
    } else {
        while (got < 2 && (r = virStreamRecv(st, (char *)m + got, (size_t)(2 - got))) > 0)
            got += r;
        /* how the stream ends changes nothing: the bytes decide */
        if (got == 2)
            virStreamFinish(st);
        else
            virStreamAbort(st);
        r = got == 2 && !(m[0] == 0x53 && m[1] == 0xEF);
    }
    if (st)
        virStreamFree(st);
    virResetLastError();
    return r;
}

/* ---- the whole build ---- */

struct download {
    virStreamPtr st;
    char buf[64 * 1024];
    bool failed;
};

static la_ssize_t download_read(struct archive *a, void *ctx, const void **out)
{
    struct download *d = ctx;
    int n = virStreamRecv(d->st, d->buf, sizeof d->buf);
    if (n < 0) {
        d->failed = true;
        archive_set_error(a, EIO, "reading the image from libvirt failed");
        return -1;
    }
    *out = d->buf;
    return n;
}

/* Unpacks the volume tar into dir through a download stream. */
static int extract_volume(virStorageVolPtr tar, const char *dir, int64_t max_bytes,
                          struct sw_err *err)
{
    struct download *d = sw_calloc(1, sizeof *d);
    int rc = -1;
    if (!(d->st = virStreamNew(virStorageVolGetConnect(tar), 0)) ||
        virStorageVolDownload(tar, d->st, 0, 0, 0) < 0) {
        sw_virt_error(err, "read the server's image");
    } else {
        rc = sw_rootfs_unpack(download_read, d, dir, max_bytes, err);
        if (rc < 0 && d->failed)
            sw_virt_error(err, "read the server's image");
    }
    if (d->st) {
        /* the rest (tar padding) is not needed: the download ends here */
        virStreamAbort(d->st);
        virStreamFree(d->st);
    }
    virResetLastError();
    free(d);
    return rc;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    /* best effort: what cannot go is left, never a reason to stop */
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

char *sw_rootfs_work_dir(struct sw_err *err)
{
    const char *base = getenv("TMPDIR");
    char *tmpl = sw_asprintf("%s/slipway-rootfs-XXXXXX", base && *base ? base : "/var/tmp");
    char *real = NULL;
    if (!mkdtemp(tmpl) || !(real = realpath(tmpl, NULL))) {
        SW_ERR(err, SW_EINTERNAL, WHAT ": the engine's host has no room to build it");
        sw_err_detail(err, "%s: %s", tmpl, strerror(errno));
    }
    free(tmpl);
    return real;
}

void sw_rootfs_work_remove(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

int sw_rootfs_build(virStorageVolPtr tar, virStorageVolPtr vol, const struct sw_msg_node_job *job,
                    struct sw_err *err)
{
    char *work = sw_rootfs_work_dir(err);
    if (!work)
        return -1;
    int64_t bytes = (int64_t)job->disk_gb * 1024 * 1024 * 1024;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char *tree = sw_asprintf("%s/root", work), *image = sw_asprintf("%s/root.ext4", work);
    int rc = -1;
    if (mkdir(tree, 0755) < 0)
        SW_ERR(err, SW_EINTERNAL, WHAT ": the engine's host has no room to build it");
    else if (extract_volume(tar, tree, bytes, err) == 0 &&
             sw_rootfs_write_guest(tree, job, err) == 0 &&
             sw_rootfs_mkfs(tree, image, bytes, err) == 0 && sw_rootfs_upload(vol, image, err) == 0)
        rc = 0;
    sw_rootfs_work_remove(work);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    sw_info("rootfs.built", "server=%s ok=%d bytes=%lld ms=%lld", job->server_id, rc == 0,
            (long long)bytes,
            (long long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    free(tree);
    free(image);
    free(work);
    return rc;
}

int sw_rootfs_check(const struct sw_engine *eng, virStorageVolPtr vol, struct sw_err *err)
{
    if (!eng->hv || strcmp(eng->hv->scheme, "lxc") != 0)
        return 0;
    char *path = virStorageVolGetPath(vol);
    if (!path) {
        sw_virt_error(err, "create the server's disk");
        return -1;
    }
    size_t n = strlen(path);
    free(path);
    if (n <= SW_ROOTFS_LXC_PATH_MAX)
        return 0;
    SW_ERR(err, SW_EUNSUPPORTED,
           WHAT ": its path is too long for the node's container driver to mount");
    sw_err_detail(err, "root volume %s: path of %zu bytes, libvirt's LXC driver takes %d",
                  virStorageVolGetName(vol), n, SW_ROOTFS_LXC_PATH_MAX);
    return -1;
}

char *sw_rootfs_path(virConnectPtr conn, const char *pool, const char *volume)
{
    if (!conn || !pool || !volume)
        return NULL;
    virStoragePoolPtr p = virStoragePoolLookupByName(conn, pool);
    virStorageVolPtr v = p ? virStorageVolLookupByName(p, volume) : NULL;
    char *path = v ? virStorageVolGetPath(v) : NULL;
    if (v)
        virStorageVolFree(v);
    if (p)
        virStoragePoolFree(p);
    if (!path)
        virResetLastError();
    return path;
}
