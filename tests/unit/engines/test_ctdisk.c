/* Tests of engines/ctdisk.c without libvirt: the ext superblock's size
 * read from images mkfs.ext4 made (1 KiB and 4 KiB blocks, 64bit), an
 * /etc/shadow line rewritten, and the e2fsprogs steps on a local image:
 * grown with resize2fs (its superblock then says so; a second grow of the
 * same size changes nothing), and files written with debugfs, read back
 * with debugfs and the filesystem found clean by e2fsck (e2fsprogs, not
 * our code). */
#include "config.h"
#include "engines/ctdisk.h"
#include "core/alloc.h"
#include "core/err.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIB (1024LL * 1024)

static char *work;

static int setup(void **state)
{
    (void)state;
    struct sw_err err;
    sw_err_clear(&err);
    work = sw_rootfs_work_dir(&err);
    return work ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    sw_rootfs_work_remove(work);
    free(work);
    return 0;
}

/* mkfs.ext4 of mib MiB with extra options into work/name; its path (owned). */
static char *mkfs(const char *name, long long mib, const char *opts)
{
    char *img = sw_asprintf("%s/%s", work, name), *cmd;
    unlink(img);
    cmd = sw_asprintf("truncate -s %lldM %s && mkfs.ext4 -q -F %s %s >/dev/null 2>&1", mib, img,
                      opts, img);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    return img;
}

static int64_t fs_bytes_of(const char *img)
{
    unsigned char head[4096];
    FILE *f = fopen(img, "rb");
    assert_non_null(f);
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return sw_ctdisk_fs_bytes(head, n);
}

static void test_fs_bytes(void **state)
{
    (void)state;
    char *a = mkfs("a.ext4", 8, "-b 1024"), *b = mkfs("b.ext4", 64, "-b 4096 -O 64bit");
    assert_int_equal(fs_bytes_of(a), 8 * MIB);
    assert_int_equal(fs_bytes_of(b), 64 * MIB);
    unsigned char zero[4096] = {0};
    assert_int_equal(sw_ctdisk_fs_bytes(zero, sizeof zero), -1); /* a blank volume */
    assert_int_equal(sw_ctdisk_fs_bytes(zero, 1024), -1);        /* too short */
    unlink(a);
    unlink(b);
    free(a);
    free(b);
}

static void test_shadow_set(void **state)
{
    (void)state;
    const char *s = "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n";
    char *t = sw_ctdisk_shadow_set(s, "root", "$6$salt$hash");
    assert_string_equal(t, "root:$6$salt$hash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n");
    free(t);
    /* a user further down, no trailing newline, a prefix that is not it */
    t = sw_ctdisk_shadow_set("rootx:a:1\nroot:old", "root", "$5$x");
    assert_string_equal(t, "rootx:a:1\nroot:$5$x");
    free(t);
    assert_null(sw_ctdisk_shadow_set("daemon:*:1:::\n", "root", "$6$x"));
    assert_null(sw_ctdisk_shadow_set("", "root", "$6$x"));
}

static void test_grow_image(void **state)
{
    (void)state;
    struct sw_err err;
    sw_err_clear(&err);
    char *img = mkfs("g.ext4", 32, "-b 4096");
    assert_int_equal(sw_ctdisk_check(work, img, "could not x", "damaged", &err), 0);
    assert_int_equal(sw_ctdisk_grow_image(work, img, 96 * MIB, "could not x", &err), 0);
    assert_int_equal(fs_bytes_of(img), 96 * MIB);
    assert_int_equal(sw_ctdisk_grow_image(work, img, 96 * MIB, "could not x", &err), 0);
    assert_int_equal(fs_bytes_of(img), 96 * MIB);
    /* a damaged filesystem fails the check, named */
    FILE *f = fopen(img, "r+b");
    assert_non_null(f);
    unsigned char junk[8192];
    memset(junk, 0xa5, sizeof junk);
    fseek(f, 4096, SEEK_SET); /* the group descriptors */
    fwrite(junk, 1, sizeof junk, f);
    fseek(f, 1024, SEEK_SET); /* and the superblock */
    fwrite(junk, 1, 1024, f);
    fclose(f);
    assert_int_equal(sw_ctdisk_check(work, img, "could not x", "damaged", &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    assert_string_equal(err.msg, "could not x: damaged");
    unlink(img);
    free(img);
}

static void test_write(void **state)
{
    (void)state;
    struct sw_err err;
    sw_err_clear(&err);
    /* etc/ exists in it, var/lib/cloud/seed/nocloud/ does not */
    char *opts = sw_asprintf("-b 4096 -d %s/tree", work), *mk = sw_asprintf(
        "mkdir -p %s/tree/etc && echo 'root:*:1::::::' > %s/tree/etc/shadow", work, work);
    assert_int_equal(system(mk), 0);
    char *img = mkfs("w.ext4", 16, opts);
    struct sw_rootfs_file f[2] = {{"etc/shadow", "root:$6$new$h:1::::::\n", 0640},
                                  {"var/lib/cloud/seed/nocloud/user-data", "#cloud-config\n", 0600}};
    assert_int_equal(sw_ctdisk_write(work, img, f, 2, "could not x", &err), 0);
    char *cmd = sw_asprintf("debugfs -R 'cat /etc/shadow' %s 2>/dev/null", img), got[128] = "";
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(got, 1, sizeof got - 1, p);
    got[n] = '\0';
    pclose(p);
    assert_string_equal(got, f[0].text);
    free(cmd);
    /* e2fsck finds nothing to fix (debugfs's mkdir of an existing
     * directory would leave an unconnected inode); a second write the same */
    cmd = sw_asprintf("e2fsck -f -n %s >/dev/null 2>&1", img);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(sw_ctdisk_write(work, img, f, 2, "could not x", &err), 0);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(opts);
    free(mk);
    unlink(img);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fs_bytes),
        cmocka_unit_test(test_shadow_set),
        cmocka_unit_test(test_grow_image),
        cmocka_unit_test(test_write),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
