/* Unit tests for provisioner/fence.c's pure parts: a node's fence settings
 * parsed and checked, each agent's command line, the retry backoff. */
#include "config.h"
/* cmocka needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <string.h>

#include "core/err.h"
#include "provisioner/fence.h"

static char bufs[3 * 4096];

/* argv joined by spaces */
static const char *joined(const char **argv)
{
    static char out[8192];
    out[0] = '\0';
    for (int i = 0; argv[i]; i++) {
        strcat(out, i ? " " : "");
        strcat(out, argv[i]);
    }
    return out;
}

static void test_ssh(void **state)
{
    (void)state;
    struct sw_fence_target t;
    struct sw_err err;
    sw_err_clear(&err);
    assert_int_equal(sw_fence_parse("ssh",
                                    "{\"host\":\"10.0.0.5\",\"port\":2222,\"command\":\"n1\","
                                    "\"known_host\":\"[10.0.0.5]:2222 ssh-ed25519 AAAA\"}",
                                    "test:///x", &t, &err),
                     0);
    const char *argv[40];
    assert_true(sw_fence_argv(&t, "/tmp/k", "/tmp/h", bufs, sizeof bufs, argv, 40) > 0);
    assert_string_equal(joined(argv),
                        "ssh -i /tmp/k -p 2222 -o BatchMode=yes -o StrictHostKeyChecking=yes"
                        " -o UserKnownHostsFile=/tmp/h -o IdentitiesOnly=yes -o ConnectTimeout=5"
                        " -- root@10.0.0.5 n1");
    /* the host's key is required: no fence that a man in the middle could fake */
    assert_int_equal(sw_fence_parse("ssh", "{\"host\":\"h\"}", NULL, &t, &err), -1);
    assert_non_null(strstr(err.msg, "known_host"));
}

static void test_ipmi_password_never_on_the_command_line(void **state)
{
    (void)state;
    struct sw_fence_target t;
    struct sw_err err;
    sw_err_clear(&err);
    assert_int_equal(
        sw_fence_parse("ipmi", "{\"host\":\"bmc1\",\"user\":\"admin\"}", NULL, &t, &err), 0);
    const char *argv[40];
    assert_true(sw_fence_argv(&t, NULL, NULL, bufs, sizeof bufs, argv, 40) > 0);
    assert_string_equal(joined(argv), "ipmitool -I lanplus -H bmc1 -p 623 -U admin -E chassis"
                                      " power off");
    assert_int_equal(sw_fence_parse("ipmi", "{\"host\":\"bmc1\"}", NULL, &t, &err), -1);
    /* a cipher suite pinned (a BMC that does not list its suites) */
    assert_int_equal(sw_fence_parse("ipmi", "{\"host\":\"bmc1\",\"user\":\"admin\",\"cipher\":3}",
                                    NULL, &t, &err),
                     0);
    assert_true(sw_fence_argv(&t, NULL, NULL, bufs, sizeof bufs, argv, 40) > 0);
    assert_string_equal(joined(argv), "ipmitool -I lanplus -H bmc1 -p 623 -U admin -E -C 3"
                                      " chassis power off");
    assert_int_equal(sw_fence_parse("ipmi", "{\"host\":\"h\",\"user\":\"u\",\"cipher\":18}", NULL,
                                    &t, &err),
                     -1);
    assert_non_null(strstr(err.msg, "cipher"));
}

static void test_libvirt_uri_is_an_argument(void **state)
{
    (void)state;
    struct sw_fence_target t;
    struct sw_err err;
    sw_err_clear(&err);
    /* default: the node's engine URI; never part of the script */
    assert_int_equal(sw_fence_parse("libvirt", "{}", "qemu+ssh://n1/system;rm -rf /", &t, &err), 0);
    const char *argv[16];
    assert_int_equal(sw_fence_argv(&t, NULL, NULL, bufs, sizeof bufs, argv, 16), 5);
    assert_string_equal(argv[0], "/bin/sh");
    assert_null(strstr(argv[2], "qemu"));
    assert_string_equal(argv[4], "qemu+ssh://n1/system;rm -rf /");
}

static void test_rejects(void **state)
{
    (void)state;
    struct sw_fence_target t;
    struct sw_err err;
    sw_err_clear(&err);
    assert_int_equal(sw_fence_parse("stonith", "{}", NULL, &t, &err), -1);
    assert_int_equal(sw_fence_parse("ssh", "{\"host\":\"-oProxyCommand=x\",\"known_host\":\"k\"}",
                                    NULL, &t, &err),
                     -1);
    assert_int_equal(sw_fence_parse("manual", "{\"colour\":\"red\"}", NULL, &t, &err), -1);
    assert_int_equal(
        sw_fence_parse("ipmi", "{\"host\":\"h\",\"user\":\"u\",\"port\":70000}", NULL, &t, &err),
        -1);
    assert_int_equal(sw_fence_parse("manual", NULL, NULL, &t, &err), 0);
    const char *argv[4];
    assert_int_equal(sw_fence_argv(&t, NULL, NULL, bufs, sizeof bufs, argv, 4), -1);
}

static void test_backoff(void **state)
{
    (void)state;
    assert_int_equal(sw_fence_backoff_s(1), 2);
    assert_int_equal(sw_fence_backoff_s(2), 4);
    assert_int_equal(sw_fence_backoff_s(5), 32);
    assert_int_equal(sw_fence_backoff_s(6), 60);
    assert_int_equal(sw_fence_backoff_s(100), 60);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ssh),
        cmocka_unit_test(test_ipmi_password_never_on_the_command_line),
        cmocka_unit_test(test_libvirt_uri_is_an_argument),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
