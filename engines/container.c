/* container.c - the container (OpenVZ-like) plan kind: a shared host
 * kernel, a template root filesystem, and memory as limits rather than a
 * balloon: the guaranteed RAM is the soft limit, the burst ceiling the hard
 * limit, and swap comes on top of the ceiling. */
#include "config.h"
#include "engines/domxml.h"
#include "engines/kind.h"
#include "engines/virt.h"
#include "core/enums.h"

static void container_domain_vars(const struct sw_engine *eng, const struct sw_msg_node_job *job,
                                  struct sw_domxml_vars *v)
{
    (void)eng;
    long long ram_kib = (long long)job->ram_mb * 1024;
    long long max_kib = (long long)job->max_ram_mb * 1024;
    long long swap_kib = (long long)job->swap_mb * 1024;
    sw_domxml_set(v, "soft_limit_kib", "%lld", ram_kib);
    sw_domxml_set(v, "hard_limit_kib", "%lld", max_kib);
    sw_domxml_set(v, "swap_hard_limit_kib", "%lld", max_kib + swap_kib);
    sw_domxml_set(v, "rootfs", "%s/containers/%s/rootfs", sw_domxml_get(v, "state_dir"),
                  sw_domxml_get(v, "name"));
}

static const struct sw_engine_driver container_driver = {
    .kind = SW_KIND_CONTAINER,
    .name = "container",
    .domain_vars = container_domain_vars,
    .create = sw_virt_create,
    .start = sw_virt_start,
    .stop = sw_virt_stop,
    .reboot = sw_virt_reboot,
    .suspend = sw_virt_suspend,
    .unsuspend = sw_virt_unsuspend,
    .terminate = sw_virt_terminate,
    .reinstall = sw_virt_reinstall,
    .resize = sw_virt_resize,
    .reset_password = sw_virt_reset_password,
    .define = sw_virt_define,
    .live_memory = sw_virt_live_memtune,
};

const struct sw_engine_driver *sw_engine_container_driver(void)
{
    return &container_driver;
}
