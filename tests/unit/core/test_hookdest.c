#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "core/err.h"
#include "core/hookdest.h"

static bool priv(const char *ip)
{
    unsigned char a[16];
    int fam = strchr(ip, ':') ? AF_INET6 : AF_INET;
    assert_int_equal(inet_pton(fam, ip, a), 1);
    return sw_hookdest_addr_private(fam, a);
}

static void test_addresses(void **state)
{
    (void)state;
    static const char *const private_ones[] = {
        "127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "172.31.255.255",
        "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
        "255.255.255.255", "192.0.2.5", "::1", "::", "fe80::1", "fc00::1", "fd12::5",
        "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "2001:db8::1",
        "::127.0.0.1",
    };
    static const char *const public_ones[] = {
        "93.184.215.14", "8.8.8.8", "172.32.0.1", "172.15.255.255", "100.128.0.1",
        "2606:4700::1111", "::ffff:8.8.8.8", "11.0.0.1", "192.169.0.1",
    };
    for (size_t i = 0; i < sizeof private_ones / sizeof private_ones[0]; i++)
        assert_true(priv(private_ones[i]));
    for (size_t i = 0; i < sizeof public_ones / sizeof public_ones[0]; i++)
        assert_false(priv(public_ones[i]));
    assert_true(sw_hookdest_addr_private(AF_UNIX, "x"));
}

static void test_urls(void **state)
{
    (void)state;
    struct sw_hookdest d;
    struct sw_err err = {0};
    assert_int_equal(sw_hookdest_parse("https://hooks.example.com/x?y=1", &d, &err), 0);
    assert_true(d.https);
    assert_string_equal(d.host, "hooks.example.com");
    assert_int_equal(d.port, 443);
    assert_false(d.literal);
    assert_false(d.is_private);
    assert_int_equal(sw_hookdest_parse("http://127.0.0.1:8080/hook", &d, &err), 0);
    assert_false(d.https);
    assert_string_equal(d.host, "127.0.0.1");
    assert_int_equal(d.port, 8080);
    assert_true(d.literal && d.is_private);
    assert_int_equal(sw_hookdest_parse("HTTP://[::1]:99", &d, &err), 0);
    assert_string_equal(d.host, "::1");
    assert_int_equal(d.port, 99);
    assert_true(d.is_private);
    assert_int_equal(sw_hookdest_parse("http://[2606:4700::1111]/", &d, &err), 0);
    assert_false(d.is_private);
    assert_int_equal(sw_hookdest_parse("https://93.184.215.14/matrix", &d, &err), 0);
    assert_false(d.is_private);
    assert_int_equal(sw_hookdest_parse("http://localhost/", &d, &err), 0);
    assert_true(d.is_private);
    assert_int_equal(sw_hookdest_parse("http://a.LOCALHOST/", &d, &err), 0);
    assert_true(d.is_private);
    assert_int_equal(sw_hookdest_parse("http://localhost./", &d, &err), 0);
    assert_true(d.is_private);
    assert_int_equal(sw_hookdest_parse("http://a.localhost./x", &d, &err), 0);
    assert_true(d.is_private);
    assert_int_equal(sw_hookdest_parse("http://notlocalhost/", &d, &err), 0);
    assert_false(d.is_private);

    static const char *const bad[] = {
        "", "ftp://example.com/", "file:///etc/passwd", "gopher://x", "https://",
        "https:///path", "https://user:pw@example.com/", "https://example.com/#frag",
        "https://exa mple.com/", "https://example.com:0/", "https://example.com:65536/",
        "https://example.com:/", "https://example.com:8x/", "http://[::1/", "http://[zz]/",
        "http://2130706433/", "http://0x7f.1/", "http://127.1/", "http://exa$mple.com/",
        "example.com", "https://example.com\n/",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sw_err_clear(&err);
        if (sw_hookdest_parse(bad[i], &d, &err) != -1)
            fail_msg("accepted %s", bad[i]);
        assert_int_equal(err.code, SW_EINVALID);
    }
    char longurl[SW_HOOKDEST_URL_MAX + 10];
    memset(longurl, 'a', sizeof longurl);
    memcpy(longurl, "https://x.example/", 18);
    longurl[sizeof longurl - 1] = '\0';
    assert_int_equal(sw_hookdest_parse(longurl, &d, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
