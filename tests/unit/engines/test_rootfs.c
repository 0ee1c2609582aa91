/* Tests of engines/rootfs.c: the extraction rules on tarballs made here
 * with libarchive's writer (a path with "..", an absolute path, a hard
 * link out, a write through the archive's own symbolic link, device
 * nodes, setuid bits, a truncated archive, one too big for the disk), the
 * guest's files written without following the tree's links, and the ext4
 * image read back with debugfs (e2fsprogs, not our code). Runs as root for
 * owners and device nodes; skips what needs root otherwise. */
#include "config.h"
#include "engines/rootfs.h"
#include "core/alloc.h"
#include "core/enums.h"
#include "core/err.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* One entry of a test tarball. */
struct ent {
    const char *name;
    mode_t type; /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR, AE_IFBLK */
    int perm;
    const char *data;  /* file content, or the symbolic link's target */
    const char *hardlink;
    unsigned maj, min;
    int64_t uid;
};

struct tarball {
    char *bytes;
    size_t len;
};

static struct tarball tar_of(const struct ent *e, size_t n, bool gzip)
{
    struct tarball t = {sw_malloc(1 << 20), 0};
    struct archive *w = archive_write_new();
    archive_write_set_format_pax_restricted(w);
    if (gzip)
        archive_write_add_filter_gzip(w);
    assert_int_equal(archive_write_open_memory(w, t.bytes, 1 << 20, &t.len), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *a = archive_entry_new();
        archive_entry_set_pathname(a, e[i].name);
        archive_entry_set_filetype(a, e[i].type);
        archive_entry_set_perm(a, (mode_t)(e[i].perm ? e[i].perm : 0644));
        archive_entry_set_uid(a, e[i].uid);
        if (e[i].hardlink)
            archive_entry_set_hardlink(a, e[i].hardlink);
        if (e[i].type == AE_IFLNK)
            archive_entry_set_symlink(a, e[i].data);
        if (e[i].type == AE_IFCHR || e[i].type == AE_IFBLK)
            archive_entry_set_rdev(a, makedev(e[i].maj, e[i].min));
        size_t len = e[i].type == AE_IFREG && e[i].data && !e[i].hardlink ? strlen(e[i].data) : 0;
        archive_entry_set_size(a, (la_int64_t)len);
        assert_true(archive_write_header(w, a) >= ARCHIVE_WARN);
        if (len)
            assert_int_equal(archive_write_data(w, e[i].data, len), (la_ssize_t)len);
        archive_entry_free(a);
    }
    assert_int_equal(archive_write_close(w), ARCHIVE_OK);
    archive_write_free(w);
    return t;
}

static char base[256];
static int case_no;

/* A fresh directory under the test's base for one extraction. */
static char *fresh_dir(void)
{
    char *d = sw_asprintf("%s/x%d", base, ++case_no);
    assert_int_equal(mkdir(d, 0755), 0);
    return d;
}

/* Hands out t's bytes in pieces of at most 4 KiB, as a stream would. */
struct reader {
    const struct tarball *t;
    size_t off;
};

static la_ssize_t read_piece(struct archive *a, void *ctx, const void **buf)
{
    (void)a;
    struct reader *r = ctx;
    size_t n = r->t->len - r->off < 4096 ? r->t->len - r->off : 4096;
    *buf = r->t->bytes + r->off;
    r->off += n;
    return (la_ssize_t)n;
}

/* Extracts t into a fresh directory; returns unpack's rc, dir in *dir. */
static int extract(const struct tarball *t, int64_t max, char **dir, struct sw_err *err)
{
    *dir = fresh_dir();
    struct reader r = {t, 0};
    return sw_rootfs_unpack(read_piece, &r, *dir, max, err);
}

static void expect_refused(const struct ent *e, size_t n, const char *msg_part)
{
    struct tarball t = tar_of(e, n, true);
    struct sw_err err;
    sw_err_clear(&err);
    char *dir;
    assert_int_equal(extract(&t, 1 << 20, &dir, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    if (!strstr(err.msg, msg_part))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, msg_part);
    free(dir);
    free(t.bytes);
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void test_good_tree(void **state)
{
    (void)state;
    const struct ent e[] = {
        {"./", AE_IFDIR, 0755, NULL, NULL, 0, 0, 0},
        {"bin/", AE_IFDIR, 0755, NULL, NULL, 0, 0, 0},
        {"bin/busybox", AE_IFREG, 0755, "#!bb\n", NULL, 0, 0, 0},
        {"bin/sh", AE_IFLNK, 0777, "/bin/busybox", NULL, 0, 0, 0}, /* absolute targets are fine */
        {"bin/ash", AE_IFREG, 0755, NULL, "bin/busybox", 0, 0, 0},
        {"usr/bin/su", AE_IFREG, 04755, "su\n", NULL, 0, 0, 0},      /* root's setuid kept */
        {"usr/bin/mine", AE_IFREG, 04755, "x\n", NULL, 0, 0, 1000}, /* another's dropped */
        {"dev/null", AE_IFCHR, 0666, NULL, NULL, 1, 3, 0},
    };
    struct tarball t = tar_of(e, sizeof e / sizeof e[0], true);
    struct sw_err err;
    sw_err_clear(&err);
    char *dir, path[512];
    if (extract(&t, 1 << 20, &dir, &err) < 0)
        fail_msg("%s (%s)", err.msg, err.detail);
    struct stat st;
    snprintf(path, sizeof path, "%s/bin/ash", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_nlink, 2);
    snprintf(path, sizeof path, "%s/bin/sh", dir);
    char target[64] = "";
    assert_true(readlink(path, target, sizeof target - 1) > 0);
    assert_string_equal(target, "/bin/busybox");
    if (geteuid() == 0) {
        snprintf(path, sizeof path, "%s/usr/bin/su", dir);
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_mode & S_ISUID);
        snprintf(path, sizeof path, "%s/usr/bin/mine", dir);
        assert_int_equal(stat(path, &st), 0);
        assert_false(st.st_mode & S_ISUID);
        assert_int_equal(st.st_uid, 1000);
        snprintf(path, sizeof path, "%s/dev/null", dir);
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISCHR(st.st_mode));
    }
    free(dir);
    free(t.bytes);
}

static void test_dotdot_refused(void **state)
{
    (void)state;
    const struct ent e[] = {{"etc/../../evil", AE_IFREG, 0644, "x", NULL, 0, 0, 0}};
    expect_refused(e, 1, "outside its root");
    char path[512];
    snprintf(path, sizeof path, "%s/evil", base);
    assert_false(exists(path));
}

static void test_absolute_refused(void **state)
{
    (void)state;
    char name[512];
    snprintf(name, sizeof name, "%s/absolute-evil", base);
    const struct ent e[] = {{name, AE_IFREG, 0644, "x", NULL, 0, 0, 0}};
    expect_refused(e, 1, "outside its root");
    assert_false(exists(name));
}

static void test_hardlink_out_refused(void **state)
{
    (void)state;
    const struct ent e[] = {{"shadow", AE_IFREG, 0644, NULL, "../../etc/shadow", 0, 0, 0}};
    expect_refused(e, 1, "links a file outside its root");
    const struct ent abs[] = {{"shadow", AE_IFREG, 0644, NULL, "/etc/shadow", 0, 0, 0}};
    expect_refused(abs, 1, "links a file outside its root");
}

/* The archive's own link to a directory outside, then a file through it. */
static void test_symlink_escape_refused(void **state)
{
    (void)state;
    char outside[512];
    snprintf(outside, sizeof outside, "%s/outside", base);
    assert_int_equal(mkdir(outside, 0755), 0);
    const struct ent e[] = {
        {"etc", AE_IFLNK, 0777, outside, NULL, 0, 0, 0},
        {"etc/passwd", AE_IFREG, 0644, "evil", NULL, 0, 0, 0},
    };
    expect_refused(e, 2, "writes through a link");
    char path[600];
    snprintf(path, sizeof path, "%s/passwd", outside);
    assert_false(exists(path));
}

static void test_devices_refused(void **state)
{
    (void)state;
    const struct ent blk[] = {{"dev/sda", AE_IFBLK, 0660, NULL, NULL, 8, 0, 0}};
    expect_refused(blk, 1, "device node");
    const struct ent mem[] = {{"dev/mem", AE_IFCHR, 0660, NULL, NULL, 1, 1, 0}};
    expect_refused(mem, 1, "device node");
}

static void test_truncated_refused(void **state)
{
    (void)state;
    static char big[64 * 1024];
    uint32_t x = 2463534242u; /* xorshift: text gzip cannot shrink much */
    for (size_t i = 0; i < sizeof big - 1; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        big[i] = (char)('!' + x % 90);
    }
    const struct ent e[] = {{"big", AE_IFREG, 0644, big, NULL, 0, 0, 0},
                            {"after", AE_IFREG, 0644, "x", NULL, 0, 0, 0}};
    for (int gz = 0; gz < 2; gz++) {
        struct tarball t = tar_of(e, 2, gz);
        t.len /= 2;
        struct sw_err err;
        sw_err_clear(&err);
        char *dir;
        assert_int_equal(extract(&t, 1 << 20, &dir, &err), -1);
        assert_int_equal(err.code, SW_EINVALID);
        assert_non_null(strstr(err.msg, "damaged or truncated"));
        free(dir);
        free(t.bytes);
    }
}

static void test_too_big_refused(void **state)
{
    (void)state;
    const struct ent e[] = {{"a", AE_IFREG, 0644, "0123456789", NULL, 0, 0, 0},
                            {"b", AE_IFREG, 0644, "0123456789", NULL, 0, 0, 0}};
    struct tarball t = tar_of(e, 2, false);
    struct sw_err err;
    sw_err_clear(&err);
    char *dir;
    assert_int_equal(extract(&t, 15, &dir, &err), -1);
    assert_non_null(strstr(err.msg, "does not fit the plan's disk"));
    free(dir);
    sw_err_clear(&err);
    assert_int_equal(extract(&t, 20, &dir, &err), 0);
    free(dir);
    free(t.bytes);
}

static void test_not_tar_refused(void **state)
{
    (void)state;
    struct tarball t = {sw_strdup("this is not an archive at all, just text\n"), 0};
    t.len = strlen(t.bytes);
    struct sw_err err;
    sw_err_clear(&err);
    char *dir;
    int rc = extract(&t, 1 << 20, &dir, &err);
    assert_non_null(strstr(err.msg, "not a tar archive"));
    assert_int_equal(rc, -1);
    free(dir);
    free(t.bytes);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = sw_calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void job_of(struct sw_msg_node_job *job)
{
    memset(job, 0, sizeof *job);
    snprintf(job->server_id, sizeof job->server_id, "7f1c2d3e-0000-4000-8000-000000000001");
    snprintf(job->hostname, sizeof job->hostname, "ct1.example.com");
    snprintf(job->ipv4, sizeof job->ipv4, "192.0.2.5");
    job->ipv4_prefix = 24;
    snprintf(job->ipv4_gateway, sizeof job->ipv4_gateway, "192.0.2.1");
    snprintf(job->ipv6, sizeof job->ipv6, "2001:db8:1::");
    snprintf(job->ssh_keys, sizeof job->ssh_keys, "ssh-ed25519 AAAA one\nssh-rsa BBBB two");
    snprintf(job->password_hash, sizeof job->password_hash, "$6$salt$hash");
    job->dns_n = 1;
    snprintf(job->dns[0], sizeof job->dns[0], "192.0.2.53");
    job->disk_gb = 1;
    job->kind = SW_KIND_CONTAINER;
}

/* The guest's files land inside the tree, replacing the archive's links
 * rather than writing through them. */
static void test_guest_files(void **state)
{
    (void)state;
    char outside[512];
    snprintf(outside, sizeof outside, "%s/victim", base);
    FILE *f = fopen(outside, "w");
    fputs("untouched\n", f);
    fclose(f);
    const struct ent e[] = {{"etc/", AE_IFDIR, 0755, NULL, NULL, 0, 0, 0},
                            {"etc/hostname", AE_IFLNK, 0777, outside, NULL, 0, 0, 0}};
    struct tarball t = tar_of(e, 2, true);
    struct sw_err err;
    sw_err_clear(&err);
    char *dir, path[600];
    assert_int_equal(extract(&t, 1 << 20, &dir, &err), 0);
    struct sw_msg_node_job job;
    job_of(&job);
    if (sw_rootfs_write_guest(dir, &job, &err) < 0)
        fail_msg("%s (%s)", err.msg, err.detail);
    char *v = slurp(outside);
    assert_string_equal(v, "untouched\n");
    free(v);
    snprintf(path, sizeof path, "%s/etc/hostname", dir);
    assert_string_equal((v = slurp(path)), "ct1.example.com\n");
    free(v);
    snprintf(path, sizeof path, "%s/var/lib/cloud/seed/nocloud/user-data", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_non_null(strstr((v = slurp(path)), "$6$salt$hash"));
    free(v);
    snprintf(path, sizeof path, "%s/var/lib/cloud/seed/nocloud/network-config", dir);
    assert_non_null(strstr((v = slurp(path)), "192.0.2.5/24"));
    free(v);
    snprintf(path, sizeof path, "%s/var/lib/cloud/seed/nocloud/meta-data", dir);
    assert_non_null(strstr((v = slurp(path)), job.server_id));
    free(v);
    free(dir);
    free(t.bytes);
}

/* A directory of the seed's path that is the archive's link outside is
 * refused, not followed. */
static void test_guest_files_link_dir_refused(void **state)
{
    (void)state;
    char outside[512];
    snprintf(outside, sizeof outside, "%s/victimdir", base);
    assert_int_equal(mkdir(outside, 0755), 0);
    const struct ent e[] = {{"var", AE_IFLNK, 0777, outside, NULL, 0, 0, 0}};
    struct tarball t = tar_of(e, 1, true);
    struct sw_err err;
    sw_err_clear(&err);
    char *dir, path[600];
    assert_int_equal(extract(&t, 1 << 20, &dir, &err), 0);
    struct sw_msg_node_job job;
    job_of(&job);
    assert_int_equal(sw_rootfs_write_guest(dir, &job, &err), -1);
    snprintf(path, sizeof path, "%s/lib", outside);
    assert_false(exists(path));
    free(dir);
    free(t.bytes);
}

/* mkfs.ext4 -d of a tree: a sparse image of the asked size whose files
 * debugfs reads back. */
static void test_mkfs(void **state)
{
    (void)state;
    const struct ent e[] = {{"etc/motd", AE_IFREG, 0644, "hello from the tarball\n", NULL, 0, 0, 0}};
    struct tarball t = tar_of(e, 1, true);
    struct sw_err err;
    sw_err_clear(&err);
    char *dir;
    assert_int_equal(extract(&t, 1 << 20, &dir, &err), 0);
    char *image = sw_asprintf("%s/root.ext4", base);
    if (sw_rootfs_mkfs(dir, image, 1LL << 30, &err) < 0)
        fail_msg("%s (%s)", err.msg, err.detail);
    struct stat st;
    assert_int_equal(stat(image, &st), 0);
    assert_int_equal(st.st_size, 1LL << 30);
    assert_true((int64_t)st.st_blocks * 512 < (64LL << 20)); /* sparse */
    char *cmd = sw_asprintf("debugfs -R 'cat /etc/motd' %s 2>/dev/null", image);
    FILE *p = popen(cmd, "r");
    char line[128] = "";
    assert_non_null(fgets(line, sizeof line, p));
    pclose(p);
    assert_string_equal(line, "hello from the tarball\n");
    /* a tree that does not fit fails with a reason */
    sw_err_clear(&err);
    assert_int_equal(sw_rootfs_mkfs(dir, image, 4096, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    free(cmd);
    free(image);
    free(dir);
    free(t.bytes);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    snprintf(base, sizeof base, "/tmp/test_rootfs.XXXXXX");
    assert_non_null(mkdtemp(base));
    char *real = realpath(base, NULL);
    snprintf(base, sizeof base, "%s", real);
    free(real);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_tree),
        cmocka_unit_test(test_dotdot_refused),
        cmocka_unit_test(test_absolute_refused),
        cmocka_unit_test(test_hardlink_out_refused),
        cmocka_unit_test(test_symlink_escape_refused),
        cmocka_unit_test(test_devices_refused),
        cmocka_unit_test(test_truncated_refused),
        cmocka_unit_test(test_too_big_refused),
        cmocka_unit_test(test_not_tar_refused),
        cmocka_unit_test(test_guest_files),
        cmocka_unit_test(test_guest_files_link_dir_refused),
        cmocka_unit_test(test_mkfs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
