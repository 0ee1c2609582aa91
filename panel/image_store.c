/* image_store.c - the image library's files (image_store.h). */
#include "config.h"
#include "panel/image_store.h"
#include "core/alloc.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char *store_dir;
static int64_t store_max;

/* mkdir -p dir (0750). */
static int make_dir(const char *dir)
{
    char *p = sw_strdup(dir);
    int rc = 0;
    for (char *s = p + 1; rc == 0; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0750) < 0 && errno != EEXIST)
            rc = -1;
        *s = c;
        if (!c)
            break;
    }
    free(p);
    return rc;
}

int sw_image_store_init(struct sw_err *err)
{
    long long max = 0;
    const char *dir = sw_conf_get("SLIPWAY_IMAGES_DIR"),
               *m = sw_conf_get("SLIPWAY_IMAGE_MAX_BYTES");
    char *end = NULL;
    if (m)
        max = strtoll(m, &end, 10);
    if (!m || !*m || *end || max < 1) {
        SW_ERR(err, SW_EINVALID, "SLIPWAY_IMAGE_MAX_BYTES must be a positive number of bytes");
        return -1;
    }
    if (!dir || dir[0] != '/') {
        SW_ERR(err, SW_EINVALID, "SLIPWAY_IMAGES_DIR must be an absolute path");
        return -1;
    }
    free(store_dir);
    store_dir = sw_strdup(dir);
    store_max = max;
    /* Made when first needed, so a panel that stores no image needs none. */
    if (make_dir(dir) < 0)
        sw_warn("image.store_dir", "dir=%s error=\"%s\" (made at the first image)", dir,
                strerror(errno));
    return 0;
}

const char *sw_image_store_dir(void)
{
    return store_dir;
}
int64_t sw_image_store_max_bytes(void)
{
    return store_max;
}

static pthread_mutex_t url_mu = PTHREAD_MUTEX_INITIALIZER;
static char *bound_url;

void sw_image_store_set_bound_url(const char *url)
{
    pthread_mutex_lock(&url_mu);
    free(bound_url);
    bound_url = sw_strdup(url);
    pthread_mutex_unlock(&url_mu);
}

char *sw_image_store_panel_url(void)
{
    const char *conf = sw_conf_get("SLIPWAY_NODE_PANEL_URL");
    if (conf && conf[0])
        return sw_strdup(conf);
    pthread_mutex_lock(&url_mu);
    char *u =
        bound_url ? sw_strdup(bound_url) : sw_asprintf("http://%s", sw_conf_get("SLIPWAY_LISTEN"));
    pthread_mutex_unlock(&url_mu);
    return u;
}

char *sw_image_path(const char *sha256)
{
    return sw_asprintf("%s/%s", store_dir, sha256);
}

bool sw_image_sha256_valid(const char *s)
{
    return s && strlen(s) == SW_IMAGE_SHA256_HEX &&
           strspn(s, "0123456789abcdef") == SW_IMAGE_SHA256_HEX;
}

/* ---- the sink ---- */

struct sw_image_sink {
    char *path;
    int fd;
    int64_t size;
    crypto_hash_sha256_state sha;
    char sha256[SW_IMAGE_SHA256_HEX + 1];
    bool broken, kept;
    struct sw_err why; /* what broke it */
};

struct sw_image_sink *sw_image_sink_new(struct sw_err *err)
{
    struct sw_image_sink *s = sw_calloc(1, sizeof *s);
    s->path = sw_asprintf("%s/.part-XXXXXX", store_dir);
    s->fd = mkstemp(s->path);
    if (s->fd < 0 && errno == ENOENT && make_dir(store_dir) == 0) {
        memcpy(s->path + strlen(s->path) - 6, "XXXXXX", 6);
        s->fd = mkstemp(s->path);
    }
    if (s->fd < 0) {
        SW_ERR(err, SW_EINTERNAL, "could not store the image");
        sw_err_detail(err, "mkstemp %s: %s", s->path, strerror(errno));
        free(s->path);
        free(s);
        return NULL;
    }
    crypto_hash_sha256_init(&s->sha);
    return s;
}

const char *sw_image_sink_path(const struct sw_image_sink *s)
{
    return s->path;
}

int sw_image_sink_write(struct sw_image_sink *s, const void *data, size_t n, struct sw_err *err)
{
    if (!s->broken && (int64_t)n > store_max - s->size) {
        SW_ERR(&s->why, SW_ETOO_LARGE,
               "the image is larger than %lld bytes (SLIPWAY_IMAGE_MAX_BYTES)",
               (long long)store_max);
        s->broken = true;
    }
    for (size_t done = 0; !s->broken && done < n;) {
        ssize_t w = write(s->fd, (const char *)data + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            SW_ERR(&s->why, SW_EINTERNAL, "could not store the image");
            sw_err_detail(&s->why, "write %s: %s", s->path, strerror(errno));
            s->broken = true;
            break;
        }
        done += (size_t)w;
    }
    if (s->broken) {
        *err = s->why;
        return -1;
    }
    crypto_hash_sha256_update(&s->sha, data, n);
    s->size += (int64_t)n;
    return 0;
}

int sw_image_sink_finish(struct sw_image_sink *s, char sha256[SW_IMAGE_SHA256_HEX + 1],
                         int64_t *size, struct sw_err *err)
{
    if (!s->broken && fsync(s->fd) < 0) {
        SW_ERR(&s->why, SW_EINTERNAL, "could not store the image");
        sw_err_detail(&s->why, "fsync %s: %s", s->path, strerror(errno));
        s->broken = true;
    }
    if (s->broken) {
        *err = s->why;
        return -1;
    }
    unsigned char sum[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&s->sha, sum);
    sodium_bin2hex(s->sha256, sizeof s->sha256, sum, sizeof sum);
    memcpy(sha256, s->sha256, sizeof s->sha256);
    *size = s->size;
    return 0;
}

int sw_image_sink_keep(struct sw_image_sink *s, struct sw_err *err)
{
    if (s->kept)
        return 0; /* a retried transaction keeps it once */
    char *dst = sw_image_path(s->sha256);
    int rc = rename(s->path, dst);
    if (rc < 0) {
        SW_ERR(err, SW_EINTERNAL, "could not store the image");
        sw_err_detail(err, "rename %s %s: %s", s->path, dst, strerror(errno));
    }
    free(dst);
    s->kept = rc == 0;
    return rc;
}

void sw_image_sink_free(struct sw_image_sink *s)
{
    if (!s)
        return;
    close(s->fd);
    if (!s->kept)
        unlink(s->path);
    free(s->path);
    free(s);
}

/* ---- inspection ---- */

/* The limits every inspecting tool runs under (prlimit(1), util-linux): a
 * crafted image must not make qemu-img eat the host (the fix OpenStack
 * adopted for CVE-2015-5162): 1 GiB of address space, 30 s of CPU. */
static const char *const limits[] = {"prlimit", "--as=1073741824", "--cpu=30", "--"};
#define NLIMITS (sizeof limits / sizeof limits[0])

/* argv behind the limits; owned (free(), not the strings). */
static char **limited_argv(char *const argv[])
{
    size_t n = 0;
    while (argv[n])
        n++;
    char **full = sw_calloc(NLIMITS + n + 1, sizeof *full);
    for (size_t i = 0; i < NLIMITS; i++)
        full[i] = (char *)limits[i];
    memcpy(full + NLIMITS, argv, n * sizeof *full);
    return full;
}

/* Reads fd to its end, keeping the first cap bytes; owned, NUL-terminated. */
static char *read_all(int fd, size_t cap)
{
    char *buf = sw_malloc(cap + 1);
    size_t len = 0;
    char drop[4096];
    for (;;) {
        ssize_t n = len < cap ? read(fd, buf + len, cap - len) : read(fd, drop, sizeof drop);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (len < cap)
            len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

int sw_image_run(char *const argv[], char **out, size_t cap, struct sw_err *err)
{
    int p[2];
    *out = NULL;
    if (pipe2(p, O_CLOEXEC) < 0) {
        SW_ERR(err, SW_EINTERNAL, "could not inspect the image");
        return -1;
    }
    char **full = limited_argv(argv);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, full[0], &fa, NULL, full, environ);
    posix_spawn_file_actions_destroy(&fa);
    free(full);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        SW_ERR(err, SW_EINTERNAL, "could not inspect the image");
        sw_err_detail(err, "could not run prlimit: %s", strerror(rc));
        return -1;
    }
    *out = read_all(p[0], cap);
    close(p[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code == 126 || code == 127) { /* prlimit could not run the tool */
        free(*out);
        *out = NULL;
        SW_ERR(err, SW_EINTERNAL, "could not inspect the image");
        sw_err_detail(err, "could not run %s (exit %d)", argv[0], code);
        return -1;
    }
    return code;
}

/* qemu-img info of path as format: the parsed answer, or NULL with err
 * (the tool refused the file: not of that format). */
static json_t *qemu_info(const char *path, const char *format, struct sw_err *err)
{
    char *out;
    char *const argv[] = {"qemu-img",
                          "info",
                          "--output=json",
                          "-U",
                          format ? "-f" : "--",
                          (char *)(format ? format : path),
                          format ? "--" : NULL,
                          (char *)path,
                          NULL};
    int rc = sw_image_run(argv, &out, 256 * 1024, err);
    json_t *o = NULL;
    if (rc == 0)
        o = json_loads(out, 0, NULL);
    if (rc > 0 || (rc == 0 && !json_is_object(o)))
        SW_ERR(err, SW_EUNPROCESSABLE, "the file is not a valid %s image",
               format ? format : "disk");
    free(out);
    if (o && !json_is_object(o)) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

static int check_qcow2(const char *path, json_t *info, struct sw_err *err)
{
    const char *backing = sw_json_str(info, "backing-filename");
    if (backing || json_object_get(info, "full-backing-filename")) {
        SW_ERR(err, SW_EUNPROCESSABLE,
               "the qcow2 image names a backing file (\"%.100s\"): images must be self-contained",
               backing ? backing : "?");
        return -1;
    }
    json_t *spec = json_object_get(json_object_get(info, "format-specific"), "data");
    if (json_object_get(spec, "data-file")) {
        SW_ERR(err, SW_EUNPROCESSABLE,
               "the qcow2 image names an external data file: images must be self-contained");
        return -1;
    }
    char *out;
    char *const argv[] = {"qemu-img", "check", "-U", "-f", "qcow2", "--", (char *)path, NULL};
    int rc = sw_image_run(argv, &out, 64 * 1024, err);
    free(out);
    if (rc < 0)
        return -1;
    if (rc != 0 && rc != 3) { /* 3: leaked clusters only, harmless */
        SW_ERR(err, SW_EUNPROCESSABLE,
               "the qcow2 image is damaged or truncated (qemu-img check failed)");
        return -1;
    }
    return 0;
}

static int check_disk(const char *path, const char *format, struct sw_err *err)
{
    json_t *info = qemu_info(path, format, err);
    if (!info)
        return -1;
    int rc = -1;
    const char *got = sw_json_str(info, "format");
    if (!got || strcmp(got, format) != 0)
        SW_ERR(err, SW_EUNPROCESSABLE, "the file is a %s image, not %s", got ? got : "unknown",
               format);
    else if (strcmp(format, "qcow2") == 0)
        rc = check_qcow2(path, info, err);
    else
        rc = 0;
    json_decref(info);
    if (rc == 0 && strcmp(format, "raw") == 0) {
        /* A file declared raw that probes as another format would be
         * that format to anything that probes it. */
        json_t *probe = qemu_info(path, NULL, err);
        got = probe ? sw_json_str(probe, "format") : NULL;
        if (!probe || !got || strcmp(got, "raw") != 0) {
            SW_ERR(err, SW_EUNPROCESSABLE, "the file is a %s image, not raw",
                   got ? got : "unknown");
            rc = -1;
        }
        json_decref(probe);
    }
    return rc;
}

/* ISO 9660: a volume descriptor at sector 16 whose identifier is "CD001". */
static int check_iso(const char *path, struct sw_err *err)
{
    char id[5] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : pread(fd, id, sizeof id, 16 * 2048 + 1);
    if (fd >= 0)
        close(fd);
    if (n != (ssize_t)sizeof id || memcmp(id, "CD001", 5) != 0) {
        SW_ERR(err, SW_EUNPROCESSABLE, "the file is not an ISO 9660 image");
        return -1;
    }
    return 0;
}

/* A tarball lists with tar -tf and holds at least one entry (GNU tar reads
 * a file of zeros as an empty archive). */
static int check_tar(const char *path, struct sw_err *err)
{
    char *out;
    char *const argv[] = {"tar", "-tf", (char *)path, NULL};
    int rc = sw_image_run(argv, &out, 4096, err);
    bool empty = rc == 0 && out[0] == '\0';
    free(out);
    if (rc > 0 || empty)
        SW_ERR(err, SW_EUNPROCESSABLE, "the file is not a readable tar archive with an entry");
    return rc == 0 && !empty ? 0 : -1;
}

int sw_image_inspect(const char *path, const char *format, int64_t size, struct sw_err *err)
{
    if (size <= 0) {
        SW_ERR(err, SW_EUNPROCESSABLE, "the file is empty");
        return -1;
    }
    if (strcmp(format, "qcow2") == 0 || strcmp(format, "raw") == 0)
        return check_disk(path, format, err);
    if (strcmp(format, "iso") == 0)
        return check_iso(path, err);
    if (strcmp(format, "tar") == 0)
        return check_tar(path, err);
    return 0; /* kernel, initrd: not empty */
}

/* ---- uploads ---- */

struct sw_upload *sw_upload_new(void)
{
    struct sw_upload *u = sw_calloc(1, sizeof *u);
    u->fields = json_object();
    return u;
}

int sw_upload_fail(struct sw_upload *u, const struct sw_err *why)
{
    if (u->failed)
        return -1;
    u->failed = true;
    u->failure = sw_malloc(sizeof *u->failure);
    *u->failure = *why;
    return -1;
}

static int upload_field(struct sw_upload *u, const char *key, const char *data, size_t size)
{
    struct sw_err err = {0};
    const char *cur = sw_json_str(u->fields, key);
    size_t have = cur ? strlen(cur) : 0;
    if (have + size > SW_UPLOAD_FIELD_MAX || memchr(data, '\0', size)) {
        SW_ERR(&err, SW_EINVALID, "form field \"%.40s\" is longer than %d bytes", key,
               SW_UPLOAD_FIELD_MAX);
        return sw_upload_fail(u, &err);
    }
    char *v = sw_malloc(have + size + 1);
    memcpy(v, cur ? cur : "", have);
    memcpy(v + have, data, size);
    v[have + size] = '\0';
    json_object_set_new(u->fields, key, json_string(v));
    free(v);
    return 0;
}

int sw_upload_piece(struct sw_upload *u, const char *key, const char *filename, const char *data,
                    uint64_t off, size_t size)
{
    if (u->failed)
        return -1;
    struct sw_err err = {0};
    if (!key || strcmp(key, "file") != 0) {
        if (!key || filename) {
            SW_ERR(&err, SW_EINVALID, "only the form field \"file\" may hold a file");
            return sw_upload_fail(u, &err);
        }
        return upload_field(u, key, data, size);
    }
    if (off == 0 && u->file_bytes && size) {
        SW_ERR(&err, SW_EINVALID, "the form holds more than one file");
        return sw_upload_fail(u, &err);
    }
    if (!u->file && !(u->file = sw_image_sink_new(&err)))
        return sw_upload_fail(u, &err);
    if (size && sw_image_sink_write(u->file, data, size, &err) < 0)
        return sw_upload_fail(u, &err);
    u->file_bytes += size;
    return 0;
}

char *sw_upload_finish(struct sw_upload *u)
{
    struct sw_err err = {0};
    if (u->failed)
        return NULL;
    if (u->file && sw_image_sink_finish(u->file, u->sha256, &u->size, &err) < 0) {
        sw_upload_fail(u, &err);
        return NULL;
    }
    json_t *o = json_pack("{s:O, s:s?, s:I}", "fields", u->fields, "file_sha256",
                          u->file ? u->sha256 : NULL, "file_size", (json_int_t)u->size);
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    if (!text)
        abort();
    return text;
}

void sw_upload_free(struct sw_upload *u)
{
    if (!u)
        return;
    json_decref(u->fields);
    sw_image_sink_free(u->file);
    free(u->failure);
    free(u);
}
