/* test_admin_accounts.c - panel/admin_accounts.c without a database: an
 * account create body is checked (kind, reseller_id, tax rate, email, name,
 * password) with 400 before the reseller is looked up or the password
 * hashed. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "tests/unit/panel/testreq.h"

#define ACCOUNTS "/v1/admin/accounts"

/* A create body: kind, email, then more fields. */
static void account_refused(const char *kind, const char *email, const char *extra,
                            const char *msg)
{
    char body[2048];
    snprintf(body, sizeof body, "{\"kind\": \"%s\", \"email\": \"%s\", \"name\": \"Ann\"%s}", kind,
             email, extra);
    sw_testreq_refused("POST", ACCOUNTS, SW_ROLE_OPERATOR, body, 400, msg);
}

static void test_kind_and_reseller(void **state)
{
    (void)state;
    account_refused("operator", "a@example.com", "", "kind must be customer or reseller");
    account_refused("customer", "a@example.com", ", \"reseller_id\": \"r1\"",
                    "reseller_id must be a UUID");
    account_refused("reseller", "a@example.com", ", \"reseller_id\": \"" SW_TEST_ID "\"",
                    "only a customer has a reseller_id");
    account_refused("customer", "a@example.com", ", \"tax_rate_bp\": 10001",
                    "tax_rate_bp must be from 0 to 10000");
    account_refused("customer", "a@example.com", ", \"role\": \"operator\"",
                    "unknown field \"role\"");
    sw_testreq_refused("POST", ACCOUNTS, SW_ROLE_OPERATOR,
                       "{\"kind\": \"customer\", \"email\": \"a@example.com\"}", 400,
                       "field \"name\" is required");
}

static void test_identity(void **state)
{
    (void)state;
    static const char bad_email[] = "email is not a valid address";
    account_refused("customer", "ann.example.com", "", bad_email);
    account_refused("customer", "@example.com", "", bad_email);
    account_refused("customer", "ann@", "", bad_email);
    account_refused("customer", "a@b@example.com", "", bad_email);
    account_refused("customer", "ann smith@example.com", "", bad_email);
    account_refused("customer", "a@example.com", ", \"password\": \"short\"",
                    "password must be 8 to 1024 bytes long");
    /* Checked before the reseller is looked up (there is no database). */
    account_refused("customer", "ann", ", \"reseller_id\": \"" SW_TEST_ID "\"", bad_email);
    account_refused("customer", "a@example.com",
                    ", \"reseller_id\": \"" SW_TEST_ID "\", \"password\": \"1234567\"",
                    "password must be 8 to 1024 bytes long");
    sw_testreq_refused("POST", ACCOUNTS, SW_ROLE_OPERATOR,
                       "{\"kind\": \"customer\", \"email\": \"a@example.com\", \"name\": \"\"}",
                       400, "name must be 1 to 100 bytes long");
}

static void test_accepts(void **state)
{
    (void)state;
    /* Each reaches the database: the reseller lookup, or the insert. */
    sw_testreq_accepted("POST", ACCOUNTS, SW_ROLE_OPERATOR,
                        "{\"kind\": \"customer\", \"email\": \"ann@example.com\", \"name\":"
                        " \"Ann\", \"reseller_id\": \"" SW_TEST_ID "\", \"tax_rate_bp\": 10000}");
    sw_testreq_accepted("POST", ACCOUNTS, SW_ROLE_OPERATOR,
                        "{\"kind\": \"reseller\", \"email\": \"r@example.com\", \"name\":"
                        " \"R\"}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_and_reseller),
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_accepts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
