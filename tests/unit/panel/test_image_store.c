/* test_image_store.c - panel/image_store.c: the sink (hash, size limit,
 * keep or remove), an upload's form pieces, and inspection with the real
 * qemu-img, tar and ISO descriptor. Runs in a temporary directory. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/json.h"
#include "panel/image_store.h"

static char dir[64];

static int files(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.' || strncmp(e->d_name, ".part-", 6) == 0;
    if (d)
        closedir(d);
    return n;
}

static void test_sink(void **state)
{
    (void)state;
    struct sw_err err = {0};
    struct sw_image_sink *s = sw_image_sink_new(&err);
    assert_non_null(s);
    assert_int_equal(sw_image_sink_write(s, "hello ", 6, &err), 0);
    assert_int_equal(sw_image_sink_write(s, "world", 5, &err), 0);
    char sha[SW_IMAGE_SHA256_HEX + 1], want[SW_IMAGE_SHA256_HEX + 1];
    int64_t size;
    assert_int_equal(sw_image_sink_finish(s, sha, &size, &err), 0);
    unsigned char sum[32];
    crypto_hash_sha256(sum, (const unsigned char *)"hello world", 11);
    sodium_bin2hex(want, sizeof want, sum, sizeof sum);
    assert_string_equal(sha, want);
    assert_int_equal(size, 11);
    assert_true(sw_image_sha256_valid(sha));
    assert_int_equal(sw_image_sink_keep(s, &err), 0);
    sw_image_sink_free(s);
    char *path = sw_image_path(sha);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 11);
    unlink(path);
    free(path);
    assert_int_equal(files(), 0);

    /* over the limit (1000 bytes here): refused, and removed when freed */
    s = sw_image_sink_new(&err);
    char buf[600] = {0};
    assert_int_equal(sw_image_sink_write(s, buf, sizeof buf, &err), 0);
    assert_int_equal(sw_image_sink_write(s, buf, sizeof buf, &err), -1);
    assert_int_equal(err.code, SW_ETOO_LARGE);
    assert_int_equal(sw_image_sink_write(s, buf, 1, &err), -1); /* stays refused */
    assert_int_equal(sw_image_sink_finish(s, sha, &size, &err), -1);
    assert_int_equal(files(), 1);
    sw_image_sink_free(s);
    assert_int_equal(files(), 0);
    assert_false(sw_image_sha256_valid("../../etc/shadow"));
    assert_false(sw_image_sha256_valid(NULL));
}

static void test_upload(void **state)
{
    (void)state;
    struct sw_upload *u = sw_upload_new();
    assert_int_equal(sw_upload_piece(u, "name", NULL, "Deb", 0, 3), 0);
    assert_int_equal(sw_upload_piece(u, "name", NULL, "ian", 3, 3), 0);
    assert_int_equal(sw_upload_piece(u, "file", "a.img", "", 0, 0), 0);
    assert_int_equal(sw_upload_piece(u, "file", "a.img", "abc", 0, 3), 0);
    assert_int_equal(sw_upload_piece(u, "file", "a.img", "def", 3, 3), 0);
    char *body = sw_upload_finish(u);
    assert_non_null(body);
    assert_string_equal(sw_json_str(u->fields, "name"), "Debian");
    assert_int_equal(u->size, 6);
    assert_non_null(strstr(body, u->sha256));
    free(body);
    sw_upload_free(u);
    assert_int_equal(files(), 0);

    /* a second file, a file under another key, a field too long: refused */
    u = sw_upload_new();
    assert_int_equal(sw_upload_piece(u, "file", "a", "abc", 0, 3), 0);
    assert_int_equal(sw_upload_piece(u, "file", "b", "xyz", 0, 3), -1);
    assert_string_equal(u->failure->msg, "the form holds more than one file");
    assert_null(sw_upload_finish(u));
    sw_upload_free(u);
    u = sw_upload_new();
    assert_int_equal(sw_upload_piece(u, "name", "x.img", "abc", 0, 3), -1);
    sw_upload_free(u);
    u = sw_upload_new();
    char big[SW_UPLOAD_FIELD_MAX + 1];
    memset(big, 'a', sizeof big);
    assert_int_equal(sw_upload_piece(u, "name", NULL, big, 0, sizeof big), -1);
    assert_int_equal(u->failure->code, SW_EINVALID);
    sw_upload_free(u);
    /* one over the size limit */
    u = sw_upload_new();
    char chunk[700] = {0};
    assert_int_equal(sw_upload_piece(u, "file", "a", chunk, 0, sizeof chunk), 0);
    assert_int_equal(sw_upload_piece(u, "file", "a", chunk, 700, sizeof chunk), -1);
    assert_int_equal(u->failure->code, SW_ETOO_LARGE);
    sw_upload_free(u);
    assert_int_equal(files(), 0);
}

static int run(char *const argv[])
{
    struct sw_err err = {0};
    char *out;
    int rc = sw_image_run(argv, &out, 4096, &err);
    free(out);
    return rc;
}

static int inspect(const char *path, const char *format, struct sw_err *err)
{
    struct stat st;
    int64_t size = stat(path, &st) == 0 ? st.st_size : 0;
    return sw_image_inspect(path, format, size, err);
}

static void test_inspect(void **state)
{
    (void)state;
    struct sw_err err = {0};
    char q[128], b[128], r[128], t[128];
    snprintf(q, sizeof q, "%s/t.qcow2", dir);
    snprintf(b, sizeof b, "%s/b.qcow2", dir);
    snprintf(r, sizeof r, "%s/r.raw", dir);
    snprintf(t, sizeof t, "%s/t.tar", dir);
    assert_int_equal(run((char *const[]){"qemu-img", "create", "-q", "-f", "qcow2", q, "1M", NULL}),
                     0);
    assert_int_equal(run((char *const[]){"qemu-img", "create", "-q", "-f", "qcow2", "-b",
                                         "/etc/shadow", "-F", "raw", b, NULL}),
                     0);
    assert_int_equal(run((char *const[]){"qemu-img", "create", "-q", "-f", "raw", r, "1M", NULL}),
                     0);
    assert_int_equal(inspect(q, "qcow2", &err), 0);
    assert_int_equal(inspect(r, "raw", &err), 0);
    assert_int_equal(inspect(b, "qcow2", &err), -1);
    assert_int_equal(err.code, SW_EUNPROCESSABLE);
    assert_non_null(strstr(err.msg, "/etc/shadow"));
    assert_int_equal(inspect(r, "qcow2", &err), -1);
    assert_int_equal(inspect(q, "raw", &err), -1); /* probes as qcow2 */
    assert_non_null(strstr(err.msg, "qcow2"));
    assert_int_equal(inspect(r, "iso", &err), -1);
    assert_int_equal(inspect(r, "tar", &err), -1);
    assert_int_equal(inspect(r, "kernel", &err), 0);
    assert_int_equal(sw_image_inspect(r, "initrd", 0, &err), -1); /* empty */
    assert_int_equal(run((char *const[]){"tar", "-cf", t, "-C", dir, "r.raw", NULL}), 0);
    assert_int_equal(inspect(t, "tar", &err), 0);
    /* an ISO 9660 descriptor: "CD001" at sector 16, byte 1 */
    int fd = open(r, O_WRONLY);
    assert_int_equal(pwrite(fd, "\001CD001", 6, 16 * 2048), 6);
    close(fd);
    assert_int_equal(inspect(r, "iso", &err), 0);
    /* a tool that cannot run is internal, not the file's fault */
    char *out;
    assert_int_equal(sw_image_run((char *const[]){"/nonexistent/qemu-img", NULL}, &out, 16, &err),
                     -1);
    assert_int_equal(err.code, SW_EINTERNAL);
    unlink(q), unlink(b), unlink(r), unlink(t);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/swimg.XXXXXX");
    if (!mkdtemp(dir) || sodium_init() < 0)
        return 1;
    setenv("SLIPWAY_IMAGES_DIR", dir, 1);
    setenv("SLIPWAY_IMAGE_MAX_BYTES", "1000", 1);
    struct sw_err err = {0};
    if (sw_image_store_init(&err) < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sink),
        cmocka_unit_test(test_upload),
        cmocka_unit_test(test_inspect),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(dir);
    return rc;
}
