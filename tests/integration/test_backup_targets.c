/* test_backup_targets - drives the backup library for backup_targets.sh.
 *
 *   test_backup_targets TARGET.json KEYFILE write ACCOUNT SERVER BACKUP IMAGE [PARENT]
 *   test_backup_targets TARGET.json KEYFILE restore ACCOUNT BACKUP OUT
 *   test_backup_targets TARGET.json KEYFILE chunk ACCOUNT BACKUP INDEX
 *   test_backup_targets TARGET.json KEYFILE delete ACCOUNT BACKUP
 *   test_backup_targets TARGET.json KEYFILE count ACCOUNT
 *
 * KEYFILE holds the account key as 64 hex digits. write prints the
 * manifest's counts and the throughput as one JSON line; chunk prints a
 * chunk's name on the target; count prints how many chunks the account has.
 * gc and scrub are slipwayctl's (backup-gc, backup-scrub).
 */
#include "config.h"
#include "backup/repo.h"
#include "core/alloc.h"
#include "core/err.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int fail(const struct sw_err *err)
{
    fprintf(stderr, "test_backup_targets: %s\n", err->msg);
    return 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes IMAGE whole (a full backup) or only the chunks that differ from
 * PARENT's image (the reader's part, here by comparing ids). */
static int cmd_write(struct sw_bk_target *t, const unsigned char *key, char **a, int n)
{
    struct sw_err err = {0};
    struct sw_bk_manifest *parent = NULL;
    if (n > 4 && !(parent = sw_bk_manifest_load(t, key, a[0], a[4], &err)))
        return fail(&err);
    int fd = open(a[3], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return perror(a[3]), 1;
    struct sw_bk_writer *w = sw_bk_writer_new(t, key, a[0], a[1], a[2], parent,
                                              (uint64_t)st.st_size, &err);
    if (!w)
        return fail(&err);
    struct sw_bk_keys keys;
    sw_bk_keys_init(&keys, key);
    unsigned char *buf = sw_malloc(SW_BK_CHUNK_SIZE);
    double t0 = now();
    int rc = 0;
    uint64_t sent = 0;
    for (uint64_t off = 0; rc == 0 && off < (uint64_t)st.st_size; off += SW_BK_CHUNK_SIZE) {
        size_t i = (size_t)(off / SW_BK_CHUNK_SIZE);
        ssize_t len = pread(fd, buf, SW_BK_CHUNK_SIZE, (off_t)off);
        unsigned char id[SW_BK_ID_BYTES];
        sw_bk_chunk_id(&keys, buf, (size_t)len, id);
        bool same = parent && (parent->zero[i] ? sw_bk_is_zero(buf, (size_t)len)
                                               : memcmp(id, parent->ids[i], sizeof id) == 0);
        if (same)
            continue;
        rc = sw_bk_writer_put(w, off, buf, (size_t)len, &err);
        sent += (uint64_t)len;
    }
    struct sw_bk_manifest *m = NULL;
    if (rc == 0)
        rc = sw_bk_writer_finish(w, &m, &err);
    double secs = now() - t0;
    if (rc == 0)
        printf("{\"read\":%llu,\"stored_new\":%llu,\"seconds\":%.3f,\"mib_per_s\":%.1f}\n",
               (unsigned long long)m->read_bytes, (unsigned long long)m->stored_new_bytes, secs,
               (double)st.st_size / 1048576.0 / secs);
    (void)sent;
    sw_bk_keys_release(&keys);
    sw_bk_manifest_free(m);
    sw_bk_manifest_free(parent);
    sw_bk_writer_free(w);
    free(buf);
    close(fd);
    return rc == 0 ? 0 : fail(&err);
}

static int emit(void *arg, uint64_t off, const unsigned char *data, size_t len)
{
    int fd = *(int *)arg;
    if (!data)
        return 0; /* a hole: the file was sized first */
    return pwrite(fd, data, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

static int cmd_restore(struct sw_bk_target *t, const unsigned char *key, char **a)
{
    struct sw_err err = {0};
    struct sw_bk_manifest *m = sw_bk_manifest_load(t, key, a[0], a[1], &err);
    if (!m)
        return fail(&err);
    int fd = open(a[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    double t0 = now();
    int rc = fd < 0 || ftruncate(fd, (off_t)m->disk_size) < 0 ? -1 : 0;
    if (rc == 0 && sw_bk_restore(t, key, m, emit, &fd, &err) < 0)
        rc = fail(&err);
    else if (rc == 0)
        printf("{\"seconds\":%.3f,\"mib_per_s\":%.1f}\n", now() - t0,
               (double)m->disk_size / 1048576.0 / (now() - t0));
    if (fd >= 0)
        close(fd);
    sw_bk_manifest_free(m);
    return rc == 0 ? 0 : 1;
}

static int cmd_chunk(struct sw_bk_target *t, const unsigned char *key, char **a)
{
    struct sw_err err = {0};
    struct sw_bk_manifest *m = sw_bk_manifest_load(t, key, a[0], a[1], &err);
    if (!m)
        return fail(&err);
    size_t i = (size_t)strtoul(a[2], NULL, 10);
    int rc = i < m->nchunks && !m->zero[i] ? 0 : 2;
    if (rc == 0) {
        char *name = sw_bk_chunk_key(m->account, m->ids[i]);
        printf("%s\n", name);
        free(name);
    }
    sw_bk_manifest_free(m);
    return rc;
}

static int count_one(void *arg, const char *name)
{
    (void)name;
    (*(size_t *)arg)++;
    return 0;
}

static int run(struct sw_bk_target *t, const unsigned char *key, const char *cmd, char **a,
               int n)
{
    struct sw_err err = {0};
    if (strcmp(cmd, "write") == 0 && n >= 4)
        return cmd_write(t, key, a, n);
    if (strcmp(cmd, "restore") == 0 && n == 3)
        return cmd_restore(t, key, a);
    if (strcmp(cmd, "chunk") == 0 && n == 3)
        return cmd_chunk(t, key, a);
    if (strcmp(cmd, "delete") == 0 && n == 2) {
        char *name = sw_bk_manifest_key(a[0], a[1]);
        int rc = sw_bk_target_delete(t, name, &err);
        free(name);
        return rc == 0 ? 0 : fail(&err);
    }
    if (strcmp(cmd, "count") == 0 && n == 1) {
        size_t count = 0;
        char *prefix = sw_asprintf("%s/chunks/", a[0]);
        int rc = sw_bk_target_list(t, prefix, count_one, &count, &err);
        free(prefix);
        if (rc == 0)
            printf("%zu\n", count);
        return rc == 0 ? 0 : fail(&err);
    }
    fprintf(stderr, "test_backup_targets: bad usage (see the file's comment)\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 5 || sodium_init() < 0) {
        fprintf(stderr, "usage: test_backup_targets TARGET.json KEYFILE COMMAND ARGS...\n");
        return 2;
    }
    json_error_t je;
    json_t *conf = json_load_file(argv[1], 0, &je);
    char hex[SW_BK_KEY_BYTES * 2 + 2] = {0};
    unsigned char key[SW_BK_KEY_BYTES];
    FILE *kf = fopen(argv[2], "r");
    size_t klen = 0;
    if (!conf || !kf || !fgets(hex, sizeof hex, kf) ||
        sodium_hex2bin(key, sizeof key, hex, strlen(hex), "\n", &klen, NULL) < 0 ||
        klen != sizeof key) {
        fprintf(stderr, "test_backup_targets: cannot read %s or %s\n", argv[1], argv[2]);
        return 2;
    }
    fclose(kf);
    struct sw_err err = {0};
    struct sw_bk_target *t = sw_bk_target_open(conf, &err);
    json_decref(conf);
    if (!t)
        return fail(&err);
    int rc = run(t, key, argv[3], argv + 4, argc - 4);
    sodium_memzero(key, sizeof key);
    sodium_memzero(hex, sizeof hex);
    sw_bk_target_free(t);
    return rc;
}
