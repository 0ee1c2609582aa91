#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/err.h"
#include "core/redisurl.h"

static void parse_ok(const char *url, struct sw_redis_url *u)
{
    struct sw_err err = {0};
    memset(u, 0, sizeof *u);
    if (sw_redis_url_parse(url, u, &err) < 0)
        fail_msg("%s: %s", url, err.msg);
}

static void parse_bad(const char *url)
{
    struct sw_err err = {0};
    struct sw_redis_url u = {0};
    if (sw_redis_url_parse(url, &u, &err) == 0)
        fail_msg("%s was taken", url);
    assert_int_equal(err.code, SW_EINVALID);
    assert_null(strstr(err.msg, "secret")); /* never quotes the URL */
    assert_null(u.user);
    assert_int_equal(u.nhosts, 0);
}

static void show_is(const struct sw_redis_url *u, const char *want)
{
    char out[256];
    sw_redis_url_show(u, out, sizeof out);
    assert_string_equal(out, want);
}

static void test_tcp(void **state)
{
    (void)state;
    struct sw_redis_url u;
    parse_ok("redis://127.0.0.1:6380/3", &u);
    assert_int_equal(u.kind, SW_REDIS_URL_TCP);
    assert_false(u.tls);
    assert_string_equal(u.hosts[0].host, "127.0.0.1");
    assert_int_equal(u.hosts[0].port, 6380);
    assert_int_equal(u.db, 3);
    assert_null(u.user);
    show_is(&u, "redis://127.0.0.1:6380/3");
    sw_redis_url_release(&u);

    parse_ok("redis://cache", &u);
    assert_int_equal(u.hosts[0].port, 6379);
    sw_redis_url_release(&u);

    parse_ok("redis://[::1]:7000", &u);
    assert_string_equal(u.hosts[0].host, "::1");
    show_is(&u, "redis://[::1]:7000");
    sw_redis_url_release(&u);
}

static void test_credentials(void **state)
{
    (void)state;
    struct sw_redis_url u;
    parse_ok("redis://node-7:s3cr%40t@h:1/0", &u);
    assert_string_equal(u.user, "node-7");
    assert_string_equal(u.password, "s3cr@t");
    show_is(&u, "redis://node-7:***@h:1");
    sw_redis_url_release(&u);

    parse_ok("redis://:secret@h", &u); /* the default user */
    assert_null(u.user);
    assert_string_equal(u.password, "secret");
    show_is(&u, "redis://:***@h:6379");
    sw_redis_url_release(&u);

    parse_ok("unix://panel:secret@/run/redis.sock?db=2", &u);
    assert_int_equal(u.kind, SW_REDIS_URL_UNIX);
    assert_string_equal(u.path, "/run/redis.sock");
    assert_string_equal(u.user, "panel");
    assert_int_equal(u.db, 2);
    show_is(&u, "unix://panel:***@/run/redis.sock?db=2");
    sw_redis_url_release(&u);
}

static void test_tls_and_sentinel(void **state)
{
    (void)state;
    struct sw_redis_url u;
    parse_ok("rediss://u:p@r.example:6380?cacert=/etc/ca.pem&servername=r.example", &u);
    assert_true(u.tls);
    assert_string_equal(u.cacert, "/etc/ca.pem");
    assert_string_equal(u.servername, "r.example");
    sw_redis_url_release(&u);

    parse_ok("redis-sentinel://u:p@10.0.0.1:26379,10.0.0.2,[fd00::3]:26380/main/1"
             "?sentinel_password=x&tls=1&cacert=/ca",
             &u);
    assert_int_equal(u.kind, SW_REDIS_URL_SENTINEL);
    assert_int_equal(u.nhosts, 3);
    assert_int_equal(u.hosts[1].port, 26379); /* Sentinel's own port */
    assert_string_equal(u.hosts[2].host, "fd00::3");
    assert_string_equal(u.master, "main");
    assert_int_equal(u.db, 1);
    assert_true(u.tls);
    assert_string_equal(u.sentinel_password, "x");
    show_is(&u, "redis-sentinel://u:***@10.0.0.1:26379,10.0.0.2:26379,[fd00::3]:26380/main/1");
    sw_redis_url_release(&u);
}

static void test_refused(void **state)
{
    (void)state;
    const char *urls[] = {
        "http://x",
        "redis://",
        "redis://h:0",
        "redis://h:65536",
        "redis://h:63x",
        "redis://h/abc",
        "redis://a,b",                   /* several hosts: sentinel only */
        "redis://u:secret@h?cacert=/ca", /* TLS options, plain text */
        "rediss://h?cert=/c",            /* a certificate without its key */
        "redis://h?bogus=1",             /* a typo never falls back */
        "redis://u:%zz@h",
        "redis://u:a%00b@h",
        "unix://relative.sock",
        "unix://u:p@relative",
        "redis-sentinel://h:26379",      /* no master set */
        "redis-sentinel://h,,g/m",
        "redis://[::1",
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++)
        parse_bad(urls[i]);
}

static void test_show_truncates(void **state)
{
    (void)state;
    struct sw_redis_url u;
    parse_ok("redis://averyveryverylongusername:secret@h", &u);
    char out[12];
    sw_redis_url_show(&u, out, sizeof out);
    assert_string_equal(out, "redis://ave");
    sw_redis_url_release(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp),
        cmocka_unit_test(test_credentials),
        cmocka_unit_test(test_tls_and_sentinel),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_show_truncates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
