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

/* Refused by a step: -1 and SW_EINVALID, the message naming what. */
static void assert_refused(int rc, struct sw_err *err, const char *msg_part)
{
    assert_int_equal(rc, -1);
    assert_int_equal(err->code, SW_EINVALID);
    if (!strstr(err->msg, msg_part))
        fail_msg("message \"%s\" does not say \"%s\"", err->msg, msg_part);
    sw_err_clear(err);
}

static void test_check_text(void **state)
{
    (void)state;
    struct sw_err err = {0};
    assert_int_equal(sw_hookdest_check_text("http://x", &err), 0);
    assert_int_equal(sw_hookdest_check_text("http://caf\xc3\xa9.example/", &err), 0);
    char url[SW_HOOKDEST_URL_MAX + 2];
    memset(url, 'a', sizeof url);
    url[SW_HOOKDEST_URL_MAX] = '\0';
    assert_int_equal(sw_hookdest_check_text(url, &err), 0);
    url[SW_HOOKDEST_URL_MAX] = 'a';
    url[SW_HOOKDEST_URL_MAX + 1] = '\0';
    assert_refused(sw_hookdest_check_text(url, &err), &err, "1 to 2048 bytes");
    assert_refused(sw_hookdest_check_text("", &err), &err, "1 to 2048 bytes");
    assert_refused(sw_hookdest_check_text(NULL, &err), &err, "1 to 2048 bytes");
    static const char *const bad[] = {"http://a b", "http://a\tb", "http://a\x7f", "http://a\x01",
                                      "http://a\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_refused(sw_hookdest_check_text(bad[i], &err), &err, "control characters");
}

static void test_scheme(void **state)
{
    (void)state;
    struct sw_err err = {0};
    bool https = false;
    assert_string_equal(sw_hookdest_scheme("https://a/b", &https, &err), "a/b");
    assert_true(https);
    assert_string_equal(sw_hookdest_scheme("HtTp://b", &https, &err), "b");
    assert_false(https);
    assert_string_equal(sw_hookdest_scheme("http://", &https, &err), "");
    static const char *const bad[] = {"ftp://a", "http:/a", "https:a",   "httpss://a",
                                      "//a",     "http",    " http://a", "file:///etc/passwd"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_null(sw_hookdest_scheme(bad[i], &https, &err));
        assert_refused(-1, &err, "http:// or https://");
    }
}

static void test_check_fragment(void **state)
{
    (void)state;
    struct sw_err err = {0};
    assert_int_equal(sw_hookdest_check_fragment("a/b?c=d", &err), 0);
    assert_int_equal(sw_hookdest_check_fragment("", &err), 0);
    assert_refused(sw_hookdest_check_fragment("a/b#c", &err), &err, "fragment");
    assert_refused(sw_hookdest_check_fragment("a#", &err), &err, "fragment");
}

static void test_authority(void **state)
{
    (void)state;
    struct sw_err err = {0};
    struct sw_hookdest_authority a;
    assert_int_equal(sw_hookdest_authority("example.com/x:1@y", &a, &err), 0);
    assert_int_equal(a.host_len, 11);
    assert_memory_equal(a.host, "example.com", 11);
    assert_null(a.port);
    assert_false(a.bracketed);
    assert_int_equal(sw_hookdest_authority("example.com:8080?q=1", &a, &err), 0);
    assert_int_equal(a.host_len, 11);
    assert_int_equal(a.port_len, 4);
    assert_memory_equal(a.port, "8080", 4);
    assert_int_equal(sw_hookdest_authority("[::1]:99/x", &a, &err), 0);
    assert_true(a.bracketed);
    assert_int_equal(a.host_len, 3);
    assert_memory_equal(a.host, "::1", 3);
    assert_int_equal(a.port_len, 2);
    assert_int_equal(sw_hookdest_authority("[fe80::1]", &a, &err), 0);
    assert_null(a.port);
    assert_int_equal(sw_hookdest_authority("h:/", &a, &err), 0); /* the port step refuses "" */
    assert_non_null(a.port);
    assert_int_equal(a.port_len, 0);

    assert_refused(sw_hookdest_authority("u:pw@example.com/", &a, &err), &err, "user name");
    assert_refused(sw_hookdest_authority("u@[::1]", &a, &err), &err, "user name");
    assert_refused(sw_hookdest_authority("[::1/x]", &a, &err), &err, "unclosed [");
    assert_refused(sw_hookdest_authority("[::1]x", &a, &err), &err, "malformed host");
    assert_refused(sw_hookdest_authority("", &a, &err), &err, "name a host");
    assert_refused(sw_hookdest_authority("/path", &a, &err), &err, "name a host");
    assert_refused(sw_hookdest_authority(":80", &a, &err), &err, "name a host");
    assert_refused(sw_hookdest_authority("[]:80", &a, &err), &err, "name a host");
    char host[SW_HOOKDEST_HOST_MAX + 2];
    memset(host, 'h', sizeof host);
    host[SW_HOOKDEST_HOST_MAX] = '\0';
    assert_int_equal(sw_hookdest_authority(host, &a, &err), 0);
    assert_int_equal(a.host_len, SW_HOOKDEST_HOST_MAX);
    host[SW_HOOKDEST_HOST_MAX] = 'h';
    host[SW_HOOKDEST_HOST_MAX + 1] = '\0';
    assert_refused(sw_hookdest_authority(host, &a, &err), &err, "name a host");
}

static void test_port(void **state)
{
    (void)state;
    struct sw_err err = {0};
    unsigned port = 0;
    assert_int_equal(sw_hookdest_port(NULL, 0, true, &port, &err), 0);
    assert_int_equal(port, 443);
    assert_int_equal(sw_hookdest_port(NULL, 0, false, &port, &err), 0);
    assert_int_equal(port, 80);
    static const struct {
        const char *text;
        size_t len;
        unsigned port;
    } good[] = {{"1", 1, 1}, {"65535", 5, 65535}, {"00080", 5, 80}, {"8080/x", 4, 8080}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(sw_hookdest_port(good[i].text, good[i].len, true, &port, &err), 0);
        assert_int_equal(port, good[i].port);
    }
    static const char *const bad[] = {"",   "0",  "00000", "65536", "99999", "123456",
                                      "8x", "-1", "+80",   " 80",   "0x50",  "000080"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_refused(sw_hookdest_port(bad[i], strlen(bad[i]), false, &port, &err), &err,
                       "1 to 65535");
}

static void test_check_name(void **state)
{
    (void)state;
    struct sw_err err = {0};
    static const char *const good[] = {"example.com",
                                       "a-b_c.example",
                                       "xn--bcher-kva.example",
                                       "localhost",
                                       "example.com.",
                                       "1example.com",
                                       "x"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(sw_hookdest_check_name(good[i], &err), 0);
    static const char *const odd[] = {"exa$mple.com", "a%2e", "caf\xc3\xa9.example", "a:b",
                                      "[::1]"};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        assert_refused(sw_hookdest_check_name(odd[i], &err), &err, "malformed host name");
    static const char *const numeric[] = {"127.1",    "0x7f.1",     "2130706433", "example.123",
                                          "1.2.3.4.", "0177.0.0.1", "0x7f",       "10.0"};
    for (size_t i = 0; i < sizeof numeric / sizeof numeric[0]; i++)
        assert_refused(sw_hookdest_check_name(numeric[i], &err), &err, "standard form");
}

static void test_name_private(void **state)
{
    (void)state;
    static const char *const yes[] = {"localhost", "LOCALHOST.", "a.localhost", "a.b.LocalHost."};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        assert_true(sw_hookdest_name_private(yes[i]));
    static const char *const no[] = {"notlocalhost", "localhost.com", "localhostx",
                                     "local",        "localhost..",   "example.com"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(sw_hookdest_name_private(no[i]));
}

static int host_of(const char *text, bool bracketed, struct sw_hookdest *d, struct sw_err *err)
{
    const struct sw_hookdest_authority a = {text, strlen(text), NULL, 0, bracketed};
    memset(d, 0, sizeof *d);
    return sw_hookdest_host(&a, d, err);
}

static void test_host(void **state)
{
    (void)state;
    struct sw_err err = {0};
    struct sw_hookdest d;
    assert_int_equal(host_of("::1", true, &d, &err), 0);
    assert_string_equal(d.host, "::1");
    assert_true(d.literal && d.is_private);
    assert_int_equal(host_of("2606:4700::1111", true, &d, &err), 0);
    assert_true(d.literal && !d.is_private);
    assert_int_equal(host_of("10.0.0.1", false, &d, &err), 0);
    assert_true(d.literal && d.is_private);
    assert_int_equal(host_of("8.8.8.8", false, &d, &err), 0);
    assert_true(d.literal && !d.is_private);
    assert_int_equal(host_of("hooks.example.com", false, &d, &err), 0);
    assert_true(!d.literal && !d.is_private);
    assert_int_equal(host_of("a.localhost", false, &d, &err), 0);
    assert_true(!d.literal && d.is_private);
    const struct sw_hookdest_authority part = {"example.com:80", 11, "80", 2, false};
    assert_int_equal(sw_hookdest_host(&part, &d, &err), 0);
    assert_string_equal(d.host, "example.com");

    assert_refused(host_of("1.2.3.4", true, &d, &err), &err, "malformed IPv6");
    assert_refused(host_of("zz", true, &d, &err), &err, "malformed IPv6");
    assert_refused(host_of("::1", false, &d, &err), &err, "malformed host name");
    assert_refused(host_of("127.1", false, &d, &err), &err, "standard form");
    assert_refused(host_of("exa$mple", false, &d, &err), &err, "malformed host name");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addresses),      cmocka_unit_test(test_urls),
        cmocka_unit_test(test_check_text),     cmocka_unit_test(test_scheme),
        cmocka_unit_test(test_check_fragment), cmocka_unit_test(test_authority),
        cmocka_unit_test(test_port),           cmocka_unit_test(test_check_name),
        cmocka_unit_test(test_name_private),   cmocka_unit_test(test_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
