/* test_servers.c - panel/servers.c without a database: a server action
 * names a known type and exactly the parameter that type takes, or it is
 * refused with 400 before any transaction. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/panel/testreq.h"

#define ACTIONS "/v1/servers/{id}/actions"

static void action_refused(unsigned role, const char *body, const char *msg)
{
    sw_testreq_refused("POST", ACTIONS, role, body, 400, msg);
}

static void test_type(void **state)
{
    (void)state;
    static const char msg[] = "type must be start, stop, reboot, reinstall, resize,"
                              " reset_password, mount_iso, eject_iso or set_boot";
    action_refused(SW_ROLE_CUSTOMER, "{\"type\": \"explode\"}", msg);
    action_refused(SW_ROLE_CUSTOMER, "{\"type\": \"create\"}", msg);
    action_refused(SW_ROLE_CUSTOMER, "{\"type\": \"terminate\"}", msg);
    action_refused(SW_ROLE_RESELLER, "{\"type\": \"\"}", msg);
    action_refused(SW_ROLE_CUSTOMER, "{}", "field \"type\" is required");
    action_refused(SW_ROLE_CUSTOMER, "{\"type\": 1}", "field \"type\" must be");
    action_refused(SW_ROLE_OPERATOR, "{\"type\": \"start\", \"force\": true}",
                   "unknown field \"force\"");
}

static void test_parameters(void **state)
{
    (void)state;
    action_refused(SW_ROLE_CUSTOMER, "{\"type\": \"start\", \"plan_id\": \"" SW_TEST_ID "\"}",
                   "plan_id does not apply to start");
    action_refused(SW_ROLE_CUSTOMER,
                   "{\"type\": \"reinstall\", \"plan_id\": \"" SW_TEST_ID "\","
                   " \"template_id\": \"" SW_TEST_ID "\"}",
                   "plan_id does not apply to reinstall");
    action_refused(SW_ROLE_CUSTOMER,
                   "{\"type\": \"resize\", \"plan_id\": \"" SW_TEST_ID "\", \"template_id\": \""
                   SW_TEST_ID "\"}",
                   "template_id does not apply to resize");
    /* A missing parameter is named as missing; another action's is refused. */
    action_refused(SW_ROLE_CUSTOMER, "{\"type\": \"resize\"}", "plan_id is required for resize");
    action_refused(SW_ROLE_CUSTOMER, "{\"type\": \"reinstall\"}",
                   "template_id is required for reinstall");
    action_refused(SW_ROLE_CUSTOMER,
                   "{\"type\": \"resize\", \"template_id\": \"" SW_TEST_ID "\"}",
                   "template_id does not apply to resize");
    action_refused(SW_ROLE_CUSTOMER, "{\"type\": \"resize\", \"plan_id\": \"hvm-2\"}",
                   "plan_id must be a UUID");
    action_refused(SW_ROLE_CUSTOMER, "{\"type\": \"reset_password\", \"template_id\": \"x\"}",
                   "template_id does not apply to reset_password");
    /* A reinstall's own root password and keys, and only a reinstall's. */
    action_refused(SW_ROLE_CUSTOMER, "{\"type\": \"reset_password\", \"password\": \"0123456789ab\"}",
                   "password does not apply to reset_password");
    action_refused(SW_ROLE_CUSTOMER, "{\"type\": \"start\", \"ssh_keys\": []}",
                   "ssh_keys does not apply to start");
    action_refused(SW_ROLE_CUSTOMER,
                   "{\"type\": \"reinstall\", \"template_id\": \"" SW_TEST_ID "\","
                   " \"password\": \"short\"}",
                   "password must be 10 to 128 bytes long");
    action_refused(SW_ROLE_CUSTOMER,
                   "{\"type\": \"reinstall\", \"template_id\": \"" SW_TEST_ID "\","
                   " \"ssh_keys\": [\"not a key\"]}",
                   "ssh_keys[0] is not an OpenSSH public key line");
}

/* ISO installs (panel/iso_actions.c): iso_id only with mount_iso, boot
 * with mount_iso and set_boot, each well-formed, before any transaction. */
static void test_iso(void **state)
{
    (void)state;
    action_refused(SW_ROLE_CUSTOMER, "{\"type\": \"mount_iso\"}", "iso_id must be a UUID");
    action_refused(SW_ROLE_CUSTOMER, "{\"type\": \"mount_iso\", \"iso_id\": \"debian.iso\"}",
                   "iso_id must be a UUID");
    action_refused(SW_ROLE_CUSTOMER, "{\"type\": \"mount_iso\", \"iso_id\": 7}",
                   "field \"iso_id\" must be");
    action_refused(SW_ROLE_CUSTOMER,
                   "{\"type\": \"mount_iso\", \"iso_id\": \"" SW_TEST_ID "\", \"boot\": \"net\"}",
                   "boot must be cdrom or disk");
    action_refused(SW_ROLE_CUSTOMER, "{\"type\": \"set_boot\"}", "boot is required for set_boot");
    action_refused(SW_ROLE_CUSTOMER, "{\"type\": \"set_boot\", \"boot\": \"floppy\"}",
                   "boot must be cdrom or disk");
    action_refused(SW_ROLE_CUSTOMER, "{\"type\": \"set_boot\", \"boot\": \"disk\","
                   " \"iso_id\": \"" SW_TEST_ID "\"}", "iso_id does not apply to set_boot");
    action_refused(SW_ROLE_CUSTOMER, "{\"type\": \"eject_iso\", \"boot\": \"disk\"}",
                   "boot does not apply to eject_iso");
    action_refused(SW_ROLE_CUSTOMER, "{\"type\": \"start\", \"iso_id\": \"" SW_TEST_ID "\"}",
                   "iso_id does not apply to start");
    action_refused(SW_ROLE_CUSTOMER, "{\"type\": \"reboot\", \"boot\": \"cdrom\"}",
                   "boot does not apply to reboot");
}

static void test_accepts(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "{\"type\": \"start\"}",
        "{\"type\": \"stop\"}",
        "{\"type\": \"reboot\"}",
        "{\"type\": \"reset_password\"}",
        "{\"type\": \"reinstall\", \"template_id\": \"" SW_TEST_ID "\"}",
        "{\"type\": \"reinstall\", \"template_id\": \"" SW_TEST_ID "\", \"password\":"
        " \"correct horse battery\", \"ssh_keys\": [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5Key\"]}",
        "{\"type\": \"resize\", \"plan_id\": \"" SW_TEST_ID "\"}",
        "{\"type\": \"mount_iso\", \"iso_id\": \"" SW_TEST_ID "\"}",
        "{\"type\": \"mount_iso\", \"iso_id\": \"" SW_TEST_ID "\", \"boot\": \"disk\"}",
        "{\"type\": \"eject_iso\"}",
        "{\"type\": \"set_boot\", \"boot\": \"cdrom\"}",
        "{\"type\": \"set_boot\", \"boot\": \"disk\"}",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        sw_testreq_accepted("POST", ACTIONS, SW_ROLE_CUSTOMER, ok[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type),
        cmocka_unit_test(test_parameters),
        cmocka_unit_test(test_iso),
        cmocka_unit_test(test_accepts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
