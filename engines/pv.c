/* pv.c - the pv (Xen-style paravirtualised) plan kind: the guest runs its
 * own kernel, booted directly from the template's kernel and initrd; RAM is
 * pre-allocated (the domain boots with its guaranteed size and is never
 * overcommitted); the CPU weight follows Xen's credit scheduler (256 per
 * vCPU, Xen's default weight). */
#include "config.h"
#include "engines/backup.h"
#include "engines/domxml.h"
#include "engines/kind.h"
#include "engines/virt.h"
#include "core/enums.h"

static void pv_domain_vars(const struct sw_engine *eng, const struct sw_msg_node_job *job,
                           struct sw_domxml_vars *v)
{
    (void)eng;
    const char *state = sw_domxml_get(v, "state_dir");
    sw_domxml_set(v, "current_memory_kib", "%lld", (long long)job->ram_mb * 1024);
    sw_domxml_set(v, "cpu_shares", "%lld", (long long)job->vcpus * 256);
    /* A template's own kernel and initrd are volumes in the root's pool
     * (kernel.h, set by domdef.c); a template without them boots the
     * node's kernel for its os, which the operator puts in state_dir. */
    if (!job->kernel_sha256[0]) {
        sw_domxml_set(v, "kernel", "%s/kernels/%s/vmlinuz", state, job->os);
        sw_domxml_set(v, "initrd", "%s/kernels/%s/initrd.img", state, job->os);
    }
    sw_domxml_set(v, "cmdline", "root=/dev/xvda ro console=hvc0");
}

/* RAM is pre-allocated: the domain holds exactly its guarantee. */
static int pv_live_memory(virDomainPtr dom, const struct sw_msg_node_job *job)
{
    if (!sw_virt_ceiling_fits(dom, job))
        return 0;
    return virDomainSetMemoryFlags(dom, (unsigned long)job->ram_mb * 1024,
                                   VIR_DOMAIN_AFFECT_LIVE) == 0;
}

static const struct sw_engine_driver pv_driver = {
    .kind = SW_KIND_PV,
    .name = "pv",
    .domain_vars = pv_domain_vars,
    .live_memory = pv_live_memory,
    .root_volume = true,
    .lifecycle = &sw_virt_lifecycle,
    .backups = &sw_engine_backup_ops,
};

const struct sw_engine_driver *sw_engine_pv_driver(void)
{
    return &pv_driver;
}
