/* target_dir.c - a backup target in a local or mounted directory.
 *
 * put writes "<name>.tmp-<random>", fsyncs it and renames it over <name>,
 * so a reader sees the whole object or none; list skips those temporary
 * names (an interrupted put's leftovers stay until an operator removes
 * them, backup/README.md). The rename, and any folder the put created,
 * are made durable too (the folders holding them are fsynced), so a put
 * that returned survives a power loss: a manifest never names a chunk a
 * crash lost, and a backup recorded as completed keeps its manifest.
 */
#include "config.h"
#include "backup/target.h"
#include "core/alloc.h"
#include "core/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_MARK ".tmp-"

struct dir_target {
    char *root;
};

static char *path_of(struct sw_bk_target *t, const char *key)
{
    struct dir_target *d = t->impl;
    return sw_asprintf("%s/%s", d->root, key);
}

static int io_fail(struct sw_err *err, const char *what, const char *key)
{
    int e = errno;
    SW_ERR_RETRY(err, SW_EUNAVAILABLE, "backup target: could not %s %s: %s", what, key,
                 strerror(e));
    return -1;
}

/* fsync of the folder holding path (what names it: a rename or a mkdir
 * in it is durable once this returns). */
static int sync_parent(char *path)
{
    char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    *slash = 0;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    *slash = '/';
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* mkdir -p of path's parent folders; each one made is made durable. */
static int make_parents(char *path)
{
    for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = 0;
        int rc = mkdir(path, 0700);
        if (rc == 0)
            rc = sync_parent(path);
        *s = '/';
        if (rc < 0 && errno != EEXIST)
            return -1;
    }
    return 0;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int dir_put(struct sw_bk_target *t, const char *key, const void *data, size_t len,
                   struct sw_err *err)
{
    SW_AUTOFREE char *path = path_of(t, key);
    SW_AUTOFREE char *tmp = sw_asprintf("%s" TMP_MARK "%08x", path, randombytes_random());
    if (make_parents(path) < 0)
        return io_fail(err, "create the folder of", key);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return io_fail(err, "create", key);
    if (write_all(fd, data, len) < 0 || fdatasync(fd) < 0) {
        io_fail(err, "write", key);
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        io_fail(err, "rename into place", key);
        unlink(tmp);
        return -1;
    }
    if (sync_parent(path) < 0)
        return io_fail(err, "sync the folder of", key);
    return 0;
}

static int dir_get(struct sw_bk_target *t, const char *key, unsigned char **data, size_t *len,
                   struct sw_err *err)
{
    SW_AUTOFREE char *path = path_of(t, key);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        SW_ERR(err, SW_ENOTFOUND, "backup target: %s does not exist", key);
        return -1;
    }
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        io_fail(err, "open", key);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    unsigned char *buf = sw_malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (got != (size_t)st.st_size) {
        free(buf);
        return io_fail(err, "read", key);
    }
    *data = buf;
    *len = got;
    return 0;
}

static int dir_exists(struct sw_bk_target *t, const char *key, bool *yes, uint64_t *size,
                      struct sw_err *err)
{
    SW_AUTOFREE char *path = path_of(t, key);
    struct stat st;
    if (stat(path, &st) == 0) {
        *yes = true;
        if (size)
            *size = (uint64_t)st.st_size;
        return 0;
    }
    *yes = false;
    return errno == ENOENT ? 0 : io_fail(err, "look up", key);
}

/* Walks rel (a folder relative to the root, ending in '/'). */
static int walk(struct dir_target *d, const char *rel, sw_bk_list_fn fn, void *arg,
                struct sw_err *err)
{
    SW_AUTOFREE char *path = sw_asprintf("%s/%s", d->root, rel);
    DIR *dir = opendir(path);
    if (!dir)
        return errno == ENOENT ? 0 : io_fail(err, "list", rel);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(dir))) {
        if (e->d_name[0] == '.' || strstr(e->d_name, TMP_MARK))
            continue;
        SW_AUTOFREE char *key = sw_asprintf("%s%s", rel, e->d_name);
        struct stat st;
        SW_AUTOFREE char *full = sw_asprintf("%s/%s", d->root, key);
        if (stat(full, &st) < 0)
            continue; /* deleted meanwhile */
        if (S_ISDIR(st.st_mode)) {
            SW_AUTOFREE char *sub = sw_asprintf("%s/", key);
            rc = walk(d, sub, fn, arg, err);
        } else {
            rc = fn(arg, key);
        }
    }
    closedir(dir);
    return rc;
}

static int dir_list(struct sw_bk_target *t, const char *prefix, sw_bk_list_fn fn, void *arg,
                    struct sw_err *err)
{
    return walk(t->impl, prefix, fn, arg, err);
}

static int dir_del(struct sw_bk_target *t, const char *key, struct sw_err *err)
{
    SW_AUTOFREE char *path = path_of(t, key);
    return unlink(path) == 0 || errno == ENOENT ? 0 : io_fail(err, "delete", key);
}

static void dir_release(struct sw_bk_target *t)
{
    struct dir_target *d = t->impl;
    free(d->root);
    free(d);
}

static const struct sw_bk_target_ops dir_ops = {
    .kind = "dir",
    .put = dir_put,
    .get = dir_get,
    .exists = dir_exists,
    .list = dir_list,
    .del = dir_del,
    .release = dir_release,
};

int sw_bk_target_dir_init(struct sw_bk_target *t, const json_t *conf, struct sw_err *err)
{
    const char *path = sw_bk_conf_str(conf, "path", true, err);
    if (!path)
        return -1;
    if (path[0] != '/' || strstr(path, "/../")) {
        SW_ERR(err, SW_EINVALID, "backup target: a dir target's path must be absolute");
        return -1;
    }
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return io_fail(err, "create", path);
    struct dir_target *d = sw_calloc(1, sizeof *d);
    d->root = sw_strdup(path);
    t->ops = &dir_ops;
    t->impl = d;
    return 0;
}
