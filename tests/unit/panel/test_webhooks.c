/* test_webhooks.c - panel/webhooks.c without a database: a webhook's url
 * and events are checked (400), and a url naming a private address is 422
 * unless SLIPWAY_HOOKS_ALLOW_PRIVATE, all before any transaction. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/unit/panel/testreq.h"

#define HOOKS "/v1/webhooks"
#define RES SW_ROLE_RESELLER

static void hook_refused(const char *url, const char *events, int status, const char *msg)
{
    char body[512];
    snprintf(body, sizeof body, "{\"url\": \"%s\", \"events\": %s}", url, events);
    sw_testreq_refused("POST", HOOKS, RES, body, status, msg);
}

static int no_private(void **state)
{
    (void)state;
    return unsetenv("SLIPWAY_HOOKS_ALLOW_PRIVATE");
}

static void test_url(void **state)
{
    (void)state;
    static const char ev[] = "[\"order.created\"]";
    hook_refused("ftp://billing.example/hook", ev, 400, "url must start with http:// or https://");
    hook_refused("https://billing.example/hook#x", ev, 400, "url must not have a fragment");
    hook_refused("https://user:pw@billing.example/hook", ev, 400,
                 "url must not carry a user name or password");
    hook_refused("https:///hook", ev, 400, "url must name a host");
    hook_refused("https://billing.example:0/hook", ev, 400, "url has a port that is not 1 to");
    hook_refused("https://billing.example/a hook", ev, 400, "url must not contain spaces");
    sw_testreq_refused("POST", HOOKS, RES, "{\"events\": [\"order.created\"]}", 400,
                       "field \"url\" is required");
}

static void test_events(void **state)
{
    (void)state;
    static const char url[] = "https://billing.example/hook";
    hook_refused(url, "[]", 400, "events must list 1 to 20 event types");
    hook_refused(url,
                 "[\"order.created\", \"server.provisioned\", \"server.suspended\","
                 " \"server.unsuspended\", \"server.terminated\", \"job.failed\","
                 " \"usage.hourly\", \"invoice.finalized\", \"invoice.overdue\","
                 " \"payment.received\", \"backup.completed\", \"backup.failed\","
                 " \"restore.completed\", \"server.migrated\", \"server.recovered\","
                 " \"server.lost\", \"node.evacuated\", \"node.suspect\", \"node.fenced\","
                 " \"node.failed\", \"order.created\"]",
                 400, "events must list 1 to 20 event types");
    hook_refused(url, "[\"order.created\", \"order.created\"]", 400,
                 "events lists order.created twice");
    hook_refused(url, "[\"job.failed\", \"order.deleted\"]", 400,
                 "events[1] is not an event type");
    hook_refused(url, "[7]", 400, "events[0] is not an event type");
    hook_refused(url, "\"order.created\"", 400, "field \"events\" must be");
}

static void test_private_address(void **state)
{
    (void)state;
    static const char ev[] = "[\"payment.received\"]";
    static const char msg[] = "url names a loopback, private or link-local address";
    hook_refused("http://127.0.0.1:8080/hook", ev, 422, msg);
    hook_refused("http://localhost/hook", ev, 422, msg);
    hook_refused("http://10.1.2.3/hook", ev, 422, msg);
    hook_refused("http://169.254.169.254/latest", ev, 422, msg);
    hook_refused("http://[::1]/hook", ev, 422, msg);
    /* A malformed setting is the operator's mistake, not the caller's. */
    setenv("SLIPWAY_HOOKS_ALLOW_PRIVATE", "perhaps", 1);
    struct sw_req req;
    struct sw_err err;
    sw_testreq_init(&req, RES, "{\"url\": \"http://10.1.2.3/\", \"events\": [\"job.failed\"]}",
                    NULL);
    assert_int_equal(sw_testreq_call("POST", HOOKS, &req, &err), -1);
    assert_int_not_equal(err.code, SW_EUNPROCESSABLE);
    unsetenv("SLIPWAY_HOOKS_ALLOW_PRIVATE");
}

static void test_accepts(void **state)
{
    (void)state;
    sw_testreq_accepted("POST", HOOKS, RES,
                        "{\"url\": \"https://billing.example:8443/hooks?x=1\", \"events\":"
                        " [\"order.created\", \"server.provisioned\", \"server.suspended\","
                        " \"server.unsuspended\", \"server.terminated\", \"job.failed\","
                        " \"usage.hourly\", \"invoice.finalized\", \"invoice.overdue\","
                        " \"payment.received\"]}");
    /* A private address, where the operator allows it. */
    setenv("SLIPWAY_HOOKS_ALLOW_PRIVATE", "1", 1);
    sw_testreq_accepted("POST", HOOKS, SW_ROLE_OPERATOR,
                        "{\"url\": \"http://10.1.2.3/hook\", \"events\": [\"job.failed\"]}");
    unsetenv("SLIPWAY_HOOKS_ALLOW_PRIVATE");
    /* issue 15's events: a server's moves, and the nodes' (the operator's) */
    sw_testreq_accepted("POST", HOOKS, SW_ROLE_OPERATOR,
                        "{\"url\": \"https://billing.example/ops\", \"events\": [\"server.migrated\","
                        " \"server.recovered\", \"server.lost\", \"node.evacuated\","
                        " \"node.suspect\", \"node.fenced\", \"node.failed\"]}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_private_address),
        cmocka_unit_test(test_accepts),
    };
    return cmocka_run_group_tests(tests, no_private, NULL);
}
