/* backup_sched.c - the backup scheduler's thread (backups.h): a pass of
 * sw_backups_schedule every SLIPWAY_BACKUP_SCHEDULER_INTERVAL seconds on
 * the thread's own connection. */
#include "config.h"
#include "provisioner/backups.h"
#include "provisioner/prov.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"

#include <stdbool.h>

void *sw_backups_scheduler_main(void *arg)
{
    struct sw_prov_thread *t = arg;
    long interval_s = 60;
    struct sw_err err;
    sw_err_clear(&err);
    if (sw_conf_long("SLIPWAY_BACKUP_SCHEDULER_INTERVAL", 0, 86400, &interval_s, &err) < 0)
        sw_log_err(SW_LOG_ERROR, "backup.scheduler", &err);
    sw_info("thread.started", "thread=%s interval_s=%ld", t->name, interval_s);
    bool down = false;
    while (interval_s > 0 && !sw_prov_stopping()) {
        int n = 0;
        sw_err_clear(&err);
        if (sw_prov_connect(t, &err) < 0 || sw_backups_schedule(t->db, &n, &err) < 0) {
            sw_prov_log_degraded(t->name, !down, &err);
            down = true;
        } else {
            down = false;
            if (n > 0)
                sw_info("backup.scheduled", "jobs=%d", n);
        }
        sw_prov_sleep_ms(interval_s * 1000);
    }
    sw_info("thread.stopped", "thread=%s", t->name);
    return NULL;
}
