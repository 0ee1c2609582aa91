/* slipwayctl - operator tool: migrate, bootstrap, config, node-file,
 * balloon-sim, invoice, node, console.
 *
 * Each command is a row of the table at the bottom; `slipwayctl help`
 * prints it.
 */
#include "config.h"
#include "cli/ctl.h"
#include "core/alloc.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/token.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctl_cmd {
    const char *name;
    const char *usage;
    const char *help;
    int (*run)(int argc, char **argv);
};

static int fail(const struct sw_err *err)
{
    fprintf(stderr, "slipwayctl: %s\n", err->msg);
    if (err->detail[0])
        fprintf(stderr, "  (%s)\n", err->detail);
    return 1;
}

static struct sw_db *open_db(struct sw_err *err)
{
    return sw_db_connect(sw_conf_get("SLIPWAY_DATABASE_URL"), err);
}

static int cmd_migrate(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct sw_err err = {0};
    struct sw_db *db = open_db(&err);
    if (!db)
        return fail(&err);
    int applied = 0;
    int rc = sw_ctl_migrate(db, sw_conf_get("SLIPWAY_MIGRATIONS_DIR"), &applied, &err);
    sw_db_free(db);
    if (rc < 0)
        return fail(&err);
    printf("%d migration%s applied\n", applied, applied == 1 ? "" : "s");
    return 0;
}

/* bootstrap [--email E]: creates the operator account and prints a token once. */
static int cmd_bootstrap(int argc, char **argv)
{
    const char *email = "operator@slipway.local";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--email") == 0 && i + 1 < argc)
            email = argv[++i];
        else {
            fprintf(stderr, "slipwayctl: bootstrap takes [--email ADDRESS]\n");
            return 2;
        }
    }
    struct sw_err err = {0};
    unsigned char key[SW_SECRET_KEY_BYTES];
    const char *hex = sw_conf_require("SLIPWAY_SECRET_KEY", &err);
    if (!hex || sw_secret_key_parse(hex, key, &err) < 0)
        return fail(&err);
    struct sw_db *db = open_db(&err);
    if (!db)
        return fail(&err);
    int rc = 1;
    char id[SW_UUID_LEN + 1], tok_id[SW_UUID_LEN + 1], token[SW_TOKEN_LEN + 1];
    sw_uuid_new(id);
    if (sw_db_begin(db, &err) < 0)
        goto out;
    /* One operator per installation through bootstrap: a second run is
     * refused rather than minting tokens silently. */
    if (sw_db_run(db, &err, "LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE", 0, NULL) < 0)
        goto out;
    PGresult *res =
        sw_db_exec(db, &err, "SELECT 1 FROM accounts WHERE kind = 'operator'", 0, NULL);
    if (!res)
        goto out;
    int exists = PQntuples(res) > 0;
    PQclear(res);
    if (exists) {
        fprintf(stderr, "slipwayctl: already bootstrapped: an operator account exists\n");
        rc = 3;
        goto out;
    }
    if (sw_db_run(db, &err,
                  "INSERT INTO accounts (id, kind, email, name) VALUES ($1, 'operator', $2, "
                  "'operator')",
                  SW_PARAMS(id, email)) < 0 ||
        sw_token_issue(db, key, id, "bootstrap", "api", "full", 0, token, tok_id, NULL, &err) <
            0 ||
        sw_db_commit(db, &err) < 0)
        goto out;
    printf("%s\n", token);
    sodium_memzero(token, sizeof token);
    rc = 0;
out:
    sodium_memzero(key, sizeof key);
    if (rc == 1)
        fail(&err);
    sw_db_rollback(db);
    sw_db_free(db);
    return rc;
}

static int cmd_config(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    sw_conf_print_markdown(stdout);
    return 0;
}

/* node-file PATH CPUS RAM_MB: writes a libvirt test-driver node file. */
static int cmd_node_file(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "slipwayctl: usage: node-file PATH CPUS RAM_MB\n");
        return 2;
    }
    char *end1, *end2;
    long cpus = strtol(argv[2], &end1, 10), ram = strtol(argv[3], &end2, 10);
    if (*end1 || *end2 || cpus < 1 || cpus > 4096 || ram < 64 || ram > 64L * 1024 * 1024) {
        fprintf(stderr, "slipwayctl: CPUS must be 1..4096 and RAM_MB 64..67108864\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "w");
    if (!f) {
        fprintf(stderr, "slipwayctl: could not write \"%s\": %s\n", argv[1], strerror(errno));
        return 1;
    }
    fprintf(f,
            "<node>\n  <cpu><nodes>1</nodes><sockets>1</sockets><cores>%ld</cores>"
            "<threads>1</threads><active>%ld</active><mhz>2400</mhz><model>x86_64</model>"
            "</cpu>\n  <memory>%ld</memory>\n</node>\n",
            cpus, cpus, ram * 1024);
    return fclose(f) == 0 ? 0 : 1;
}

/* balloon-sim SCENARIO.json */
static int cmd_balloon_sim(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "slipwayctl: usage: balloon-sim SCENARIO.json\n");
        return 2;
    }
    struct sw_err err = {0};
    if (sw_ctl_balloon_sim(argv[1], stdout, &err) < 0)
        return fail(&err);
    return 0;
}

static int cmd_invoice(int argc, char **argv)
{
    struct sw_err err = {0};
    int rc = sw_ctl_invoice(argc, argv, &err);
    return rc < 0 ? fail(&err) : rc;
}

static int cmd_node(int argc, char **argv)
{
    struct sw_err err = {0};
    int rc = sw_ctl_node(argc, argv, &err);
    return rc < 0 ? fail(&err) : rc;
}

static int cmd_console(int argc, char **argv)
{
    struct sw_err err = {0};
    int rc = sw_ctl_console(argc, argv, &err);
    return rc < 0 ? fail(&err) : rc;
}

static int cmd_help(int argc, char **argv);

static const struct ctl_cmd commands[] = {
    {"migrate", "migrate", "apply pending migrations from SLIPWAY_MIGRATIONS_DIR", cmd_migrate},
    {"bootstrap", "bootstrap [--email ADDRESS]",
     "create the operator account and print its API token once", cmd_bootstrap},
    {"config", "config", "print every configuration variable as a Markdown table", cmd_config},
    {"node-file", "node-file PATH CPUS RAM_MB",
     "write a libvirt test-driver node file for a simulated node", cmd_node_file},
    {"node", "node enroll NAME --location CODE --uri URI --kinds KIND[,KIND] --cpus N --ram-mb N "
             "--disk-gb N [--reserved-ram-mb N] [--output FILE]",
     "enrol a node through the panel (SLIPWAY_URL, SLIPWAY_OPERATOR_TOKEN) and write its "
     "engine's environment, with its secrets, once (FILE: new, mode 0600)", cmd_node},
    {"node", "node rekey ID [--output FILE]",
     "new secret key and credentials for a node's engine, written once", cmd_node},
    {"balloon-sim", "balloon-sim SCENARIO.json",
     "run the ballooning controller over a scenario; a JSON line per tick", cmd_balloon_sim},
    {"invoice", "invoice run [--period YYYY-MM] [--draft]",
     "finalize a month's invoices (default: last month), or recompute drafts (default: this "
     "month)", cmd_invoice},
    {"invoice", "invoice dunning",
     "mark invoices unpaid past due + grace overdue and suspend their accounts' servers",
     cmd_invoice},
    {"console", "console SERVER_ID",
     "attach to a server's serial console: virsh console on its node's libvirt URI (Ctrl-] "
     "leaves)", cmd_console},
    {"backup-scrub", "backup-scrub ACCOUNT --target FILE.json --key-file FILE",
     "read and verify every chunk of an account's backups; exit 1 naming each bad one",
     sw_ctl_backup},
    {"backup-gc", "backup-gc ACCOUNT --target FILE.json --key-file FILE",
     "delete the account's chunks no backup manifest references", sw_ctl_backup},
    {"help", "help", "this list", cmd_help},
    {NULL, NULL, NULL, NULL},
};

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("usage: slipwayctl COMMAND [ARGS]\n\n");
    for (const struct ctl_cmd *c = commands; c->name; c++)
        printf("  %-32s %s\n", c->usage, c->help);
    return 0;
}

int main(int argc, char **argv)
{
    sw_log_init("slipwayctl", sw_conf_get("SLIPWAY_LOG_LEVEL"));
    if (sw_crypto_init() < 0) {
        fprintf(stderr, "slipwayctl: libsodium failed to initialise\n");
        return 1;
    }
    if (argc < 2)
        return cmd_help(0, NULL), 2;
    for (const struct ctl_cmd *c = commands; c->name; c++)
        if (strcmp(c->name, argv[1]) == 0)
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "slipwayctl: unknown command \"%s\"; try slipwayctl help\n", argv[1]);
    return 2;
}
