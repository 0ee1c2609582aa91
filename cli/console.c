/* console.c - slipwayctl console SERVER: an operator's view of a server's
 * serial console. Reads the server's node from the database
 * (SLIPWAY_DATABASE_URL) and replaces itself with `virsh -c ENGINE_URI
 * console sw-SERVER` on that node's libvirt URI, so the operator needs what
 * virsh needs to reach the node (its socket, or ssh/tls credentials). */
#include "config.h"
#include "cli/ctl.h"
#include "core/alloc.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int usage(void)
{
    fprintf(stderr, "slipwayctl: usage: console SERVER_ID\n");
    return 2;
}

/* The libvirt URI of the node running server id; owned, or NULL with err. */
static char *node_uri(const char *id, struct sw_err *err)
{
    struct sw_db *db = sw_db_connect(sw_conf_get("SLIPWAY_DATABASE_URL"), err);
    if (!db)
        return NULL;
    PGresult *res = sw_db_exec(db, err,
                               "SELECT n.engine_uri FROM servers s JOIN nodes n ON n.id = s.node_id "
                               "WHERE s.id = $1::uuid AND s.state <> 'terminated'",
                               SW_PARAMS(id));
    sw_db_free(db);
    if (!res)
        return NULL;
    char *uri = PQntuples(res) == 1 ? sw_strdup(sw_db_get(res, 0, 0)) : NULL;
    PQclear(res);
    if (!uri)
        SW_ERR(err, SW_ENOTFOUND, "no live server %s on a node", id);
    return uri;
}

int sw_ctl_console(int argc, char **argv, struct sw_err *err)
{
    if (argc != 2 || !sw_uuid_valid(argv[1]))
        return usage();
    char *uri = node_uri(argv[1], err);
    if (!uri)
        return -1;
    if (strncmp(uri, "test:", 5) == 0) {
        SW_ERR(err, SW_EUNPROCESSABLE, "server %s is on a test-driver node: it has no console",
               argv[1]);
        free(uri);
        return -1;
    }
    char dom[8 + SW_UUID_LEN];
    snprintf(dom, sizeof dom, "sw-%s", argv[1]);
    char *const av[] = {"virsh", "-c", uri, "console", dom, NULL};
    execvp("virsh", av);
    SW_ERR(err, SW_EINTERNAL, "cannot run virsh: %s", strerror(errno));
    free(uri);
    return -1;
}
