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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_without_password),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
