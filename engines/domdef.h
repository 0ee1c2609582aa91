/* domdef.h - a server's domain definition: its name from the server id,
 * and its domain XML from the kind's template for the node's hypervisor,
 * with every value range-checked or escaped. Pure but for reading the
 * template file. The variables every kind gets are listed in
 * engines/README.md; the kind's table adds its own (kind.h domain_vars).
 */
#ifndef SW_ENGINES_DOMDEF_H
#define SW_ENGINES_DOMDEF_H

#include "engines/kind.h"

/* Writes "sw-<server_id>" (lower case) into out[64]; returns out. */
const char *sw_domdef_name(const char *server_id, char out[64]);

/* The domain XML for job of drv's kind on eng's hypervisor. Returns owned
 * (free()), or NULL with err set (SW_EUNSUPPORTED when no template exists
 * for the kind and hypervisor, SW_EINVALID for sizes or an os name out of
 * range). */
char *sw_domdef_xml(const struct sw_engine *eng, const struct sw_engine_driver *drv,
                    const struct sw_msg_node_job *job, struct sw_err *err);

#endif
