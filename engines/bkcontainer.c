/* bkcontainer.c - the container kind's backups group (bkcontainer.h). */
#include "config.h"
#include "engines/bkcontainer.h"
#include "engines/backup.h"
#include "engines/bkctnew.h"

#include <stdio.h>
#include <string.h>

static int container_backup(struct sw_engine *eng, const struct sw_engine_driver *drv,
                            const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                            struct sw_err *err)
{
    (void)drv;
    if (sw_engine_backup_run_paused(eng, job, out, err) < 0)
        return -1;
    size_t len = strlen(out->note);
    snprintf(out->note + len, sizeof out->note - len, "%sfull read; %lld bytes new",
             len ? "; " : "", (long long)out->backup.bytes_stored);
    return 0;
}

const struct sw_engine_backups sw_bkcontainer_ops = {
    .backup = container_backup,
    .restore = sw_engine_restore_run,
    .create = sw_bkctnew_create,
};
