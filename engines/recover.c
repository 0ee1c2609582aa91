/* recover.c - see recover.h. */
#include "config.h"

#include "core/err.h"
#include "core/log.h"
#include "engines/driver.h"
#include "engines/recover.h"
#include "engines/storage.h"

#include <stdio.h>
#include <string.h>

/* The root the server has in this node's pools; on the test driver, a
 * stand-in made when missing. 0, or -1 with err. */
static int recover_root(struct sw_engine *eng, const struct sw_msg_node_job *job,
                        struct sw_engine_outcome *out, struct sw_err *err)
{
    struct sw_msg_disk root;
    int found = sw_storage_root_find(eng, job->server_id, NULL, &root, err);
    if (found != 0)
        return found < 0 ? -1 : 0;
    if (!eng->hv || strcmp(eng->hv->scheme, "test") != 0) {
        SW_ERR(err, SW_ENOTFOUND,
               "could not recover the server: its root volume is not in this node's pools"
               " (a recovery never makes a fresh root)");
        return -1;
    }
    bool made = false;
    if (sw_storage_root_ensure(eng, job, SW_STORAGE_TAG_CREATE, &root, &made, err) < 0)
        return -1;
    snprintf(out->note, sizeof out->note,
             "test driver: the root volume was made here as a stand-in for shared storage");
    sw_info("recover.stand_in", "server=%s volume=%s", job->server_id, root.volume);
    return 0;
}

int sw_recover_run(struct sw_engine *eng, const struct sw_engine_driver *drv,
                   const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                   struct sw_err *err)
{
    const struct sw_engine_lifecycle *l = drv->lifecycle;
    if (!l || !l->define || !l->start) {
        SW_ERR(err, SW_EUNSUPPORTED, "recover is not supported for %s servers", drv->name);
        return -1;
    }
    if (drv->root_volume && recover_root(eng, job, out, err) < 0)
        return -1;
    /* Defined as reconciliation restores a domain (no job id): over
     * whichever root the server has, its seed kept, never a new install. */
    struct sw_msg_node_job restore = *job;
    restore.job_id[0] = '\0';
    char note[sizeof out->note];
    memcpy(note, out->note, sizeof note);
    if (l->define(eng, drv, &restore, out, err) < 0)
        return -1;
    if (job->recover_stopped) { /* it was stopped on its failed node: defined, left so */
        snprintf(out->domain_state, sizeof out->domain_state, "%s", SW_DOMAIN_STOPPED);
        return 0;
    }
    int rc = l->start(eng, drv, job, out, err);
    if (note[0])
        memcpy(out->note, note, sizeof note);
    return rc;
}
