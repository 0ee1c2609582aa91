/* virt.h - libvirt glue shared by the kinds' drivers: error mapping, domain
 * lookup and state, and the operations every kind implements the same way.
 *
 * libvirt errors are mapped once, here (VIR_ERR_NO_DOMAIN -> not_found,
 * VIR_ERR_OPERATION_INVALID -> conflict, connection and RPC failures ->
 * unavailable + retryable, ...). The tenant-safe message names what failed;
 * libvirt's own text goes to err->detail (it may name host paths).
 */
#ifndef SW_ENGINES_VIRT_H
#define SW_ENGINES_VIRT_H

#include <libvirt/libvirt.h>

#include "engines/kind.h"

struct sw_err;

/* Silences libvirt's default error printing (errors are logged once, where
 * handled) and initialises the library; call before starting threads. */
int sw_virt_init(struct sw_err *err);

/* Opens uri (read-write). Returns owned (virConnectClose), or NULL. */
virConnectPtr sw_virt_open(const char *uri, struct sw_err *err);

/* The <domain type> to use on conn: hv->domain_type when the host can run
 * it, else hv->fallback_type (qemu without KVM runs TCG). Borrowed static. */
const char *sw_virt_domain_type(virConnectPtr conn, const struct sw_hypervisor *hv);

/* The operator's choice, want (SLIPWAY_DOMAIN_TYPE), when it is one of
 * hv's two types; NULL want: sw_virt_domain_type(). NULL with err
 * (SW_EINVALID) for another value. Borrowed static. */
const char *sw_virt_domain_type_chosen(virConnectPtr conn, const struct sw_hypervisor *hv,
                                       const char *want, struct sw_err *err);

/* Maps libvirt's last error of this thread into err; what names the action
 * for the message: "start the server" -> "could not start the server". */
void sw_virt_error(struct sw_err *err, const char *what);

/* Returns an owned domain (virDomainFree) by server id, or NULL: with
 * SW_ENOTFOUND when the node has no such domain ("could not <what>: ..."). */
virDomainPtr sw_virt_lookup(struct sw_engine *eng, const char *server_id, const char *what,
                            struct sw_err *err);

/* Writes the SW_DOMAIN_* state of dom (NULL: absent) into out[24]. */
void sw_virt_state_name(virDomainPtr dom, char out[24]);

/* The operations every kind shares (see kind.h for the contract), named by
 * sw_virt_lifecycle; a kind that does one of them its own way builds its
 * own table from the others. */
int sw_virt_create(struct sw_engine *eng, const struct sw_engine_driver *drv,
                   const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                   struct sw_err *err);
int sw_virt_start(struct sw_engine *eng, const struct sw_engine_driver *drv,
                  const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                  struct sw_err *err);
int sw_virt_stop(struct sw_engine *eng, const struct sw_engine_driver *drv,
                 const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                 struct sw_err *err);
int sw_virt_reboot(struct sw_engine *eng, const struct sw_engine_driver *drv,
                   const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                   struct sw_err *err);
int sw_virt_suspend(struct sw_engine *eng, const struct sw_engine_driver *drv,
                    const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                    struct sw_err *err);
int sw_virt_unsuspend(struct sw_engine *eng, const struct sw_engine_driver *drv,
                      const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                      struct sw_err *err);
int sw_virt_define(struct sw_engine *eng, const struct sw_engine_driver *drv,
                   const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                   struct sw_err *err);
int sw_virt_terminate(struct sw_engine *eng, const struct sw_engine_driver *drv,
                      const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                      struct sw_err *err);
int sw_virt_reinstall(struct sw_engine *eng, const struct sw_engine_driver *drv,
                      const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                      struct sw_err *err);
int sw_virt_resize(struct sw_engine *eng, const struct sw_engine_driver *drv,
                   const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                   struct sw_err *err);
int sw_virt_reset_password(struct sw_engine *eng, const struct sw_engine_driver *drv,
                           const struct sw_msg_node_job *job, struct sw_engine_outcome *out,
                           struct sw_err *err);

/* The shared lifecycle table: the sw_virt_* operations above. */
extern const struct sw_engine_lifecycle sw_virt_lifecycle;

/* A crypt(3) hash: "$id$...", printable, no separators a guest's chpasswd
 * (or its /etc/shadow) would split on. */
bool sw_virt_crypt_hash_valid(const char *h);

/* The new ceiling of job is within dom's live maximum, which only a boot
 * can raise (for the kinds' live_memory). */
bool sw_virt_ceiling_fits(virDomainPtr dom, const struct sw_msg_node_job *job);

/* Redefines dom's persistent config from the kind's template with job (as
 * a resize does: over the root volume it boots from, its last reinstall's
 * marker kept); what the running domain has changes at its next boot.
 * Returns the redefined domain, owned, or NULL with err set (what names
 * the action). engines/iso.c uses it. */
virDomainPtr sw_virt_redefine(struct sw_engine *eng, const struct sw_engine_driver *drv,
                              const struct sw_msg_node_job *job, virDomainPtr dom,
                              const char *what, struct sw_err *err);

#endif
