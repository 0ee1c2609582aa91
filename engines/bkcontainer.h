/* bkcontainer.h - backups of containers (issue 14, engines/README.md
 * "Backup jobs"): the container kind's backups group. Its hypervisor (LXC)
 * has no backup API, so a running container is paused (the cgroup freezer)
 * only while its root is cloned, and every backup reads the whole volume;
 * the repository stores only the chunks it does not hold yet.
 */
#ifndef SW_ENGINES_BKCONTAINER_H
#define SW_ENGINES_BKCONTAINER_H

#include "engines/kind.h"

/* backup: sw_engine_backup_run_paused, the note ending "full read; N bytes
 * new"; restore (target same): backup.c's, into a new raw root that the
 * container's reinstall finds and boots, the old root removed after;
 * create (a restore as a new server): bkctnew.h's, which rewrites the host
 * name and NoCloud files inside the restored root for the new server. */
extern const struct sw_engine_backups sw_bkcontainer_ops;

#endif
