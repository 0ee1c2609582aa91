/* domfile.h - the node's domains written to a file (SLIPWAY_DOMAINS_FILE).
 *
 * The test driver keeps its domains inside the engine process, where no
 * virsh can see them; a soak or an operator reads them from this file
 * instead. One line per domain, "NAME UUID STATE" (state: running,
 * stopped, suspended, or empty when libvirt could not tell), one line per
 * sw-* volume of the node's pools, "vol POOL VOLUME", then a last line
 * "# pid=PID at=UNIX_SECONDS domains=N volumes=M". Written to PATH.tmp and
 * renamed, so a reader never sees half a list.
 */
#ifndef SW_ENGINES_DOMFILE_H
#define SW_ENGINES_DOMFILE_H

#include "core/err.h"
#include "engines/kind.h"

#include <libvirt/libvirt.h>

int sw_engine_domains_write(struct sw_engine *eng, const char *path, struct sw_err *err);

#endif
