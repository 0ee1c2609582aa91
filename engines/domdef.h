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

/* Writes the MAC address of server_id's NIC into out[18]
 * ("xx:xx:xx:xx:xx:xx", lower case); returns out. Derived from the id
 * alone (BLAKE2b of the lower-case id), so every definition of the server,
 * on any node, has the same one: a locally administered unicast address
 * (first octet's bits 0x02 set, 0x01 clear) with 46 bits of the hash. */
const char *sw_domdef_mac(const char *server_id, char out[18]);

/* Parses SLIPWAY_NETWORK: "NAME" (a libvirt network) or "bridge:NAME" (a
 * host bridge, at most 15 characters), NAME of [A-Za-z0-9_.:-]. 0, or -1
 * with err set (SW_EINVALID). */
int sw_domdef_net_parse(const char *spec, struct sw_engine_net *out, struct sw_err *err);

/* The domain XML for job of drv's kind on eng's hypervisor. Returns owned
 * (free()), or NULL with err set (SW_EUNSUPPORTED when no template exists
 * for the kind and hypervisor, SW_EINVALID for sizes or an os name out of
 * range). */
char *sw_domdef_xml(const struct sw_engine *eng, const struct sw_engine_driver *drv,
                    const struct sw_msg_node_job *job, struct sw_err *err);

/* The same, booting from the volume root (pool, volume, format); NULL: the
 * root volume a create makes in the default pool, sw-<id>-root-0.qcow2 in
 * "slipway". */
char *sw_domdef_xml_disk(const struct sw_engine *eng, const struct sw_engine_driver *drv,
                         const struct sw_msg_node_job *job, const struct sw_msg_disk *root,
                         struct sw_err *err);

#endif
