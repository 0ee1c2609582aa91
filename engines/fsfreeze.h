/* fsfreeze.h - a running guest's filesystems frozen through its guest
 * agent for the moment a snapshot or a backup begins (engines/README.md
 * "Snapshots", "Backup jobs"), so the disk it captures is consistent. */
#ifndef SW_ENGINES_FSFREEZE_H
#define SW_ENGINES_FSFREEZE_H

#include <libvirt/libvirt.h>

struct sw_engine;

/* Seconds the guest agent gets to freeze or thaw. */
#define SW_FSFREEZE_TIMEOUT_S 5

/* 1 frozen through the guest agent, 0 not (the hypervisor has no agent
 * channel, no agent answered within SW_FSFREEZE_TIMEOUT_S, or it refused).
 * After 1 the caller thaws on every path. */
int sw_fsfreeze(const struct sw_engine *eng, virDomainPtr dom);
/* Thaws dom; a failure is logged as "<what>.thaw_failed" (the guest's
 * agent thaws by itself after its own timeout). */
void sw_fsthaw(virDomainPtr dom, const char *server_id, const char *what);

#endif
