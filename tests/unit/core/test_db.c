#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/db.h"

static void check(const char *url, const char *want)
{
    char *got = sw_db_url_without_password(url);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_without_password(void **state)
{
    (void)state;
    check("postgresql://eng:s3cret@db.example:5433/slipway?sslmode=verify-full",
          "user='eng' dbname='slipway' host='db.example' port='5433' sslmode='verify-full'");
    check("host=/tmp dbname=slipway password='it\\'s' user=a", "user='a' dbname='slipway' host='/tmp'");
    check("dbname='o\\'brien'", "dbname='o\\'brien'");
    check("postgresql:///slipway", "dbname='slipway'");
    assert_null(sw_db_url_without_password("host=a bogus=1"));
}

/* A node's engine: its own role and password replace the panel's. */
static void test_with_login(void **state)
{
    (void)state;
    char *got = sw_db_url_with_login("postgresql://panel:pw@db:5433/slipway?sslmode=require",
                                     "slipway_node_ab", "n'ew\\pw");
    assert_non_null(got);
    assert_string_equal(got, "user='slipway_node_ab' dbname='slipway' host='db' port='5433'"
                             " sslmode='require' password='n\\'ew\\\\pw'");
    free(got);
    got = sw_db_url_with_login("postgresql:///slipway?host=/run/s", "r", "p");
    assert_string_equal(got, "user='r' dbname='slipway' host='/run/s' password='p'");
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_without_password),
        cmocka_unit_test(test_with_login),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
