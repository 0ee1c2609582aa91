/* container.c - the container (OpenVZ-like) plan kind: a shared host
 * kernel, a template root filesystem, and memory as limits rather than a
 * balloon: the guaranteed RAM is the soft limit, the burst ceiling the hard
 * limit, and swap comes on top of the ceiling. Its root is a raw ext4
 * volume built from the template's tarball (rootfs.h), which libvirt's LXC
 * driver mounts through a loop device by the path libvirt gives it (the
 * driver refuses <filesystem type='volume'>). */
#include "config.h"
#include "engines/bkcontainer.h"
#include "engines/ctdisk.h"
#include "engines/domxml.h"
#include "engines/kind.h"
#include "engines/rootfs.h"
#include "engines/virt.h"
#include "core/enums.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void container_domain_vars(const struct sw_engine *eng, const struct sw_msg_node_job *job,
                                  struct sw_domxml_vars *v)
{
    long long ram_kib = (long long)job->ram_mb * 1024;
    long long max_kib = (long long)job->max_ram_mb * 1024;
    long long swap_kib = (long long)job->swap_mb * 1024;
    sw_domxml_set(v, "soft_limit_kib", "%lld", ram_kib);
    sw_domxml_set(v, "hard_limit_kib", "%lld", max_kib);
    sw_domxml_set(v, "swap_hard_limit_kib", "%lld", max_kib + swap_kib);
    /* The host end of the veth, named from the server id (libvirt 9.0's
     * LXC driver instantiates the NIC's filter before it names a veth of
     * its own: "filter binding has no port dev name"). 48 bits of the id. */
    char veth[16];
    const char *id = sw_domxml_get(v, "uuid");
    size_t n = 0;
    veth[n++] = 's', veth[n++] = 'w';
    for (const char *c = id; c && *c && n < 14; c++)
        if (*c != '-')
            veth[n++] = *c;
    veth[n] = '\0';
    sw_domxml_set(v, "veth", "%s", veth);
    /* The root volume's path as libvirt knows it; without a connection
     * (golden files) where the default dir pool keeps it. A volume libvirt
     * cannot find leaves it empty, and libvirt refuses the definition. */
    const char *pool = sw_domxml_get(v, "disk_pool"), *vol = sw_domxml_get(v, "disk_volume");
    char *path = sw_rootfs_path(eng->conn, pool, vol);
    if (path)
        sw_domxml_set(v, "rootfs", "%s", path);
    else if (!eng->conn)
        sw_domxml_set(v, "rootfs", "%s/pools/%s/%s", sw_domxml_get(v, "state_dir"), pool, vol);
    else
        sw_domxml_set(v, "rootfs", "%s", "");
    free(path);
}

/* The memtune limits follow the new guarantee, ceiling and swap. */
static int container_live_memory(virDomainPtr dom, const struct sw_msg_node_job *job)
{
    if (!sw_virt_ceiling_fits(dom, job))
        return 0;
    virTypedParameter p[3];
    memset(p, 0, sizeof p);
    static const char *const names[] = {VIR_DOMAIN_MEMORY_HARD_LIMIT,
                                        VIR_DOMAIN_MEMORY_SOFT_LIMIT,
                                        VIR_DOMAIN_MEMORY_SWAP_HARD_LIMIT};
    unsigned long long v[] = {(unsigned long long)job->max_ram_mb * 1024,
                              (unsigned long long)job->ram_mb * 1024,
                              (unsigned long long)(job->max_ram_mb + job->swap_mb) * 1024};
    for (int i = 0; i < 3; i++) {
        snprintf(p[i].field, sizeof p[i].field, "%s", names[i]);
        p[i].type = VIR_TYPED_PARAM_ULLONG;
        p[i].value.ul = v[i];
    }
    return virDomainSetMemoryParameters(dom, p, 3, VIR_DOMAIN_AFFECT_LIVE) == 0;
}

/* The shared lifecycle, but a resize that also grows the root's ext4 and a
 * password reset written into the root: both offline, on a stopped
 * container (ctdisk.h). */
static const struct sw_engine_lifecycle container_lifecycle = {
    .create = sw_virt_create,
    .start = sw_virt_start,
    .stop = sw_virt_stop,
    .reboot = sw_virt_reboot,
    .suspend = sw_virt_suspend,
    .unsuspend = sw_virt_unsuspend,
    .terminate = sw_virt_terminate,
    .reinstall = sw_virt_reinstall,
    .resize = sw_ctdisk_resize,
    .reset_password = sw_ctdisk_reset_password,
    .define = sw_virt_define,
};

static const struct sw_engine_driver container_driver = {
    .kind = SW_KIND_CONTAINER,
    .name = "container",
    .domain_vars = container_domain_vars,
    .live_memory = container_live_memory,
    .root_volume = true,
    .lifecycle = &container_lifecycle,
    .backups = &sw_bkcontainer_ops,
};

const struct sw_engine_driver *sw_engine_container_driver(void)
{
    return &container_driver;
}
