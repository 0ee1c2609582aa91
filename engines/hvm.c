/* hvm.c - the hvm (KVM-style full virtualisation) plan kind: any OS; on
 * QEMU virtio disk and network and a virtio balloon with stats every 5 s,
 * on Xen (beside pv guests) Xen's PV disk, network and balloon. The
 * domain's ceiling is the plan's max RAM and it boots at the guaranteed
 * floor; the ballooning controller (balloon.c, around core/balloon.c)
 * moves it in between, and a resize keeps it within the new sizes. */
#include "config.h"
#include "engines/backup.h"
#include "engines/domxml.h"
#include "engines/iso.h"
#include "engines/kind.h"
#include "engines/snapshot.h"
#include "engines/virt.h"
#include "core/enums.h"

static void hvm_domain_vars(const struct sw_engine *eng, const struct sw_msg_node_job *job,
                            struct sw_domxml_vars *v)
{
    (void)eng;
    sw_domxml_set(v, "current_memory_kib", "%lld", (long long)job->ram_mb * 1024);
}

/* The balloon is kept within the new guarantee and ceiling. */
static int hvm_live_memory(virDomainPtr dom, const struct sw_msg_node_job *job)
{
    virDomainInfo info;
    if (!sw_virt_ceiling_fits(dom, job) || virDomainGetInfo(dom, &info) < 0)
        return 0; /* a ceiling above the live maximum waits for the boot */
    /* The balloon stays where it is when it fits the new guarantee and
     * ceiling (the ballooning controller moves it), else it is clamped. */
    unsigned long long kib = info.memory, lo = (unsigned long long)job->ram_mb * 1024,
                       hi = (unsigned long long)job->max_ram_mb * 1024;
    kib = kib < lo ? lo : kib > hi ? hi : kib;
    return virDomainSetMemoryFlags(dom, (unsigned long)kib, VIR_DOMAIN_AFFECT_LIVE) == 0;
}

static const struct sw_engine_driver hvm_driver = {
    .kind = SW_KIND_HVM,
    .name = "hvm",
    .domain_vars = hvm_domain_vars,
    .live_memory = hvm_live_memory,
    .root_volume = true,
    .lifecycle = &sw_virt_lifecycle,
    .media = &sw_iso_media,
    .snapshots = &sw_snapshot_ops,
    .backups = &sw_engine_backup_ops,
};

const struct sw_engine_driver *sw_engine_hvm_driver(void)
{
    return &hvm_driver;
}
