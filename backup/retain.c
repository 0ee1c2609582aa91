/* retain.c - a retention policy applied to one server's backups on a
 * target: the pure rules of prune.c, then the pruned manifests deleted. */
#include "config.h"
#include "backup/prune.h"
#include "backup/repo.h"
#include "core/alloc.h"
#include "core/crypto.h"
#include "core/err.h"

#include <string.h>

/* The server's manifests among the account's: loaded into *ms (owned). */
static int load_server(struct sw_bk_target *t, const unsigned char key[SW_BK_KEY_BYTES],
                       const char *account, const char *server, struct sw_bk_manifest ***ms,
                       size_t *n, struct sw_err *err)
{
    char **ids = NULL;
    size_t nids = 0;
    if (sw_bk_list_backups(t, account, &ids, &nids, err) < 0)
        return -1;
    *ms = sw_calloc(nids + 1, sizeof **ms);
    *n = 0;
    int rc = 0;
    for (size_t i = 0; i < nids; i++) {
        struct sw_bk_manifest *m = rc == 0 ? sw_bk_manifest_load(t, key, account, ids[i], err)
                                           : NULL;
        if (!m && rc == 0)
            rc = -1; /* one that does not open: prune nothing rather than guess */
        if (m && strcmp(m->server, server) == 0)
            (*ms)[(*n)++] = m;
        else
            sw_bk_manifest_free(m);
        free(ids[i]);
    }
    free(ids);
    return rc;
}

int sw_bk_retain(struct sw_bk_target *t, const unsigned char key[SW_BK_KEY_BYTES],
                 const char *account, const char *server, const struct sw_bk_policy *policy,
                 size_t *kept, size_t *deleted, struct sw_err *err)
{
    *kept = *deleted = 0;
    if (!sw_uuid_valid(server)) {
        SW_ERR(err, SW_EINVALID, "backup: the server id must be a uuid");
        return -1;
    }
    struct sw_bk_manifest **ms = NULL;
    size_t n = 0;
    int rc = load_server(t, key, account, server, &ms, &n, err);
    struct sw_bk_dated *dated = sw_calloc(n + 1, sizeof *dated);
    bool *keep = sw_calloc(n + 1, sizeof *keep);
    for (size_t i = 0; i < n; i++)
        dated[i] = (struct sw_bk_dated){ms[i]->backup_id, ms[i]->created_at};
    if (rc == 0)
        sw_bk_prune(policy, dated, n, keep);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (keep[i]) {
            (*kept)++;
            continue;
        }
        SW_AUTOFREE char *name = sw_bk_manifest_key(account, ms[i]->backup_id);
        rc = sw_bk_target_delete(t, name, err);
        *deleted += rc == 0;
    }
    for (size_t i = 0; i < n; i++)
        sw_bk_manifest_free(ms[i]);
    free(ms);
    free(dated);
    free(keep);
    return rc;
}
