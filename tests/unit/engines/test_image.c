/* Tests of engines/image.c's pure part: whether the first bytes of a qcow2
 * image name another file (a backing file or an external data file). */
#include "config.h"
#include "engines/image.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

/* A qcow2 header of version v: magic, version, backing_file_offset at 8,
 * incompatible_features at 72. */
static void header(unsigned char h[SW_IMAGE_HEAD_BYTES], unsigned v, unsigned backing_off,
                   unsigned incompat)
{
    memset(h, 0, SW_IMAGE_HEAD_BYTES);
    memcpy(h, "QFI\xfb", 4);
    h[7] = (unsigned char)v;
    h[15] = (unsigned char)backing_off;
    h[79] = (unsigned char)incompat;
}

static void test_qcow2_names_file(void **state)
{
    (void)state;
    unsigned char h[SW_IMAGE_HEAD_BYTES];
    header(h, 3, 0, 0);
    assert_int_equal(sw_image_qcow2_names_file(h, sizeof h), 0); /* a plain v3 image */
    header(h, 2, 0, 0);
    assert_int_equal(sw_image_qcow2_names_file(h, sizeof h), 0);
    header(h, 3, 0x70, 0);
    assert_int_equal(sw_image_qcow2_names_file(h, sizeof h), 1); /* a backing file */
    header(h, 2, 0x70, 0);
    assert_int_equal(sw_image_qcow2_names_file(h, 20), 1); /* v2 holds it too */
    header(h, 3, 0, 4);
    assert_int_equal(sw_image_qcow2_names_file(h, sizeof h), 1); /* an external data file */
    header(h, 3, 0, 1);
    assert_int_equal(sw_image_qcow2_names_file(h, sizeof h), 0); /* dirty bit only */
    header(h, 2, 0, 4);
    assert_int_equal(sw_image_qcow2_names_file(h, sizeof h), 0); /* no such field in v2 */
    header(h, 3, 0x70, 0);
    h[0] = 'X';
    assert_int_equal(sw_image_qcow2_names_file(h, sizeof h), 0); /* not qcow2: libvirt decides */
    assert_int_equal(sw_image_qcow2_names_file(h, 3), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qcow2_names_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
