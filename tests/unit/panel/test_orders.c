/* test_orders.c - panel/orders.c without a database: POST /v1/orders
 * refuses a malformed order (ids, host name, SSH keys, fields) with 400
 * before it counts the caller's order rate or opens a transaction. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/panel/testreq.h"

#define CUS SW_ROLE_CUSTOMER
#define KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample"

/* An order of plan and template SW_TEST_ID with hostname and more fields. */
static void order_refused(const char *hostname, const char *extra, const char *msg)
{
    char body[2048];
    snprintf(body, sizeof body,
             "{\"plan_id\": \"" SW_TEST_ID "\", \"template_id\": \"" SW_TEST_ID "\","
             " \"hostname\": \"%s\"%s}",
             hostname, extra);
    sw_testreq_refused("POST", "/v1/orders", CUS, body, 400, msg);
}

static void test_body_shape(void **state)
{
    (void)state;
    sw_testreq_refused("POST", "/v1/orders", CUS, "", 400, "request body is empty");
    sw_testreq_refused("POST", "/v1/orders", CUS, "{\"plan_id\": ", 400, "malformed JSON");
    sw_testreq_refused("POST", "/v1/orders", CUS, "{\"plan_id\": \"" SW_TEST_ID "\"}", 400,
                       "field \"template_id\" is required");
    order_refused("web1", ", \"node_id\": \"" SW_TEST_ID "\"", "unknown field \"node_id\"");
    order_refused("web1", ", \"ssh_keys\": \"" KEY "\"", "field \"ssh_keys\" must be");
    sw_testreq_refused("POST", "/v1/orders", CUS,
                       "{\"plan_id\": 1, \"template_id\": \"" SW_TEST_ID "\", \"hostname\": \"a\"}",
                       400, "field \"plan_id\" must be");
}

static void test_ids(void **state)
{
    (void)state;
    static const char msg[] = "plan_id, template_id and location_id must be UUIDs";
    sw_testreq_refused("POST", "/v1/orders", CUS,
                       "{\"plan_id\": \"hvm-1\", \"template_id\": \"" SW_TEST_ID "\","
                       " \"hostname\": \"web1\"}",
                       400, msg);
    sw_testreq_refused("POST", "/v1/orders", CUS,
                       "{\"plan_id\": \"" SW_TEST_ID "\", \"template_id\": \"" SW_TEST_ID
                       "x\", \"hostname\": \"web1\"}",
                       400, msg);
    order_refused("web1", ", \"location_id\": \"fra1\"", msg);
}

static void test_hostname(void **state)
{
    (void)state;
    static const char msg[] = "hostname must be an RFC 1123 host name";
    order_refused("", "", msg);
    order_refused("web_1", "", msg);
    order_refused("-web", "", msg);
    order_refused("web..example", "", msg);
    order_refused("<b>web</b>", "", msg);
}

static void test_ssh_keys(void **state)
{
    (void)state;
    char keys[1400] = ", \"ssh_keys\": [";
    for (int i = 0; i < 17; i++)
        strcat(keys, i ? ", \"" KEY "\"" : "\"" KEY "\"");
    strcat(keys, "]");
    order_refused("web1", keys, "ssh_keys holds at most 16 keys");
    order_refused("web1", ", \"ssh_keys\": [\"" KEY "\", \"rsa AAAAB3NzaC1yc2EAAAADAQAB\"]",
                  "ssh_keys[1] is not an OpenSSH public key line");
    order_refused("web1", ", \"ssh_keys\": [\"ssh-rsa short\"]",
                  "ssh_keys[0] is not an OpenSSH public key line");
    order_refused("web1", ", \"ssh_keys\": [\"" KEY "\\nssh-rsa AAAAB3NzaC1yc2EAAAADAQAB\"]",
                  "ssh_keys[0] is not an OpenSSH public key line");
    order_refused("web1", ", \"ssh_keys\": [1]", "ssh_keys[0] is not an OpenSSH public key line");
}

/* The order's root password: 10..128 bytes, a string. */
static void test_password(void **state)
{
    (void)state;
    const char *msg = "password must be 10 to 128 bytes long";
    order_refused("web1", ", \"password\": \"short-pw1\"", msg);
    order_refused("web1", ", \"password\": \"\"", msg);
    char extra[300] = ", \"password\": \"";
    for (int i = 0; i < 129; i++)
        strcat(extra, "x");
    strcat(extra, "\"");
    order_refused("web1", extra, msg);
    order_refused("web1", ", \"password\": 1234567890", "field \"password\" must be");
    /* too many bytes of keys for the node job, though each key is fine */
    char keys[20000] = ", \"ssh_keys\": [";
    for (int i = 0; i < 16; i++) {
        strcat(keys, i ? ", \"ssh-rsa " : "\"ssh-rsa ");
        for (int j = 0; j < 1100; j++)
            strcat(keys, "A");
        strcat(keys, "\"");
    }
    strcat(keys, "]");
    char body[21000];
    snprintf(body, sizeof body,
             "{\"plan_id\": \"" SW_TEST_ID "\", \"template_id\": \"" SW_TEST_ID "\","
             " \"hostname\": \"web1\"%s}",
             keys);
    sw_testreq_refused("POST", "/v1/orders", CUS, body, 400, "ssh_keys hold at most 16383 bytes");
}

static void test_accepts(void **state)
{
    (void)state;
    char keys[1400] = ", \"location_id\": \"" SW_TEST_ID "\", \"ssh_keys\": [";
    for (int i = 0; i < 16; i++)
        strcat(keys, i ? ", \"" KEY "\"" : "\"ecdsa-sha2-nistp256 AAAAE2VjZHNh\"");
    strcat(keys, "]");
    char body[2048];
    snprintf(body, sizeof body,
             "{\"plan_id\": \"" SW_TEST_ID "\", \"template_id\": \"" SW_TEST_ID "\","
             " \"hostname\": \"web-1.example.com\", \"password\": \"correct horse battery\"%s}",
             keys);
    sw_testreq_accepted("POST", "/v1/orders", CUS, body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_shape),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_hostname),
        cmocka_unit_test(test_ssh_keys),
        cmocka_unit_test(test_password),
        cmocka_unit_test(test_accepts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
